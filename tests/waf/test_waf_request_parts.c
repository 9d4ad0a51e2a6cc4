/*
 * tests/waf/test_waf_request_parts.c — splitting requests into variables.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "request_parts.h"

/* A sink that records "KIND name=value" lines and anomaly rule numbers. */
struct rec {
    char lines[64][160];
    unsigned flags[64];
    int n;
    unsigned anomalies[16];
    int na;
};

static const char *kind_tag(enum waf_var_kind k)
{
    static const char *const t[] = {"METHOD", "URI",    "PATH",  "ARG",  "NAME",
                                    "HEADER", "COOKIE", "CNAME", "FILE", "BODY"};
    return t[k];
}

static int rec_var(void *ctx, const struct waf_var *v)
{
    struct rec *r = ctx;
    if (r->n < 64) {
        snprintf(r->lines[r->n], sizeof r->lines[0], "%s %.*s=%.*s", kind_tag(v->kind),
                 (int)v->name_len, v->name, (int)v->value_len, v->value);
        r->flags[r->n] = v->flags;
        r->n++;
    }
    return 0;
}

static void rec_anomaly(void *ctx, unsigned rule, enum waf_class cls, int score,
                        const char *reason, const char *at, size_t len)
{
    struct rec *r = ctx;
    (void)cls, (void)score, (void)reason, (void)at, (void)len;
    if (r->na < 16) r->anomalies[r->na++] = rule;
}

static int has(const struct rec *r, const char *line)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->lines[i], line) == 0) return 1;
    return 0;
}

static int has_anomaly(const struct rec *r, unsigned rule)
{
    for (int i = 0; i < r->na; i++)
        if (r->anomalies[i] == rule) return 1;
    return 0;
}

static char buf[65536];

static void test_urlencoded(void)
{
    struct rec r = {0};
    struct waf_parts_sink k = {rec_var, rec_anomaly, &r};
    const char *q = "q=red+shoes&a[b]=1&q=%3Cb%3E&flag&&e=x%3Dy";
    waf_split_urlencoded(q, strlen(q), 0, buf, sizeof buf, &k);
    CU_ASSERT(has(&r, "ARG q=red shoes"));
    CU_ASSERT(has(&r, "ARG q=<b>")); /* repeated names are both seen */
    CU_ASSERT(has(&r, "NAME a[b]=a[b]"));
    CU_ASSERT(has(&r, "ARG a[b]=1"));
    CU_ASSERT(has(&r, "NAME flag=flag"));
    CU_ASSERT(has(&r, "ARG flag="));
    CU_ASSERT(has(&r, "ARG e=x=y"));
    CU_ASSERT_EQUAL(r.na, 0);
}

static void test_urlencoded_flags(void)
{
    struct rec r = {0};
    struct waf_parts_sink k = {rec_var, rec_anomaly, &r};
    const char *q = "bad=%1G&enc=%73%65%6C&fine=100%25&x[1]a=2&y]=1";
    waf_split_urlencoded(q, strlen(q), 0, buf, sizeof buf, &k);
    int bad = 0, enc = 0, fine = 0;
    for (int i = 0; i < r.n; i++) {
        if (strncmp(r.lines[i], "ARG bad=", 8) == 0) bad = r.flags[i] & WAF_VF_BAD_PCT;
        if (strncmp(r.lines[i], "ARG enc=", 8) == 0) enc = r.flags[i] & WAF_VF_ENC_ALNUM;
        if (strncmp(r.lines[i], "ARG fine=", 9) == 0) fine = r.flags[i];
    }
    CU_ASSERT(bad && enc && fine == 0);
    int half = 0, stray = -1;
    struct rec r2 = {0};
    k.ctx = &r2;
    const char *q2 = "h=%1G&s=50%off";
    waf_split_urlencoded(q2, strlen(q2), 0, buf, sizeof buf, &k);
    for (int i = 0; i < r2.n; i++) {
        if (strncmp(r2.lines[i], "ARG h=", 6) == 0) half = r2.flags[i] & WAF_VF_HALF_PCT;
        if (strncmp(r2.lines[i], "ARG s=", 6) == 0)
            stray = (r2.flags[i] & (WAF_VF_BAD_PCT | WAF_VF_HALF_PCT)) == WAF_VF_BAD_PCT;
    }
    CU_ASSERT(half && stray == 1);
    CU_ASSERT(has(&r, "ARG enc=sel"));
    CU_ASSERT(has_anomaly(&r, 921210)); /* x[1]a and y] */
}

static void test_cookies(void)
{
    struct rec r = {0};
    struct waf_parts_sink k = {rec_var, rec_anomaly, &r};
    const char *c = "sid=abc123; theme=\"dark\";  pref=a%20b ; empty=; lone";
    waf_split_cookies(c, strlen(c), buf, sizeof buf, &k);
    CU_ASSERT(has(&r, "COOKIE sid=abc123"));
    CU_ASSERT(has(&r, "COOKIE theme=dark"));
    CU_ASSERT(has(&r, "COOKIE pref=a b"));
    CU_ASSERT(has(&r, "CNAME empty=empty"));
    CU_ASSERT(has(&r, "COOKIE lone="));
}

static void test_json(void)
{
    struct rec r = {0};
    struct waf_parts_sink k = {rec_var, rec_anomaly, &r};
    const char *j =
        "{\"user\":{\"name\":\"O\\u0027Neil\",\"tags\":[\"a\",\"b\\\"c\"]},"
        "\"n\":-1.5e3,\"ok\":true,\"z\":null,\"$where\":\"1\",\"e\":{}, \"l\":[]}";
    CU_ASSERT_EQUAL(waf_split_json(j, strlen(j), 0, buf, sizeof buf, &k), 0);
    CU_ASSERT(has(&r, "ARG user.name=O'Neil"));
    CU_ASSERT(has(&r, "ARG user.tags=a"));
    CU_ASSERT(has(&r, "ARG user.tags=b\"c"));
    CU_ASSERT(has(&r, "NAME $where=$where"));
    CU_ASSERT(has(&r, "ARG $where=1"));
    CU_ASSERT(has(&r, "NAME ok=ok"));
    CU_ASSERT(!has(&r, "ARG ok=true")); /* scalars carry no text */

    struct rec r2 = {0};
    k.ctx = &r2;
    const char *bad = "{\"a\":\"x\",\"b\":";
    CU_ASSERT_EQUAL(waf_split_json(bad, strlen(bad), 0, buf, sizeof buf, &k), -2);
    CU_ASSERT(has(&r2, "ARG a=x")); /* what came before the error was seen */
    const char *bad2 = "{'a':1}";
    CU_ASSERT_EQUAL(waf_split_json(bad2, strlen(bad2), 0, buf, sizeof buf, &k), -2);
    CU_ASSERT_EQUAL(waf_split_json("[1,2,]", 6, 0, buf, sizeof buf, &k), -2);
    CU_ASSERT_EQUAL(waf_split_json("\"top\"", 5, 0, buf, sizeof buf, &k), 0);
    CU_ASSERT_EQUAL(waf_split_json("{} x", 4, 0, buf, sizeof buf, &k), -2);

    /* every spacing around a key's ':' (one space is read in one step) */
    struct rec rc = {0};
    k.ctx = &rc;
    const char *sp =
        "{\"a\":\"1\",\"b\": \"2\",\"c\" : \"3\",\"d\":\t\"4\",\"e\":  \"5\","
        "\"f\": [\"6\"],\"g\":{\"h\":\"7\"}}";
    CU_ASSERT_EQUAL(waf_split_json(sp, strlen(sp), 0, buf, sizeof buf, &k), 0);
    CU_ASSERT(has(&rc, "ARG a=1") && has(&rc, "ARG b=2") && has(&rc, "ARG c=3"));
    CU_ASSERT(has(&rc, "ARG d=4") && has(&rc, "ARG e=5") && has(&rc, "ARG f=6"));
    CU_ASSERT(has(&rc, "ARG g.h=7"));
    CU_ASSERT_EQUAL(waf_split_json("{\"a\":}", 6, 0, buf, sizeof buf, &k), -2);
    CU_ASSERT_EQUAL(waf_split_json("{\"a\": ", 6, 0, buf, sizeof buf, &k), -2);
    CU_ASSERT_EQUAL(waf_split_json("{\"a\":", 5, 0, buf, sizeof buf, &k), -2);

    /* nesting deeper than the bound is refused, not recursed into */
    char deep[4000];
    size_t d = 0;
    for (int i = 0; i < 1000; i++)
        deep[d++] = '[';
    for (int i = 0; i < 1000; i++)
        deep[d++] = ']';
    CU_ASSERT_EQUAL(waf_split_json(deep, d, 0, buf, sizeof buf, &k), -2);
}

static void test_multipart(void)
{
    struct rec r = {0};
    struct waf_parts_sink k = {rec_var, rec_anomaly, &r};
    const char *b =
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"title\"\r\n\r\n"
        "Hello; world\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"file\"; filename=\"cv.pdf\"\r\n"
        "Content-Type: application/pdf\r\n\r\n"
        "%PDF-1.4 binary <script> stuff\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"note\"\r\n"
        "Content-Type: text/plain; charset=utf-7\r\n\r\n"
        "+ADw-x\r\n"
        "--XyZ--\r\n";
    waf_split_multipart(b, strlen(b), "XyZ", 3, 0, buf, sizeof buf, &k);
    CU_ASSERT(has(&r, "ARG title=Hello; world"));
    CU_ASSERT(has(&r, "FILE file=cv.pdf"));
    CU_ASSERT(!has(&r, "ARG file=%PDF-1.4 binary <script> stuff")); /* content skipped */
    CU_ASSERT(has(&r, "ARG note=+ADw-x"));
    CU_ASSERT(has_anomaly(&r, 922110));

    struct rec r2 = {0};
    k.ctx = &r2;
    const char *b2 = "--b\r\nContent-Disposition: form-data; name=\"f\"; "
                     "filename=\"a.j\\sp\"\r\n\r\nx\r\n"
                     "--b\r\nContent-Disposition: form-data; "
                     "name=\"_charset_\"\r\n\r\nutf-7\r\n--b--\r\n";
    waf_split_multipart(b2, strlen(b2), "b", 1, 0, buf, sizeof buf, &k);
    CU_ASSERT(has_anomaly(&r2, 920121));
    const char *b4 = "--b\r\nContent-Disposition: form-data; name=\"f\"; "
                     "filename*=UTF-8''shell.php\r\n\r\n"
                     "<?php system($_GET[1]); ?>\r\n--b--\r\n";
    struct rec r4 = {0};
    k.ctx = &r4;
    waf_split_multipart(b4, strlen(b4), "b", 1, 0, buf, sizeof buf, &k);
    CU_ASSERT(has(&r4, "FILE f=UTF-8''shell.php"));
    k.ctx = &r2;
    CU_ASSERT(has_anomaly(&r2, 922100));

    struct rec r3 = {0};
    k.ctx = &r3;
    waf_split_multipart("no boundary here", 16, "b", 1, 0, buf, sizeof buf, &k);
    CU_ASSERT(has_anomaly(&r3, 920111));
    /* truncated bodies end quietly */
    waf_split_multipart("--b\r\nContent-Dispo", 18, "b", 1, 0, buf, sizeof buf, &k);
    const char *t3 = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc";
    waf_split_multipart(t3, strlen(t3), "b", 1, 0, buf, sizeof buf, &k);
    CU_ASSERT(has(&r3, "ARG a=abc"));
}

static void test_xml(void)
{
    struct rec r = {0};
    struct waf_parts_sink k = {rec_var, rec_anomaly, &r};
    const char *x =
        "<?xml version=\"1.0\"?><order id='7' note=\"a&lt;b\"><item>Blue shirt</item>"
        "<!-- c --><memo><![CDATA[<b>hi</b>]]></memo><e/></order>";
    waf_split_xml(x, strlen(x), 0, buf, sizeof buf, &k);
    CU_ASSERT(has(&r, "ARG id=7"));
    CU_ASSERT(has(&r, "ARG note=a&lt;b"));
    CU_ASSERT(has(&r, "ARG item=Blue shirt"));
    CU_ASSERT(has(&r, "ARG memo=<b>hi</b>"));
    CU_ASSERT(!has(&r, "ARG version=1.0")); /* the declaration is not data */
}

static void test_content_type(void)
{
    const char *t, *v;
    const char *ct = "multipart/form-data; charset=utf-8; boundary=\"a;b\"";
    CU_ASSERT_EQUAL(waf_media_type(ct, strlen(ct), &t), 19);
    CU_ASSERT(strncmp(t, "multipart/form-data", 19) == 0);
    size_t l = waf_ct_param(ct, strlen(ct), "boundary", &v);
    CU_ASSERT(l == 3 && strncmp(v, "a;b", 3) == 0);
    l = waf_ct_param(ct, strlen(ct), "charset", &v);
    CU_ASSERT(l == 5 && strncmp(v, "utf-8", 5) == 0);
    CU_ASSERT_EQUAL(waf_ct_param(ct, strlen(ct), "name", &v), 0);
    CU_ASSERT(waf_span_ieq("Content-Type", 12, "content-type"));
    CU_ASSERT(!waf_span_ieq("Content-Typ", 11, "content-type"));
    CU_ASSERT(!waf_span_ieq("Content-Types", 13, "content-type"));
}

static void split(struct rec *r, const char *method, const char *target,
                  const struct waf_header *h, size_t nh, const char *body, int truncated)
{
    struct waf_request_view v = {
        method, strlen(method),          target,   strlen(target), h, nh,
        body,   body ? strlen(body) : 0, truncated};
    struct waf_parts_opts o = {65536, 0};
    struct waf_parts_sink k = {rec_var, rec_anomaly, r};
    size_t cap = waf_parts_scratch_size(&v, &o);
    char *b = malloc(cap);
    waf_split_request(&v, &o, b, cap, &k);
    free(b);
}

static void test_request(void)
{
    struct waf_header h[] = {
        {"Host", 4, "x.test", 6},
        {"User-Agent", 10, "curl/8.0", 8},
        {"Cookie", 6, "sid=1; t=dark", 13},
        {"Content-Type", 12, "application/json", 16},
    };
    struct rec r = {0};
    split(&r, "POST", "/a/./b/../c%20d?x=1&y=%3C", h, 4, "{\"k\":\"v w\"}", 0);
    CU_ASSERT(has(&r, "METHOD =POST"));
    CU_ASSERT(has(&r, "PATH =/a/c d"));
    CU_ASSERT(has(&r, "ARG x=1"));
    CU_ASSERT(has(&r, "ARG y=<"));
    CU_ASSERT(has(&r, "HEADER User-Agent=curl/8.0"));
    CU_ASSERT(has(&r, "COOKIE sid=1"));
    CU_ASSERT(has(&r, "COOKIE t=dark"));
    CU_ASSERT(has(&r, "ARG k=v w"));
    for (int i = 0; i < r.n; i++)
        if (strcmp(r.lines[i], "ARG k=v w") == 0) CU_ASSERT(r.flags[i] & WAF_VF_BODY);

    /* no Content-Type: JSON-looking bodies are parsed, and the absence is noted */
    struct rec r2 = {0};
    split(&r2, "PUT", "/r/1", h, 2, " {\"name\":\"updated\"}", 0);
    CU_ASSERT(has(&r2, "ARG name=updated"));
    CU_ASSERT(has_anomaly(&r2, 920340));

    /* invalid JSON: the raw body is inspected */
    struct rec r3 = {0};
    split(&r3, "POST", "/", h, 4, "{\"a\": oops}", 0);
    CU_ASSERT(has(&r3, "BODY =={\"a\": oops}") || has(&r3, "BODY ={\"a\": oops}"));
    CU_ASSERT(has_anomaly(&r3, 920112));
    /* ... but a truncated one is no anomaly */
    struct rec r4 = {0};
    split(&r4, "POST", "/", h, 4, "{\"a\": \"long", 1);
    CU_ASSERT(!has_anomaly(&r4, 920112));

    /* other types: the raw body */
    struct waf_header hx[] = {{"Content-Type", 12, "application/octet-stream", 24}};
    struct rec r5 = {0};
    split(&r5, "POST", "/up", hx, 1, "raw bytes", 0);
    CU_ASSERT(has(&r5, "BODY =raw bytes"));

    /* absolute-form target */
    struct rec r6 = {0};
    split(&r6, "GET", "http://x.test/p/q?z=9", h, 1, NULL, 0);
    CU_ASSERT(has(&r6, "PATH =/p/q"));
    CU_ASSERT(has(&r6, "ARG z=9"));

    /* a path without '.' or "//" is kept as it is; "//" alone still folds */
    struct rec rn = {0}, rs = {0};
    split(&rn, "GET", "/size/100/", h, 1, NULL, 0);
    CU_ASSERT(has(&rn, "PATH =/size/100/"));
    split(&rs, "GET", "//a//b", h, 1, NULL, 0);
    CU_ASSERT(has(&rs, "PATH =/a/b"));

    /* a fragment is not part of the query */
    struct rec r7 = {0};
    split(&r7, "GET", "/p?a=1#frag", h, 1, NULL, 0);
    CU_ASSERT(has(&r7, "ARG a=1"));
}

static void test_structured_flag(void)
{
    struct waf_header h[] = {{"Accept", 6, "text/html", 9}, {"X-Custom", 8, "v", 1}};
    struct rec r = {0};
    split(&r, "GET", "/", h, 2, NULL, 0);
    for (int i = 0; i < r.n; i++) {
        if (strcmp(r.lines[i], "HEADER Accept=text/html") == 0)
            CU_ASSERT(r.flags[i] & WAF_VF_STRUCTURED);
        if (strcmp(r.lines[i], "HEADER X-Custom=v") == 0)
            CU_ASSERT(!(r.flags[i] & WAF_VF_STRUCTURED));
    }
}

/* Case folds letters only: '[' and '{', '@' and '`' differ by the case bit. */
static void test_span_ieq(void)
{
    CU_ASSERT(waf_span_ieq("Content-Type", 12, "content-type"));
    CU_ASSERT(waf_span_ieq("COOKIE", 6, "cookie"));
    CU_ASSERT(waf_span_ieq("", 0, ""));
    CU_ASSERT(!waf_span_ieq("cookie", 6, "cookies"));
    CU_ASSERT(!waf_span_ieq("a[b", 3, "a{b"));
    CU_ASSERT(!waf_span_ieq("a@b", 3, "a`b"));
    CU_ASSERT(!waf_span_ieq("x^", 2, "x~"));
    CU_ASSERT(!waf_span_ieq("x1", 2, "x\x11"));
}

/* A sink that checks the charset a splitter hands over with a value. */
static int cs_var(void *ctx, const struct waf_var *v)
{
    int *with = ctx;
    if (v->flags & WAF_VF_CS) {
        ++*with;
        if (v->cs != waf_charset(v->value, v->value_len))
            fprintf(stderr, "\n  cs %x for %.*s\n", v->cs, (int)v->value_len, v->value);
        CU_ASSERT_EQUAL(v->cs, waf_charset(v->value, v->value_len));
    }
    return 0;
}

/* JSON strings come with the charset of their value: exactly waf_charset()'s
 * (pairs "--" "/ *" ".." included, at every offset of the 4-byte steps), and
 * none for an escaped string, which the engine classes itself. */
static void test_json_charset(void)
{
    static const char alpha[] = "ab-./*_ '<;:(%\\\"\x01\xc3";
    unsigned seed = 99;
    char in[256], val[64];
    int with = 0;
    struct waf_parts_sink k = {cs_var, rec_anomaly, &with};
    for (int round = 0; round < 20000; round++) {
        size_t l = (size_t)(round % 40), n = 0;
        for (size_t i = 0; i < l; i++) {
            seed = seed * 1103515245u + 12345u;
            val[i] = alpha[(seed >> 16) % (sizeof alpha - 1)];
        }
        in[n++] = '{', in[n++] = '"';
        memcpy(in + n, val, l), n += l;
        memcpy(in + n, "\":\"", 3), n += 3;
        memcpy(in + n, val, l), n += l;
        in[n++] = '"', in[n++] = '}';
        waf_split_json(in, n, 0, buf, sizeof buf, &k);
    }
    CU_ASSERT(with > 10000);
    with = 0;
    const char *esc = "{\"a\\u0027b\": \"x\\\"y\"}";
    waf_split_json(esc, strlen(esc), 0, buf, sizeof buf, &k);
    CU_ASSERT_EQUAL(with, 0);
}

/* Random bytes through every splitter: no crash, no overrun (run under ASan). */
static void test_random(void)
{
    static const char alpha[] = "{}[]\":,\\u0 \r\n-=&;%+<>/'a1--b\0";
    unsigned seed = 777;
    char in[600];
    struct rec r;
    struct waf_parts_sink k = {rec_var, rec_anomaly, &r};
    for (int round = 0; round < 4000; round++) {
        size_t n = (size_t)(round % 599);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            in[i] = alpha[(seed >> 16) % (sizeof alpha - 1)];
        }
        char *copy = malloc(n ? n : 1); /* exact size: ASan sees overreads */
        memcpy(copy, in, n);
        memset(&r, 0, sizeof r);
        waf_split_urlencoded(copy, n, 0, buf, sizeof buf, &k);
        waf_split_cookies(copy, n, buf, sizeof buf, &k);
        waf_split_json(copy, n, 0, buf, sizeof buf, &k);
        waf_split_multipart(copy, n, "-b", 2, 0, buf, sizeof buf, &k);
        waf_split_xml(copy, n, 0, buf, sizeof buf, &k);
        const char *t;
        waf_media_type(copy, n, &t);
        waf_ct_param(copy, n, "boundary", &t);
        free(copy);
    }
    CU_PASS("no crash");
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("waf_request_parts", NULL, NULL);
    CU_add_test(s, "urlencoded", test_urlencoded);
    CU_add_test(s, "urlencoded_flags", test_urlencoded_flags);
    CU_add_test(s, "cookies", test_cookies);
    CU_add_test(s, "json", test_json);
    CU_add_test(s, "json_charset", test_json_charset);
    CU_add_test(s, "span_ieq", test_span_ieq);
    CU_add_test(s, "multipart", test_multipart);
    CU_add_test(s, "xml", test_xml);
    CU_add_test(s, "content_type", test_content_type);
    CU_add_test(s, "request", test_request);
    CU_add_test(s, "structured_flag", test_structured_flag);
    CU_add_test(s, "random", test_random);
    CU_basic_set_mode(CU_BRM_NORMAL);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}
