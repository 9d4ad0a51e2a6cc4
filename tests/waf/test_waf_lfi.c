/* tests/waf/test_waf_lfi.c — unit tests for waf_detect_lfi (path traversal and local file
 * inclusion). */
#include "detect.h"

#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

struct sample {
    enum waf_place place;
    const char *s;
};

/* Written for these tests: attacks of the class, in its usual encodings. */
static const struct sample attacks[] = {
    {WAF_PLACE_ARG, "../../etc/passwd"},
    {WAF_PLACE_ARG, "..\\..\\windows\\win.ini"},
    {WAF_PLACE_ARG, "/var/www/../../etc/shadow"},
    {WAF_PLACE_ARG, "..%252f..%252fetc%252fpasswd"},
    {WAF_PLACE_ARG, "%c0%ae%c0%ae/%c0%ae%c0%ae/boot.ini"},
    {WAF_PLACE_ARG, "\xc0\xae\xc0\xae\xc0\xaf\xc0\xae\xc0\xae\xc0\xaf"
                    "etc/issue"},
    {WAF_PLACE_ARG, "..%u2215..%u2215etc%u2215hosts"},
    {WAF_PLACE_ARG, "0x2e0x2e0x2fwindows/system32/config"},
    {WAF_PLACE_ARG, "....//....//etc/group"},
    {WAF_PLACE_ARG, "/.../.../.../config.sys"},
    {WAF_PLACE_ARG, "file:///proc/self/environ"},
    {WAF_PLACE_ARG, "C:\\inetpub\\wwwroot\\web.config"},
    {WAF_PLACE_ARG, "/proc/self/cmdline"},
    {WAF_PLACE_ARG, "WEB-INF/web.xml"},
    {WAF_PLACE_ARG, "report.pdf%00.html"},
    {WAF_PLACE_PATH, "/static/../../../etc/hosts"},
    {WAF_PLACE_PATH, "/app/.git/config"},
    {WAF_PLACE_PATH, "/backup/db.sql"},
    {WAF_PLACE_COOKIE, "../../../../home/user/.ssh/id_rsa"},
};

/* Near misses: ordinary data that shares characters with the attacks. */
static const struct sample benign[] = {
    {WAF_PLACE_ARG, "Wait... what?"},
    {WAF_PLACE_ARG, "see page 1..10"},
    {WAF_PLACE_ARG, "report.final.v2.pdf"},
    {WAF_PLACE_ARG, "/account/orders?page=2"},
    {WAF_PLACE_ARG, "https://example.com/a/b.html"},
    {WAF_PLACE_ARG, "jane.doe@example.com"},
    {WAF_PLACE_ARG, "1.5 < 2.5"},
    {WAF_PLACE_ARG, "He said: \"ok.\""},
    {WAF_PLACE_PATH, "/static/app.min.js"},
    {WAF_PLACE_PATH, "/.well-known/acme-challenge/x"},
    {WAF_PLACE_ARG, "{\"a\": \"b.c\"}"},
    {WAF_PLACE_ARG, "caf\xc3\xa9 au lait"},
    {WAF_PLACE_ARG, "foo..."},
    {WAF_PLACE_HEADER, "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/115.0"},
};

static void test_attacks(void)
{
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        struct waf_hit h;
        memset(&h, 0, sizeof h);
        int r = waf_detect_lfi(attacks[i].s, strlen(attacks[i].s), attacks[i].place, &h);
        if (!r) fprintf(stderr, "missed: %s\n", attacks[i].s);
        CU_ASSERT_EQUAL(r, 1);
        if (r) {
            CU_ASSERT(h.rule != 0);
            CU_ASSERT(h.score >= 3);
            CU_ASSERT(h.reason != NULL);
            CU_ASSERT(h.at + h.len <= strlen(attacks[i].s));
        }
    }
}

static void test_benign(void)
{
    for (size_t i = 0; i < sizeof benign / sizeof benign[0]; i++) {
        struct waf_hit h;
        int r = waf_detect_lfi(benign[i].s, strlen(benign[i].s), benign[i].place, &h);
        if (r) fprintf(stderr, "false positive: %s (%s)\n", benign[i].s, h.reason);
        CU_ASSERT_EQUAL(r, 0);
    }
}

/* Arbitrary bytes: NUL, invalid UTF-8, truncated escapes, a large value; nothing
 * may crash or read out of bounds (run under ASan), and NULL hit is accepted. */
static void test_robustness(void)
{
    static const char *const odd[] = {"",   "%",  "%u12", "%c0", "\xc0", "${",
                                      "{{", "<%", "$",    "(",   "'",    "\\",
                                      "0x", "..", "/",    "|",   "`",    "[$"};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        for (int p = WAF_PLACE_PATH; p <= WAF_PLACE_BODY; p++)
            (void)waf_detect_lfi(odd[i], strlen(odd[i]), (enum waf_place)p, NULL);
    size_t n = 1 << 20;
    char *big = malloc(n);
    CU_ASSERT_FATAL(big != NULL);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)("a.%/\\$({<;|&'\"\0\xc0\xae"[i % 17]);
    for (int p = WAF_PLACE_PATH; p <= WAF_PLACE_BODY; p++)
        (void)waf_detect_lfi(big, n, (enum waf_place)p, NULL);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 7919u >> 3);
    for (int p = WAF_PLACE_PATH; p <= WAF_PLACE_BODY; p++)
        (void)waf_detect_lfi(big, n, (enum waf_place)p, NULL);
    free(big);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_pSuite s = CU_add_suite("waf_lfi", NULL, NULL);
    CU_add_test(s, "attacks", test_attacks);
    CU_add_test(s, "benign near misses", test_benign);
    CU_add_test(s, "robustness", test_robustness);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}
