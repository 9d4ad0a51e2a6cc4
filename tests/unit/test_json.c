/* lua/json.c: the strict JSON reader behind router.load. Good documents
 * parse to the values they hold; bad ones fail with "LINE:COLUMN: message"
 * pointing at the offending character. */
#include "json.h"
#include "pool.h"
#include "unit.h"

#include <stdio.h>

struct parsed {
    struct foyer_pool *pool;
    struct json_parser jp;
    struct json_value v;
    int rc;
};

static void parse(struct parsed *p, const char *text, size_t len)
{
    p->pool = foyer_pool_create(4096);
    REQUIRE(p->pool != NULL);
    json_parser_init(&p->jp, text, len, p->pool);
    p->rc = json_parse_document(&p->jp, &p->v);
}

static void release(struct parsed *p)
{
    json_parser_free(&p->jp);
    foyer_pool_destroy(p->pool);
}

/* ---- good documents --------------------------------------------------------------- */

static void test_scalars(void)
{
    static const struct {
        const char *text;
        enum json_type type;
        double number;
    } cases[] = {
        {"null", JSON_NULL, 0},        {"true", JSON_TRUE, 0},
        {"false", JSON_FALSE, 0},      {" 0 ", JSON_NUMBER, 0},
        {"-0", JSON_NUMBER, 0},        {"42", JSON_NUMBER, 42},
        {"-1.5e2", JSON_NUMBER, -150}, {"2E-1", JSON_NUMBER, 0.2},
        {"1e+3", JSON_NUMBER, 1000},   {"\t\r\n7\n", JSON_NUMBER, 7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct parsed p;
        parse(&p, cases[i].text, strlen(cases[i].text));
        CHECKF(p.rc == 0, "'%s' parses (%s)", cases[i].text, p.jp.err);
        CHECKF(p.v.type == cases[i].type, "'%s' has type %d (got %d)", cases[i].text,
               cases[i].type, p.v.type);
        if (p.v.type == JSON_NUMBER)
            CHECKF(p.v.u.number == cases[i].number, "'%s' is %g (got %g)", cases[i].text,
                   cases[i].number, p.v.u.number);
        release(&p);
    }
}

static void test_strings(void)
{
    static const struct {
        const char *text, *want;
        size_t want_len;
    } cases[] = {
        {"\"plain\"", "plain", 5},
        {"\"\"", "", 0},
        {"\"a\\\"b\\\\c\\/d\"", "a\"b\\c/d", 7},
        {"\"\\b\\f\\n\\r\\t\"", "\b\f\n\r\t", 5},
        {"\"\\u0041\\u00e9\"", "A\xc3\xa9", 3},
        {"\"\\u20AC\"", "\xe2\x82\xac", 3},
        {"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4}, /* a surrogate pair */
        {"\"\\u0000x\"", "\0x", 2},
        /* past the 8-bytes-at-a-time scan: escapes and UTF-8 at every offset */
        {"\"abcdefgh\\nijklmnop\"", "abcdefgh\nijklmnop", 17},
        {"\"abcdefghijklmno\\\"\"", "abcdefghijklmno\"", 16},
        {"\"abcdefghi\xc3\xa9jklmnopqrstuvwxyz\"", "abcdefghi\xc3\xa9jklmnopqrstuvwxyz",
         28},
        {"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
         "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct parsed p;
        parse(&p, cases[i].text, strlen(cases[i].text));
        CHECKF(p.rc == 0, "%s parses (%s)", cases[i].text, p.jp.err);
        CHECKF(p.v.type == JSON_STRING && p.v.u.str.len == cases[i].want_len &&
                   memcmp(p.v.u.str.p, cases[i].want, cases[i].want_len) == 0,
               "%s decodes", cases[i].text);
        release(&p);
    }
}

static void test_containers(void)
{
    static const char text[] = "\xEF\xBB\xBF{\n"
                               "  \"routes\": [ {\"host\": \"a\"}, [], {} ],\n"
                               "  \"n\": [1, 2.5, -3],\n"
                               "  \"nested\": {\"deeper\": {\"x\": null}}\n"
                               "}\n";
    struct parsed p;
    parse(&p, text, strlen(text));
    REQUIRE(p.rc == 0);
    CHECK_INT(p.v.type, JSON_OBJECT);
    CHECK_INT(p.v.u.obj.n, 3);
    const struct json_value *routes = json_get(&p.v, "routes");
    REQUIRE(routes != NULL && routes->type == JSON_ARRAY && routes->u.arr.n == 3);
    CHECK_INT(routes->line, 2);
    const struct json_value *host = json_get(&routes->u.arr.v[0], "host");
    REQUIRE(host != NULL);
    CHECK(host->type == JSON_STRING && host->u.str.len == 1 && host->u.str.p[0] == 'a');
    CHECK_INT(routes->u.arr.v[1].type, JSON_ARRAY);
    CHECK_INT(routes->u.arr.v[2].type, JSON_OBJECT);
    const struct json_value *n = json_get(&p.v, "n");
    REQUIRE(n != NULL && n->u.arr.n == 3);
    CHECK(n->u.arr.v[1].u.number == 2.5);
    CHECK_INT(n->line, 3);
    const struct json_value *x =
        json_get(json_get(json_get(&p.v, "nested"), "deeper"), "x");
    CHECK(x != NULL && x->type == JSON_NULL);
    CHECK(json_get(&p.v, "missing") == NULL);
    release(&p);
}

/* Walking a document member by member, as router.load does. */
static void test_walk(void)
{
    static const char text[] =
        "{ \"a\": 1, \"list\": [ {\"k\": 1}, {\"k\": 2}, {\"k\": 3} ] }";
    struct foyer_pool *pool = foyer_pool_create(4096);
    struct json_parser jp;
    struct json_iter obj = {0}, arr = {0};
    const char *key;
    size_t len;
    double sum = 0;
    int members = 0;
    json_parser_init(&jp, text, strlen(text), pool);
    while (json_object_next(&jp, &obj, &key, &len) == 1) {
        members++;
        if (len == 4 && memcmp(key, "list", 4) == 0) {
            while (json_array_next(&jp, &arr) == 1) {
                struct json_value v;
                REQUIRE(json_parse_value(&jp, &v) == 0);
                sum += json_get(&v, "k")->u.number;
                foyer_pool_reset(pool);
            }
        } else {
            struct json_value v;
            REQUIRE(json_parse_value(&jp, &v) == 0);
        }
    }
    CHECK_INT(json_finish(&jp), 0);
    CHECK_INT(members, 2);
    CHECK(sum == 6);
    json_parser_free(&jp);
    foyer_pool_destroy(pool);
}

/* ---- bad documents ---------------------------------------------------------------- */

static void test_errors(void)
{
    static const struct {
        const char *text;
        const char *want; /* the start of the error */
    } cases[] = {
        {"", "1:1: unexpected end of input, expected a value"},
        {"[1,]", "1:4: unexpected ']', expected a value"},
        {"{\"a\":1,}", "1:8: unexpected '}', expected a member name"},
        {"{\"a\" 1}", "1:6: unexpected '1', expected ':'"},
        {"[1 2]", "1:4: unexpected '2', expected ',' or ']'"},
        {"{'a': 1}", "1:2: unexpected ''', expected a member name"},
        {"01", "1:1: leading zeros"},
        {"1.", "1:3: digit expected after '.'"},
        {"1e", "1:3: digit expected in exponent"},
        {"-", "1:1: unexpected '-', expected a value"},
        {".5", "1:1: unexpected '.', expected a value"},
        {"NaN", "1:1: unexpected 'N', expected a value"},
        {"tru", "1:1: unexpected 't', expected a value"},
        {"1e999", "1:1: number out of range"},
        {"\"abc", "1:1: unterminated string"},
        {"\"a\nb\"", "1:3: raw control character 0x0a"},
        {"\"\\x\"", "1:2: invalid escape sequence"},
        {"\"\\u12G4\"", "1:2: invalid escape sequence"},
        {"\"\\ud800\"", "1:2: invalid escape sequence"}, /* lone high surrogate */
        {"\"\\udc00\"", "1:2: invalid escape sequence"}, /* lone low surrogate */
        {"\"\xc3\"", "1:2: invalid UTF-8"},
        {"\"\xc0\xaf\"", "1:2: invalid UTF-8"},         /* overlong */
        {"\"\xed\xa0\x80\"", "1:2: invalid UTF-8"},     /* encoded surrogate */
        {"\"\xf4\x90\x80\x80\"", "1:2: invalid UTF-8"}, /* above U+10FFFF */
        {"{} x", "1:4: unexpected 'x', expected the end of the document"},
        {"// c\n{}", "1:1: unexpected '/'"},
        {"{\"a\": 1,\n \"b\": 2,\n \"a\": 3}", "3: duplicate member name \"a\""},
        {"{\n  \"routes\": [\n    {\"host\": }\n  ]\n}",
         "3:14: unexpected '}', expected a value"},
        {"[\n\n\n  \x01]", "4:3: unexpected byte 0x01, expected a value"},
        {"\"abcdefghijk\x01\"", "1:13: raw control character 0x01"},
        {"\"abcdefghijklmnop\xff\"", "1:18: invalid UTF-8"},
        {"\"abcdefghijklmnop", "1:1: unterminated string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct parsed p;
        char esc[64];
        parse(&p, cases[i].text, strlen(cases[i].text));
        unit_escape(cases[i].text, strlen(cases[i].text), esc, sizeof esc);
        CHECKF(p.rc != 0, "'%s' is refused", esc);
        CHECKF(strncmp(p.jp.err, cases[i].want, strlen(cases[i].want)) == 0,
               "'%s' fails with \"%s...\" (got \"%s\")", esc, cases[i].want, p.jp.err);
        release(&p);
    }
}

static void test_depth_limit(void)
{
    char text[2 * JSON_MAX_DEPTH + 8];
    struct parsed p;
    for (int depth = JSON_MAX_DEPTH; depth <= JSON_MAX_DEPTH + 1; depth++) {
        memset(text, '[', (size_t)depth);
        memset(text + depth, ']', (size_t)depth);
        parse(&p, text, 2 * (size_t)depth);
        if (depth == JSON_MAX_DEPTH)
            CHECKF(p.rc == 0, "%d levels parse (%s)", depth, p.jp.err);
        else
            CHECKF(p.rc != 0 && strstr(p.jp.err, "nesting deeper") != NULL,
                   "%d levels are refused (got \"%s\")", depth, p.jp.err);
        release(&p);
    }
}

/* Many members: the duplicate check must not be quadratic, and still work. */
static void test_large_object(void)
{
    enum { N = 20000 };
    static char text[N * 16 + 16];
    size_t n = 0;
    text[n++] = '{';
    for (int i = 0; i < N; i++)
        n += (size_t)sprintf(text + n, "%s\"k%d\":%d", i ? "," : "", i, i);
    text[n++] = '}';
    struct parsed p;
    parse(&p, text, n);
    CHECKF(p.rc == 0, "%d members parse (%s)", N, p.jp.err);
    CHECK_INT(p.v.u.obj.n, N);
    release(&p);
    memcpy(text + n - 1, ",\"k7\":1}", 9); /* a duplicate at the end */
    parse(&p, text, n + 7);
    CHECKF(p.rc != 0 && strstr(p.jp.err, "duplicate member name \"k7\"") != NULL,
           "a late duplicate is found (got \"%s\")", p.jp.err);
    release(&p);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_scalars),      UNIT_TEST(test_strings), UNIT_TEST(test_containers),
    UNIT_TEST(test_walk),         UNIT_TEST(test_errors),  UNIT_TEST(test_depth_limit),
    UNIT_TEST(test_large_object),
};

UNIT_MAIN("json", tests)
