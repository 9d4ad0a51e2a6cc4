/*
 * End-to-end tests of the route function's decision table (issue 3, "The
 * route function and its decision") through the real binary: every field of
 * the decision, every `req` accessor, and the safety of scripts (errors,
 * runaway loops, unbounded allocation, forbidden os/io functions, require
 * from lua_path). Backends run in --report mode, so each test sees exactly
 * what reached the origin.
 */
#include "harness.h"
#include "json.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#define T_MS 5000

/* `service "NAME" { endpoints = { "127.0.0.1:PORT" } }` lines for backends. */
static const char *services(const char *const *names, const struct e2e_backend *b, int n)
{
    static char out[2048];
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, sizeof(out) - len,
                                "service \"%s\" { endpoints = { \"127.0.0.1:%d\" } }\n", names[i],
                                b[i].port);
    return out;
}

/* One request on a fresh connection; the backend's report (if any) in *rep. */
struct got {
    int rc;
    struct e2e_resp r;
    char backend[64];
    struct e2e_json *rep;
};

static void got_free(struct got *g)
{
    e2e_resp_free(&g->r);
    e2e_json_free(g->rep);
    memset(g, 0, sizeof(*g));
}

static int fetch(int port, const char *method, const char *host, const char *target,
                 const char *headers, struct got *g)
{
    memset(g, 0, sizeof(*g));
    g->rc = e2e_http(port, method, host, target, headers, &g->r, T_MS);
    if (g->rc != 1) {
        e2e_log("%s %s (Host %s): no response (rc %d)", method, target, host ? host : "-", g->rc);
        return -1;
    }
    if (!e2e_resp_header(&g->r, "x-backend", g->backend, sizeof(g->backend)))
        g->backend[0] = 0;
    g->rep = e2e_report(&g->r);
    return g->r.status;
}

static int get_status(int port, const char *host, const char *target, char *backend, size_t blen)
{
    struct got g;
    int st = fetch(port, "GET", host, target, NULL, &g);
    if (backend)
        snprintf(backend, blen, "%s", g.backend);
    got_free(&g);
    return st;
}

/* ---- the decision ----------------------------------------------------------- */

E2E_TEST(decision_service_string_and_table, 30)
{
    static const char *const names[] = {"a", "b"};
    struct e2e_backend b[2] = {e2e_backend_start_report("a"), e2e_backend_start_report("b")};
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n%s"
                    "route(function(req)\n"
                    "  if req.path == \"/string\" then return \"a\" end\n"
                    "  if req.path == \"/table\" then return { service = \"b\" } end\n"
                    "  return nil\n"
                    "end)\n",
                    services(names, b, 2));
    char be[64];
    CHECK_INT(get_status(f.port, "x.example", "/string", be, sizeof(be)), 200);
    CHECK_STR(be, "a");
    CHECK_INT(get_status(f.port, "x.example", "/table", be, sizeof(be)), 200);
    CHECK_STR(be, "b");
    /* The report is what the backend received: the target unchanged. */
    struct got g;
    CHECK_INT(fetch(f.port, "GET", "x.example", "/string?q=%41+b", NULL, &g), 200);
    REQUIRE(g.rep != NULL);
    CHECK_STR(e2e_report_str(g.rep, "target"), "/string?q=%41+b");
    CHECK_STR(e2e_report_str(g.rep, "host"), "x.example");
    CHECK_STR(e2e_report_str(g.rep, "service"), "a");
    got_free(&g);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(decision_nil_is_404, 30)
{
    static const char *const names[] = {"a"};
    struct e2e_backend b[1] = {e2e_backend_start_report("a")};
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n%s"
                    "route(function(req)\n"
                    "  if req.path == \"/yes\" then return \"a\" end\n"
                    "  return nil\n"
                    "end)\n",
                    services(names, b, 1));
    char be[64];
    CHECK_INT(get_status(f.port, "x.example", "/no", be, sizeof(be)), 404);
    CHECK_STR(be, "");
    CHECK_INT(e2e_backend_requests(b[0].port), 0);
    CHECK_INT(get_status(f.port, "x.example", "/yes", be, sizeof(be)), 200);
    CHECK_INT(e2e_backend_requests(b[0].port), 1);
    e2e_foyer_stop(&f, 5000);
}

/* Sends n GETs for target on one keep-alive connection and counts the
 * answering backends (index in names; -1 for anything else). */
static void count_backends(int port, const char *target, int n, const char *const *names,
                           int nnames, int *counts, int *other)
{
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, port));
    char req[256];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: w.example\r\n\r\n", target);
    *other = 0;
    for (int i = 0; i < nnames; i++)
        counts[i] = 0;
    for (int i = 0; i < n; i++) {
        struct e2e_resp r = {0};
        if (!e2e_send_str(&c, req, T_MS) || e2e_read_response(&c, &r, T_MS) != 1 ||
            r.conn_close) {
            /* Reconnect on a close, fail on no answer. */
            REQUIREF(r.status == 200, "request %d of %d for %s: no answer (status %d)", i + 1,
                     n, target, r.status);
            e2e_conn_close(&c);
            REQUIRE(e2e_conn_open(&c, port));
        }
        char be[64] = "";
        e2e_resp_header(&r, "x-backend", be, sizeof(be));
        int k = -1;
        for (int j = 0; j < nnames; j++)
            if (strcmp(be, names[j]) == 0)
                k = j;
        if (r.status == 200 && k >= 0)
            counts[k]++;
        else
            ++*other;
        e2e_resp_free(&r);
    }
    e2e_conn_close(&c);
}

E2E_TEST(decision_backends_weighted, 120)
{
    static const char *const names[] = {"a", "b", "c"};
    struct e2e_backend b[3] = {e2e_backend_start_report("a"), e2e_backend_start_report("b"),
                               e2e_backend_start_report("c")};
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n%s"
                    "route(function(req)\n"
                    "  if req.path == \"/split\" then\n"
                    "    return { backends = { { service = \"a\", weight = 90 },\n"
                    "                          { service = \"b\", weight = 10 },\n"
                    "                          { service = \"c\", weight = 0 } } }\n"
                    "  end\n"
                    "  if req.path == \"/even\" then\n" /* weight defaults to 1 */
                    "    return { backends = { { service = \"a\" }, { service = \"b\" } } }\n"
                    "  end\n"
                    "  if req.path == \"/zero\" then\n"
                    "    return { backends = { { service = \"c\", weight = 0 },\n"
                    "                          { service = \"b\", weight = 5 } } }\n"
                    "  end\n"
                    "  return nil\n"
                    "end)\n",
                    services(names, b, 3));
    int counts[3], other;
    /* 1000 draws of a 90/10 split: the standard deviation of a's share is
     * under 1 %, so +-5 % is a wide margin. */
    count_backends(f.port, "/split", 1000, names, 3, counts, &other);
    e2e_log("90/10/0 split over 1000: a=%d b=%d c=%d other=%d", counts[0], counts[1], counts[2],
            other);
    CHECK_INT(other, 0);
    CHECKF(counts[2] == 0, "weight 0 backend chosen %d times", counts[2]);
    CHECKF(counts[0] >= 850 && counts[0] <= 950, "a got %d of 1000, want 900 +- 50", counts[0]);
    CHECKF(counts[1] >= 50 && counts[1] <= 150, "b got %d of 1000, want 100 +- 50", counts[1]);
    count_backends(f.port, "/even", 400, names, 3, counts, &other);
    e2e_log("1/1 split over 400: a=%d b=%d", counts[0], counts[1]);
    CHECK_INT(other, 0);
    CHECKF(counts[0] >= 150 && counts[0] <= 250, "default weights: a got %d of 400", counts[0]);
    count_backends(f.port, "/zero", 200, names, 3, counts, &other);
    CHECK_INT(other, 0);
    CHECKF(counts[1] == 200 && counts[2] == 0, "weight 0 first in the list: b=%d c=%d", counts[1],
           counts[2]);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(decision_path_rewrite_keeps_query, 30)
{
    static const char *const names[] = {"a"};
    struct e2e_backend b[1] = {e2e_backend_start_report("a")};
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n%s"
                    "route(function(req)\n"
                    "  if req.path:find(\"^/old/\") then\n"
                    "    return { service = \"a\", path = \"/new\" .. req.path:sub(5) }\n"
                    "  end\n"
                    "  return { service = \"a\", path = \"/fixed\" }\n"
                    "end)\n",
                    services(names, b, 1));
    struct got g;
    CHECK_INT(fetch(f.port, "GET", "x.example", "/old/p?x=1&y=%20z", NULL, &g), 200);
    REQUIRE(g.rep);
    CHECK_STR(e2e_report_str(g.rep, "target"), "/new/p?x=1&y=%20z");
    got_free(&g);
    CHECK_INT(fetch(f.port, "GET", "x.example", "/old/a/b", NULL, &g), 200);
    REQUIRE(g.rep);
    CHECK_STR(e2e_report_str(g.rep, "target"), "/new/a/b");
    got_free(&g);
    CHECK_INT(fetch(f.port, "GET", "x.example", "/anything?keep=me", NULL, &g), 200);
    REQUIRE(g.rep);
    CHECK_STR(e2e_report_str(g.rep, "target"), "/fixed?keep=me");
    got_free(&g);
    /* A body still reaches the backend after a rewrite. */
    memset(&g, 0, sizeof(g));
    CHECK_INT(e2e_request(f.port,
                          "POST /old/post HTTP/1.1\r\nHost: x.example\r\nContent-Length: 5\r\n"
                          "Connection: close\r\n\r\nhello",
                          &g.r, T_MS), 1);
    g.rep = e2e_report(&g.r);
    REQUIRE(g.rep);
    CHECK_STR(e2e_report_str(g.rep, "target"), "/new/post");
    CHECK_INT(e2e_json_num(g.rep, "body_bytes", -1), 5);
    got_free(&g);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(decision_host, 30)
{
    static const char *const names[] = {"a"};
    struct e2e_backend b[1] = {e2e_backend_start_report("a")};
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n%s"
                    "route(function(req)\n"
                    "  if req.path == \"/keep\" then return \"a\" end\n"
                    "  return { service = \"a\", host = \"upstream.internal:8443\" }\n"
                    "end)\n",
                    services(names, b, 1));
    struct got g;
    CHECK_INT(fetch(f.port, "GET", "Public.Example", "/rewrite?x", NULL, &g), 200);
    REQUIRE(g.rep);
    CHECK_STR(e2e_report_str(g.rep, "host"), "upstream.internal:8443");
    CHECK_INT(e2e_report_count(g.rep, "host"), 1);
    CHECK_STR(e2e_report_str(g.rep, "target"), "/rewrite?x");
    got_free(&g);
    /* Without `host` the Host field goes as received. */
    CHECK_INT(fetch(f.port, "GET", "Public.Example", "/keep", NULL, &g), 200);
    REQUIRE(g.rep);
    CHECK_STR(e2e_report_str(g.rep, "host"), "Public.Example");
    got_free(&g);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(decision_request_headers, 30)
{
    static const char *const names[] = {"a"};
    struct e2e_backend b[1] = {e2e_backend_start_report("a")};
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n%s"
                    "route(function(req)\n"
                    "  return { service = \"a\", request_headers = {\n"
                    "    set = { [\"X-Set\"] = \"new\", [\"X-Fresh\"] = \"f\" },\n"
                    "    add = { [\"X-Add\"] = \"added\", [\"X-List\"] = { \"l1\", \"l2\" } },\n"
                    "    remove = { \"X-Remove\", \"x-remove-ci\" } } }\n"
                    "end)\n",
                    services(names, b, 1));
    struct got g;
    CHECK_INT(fetch(f.port, "GET", "x.example", "/h",
                    "x-set: old1\r\nX-Set: old2\r\nX-Add: orig\r\nX-Remove: gone\r\n"
                    "X-Remove: gone-too\r\nX-Remove-CI: bye\r\nX-Untouched: stays\r\n",
                    &g), 200);
    REQUIRE(g.rep);
    char v[512];
    /* set replaces every field of that name (any case). */
    CHECK_INT(e2e_report_count(g.rep, "x-set"), 1);
    CHECK_STR(e2e_report_header(g.rep, "x-set", ",", v, sizeof(v)), "new");
    CHECK_STR(e2e_report_header(g.rep, "x-fresh", ",", v, sizeof(v)), "f");
    /* add keeps what was there. */
    CHECK_STR(e2e_norm_list((char *)e2e_report_header(g.rep, "x-add", ",", v, sizeof(v))),
              "orig,added");
    CHECK_STR(e2e_norm_list((char *)e2e_report_header(g.rep, "x-list", ",", v, sizeof(v))),
              "l1,l2");
    /* remove drops every field of that name, names compared in any case. */
    CHECK_INT(e2e_report_count(g.rep, "x-remove"), 0);
    CHECK_INT(e2e_report_count(g.rep, "x-remove-ci"), 0);
    CHECK_STR(e2e_report_header(g.rep, "x-untouched", ",", v, sizeof(v)), "stays");
    got_free(&g);
    /* Without the fields in the request. */
    CHECK_INT(fetch(f.port, "GET", "x.example", "/h", NULL, &g), 200);
    REQUIRE(g.rep);
    CHECK_STR(e2e_report_header(g.rep, "x-set", ",", v, sizeof(v)), "new");
    CHECK_STR(e2e_report_header(g.rep, "x-add", ",", v, sizeof(v)), "added");
    got_free(&g);
    e2e_foyer_stop(&f, 5000);
}

/* "X-Backend-Response-Header: NAME: VALUE\r\n" lines ask the backend for
 * response fields. */
E2E_TEST(decision_response_headers, 30)
{
    static const char *const names[] = {"a"};
    struct e2e_backend b[1] = {e2e_backend_start_report("a")};
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n%s"
                    "route(function(req)\n"
                    "  return { service = \"a\", response_headers = {\n"
                    "    set = { [\"X-Set\"] = \"proxy\", [\"Cache-Control\"] = \"no-store\" },\n"
                    "    add = { [\"X-Add\"] = \"proxy-added\" },\n"
                    "    remove = { \"X-Secret\", \"server\" } } }\n"
                    "end)\n",
                    services(names, b, 1));
    struct got g;
    CHECK_INT(fetch(f.port, "GET", "x.example", "/r",
                    "X-Backend-Response-Header: x-set: from-backend\r\n"
                    "X-Backend-Response-Header: X-Set: again\r\n"
                    "X-Backend-Response-Header: X-Add: backend-value\r\n"
                    "X-Backend-Response-Header: X-Secret: s3cr3t\r\n"
                    "X-Backend-Response-Header: Server: backend/1.0\r\n"
                    "X-Backend-Response-Header: X-Kept: yes\r\n",
                    &g), 200);
    char v[512];
    CHECK_INT(e2e_head_count(g.r.head, "x-set"), 1);
    CHECK_STR(e2e_resp_header(&g.r, "x-set", v, sizeof(v)), "proxy");
    CHECK_STR(e2e_resp_header(&g.r, "cache-control", v, sizeof(v)), "no-store");
    CHECK_STR(e2e_norm_list((char *)e2e_resp_header_all(&g.r, "x-add", ",", v, sizeof(v))),
              "backend-value,proxy-added");
    CHECK_INT(e2e_head_count(g.r.head, "x-secret"), 0);
    CHECK_INT(e2e_head_count(g.r.head, "server"), 0);
    CHECK_STR(e2e_resp_header(&g.r, "x-kept", v, sizeof(v)), "yes");
    /* The body is intact (the edits touch the head only). */
    CHECK(g.rep != NULL);
    got_free(&g);
    e2e_foyer_stop(&f, 5000);
}

struct redirect_case {
    const char *host, *target;
    int status;
    const char *location;
};

E2E_TEST(decision_redirect, 30)
{
    static const char *const names[] = {"a"};
    struct e2e_backend b[1] = {e2e_backend_start_report("a")};
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n%s"
                    "route(function(req)\n"
                    "  local p = req.path\n"
                    "  if p:find(\"^/r1\") then return { redirect = { scheme = \"https\" } } end\n"
                    "  if p == \"/r2\" then return { redirect = { path = \"/new\" } } end\n"
                    "  if p == \"/r3\" then return { redirect = { status = 301, scheme = \"https\",\n"
                    "      host = \"other.example\", port = 8443, path = \"/x\" } } end\n"
                    "  if p == \"/r4\" then return { redirect = { scheme = \"https\", port = 443 } } end\n"
                    "  if p == \"/r5\" then return { redirect = { status = 308, scheme = \"https\",\n"
                    "      host = \"b.example\" } } end\n"
                    "  if p == \"/r6\" then return { redirect = { status = 307, scheme = \"http\",\n"
                    "      port = 80, host = \"c.example\" } } end\n"
                    "  return \"a\"\n"
                    "end)\n",
                    services(names, b, 1));
    static const struct redirect_case cases[] = {
        /* The http -> https redirect: default status 302, the request's host
         * and path (and query), the default port omitted. */
        {"shop.example", "/r1/x?q=1&r=%20", 302, "https://shop.example/r1/x?q=1&r=%20"},
        {"Shop.Example:8080", "/r1", 302, "https://shop.example/r1"},
        /* Same scheme: the request's port stays. */
        {"shop.example:8080", "/r2", 302, "http://shop.example:8080/new"},
        {"shop.example", "/r3", 301, "https://other.example:8443/x"},
        {"shop.example:8080", "/r4", 302, "https://shop.example/r4"},
        {"shop.example:8080", "/r5", 308, "https://b.example/r5"},
        {"shop.example:8080", "/r6", 307, "http://c.example/r6"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct got g;
        int st = fetch(f.port, "GET", cases[i].host, cases[i].target, NULL, &g);
        char loc[512] = "";
        e2e_resp_header(&g.r, "location", loc, sizeof(loc));
        CHECKF(st == cases[i].status && strcmp(loc, cases[i].location) == 0,
               "redirect for Host %s %s: %d \"%s\", want %d \"%s\"", cases[i].host,
               cases[i].target, st, loc, cases[i].status, cases[i].location);
        CHECKF(g.backend[0] == 0, "a redirect was answered by backend %s", g.backend);
        got_free(&g);
    }
    CHECK_INT(e2e_backend_requests(b[0].port), 0);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(decision_respond, 30)
{
    static const char *const names[] = {"a"};
    struct e2e_backend b[1] = {e2e_backend_start_report("a")};
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n%s"
                    "route(function(req)\n"
                    "  if req.path == \"/teapot\" then\n"
                    "    return { respond = { status = 418, body = \"short and stout\\n\",\n"
                    "      headers = { [\"X-Teapot\"] = \"yes\", [\"Content-Type\"] = \"text/plain\" } } }\n"
                    "  end\n"
                    "  if req.path == \"/empty\" then return { respond = { status = 204 } } end\n"
                    "  if req.path == \"/big\" then\n"
                    "    return { respond = { status = 200, body = string.rep(\"0123456789\", 10000) } }\n"
                    "  end\n"
                    "  return \"a\"\n"
                    "end)\n",
                    services(names, b, 1));
    struct got g;
    CHECK_INT(fetch(f.port, "GET", "x.example", "/teapot", NULL, &g), 418);
    CHECK_STR(g.r.body, "short and stout\n");
    CHECK_INT(g.r.content_length, 16);
    char v[128];
    CHECK_STR(e2e_resp_header(&g.r, "x-teapot", v, sizeof(v)), "yes");
    CHECK_STR(e2e_resp_header(&g.r, "content-type", v, sizeof(v)), "text/plain");
    CHECK_INT(e2e_head_count(g.r.head, "content-type"), 1);
    got_free(&g);
    CHECK_INT(fetch(f.port, "GET", "x.example", "/empty", NULL, &g), 204);
    CHECK_INT(g.r.body_total, 0);
    got_free(&g);
    CHECK_INT(fetch(f.port, "GET", "x.example", "/big", NULL, &g), 200);
    CHECK_INT(g.r.body_total, 100000);
    CHECK(g.r.body && strncmp(g.r.body, "0123456789012", 13) == 0);
    got_free(&g);
    /* A local answer on a keep-alive connection leaves it usable. */
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, f.port));
    for (int i = 0; i < 3; i++) {
        struct e2e_resp r = {0};
        REQUIRE(e2e_send_str(&c, "GET /teapot HTTP/1.1\r\nHost: x\r\n\r\n", T_MS));
        CHECKF(e2e_read_response(&c, &r, T_MS) == 1 && r.status == 418,
               "keep-alive request %d to a respond decision: status %d", i + 1, r.status);
        e2e_resp_free(&r);
    }
    e2e_conn_close(&c);
    CHECK_INT(e2e_backend_requests(b[0].port), 0);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(decision_timeout, 60)
{
    /* /slow/MS needs the plain (non-report) backend; the query picks the
     * per-request timeout (the backend ignores it). */
    struct e2e_backend slow = e2e_backend_start("slow");
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1, upstream_read_timeout = 30 }\n"
                    "service \"slow\" { endpoints = { \"127.0.0.1:%d\" } }\n"
                    "route(function(req)\n"
                    "  if req.query == \"t=short\" then return { service = \"slow\", timeout = 0.5 } end\n"
                    "  if req.query == \"t=long\" then return { service = \"slow\", timeout = 3 } end\n"
                    "  return \"slow\"\n"
                    "end)\n",
                    slow.port);
    int64_t t0 = e2e_now_ms();
    CHECK_INT(get_status(f.port, "x.example", "/slow/3000?t=short", NULL, 0), 504);
    int64_t ms = e2e_now_ms() - t0;
    CHECKF(ms >= 400 && ms < 2500, "504 after %lld ms with a 0.5 s per-request timeout",
           (long long)ms);
    /* Within the per-request timeout, and with the long global one. */
    CHECK_INT(get_status(f.port, "x.example", "/slow/100?t=short", NULL, 0), 200);
    CHECK_INT(get_status(f.port, "x.example", "/slow/1000?t=long", NULL, 0), 200);
    CHECK_INT(get_status(f.port, "x.example", "/slow/1200", NULL, 0), 200);
    /* The short timeout did not stick to the pooled upstream connection. */
    CHECK_INT(get_status(f.port, "x.example", "/slow/800", NULL, 0), 200);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(decision_tag_in_access_log, 30)
{
    static const char *const names[] = {"a"};
    struct e2e_backend b[1] = {e2e_backend_start_report("a")};
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1, access_log = \"%s\" }\n%s"
                    "route(function(req)\n"
                    "  if req.path == \"/tagged\" then return { service = \"a\", tag = \"canary-7\" } end\n"
                    "  if req.path == \"/tagged-404\" then return { tag = \"lost-tag\" } end\n"
                    "  return \"a\"\n"
                    "end)\n",
                    e2e_path("access.log"), services(names, b, 1));
    CHECK_INT(get_status(f.port, "x.example", "/tagged", NULL, 0), 200);
    CHECK_INT(get_status(f.port, "x.example", "/plain", NULL, 0), 200);
    CHECK_INT(get_status(f.port, "x.example", "/tagged-404", NULL, 0), 404);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
    char *log = e2e_read_file(e2e_path("access.log"));
    REQUIREF(log != NULL, "no access log written");
    bool tagged = false, plain_clean = false, t404 = false;
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        if (strstr(line, "/tagged-404"))
            t404 = strstr(line, "lost-tag") != NULL;
        else if (strstr(line, "/tagged"))
            tagged = strstr(line, "canary-7") != NULL;
        else if (strstr(line, "/plain"))
            plain_clean = strstr(line, "canary-7") == NULL;
    }
    CHECKF(tagged, "the access log line of /tagged lacks the tag canary-7");
    CHECKF(plain_clean, "the access log line of /plain is missing or carries another's tag");
    CHECKF(t404, "the access log line of a tagged 404 lacks its tag");
    free(log);
}

E2E_TEST(decision_hash_key_accepted, 30)
{
    static const char *const names[] = {"a"};
    struct e2e_backend b[1] = {e2e_backend_start_report("a")};
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n%s"
                    "route(function(req)\n"
                    "  return { service = \"a\", hash_key = req:header(\"x-user\") or \"anonymous\" }\n"
                    "end)\n",
                    services(names, b, 1));
    char be[64];
    struct got g;
    CHECK_INT(fetch(f.port, "GET", "x.example", "/u", "X-User: alice\r\n", &g), 200);
    CHECK_STR(g.backend, "a");
    got_free(&g);
    CHECK_INT(get_status(f.port, "x.example", "/anon", be, sizeof(be)), 200);
    CHECK_STR(be, "a");
    e2e_foyer_stop(&f, 5000);
}

/* ---- req ------------------------------------------------------------------------ */

/* The script checks the accessors itself; a mismatch raises an error naming
 * it (500; foyer's stderr, dumped on failure, says which). */
static const char accessor_script[] =
    "local function expect(what, got, want)\n"
    "  if got ~= want then\n"
    "    error(string.format(\"ACCESSOR %%s: got %%q, want %%q\", what, tostring(got), tostring(want)), 0)\n"
    "  end\n"
    "end\n"
    "local function find(t, name)\n"
    "  for k, v in pairs(t) do\n"
    "    if type(k) == \"string\" and k:lower() == name then return v end\n"
    "  end\n"
    "end\n"
    "local function flat(v)\n"
    "  if type(v) == \"table\" then return table.concat(v, \",\") end\n"
    "  return v\n"
    "end\n"
    "route(function(req)\n"
    "  local p = req.path\n"
    "  if p == \"/acc/full\" then\n"
    "    expect(\"method\", req.method, \"PATCH\")\n"
    "    expect(\"scheme\", req.scheme, \"http\")\n"
    "    expect(\"host\", req.host, \"shop.example\")\n"
    "    expect(\"port\", tonumber(req.port), 8080)\n"
    "    expect(\"query\", req.query, \"a=1&b=hello%%20world\")\n"
    "    expect(\"target\", req.target, \"/acc/full?a=1&b=hello%%20world\")\n"
    "    expect(\"client_ip\", req.client_ip, \"127.0.0.1\")\n"
    "    expect(\"header\", req:header(\"X-Single\"), \"v\")\n"
    "    expect(\"header any case\", req:header(\"x-SINGLE\"), \"v\")\n"
    "    expect(\"header repeated\", req:header(\"x-multi\"), \"one, two\")\n"
    "    expect(\"header absent\", req:header(\"X-Absent\"), nil)\n"
    "    return \"a\"\n"
    "  end\n"
    "  if p == \"/acc/plain\" then\n"
    "    expect(\"port\", tonumber(req.port), %d)\n" /* the listener's port */
    "    expect(\"query\", req.query, nil)\n"
    "    expect(\"host\", req.host, \"plain.example\")\n"
    "    expect(\"target\", req.target, \"/acc/plain\")\n"
    "    return \"a\"\n"
    "  end\n"
    "  if p == \"/acc/headers\" then\n"
    "    local h = req:headers()\n"
    "    expect(\"headers() type\", type(h), \"table\")\n"
    "    local m = flat(find(h, \"x-multi\")) or \"\"\n"
    "    if not (m:find(\"one\", 1, true) and m:find(\"two\", 1, true)) then\n"
    "      error(\"ACCESSOR headers() x-multi: \" .. m, 0)\n"
    "    end\n"
    "    expect(\"headers() x-single\", flat(find(h, \"x-single\")), \"v\")\n"
    "    expect(\"headers() absent\", find(h, \"x-absent\"), nil)\n"
    "    return \"a\"\n"
    "  end\n"
    "  if p == \"/acc/args\" then\n"
    "    expect(\"arg a\", req:arg(\"a\"), \"1\")\n"
    "    expect(\"arg decoded\", req:arg(\"b\"), \"hello world\")\n"
    "    expect(\"arg reserved\", req:arg(\"c\"), \"/x?y=z&\")\n"
    "    expect(\"arg utf8\", req:arg(\"u\"), \"\\195\\169\")\n"
    "    expect(\"arg empty\", req:arg(\"empty\"), \"\")\n"
    "    expect(\"arg missing\", req:arg(\"missing\"), nil)\n"
    "    return \"a\"\n"
    "  end\n"
    "  if p == \"/acc/noargs\" then\n"
    "    expect(\"arg without query\", req:arg(\"a\"), nil)\n"
    "    expect(\"cookie without Cookie\", req:cookie(\"a\"), nil)\n"
    "    return \"a\"\n"
    "  end\n"
    "  if p == \"/acc/cookies\" then\n"
    "    expect(\"cookie first\", req:cookie(\"a\"), \"1\")\n"
    "    expect(\"cookie middle\", req:cookie(\"session\"), \"abc123\")\n"
    "    expect(\"cookie last\", req:cookie(\"theme\"), \"dark\")\n"
    "    expect(\"cookie missing\", req:cookie(\"nope\"), nil)\n"
    "    expect(\"cookie is no prefix match\", req:cookie(\"sess\"), nil)\n"
    "    return \"a\"\n"
    "  end\n"
    "  return nil\n"
    "end)\n";

E2E_TEST(req_accessors, 30)
{
    static const char *const names[] = {"a"};
    struct e2e_backend b[1] = {e2e_backend_start_report("a")};
    struct e2e_foyer f;
    /* The listener's port is needed in the script before foyer starts: pick
     * it, then write the config around it. */
    int port = e2e_free_port();
    char conf[8192], script[6000];
    snprintf(script, sizeof(script), accessor_script, port);
    snprintf(conf, sizeof(conf), "listen \"127.0.0.1:%d\"\nset { workers = 1 }\n%s%s", port,
             services(names, b, 1), script);
    e2e_foyer_start_conf(&f, "foyer.lua", port, conf, NULL);
    struct got g;
    CHECK_INT(fetch(f.port, "PATCH", "Shop.Example:8080", "/acc/full?a=1&b=hello%20world",
                    "X-Single: v\r\nX-Multi: one\r\nx-multi: two\r\nContent-Length: 0\r\n", &g),
              200);
    got_free(&g);
    CHECK_INT(fetch(f.port, "GET", "plain.example", "/acc/plain", NULL, &g), 200);
    got_free(&g);
    CHECK_INT(fetch(f.port, "GET", "x.example", "/acc/headers",
                    "X-Single: v\r\nX-Multi: one\r\nX-Multi: two\r\n", &g), 200);
    got_free(&g);
    CHECK_INT(fetch(f.port, "GET", "x.example",
                    "/acc/args?a=1&b=hello%20world&c=%2Fx%3Fy%3Dz%26&u=%C3%A9&empty=", NULL, &g),
              200);
    got_free(&g);
    CHECK_INT(fetch(f.port, "GET", "x.example", "/acc/noargs", NULL, &g), 200);
    got_free(&g);
    CHECK_INT(fetch(f.port, "GET", "x.example", "/acc/cookies",
                    "Cookie: a=1; session=abc123; theme=dark\r\n", &g), 200);
    got_free(&g);
    e2e_foyer_stop(&f, 5000);
}

/* ---- safety ---------------------------------------------------------------------- */

/* The route script's lines are numbered from 2 (e2e_foyer_start puts the
 * listen line first). */
E2E_TEST(script_errors_are_500_with_file_line, 30)
{
    static const char *const names[] = {"a"};
    struct e2e_backend b[1] = {e2e_backend_start_report("a")};
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n"                                                 /* 2 */
                    "%s"                                                                    /* 3 */
                    "route(function(req)\n"                                                 /* 4 */
                    "  if req.path == \"/raise\" then error(\"kaboom-raised\") end\n"       /* 5 */
                    "  if req.path == \"/index\" then local t = nil; return t.field end\n"  /* 6 */
                    "  if req.path == \"/arith\" then return 42 + {} end\n"                 /* 7 */
                    "  if req.path == \"/badkey\" then return { servise = \"a\" } end\n"    /* 8 */
                    "  if req.path == \"/badtype\" then return 42 end\n"                    /* 9 */
                    "  return \"a\"\n"
                    "end)\n",
                    services(names, b, 1));
    static const char *const paths[] = {"/raise", "/index", "/arith", "/badkey", "/badtype"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char target[64];
        snprintf(target, sizeof(target), "%s?n=%zu", paths[i], i);
        CHECKF(get_status(f.port, "x.example", target, NULL, 0) == 500, "%s did not answer 500",
               paths[i]);
        CHECK_INT(get_status(f.port, "x.example", "/fine", NULL, 0), 200);
    }
    CHECKF(e2e_foyer_log_wait(&f, "kaboom-raised", T_MS),
           "the error message is not logged");
    static const char *const where[] = {"foyer.lua:5", "foyer.lua:6", "foyer.lua:7"};
    for (size_t i = 0; i < 3; i++)
        CHECKF(e2e_foyer_log_wait(&f, where[i], T_MS), "stderr lacks %s", where[i]);
    /* The request line is in the log with the error. */
    CHECKF(e2e_foyer_log_wait(&f, "/raise?n=0", T_MS),
           "stderr lacks the failing request line");
    CHECK_INT(e2e_backend_requests(b[0].port), 5);
    e2e_foyer_stop(&f, 5000);
}

static bool same_workers(const struct e2e_foyer *f, const pid_t *before, int nbefore)
{
    pid_t now[16];
    int n = e2e_foyer_workers(f, now, 16);
    if (n != nbefore)
        return false;
    for (int i = 0; i < n; i++)
        if (now[i] != before[i])
            return false;
    return true;
}

E2E_TEST(runaway_script_is_cut_off, 60)
{
    static const char *const names[] = {"a"};
    struct e2e_backend b[1] = {e2e_backend_start_report("a")};
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n%s"
                    "route(function(req)\n"
                    "  if req.path == \"/loop\" then while true do end end\n"
                    "  if req.path == \"/busy\" then\n" /* long, but a legitimate amount of work */
                    "    local x = 0\n"
                    "    for i = 1, 100000 do x = x + i %% 7 end\n"
                    "    if x > 0 then return \"a\" end\n"
                    "  end\n"
                    "  if req.path == \"/recurse\" then\n"
                    "    local function f(n) return f(n + 1) + 1 end\n"
                    "    return f(1)\n"
                    "  end\n"
                    "  return \"a\"\n"
                    "end)\n",
                    services(names, b, 1));
    pid_t workers[16];
    int nw = e2e_foyer_workers(&f, workers, 16);
    REQUIRE(nw == 1);
    for (int round = 0; round < 3; round++) {
        int64_t t0 = e2e_now_ms();
        CHECK_INT(get_status(f.port, "x.example", "/loop", NULL, 0), 500);
        int64_t ms = e2e_now_ms() - t0;
        CHECKF(ms < 3000, "the endless loop was cut off after %lld ms", (long long)ms);
        /* The worker keeps serving, and it is the same worker. */
        CHECK_INT(get_status(f.port, "x.example", "/ok", NULL, 0), 200);
    }
    CHECK_INT(get_status(f.port, "x.example", "/busy", NULL, 0), 200);
    CHECK_INT(get_status(f.port, "x.example", "/recurse", NULL, 0), 500);
    CHECK_INT(get_status(f.port, "x.example", "/ok", NULL, 0), 200);
    CHECKF(same_workers(&f, workers, nw), "the worker was replaced (crashed or killed)");
    /* A request on another connection while a script runs away is served
     * right after it: the loop did not stall the worker for long. */
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, f.port));
    REQUIRE(e2e_send_str(&c, "GET /loop HTTP/1.1\r\nHost: x\r\n\r\n", T_MS));
    int64_t t0 = e2e_now_ms();
    CHECK_INT(get_status(f.port, "x.example", "/ok", NULL, 0), 200);
    CHECKF(e2e_now_ms() - t0 < 3000, "a request behind a runaway script waited %lld ms",
           (long long)(e2e_now_ms() - t0));
    struct e2e_resp r = {0};
    CHECK_INT(e2e_read_response(&c, &r, T_MS), 1);
    CHECK_INT(r.status, 500);
    e2e_resp_free(&r);
    e2e_conn_close(&c);
    e2e_foyer_stop(&f, 5000);
}

static long worker_peak_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *fp = fopen(path, "r");
    long kb = -1;
    while (fp && fgets(line, sizeof(line), fp))
        if (sscanf(line, "VmHWM: %ld", &kb) == 1)
            break;
    if (fp)
        fclose(fp);
    return kb;
}

/* Sends target and waits for the answer while watching the worker's RSS: if
 * it passes limit_kb (no cap in foyer), the worker is killed, so that a
 * missing cap cannot take this machine's memory. Returns the status, -2 if
 * the worker had to be killed. */
static int get_watching_rss(int port, const char *target, pid_t worker, long limit_kb)
{
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, port));
    char req[256];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x.example\r\n\r\n", target);
    REQUIRE(e2e_send_str(&c, req, T_MS));
    int64_t deadline = e2e_now_ms() + 30000;
    int status = -1;
    while (e2e_now_ms() < deadline) {
        long kb = e2e_rss_kb(worker);
        if (kb > limit_kb) {
            e2e_log("worker RSS %ld KiB while %s runs: killing it", kb, target);
            kill(worker, SIGKILL);
            status = -2;
            break;
        }
        struct pollfd pfd = {c.fd, POLLIN, 0};
        if (poll(&pfd, 1, 10) > 0) {
            struct e2e_resp r = {0};
            if (e2e_read_response(&c, &r, T_MS) == 1)
                status = r.status;
            e2e_resp_free(&r);
            break;
        }
    }
    e2e_conn_close(&c);
    return status;
}

E2E_TEST(memory_hungry_script_is_capped, 90)
{
    static const char *const names[] = {"a"};
    struct e2e_backend b[1] = {e2e_backend_start_report("a")};
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n%s"
                    "route(function(req)\n"
                    "  if req.path == \"/hog\" then\n"
                    "    local t = {}\n"
                    "    while true do t[#t + 1] = string.rep(\"x\", 1048576) .. #t end\n"
                    "  end\n"
                    "  if req.path == \"/table\" then\n"
                    "    local t = {}\n"
                    "    for i = 1, 1e9 do t[i] = { i, i, i, i } end\n"
                    "  end\n"
                    "  return \"a\"\n"
                    "end)\n",
                    services(names, b, 1));
    pid_t workers[16];
    int nw = e2e_foyer_workers(&f, workers, 16);
    REQUIRE(nw == 1);
    /* A cap keeps the worker far below 1 GiB (3 GiB with ASan's overhead). */
    const long limit_kb = (E2E_ASAN ? 3L : 1L) * 1024 * 1024;
    static const char *const hogs[] = {"/hog", "/table"};
    for (int i = 0; i < 2; i++) {
        int64_t t0 = e2e_now_ms();
        int st = get_watching_rss(f.port, hogs[i], workers[0], limit_kb);
        e2e_log("%s answered %d after %lld ms", hogs[i], st, (long long)(e2e_now_ms() - t0));
        REQUIREF(st != -2, "%s grew the worker past %ld KiB: no memory cap", hogs[i], limit_kb);
        CHECKF(st == 500, "%s answered %d, want 500", hogs[i], st);
        CHECK_INT(get_status(f.port, "x.example", "/ok", NULL, 0), 200);
    }
    CHECKF(same_workers(&f, workers, nw), "the worker was replaced (crashed or killed)");
    long peak = worker_peak_rss_kb(workers[0]);
    e2e_log("worker peak RSS %ld KiB", peak);
    CHECKF(peak > 0 && peak < limit_kb, "worker peak RSS %ld KiB", peak);
    for (int i = 0; i < 5; i++)
        CHECK_INT(get_status(f.port, "x.example", "/ok", NULL, 0), 200);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(os_exit_and_io_popen_unavailable, 30)
{
    static const char *const names[] = {"a"};
    struct e2e_backend b[1] = {e2e_backend_start_report("a")};
    struct e2e_foyer f;
    char marker[600];
    snprintf(marker, sizeof(marker), "%s", e2e_path("popen-ran"));
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n%s"
                    "route(function(req)\n"
                    "  if req.path == \"/exit\" then os.exit(3) end\n"
                    "  if req.path == \"/popen\" then\n"
                    "    local p = io.popen(\"touch %s\")\n"
                    "    if p then p:close() end\n"
                    "  end\n"
                    "  if req.path == \"/execute\" then os.execute(\"touch %s\") end\n"
                    "  return \"a\"\n"
                    "end)\n",
                    services(names, b, 1), marker, marker);
    pid_t workers[16];
    int nw = e2e_foyer_workers(&f, workers, 16);
    REQUIRE(nw == 1);
    static const char *const paths[] = {"/exit", "/popen", "/execute"};
    for (size_t i = 0; i < 3; i++) {
        CHECKF(get_status(f.port, "x.example", paths[i], NULL, 0) == 500, "%s did not answer 500",
               paths[i]);
        CHECK_INT(get_status(f.port, "x.example", "/ok", NULL, 0), 200);
    }
    CHECKF(kill(f.pid, 0) == 0, "the master is gone");
    CHECKF(same_workers(&f, workers, nw), "the worker exited or was replaced");
    CHECKF(access(marker, F_OK) != 0, "a script ran a shell command");
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
}

E2E_TEST(require_from_lua_path, 30)
{
    static const char *const names[] = {"a", "b"};
    struct e2e_backend b[2] = {e2e_backend_start_report("a"), e2e_backend_start_report("b")};
    /* The modules live in a directory of their own, not the config's. */
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/lualib", e2e_tmpdir());
    REQUIRE(mkdir(dir, 0755) == 0);
    char path[700];
    snprintf(path, sizeof(path), "%s/picker.lua", dir);
    REQUIRE(e2e_write_file(path,
                           "local M = {}\n"                                                  /* 1 */
                           "function M.choose(req)\n"                                        /* 2 */
                           "  if req.path == \"/lib/boom\" then error(\"picker-boom\") end\n" /* 3 */
                           "  if req.path:find(\"^/lib/b\") then return \"b\" end\n"
                           "  return \"a\"\n"
                           "end\n"
                           "return M\n"));
    snprintf(path, sizeof(path), "%s/lazy.lua", dir);
    REQUIRE(e2e_write_file(path, "return { service = function() return \"b\" end }\n"));
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1, lua_path = \"%s/?.lua\" }\n%s"
                    "local picker = require \"picker\"\n"
                    "route(function(req)\n"
                    "  if req.path == \"/lazy\" then return require(\"lazy\").service() end\n"
                    "  return picker.choose(req)\n"
                    "end)\n",
                    dir, services(names, b, 2));
    char be[64];
    CHECK_INT(get_status(f.port, "x.example", "/lib/a", be, sizeof(be)), 200);
    CHECK_STR(be, "a");
    CHECK_INT(get_status(f.port, "x.example", "/lib/b", be, sizeof(be)), 200);
    CHECK_STR(be, "b");
    CHECK_INT(get_status(f.port, "x.example", "/lazy", be, sizeof(be)), 200);
    CHECK_STR(be, "b");
    /* An error inside the module names the module's file and line. */
    CHECK_INT(get_status(f.port, "x.example", "/lib/boom", NULL, 0), 500);
    CHECKF(e2e_foyer_log_wait(&f, "picker.lua:3", T_MS), "stderr lacks picker.lua:3");
    e2e_foyer_stop(&f, 5000);
}

int main(void)
{
    static const struct e2e_case cases[] = {
        E2E_CASE(decision_service_string_and_table),
        E2E_CASE(decision_nil_is_404),
        E2E_CASE(decision_backends_weighted),
        E2E_CASE(decision_path_rewrite_keeps_query),
        E2E_CASE(decision_host),
        E2E_CASE(decision_request_headers),
        E2E_CASE(decision_response_headers),
        E2E_CASE(decision_redirect),
        E2E_CASE(decision_respond),
        E2E_CASE(decision_timeout),
        E2E_CASE(decision_tag_in_access_log),
        E2E_CASE(decision_hash_key_accepted),
        E2E_CASE(req_accessors),
        E2E_CASE(script_errors_are_500_with_file_line),
        E2E_CASE(runaway_script_is_cut_off),
        E2E_CASE(memory_hungry_script_is_capped),
        E2E_CASE(os_exit_and_io_popen_unavailable),
        E2E_CASE(require_from_lua_path),
    };
    return e2e_run_suite("e2e-route-decisions", cases, sizeof(cases) / sizeof(cases[0]));
}
