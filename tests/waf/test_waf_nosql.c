/* tests/waf/test_waf_nosql.c — unit tests for waf_detect_nosql (NoSQL / ORM injection).
 */
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
    {WAF_PLACE_ARG_NAME, "username[$ne]"},
    {WAF_PLACE_ARG_NAME, "$gt"},
    {WAF_PLACE_ARG, "{\"$where\": \"sleep(100)\"}"},
    {WAF_PLACE_ARG, "', $or: [ {}, { 'a':'a"},
    {WAF_PLACE_ARG, "';return true;//"},
    {WAF_PLACE_ARG, "{\"password\": {\"$regex\": \"^a\"}}"},
    {WAF_PLACE_ARG, "do{x=1}while(x)"},
    {WAF_PLACE_ARG, "db.users.find()"},
    {WAF_PLACE_ARG, "this.password.match(/^a/)"},
    {WAF_PLACE_ARG_NAME, "created_by__user__password__startswith"},
};

/* Near misses: ordinary data that shares characters with the attacks. */
static const struct sample benign[] = {
    {WAF_PLACE_ARG, "price is $5"},
    {WAF_PLACE_ARG, "{\"total\": 5, \"currency\": \"USD\"}"},
    {WAF_PLACE_ARG_NAME, "filter[category]"},
    {WAF_PLACE_ARG_NAME, "created_at__gte"},
    {WAF_PLACE_ARG, "I do {not} know"},
    {WAF_PLACE_ARG, "It's done; return it"},
    {WAF_PLACE_ARG, "costs $ne dollars"},
    {WAF_PLACE_ARG_NAME, "user_name"},
};

static void test_attacks(void)
{
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        struct waf_hit h;
        memset(&h, 0, sizeof h);
        int r =
            waf_detect_nosql(attacks[i].s, strlen(attacks[i].s), attacks[i].place, &h);
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
        int r = waf_detect_nosql(benign[i].s, strlen(benign[i].s), benign[i].place, &h);
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
            (void)waf_detect_nosql(odd[i], strlen(odd[i]), (enum waf_place)p, NULL);
    size_t n = 1 << 20;
    char *big = malloc(n);
    CU_ASSERT_FATAL(big != NULL);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)("a.%/\\$({<;|&'\"\0\xc0\xae"[i % 17]);
    for (int p = WAF_PLACE_PATH; p <= WAF_PLACE_BODY; p++)
        (void)waf_detect_nosql(big, n, (enum waf_place)p, NULL);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 7919u >> 3);
    for (int p = WAF_PLACE_PATH; p <= WAF_PLACE_BODY; p++)
        (void)waf_detect_nosql(big, n, (enum waf_place)p, NULL);
    free(big);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_pSuite s = CU_add_suite("waf_nosql", NULL, NULL);
    CU_add_test(s, "attacks", test_attacks);
    CU_add_test(s, "benign near misses", test_benign);
    CU_add_test(s, "robustness", test_robustness);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}
