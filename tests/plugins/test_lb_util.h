/*
 * Helpers of the load balancer's unit tests (tests/plugins/test_lb_*.c, one
 * program per file of plugins/lb, linked with that file directly).
 *
 * They need nothing from foyer's core: pools are built here the way
 * plugins/lb/service.c builds them, and an lb_ask's `usable` reads a mask.
 */
#ifndef TEST_LB_UTIL_H
#define TEST_LB_UTIL_H

#include "policy.h"

#include <CUnit/CUnit.h>
#include <stdbool.h>

#define LB_TEST_MAX 128

struct lb_test_pool {
    struct lb_pool pool;
    struct lb_member m[LB_TEST_MAX];
    char names[LB_TEST_MAX][32];
    bool down[LB_TEST_MAX]; /* usable() says no for these */
    uint64_t rng;
    double now;
    struct lb_tuning tuning;
};

/* n members named "10.0.<i/250>.<i%250+1>:8080" with the given weights (NULL:
 * all 1); names_from shifts the naming so that pools sharing endpoints can be
 * built (member i is then endpoint names_from + i). Creates the policy's state. */
void lb_test_pool_init(struct lb_test_pool *t, const struct lb_policy *policy, unsigned n,
                       const unsigned *weights, unsigned names_from);
/* The same, with explicit endpoint numbers: member i is endpoint ids[i]. */
void lb_test_pool_init_ids(struct lb_test_pool *t, const struct lb_policy *policy, unsigned n,
                           const unsigned *weights, const unsigned *ids);
void lb_test_pool_free(struct lb_test_pool *t);
/* One pick with the pool's down[] mask, for a request with this key, or
 * with none (hashing policies then pick at random). */
int lb_test_pick_key(struct lb_test_pool *t, uint64_t key);
int lb_test_pick(struct lb_test_pool *t);
/* The endpoint number a member stands for (names_from + i, or ids[i]). */
unsigned lb_test_id(const struct lb_test_pool *t, int member);

/* ---- checks (CUnit, with the values involved in the message) ---- */

bool lb_check(bool ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define CHECK(cond) lb_check(!!(cond), __FILE__, __LINE__, "%s", #cond)
#define CHECKF(cond, ...) lb_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
/* Evaluates got once: it is often a call with effects. */
bool lb_check_int(long long got, long long want, const char *expr, const char *file, int line);
#define CHECK_INT(got, want)                                                             \
    lb_check_int((long long)(got), (long long)(want), #got, __FILE__, __LINE__)

struct lb_test {
    const char *name;
    CU_TestFunc fn;
};
#define LB_TEST(fn) {#fn, fn}
int lb_test_run(const char *suite, const struct lb_test *tests, size_t n);
#define LB_TEST_MAIN(suite, tests)                                                       \
    int main(void) { return lb_test_run(suite, tests, sizeof tests / sizeof *tests); }

#endif
