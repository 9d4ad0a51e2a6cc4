/* tests/waf/detector_test.h — what every detector's unit test checks the same
 * way: its attacks fire with a well-formed hit, its near-miss benign inputs do
 * not, and arbitrary bytes (NUL, invalid UTF-8, truncated escapes, 1 MiB
 * values) in every place neither crash nor read out of bounds (the tests also
 * run under ASan), with a NULL hit accepted. Included by one test program. */
#ifndef FOYER_WAF_DETECTOR_TEST_H
#define FOYER_WAF_DETECTOR_TEST_H

#include "detect.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sample {
    enum waf_place place;
    const char *s;
};

#define NSAMPLES(a) (sizeof(a) / sizeof((a)[0]))

static void check_attacks(waf_detector_fn fn, const struct sample *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct waf_hit h;
        memset(&h, 0, sizeof h);
        int r = fn(v[i].s, strlen(v[i].s), v[i].place, &h);
        if (!r) fprintf(stderr, "missed: %s\n", v[i].s);
        CU_ASSERT_EQUAL(r, 1);
        if (r) {
            CU_ASSERT(h.rule != 0);
            CU_ASSERT(h.score >= 3);
            CU_ASSERT(h.reason != NULL);
            CU_ASSERT(h.at + h.len <= strlen(v[i].s));
        }
    }
}

static void check_benign(waf_detector_fn fn, const struct sample *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct waf_hit h;
        int r = fn(v[i].s, strlen(v[i].s), v[i].place, &h);
        if (r) fprintf(stderr, "false positive: %s (%s)\n", v[i].s, h.reason);
        CU_ASSERT_EQUAL(r, 0);
    }
}

static void check_robustness(waf_detector_fn fn)
{
    static const char *const odd[] = {"",   "%",  "%u12", "%c0", "\xc0", "${",
                                      "{{", "<%", "$",    "(",   "'",    "\\",
                                      "0x", "..", "/",    "|",   "`",    "[$"};
    for (size_t i = 0; i < NSAMPLES(odd); i++)
        for (int p = WAF_PLACE_PATH; p <= WAF_PLACE_BODY; p++)
            (void)fn(odd[i], strlen(odd[i]), (enum waf_place)p, NULL);
    size_t n = 1 << 20;
    char *big = malloc(n);
    CU_ASSERT_FATAL(big != NULL);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)("a.%/\\$({<;|&'\"\0\xc0\xae"[i % 17]);
    for (int p = WAF_PLACE_PATH; p <= WAF_PLACE_BODY; p++)
        (void)fn(big, n, (enum waf_place)p, NULL);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 7919u >> 3);
    for (int p = WAF_PLACE_PATH; p <= WAF_PLACE_BODY; p++)
        (void)fn(big, n, (enum waf_place)p, NULL);
    free(big);
}

struct named_test {
    const char *name;
    void (*fn)(void);
};

/* Runs the tests as one suite; main's exit code. */
static int run_suite(const char *suite, const struct named_test *t, size_t n)
{
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_pSuite s = CU_add_suite(suite, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        CU_add_test(s, t[i].name, t[i].fn);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}

#endif
