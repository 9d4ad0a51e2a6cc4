/* tests/waf/test_waf_ldap.c — unit tests for waf_detect_ldap (LDAP filter injection). */
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
    {WAF_PLACE_ARG, "*)(uid=*))(|(uid=*"},  {WAF_PLACE_ARG, "admin)(&)"},
    {WAF_PLACE_ARG, "*(|(objectclass=*))"}, {WAF_PLACE_ARG, "x)(|(password=*)"},
    {WAF_PLACE_ARG, "admin*))%00"},         {WAF_PLACE_ARG, "(&(cn=*)(userPassword=*))"},
};

/* Near misses: ordinary data that shares characters with the attacks. */
static const struct sample benign[] = {
    {WAF_PLACE_ARG, "(a)(b)"},
    {WAF_PLACE_ARG, "John (Johnny) Smith"},
    {WAF_PLACE_ARG, "smile :)(wink"},
    {WAF_PLACE_ARG, "f(x) = 2*(y)"},
    {WAF_PLACE_ARG, "see note (1) and (2)"},
    {WAF_PLACE_ARG, "a*b)"},
};

static void test_attacks(void)
{
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        struct waf_hit h;
        memset(&h, 0, sizeof h);
        int r = waf_detect_ldap(attacks[i].s, strlen(attacks[i].s), attacks[i].place, &h);
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
        int r = waf_detect_ldap(benign[i].s, strlen(benign[i].s), benign[i].place, &h);
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
            (void)waf_detect_ldap(odd[i], strlen(odd[i]), (enum waf_place)p, NULL);
    size_t n = 1 << 20;
    char *big = malloc(n);
    CU_ASSERT_FATAL(big != NULL);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)("a.%/\\$({<;|&'\"\0\xc0\xae"[i % 17]);
    for (int p = WAF_PLACE_PATH; p <= WAF_PLACE_BODY; p++)
        (void)waf_detect_ldap(big, n, (enum waf_place)p, NULL);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 7919u >> 3);
    for (int p = WAF_PLACE_PATH; p <= WAF_PLACE_BODY; p++)
        (void)waf_detect_ldap(big, n, (enum waf_place)p, NULL);
    free(big);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_pSuite s = CU_add_suite("waf_ldap", NULL, NULL);
    CU_add_test(s, "attacks", test_attacks);
    CU_add_test(s, "benign near misses", test_benign);
    CU_add_test(s, "robustness", test_robustness);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}
