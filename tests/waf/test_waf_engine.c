/*
 * tests/waf/test_waf_engine.c — waf_inspect(): variables, scoring, policy
 * (threshold, limits, exclusions, custom and disabled rules), report.
 *
 * The assertions rest on the engine's own checks (protocol, CRLF, SSI,
 * session fixation, scanners) and custom rules, so they hold whatever the
 * class detectors find in addition.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define CHROME                                                                           \
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "  \
    "Chrome/120.0.0.0 Safari/537.36"

struct req {
    struct waf_header h[12];
    size_t nh;
    struct waf_request_view v;
};

static void req_init(struct req *q, const char *method, const char *target)
{
    memset(q, 0, sizeof *q);
    q->v.method = method;
    q->v.method_len = strlen(method);
    q->v.target = target;
    q->v.target_len = strlen(target);
    q->v.headers = q->h;
}

static void req_header(struct req *q, const char *n, const char *v)
{
    q->h[q->nh++] = (struct waf_header){n, strlen(n), v, strlen(v)};
    q->v.nheaders = q->nh;
}

static void req_body(struct req *q, const char *ct, const char *body)
{
    if (ct) req_header(q, "Content-Type", ct);
    q->v.body = body;
    q->v.body_len = strlen(body);
}

/* A browser-like GET with ordinary headers. */
static void req_browser(struct req *q, const char *target)
{
    req_init(q, "GET", target);
    req_header(q, "Host", "shop.example.com");
    req_header(q, "User-Agent", CHROME);
    req_header(q, "Accept",
               "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
    req_header(q, "Accept-Language", "en-US,en;q=0.9");
    req_header(q, "Accept-Encoding", "gzip, deflate, br");
}

static const struct waf_finding *find(const struct waf_report *r, unsigned rule)
{
    for (size_t i = 0; i < r->nfindings; i++)
        if (r->findings[i].rule == rule) return &r->findings[i];
    return NULL;
}

static int count(const struct waf_report *r, unsigned rule)
{
    int c = 0;
    for (size_t i = 0; i < r->nfindings; i++)
        c += r->findings[i].rule == rule;
    return c;
}

static int score_consistent(const struct waf_report *r)
{
    int s = 0;
    for (size_t i = 0; i < r->nfindings; i++)
        s += r->findings[i].score;
    return r->nfindings >= WAF_MAX_FINDINGS || s == r->score;
}

static struct waf_policy *pol;

static void test_benign(void)
{
    struct req q;
    struct waf_report r;
    req_browser(&q, "/products/list?page=2&sort=price");
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 0);
    CU_ASSERT_EQUAL(r.score, 0);
    CU_ASSERT_EQUAL(r.nfindings, 0);
    CU_ASSERT_EQUAL(r.over_limit, 0);

    req_browser(&q, "/search?q=drop+us+a+line&email=ann%40example.com");
    req_header(&q, "Referer", "https://shop.example.com/cart?step=2&coupon=SPRING");
    req_header(&q, "Cookie", "sid=abc123def; theme=dark; _ga=GA1.2.345.678");
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 0);
    CU_ASSERT_EQUAL(r.score, 0);
}

/* A Referer's plain origin is not inspected, but its path and query are, and
 * an origin outside host name grammar is inspected whole. */
static void test_referer(void)
{
    static const char *const attacks[] = {
        "https://shop.example.com/x?q=%3Cscript%3Ealert(1)%3C/script%3E",
        "http://shop.example.com:8080/../../../../etc/passwd",
        "http://a'or'1'='1/",
        "http://<svg/onload=alert(1)>/",
        "http://shop.example.com/;cat /etc/passwd",
        NULL};
    struct req q;
    struct waf_report r;
    for (const char *const *a = attacks; *a; a++) {
        req_browser(&q, "/");
        req_header(&q, "Referer", *a);
        int blocked = waf_inspect(pol, &q.v, 0, &r);
        if (!blocked) fprintf(stderr, "\n  missed in a Referer: %s\n", *a);
        CU_ASSERT_EQUAL(blocked, 1);
    }
    req_browser(&q, "/");
    req_header(&q, "Referer", "http://127.0.0.1:8080/admin/users?page=3");
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 0);
}

/* Quote-split commands are caught whether the engine builds the
 * de-obfuscated form or leaves it to the detector's own word reading. */
static void test_shell_quotes(void)
{
    static const char *const attacks[] = {
        "/?x=x;c'a't+/etc/passwd", "/?x=a;w'h'o'am'i",  "/?x=a;who''ami",
        "/?x=a|wh'oam'i",          "/?x=it's;wh'o'ami", "/?x=x;'wh'oami",
        "/?x=a;c\\at+/etc/passwd", "/?x=a;who$@ami",    NULL};
    struct req q;
    struct waf_report r;
    for (const char *const *a = attacks; *a; a++) {
        req_browser(&q, *a);
        int blocked = waf_inspect(pol, &q.v, 0, &r);
        if (!blocked) fprintf(stderr, "\n  missed: %s\n", *a);
        CU_ASSERT_EQUAL(blocked, 1);
    }
    req_browser(&q, "/?note=extra+basil,+please;+it's+for+Tom's+birthday");
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 0);
}

/* The bytes a value holds pick the detectors that see it (a detector that
 * cannot fire without one of its bytes is skipped): each still fires through
 * the bytes it needs, and prose passes. */
static void test_detector_bytes(void)
{
    static const struct {
        const char *target;
        unsigned rule;
    } hits[] = {
        {"/?q=%7B%7B7*7%7D%7D", 934500},     /* SSTI: '{' */
        {"/?q=%3C%25%3D+x+%25%3E", 934520},  /* SSTI: '<' */
        {"/?q=x)(uid=*", 921510},            /* LDAP: parentheses only */
        {"/?q=ab*))", 921520},               /* LDAP: ')' only */
        {"/?q=diff+<(ls)+y", 932100},        /* RCE: "<(" opens a position */
        {"/?q=it's;+wh'o'ami", 932200},      /* RCE: in-word quotes */
        {"/?q=x;+rmt+--version", 932100},    /* RCE: a long option */
        {"/?q=1'+or+'1'%3D'1'--+x", 942100}, /* SQLi, then its comment form */
        {"/?q=__proto__", 934130},           /* code hint: '_' only */
        {"/?a.__proto__.b=1", 934130},       /* a name, '_' and '.' */
        {"/?q=GET+/admin+HTTP/1.1", 921130}, /* a request line: ' ' and '/' */
        {"/?q=rO0ABXNy", 944210},            /* code hint: short token */
        {"/?q=ACED0005", 944210},            /* code hint: hex, upper case */
        {"/?f=//etc//passwd", 930120},       /* a path form: "//" only */
        {"/?f=\\etc\\passwd", 930120},       /* a path form: '\\' only */
    };
    struct req q;
    struct waf_report r;
    for (size_t i = 0; i < sizeof hits / sizeof hits[0]; i++) {
        req_browser(&q, hits[i].target);
        waf_inspect(pol, &q.v, 0, &r);
        if (!find(&r, hits[i].rule))
            fprintf(stderr, "\n  %u missed: %s\n", hits[i].rule, hits[i].target);
        CU_ASSERT_PTR_NOT_NULL(find(&r, hits[i].rule));
    }
    req_init(&q, "POST", "/order");
    req_header(&q, "Host", "shop.example.com");
    req_body(&q, "application/json",
             "{\"notes\": [\"surprise us! (no anchovies though)\", \"no onions "
             "(allergy!) - thanks\", \"light on the cheese -- doctor's orders\", "
             "\"gluten-free base; we'll pick it up at 7:30\"]}");
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 0);
    CU_ASSERT_EQUAL(r.nfindings, 0);
    req_browser(&q, "/?sort_by=created_at&q=snake_case_name"); /* single '_' */
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 0);
    CU_ASSERT_EQUAL(r.nfindings, 0);
    req_browser(&q, "/?next=/menu/pizza/etc/&f=/passwd/"); /* a normal path */
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 0);
    CU_ASSERT_EQUAL(r.nfindings, 0);
    req_browser(&q, "/?a=rO0Bz&b=acedx&c=arcade"); /* near the prefixes */
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 0);
    CU_ASSERT_EQUAL(r.nfindings, 0);
    req_browser(&q, "/?u=/docs/HTTP/1.1/index&v=see+the+HTTP+spec"); /* no request line */
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 0);
    CU_ASSERT_EQUAL(r.nfindings, 0);
}

static void test_ssi_arg(void)
{
    struct req q;
    struct waf_report r;
    req_browser(&q, "/page?host=%3C%21--%23exec%20cmd%3D%22ls%22%20--%3E");
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 1);
    const struct waf_finding *f = find(&r, 960100);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_STRING_EQUAL(f->var, "ARGS:host");
    CU_ASSERT_EQUAL(f->cls, WAF_SSI);
    CU_ASSERT(strstr(f->excerpt, "<!--#exec") != NULL);
    CU_ASSERT(r.score >= 5);
    CU_ASSERT(score_consistent(&r));
}

static void test_protocol(void)
{
    struct req q;
    struct waf_report r;
    req_browser(&q, "/get");
    q.v.method = "|GET";
    q.v.method_len = 4;
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&r, 920100));
    if (find(&r, 920100)) CU_ASSERT_STRING_EQUAL(find(&r, 920100)->var, "REQUEST_METHOD");

    req_browser(&q, "/file.jsp?v=foobar%0d%0aContent-Length:%2002343432423");
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&r, 921120));

    req_browser(&q, "/index.php/PHP%0Ainfo.php?QQQ");
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&r, 921190));
    if (find(&r, 921190)) CU_ASSERT_STRING_EQUAL(find(&r, 921190)->var, "REQUEST_PATH");

    req_browser(&q, "/");
    req_header(&q, "Range", "bytes=1-2,3-4,5-6,7-8,9-10,11-12,13-14");
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&r, 920200));

    /* two NUL-carrying arguments: the rule counts once */
    req_browser(&q, "/?a=x%00&b=y%00");
    waf_inspect(pol, &q.v, 0, &r);
    CU_ASSERT_EQUAL(count(&r, 920270), 1);
    CU_ASSERT(find(&r, 920270) && strstr(find(&r, 920270)->excerpt, "\\x00"));
    CU_ASSERT(score_consistent(&r));

    req_browser(&q, "/promo?banner=50%off");
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r),
                    0); /* a stray '%': noted, not blocked */
    CU_ASSERT(find(&r, 920220) && find(&r, 920220)->score == 3);

    req_init(&q, "POST", "/");
    req_header(&q, "Host", "a.test");
    req_body(&q, "application/x-www-form-urlencoded", "param=%1G");
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&r, 920220));
}

static void test_scanner(void)
{
    struct req q;
    struct waf_report r;
    req_init(&q, "GET", "/");
    req_header(&q, "Host", "a.test");
    req_header(&q, "User-Agent",
               "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:Port Check)");
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 1);
    CU_ASSERT(find(&r, 913100) &&
              strcmp(find(&r, 913100)->var, "REQUEST_HEADERS:User-Agent") == 0);
}

static void test_session(void)
{
    struct req q;
    struct waf_report r;
    req_browser(&q, "/login?jsessionid=74B0CB414BD77D17B5680A6386EF1666");
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&r, 943120));

    req_browser(&q, "/login?jsessionid=abc123");
    req_header(&q, "Referer", "https://shop.example.com/another-page");
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 0);

    req_browser(&q, "/api/auth?koa:sess=eyJ1c2VySWQiOjF9");
    req_header(&q, "Referer", "https://attacker.example/");
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 1);
    CU_ASSERT(find(&r, 943110) &&
              strcmp(find(&r, 943110)->var, "ARGS_NAMES:koa:sess") == 0);
}

static void test_bodies(void)
{
    struct req q;
    struct waf_report r;
    req_init(&q, "POST", "/api/notes");
    req_header(&q, "Host", "a.test");
    req_body(&q, "application/json",
             "{\"note\":{\"text\":\"<!--#exec cmd=\\\"ls\\\" -->\"}}");
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 1);
    CU_ASSERT(find(&r, 960100) && strcmp(find(&r, 960100)->var, "ARGS:note.text") == 0);

    req_init(&q, "POST", "/upload/xml");
    req_header(&q, "Host", "a.test");
    req_body(&q, "application/xml",
             "<!DOCTYPE x [ <!ENTITY % y SYSTEM \"//y/y\" > %y; ]><x>a</x>");
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 1); /* xml off: raw body */
    CU_ASSERT(find(&r, 960110) && strcmp(find(&r, 960110)->var, "REQUEST_BODY") == 0);

    struct waf_policy *px = waf_policy_new(); /* xml on: values split, XXE still seen */
    waf_policy_set_xml(px, 1);
    CU_ASSERT_EQUAL(waf_inspect(px, &q.v, 0, &r), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&r, 960110));
    req_init(&q, "POST", "/upload/xml");
    req_header(&q, "Host", "a.test");
    req_body(&q, "text/xml", "<order><note>&lt;!--#exec cmd=\"id\"--&gt;</note></order>");
    CU_ASSERT_EQUAL(waf_inspect(px, &q.v, 0, &r), 1); /* entity-encoded in a text node */
    CU_ASSERT(find(&r, 960100) && strcmp(find(&r, 960100)->var, "ARGS:note") == 0);
    waf_policy_free(px);

    req_init(&q, "POST", "/up");
    req_header(&q, "Host", "a.test");
    req_body(&q, "multipart/form-data; boundary=B",
             "--B\r\nContent-Disposition: form-data; name=\"f\"; "
             "filename=\"1.j\\s\\p\"\r\n\r\n"
             "hello\r\n--B--\r\n");
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&r, 920121));

    /* a payload after padding longer than max_arg is still found */
    static char big[12000];
    memcpy(big, "pad=", 4);
    memset(big + 4, 'a', 10000);
    strcpy(big + 10004, "+%3C%21--%23exec+cmd%3D%22id%22--%3E");
    req_init(&q, "POST", "/f");
    req_header(&q, "Host", "a.test");
    req_body(&q, "application/x-www-form-urlencoded", big);
    CU_ASSERT_EQUAL(waf_inspect(pol, &q.v, 0, &r), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&r, 960100));
    struct waf_policy *small = waf_policy_new(); /* tiny windows work too */
    waf_policy_set_limits(small, 65536, 64, WAF_OVER_LIMIT_INSPECT_PREFIX);
    CU_ASSERT_EQUAL(waf_inspect(small, &q.v, 0, &r), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&r, 960100));
    waf_policy_free(small);
}

static void test_limits(void)
{
    struct waf_policy *p = waf_policy_new();
    struct req q;
    struct waf_report r;
    static char body[3000];
    memset(body, 'x', sizeof body - 1);
    req_init(&q, "POST", "/up");
    req_header(&q, "Host", "a.test");
    req_body(&q, "application/octet-stream", body);
    waf_policy_set_limits(p, 1024, 0, WAF_OVER_LIMIT_REJECT);
    CU_ASSERT_EQUAL(waf_inspect(p, &q.v, 0, &r), 1);
    CU_ASSERT_EQUAL(r.over_limit, 1);
    waf_policy_set_limits(p, 1024, 0, WAF_OVER_LIMIT_INSPECT_PREFIX);
    CU_ASSERT_EQUAL(waf_inspect(p, &q.v, 0, &r), 0);
    CU_ASSERT_EQUAL(r.over_limit, 0);
    waf_policy_free(p);
}

static void test_custom_rules(void)
{
    struct waf_policy *p = waf_policy_new();
    char err[128];
    struct waf_custom_rule c1 = {100001, "ARGS:q", WAF_OP_CONTAINS, "forbidden", 3};
    struct waf_custom_rule c2 = {100002, "REQUEST_HEADERS:User-Agent", WAF_OP_REGEX,
                                 "^bad(bot|crawler)/[0-9]+", 5};
    struct waf_custom_rule c3 = {100003, "REQUEST_METHOD", WAF_OP_EQUALS, "trace", 5};
    struct waf_custom_rule c4 = {100004, "REQUEST_PATH", WAF_OP_BEGINS_WITH, "/admin", 5};
    struct waf_custom_rule c5 = {100005, "REQUEST_BODY", WAF_OP_CONTAINS, "secret-token",
                                 5};
    CU_ASSERT_EQUAL(waf_policy_add_rule(p, &c1, err, sizeof err), 0);
    CU_ASSERT_EQUAL(waf_policy_add_rule(p, &c2, err, sizeof err), 0);
    CU_ASSERT_EQUAL(waf_policy_add_rule(p, &c3, err, sizeof err), 0);
    CU_ASSERT_EQUAL(waf_policy_add_rule(p, &c4, err, sizeof err), 0);
    CU_ASSERT_EQUAL(waf_policy_add_rule(p, &c5, err, sizeof err), 0);
    struct waf_custom_rule bad = {1, "ARGS", WAF_OP_REGEX, "([a-z", 5};
    CU_ASSERT_EQUAL(waf_policy_add_rule(p, &bad, err, sizeof err), -1);
    CU_ASSERT(strlen(err) > 0);
    struct waf_custom_rule badvar = {2, "NOPE", WAF_OP_CONTAINS, "x", 5};
    CU_ASSERT_EQUAL(waf_policy_add_rule(p, &badvar, err, sizeof err), -1);

    struct req q;
    struct waf_report r;
    req_browser(&q, "/s?q=a+FORBIDDEN+word");
    CU_ASSERT_EQUAL(waf_inspect(p, &q.v, 0, &r), 0); /* 3 < 5 */
    CU_ASSERT_EQUAL(r.score, 3);
    CU_ASSERT(find(&r, 100001) && strcmp(find(&r, 100001)->var, "ARGS:q") == 0);
    CU_ASSERT_EQUAL(waf_inspect(p, &q.v, 3, &r), 1); /* threshold override */

    req_init(&q, "GET", "/x");
    req_header(&q, "User-Agent", "BadBot/2");
    CU_ASSERT_EQUAL(waf_inspect(p, &q.v, 0, &r), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&r, 100002));

    req_init(&q, "TRACE", "/x");
    CU_ASSERT_EQUAL(waf_inspect(p, &q.v, 0, &r), 1);
    req_init(&q, "GET", "/x/../admin/users");
    CU_ASSERT_EQUAL(waf_inspect(p, &q.v, 0, &r), 1); /* on the normalised path */
    CU_ASSERT_PTR_NOT_NULL(find(&r, 100004));

    req_init(&q, "POST", "/x");
    req_body(&q, "application/json", "{\"a\":\"has secret-token inside\"}");
    CU_ASSERT_EQUAL(waf_inspect(p, &q.v, 0, &r), 1);
    CU_ASSERT_PTR_NOT_NULL(find(&r, 100005));

    /* disabling a custom or built-in rule */
    CU_ASSERT_EQUAL(waf_policy_disable_rule(p, 100005), 0);
    CU_ASSERT_EQUAL(waf_inspect(p, &q.v, 0, &r), 0);
    waf_policy_free(p);
}

static void test_exclusions(void)
{
    struct waf_policy *p = waf_policy_new();
    struct req q;
    struct waf_report r;
    /* SSI in ARGS:tpl under /cms: excluded for that argument and rule only */
    struct waf_exclusion e1 = {"/cms/", "tpl", 960100};
    CU_ASSERT_EQUAL(waf_policy_add_exclusion(p, &e1), 0);
    req_browser(&q, "/cms/edit?tpl=%3C%21--%23include+virtual%3D%22x%22--%3E");
    waf_inspect(p, &q.v, 0, &r);
    CU_ASSERT_PTR_NULL(find(&r, 960100));
    req_browser(&q, "/shop/edit?tpl=%3C%21--%23include+virtual%3D%22x%22--%3E");
    waf_inspect(p, &q.v, 0, &r);
    CU_ASSERT_PTR_NOT_NULL(find(&r, 960100)); /* other path */
    req_browser(&q, "/cms/edit?other=%3C%21--%23include+virtual%3D%22x%22--%3E");
    waf_inspect(p, &q.v, 0, &r);
    CU_ASSERT_PTR_NOT_NULL(find(&r, 960100)); /* other argument */
    /* a traversal does not reach an excluded prefix */
    req_browser(&q, "/cms/../shop/edit?tpl=%3C%21--%23include+virtual%3D%22x%22--%3E");
    waf_inspect(p, &q.v, 0, &r);
    CU_ASSERT_PTR_NOT_NULL(find(&r, 960100));

    /* a full variable name, all rules */
    struct waf_exclusion e2 = {NULL, "REQUEST_HEADERS:User-Agent", 0};
    CU_ASSERT_EQUAL(waf_policy_add_exclusion(p, &e2), 0);
    req_init(&q, "GET", "/");
    req_header(&q, "user-agent", "sqlmap/1.7");
    CU_ASSERT_EQUAL(waf_inspect(p, &q.v, 0, &r), 0);

    /* a rule everywhere */
    struct waf_exclusion e3 = {NULL, NULL, 920100};
    CU_ASSERT_EQUAL(waf_policy_add_exclusion(p, &e3), 0);
    req_init(&q, "|GET", "/");
    CU_ASSERT_EQUAL(waf_inspect(p, &q.v, 0, &r), 0);
    waf_policy_free(p);
}

static void test_null_pieces(void)
{
    struct waf_request_view v = {0};
    struct waf_report r;
    CU_ASSERT_EQUAL(waf_inspect(pol, &v, 0, &r), 1); /* an empty method is invalid */
    v.method = "GET";
    v.method_len = 3;
    CU_ASSERT_EQUAL(waf_inspect(pol, &v, 0, &r), 0);
}

static void test_policy_defaults(void)
{
    struct waf_policy *p = waf_policy_new();
    struct waf_custom_rule c = {7, "ARGS", WAF_OP_CONTAINS, "zzz", 4};
    char err[64];
    waf_policy_add_rule(p, &c, err, sizeof err);
    struct req q;
    struct waf_report r;
    req_init(&q, "GET", "/?a=zzz");
    CU_ASSERT_EQUAL(waf_inspect(p, &q.v, 0, &r), 0); /* default threshold 5 */
    waf_policy_set_threshold(p, 4);
    CU_ASSERT_EQUAL(waf_inspect(p, &q.v, 0, &r), 1);
    waf_policy_free(p);
    waf_policy_free(NULL);
}

/* Random requests (run under ASan): nothing crashes or overruns. */
static void test_random(void)
{
    static const char alpha[] = "{}[]\":,\\%0a<>/'&=;?#+ -.*()$`|\r\n\0ab";
    static const char *const cts[] = {"application/json",
                                      "application/x-www-form-urlencoded",
                                      "multipart/form-data; boundary=-b",
                                      "application/xml",
                                      "text/plain",
                                      NULL};
    unsigned seed = 4242;
    char t[300], hv[200], b[700];
    struct waf_report r;
    struct waf_policy *p = waf_policy_new();
    waf_policy_set_xml(p, 1);
    for (int round = 0; round < 3000; round++) {
        size_t tn = 1 + (size_t)(round % 250), hn = (size_t)(round % 190),
               bn = (size_t)(round * 7 % 690);
        for (size_t i = 0; i < tn; i++)
            seed = seed * 1103515245u + 12345u,
            t[i] = alpha[(seed >> 16) % (sizeof alpha - 1)];
        for (size_t i = 0; i < hn; i++)
            seed = seed * 1103515245u + 12345u,
            hv[i] = alpha[(seed >> 16) % (sizeof alpha - 1)];
        for (size_t i = 0; i < bn; i++)
            seed = seed * 1103515245u + 12345u,
            b[i] = alpha[(seed >> 16) % (sizeof alpha - 1)];
        t[0] = '/';
        char *tc = malloc(tn), *hc = malloc(hn ? hn : 1), *bc = malloc(bn ? bn : 1);
        memcpy(tc, t, tn);
        memcpy(hc, hv, hn);
        memcpy(bc, b, bn);
        struct waf_header h[4] = {{"Host", 4, "a", 1},
                                  {"Referer", 7, hc, hn},
                                  {"Cookie", 6, hc, hn},
                                  {"Content-Type", 12, "", 0}};
        const char *ct = cts[round % 6];
        size_t nh = 3;
        if (ct) h[3].value = ct, h[3].value_len = strlen(ct), nh = 4;
        struct waf_request_view v = {"POST", 4, tc, tn, h, nh, bc, bn, round % 5 == 0};
        CU_ASSERT(waf_inspect(p, &v, 0, &r) >= 0);
        CU_ASSERT(r.nfindings <= WAF_MAX_FINDINGS);
        for (size_t i = 0; i < r.nfindings; i++) {
            CU_ASSERT(strlen(r.findings[i].var) < sizeof r.findings[i].var);
            CU_ASSERT(strlen(r.findings[i].excerpt) < sizeof r.findings[i].excerpt);
        }
        free(tc), free(hc), free(bc);
    }
    waf_policy_free(p);
}

int main(void)
{
    pol = waf_policy_new();
    if (pol == NULL || CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("waf_engine", NULL, NULL);
    CU_add_test(s, "benign", test_benign);
    CU_add_test(s, "detector_bytes", test_detector_bytes);
    CU_add_test(s, "ssi_arg", test_ssi_arg);
    CU_add_test(s, "referer", test_referer);
    CU_add_test(s, "shell_quotes", test_shell_quotes);
    CU_add_test(s, "protocol", test_protocol);
    CU_add_test(s, "scanner", test_scanner);
    CU_add_test(s, "session", test_session);
    CU_add_test(s, "bodies", test_bodies);
    CU_add_test(s, "limits", test_limits);
    CU_add_test(s, "custom_rules", test_custom_rules);
    CU_add_test(s, "exclusions", test_exclusions);
    CU_add_test(s, "null_pieces", test_null_pieces);
    CU_add_test(s, "policy_defaults", test_policy_defaults);
    CU_add_test(s, "random", test_random);
    CU_basic_set_mode(CU_BRM_NORMAL);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    waf_policy_free(pol);
    return failures ? 1 : 0;
}
