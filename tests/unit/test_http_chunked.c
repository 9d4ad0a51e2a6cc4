/* core/http_chunked.c: the strict chunked decoder. Every case is decoded all
 * at once, one byte at a time and split in two at every offset; the verdict
 * and the payload must not depend on how the bytes arrived. */
#include "unit.h"

#include <stdio.h>

#define DONE 1

struct decoded {
    int status;       /* 0: needs more input, DONE, or 400 */
    size_t consumed;  /* input bytes used */
    char data[65536]; /* payload collected */
    size_t data_len;
};

/* Offers the input in pieces: bytes [0, cut) first, then the rest, step bytes
 * more at a time (step 0: everything at once). */
static void decode(const char *in, size_t len, size_t cut, size_t step,
                   struct decoded *out)
{
    struct foyer_chunked c;
    size_t pos = 0, avail = cut;
    foyer_chunked_init(&c);
    memset(out, 0, sizeof *out);
    for (;;) {
        while (pos < avail) {
            size_t used;
            const char *data;
            size_t data_len;
            int r =
                foyer_chunked_decode(&c, in + pos, avail - pos, &used, &data, &data_len);
            REQUIRE(used <= avail - pos);
            REQUIRE(out->data_len + data_len <= sizeof out->data);
            REQUIRE(data_len == 0 ||
                    (data >= in + pos && data + data_len <= in + pos + used));
            if (data_len > 0) memcpy(out->data + out->data_len, data, data_len);
            out->data_len += data_len;
            pos += used;
            if (r != 0) {
                out->status = r;
                out->consumed = pos;
                return;
            }
            REQUIRE(used > 0); /* progress on every call with input */
        }
        if (avail == len) break;
        avail = step == 0 || avail + step > len ? len : avail + step;
    }
    out->consumed = pos;
}

struct chunk_case {
    const char *name;
    const char *text;
    size_t len;
    int want;
    const char *payload; /* when want is DONE */
    size_t consumed;     /* when want is DONE; 0 means all of text */
};

static void check_result(const struct chunk_case *c, const struct decoded *d,
                         const char *how)
{
    char esc[512];
    if (!CHECKF(d->status == c->want, "%s (%s): \"%s\" decodes to %d (got %d)", c->name,
                how, unit_escape(c->text, c->len, esc, sizeof esc), c->want, d->status))
        return;
    if (c->want != DONE) return;
    size_t want_used = c->consumed ? c->consumed : c->len;
    CHECKF(d->consumed == want_used, "%s (%s): consumes %zu (got %zu)", c->name, how,
           want_used, d->consumed);
    CHECKF(d->data_len == strlen(c->payload) &&
               memcmp(d->data, c->payload, d->data_len) == 0,
           "%s (%s): payload \"%s\" (got \"%s\")", c->name, how, c->payload,
           unit_escape(d->data, d->data_len, esc, sizeof esc));
}

static void check_case(const struct chunk_case *c)
{
    static struct decoded d; /* large: not on the stack */
    char how[64];
    decode(c->text, c->len, c->len, 0, &d);
    check_result(c, &d, "at once");
    decode(c->text, c->len, 0, 1, &d);
    check_result(c, &d, "byte by byte");
    for (size_t cut = 1; cut < c->len; cut++) {
        decode(c->text, c->len, cut, 0, &d);
        snprintf(how, sizeof how, "split at %zu", cut);
        if (d.status != c->want) {
            check_result(c, &d, how);
            break;
        }
    }
}

#define CHECK_CASES(cases)                                                               \
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)                            \
    check_case(&cases[i])

static void test_valid(void)
{
    static const struct chunk_case cases[] = {
        {"one chunk", RAW("5\r\nhello\r\n0\r\n\r\n"), DONE, "hello", 0},
        {"two chunks", RAW("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), DONE, "hello world",
         0},
        {"no data", RAW("0\r\n\r\n"), DONE, "", 0},
        {"upper-case hex", RAW("A\r\n0123456789\r\n0\r\n\r\n"), DONE, "0123456789", 0},
        {"lower-case hex", RAW("a\r\n0123456789\r\n0\r\n\r\n"), DONE, "0123456789", 0},
        {"two-digit size", RAW("1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n"), DONE,
         "abcdefghijklmnopqrstuvwxyz", 0},
        {"leading zeros", RAW("0005\r\nhello\r\n0\r\n\r\n"), DONE, "hello", 0},
        {"payload with CRLF inside", RAW("4\r\n\r\n\r\n\r\n0\r\n\r\n"), DONE, "\r\n\r\n",
         0},
        {"extension", RAW("5;name=value\r\nhello\r\n0\r\n\r\n"), DONE, "hello", 0},
        {"several extensions", RAW("5;a;b=1;c=\"q s\"\r\nhello\r\n0\r\n\r\n"), DONE,
         "hello", 0},
        {"whitespace before extension", RAW("5 \t;ext\r\nhello\r\n0\r\n\r\n"), DONE,
         "hello", 0},
        {"extension on last chunk", RAW("5\r\nhello\r\n0;end\r\n\r\n"), DONE, "hello", 0},
        {"one trailer", RAW("5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n"), DONE, "hello", 0},
        {"two trailers", RAW("5\r\nhello\r\n0\r\nA: 1\r\nB: 2\r\n\r\n"), DONE, "hello",
         0},
        {"bytes after the end stay", RAW("2\r\nhi\r\n0\r\n\r\nGET / HTTP/1.1\r\n"), DONE,
         "hi", 12},
        {"15 hex digits", RAW("000000000000005\r\nhello\r\n0\r\n\r\n"), DONE, "hello", 0},
    };
    CHECK_CASES(cases);
}

static void test_incomplete(void)
{
    static const struct chunk_case cases[] = {
        {"size only", RAW("5"), 0, NULL, 0},
        {"size line", RAW("5\r\n"), 0, NULL, 0},
        {"part of the data", RAW("5\r\nhel"), 0, NULL, 0},
        {"data without CRLF", RAW("5\r\nhello"), 0, NULL, 0},
        {"last chunk without final CRLF", RAW("5\r\nhello\r\n0\r\n"), 0, NULL, 0},
        {"inside a trailer", RAW("0\r\nX: 1\r\n"), 0, NULL, 0},
        {"huge chunk announced", RAW("fffffffffffffff\r\nabc"), 0, NULL, 0},
    };
    CHECK_CASES(cases);
}

static void test_bad_size_lines(void)
{
    static const struct chunk_case cases[] = {
        {"0x prefix", RAW("0x5\r\nhello\r\n0\r\n\r\n"), 400, NULL, 0},
        {"underscore", RAW("5_0\r\nhello\r\n0\r\n\r\n"), 400, NULL, 0},
        {"empty size line", RAW("\r\nhello\r\n0\r\n\r\n"), 400, NULL, 0},
        {"plus sign", RAW("+5\r\nhello\r\n0\r\n\r\n"), 400, NULL, 0},
        {"minus sign", RAW("-5\r\nhello\r\n0\r\n\r\n"), 400, NULL, 0},
        {"leading space", RAW(" 5\r\nhello\r\n0\r\n\r\n"), 400, NULL, 0},
        {"trailing space without extension", RAW("5 \r\nhello\r\n0\r\n\r\n"), 400, NULL,
         0},
        {"extension without size", RAW(";x\r\nhello\r\n0\r\n\r\n"), 400, NULL, 0},
        {"non-hex letter", RAW("5g\r\nhello\r\n0\r\n\r\n"), 400, NULL, 0},
        {"CR not followed by LF", RAW("5\rXhello\r\n0\r\n\r\n"), 400, NULL, 0},
        {"bare LF after size", RAW("5\nhello\r\n0\r\n\r\n"), 400, NULL, 0},
        {"bare LF after extension", RAW("5;x\nhello\r\n0\r\n\r\n"), 400, NULL, 0},
        {"control char in extension", RAW("5;a\x01\r\nhello\r\n0\r\n\r\n"), 400, NULL, 0},
        {"NUL in extension", RAW("5;a\0b\r\nhello\r\n0\r\n\r\n"), 400, NULL, 0},
        {"DEL in extension", RAW("5;a\x7f\r\nhello\r\n0\r\n\r\n"), 400, NULL, 0},
        {"16 hex digits", RAW("0000000000000005\r\nhello\r\n0\r\n\r\n"), 400, NULL, 0},
        {"17 hex digits", RAW("10000000000000000\r\nhello\r\n0\r\n\r\n"), 400, NULL, 0},
        {"64-bit overflow", RAW("ffffffffffffffffff\r\n"), 400, NULL, 0},
    };
    CHECK_CASES(cases);
}

static void test_bad_data_ends(void)
{
    static const struct chunk_case cases[] = {
        {"data followed by a byte", RAW("5\r\nhelloX\r\n0\r\n\r\n"), 400, NULL, 0},
        {"data followed by LF", RAW("5\r\nhello\n0\r\n\r\n"), 400, NULL, 0},
        {"data followed by CR X", RAW("5\r\nhello\rX0\r\n\r\n"), 400, NULL, 0},
        {"short data", RAW("5\r\nhell\r\n0\r\n\r\n"), 400, NULL, 0},
        {"long data", RAW("3\r\nhello\r\n0\r\n\r\n"), 400, NULL, 0},
    };
    CHECK_CASES(cases);
}

static void test_bad_trailers(void)
{
    static const struct chunk_case cases[] = {
        {"bare LF ending a trailer", RAW("0\r\nX: 1\n\r\n"), 400, NULL, 0},
        {"bare LF as the last line", RAW("0\r\n\n"), 400, NULL, 0},
        {"CR X at the end", RAW("0\r\n\rX"), 400, NULL, 0},
        {"control char in a trailer", RAW("0\r\nX: \x01\r\n\r\n"), 400, NULL, 0},
        {"CR X in a trailer", RAW("0\r\nX: 1\rY\r\n\r\n"), 400, NULL, 0},
    };
    CHECK_CASES(cases);
}

/* Builds "prefix" + n copies of fill + "suffix" in buf. */
static size_t build(char *buf, size_t cap, const char *prefix, char fill, size_t n,
                    const char *suffix)
{
    size_t len = strlen(prefix);
    REQUIRE(len + n + strlen(suffix) < cap);
    memcpy(buf, prefix, len);
    memset(buf + len, fill, n);
    strcpy(buf + len + n, suffix);
    return len + n + strlen(suffix);
}

static void test_long_extension_refused(void)
{
    static char buf[16384];
    size_t len = build(buf, sizeof buf, "5;", 'x', 10000, "\r\nhello\r\n0\r\n\r\n");
    struct chunk_case c = {"10000-byte extension", buf, len, 400, NULL, 0};
    static struct decoded d;
    decode(buf, len, len, 0, &d);
    check_result(&c, &d, "at once");
    decode(buf, len, 0, 1, &d);
    check_result(&c, &d, "byte by byte");
}

static void test_many_trailers_refused(void)
{
    static char buf[65536];
    size_t len = strlen(strcpy(buf, "0\r\n"));
    while (len + 100 < sizeof buf)
        len += (size_t)sprintf(buf + len, "X-Trailer: %080d\r\n", 0);
    len += (size_t)sprintf(buf + len, "\r\n");
    struct chunk_case c = {"60 KiB of trailers", buf, len, 400, NULL, 0};
    static struct decoded d;
    decode(buf, len, len, 0, &d);
    check_result(&c, &d, "at once");
}

static void test_large_chunk_streams(void)
{
    /* a 40000-byte chunk fed in 1000-byte pieces comes out as slices */
    static char buf[41000];
    size_t len = build(buf, sizeof buf, "9c40\r\n", 'p', 40000, "\r\n0\r\n\r\n");
    static struct decoded d;
    decode(buf, len, 0, 1000, &d);
    CHECK_INT(d.status, DONE);
    CHECK_INT(d.data_len, 40000);
    CHECK_INT(d.consumed, len);
}

static void test_done_is_sticky(void)
{
    struct foyer_chunked c;
    size_t used;
    const char *data;
    size_t data_len;
    foyer_chunked_init(&c);
    CHECK_INT(foyer_chunked_decode(&c, "0\r\n\r\n", 5, &used, &data, &data_len), DONE);
    CHECK_INT(used, 5);
    CHECK_INT(foyer_chunked_decode(&c, "5\r\nhello", 8, &used, &data, &data_len), DONE);
    CHECK_INT(used, 0);
    CHECK_INT(data_len, 0);
}

static void test_one_slice_per_call(void)
{
    /* a call stops at the end of a payload slice: the framing after it is
     * left for the next call */
    static const char in[] = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    struct foyer_chunked c;
    size_t used;
    const char *data;
    size_t data_len;
    foyer_chunked_init(&c);
    CHECK_INT(foyer_chunked_decode(&c, in, sizeof in - 1, &used, &data, &data_len), 0);
    CHECK_INT(used, 6);
    CHECK(data == in + 3);
    CHECK_INT(data_len, 3);
    CHECK_INT(foyer_chunked_decode(&c, in + 6, sizeof in - 7, &used, &data, &data_len),
              0);
    CHECK_INT(used, 7);
    CHECK(data == in + 11);
    CHECK_INT(data_len, 2);
    CHECK_INT(foyer_chunked_decode(&c, in + 13, sizeof in - 14, &used, &data, &data_len),
              DONE);
    CHECK_INT(used, 7);
    CHECK_INT(data_len, 0);
}

static void test_empty_input(void)
{
    struct foyer_chunked c;
    size_t used = 99;
    const char *data;
    size_t data_len;
    foyer_chunked_init(&c);
    CHECK_INT(foyer_chunked_decode(&c, "", 0, &used, &data, &data_len), 0);
    CHECK_INT(used, 0);
    CHECK_INT(data_len, 0);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_valid),
    UNIT_TEST(test_incomplete),
    UNIT_TEST(test_bad_size_lines),
    UNIT_TEST(test_bad_data_ends),
    UNIT_TEST(test_bad_trailers),
    UNIT_TEST(test_long_extension_refused),
    UNIT_TEST(test_many_trailers_refused),
    UNIT_TEST(test_large_chunk_streams),
    UNIT_TEST(test_done_is_sticky),
    UNIT_TEST(test_one_slice_per_call),
    UNIT_TEST(test_empty_input),
};
UNIT_MAIN("http_chunked", tests)
