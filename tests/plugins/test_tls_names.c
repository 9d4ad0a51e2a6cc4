/* plugins/tls/names.c: the SNI table — exact names, one-label wildcards,
 * case and trailing dots, the first certificate winning a shared name. */
#include "tls.h"

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct tls_names table(void)
{
    struct tls_names t = {0};
    CU_ASSERT_EQUAL(tls_names_add(&t, "default.test", 0), 0);
    CU_ASSERT_EQUAL(tls_names_add(&t, "WWW.Example.Test", 1), 0);
    CU_ASSERT_EQUAL(tls_names_add(&t, "example.test", 1), 0);
    CU_ASSERT_EQUAL(tls_names_add(&t, "*.wild.test", 2), 0);
    CU_ASSERT_EQUAL(tls_names_add(&t, "www.example.test", 3), 0); /* shadowed by set 1 */
    CU_ASSERT_EQUAL(tls_names_add(&t, "exact.wild.test", 4), 0);
    CU_ASSERT_EQUAL(tls_names_add(&t, "fqdn.test.", 5), 0);
    tls_names_finish(&t);
    return t;
}

static void exact_names(void)
{
    struct tls_names t = table();
    CU_ASSERT_EQUAL(tls_names_find(&t, "default.test"), 0);
    CU_ASSERT_EQUAL(tls_names_find(&t, "www.example.test"), 1);
    CU_ASSERT_EQUAL(tls_names_find(&t, "example.test"), 1);
    CU_ASSERT_EQUAL(tls_names_find(&t, "nope.test"), -1);
    CU_ASSERT_EQUAL(tls_names_find(&t, ""), -1);
    CU_ASSERT_EQUAL(tls_names_find(&t, NULL), -1);
    tls_names_free(&t);
}

static void case_and_trailing_dot(void)
{
    struct tls_names t = table();
    CU_ASSERT_EQUAL(tls_names_find(&t, "WWW.EXAMPLE.TEST"), 1);
    CU_ASSERT_EQUAL(tls_names_find(&t, "www.example.test."), 1);
    CU_ASSERT_EQUAL(tls_names_find(&t, "fqdn.test"), 5);
    CU_ASSERT_EQUAL(tls_names_find(&t, "A.Wild.Test"), 2);
    tls_names_free(&t);
}

static void wildcards_cover_one_label(void)
{
    struct tls_names t = table();
    CU_ASSERT_EQUAL(tls_names_find(&t, "a.wild.test"), 2);
    CU_ASSERT_EQUAL(tls_names_find(&t, "exact.wild.test"), 4); /* exact beats wildcard */
    CU_ASSERT_EQUAL(tls_names_find(&t, "wild.test"), -1);      /* not the bare parent */
    CU_ASSERT_EQUAL(tls_names_find(&t, "a.b.wild.test"), -1);  /* not two labels */
    CU_ASSERT_EQUAL(tls_names_find(&t, ".wild.test"), -1);
    CU_ASSERT_EQUAL(tls_names_find(&t, "test"), -1);
    tls_names_free(&t);
}

static void first_set_wins(void)
{
    struct tls_names t = table();
    size_t n = 0;
    for (size_t i = 0; i < t.n; i++) n += strcmp(t.v[i].name, "www.example.test") == 0;
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(tls_names_find(&t, "www.example.test"), 1);
    tls_names_free(&t);
}

static void long_names(void)
{
    struct tls_names t = {0};
    char name[300];
    memset(name, 'a', sizeof name);
    name[299] = '\0';
    CU_ASSERT_EQUAL(tls_names_add(&t, name, 0), 0); /* ignored: longer than a DNS name */
    tls_names_finish(&t);
    CU_ASSERT_EQUAL(t.n, 0);
    CU_ASSERT_EQUAL(tls_names_find(&t, name), -1);
    tls_names_free(&t);
}

static void many_names(void)
{
    struct tls_names t = {0};
    char name[64];
    for (unsigned i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "host%u.example.test", i);
        CU_ASSERT_EQUAL_FATAL(tls_names_add(&t, name, i % 7), 0);
    }
    tls_names_finish(&t);
    for (unsigned i = 0; i < 5000; i += 97) {
        snprintf(name, sizeof name, "HOST%u.example.test", i);
        CU_ASSERT_EQUAL(tls_names_find(&t, name), (int)(i % 7));
    }
    tls_names_free(&t);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("tls names", NULL, NULL);
    CU_add_test(s, "exact_names", exact_names);
    CU_add_test(s, "case_and_trailing_dot", case_and_trailing_dot);
    CU_add_test(s, "wildcards_cover_one_label", wildcards_cover_one_label);
    CU_add_test(s, "first_set_wins", first_set_wins);
    CU_add_test(s, "long_names", long_names);
    CU_add_test(s, "many_names", many_names);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
