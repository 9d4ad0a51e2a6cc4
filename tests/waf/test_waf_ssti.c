/* tests/waf/test_waf_ssti.c — unit tests for waf_detect_ssti (server-side template
 * injection). */
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
    {WAF_PLACE_ARG, "{{7*7}}"},
    {WAF_PLACE_ARG, "{{ ''.__class__.__mro__[1] }}"},
    {WAF_PLACE_ARG, "{{config.items()}}"},
    {WAF_PLACE_ARG, "${7*7}"},
    {WAF_PLACE_ARG, "#{7*7}"},
    {WAF_PLACE_ARG, "<%= 7*7 %>"},
    {WAF_PLACE_ARG, "{% import os %}"},
    {WAF_PLACE_ARG, "<#assign ex=\"freemarker.template.utility.Execute\"?new()>"},
    {WAF_PLACE_ARG, "{{ get_user_file(\"/etc/hosts\") }}"},
    {WAF_PLACE_ARG, "{{ self._TemplateReference__context }}"},
};

/* Near misses: ordinary data that shares characters with the attacks. */
static const struct sample benign[] = {
    {WAF_PLACE_ARG, "{{name}}"},
    {WAF_PLACE_ARG, "{{ user.first_name }}"},
    {WAF_PLACE_ARG, "Hello ${name}"},
    {WAF_PLACE_ARG, "{\"a\": {\"b\": 1}}"},
    {WAF_PLACE_ARG, "query { user(id: 1) { name } }"},
    {WAF_PLACE_ARG, "50% off {today}"},
    {WAF_PLACE_ARG, "{% $NUM_VIEWS|STRING_FORMAT:\"%D\" %} VUES"},
    {WAF_PLACE_ARG, "a <% b"},
};

static void test_attacks(void)
{
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        struct waf_hit h;
        memset(&h, 0, sizeof h);
        int r = waf_detect_ssti(attacks[i].s, strlen(attacks[i].s), attacks[i].place, &h);
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
        int r = waf_detect_ssti(benign[i].s, strlen(benign[i].s), benign[i].place, &h);
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
            (void)waf_detect_ssti(odd[i], strlen(odd[i]), (enum waf_place)p, NULL);
    size_t n = 1 << 20;
    char *big = malloc(n);
    CU_ASSERT_FATAL(big != NULL);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)("a.%/\\$({<;|&'\"\0\xc0\xae"[i % 17]);
    for (int p = WAF_PLACE_PATH; p <= WAF_PLACE_BODY; p++)
        (void)waf_detect_ssti(big, n, (enum waf_place)p, NULL);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 7919u >> 3);
    for (int p = WAF_PLACE_PATH; p <= WAF_PLACE_BODY; p++)
        (void)waf_detect_ssti(big, n, (enum waf_place)p, NULL);
    free(big);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_pSuite s = CU_add_suite("waf_ssti", NULL, NULL);
    CU_add_test(s, "attacks", test_attacks);
    CU_add_test(s, "benign near misses", test_benign);
    CU_add_test(s, "robustness", test_robustness);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}
