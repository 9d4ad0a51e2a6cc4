/* core/http_head.c: the strict lexical scan every head passes before anything
 * else reads it. Each case is scanned all at once, one byte at a time and in
 * two pieces split at every offset: an incremental scan must reach the same
 * verdict as a whole one, or a client could pick the reading it likes by how
 * it spreads its bytes over packets. */
#include "unit.h"

struct scan_case {
    const char *name;
    const char *text;
    size_t len;
    int want;
    size_t head_len; /* when want is 0; 0 means the whole text */
};

static int scan_once(int is_request, const char *text, size_t len,
                     const struct foyer_head_limits *lim, size_t *head_len)
{
    struct foyer_head_scan s;
    foyer_head_scan_init(&s, is_request);
    return foyer_head_scan(&s, text, len, lim, head_len);
}

/* Scans the first `split` bytes, then (if that needed more) the whole text. */
static int scan_split(int is_request, const char *text, size_t len, size_t split,
                      const struct foyer_head_limits *lim, size_t *head_len)
{
    struct foyer_head_scan s;
    foyer_head_scan_init(&s, is_request);
    int r = foyer_head_scan(&s, text, split, lim, head_len);
    if (r != FOYER_HTTP_AGAIN || split == len) return r;
    return foyer_head_scan(&s, text, len, lim, head_len);
}

/* Offers the text one more byte at a time until the scan decides. */
static int scan_bytewise(int is_request, const char *text, size_t len,
                         const struct foyer_head_limits *lim, size_t *head_len)
{
    struct foyer_head_scan s;
    int r = FOYER_HTTP_AGAIN;
    foyer_head_scan_init(&s, is_request);
    for (size_t n = 1; n <= len && r == FOYER_HTTP_AGAIN; n++)
        r = foyer_head_scan(&s, text, n, lim, head_len);
    return r;
}

static void check_case(int is_request, const struct scan_case *c,
                       const struct foyer_head_limits *lim)
{
    char esc[512];
    size_t want_len = c->head_len ? c->head_len : c->len;
    size_t got_len = 0;
    unit_escape(c->text, c->len, esc, sizeof esc);
    int r = scan_once(is_request, c->text, c->len, lim, &got_len);
    CHECKF(r == c->want, "%s: \"%s\" scans to %d (got %d)", c->name, esc, c->want, r);
    CHECKF(r != 0 || got_len == want_len, "%s: head length %zu (got %zu)", c->name,
           want_len, got_len);
    r = scan_bytewise(is_request, c->text, c->len, lim, &got_len);
    CHECKF(r == c->want, "%s: byte by byte \"%s\" scans to %d (got %d)", c->name, esc,
           c->want, r);
    CHECKF(r != 0 || got_len == want_len, "%s: byte by byte head length %zu (got %zu)",
           c->name, want_len, got_len);
    for (size_t split = 0; split <= c->len; split++) {
        r = scan_split(is_request, c->text, c->len, split, lim, &got_len);
        if (!CHECKF(r == c->want && (r != 0 || got_len == want_len),
                    "%s: split at %zu scans to %d (got %d)", c->name, split, c->want, r))
            break;
    }
}

static void check_cases(int is_request, const struct scan_case *cases, size_t n,
                        const struct foyer_head_limits *lim)
{
    for (size_t i = 0; i < n; i++)
        check_case(is_request, &cases[i], lim);
}
#define CHECK_CASES(is_request, cases, lim)                                              \
    check_cases(is_request, cases, sizeof cases / sizeof *cases, lim)

/* ---- requests ------------------------------------------------------------ */

static void test_valid_requests(void)
{
    static const struct scan_case cases[] = {
        {"simple GET", RAW("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0, 0},
        {"HTTP/1.0 without fields", RAW("GET / HTTP/1.0\r\n\r\n"), 0, 0},
        {"several fields",
         RAW("POST /x?y=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
             "Accept: */*\r\n\r\n"),
         0, 0},
        {"empty value", RAW("GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n"), 0, 0},
        {"tabs and spaces in value", RAW("GET / HTTP/1.1\r\nX:\t a \t b\t\r\n\r\n"), 0,
         0},
        {"obs-text in value", RAW("GET / HTTP/1.1\r\nX: caf\xc3\xa9 \x80\xff\r\n\r\n"), 0,
         0},
        {"colon in value", RAW("GET / HTTP/1.1\r\nX: a:b::\r\n\r\n"), 0, 0},
        {"every tchar in a name",
         RAW("GET / HTTP/1.1\r\n!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n"), 0, 0},
        {"HTTP/1.2 is a 1.x", RAW("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 0, 0},
        {"absolute-form target", RAW("GET http://a.example/b?c HTTP/1.1\r\n\r\n"), 0, 0},
        {"asterisk-form target", RAW("OPTIONS * HTTP/1.1\r\n\r\n"), 0, 0},
        {"unregistered method token", RAW("BREW /pot HTTP/1.1\r\n\r\n"), 0, 0},
        {"lower-case method token", RAW("get / HTTP/1.1\r\n\r\n"), 0, 0},
        {"one leading CRLF", RAW("\r\nGET / HTTP/1.1\r\n\r\n"), 0, 0},
        {"two leading CRLFs", RAW("\r\n\r\nGET / HTTP/1.1\r\n\r\n"), 0, 0},
        {"pipelined bytes after the head",
         RAW("GET / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n"), 0, 18},
        {"body bytes after the head",
         RAW("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"), 0, 38},
    };
    CHECK_CASES(1, cases, &unit_limits);
}

static void test_incomplete_requests(void)
{
    static const struct scan_case cases[] = {
        {"empty", RAW(""), FOYER_HTTP_AGAIN, 0},
        {"half a request line", RAW("GET /ind"), FOYER_HTTP_AGAIN, 0},
        {"request line without LF", RAW("GET / HTTP/1.1\r"), FOYER_HTTP_AGAIN, 0},
        {"no final empty line", RAW("GET / HTTP/1.1\r\nHost: a\r\n"), FOYER_HTTP_AGAIN,
         0},
        {"final CR only", RAW("GET / HTTP/1.1\r\nHost: a\r\n\r"), FOYER_HTTP_AGAIN, 0},
        {"leading CR", RAW("\r"), FOYER_HTTP_AGAIN, 0},
        {"leading CRLF only", RAW("\r\n"), FOYER_HTTP_AGAIN, 0},
    };
    CHECK_CASES(1, cases, &unit_limits);
}

static void test_bare_lf_and_cr(void)
{
    static const struct scan_case cases[] = {
        {"bare LF after request line", RAW("GET / HTTP/1.1\nHost: a\r\n\r\n"), 400, 0},
        {"bare LF after a field", RAW("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"), 400, 0},
        {"bare LF as the empty line", RAW("GET / HTTP/1.1\r\nHost: a\r\n\n"), 400, 0},
        {"LF LF", RAW("GET / HTTP/1.1\n\n"), 400, 0},
        {"leading bare LF", RAW("\nGET / HTTP/1.1\r\n\r\n"), 400, 0},
        {"bare CR in a value", RAW("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"), 400, 0},
        {"bare CR as a line end", RAW("GET / HTTP/1.1\r\nX: a\rY: b\r\n\r\n"), 400, 0},
        {"bare CR in request line", RAW("GET /\r HTTP/1.1\r\n\r\n"), 400, 0},
        {"CR CR LF", RAW("GET / HTTP/1.1\r\r\n\r\n"), 400, 0},
        {"CR as the empty line", RAW("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n"), 400, 0},
        {"leading CR without LF", RAW("\rGET / HTTP/1.1\r\n\r\n"), 400, 0},
    };
    CHECK_CASES(1, cases, &unit_limits);
}

static void test_bad_field_lines(void)
{
    static const struct scan_case cases[] = {
        {"obs-fold with SP", RAW("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"), 400, 0},
        {"obs-fold with HTAB", RAW("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n"), 400, 0},
        {"whitespace-only line", RAW("GET / HTTP/1.1\r\nHost: a\r\n \r\n\r\n"), 400, 0},
        {"space before colon", RAW("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400, 0},
        {"tab before colon", RAW("GET / HTTP/1.1\r\nContent-Length\t: 5\r\n\r\n"), 400,
         0},
        {"space before name", RAW("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), 400, 0},
        {"empty name", RAW("GET / HTTP/1.1\r\n: a\r\n\r\n"), 400, 0},
        {"no colon", RAW("GET / HTTP/1.1\r\nHost a\r\n\r\n"), 400, 0},
        {"space in name", RAW("GET / HTTP/1.1\r\nX Y: a\r\n\r\n"), 400, 0},
        {"separator in name", RAW("GET / HTTP/1.1\r\nX(y): a\r\n\r\n"), 400, 0},
        {"non-ASCII name", RAW("GET / HTTP/1.1\r\nX\xc3\xa9: a\r\n\r\n"), 400, 0},
        {"control char in name", RAW("GET / HTTP/1.1\r\nX\x01: a\r\n\r\n"), 400, 0},
        {"NUL in name", RAW("GET / HTTP/1.1\r\nX\0Y: a\r\n\r\n"), 400, 0},
        {"NUL in value", RAW("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n"), 400, 0},
        {"SOH in value", RAW("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n"), 400, 0},
        {"ESC in value", RAW("GET / HTTP/1.1\r\nX: \x1b[31m\r\n\r\n"), 400, 0},
        {"VT in value", RAW("GET / HTTP/1.1\r\nX: a\x0b b\r\n\r\n"), 400, 0},
        {"FF in value", RAW("GET / HTTP/1.1\r\nX: a\x0c b\r\n\r\n"), 400, 0},
        {"DEL in value", RAW("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n"), 400, 0},
    };
    CHECK_CASES(1, cases, &unit_limits);
}

static void test_bad_request_lines(void)
{
    static const struct scan_case cases[] = {
        {"double space after method", RAW("GET  / HTTP/1.1\r\n\r\n"), 400, 0},
        {"double space before version", RAW("GET /  HTTP/1.1\r\n\r\n"), 400, 0},
        {"tab after method", RAW("GET\t/ HTTP/1.1\r\n\r\n"), 400, 0},
        {"tab before version", RAW("GET /\tHTTP/1.1\r\n\r\n"), 400, 0},
        {"trailing space", RAW("GET / HTTP/1.1 \r\n\r\n"), 400, 0},
        {"leading space", RAW(" GET / HTTP/1.1\r\n\r\n"), 400, 0},
        {"missing target", RAW("GET HTTP/1.1\r\n\r\n"), 400, 0},
        {"missing version", RAW("GET /\r\n\r\n"), 400, 0},
        {"method only", RAW("GET\r\n\r\n"), 400, 0},
        {"empty line after two leading CRLFs", RAW("\r\n\r\n \r\n\r\n"), 400, 0},
        {"lower-case protocol", RAW("GET / http/1.1\r\n\r\n"), 400, 0},
        {"version without minor", RAW("GET / HTTP/1\r\n\r\n"), 400, 0},
        {"two-digit minor", RAW("GET / HTTP/1.10\r\n\r\n"), 400, 0},
        {"letter minor", RAW("GET / HTTP/1.x\r\n\r\n"), 400, 0},
        {"extra token", RAW("GET / HTTP/1.1 x\r\n\r\n"), 400, 0},
        {"space in target", RAW("GET /a b HTTP/1.1\r\n\r\n"), 400, 0},
        {"control char in target", RAW("GET /a\x01 HTTP/1.1\r\n\r\n"), 400, 0},
        {"DEL in target", RAW("GET /a\x7f HTTP/1.1\r\n\r\n"), 400, 0},
        {"NUL in target", RAW("GET /a\0 HTTP/1.1\r\n\r\n"), 400, 0},
        {"separator in method", RAW("GE(T / HTTP/1.1\r\n\r\n"), 400, 0},
        {"NUL in method", RAW("GE\0T / HTTP/1.1\r\n\r\n"), 400, 0},
        {"HTTP/2.0", RAW("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505, 0},
        {"HTTP/3.0", RAW("GET / HTTP/3.0\r\n\r\n"), 505, 0},
        {"HTTP/0.9", RAW("GET / HTTP/0.9\r\n\r\n"), 505, 0},
        {"HTTP/2.0 decided at the request line", RAW("GET / HTTP/2.0\r\nbad line\r\n"),
         505, 0},
    };
    CHECK_CASES(1, cases, &unit_limits);
}

/* ---- limits -------------------------------------------------------------- */

static void test_header_count_limit(void)
{
    static const struct foyer_head_limits lim = {8192, 3};
    static const struct scan_case cases[] = {
        {"at the limit", RAW("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), 0, 0},
        {"over the limit", RAW("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"),
         431, 0},
        {"over the limit, incomplete",
         RAW("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n"), 431, 0},
    };
    CHECK_CASES(1, cases, &lim);
}

static void test_byte_limit(void)
{
    /* "GET / HTTP/1.1\r\nHost: a\r\n\r\n" is 27 bytes */
    static const char head[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    struct foyer_head_limits lim = {sizeof head - 1, 100};
    struct scan_case c = {"head of exactly the limit", RAW(head), 0, 0};
    check_case(1, &c, &lim);
    lim.max_bytes = sizeof head - 2;
    c = (struct scan_case){"head one byte over the limit", RAW(head), 431, 0};
    check_case(1, &c, &lim);
}

static void test_byte_limit_fields(void)
{
    static const struct foyer_head_limits lim = {64, 100};
    static const struct scan_case cases[] = {
        {"long field",
         RAW("GET / HTTP/1.1\r\nX: 0123456789012345678901234567890123456789"
             "0123456789\r\n\r\n"),
         431, 0},
        {"long field, incomplete",
         RAW("GET / HTTP/1.1\r\nX: 012345678901234567890123456789"
             "01234567890123456789"),
         431, 0},
        {"many short fields",
         RAW("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n"
             "F: 6\r\nG: 7\r\nH: 8\r\n\r\n"),
         431, 0},
        {"leading CRLFs are not counted",
         RAW("\r\n\r\nGET / HTTP/1.1\r\nX: 0123456789012345"
             "67890123456789\r\n\r\n"),
         0, 0},
    };
    CHECK_CASES(1, cases, &lim);
}

static void test_request_line_limit_is_414(void)
{
    static const struct foyer_head_limits lim = {32, 100};
    static const struct scan_case cases[] = {
        {"long target",
         RAW("GET /0123456789012345678901234567890123456789 HTTP/1.1\r\n\r\n"), 414, 0},
        {"long target, incomplete", RAW("GET /01234567890123456789012345678901234567"),
         414, 0},
        {"long method", RAW("GETGETGETGETGETGETGETGETGETGETGETGET / HTTP/1.1\r\n\r\n"),
         414, 0},
    };
    CHECK_CASES(1, cases, &lim);
}

/* ---- state ---------------------------------------------------------------- */

static void test_leading_crlf_sets_first(void)
{
    static const char text[] = "\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    struct foyer_head_scan s;
    size_t head_len = 0;
    foyer_head_scan_init(&s, 1);
    CHECK_INT(foyer_head_scan(&s, text, sizeof text - 1, &unit_limits, &head_len), 0);
    CHECK_INT(s.first, 4);
    CHECK_INT(head_len, sizeof text - 1);
    CHECK_INT(s.lines, 0);
}

static void test_lines_counts_fields(void)
{
    static const char text[] = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nA: 3\r\n\r\n";
    struct foyer_head_scan s;
    size_t head_len = 0;
    foyer_head_scan_init(&s, 1);
    CHECK_INT(foyer_head_scan(&s, text, sizeof text - 1, &unit_limits, &head_len), 0);
    CHECK_INT(s.lines, 3);
}

static void test_resume_after_again(void)
{
    static const char text[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    struct foyer_head_scan s;
    size_t head_len = 0;
    foyer_head_scan_init(&s, 1);
    CHECK_INT(foyer_head_scan(&s, text, 20, &unit_limits, &head_len), FOYER_HTTP_AGAIN);
    CHECK_INT(s.pos, 16); /* the request line is done with */
    CHECK_INT(foyer_head_scan(&s, text, 20, &unit_limits, &head_len), FOYER_HTTP_AGAIN);
    CHECK_INT(foyer_head_scan(&s, text, sizeof text - 1, &unit_limits, &head_len), 0);
    CHECK_INT(head_len, sizeof text - 1);
}

/* ---- responses ---------------------------------------------------------- */

static void test_valid_responses(void)
{
    static const struct scan_case cases[] = {
        {"200 with a length", RAW("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), 0, 0},
        {"no reason", RAW("HTTP/1.1 204\r\n\r\n"), 0, 0},
        {"empty reason", RAW("HTTP/1.1 200 \r\n\r\n"), 0, 0},
        {"1.0 with a long reason", RAW("HTTP/1.0 404 Not Found Here\r\n\r\n"), 0, 0},
        {"reason with tab and obs-text", RAW("HTTP/1.1 200 O\tK \xff\r\n\r\n"), 0, 0},
        {"101", RAW("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"), 0,
         0},
        {"body after the head", RAW("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"), 0,
         38},
    };
    CHECK_CASES(0, cases, &unit_limits);
}

static void test_bad_responses(void)
{
    static const struct scan_case cases[] = {
        {"two-digit status", RAW("HTTP/1.1 20 OK\r\n\r\n"), 502, 0},
        {"four-digit status", RAW("HTTP/1.1 2000 OK\r\n\r\n"), 502, 0},
        {"letter in status", RAW("HTTP/1.1 2x0 OK\r\n\r\n"), 502, 0},
        {"no space after status", RAW("HTTP/1.1 200OK\r\n\r\n"), 502, 0},
        {"double space before status", RAW("HTTP/1.1  200 OK\r\n\r\n"), 502, 0},
        {"HTTP/2.0", RAW("HTTP/2.0 200 OK\r\n\r\n"), 502, 0},
        {"lower-case protocol", RAW("http/1.1 200 OK\r\n\r\n"), 502, 0},
        {"not HTTP", RAW("ICY 200 OK\r\n\r\n"), 502, 0},
        {"control char in reason", RAW("HTTP/1.1 200 O\x01K\r\n\r\n"), 502, 0},
        {"leading CRLF", RAW("\r\nHTTP/1.1 200 OK\r\n\r\n"), 502, 0},
        {"bare LF", RAW("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"), 502, 0},
        {"bare CR", RAW("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n"), 502, 0},
        {"obs-fold", RAW("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"), 502, 0},
        {"space before colon", RAW("HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n"), 502,
         0},
        {"control char in value", RAW("HTTP/1.1 200 OK\r\nX: \x01\r\n\r\n"), 502, 0},
    };
    CHECK_CASES(0, cases, &unit_limits);
}

static void test_response_limits(void)
{
    static const struct foyer_head_limits lim = {40, 2};
    static const struct scan_case cases[] = {
        {"too many fields", RAW("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), 502,
         0},
        {"too many bytes",
         RAW("HTTP/1.1 200 OK\r\nX: 01234567890123456789012345\r\n\r\n"), 502, 0},
        {"long status line",
         RAW("HTTP/1.1 200 0123456789012345678901234567890123456789\r\n"), 502, 0},
    };
    CHECK_CASES(0, cases, &lim);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_valid_requests),
    UNIT_TEST(test_incomplete_requests),
    UNIT_TEST(test_bare_lf_and_cr),
    UNIT_TEST(test_bad_field_lines),
    UNIT_TEST(test_bad_request_lines),
    UNIT_TEST(test_header_count_limit),
    UNIT_TEST(test_byte_limit),
    UNIT_TEST(test_byte_limit_fields),
    UNIT_TEST(test_request_line_limit_is_414),
    UNIT_TEST(test_leading_crlf_sets_first),
    UNIT_TEST(test_lines_counts_fields),
    UNIT_TEST(test_resume_after_again),
    UNIT_TEST(test_valid_responses),
    UNIT_TEST(test_bad_responses),
    UNIT_TEST(test_response_limits),
};
UNIT_MAIN("http_head", tests)
