/* What an operator sees of foyer: access-log formats field by field, the
 * request id, log files reopened on SIGUSR1, and systemd's notifications. */
#include "harness.h"
#include "json.h"

#include <dirent.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define T_MS 5000

/* Starts foyer logging to access.log in `format`, routing to a backend. */
static void start_logging(struct e2e_foyer *f, const char *format, int port)
{
    e2e_foyer_start(f,
                    "set { workers = 1, access_log = '%s', access_log_format = [[%s]] }\n"
                    "service 'app' { endpoints = { '127.0.0.1:%d' } }\n"
                    "route(function(req)\n"
                    "  if req.path == '/local' then return { respond = { status = 201, "
                    "body = 'made\\n' } } end\n"
                    "  return { service = 'app', tag = 'main-route' }\n"
                    "end)\n",
                    e2e_path("access.log"), format, port);
}

/* The access log's last line once it has n lines (flushed within a second). */
static char *log_line(int n)
{
    for (int64_t end = e2e_deadline(10000);;) {
        char *text = e2e_read_file(e2e_path("access.log"));
        int lines = 0;
        for (char *p = text; p && *p; p++)
            lines += *p == '\n';
        if (text && lines >= n) {
            char *last = text, *p = text;
            for (int k = 1; k < lines; k++) {
                p = strchr(p, '\n') + 1;
                last = p;
            }
            char *copy = strndup(last, strcspn(last, "\n"));
            free(text);
            return copy;
        }
        free(text);
        if (e2e_now_ms() > end) break;
        e2e_sleep_ms(100);
    }
    REQUIREF(false, "the access log did not get %d lines", n);
    return NULL;
}

/* Whether every worker of f has the file at path open (its /proc/PID/fd
 * links name it: a file moved away shows its new name). */
static bool workers_have_open(const struct e2e_foyer *f, int nworkers, const char *path)
{
    pid_t w[16];
    int n = e2e_foyer_workers(f, w, 16);
    if (n != nworkers) return false;
    for (int i = 0; i < n; i++) {
        char dir[64], link[400], target[512];
        snprintf(dir, sizeof dir, "/proc/%d/fd", (int)w[i]);
        DIR *d = opendir(dir);
        bool found = false;
        for (struct dirent *de; d && !found && (de = readdir(d)) != NULL;) {
            snprintf(link, sizeof link, "%s/%s", dir, de->d_name);
            ssize_t len = readlink(link, target, sizeof target - 1);
            target[len > 0 ? len : 0] = '\0';
            found = strcmp(target, path) == 0;
        }
        if (d) closedir(d);
        if (!found) return false;
    }
    return true;
}

static bool matches(const char *text, const char *pattern)
{
    regex_t re;
    REQUIRE(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) == 0);
    bool ok = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static int get(int port, const char *target, const char *extra, struct e2e_resp *r)
{
    memset(r, 0, sizeof *r);
    int rc = e2e_http(port, "GET", "shop.test", target, extra, r, T_MS);
    return rc == 1 ? r->status : -1;
}

/* nginx's default: $remote_addr - $remote_user [$time_local] "$request"
 * $status $body_bytes_sent "$http_referer" "$http_user_agent", with
 * nginx's escaping (\xHH) of quotes and bytes outside printable ASCII
 * (control bytes never get this far: the parser refuses them). */
E2E_TEST(combined_is_nginx_byte_for_byte, 30)
{
    struct e2e_backend be = e2e_backend_start("b");
    struct e2e_foyer f;
    start_logging(&f, "combined", be.port);
    struct e2e_resp r;
    CHECK_INT(
        get(f.port, "/size/10?a=1",
            "Referer: http://ref.test/page\r\nUser-Agent: agent \"q\" \xc3\xa9/1.0\r\n",
            &r),
        200);
    e2e_resp_free(&r);
    char *line = log_line(1);
    CHECKF(matches(line,
                   "^127\\.0\\.0\\.1 - - \\[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:"
                   "[0-9]{2}:[0-9]{2} [+-][0-9]{4}\\] \"GET /size/10\\?a=1 HTTP/1\\.1\" "
                   "200 10 \"http://ref\\.test/page\" "
                   "\"agent \\\\x22q\\\\x22 \\\\xC3\\\\xA9/1\\.0\"$"),
           "combined line: %s", line);
    free(line);
    /* no Referer nor User-Agent: "-" as nginx writes */
    CHECK_INT(get(f.port, "/local", NULL, &r), 201);
    e2e_resp_free(&r);
    line = log_line(2);
    CHECKF(matches(line, "\"GET /local HTTP/1\\.1\" 201 5 \"-\" \"-\"$"), "line: %s",
           line);
    free(line);
}

E2E_TEST(json_lines_parse_with_every_field, 30)
{
    struct e2e_backend be = e2e_backend_start("b");
    struct e2e_foyer f;
    start_logging(&f, "json", be.port);
    struct e2e_resp r;
    CHECK_INT(get(f.port, "/size/100",
                  "User-Agent: ua \"x\\y\"\r\nX-Request-Id: abc-123\r\n", &r),
              200);
    e2e_resp_free(&r);
    char *line = log_line(1);
    const char *want[] = {"\"client\":\"127.0.0.1\"",
                          "\"method\":\"GET\"",
                          "\"target\":\"/size/100\"",
                          "\"protocol\":\"HTTP/1.1\"",
                          "\"status\":200",
                          "\"body_bytes\":100",
                          "\"host\":\"shop.test\"",
                          "\"service\":\"app\"",
                          "\"tag\":\"main-route\"",
                          "\"tls_version\":null",
                          "\"request_id\":\"abc-123\"",
                          "\"user_agent\":\"ua \\\"x\\\\y\\\"\"",
                          "\"referer\":null"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        CHECKF(strstr(line, want[i]) != NULL, "json has %s: %s", want[i], line);
    CHECKF(matches(line,
                   "^\\{\"time\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[+-][0-9]{2}:"
                   "[0-9]{2}\",.*\"duration\":[0-9]+\\.[0-9]{3},\"upstream_time\":"
                   "[0-9]+\\.[0-9]{3},.*\\}$"),
           "json shape: %s", line);
    free(line);
    /* the same line through python's json module, when there is one */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "tail -n 1 '%s' | python3 -c 'import json,sys; "
             "d=json.loads(sys.stdin.read()); sys.exit(0 if d[\"status\"]==200 else 1)'",
             e2e_path("access.log"));
    if (system("command -v python3 >/dev/null") == 0)
        CHECKF(system(cmd) == 0, "python3 parses the json line");
}

E2E_TEST(template_fields_and_errors, 30)
{
    struct e2e_backend be = e2e_backend_start("b");
    struct e2e_foyer f;
    start_logging(
        &f, "$status|$method|$target|$service|$tag|${http_x_custom}|$scheme|$request_id",
        be.port);
    struct e2e_resp r;
    CHECK_INT(get(f.port, "/size/1", "X-Custom: hello\r\nX-Request-Id: rid-7\r\n", &r),
              200);
    e2e_resp_free(&r);
    char *line = log_line(1);
    CHECK_STR(line, "200|GET|/size/1|app|main-route|hello|http|rid-7");
    free(line);
    /* an unknown field is refused with the file and line */
    const char *path = e2e_path("bad.lua");
    REQUIRE(e2e_write_file(path,
                           "listen '127.0.0.1:1'\nset { access_log_format = '$nope' }\n"
                           "route(function(req) return nil end)\n"));
    char out[2048];
    char *argv[] = {(char *)e2e_env("FOYER_BIN"), "-t", "-c", (char *)path, NULL};
    CHECK(e2e_run(argv, out, sizeof out, T_MS) != 0);
    CHECKF(strstr(out, "bad.lua:2:") && strstr(out, "unknown field $nope"), "error: %s",
           out);
}

E2E_TEST(request_id_made_forwarded_returned, 30)
{
    struct e2e_backend be = e2e_backend_start_report("b");
    struct e2e_foyer f;
    start_logging(&f, "$request_id", be.port);
    struct e2e_resp r;
    CHECK_INT(get(f.port, "/x", NULL, &r), 200);
    char id[128], sent[128];
    REQUIRE(e2e_resp_header(&r, "X-Request-Id", id, sizeof id) != NULL);
    CHECKF(matches(id, "^[0-9a-f]{32}$"), "a new id: %s", id);
    struct e2e_json *rep = e2e_report(&r);
    REQUIRE(rep != NULL);
    CHECK_STR(e2e_report_header(rep, "X-Request-Id", ",", sent, sizeof sent), id);
    e2e_json_free(rep);
    e2e_resp_free(&r);
    char *line = log_line(1);
    CHECK_STR(line, id);
    free(line);
    /* the client's own is kept, and not sent twice */
    CHECK_INT(get(f.port, "/x", "X-Request-Id: from-client-1\r\n", &r), 200);
    CHECK_STR(e2e_resp_header(&r, "X-Request-Id", id, sizeof id), "from-client-1");
    rep = e2e_report(&r);
    REQUIRE(rep != NULL);
    CHECK_INT(e2e_report_count(rep, "X-Request-Id"), 1);
    e2e_json_free(rep);
    e2e_resp_free(&r);
    /* a 2nd request gets a different new id */
    CHECK_INT(get(f.port, "/x", NULL, &r), 200);
    char id2[128];
    REQUIRE(e2e_resp_header(&r, "X-Request-Id", id2, sizeof id2) != NULL);
    CHECK(strcmp(id, id2) != 0);
    e2e_resp_free(&r);
}

E2E_TEST(sigusr1_reopens_moved_logs, 30)
{
    struct e2e_backend be = e2e_backend_start("b");
    struct e2e_foyer f;
    e2e_foyer_start(
        &f,
        "set { workers = 2, access_log = '%s', access_log_format = '$target' }\n"
        "service 'app' { endpoints = { '127.0.0.1:%d' } }\n"
        "route(function(req) return 'app' end)\n",
        e2e_path("access.log"), be.port);
    REQUIREF(e2e_foyer_wait_workers(&f, 2, T_MS), "foyer's workers did not start");
    struct e2e_resp r;
    CHECK_INT(get(f.port, "/before", NULL, &r), 200);
    e2e_resp_free(&r);
    char *line = log_line(1);
    CHECK_STR(line, "/before");
    free(line);
    /* logrotate: move the file, then SIGUSR1 */
    REQUIRE(rename(e2e_path("access.log"), e2e_path("access.log.1")) == 0);
    REQUIRE(kill(f.pid, SIGUSR1) == 0);
    CHECK(e2e_foyer_log_wait(&f, "log files reopened", T_MS));
    /* the master says so once it has signalled the workers: each reopens on
     * its own loop, a moment later */
    CHECKF(E2E_WAIT_UNTIL(workers_have_open(&f, 2, e2e_path("access.log")), T_MS),
           "the workers did not reopen access.log");
    for (int i = 0; i < 4; i++) { /* both workers */
        CHECK_INT(get(f.port, "/after", NULL, &r), 200);
        e2e_resp_free(&r);
    }
    line = log_line(4);
    CHECK_STR(line, "/after");
    free(line);
    char *old = e2e_read_file(e2e_path("access.log.1"));
    CHECKF(old && strstr(old, "/before") && !strstr(old, "/after"), "rotated: %s", old);
    free(old);
    CHECK(kill(f.pid, 0) == 0); /* still running */
}

/* A datagram socket standing in for systemd's $NOTIFY_SOCKET. */
static int notify_socket(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    REQUIRE(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void expect_notify(int fd, const char *want)
{
    char msg[256];
    ssize_t n = recv(fd, msg, sizeof msg - 1, 0);
    REQUIREF(n > 0, "no notification (wanted %s)", want);
    msg[n] = '\0';
    CHECKF(strncmp(msg, want, strlen(want)) == 0, "notification '%s', wanted '%s'", msg,
           want);
}

E2E_TEST(systemd_notifications, 30)
{
    struct e2e_backend be = e2e_backend_start("b");
    char path[108];
    snprintf(path, sizeof path, "%s/notify.sock", e2e_tmpdir());
    int fd = notify_socket(path);
    setenv("NOTIFY_SOCKET", path, 1);
    struct e2e_foyer f;
    e2e_foyer_start(
        &f,
        "set { workers = 1 }\nservice 'app' { endpoints = { '127.0.0.1:%d' } }\n"
        "route(function(req) return 'app' end)\n",
        be.port);
    unsetenv("NOTIFY_SOCKET");
    expect_notify(fd, "READY=1");
    REQUIREF(e2e_foyer_wait_workers(&f, 1, T_MS), "foyer's workers did not start");
    REQUIRE(kill(f.pid, SIGHUP) == 0);
    expect_notify(fd, "RELOADING=1\nMONOTONIC_USEC=");
    expect_notify(fd, "READY=1");
    REQUIRE(kill(f.pid, SIGTERM) == 0);
    expect_notify(fd, "STOPPING=1");
    CHECK_INT(e2e_wait(f.pid, T_MS), 0);
    close(fd);
}

int main(void)
{
    static const struct e2e_case cases[] = {
        E2E_CASE(combined_is_nginx_byte_for_byte),
        E2E_CASE(json_lines_parse_with_every_field),
        E2E_CASE(template_fields_and_errors),
        E2E_CASE(request_id_made_forwarded_returned),
        E2E_CASE(sigusr1_reopens_moved_logs),
        E2E_CASE(systemd_notifications),
    };
    return e2e_run_suite("operations", cases, sizeof cases / sizeof *cases);
}
