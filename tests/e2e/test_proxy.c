/*
 * End-to-end tests of foyer's proxying: routing, connection reuse on both
 * sides, pipelining, HTTP/1.0, chunked bodies both ways, Expect, header
 * rewriting, upstream errors, WebSocket tunnelling, graceful stop, access
 * log and limits. Each case starts its own backends and its own foyer.
 */
#include "harness.h"
#include <unistd.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_MS 5000 /* default deadline of one request */

/* The spec's example routes, with two services on two backends. */
static void start_pizza(struct e2e_foyer *f, int menu_port, int offers_port)
{
    e2e_foyer_start(f,
                    "set { workers = 1 }\n"
                    "service \"menu\" { endpoints = { \"127.0.0.1:%d\" } }\n"
                    "service \"offers\" { endpoints = { \"127.0.0.1:%d\" } }\n"
                    "route(function(req)\n"
                    "  if req.host == \"vincentpizza.com\" then\n"
                    "    if req.path:find(\"^/menu/\") then return \"menu\" end\n"
                    "    if req.path:find(\"^/offers/\") then return \"offers\" end\n"
                    "  end\n"
                    "  return nil\n"
                    "end)\n",
                    menu_port, offers_port);
}

/* Sends one GET on an open connection and reads the answer. */
static int get_on(struct e2e_conn *c, const char *target, struct e2e_resp *r)
{
    char req[512];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: vincentpizza.com\r\n\r\n", target);
    if (!e2e_send_str(c, req, T_MS))
        return -1;
    return e2e_read_response(c, r, T_MS);
}

E2E_TEST(route_by_host_and_path, 30)
{
    struct e2e_backend menu = e2e_backend_start("menu"), offers = e2e_backend_start("offers");
    struct e2e_foyer f;
    start_pizza(&f, menu.port, offers.port);
    char be[64];
    CHECK_INT(e2e_get(f.port, "vincentpizza.com", "/menu/margherita", be, sizeof(be)), 200);
    CHECK_STR(be, "menu");
    CHECK_INT(e2e_get(f.port, "vincentpizza.com", "/offers/today", be, sizeof(be)), 200);
    CHECK_STR(be, "offers");
    /* Host is lower-cased and its port removed before routing. */
    CHECK_INT(e2e_get(f.port, "VincentPizza.COM:8080", "/menu/x", be, sizeof(be)), 200);
    CHECK_STR(be, "menu");
    /* The query is not part of the path. */
    CHECK_INT(e2e_get(f.port, "vincentpizza.com", "/offers/?a=/menu/", be, sizeof(be)), 200);
    CHECK_STR(be, "offers");

    /* The target reaches the backend unchanged. */
    struct e2e_resp r = {0};
    CHECK_INT(e2e_request(f.port, "GET /menu/a%20b?x=1&y=2 HTTP/1.1\r\nHost: vincentpizza.com\r\n\r\n",
                          &r, T_MS), 1);
    CHECK_STR(r.body, "menu GET /menu/a%20b?x=1&y=2\n");
    e2e_resp_free(&r);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
}

E2E_TEST(no_route_is_404, 30)
{
    struct e2e_backend menu = e2e_backend_start("menu"), offers = e2e_backend_start("offers");
    struct e2e_foyer f;
    start_pizza(&f, menu.port, offers.port);
    char be[64];
    CHECK_INT(e2e_get(f.port, "other.example", "/menu/x", be, sizeof(be)), 404);
    CHECK_INT(e2e_get(f.port, "vincentpizza.com", "/drinks/", be, sizeof(be)), 404);
    CHECK_INT(e2e_get(f.port, "vincentpizza.com", "/menu", be, sizeof(be)), 404);
    CHECK_STR(be, ""); /* answered by foyer, not by a backend */
    struct e2e_backend_stats st;
    REQUIRE(e2e_backend_stats(menu.port, &st));
    CHECK_INT(st.requests, 0);
    REQUIRE(e2e_backend_stats(offers.port, &st));
    CHECK_INT(st.requests, 0);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(route_request_fields, 30)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n"
                    "service \"app\" { endpoints = { \"127.0.0.1:%d\" } }\n"
                    "route(function(req)\n"
                    "  if req.path == \"/noquery\" and req.query == nil then return \"app\" end\n"
                    "  if req.method == \"POST\" and req.path == \"/x/y\" and req.query == \"a=1&b=2\"\n"
                    "     and req.target == \"/x/y?a=1&b=2\" and req.client_ip == \"127.0.0.1\"\n"
                    "     and req.scheme == \"http\" and req.host == \"shop.example\"\n"
                    "     and req:header(\"X-Pick\") == \"yes\" and req:header(\"x-pick\") == \"yes\"\n"
                    "     and req:header(\"X-Absent\") == nil then\n"
                    "    return \"app\"\n"
                    "  end\n"
                    "  return nil\n"
                    "end)\n",
                    b.port);
    struct e2e_resp r = {0};
    CHECK_INT(e2e_request(f.port,
                          "POST /x/y?a=1&b=2 HTTP/1.1\r\nHost: Shop.Example\r\nX-Pick: yes\r\n"
                          "Content-Length: 0\r\n\r\n",
                          &r, T_MS), 1);
    CHECK_INT(r.status, 200);
    e2e_resp_free(&r);
    CHECK_INT(e2e_request(f.port,
                          "POST /x/y?a=1&b=2 HTTP/1.1\r\nHost: shop.example\r\nX-Pick: no\r\n"
                          "Content-Length: 0\r\n\r\n",
                          &r, T_MS), 1);
    CHECK_INT(r.status, 404);
    e2e_resp_free(&r);
    CHECK_INT(e2e_get(f.port, "shop.example", "/noquery", NULL, 0), 200);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(round_robin_endpoints, 30)
{
    struct e2e_backend b1 = e2e_backend_start("one"), b2 = e2e_backend_start("two");
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n"
                    "service \"app\" { endpoints = { \"127.0.0.1:%d\", \"127.0.0.1:%d\" } }\n"
                    "route(function(req) return \"app\" end)\n",
                    b1.port, b2.port);
    int one = 0, two = 0;
    for (int i = 0; i < 6; i++) {
        char be[64];
        CHECK_INT(e2e_get(f.port, "a.example", "/", be, sizeof(be)), 200);
        one += strcmp(be, "one") == 0;
        two += strcmp(be, "two") == 0;
    }
    CHECKF(one == 3 && two == 3, "round robin over 6 requests gave one=%d two=%d", one, two);
    e2e_foyer_stop(&f, 5000);
}

/* The route script's line 5 raises, line 6 names an unknown service. */
E2E_TEST(route_errors_are_500, 30)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n"                                          /* 2 */
                    "service \"app\" { endpoints = { \"127.0.0.1:%d\" } }\n"         /* 3 */
                    "route(function(req)\n"                                          /* 4 */
                    "  if req.path == \"/boom\" then error(\"kaboom\") end\n"        /* 5 */
                    "  if req.path == \"/ghost\" then return \"no-such-svc\" end\n"  /* 6 */
                    "  return \"app\"\n"
                    "end)\n",
                    b.port);
    CHECK_INT(e2e_get(f.port, "a.example", "/boom", NULL, 0), 500);
    CHECK_INT(e2e_get(f.port, "a.example", "/ghost", NULL, 0), 500);
    CHECK_INT(e2e_get(f.port, "a.example", "/fine", NULL, 0), 200);
    /* The error log names the script line and the unknown service. */
    e2e_foyer_log_wait(&f, "kaboom", T_MS);
    e2e_foyer_log_wait(&f, "no-such-svc", T_MS);
    char *log = e2e_read_file(f.errlog);
    CHECKF(log && strstr(log, "kaboom"), "error log lacks the Lua error message");
    CHECKF(log && strstr(log, "foyer.lua:5"), "error log lacks the script line foyer.lua:5");
    CHECKF(log && strstr(log, "no-such-svc"), "error log lacks the undeclared service name");
    free(log);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(keepalive_client_side, 30)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "", b.port);
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, f.port));
    for (int i = 0; i < 5; i++) {
        struct e2e_resp r = {0};
        REQUIREF(get_on(&c, "/size/100", &r) == 1, "request %d on a kept-alive connection", i + 1);
        CHECK_INT(r.status, 200);
        CHECK_INT(r.body_total, 100);
        CHECK(!r.conn_close);
        e2e_resp_free(&r);
    }
    /* Connection: close from the client: answered, then closed by foyer. */
    struct e2e_resp r = {0};
    REQUIRE(e2e_send_str(&c, "GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", T_MS));
    CHECK_INT(e2e_read_response(&c, &r, T_MS), 1);
    CHECK_INT(r.status, 200);
    CHECK(e2e_wait_closed(&c, 3000));
    e2e_resp_free(&r);
    e2e_conn_close(&c);
    e2e_foyer_stop(&f, 5000);
}

/* Parses the backend's /conn answer "conn=ID req=K". */
static bool parse_conn(const char *body, long *id, long *req)
{
    return body && sscanf(body, "conn=%ld req=%ld", id, req) == 2;
}

E2E_TEST(keepalive_upstream_side, 30)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "", b.port);
    /* Ten requests, on one client connection then on fresh ones. */
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, f.port));
    long id = 0, req = 0, max_req = 0;
    for (int i = 0; i < 5; i++) {
        struct e2e_resp r = {0};
        REQUIRE(get_on(&c, "/conn", &r) == 1);
        CHECK(parse_conn(r.body, &id, &req));
        max_req = req > max_req ? req : max_req;
        e2e_resp_free(&r);
    }
    e2e_conn_close(&c);
    for (int i = 0; i < 5; i++) {
        struct e2e_resp r = {0};
        CHECK_INT(e2e_request(f.port, "GET /conn HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                              &r, T_MS), 1);
        CHECK(parse_conn(r.body, &id, &req));
        max_req = req > max_req ? req : max_req;
        e2e_resp_free(&r);
    }
    CHECKF(max_req >= 5, "no backend connection carried 5 requests (max %ld)", max_req);
    struct e2e_backend_stats st;
    REQUIRE(e2e_backend_stats(b.port, &st));
    CHECK_INT(st.requests, 10);
    CHECKF(st.conns - 1 < 10, "backend saw %ld connections for 10 requests", st.conns - 1);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(pipelining_in_order, 30)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "", b.port);
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, f.port));
    /* Three (then four, one with a body) requests in a single write. */
    REQUIRE(e2e_send_str(&c,
                         "GET /p1 HTTP/1.1\r\nHost: a\r\n\r\n"
                         "GET /size/5 HTTP/1.1\r\nHost: a\r\n\r\n"
                         "GET /p3 HTTP/1.1\r\nHost: a\r\n\r\n"
                         "POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
                         T_MS));
    static const char *want[] = {"app GET /p1\n", "abcde", "app GET /p3\n",
                                 "bytes=5 sha=a430d84680aabd0b\n"};
    for (int i = 0; i < 4; i++) {
        struct e2e_resp r = {0};
        REQUIREF(e2e_read_response(&c, &r, T_MS) == 1, "pipelined response %d", i + 1);
        CHECK_INT(r.status, 200);
        CHECK_STR(r.body, want[i]);
        e2e_resp_free(&r);
    }
    e2e_conn_close(&c);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(http10_client, 30)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "", b.port);
    struct e2e_conn c;
    struct e2e_resp r = {0};
    /* Plain 1.0: answered, then closed. */
    REQUIRE(e2e_conn_open(&c, f.port));
    REQUIRE(e2e_send_str(&c, "GET /ten HTTP/1.0\r\nHost: a\r\n\r\n", T_MS));
    CHECK_INT(e2e_read_response(&c, &r, T_MS), 1);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "app GET /ten\n");
    CHECK(e2e_wait_closed(&c, 3000));
    e2e_conn_close(&c);
    /* 1.0 with keep-alive: the connection persists. */
    REQUIRE(e2e_conn_open(&c, f.port));
    for (int i = 0; i < 2; i++) {
        REQUIRE(e2e_send_str(&c, "GET /ka HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
                             T_MS));
        CHECKF(e2e_read_response(&c, &r, T_MS) == 1, "HTTP/1.0 keep-alive request %d", i + 1);
        CHECK_INT(r.status, 200);
    }
    e2e_conn_close(&c);
    /* Never chunked towards a 1.0 client. */
    REQUIRE(e2e_conn_open(&c, f.port));
    REQUIRE(e2e_send_str(&c, "GET /chunked/10000 HTTP/1.0\r\nHost: a\r\n\r\n", T_MS));
    CHECK_INT(e2e_read_response(&c, &r, T_MS), 1);
    CHECK(!r.chunked);
    CHECK_INT(r.body_total, 10000);
    CHECK(r.body_fnv == e2e_pattern_fnv(10000));
    e2e_conn_close(&c);
    e2e_resp_free(&r);
    e2e_foyer_stop(&f, 5000);
}

/* Sends parts with short pauses, so foyer sees the chunks arrive apart. */
static void send_parts(struct e2e_conn *c, const char *const *parts)
{
    for (; *parts; parts++) {
        REQUIRE(e2e_send_str(c, *parts, T_MS));
        e2e_sleep_ms(30);
    }
}

E2E_TEST(chunked_request_body, 60)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "", b.port);
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, f.port));
    static const char *const parts[] = {
        "POST /sink HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
        "5\r\nhello\r\n", "6;name=value\r\n world\r\n", "0\r\n\r\n", NULL};
    send_parts(&c, parts);
    struct e2e_resp r = {0};
    CHECK_INT(e2e_read_response(&c, &r, T_MS), 1);
    char want[64];
    snprintf(want, sizeof(want), "bytes=11 sha=%016llx\n",
             (unsigned long long)e2e_fnv1a(E2E_FNV_INIT, "hello world", 11));
    CHECK_STR(r.body, want);

    /* 4 MiB in 1000-byte chunks, with a trailer, on the same connection. */
    REQUIRE(e2e_send_str(&c, "POST /sink HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
                         T_MS));
    char chunk[1100];
    int hl = snprintf(chunk, sizeof(chunk), "3e8\r\n");
    memset(chunk + hl, 'z', 1000);
    memcpy(chunk + hl + 1000, "\r\n", 2);
    uint64_t h = E2E_FNV_INIT;
    for (int i = 0; i < 4096; i++) {
        REQUIRE(e2e_send(&c, chunk, (size_t)hl + 1002, T_MS));
        h = e2e_fnv1a(h, chunk + hl, 1000);
    }
    REQUIRE(e2e_send_str(&c, "0\r\nX-Trailer: t\r\n\r\n", T_MS));
    CHECK_INT(e2e_read_response(&c, &r, 20000), 1);
    snprintf(want, sizeof(want), "bytes=4096000 sha=%016llx\n", (unsigned long long)h);
    CHECK_STR(r.body, want);
    e2e_resp_free(&r);
    e2e_conn_close(&c);
    struct e2e_backend_stats st;
    REQUIRE(e2e_backend_stats(b.port, &st));
    CHECK_INT(st.bad, 0);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(chunked_response_relayed, 30)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "", b.port);
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, f.port));
    struct e2e_resp r = {0};
    REQUIRE(get_on(&c, "/chunked/100000", &r) == 1);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.body_total, 100000);
    CHECK(r.body_fnv == e2e_pattern_fnv(100000));
    /* A close-delimited upstream body, then the connection still works. */
    REQUIRE(get_on(&c, "/close/5000", &r) == 1);
    CHECK_INT(r.body_total, 5000);
    CHECK(r.body_fnv == e2e_pattern_fnv(5000));
    if (!r.conn_close) {
        REQUIRE(get_on(&c, "/size/10", &r) == 1);
        CHECK_INT(r.body_total, 10);
    }
    /* And an empty chunked body. */
    e2e_conn_close(&c);
    REQUIRE(e2e_conn_open(&c, f.port));
    REQUIRE(get_on(&c, "/chunked/0", &r) == 1);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.body_total, 0);
    e2e_resp_free(&r);
    e2e_conn_close(&c);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(expect_100_continue, 30)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "", b.port);
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, f.port));
    REQUIRE(e2e_send_str(&c,
                         "POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n"
                         "Expect: 100-continue\r\n\r\n",
                         T_MS));
    /* The body is held back until the interim answer arrives. */
    struct e2e_resp r = {0};
    REQUIREF(e2e_read_head(&c, &r, 3000) == 1, "no 100 Continue before the body was sent");
    CHECK_INT(r.status, 100);
    char body[1000];
    memset(body, 'q', sizeof(body));
    REQUIRE(e2e_send(&c, body, sizeof(body), T_MS));
    CHECK_INT(e2e_read_response(&c, &r, T_MS), 1);
    CHECK_INT(r.status, 200);
    char want[64];
    snprintf(want, sizeof(want), "bytes=1000 sha=%016llx\n",
             (unsigned long long)e2e_fnv1a(E2E_FNV_INIT, body, 1000));
    CHECK_STR(r.body, want);
    e2e_resp_free(&r);
    e2e_conn_close(&c);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(hop_by_hop_and_forwarded_headers, 30)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "", b.port);
    struct e2e_resp r = {0};
    CHECK_INT(e2e_request(f.port,
                          "GET /headers HTTP/1.1\r\n"
                          "Host: VincentPizza.com:8080\r\n"
                          "Connection: keep-alive, X-Hop\r\n"
                          "X-Hop: secret\r\n"
                          "Keep-Alive: timeout=5\r\n"
                          "TE: gzip\r\n"
                          "Trailer: X-Checksum\r\n"
                          "Proxy-Connection: keep-alive\r\n"
                          "Upgrade: h2c\r\n"
                          "X-Forwarded-For: 10.1.2.3\r\n"
                          "X-Keep: yes\r\n"
                          "\r\n",
                          &r, T_MS), 1);
    REQUIRE(r.status == 200);
    const char *seen = r.body; /* the request head as the backend received it */
    char v[512];
    CHECKF(strncmp(seen, "GET /headers HTTP/1.1\r\n", 23) == 0, "request line: %.40s", seen);
    static const char *gone[] = {"x-hop", "keep-alive", "trailer", "proxy-connection", "upgrade"};
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
        CHECKF(e2e_head_count(seen, gone[i]) == 0, "hop-by-hop %s reached the backend", gone[i]);
    CHECKF(!e2e_head_field(seen, "te", v, sizeof(v)) || strcmp(v, "trailers") == 0,
           "TE forwarded as \"%s\"", v);
    CHECKF(!e2e_head_field(seen, "connection", v, sizeof(v)) || !e2e_contains_ci(v, "x-hop"),
           "Connection forwarded as \"%s\"", v);
    CHECK_INT(e2e_head_count(seen, "host"), 1);
    CHECK_STR(e2e_head_field(seen, "host", v, sizeof(v)), "VincentPizza.com:8080");
    CHECK_STR(e2e_head_field(seen, "x-keep", v, sizeof(v)), "yes");
    CHECK_INT(e2e_head_count(seen, "x-forwarded-for"), 1);
    CHECK_STR(e2e_head_field(seen, "x-forwarded-for", v, sizeof(v)), "10.1.2.3, 127.0.0.1");
    CHECK_STR(e2e_head_field(seen, "x-forwarded-proto", v, sizeof(v)), "http");
    CHECKF(e2e_head_field(seen, "x-forwarded-host", v, sizeof(v)) &&
               e2e_contains_ci(v, "vincentpizza.com"),
           "X-Forwarded-Host missing or wrong");
    e2e_resp_free(&r);

    /* Without a client X-Forwarded-For, foyer's is just the client address. */
    CHECK_INT(e2e_request(f.port, "GET /headers HTTP/1.1\r\nHost: a.example\r\n\r\n", &r, T_MS), 1);
    CHECK_STR(e2e_head_field(r.body, "x-forwarded-for", v, sizeof(v)), "127.0.0.1");
    CHECK_STR(e2e_head_field(r.body, "host", v, sizeof(v)), "a.example");
    e2e_resp_free(&r);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(upstream_refused_is_502, 30)
{
    int dead = e2e_free_port(); /* nothing listens there */
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "", dead);
    int64_t t0 = e2e_now_ms();
    CHECK_INT(e2e_get(f.port, "a.example", "/", NULL, 0), 502);
    CHECKF(e2e_now_ms() - t0 < 3000, "502 took %lld ms", (long long)(e2e_now_ms() - t0));
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(upstream_refused_tries_next, 30)
{
    int dead = e2e_free_port();
    struct e2e_backend b = e2e_backend_start("live");
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n"
                    "service \"app\" { endpoints = { \"127.0.0.1:%d\", \"127.0.0.1:%d\" } }\n"
                    "route(function(req) return \"app\" end)\n",
                    dead, b.port);
    for (int i = 0; i < 4; i++) {
        char be[64];
        CHECK_INT(e2e_get(f.port, "a.example", "/", be, sizeof(be)), 200);
        CHECK_STR(be, "live");
    }
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(upstream_silent_is_504, 30)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "upstream_read_timeout = 1", b.port);
    int64_t t0 = e2e_now_ms();
    CHECK_INT(e2e_get(f.port, "a.example", "/silent", NULL, 0), 504);
    int64_t ms = e2e_now_ms() - t0;
    CHECKF(ms >= 900 && ms < 4000, "504 after %lld ms with a 1 s read timeout", (long long)ms);
    /* A slow but not too slow upstream is fine. */
    CHECK_INT(e2e_get(f.port, "a.example", "/slow/300", NULL, 0), 200);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(websocket_tunnel, 30)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "", b.port);
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, f.port));
    REQUIRE(e2e_send_str(&c,
                         "GET /ws HTTP/1.1\r\nHost: a.example\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n",
                         T_MS));
    struct e2e_resp r = {0};
    REQUIRE(e2e_read_head(&c, &r, T_MS) == 1);
    REQUIRE(r.status == 101);
    char v[128];
    CHECKF(e2e_resp_header(&r, "upgrade", v, sizeof(v)) && e2e_contains_ci(v, "websocket"),
           "101 without Upgrade: websocket");
    CHECK_STR(e2e_resp_header(&r, "sec-websocket-accept", v, sizeof(v)),
              "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); /* RFC 6455 1.3 example */
    /* Raw bytes both ways, small then 1 MiB in 64 KiB rounds. */
    static const char hello[] = "hello\0\xff\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    REQUIRE(e2e_send(&c, hello, sizeof(hello), T_MS));
    while (c.len - c.pos < sizeof(hello))
        REQUIRE(e2e_recv_some(&c, 0, T_MS));
    CHECK(memcmp(c.buf + c.pos, hello, sizeof(hello)) == 0);
    c.pos += sizeof(hello);
    static char blk[65536];
    for (size_t i = 0; i < sizeof(blk); i++)
        blk[i] = (char)(i * 7);
    for (int round = 0; round < 16; round++) {
        REQUIRE(e2e_send(&c, blk, sizeof(blk), T_MS));
        while (c.len - c.pos < sizeof(blk))
            REQUIREF(e2e_recv_some(&c, 0, T_MS), "tunnel echo stalled in round %d", round);
        CHECK(memcmp(c.buf + c.pos, blk, sizeof(blk)) == 0);
        c.pos += sizeof(blk);
    }
    e2e_conn_close(&c);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(sigterm_completes_in_flight, 30)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "", b.port);
    struct e2e_conn c, late, idle;
    /* An idle keep-alive connection: the worker closes it when it stops. */
    struct e2e_resp ir = {0};
    REQUIRE(e2e_conn_open(&idle, f.port));
    REQUIRE(e2e_send_str(&idle, "GET /idle HTTP/1.1\r\nHost: a\r\n\r\n", T_MS));
    REQUIRE(e2e_read_response(&idle, &ir, T_MS) == 1);
    e2e_resp_free(&ir);
    REQUIRE(e2e_conn_open(&c, f.port));
    REQUIRE(e2e_send_str(&c, "GET /slow/800 HTTP/1.1\r\nHost: a\r\n\r\n", T_MS));
    /* in flight once the backend has it */
    REQUIRE(e2e_backend_wait_requests(b.port, 2, T_MS));
    pid_t workers[64];
    int nw = e2e_children(f.pid, workers, 64);
    int64_t t0 = e2e_now_ms();
    REQUIRE(kill(f.pid, SIGTERM) == 0);
    /* The worker has begun to stop (its listener closed first) once it has
     * closed the idle connection. */
    CHECKF(e2e_wait_closed(&idle, T_MS), "the idle connection stayed open after SIGTERM");
    e2e_conn_close(&idle);
    /* After SIGTERM new requests are not served (refused, or closed unanswered). */
    bool late_open = e2e_conn_open(&late, f.port);
    if (late_open)
        e2e_send_str(&late, "GET /late HTTP/1.1\r\nHost: a\r\n\r\n", 1000);
    struct e2e_resp r = {0};
    CHECK_INT(e2e_read_response(&c, &r, T_MS), 1);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "slept 800 ms\n");
    int rc = e2e_wait(f.pid, 10000);
    CHECKF(rc == 0, "foyer exit status %d after SIGTERM (-1: still running)", rc);
    CHECKF(e2e_now_ms() - t0 < 5000, "graceful stop took %lld ms",
           (long long)(e2e_now_ms() - t0));
    for (int i = 0; i < nw; i++) /* the master waits for its workers */
        CHECKF(e2e_wait_gone(workers[i], 0), "worker %d outlived the master", (int)workers[i]);
    if (late_open) {
        struct e2e_resp lr = {0};
        int64_t t1 = e2e_now_ms();
        int lrc = e2e_read_response(&late, &lr, 2000);
        e2e_log("late connection: rc %d status %d after %lld ms", lrc, lr.status,
                (long long)(e2e_now_ms() - t1));
        CHECKF(lrc != 1 || lr.status != 200, "a request sent after SIGTERM was served");
        e2e_resp_free(&lr);
        e2e_conn_close(&late);
    }
    if (rc >= 0)
        f.pid = -1;
    e2e_resp_free(&r);
    e2e_conn_close(&c);
}

E2E_TEST(access_log_line, 30)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    char extra[600];
    snprintf(extra, sizeof(extra), "access_log = \"%s\"", e2e_path("access.log"));
    e2e_foyer_start_simple(&f, extra, b.port);
    CHECK_INT(e2e_get(f.port, "a.example", "/logged/path?q=1", NULL, 0), 200);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
    char *log = e2e_read_file(e2e_path("access.log"));
    REQUIREF(log != NULL, "no access log written");
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%d", b.port);
    static const char *fields[] = {"127.0.0.1", "GET", "/logged/path", " 200", "app"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        CHECKF(strstr(log, fields[i]) != NULL, "access log line lacks \"%s\": %.300s", fields[i],
               log);
    CHECKF(strstr(log, endpoint) != NULL, "access log lacks the endpoint %s", endpoint);
    free(log);
}

E2E_TEST(limits_413_431, 30)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "max_body_bytes = 1000, max_header_bytes = 4096", b.port);
    struct e2e_resp r = {0};
    char big[2200];
    snprintf(big, sizeof(big), "POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n");
    size_t hl = strlen(big);
    memset(big + hl, 'b', 2000);
    big[hl + 2000] = 0;
    CHECK_INT(e2e_request(f.port, big, &r, T_MS), 1);
    CHECK_INT(r.status, 413);
    char huge[9000];
    int n = snprintf(huge, sizeof(huge), "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
    memset(huge + n, 'h', 8000);
    strcpy(huge + n + 8000, "\r\n\r\n");
    CHECK_INT(e2e_request(f.port, huge, &r, T_MS), 1);
    CHECK_INT(r.status, 431);
    e2e_resp_free(&r);
    struct e2e_backend_stats st;
    REQUIRE(e2e_backend_stats(b.port, &st));
    CHECK_INT(st.requests, 0);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(client_header_timeout, 30)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "client_header_timeout = 1", b.port);
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, f.port));
    REQUIRE(e2e_send_str(&c, "GET / HTTP/1.1\r\nHost: a\r\n", T_MS)); /* never finished */
    int64_t t0 = e2e_now_ms();
    struct e2e_resp r = {0};
    int rc = e2e_read_response(&c, &r, 5000);
    int64_t ms = e2e_now_ms() - t0;
    /* 408 then close, or a silent close (as nginx does); not before 1 s. */
    CHECKF(rc == 0 || (rc == 1 && r.status == 408), "rc %d status %d", rc, r.status);
    CHECKF(ms >= 800 && ms < 4000, "closed after %lld ms with a 1 s header timeout",
           (long long)ms);
    e2e_resp_free(&r);
    e2e_conn_close(&c);
    e2e_foyer_stop(&f, 5000);
}

/* A real client: curl GETs the README's example and uploads 2 MiB (curl
 * sends Expect: 100-continue for bodies that large). */
E2E_TEST(curl_client, 60)
{
    struct e2e_backend menu = e2e_backend_start("menu"), offers = e2e_backend_start("offers");
    struct e2e_foyer f;
    start_pizza(&f, menu.port, offers.port);
    char url[128], out[4096];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/menu/", f.port);
    char *get[] = {"/usr/bin/env", "curl", "-sS", "-m", "10", "-H", "Host: vincentpizza.com", url,
                   NULL};
    CHECK_INT(e2e_run(get, out, sizeof(out), 15000), 0);
    CHECK_STR(out, "menu GET /menu/\n");

    static char data[2 * 1024 * 1024];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)(i * 31 + (i >> 12));
    const char *file = e2e_path("upload.bin");
    FILE *fp = fopen(file, "wb");
    REQUIRE(fp && fwrite(data, 1, sizeof(data), fp) == sizeof(data) && fclose(fp) == 0);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);

    /* The upload goes to /sink, so route everything to one backend. */
    e2e_foyer_start_simple(&f, "", menu.port);
    char at[512], want[80];
    snprintf(at, sizeof(at), "@%s", file);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/sink", f.port);
    char *post[] = {"/usr/bin/env", "curl", "-sS", "-m", "20", "-H", "Host: vincentpizza.com",
                    "--data-binary", at, url, NULL};
    CHECK_INT(e2e_run(post, out, sizeof(out), 25000), 0);
    snprintf(want, sizeof(want), "bytes=%zu sha=%016llx\n", sizeof(data),
             (unsigned long long)e2e_fnv1a(E2E_FNV_INIT, data, sizeof(data)));
    CHECK_STR(out, want);
    e2e_foyer_stop(&f, 5000);
}

/* An interim 103 from the upstream reaches an HTTP/1.1 client before the
 * final answer, which arrives too (no stall while the 1xx waits to be sent). */
E2E_TEST(interim_response_forwarded, 30)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "", b.port);
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, f.port));
    REQUIRE(e2e_send_str(&c, "GET /early/300 HTTP/1.1\r\nHost: a\r\n\r\n", T_MS));
    struct e2e_resp r = {0};
    REQUIREF(e2e_read_head(&c, &r, 3000) == 1, "no 103 before the final answer");
    CHECK_INT(r.status, 103);
    e2e_resp_free(&r);
    CHECK_INT(e2e_read_response(&c, &r, 3000), 1);
    CHECK_INT(r.status, 200);
    e2e_resp_free(&r);
    /* the connection still serves */
    CHECK_INT(get_on(&c, "/x", &r), 1);
    CHECK_INT(r.status, 200);
    e2e_resp_free(&r);
    e2e_conn_close(&c);
    e2e_foyer_stop(&f, 5000);
}

/* A route returning a malformed decision gets 500 and the worker serves on. */
E2E_TEST(malformed_decision_is_500, 30)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1 }\n"
                    "service \"app\" { endpoints = { \"127.0.0.1:%d\" } }\n"
                    "route(function(req)\n"
                    "  if req.path == '/b' then return { backends = { 1 } } end\n"
                    "  if req.path == '/s' then\n"
                    "    return { service = 'app', request_headers = { set = { ['x y'] = 1 } } }\n"
                    "  end\n"
                    "  return 'app'\n"
                    "end)\n",
                    b.port);
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, f.port));
    struct e2e_resp r = {0};
    CHECK_INT(get_on(&c, "/b", &r), 1);
    CHECK_INT(r.status, 500);
    e2e_resp_free(&r);
    CHECK_INT(get_on(&c, "/s", &r), 1);
    CHECK_INT(r.status, 500);
    e2e_resp_free(&r);
    CHECK_INT(get_on(&c, "/ok", &r), 1);
    CHECK_INT(r.status, 200);
    e2e_resp_free(&r);
    e2e_conn_close(&c);
    e2e_foyer_stop(&f, 5000);
}

/* A listener that reads each request and closes without an answer. */
static pid_t start_dropper(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    *port = ntohs(a.sin_port);
    pid_t pid = fork();
    if (pid == 0) {
        for (;;) {
            int c = accept(fd, NULL, NULL);
            if (c < 0) _exit(0);
            char b[4096];
            ssize_t n = read(c, b, sizeof b);
            (void)n;
            close(c);
        }
    }
    close(fd);
    return pid;
}

/* A request retried on another endpoint after the first closed on it still
 * gets the upstream read timeout there (504), not an endless wait. */
E2E_TEST(retry_keeps_read_timeout, 30)
{
    int drop_port = 0;
    pid_t dropper = start_dropper(&drop_port);
    REQUIRE(dropper > 0);
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1, upstream_read_timeout = 1 }\n"
                    "service \"app\" { endpoints = { \"127.0.0.1:%d\", \"127.0.0.1:%d\" } }\n"
                    "route(function(req) return \"app\" end)\n",
                    drop_port, b.port);
    struct e2e_resp r = {0};
    CHECK_INT(e2e_request(f.port, "GET /silent HTTP/1.1\r\nHost: a\r\n\r\n", &r, 5000), 1);
    CHECK_INT(r.status, 504);
    e2e_resp_free(&r);
    kill(dropper, SIGKILL);
    waitpid(dropper, NULL, 0);
    e2e_foyer_stop(&f, 5000);
}

int main(void)
{
    static const struct e2e_case cases[] = {
        E2E_CASE(route_by_host_and_path),
        E2E_CASE(no_route_is_404),
        E2E_CASE(route_request_fields),
        E2E_CASE(round_robin_endpoints),
        E2E_CASE(route_errors_are_500),
        E2E_CASE(keepalive_client_side),
        E2E_CASE(keepalive_upstream_side),
        E2E_CASE(pipelining_in_order),
        E2E_CASE(http10_client),
        E2E_CASE(chunked_request_body),
        E2E_CASE(chunked_response_relayed),
        E2E_CASE(expect_100_continue),
        E2E_CASE(hop_by_hop_and_forwarded_headers),
        E2E_CASE(upstream_refused_is_502),
        E2E_CASE(upstream_refused_tries_next),
        E2E_CASE(upstream_silent_is_504),
        E2E_CASE(websocket_tunnel),
        E2E_CASE(sigterm_completes_in_flight),
        E2E_CASE(access_log_line),
        E2E_CASE(limits_413_431),
        E2E_CASE(client_header_timeout),
        E2E_CASE(curl_client),
        E2E_CASE(interim_response_forwarded),
        E2E_CASE(malformed_decision_is_500),
        E2E_CASE(retry_keeps_read_timeout),
    };
    return e2e_run_suite("e2e-proxy", cases, sizeof(cases) / sizeof(cases[0]));
}
