/* The WAF library (plugins/waf): waf_inspect on a request view built from
 * the input, under a default policy and under a busy one (custom rules of
 * every operator, exclusions, XML on, small limits); and each detector of
 * detect.h on the raw bytes.
 *
 * Input: byte 0 = mode. Modes 0-10 run one detector on the rest of the input
 * (byte 1 = the place, mod 7); waf_sqli_fingerprint runs with mode 0 too.
 * Other modes build a request: "METHOD TARGET\n", then "Name: value\n"
 * lines up to an empty line, then the body (truncated when the mode's bit 4
 * is set); bit 5 picks the busy policy.
 *
 * Invariants: a hit lies within the input and names a rule and a class; a
 * report holds at most WAF_MAX_FINDINGS findings with NUL-terminated
 * variable names and printable excerpts; the verdict agrees with the score
 * and the threshold. */
#include "engine.h"
#include "fuzz_util.h"

#define MAX_HEADERS 64

static struct waf_policy *plain, *busy;

static const waf_detector_fn detectors[] = {
    waf_detect_sqli, waf_detect_xss,  waf_detect_lfi,   waf_detect_rfi,
    waf_detect_rce,  waf_detect_code, waf_detect_ssti,  waf_detect_ldap,
    waf_detect_nosql, waf_detect_crlf, waf_detect_misc,
};
#define NDETECTORS (sizeof detectors / sizeof *detectors)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    plain = waf_policy_new();
    busy = waf_policy_new();
    if (plain == NULL || busy == NULL) abort();
    waf_policy_set_threshold(busy, 3);
    waf_policy_set_limits(busy, 512, 64, WAF_OVER_LIMIT_REJECT);
    waf_policy_set_xml(busy, 1);
    static const struct waf_custom_rule rules[] = {
        {100001, "ARGS", WAF_OP_CONTAINS, "evil", 5},
        {100002, "ARGS:q", WAF_OP_EQUALS, "x", 3},
        {100003, "REQUEST_HEADERS:User-Agent", WAF_OP_BEGINS_WITH, "bot", 4},
        {100004, "REQUEST_URI", WAF_OP_REGEX, "^/admin(/|$)", 5},
        {100005, "REQUEST_COOKIES", WAF_OP_REGEX, "(a|b)+c", 2},
        {100006, "REQUEST_BODY", WAF_OP_CONTAINS, "<!ENTITY", 5},
        {100007, "ARGS_NAMES", WAF_OP_BEGINS_WITH, "__", 3},
        {100008, "REQUEST_METHOD", WAF_OP_EQUALS, "TRACE", 5},
        {100009, "REQUEST_PATH", WAF_OP_CONTAINS, "..", 2},
        {100010, "REQUEST_COOKIES:sid", WAF_OP_EQUALS, "0", 2},
        {100011, "REQUEST_HEADERS", WAF_OP_CONTAINS, "\r", 2},
    };
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++)
        if (waf_policy_add_rule(busy, &rules[i], err, sizeof err) != 0) {
            fprintf(stderr, "fuzz_waf: rule %u: %s\n", rules[i].id, err);
            abort();
        }
    static const struct waf_exclusion ex[] = {
        {"/api/", "q", 0}, {NULL, "REQUEST_HEADERS:Referer", 0}, {"/", NULL, 942100}};
    for (size_t i = 0; i < sizeof ex / sizeof *ex; i++)
        if (waf_policy_add_exclusion(busy, &ex[i]) != 0) abort();
    waf_policy_disable_rule(busy, 941100);
    return 0;
}

static void check_hit(const struct waf_hit *h, size_t n)
{
    FUZZ_CHECK(h->rule != 0);
    FUZZ_CHECK((unsigned)h->cls < WAF_CLASS_COUNT);
    FUZZ_CHECK(h->reason != NULL && h->reason[0] != '\0');
    FUZZ_CHECK(h->at <= n && h->len <= n - h->at);
    FUZZ_CHECK(h->score > 0);
    FUZZ_CHECK(waf_class_name(h->cls) != NULL);
}

static void run_detector(unsigned which, const uint8_t *data, size_t size)
{
    if (size < 1) return;
    enum waf_place place = (enum waf_place)(data[0] % 7);
    char *s = fuzz_copy(data + 1, size - 1);
    struct waf_hit hit;
    memset(&hit, 0, sizeof hit);
    if (detectors[which](s, size - 1, place, &hit)) check_hit(&hit, size - 1);
    if (which == 0) {
        char fp[8];
        memset(fp, 'X', sizeof fp);
        waf_sqli_fingerprint(s, size - 1, fp);
        FUZZ_CHECK(memchr(fp, '\0', sizeof fp) != NULL && strlen(fp) <= 5);
    }
    free(s);
}

static void check_report(const struct waf_report *rep, int verdict, int threshold)
{
    FUZZ_CHECK(verdict == 0 || verdict == 1);
    FUZZ_CHECK(rep->nfindings <= WAF_MAX_FINDINGS);
    if (!rep->over_limit) FUZZ_CHECK(verdict == (rep->score >= threshold));
    for (size_t i = 0; i < rep->nfindings; i++) {
        const struct waf_finding *f = &rep->findings[i];
        FUZZ_CHECK(memchr(f->var, '\0', sizeof f->var) != NULL);
        FUZZ_CHECK(memchr(f->excerpt, '\0', sizeof f->excerpt) != NULL);
        for (const char *p = f->excerpt; *p; p++)
            FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
        FUZZ_CHECK(f->reason != NULL);
        FUZZ_CHECK((unsigned)f->cls < WAF_CLASS_COUNT);
    }
}

static const char *line_end(const char *p, const char *end)
{
    const char *e = memchr(p, '\n', (size_t)(end - p));
    return e ? e : end;
}

static void run_request(uint8_t mode, const uint8_t *data, size_t size)
{
    char *buf = fuzz_copy(data, size);
    const char *p = buf, *end = buf + size, *e = line_end(p, end);
    struct waf_request_view v;
    struct waf_header headers[MAX_HEADERS];
    memset(&v, 0, sizeof v);
    const char *sp = memchr(p, ' ', (size_t)(e - p));
    v.method = p;
    v.method_len = sp ? (size_t)(sp - p) : (size_t)(e - p);
    v.target = sp ? sp + 1 : e;
    v.target_len = (size_t)(e - v.target);
    p = e < end ? e + 1 : end;
    while (p < end && v.nheaders < MAX_HEADERS) {
        e = line_end(p, end);
        if (e == p) {
            p = e + 1;
            break;
        }
        const char *colon = memchr(p, ':', (size_t)(e - p));
        struct waf_header *h = &headers[v.nheaders++];
        h->name = p;
        h->name_len = colon ? (size_t)(colon - p) : (size_t)(e - p);
        h->value = colon ? colon + 1 : e;
        while (h->value < e && *h->value == ' ')
            h->value++;
        h->value_len = (size_t)(e - h->value);
        p = e < end ? e + 1 : end;
    }
    v.headers = headers;
    v.body = p < end ? p : NULL;
    v.body_len = p < end ? (size_t)(end - p) : 0;
    v.body_truncated = (mode >> 4) & 1;

    const struct waf_policy *pol = mode & 0x20 ? busy : plain;
    int threshold = mode & 0x20 ? 3 : 5;
    struct waf_report rep;
    int verdict = waf_inspect(pol, &v, 0, &rep);
    check_report(&rep, verdict, threshold);
    verdict = waf_inspect(pol, &v, 1 + (mode >> 6), &rep); /* threshold override */
    check_report(&rep, verdict, 1 + (mode >> 6));
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t mode = data[0];
    if (mode < NDETECTORS)
        run_detector(mode, data + 1, size - 1);
    else
        run_request(mode, data + 1, size - 1);
    return 0;
}
