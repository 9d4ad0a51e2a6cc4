/* core/http1.c: the http-parser adapter. It runs over heads the scanner has
 * accepted and must hand back slices of the caller's buffer: start line,
 * version, status, and every field in order with OWS trimmed. */
#include "pool.h"
#include "unit.h"

#include <stdio.h>

/* True when s lies inside m's buffer (so it stays valid with that buffer). */
static int in_buf(const struct unit_msg *m, struct foyer_str s)
{
    return s.p >= m->buf && s.p + s.len <= m->buf + m->len;
}

static void check_header(const struct unit_msg *m, unsigned i, const char *name,
                         const char *value)
{
    if (!CHECKF(i < m->head.nheaders, "field %u (%s) exists", i, name)) return;
    const struct foyer_http_header *f = &m->head.headers[i];
    CHECK_FSTR(f->name, name);
    CHECK_FSTR(f->value, value);
    CHECKF(in_buf(m, f->name) && in_buf(m, f->value), "field %u points into the buffer",
           i);
}

/* Parses a request that must pass the scan and the adapter. */
static int parse_request(struct unit_msg *m, const char *text)
{
    unit_request(m, text);
    return CHECKF(m->stage == UNIT_STAGE_ANALYZE, "\"%s\" passes the scan and the parser",
                  text);
}

static void test_request_line_and_fields(void)
{
    struct unit_msg m;
    if (parse_request(&m, "POST /a/b?c=d HTTP/1.1\r\nHost: a.example\r\n"
                          "Content-Type: text/plain\r\nContent-Length: 3\r\n\r\n")) {
        CHECK(m.head.is_request);
        CHECK_FSTR(m.head.method, "POST");
        CHECK_FSTR(m.head.target, "/a/b?c=d");
        CHECK(in_buf(&m, m.head.method) && in_buf(&m, m.head.target));
        CHECK_INT(m.head.version, 11);
        CHECK_INT(m.head.nheaders, 3);
        check_header(&m, 0, "Host", "a.example");
        check_header(&m, 1, "Content-Type", "text/plain");
        check_header(&m, 2, "Content-Length", "3");
    }
    unit_msg_free(&m);
}

static void test_versions(void)
{
    static const struct {
        const char *text;
        int version;
    } cases[] = {
        {"GET / HTTP/1.0\r\n\r\n", 10},
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 11},
        {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 11}, /* a later 1.x is handled as 1.1 */
        {"GET / HTTP/1.9\r\nHost: a\r\n\r\n", 11},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct unit_msg m;
        int st = unit_request(&m, cases[i].text);
        CHECKF(st == 0, "%s: accepted (got %d)", cases[i].text, st);
        CHECKF(st != 0 || m.head.version == cases[i].version, "%s: version %d (got %d)",
               cases[i].text, cases[i].version, m.head.version);
        unit_msg_free(&m);
    }
}

static void test_ows_trimmed(void)
{
    struct unit_msg m;
    if (parse_request(&m, "GET / HTTP/1.1\r\nHost:a\r\nX-A:   spaced  out \t \r\n"
                          "X-B:\t\ttabbed\t\r\nX-Empty:\r\nX-Blank:    \r\n\r\n")) {
        check_header(&m, 0, "Host", "a");
        check_header(&m, 1, "X-A", "spaced  out");
        check_header(&m, 2, "X-B", "tabbed");
        check_header(&m, 3, "X-Empty", "");
        check_header(&m, 4, "X-Blank", "");
    }
    unit_msg_free(&m);
}

static void test_repeated_fields_kept_in_order(void)
{
    struct unit_msg m;
    if (parse_request(&m, "GET / HTTP/1.1\r\nHost: a\r\nAccept: a\r\nX: 1\r\n"
                          "accept: b\r\nACCEPT: c\r\n\r\n")) {
        CHECK_INT(m.head.nheaders, 5);
        check_header(&m, 1, "Accept", "a");
        check_header(&m, 2, "X", "1");
        check_header(&m, 3, "accept", "b");
        check_header(&m, 4, "ACCEPT", "c");
    }
    unit_msg_free(&m);
}

static void test_obs_text_value_kept(void)
{
    struct unit_msg m;
    if (parse_request(&m, "GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xc3\xa9\r\n\r\n"))
        check_header(&m, 1, "X-Name", "caf\xc3\xa9");
    unit_msg_free(&m);
}

/* Methods http-parser does not know go through a stand-in; what comes out
 * must be the same as for a known one: the real method, slices of the
 * caller's buffer. */
static void check_unknown_method(const char *method)
{
    char text[256];
    snprintf(text, sizeof text,
             "%s /pot?sugar=2 HTTP/1.1\r\nHost: tea.example\r\n"
             "Accept-Additions: milk\r\n\r\n",
             method);
    struct unit_msg m;
    int st = unit_request(&m, text);
    CHECKF(st == 0, "%s: accepted (got %d at stage %d)", method, st, m.stage);
    if (st == 0) {
        CHECK_FSTR(m.head.method, method);
        CHECK(m.head.method.p == m.buf);
        CHECK_FSTR(m.head.target, "/pot?sugar=2");
        CHECKF(m.head.target.p == m.buf + strlen(method) + 1,
               "%s: target points into the "
               "buffer",
               method);
        CHECK_INT(m.head.version, 11);
        CHECK_INT(m.head.nheaders, 2);
        check_header(&m, 0, "Host", "tea.example");
        check_header(&m, 1, "Accept-Additions", "milk");
        CHECK_FSTR(m.req.host_name, "tea.example");
        CHECK_FSTR(m.req.path, "/pot");
    }
    unit_msg_free(&m);
}

static void test_unknown_methods(void)
{
    static const char *const methods[] = {"BREW",        "get",   "Get",  "X",
                                          "AB",          "WHEN",  "GETX", "PROPFINDX",
                                          "FOO-BAR_1.0", "POSTAL"};
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++)
        check_unknown_method(methods[i]);
}

static void test_known_methods(void)
{
    static const char *const methods[] = {"GET",      "HEAD",    "POST",  "PUT",
                                          "DELETE",   "OPTIONS", "PATCH", "PURGE",
                                          "M-SEARCH", "PROPFIND"};
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++)
        check_unknown_method(methods[i]); /* the same expectations hold */
}

static void test_asterisk_and_absolute_targets(void)
{
    struct unit_msg m;
    if (parse_request(&m, "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"))
        CHECK_FSTR(m.head.target, "*");
    unit_msg_free(&m);
    if (parse_request(&m,
                      "GET http://a.example:81/x?y HTTP/1.1\r\nHost: a.example\r\n\r\n"))
        CHECK_FSTR(m.head.target, "http://a.example:81/x?y");
    unit_msg_free(&m);
}

static void test_responses(void)
{
    struct unit_msg m;
    int st = unit_response(&m,
                           "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n"
                           "Server: x\r\n\r\n",
                           0);
    CHECK_INT(st, 0);
    if (st == 0) {
        CHECK(!m.head.is_request);
        CHECK_INT(m.head.status, 404);
        CHECK_INT(m.head.version, 11);
        CHECK_FSTR(m.head.reason, "Not Found");
        CHECK(in_buf(&m, m.head.reason));
        CHECK_INT(m.head.nheaders, 2);
        CHECK_FSTR(m.head.headers[1].name, "Server");
        CHECK_FSTR(m.head.headers[1].value, "x");
    }
    unit_msg_free(&m);

    st = unit_response(&m, "HTTP/1.0 204\r\n\r\n", 0);
    CHECK_INT(st, 0);
    CHECK_INT(m.head.status, 204);
    CHECK_INT(m.head.version, 10);
    CHECK_INT(m.head.reason.len, 0);
    CHECK_INT(m.head.nheaders, 0);
    unit_msg_free(&m);
}

static void test_response_heads_without_length(void)
{
    /* the adapter stops at the head whatever the framing says */
    static const char *const heads[] = {
        "HTTP/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: "
        "websocket\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof heads / sizeof *heads; i++) {
        struct unit_msg m;
        unit_response(&m, heads[i], 0);
        CHECKF(m.stage == UNIT_STAGE_ANALYZE, "%s: parsed", heads[i]);
        unit_msg_free(&m);
    }
}

/* Direct calls: the header array is sized by the caller's count. */
static int parse_direct(const char *text, unsigned nheaders, struct foyer_http_head *h,
                        struct foyer_pool *pool)
{
    memset(h, 0, sizeof *h);
    h->is_request = 1;
    return foyer_http1_parse_head(h, text, strlen(text), nheaders, pool);
}

static void test_more_fields_than_counted(void)
{
    struct foyer_pool *pool = foyer_pool_create(1024);
    struct foyer_http_head h;
    REQUIRE(pool != NULL);
    static const char text[] = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    CHECK_INT(parse_direct(text, 3, &h, pool), 0);
    CHECK_INT(h.nheaders, 3);
    CHECK_INT(parse_direct(text, 2, &h, pool), 400);
    CHECK_INT(parse_direct("GET / HTTP/1.1\r\n\r\n", 0, &h, pool), 0);
    CHECK_INT(h.nheaders, 0);
    foyer_pool_destroy(pool);
}

static void test_parser_rejects(void)
{
    /* heads the scanner passes but that are not HTTP for the parser either */
    struct foyer_pool *pool = foyer_pool_create(1024);
    struct foyer_http_head h;
    REQUIRE(pool != NULL);
    CHECK_INT(parse_direct("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 1, &h, pool),
              400);
    CHECK_INT(parse_direct("BREW / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 1, &h, pool),
              400);
    memset(&h, 0, sizeof h);
    CHECK_INT(foyer_http1_parse_head(&h, "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                                     38, 1, pool),
              502);
    foyer_pool_destroy(pool);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_request_line_and_fields),
    UNIT_TEST(test_versions),
    UNIT_TEST(test_ows_trimmed),
    UNIT_TEST(test_repeated_fields_kept_in_order),
    UNIT_TEST(test_obs_text_value_kept),
    UNIT_TEST(test_unknown_methods),
    UNIT_TEST(test_known_methods),
    UNIT_TEST(test_asterisk_and_absolute_targets),
    UNIT_TEST(test_responses),
    UNIT_TEST(test_response_heads_without_length),
    UNIT_TEST(test_more_fields_than_counted),
    UNIT_TEST(test_parser_rejects),
};
UNIT_MAIN("http1", tests)
