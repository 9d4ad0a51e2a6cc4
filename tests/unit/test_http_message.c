/* core/http_message.c: what a head means to a proxy (RFC 9110/9112): body
 * framing, Host, the target, connection management, hop-by-hop fields.
 *
 * The refusal tables run twice: through the whole pipeline the proxy uses
 * (scan, http-parser adapter, analysis), and through foyer_request_analyze
 * alone on a head split by hand, so the analysis holds its line even where
 * http-parser would have caught the problem first. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

#define ANY_ERROR 1 /* a case that must be refused, with whichever 4xx/5xx */

/* ---- heads built by hand ------------------------------------------------- */

#define SYNTH_MAX 32

struct synth {
    struct foyer_http_head head;
    struct foyer_http_header fields[SYNTH_MAX];
};

static struct foyer_str slice(const char *p, size_t len)
{
    return (struct foyer_str){p, len};
}

static struct foyer_str trim_ows(const char *p, size_t len)
{
    while (len > 0 && (*p == ' ' || *p == '\t'))
        p++, len--;
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    return slice(p, len);
}

/* "HTTP/1.x" to 10 or 11, as the adapter reports it. */
static int synth_version(const char *p)
{
    return p[7] >= '1' ? 11 : 10;
}

static void synth_start_line(struct synth *s, const char *line, size_t len)
{
    const char *sp1 = memchr(line, ' ', len);
    REQUIRE(sp1 != NULL);
    const char *rest = sp1 + 1;
    const char *sp2 = memchr(rest, ' ', len - (size_t)(rest - line));
    if (s->head.is_request) {
        REQUIRE(sp2 != NULL);
        s->head.method = slice(line, (size_t)(sp1 - line));
        s->head.target = slice(rest, (size_t)(sp2 - rest));
        s->head.version = synth_version(sp2 + 1);
    } else {
        s->head.version = synth_version(line);
        s->head.status = atoi(rest);
    }
}

/* Splits text (a head, CRLF line ends, no checks) into s->head. */
static void synth_parse(struct synth *s, const char *text, int is_request)
{
    memset(s, 0, sizeof *s);
    s->head.is_request = is_request;
    s->head.headers = s->fields;
    const char *p = text;
    for (int first = 1;; first = 0) {
        const char *eol = strstr(p, "\r\n");
        REQUIRE(eol != NULL);
        size_t len = (size_t)(eol - p);
        if (len == 0) return;
        if (first) {
            synth_start_line(s, p, len);
        } else {
            const char *colon = memchr(p, ':', len);
            REQUIRE(colon != NULL && s->head.nheaders < SYNTH_MAX);
            struct foyer_http_header *f = &s->fields[s->head.nheaders++];
            f->name = slice(p, (size_t)(colon - p));
            f->value = trim_ows(colon + 1, len - (size_t)(colon + 1 - p));
        }
        p = eol + 2;
    }
}

/* ---- status tables ---------------------------------------------------------- */

struct status_case {
    const char *name;
    const char *text;
    int want;
};

static int status_matches(int got, int want)
{
    return want == ANY_ERROR ? got >= 400 : got == want;
}

static void check_request_case(const struct status_case *c)
{
    char esc[512];
    unit_escape(c->text, strlen(c->text), esc, sizeof esc);
    int got = unit_request_status(c->text);
    CHECKF(status_matches(got, c->want), "%s: \"%s\" gives %d (got %d)", c->name, esc,
           c->want, got);
    struct synth s;
    struct foyer_request_info ri;
    synth_parse(&s, c->text, 1);
    got = foyer_request_analyze(&s.head, &ri);
    CHECKF(status_matches(got, c->want), "%s: analysis alone gives %d (got %d)", c->name,
           c->want, got);
}

static void check_response_case(const struct status_case *c)
{
    char esc[512];
    unit_escape(c->text, strlen(c->text), esc, sizeof esc);
    int got = unit_response_status(c->text, 0);
    CHECKF(status_matches(got, c->want), "%s: \"%s\" gives %d (got %d)", c->name, esc,
           c->want, got);
    struct synth s;
    struct foyer_response_info ri;
    synth_parse(&s, c->text, 0);
    got = foyer_response_analyze(&s.head, 0, &ri);
    CHECKF(status_matches(got, c->want), "%s: analysis alone gives %d (got %d)", c->name,
           c->want, got);
}

#define CHECK_REQUEST_CASES(cases)                                                       \
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)                            \
    check_request_case(&cases[i])
#define CHECK_RESPONSE_CASES(cases)                                                      \
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)                            \
    check_response_case(&cases[i])

#define POST "POST / HTTP/1.1\r\nHost: a.example\r\n"

static void test_request_framing_refused(void)
{
    static const struct status_case cases[] = {
        {"CL then TE", POST "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
         400},
        {"TE then CL", POST "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
         400},
        {"CL 0 with TE", POST "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
         400},
        {"two different CLs", POST "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
        {"two CLs, names in other cases",
         POST "content-length: 5\r\nCONTENT-LENGTH: 50\r\n\r\n", 400},
        {"CL list", POST "Content-Length: 5, 6\r\n\r\n", 400},
        {"CL equal list", POST "Content-Length: 5, 5\r\n\r\n", 400},
        {"CL +5", POST "Content-Length: +5\r\n\r\n", 400},
        {"CL -1", POST "Content-Length: -1\r\n\r\n", 400},
        {"CL 0x5", POST "Content-Length: 0x5\r\n\r\n", 400},
        {"CL 1 0", POST "Content-Length: 1 0\r\n\r\n", 400},
        {"CL 5,", POST "Content-Length: 5,\r\n\r\n", 400},
        {"CL empty", POST "Content-Length:\r\n\r\n", 400},
        {"CL 1e3", POST "Content-Length: 1e3\r\n\r\n", 400},
        {"CL 5.0", POST "Content-Length: 5.0\r\n\r\n", 400},
        {"CL overflowing 64 bits", POST "Content-Length: 99999999999999999999\r\n\r\n",
         400},
        {"TE chunked, gzip", POST "Transfer-Encoding: chunked, gzip\r\n\r\n", 400},
        {"TE gzip", POST "Transfer-Encoding: gzip\r\n\r\n", 400},
        {"TE identity", POST "Transfer-Encoding: identity\r\n\r\n", 400},
        {"TE quoted", POST "Transfer-Encoding: \"chunked\"\r\n\r\n", 400},
        {"TE with CL in HTTP/1.0",
         "POST / HTTP/1.0\r\nContent-Length: 3\r\n"
         "Transfer-Encoding: chunked\r\n\r\n",
         400},
        {"TE gzip, chunked", POST "Transfer-Encoding: gzip, chunked\r\n\r\n", 501},
        {"TE chunked, chunked", POST "Transfer-Encoding: chunked, chunked\r\n\r\n",
         ANY_ERROR},
        {"TE in two fields",
         POST "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"
              "\r\n\r\n",
         400},
        {"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"Expect other than 100-continue", POST "Expect: 200-ok\r\n\r\n", 417},
        {"Expect list", POST "Expect: 100-continue, x\r\n\r\n", 417},
        {"Expect token", POST "Expect: foo\r\n\r\n", 417},
    };
    CHECK_REQUEST_CASES(cases);
}

static void test_request_framing_accepted(void)
{
    static const struct status_case cases[] = {
        {"CL", POST "Content-Length: 5\r\n\r\n", 0},
        {"CL with leading zeros", POST "Content-Length: 005\r\n\r\n", 0},
        {"CL of 18 digits", POST "Content-Length: 100000000000000000\r\n\r\n", 0},
        {"TE chunked", POST "Transfer-Encoding: chunked\r\n\r\n", 0},
        {"TE Chunked", POST "Transfer-Encoding: Chunked\r\n\r\n", 0},
        {"Expect 100-continue", POST "Expect: 100-continue\r\nContent-Length: 1\r\n\r\n",
         0},
        {"Expect 100-Continue", POST "Expect: 100-Continue\r\nContent-Length: 1\r\n\r\n",
         0},
    };
    CHECK_REQUEST_CASES(cases);
}

#define GET_H(host) "GET / HTTP/1.1\r\nHost: " host "\r\n\r\n"

static void test_host_refused(void)
{
    static const struct status_case cases[] = {
        {"missing in 1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400},
        {"missing in 1.1 with absolute-form", "GET http://a.example/ HTTP/1.1\r\n\r\n",
         400},
        {"twice", "GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n", 400},
        {"twice, same value",
         "GET / HTTP/1.1\r\nHost: a.example\r\nHost: a.example\r\n\r\n", 400},
        {"comma", GET_H("a.example,b.example"), 400},
        {"comma and space", GET_H("a.example, b.example"), 400},
        {"space", GET_H("a.example b"), 400},
        {"userinfo", GET_H("user@a.example"), 400},
        {"userinfo and password", GET_H("user:pw@a.example"), 400},
        {"slash", GET_H("a.example/x"), 400},
        {"only a port", GET_H(":80"), 400},
        {"port too big", GET_H("a.example:65536"), 400},
        {"port of six digits", GET_H("a.example:000080"), 400},
        {"port with a letter", GET_H("a.example:8o"), 400},
        {"two ports", GET_H("a.example:80:81"), 400},
        {"IPv6 unterminated", GET_H("[::1"), 400},
        {"junk after IPv6", GET_H("[::1]x"), 400},
        {"comma after IPv6", GET_H("[::1],b.example"), 400},
        {"comma inside IP-literal", GET_H("[::1,b.example]"), 400},
        {"space inside IP-literal", GET_H("[::1 b]"), 400},
        {"userinfo inside IP-literal", GET_H("[u@::1]"), 400},
    };
    CHECK_REQUEST_CASES(cases);
}

static void test_host_accepted(void)
{
    static const struct status_case cases[] = {
        {"name", GET_H("a.example"), 0},
        {"name and port", GET_H("a.example:8080"), 0},
        {"IPv4 and port", GET_H("192.0.2.1:80"), 0},
        {"IPv6 and port", GET_H("[2001:db8::1]:443"), 0},
        {"trailing dot", GET_H("a.example."), 0},
        {"mixed case", GET_H("A.Example"), 0},
        {"underscore", GET_H("my_host.internal"), 0},
        {"missing in 1.0", "GET / HTTP/1.0\r\n\r\n", 0},
    };
    CHECK_REQUEST_CASES(cases);
}

static void test_target_and_method_refused(void)
{
    static const struct status_case cases[] = {
        {"absolute-form userinfo",
         "GET http://u@a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n", 400},
        {"absolute-form user:password",
         "GET http://u:p@a.example/ HTTP/1.1\r\n"
         "Host: a.example\r\n\r\n",
         400},
        {"absolute-form other scheme",
         "GET ftp://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n", 400},
        {"absolute-form empty authority",
         "GET http:///x HTTP/1.1\r\nHost: a.example\r\n\r\n", 400},
        {"absolute-form comma inside IP-literal",
         "GET http://[::1,b.example]/ HTTP/1.1\r\n"
         "Host: a.example\r\n\r\n",
         400},
        {"absolute-form bad port",
         "GET http://a.example:99999/ HTTP/1.1\r\n"
         "Host: a.example\r\n\r\n",
         400},
        {"authority-form outside CONNECT",
         "GET a.example:80 HTTP/1.1\r\nHost: a.example\r\n\r\n", 400},
        {"asterisk outside OPTIONS", "GET * HTTP/1.1\r\nHost: a.example\r\n\r\n", 400},
        {"relative path", "GET a/b HTTP/1.1\r\nHost: a.example\r\n\r\n", 400},
        {"fragment", "GET /a#b HTTP/1.1\r\nHost: a.example\r\n\r\n", 400},
        {"CONNECT", "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", 405},
        {"method of 33 bytes",
         "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG / HTTP/1.1\r\n"
         "Host: a.example\r\n\r\n",
         501},
    };
    CHECK_REQUEST_CASES(cases);
}

static void test_target_and_method_accepted(void)
{
    static const struct status_case cases[] = {
        {"asterisk with OPTIONS", "OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n", 0},
        {"@ in an absolute-form path",
         "GET http://a.example/x@y HTTP/1.1\r\n"
         "Host: a.example\r\n\r\n",
         0},
        {"method of 32 bytes",
         "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF / HTTP/1.1\r\n"
         "Host: a.example\r\n\r\n",
         0},
    };
    CHECK_REQUEST_CASES(cases);
}

/* ---- what an accepted request means --------------------------------------- */

/* Runs text through the pipeline; the case fails (and returns 0) unless it
 * is accepted. */
static int accepted(struct unit_msg *m, const char *text)
{
    int st = unit_request(m, text);
    char esc[512];
    return CHECKF(st == 0, "\"%s\" is accepted (got %d)",
                  unit_escape(text, strlen(text), esc, sizeof esc), st);
}

static void test_simple_get(void)
{
    struct unit_msg m;
    if (accepted(&m, "GET /index.html HTTP/1.1\r\nHost: a.example\r\n\r\n")) {
        CHECK_INT(m.req.body, FOYER_BODY_NONE);
        CHECK(!m.req.has_length);
        CHECK(m.req.keep_alive);
        CHECK(!m.req.is_head && !m.req.is_upgrade && !m.req.expect_continue);
        CHECK(!m.req.absolute_form);
        CHECK_FSTR(m.req.host, "a.example");
        CHECK_FSTR(m.req.host_name, "a.example");
        CHECK_INT(m.req.port, 0);
        CHECK_FSTR(m.req.path, "/index.html");
        CHECK(m.req.query.p == NULL);
    }
    unit_msg_free(&m);
}

static void check_path_query(const char *target, const char *path, const char *query)
{
    char text[256];
    struct unit_msg m;
    snprintf(text, sizeof text, "GET %s HTTP/1.1\r\nHost: a.example\r\n\r\n", target);
    if (accepted(&m, text)) {
        CHECK_FSTR(m.req.path, path);
        CHECK_FSTR(m.req.query, query);
    }
    unit_msg_free(&m);
}

static void test_path_and_query(void)
{
    check_path_query("/p/q?x=1&y=%20", "/p/q", "x=1&y=%20");
    check_path_query("/p?", "/p", "");
    check_path_query("/?a?b", "/", "a?b");
    check_path_query("/no/query", "/no/query", NULL);
    check_path_query("http://b.example/x/y?q=1", "/x/y", "q=1");
    check_path_query("http://b.example", "/", NULL);
    check_path_query("http://b.example?x=1", "/", "x=1");
}

static void test_content_length(void)
{
    struct unit_msg m;
    if (accepted(&m, POST "Content-Length: 5\r\n\r\n")) {
        CHECK_INT(m.req.body, FOYER_BODY_LENGTH);
        CHECK_INT(m.req.content_length, 5);
        CHECK(m.req.has_length);
        int i = unit_find_header(&m.head, "content-length");
        CHECK(i >= 0 && (m.head.headers[i].flags & FOYER_HDR_REPLACED));
    }
    unit_msg_free(&m);
    if (accepted(&m, POST "Content-Length: 0\r\n\r\n")) {
        CHECK_INT(m.req.body, FOYER_BODY_NONE);
        CHECK(m.req.has_length);
    }
    unit_msg_free(&m);
    if (accepted(&m, POST "Content-Length: 007\r\n\r\n"))
        CHECK_INT(m.req.content_length, 7);
    unit_msg_free(&m);
    if (accepted(&m, POST "Content-Length: 123456789012345678\r\n\r\n"))
        CHECK(m.req.content_length == 123456789012345678ull);
    unit_msg_free(&m);
}

static void test_equal_content_lengths_analysis(void)
{
    /* RFC 9110 §8.6: identical repeated lengths MAY be taken as one */
    struct synth s;
    struct foyer_request_info ri;
    synth_parse(&s, POST "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", 1);
    CHECK_INT(foyer_request_analyze(&s.head, &ri), 0);
    CHECK_INT(ri.content_length, 5);
    CHECK_INT(ri.body, FOYER_BODY_LENGTH);
}

static void test_chunked(void)
{
    struct unit_msg m;
    if (accepted(&m, POST "Transfer-Encoding: chunked\r\n\r\n")) {
        CHECK_INT(m.req.body, FOYER_BODY_CHUNKED);
        CHECK(!m.req.has_length);
        int i = unit_find_header(&m.head, "transfer-encoding");
        CHECK(i >= 0 && (m.head.headers[i].flags & FOYER_HDR_REPLACED));
    }
    unit_msg_free(&m);
}

static void check_keep_alive(const char *version, const char *connection, int want)
{
    char text[256];
    struct unit_msg m;
    snprintf(text, sizeof text, "GET / %s\r\nHost: a\r\n%s%s%s\r\n", version,
             connection ? "Connection: " : "", connection ? connection : "",
             connection ? "\r\n" : "");
    if (accepted(&m, text))
        CHECKF(m.req.keep_alive == (unsigned)want, "%s, Connection: %s: keep-alive %d",
               version, connection ? connection : "(none)", want);
    unit_msg_free(&m);
}

static void test_keep_alive(void)
{
    check_keep_alive("HTTP/1.1", NULL, 1);
    check_keep_alive("HTTP/1.1", "close", 0);
    check_keep_alive("HTTP/1.1", "Close", 0);
    check_keep_alive("HTTP/1.1", "keep-alive, close", 0);
    check_keep_alive("HTTP/1.1", "keep-alive", 1);
    check_keep_alive("HTTP/1.0", NULL, 0);
    check_keep_alive("HTTP/1.0", "keep-alive", 1);
    check_keep_alive("HTTP/1.0", "Keep-Alive", 1);
    check_keep_alive("HTTP/1.0", "keep-alive, close", 0);
}

static void test_head_method(void)
{
    struct unit_msg m;
    if (accepted(&m, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n")) CHECK(m.req.is_head);
    unit_msg_free(&m);
    if (accepted(&m, "head / HTTP/1.1\r\nHost: a\r\n\r\n")) CHECK(!m.req.is_head);
    unit_msg_free(&m);
}

static void test_expect_continue(void)
{
    struct unit_msg m;
    if (accepted(&m, POST "Expect: 100-continue\r\nContent-Length: 10\r\n\r\n")) {
        CHECK(m.req.expect_continue);
        int i = unit_find_header(&m.head, "expect");
        CHECK(i >= 0 && (m.head.headers[i].flags & FOYER_HDR_REPLACED));
    }
    unit_msg_free(&m);
}

static void test_expect_ignored_in_http10(void)
{
    /* RFC 9110 §10.1.1: a server that receives a 100-continue expectation in
     * an HTTP/1.0 request MUST ignore it (a 1.0 client knows no 1xx) */
    struct unit_msg m;
    if (accepted(&m,
                 "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n"))
        CHECK(!m.req.expect_continue);
    unit_msg_free(&m);
}

static void check_host(const char *host, const char *name, unsigned port)
{
    char text[256];
    struct unit_msg m;
    snprintf(text, sizeof text, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", host);
    if (accepted(&m, text)) {
        CHECK_FSTR(m.req.host, host);
        CHECK_FSTR(m.req.host_name, name);
        CHECKF(m.req.port == port, "Host %s: port %u (got %u)", host, port, m.req.port);
    }
    unit_msg_free(&m);
}

static void test_host_parts(void)
{
    check_host("a.example", "a.example", 0);
    check_host("a.example:8080", "a.example", 8080);
    check_host("A.Example.:81", "A.Example.", 81);
    check_host("[::1]:8080", "[::1]", 8080);
    check_host("[2001:db8::1]", "[2001:db8::1]", 0);
    check_host("192.0.2.1:65535", "192.0.2.1", 65535);
}

static void test_absolute_form(void)
{
    struct unit_msg m;
    if (accepted(&m, "GET http://Other.example:8081/x/y?q=1 HTTP/1.1\r\nHost: "
                     "a.example\r\n\r\n")) {
        CHECK(m.req.absolute_form);
        CHECK_FSTR(m.req.host, "Other.example:8081");
        CHECK_FSTR(m.req.host_name, "Other.example");
        CHECK_INT(m.req.port, 8081);
        CHECK_FSTR(m.req.path, "/x/y");
        CHECK_FSTR(m.req.query, "q=1");
    }
    unit_msg_free(&m);
    if (accepted(&m, "GET HTTPS://b.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n")) {
        CHECK(m.req.absolute_form);
        CHECK_FSTR(m.req.host_name, "b.example");
        CHECK_FSTR(m.req.path, "/");
    }
    unit_msg_free(&m);
}

static void test_asterisk_form(void)
{
    struct unit_msg m;
    if (accepted(&m, "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"))
        CHECK_FSTR(m.req.path, "*");
    unit_msg_free(&m);
}

static void check_flag(const struct unit_msg *m, const char *name, unsigned flag,
                       int want)
{
    int i = unit_find_header(&m->head, name);
    if (!CHECKF(i >= 0, "field %s present", name)) return;
    int got = (m->head.headers[i].flags & flag) != 0;
    CHECKF(got == want, "field %s is %s hop-by-hop", name, want ? "" : "not");
}

static void test_hop_by_hop(void)
{
    struct unit_msg m;
    if (accepted(
            &m,
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret,x-other\r\n"
            "X-Secret: 1\r\nX-Other: 2\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"
            "Trailer: X\r\nProxy-Connection: keep-alive\r\nUpgrade: foo\r\n"
            "X-Kept: 3\r\nAccept: */*\r\n\r\n")) {
        static const char *const hop[] = {"Connection",       "X-Secret", "X-Other",
                                          "Keep-Alive",       "TE",       "Trailer",
                                          "Proxy-Connection", "Upgrade"};
        static const char *const kept[] = {"Host", "X-Kept", "Accept"};
        for (size_t i = 0; i < sizeof hop / sizeof *hop; i++)
            check_flag(&m, hop[i], FOYER_HDR_HOP, 1);
        for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
            check_flag(&m, kept[i], FOYER_HDR_HOP, 0);
    }
    unit_msg_free(&m);
}

static void test_connection_cannot_drop_framing(void)
{
    /* naming them in Connection must not make the proxy drop what frames
     * the message or says where it goes */
    struct unit_msg m;
    if (accepted(&m,
                 POST "Connection: Host, Content-Length\r\nContent-Length: 2\r\n\r\n")) {
        check_flag(&m, "Host", FOYER_HDR_HOP, 0);
        check_flag(&m, "Content-Length", FOYER_HDR_HOP, 0);
        CHECK_INT(m.req.body, FOYER_BODY_LENGTH);
    }
    unit_msg_free(&m);
    if (accepted(&m, POST
                 "Connection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n")) {
        check_flag(&m, "Transfer-Encoding", FOYER_HDR_HOP, 0);
        CHECK_INT(m.req.body, FOYER_BODY_CHUNKED);
    }
    unit_msg_free(&m);
}

static void check_upgrade(const char *version, const char *connection,
                          const char *upgrade, int want)
{
    char text[256];
    struct unit_msg m;
    snprintf(text, sizeof text,
             "GET /ws %s\r\nHost: a\r\nConnection: %s\r\nUpgrade: %s\r\n\r\n", version,
             connection, upgrade);
    if (accepted(&m, text)) {
        CHECKF(m.req.is_upgrade == (unsigned)want,
               "%s, Connection: %s, Upgrade: %s: upgrade %d", version, connection,
               upgrade, want);
        if (want) CHECK_FSTR(m.req.upgrade, upgrade);
        check_flag(&m, "Upgrade", FOYER_HDR_HOP, 1);
    }
    unit_msg_free(&m);
}

static void test_upgrade(void)
{
    check_upgrade("HTTP/1.1", "Upgrade", "websocket", 1);
    check_upgrade("HTTP/1.1", "keep-alive, upgrade", "websocket", 1);
    check_upgrade("HTTP/1.1", "keep-alive", "websocket", 0);
    check_upgrade("HTTP/1.0", "upgrade", "websocket", 0);
    check_upgrade("HTTP/1.1", "upgrade", "h2c", 0);
    check_upgrade("HTTP/1.1", "upgrade", "H2C", 0);
    check_upgrade("HTTP/1.1", "upgrade", "websocket, h2c", 0);
    check_upgrade("HTTP/1.1", "upgrade", "h2c, websocket", 0);
}

static void test_upgrade_field_without_connection(void)
{
    struct unit_msg m;
    if (accepted(&m, "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n")) {
        CHECK(!m.req.is_upgrade);
        check_flag(&m, "Upgrade", FOYER_HDR_HOP, 1);
    }
    unit_msg_free(&m);
}

/* ---- responses ---------------------------------------------------------- */

struct response_case {
    const char *name;
    const char *text;
    int request_was_head;
    enum foyer_body_kind body;
    uint64_t length;
    int keep_alive;
};

static void test_response_framing(void)
{
    static const struct response_case cases[] = {
        {"200 with a length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 0,
         FOYER_BODY_LENGTH, 5, 1},
        {"200 with length 0", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0,
         FOYER_BODY_NONE, 0, 1},
        {"200 chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
         FOYER_BODY_CHUNKED, 0, 1},
        {"200 close-delimited", "HTTP/1.1 200 OK\r\n\r\n", 0, FOYER_BODY_CLOSE, 0, 0},
        {"1.0 close-delimited", "HTTP/1.0 200 OK\r\n\r\n", 0, FOYER_BODY_CLOSE, 0, 0},
        {"1.0 with a length", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", 0,
         FOYER_BODY_LENGTH, 2, 0},
        {"1.0 keep-alive",
         "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
         "Content-Length: 2\r\n\r\n",
         0, FOYER_BODY_LENGTH, 2, 1},
        {"1.1 close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n",
         0, FOYER_BODY_LENGTH, 2, 0},
        {"204", "HTTP/1.1 204 No Content\r\n\r\n", 0, FOYER_BODY_NONE, 0, 1},
        {"304 with a length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n",
         0, FOYER_BODY_NONE, 100, 1},
        {"HEAD with a length", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 1,
         FOYER_BODY_NONE, 100, 1},
        {"HEAD chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 1,
         FOYER_BODY_NONE, 0, 1},
        {"HEAD without framing", "HTTP/1.1 200 OK\r\n\r\n", 1, FOYER_BODY_NONE, 0, 1},
        {"100", "HTTP/1.1 100 Continue\r\n\r\n", 0, FOYER_BODY_NONE, 0, 1},
        {"404 with a length", "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n", 0,
         FOYER_BODY_LENGTH, 9, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct response_case *c = &cases[i];
        struct unit_msg m;
        int st = unit_response(&m, c->text, c->request_was_head);
        if (CHECKF(st == 0, "%s: accepted (got %d)", c->name, st)) {
            CHECKF(m.resp.body == c->body, "%s: body kind %d (got %d)", c->name, c->body,
                   m.resp.body);
            CHECKF(m.resp.content_length == c->length, "%s: length %llu (got %llu)",
                   c->name, (unsigned long long)c->length,
                   (unsigned long long)m.resp.content_length);
            CHECKF(m.resp.keep_alive == (unsigned)c->keep_alive, "%s: keep-alive %d",
                   c->name, c->keep_alive);
            CHECKF(!m.resp.is_upgrade, "%s: no upgrade", c->name);
        }
        unit_msg_free(&m);
    }
}

static void test_response_101(void)
{
    struct unit_msg m;
    int st = unit_response(&m,
                           "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                           "Upgrade: websocket\r\n\r\n",
                           0);
    CHECK_INT(st, 0);
    CHECK(m.resp.is_upgrade);
    CHECK_INT(m.resp.body, FOYER_BODY_NONE);
    unit_msg_free(&m);
}

static void test_response_length_kept_without_body(void)
{
    /* a 304 or an answer to HEAD keeps its Content-Length as sent */
    struct unit_msg m;
    if (CHECK(unit_response(&m,
                            "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n",
                            0) == 0))
        check_flag(&m, "Content-Length", FOYER_HDR_REPLACED, 0);
    unit_msg_free(&m);
    if (CHECK(unit_response(&m, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 1) ==
              0))
        check_flag(&m, "Content-Length", FOYER_HDR_REPLACED, 0);
    unit_msg_free(&m);
    if (CHECK(unit_response(&m, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 0) ==
              0))
        check_flag(&m, "Content-Length", FOYER_HDR_REPLACED, 1);
    unit_msg_free(&m);
}

static void test_response_refused(void)
{
    static const struct status_case cases[] = {
        {"two different CLs",
         "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 502},
        {"CL +5", "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n", 502},
        {"CL 0x5", "HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\n", 502},
        {"CL list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", 502},
        {"TE chunked, gzip",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 502},
        {"TE gzip, chunked",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 502},
        {"TE in two fields",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
         "Transfer-Encoding: chunked\r\n\r\n",
         502},
    };
    CHECK_RESPONSE_CASES(cases);
}

static void test_response_cl_and_te(void)
{
    /* RFC 9112 §6.3: chunked wins, and the length must not reach the client;
     * refusing the response is as good */
    static const char text[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n";
    struct synth s;
    struct foyer_response_info ri;
    synth_parse(&s, text, 0);
    int st = foyer_response_analyze(&s.head, 0, &ri);
    CHECKF(st == 502 || st == 0, "CL + TE: 502 or accepted (got %d)", st);
    if (st == 0) {
        CHECK_INT(ri.body, FOYER_BODY_CHUNKED);
        CHECK(s.fields[0].flags & (FOYER_HDR_REPLACED | FOYER_HDR_HOP));
    }
    st = unit_response_status(text, 0);
    CHECKF(st == 502 || st == 0, "CL + TE through the pipeline: 502 or accepted (got %d)",
           st);
}

static void test_response_hop_by_hop(void)
{
    struct unit_msg m;
    if (CHECK(unit_response(
                  &m,
                  "HTTP/1.1 200 OK\r\nConnection: X-Internal\r\nX-Internal: 1\r\n"
                  "Keep-Alive: timeout=5\r\nX-Public: 2\r\nContent-Length: 0\r\n\r\n",
                  0) == 0)) {
        check_flag(&m, "Connection", FOYER_HDR_HOP, 1);
        check_flag(&m, "X-Internal", FOYER_HDR_HOP, 1);
        check_flag(&m, "Keep-Alive", FOYER_HDR_HOP, 1);
        check_flag(&m, "X-Public", FOYER_HDR_HOP, 0);
    }
    unit_msg_free(&m);
}

/* ---- small helpers ------------------------------------------------------- */

static void test_is_hop_field(void)
{
    static const char *const hop[] = {"Connection", "connection", "Keep-Alive",
                                      "TE",         "te",         "Trailer",
                                      "Upgrade",    "UPGRADE",    "Proxy-Connection"};
    static const char *const not_hop[] = {"Host",
                                          "Trailers",
                                          "Tex",
                                          "T",
                                          "Content-Length",
                                          "Transfer-Encoding",
                                          "Keep-Alives",
                                          "Proxy-Authorization",
                                          ""};
    for (size_t i = 0; i < sizeof hop / sizeof *hop; i++)
        CHECKF(foyer_http_is_hop_field(slice(hop[i], strlen(hop[i]))), "%s is hop-by-hop",
               hop[i]);
    for (size_t i = 0; i < sizeof not_hop / sizeof *not_hop; i++)
        CHECKF(!foyer_http_is_hop_field(slice(not_hop[i], strlen(not_hop[i]))),
               "%s is not hop-by-hop", not_hop[i]);
}

static void test_reason(void)
{
    CHECK_STR(foyer_http_reason(200), "OK");
    CHECK_STR(foyer_http_reason(400), "Bad Request");
    CHECK_STR(foyer_http_reason(404), "Not Found");
    CHECK_STR(foyer_http_reason(414), "URI Too Long");
    CHECK_STR(foyer_http_reason(417), "Expectation Failed");
    CHECK_STR(foyer_http_reason(431), "Request Header Fields Too Large");
    CHECK_STR(foyer_http_reason(502), "Bad Gateway");
    CHECK_STR(foyer_http_reason(505), "HTTP Version Not Supported");
    /* unlisted codes still get a phrase of their class */
    CHECK(foyer_http_reason(299) != NULL && *foyer_http_reason(299));
    CHECK(foyer_http_reason(499) != NULL && *foyer_http_reason(499));
    CHECK(foyer_http_reason(599) != NULL && *foyer_http_reason(599));
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_request_framing_refused),
    UNIT_TEST(test_request_framing_accepted),
    UNIT_TEST(test_host_refused),
    UNIT_TEST(test_host_accepted),
    UNIT_TEST(test_target_and_method_refused),
    UNIT_TEST(test_target_and_method_accepted),
    UNIT_TEST(test_simple_get),
    UNIT_TEST(test_path_and_query),
    UNIT_TEST(test_content_length),
    UNIT_TEST(test_equal_content_lengths_analysis),
    UNIT_TEST(test_chunked),
    UNIT_TEST(test_keep_alive),
    UNIT_TEST(test_head_method),
    UNIT_TEST(test_expect_continue),
    UNIT_TEST(test_expect_ignored_in_http10),
    UNIT_TEST(test_host_parts),
    UNIT_TEST(test_absolute_form),
    UNIT_TEST(test_asterisk_form),
    UNIT_TEST(test_hop_by_hop),
    UNIT_TEST(test_connection_cannot_drop_framing),
    UNIT_TEST(test_upgrade),
    UNIT_TEST(test_upgrade_field_without_connection),
    UNIT_TEST(test_response_framing),
    UNIT_TEST(test_response_101),
    UNIT_TEST(test_response_length_kept_without_body),
    UNIT_TEST(test_response_refused),
    UNIT_TEST(test_response_cl_and_te),
    UNIT_TEST(test_response_hop_by_hop),
    UNIT_TEST(test_is_hop_field),
    UNIT_TEST(test_reason),
};
UNIT_MAIN("http_message", tests)
