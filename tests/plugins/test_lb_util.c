/* Helpers of the load balancer's unit tests; see test_lb_util.h. */
#include "test_lb_util.h"

#include <CUnit/Basic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int usable_mask(const void *ctx, unsigned i)
{
    const struct lb_test_pool *t = ctx;
    return !t->down[i];
}

void lb_test_pool_init_ids(struct lb_test_pool *t, const struct lb_policy *policy, unsigned n,
                           const unsigned *weights, const unsigned *ids)
{
    memset(t, 0, sizeof *t);
    CU_ASSERT_FATAL(n <= LB_TEST_MAX);
    t->rng = 0x1234567887654321ull;
    t->now = 1000.0;
    t->tuning.ewma_decay = 10;
    t->pool.m = t->m;
    t->pool.n = n;
    t->pool.policy = policy;
    for (unsigned i = 0; i < n; i++) {
        snprintf(t->names[i], sizeof t->names[i], "10.0.%u.%u:8080", ids[i] / 250, ids[i] % 250 + 1);
        t->m[i] = (struct lb_member){.name = t->names[i], .index = i,
                                     .weight = weights ? weights[i] : 1};
        t->pool.total_weight += t->m[i].weight;
    }
    CU_ASSERT_FATAL(policy->create(&t->pool, &t->tuning, &t->pool.ps) == 0);
}

void lb_test_pool_init(struct lb_test_pool *t, const struct lb_policy *policy, unsigned n,
                       const unsigned *weights, unsigned names_from)
{
    unsigned ids[LB_TEST_MAX];
    for (unsigned i = 0; i < n && i < LB_TEST_MAX; i++) ids[i] = names_from + i;
    lb_test_pool_init_ids(t, policy, n, weights, ids);
}

unsigned lb_test_id(const struct lb_test_pool *t, int member)
{
    unsigned a, b;
    sscanf(t->names[member], "10.0.%u.%u", &a, &b);
    return a * 250 + b - 1;
}

void lb_test_pool_free(struct lb_test_pool *t)
{
    t->pool.policy->destroy(t->pool.ps);
    t->pool.ps = NULL;
}

static int pick(struct lb_test_pool *t, uint64_t key, int has_key)
{
    struct lb_ask a = {.usable = usable_mask, .ctx = t, .hash = key, .has_hash = has_key,
                       .now = t->now, .rng = &t->rng};
    return t->pool.policy->pick(t->pool.ps, &t->pool, &a);
}

int lb_test_pick_key(struct lb_test_pool *t, uint64_t key)
{
    return pick(t, key, 1);
}

int lb_test_pick(struct lb_test_pool *t)
{
    return pick(t, 0, 0);
}

bool lb_check(bool ok, const char *file, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    CU_assertImplementation(ok, (unsigned)line, msg, file, "", CU_FALSE);
    if (!ok) fprintf(stderr, "%s:%d: check failed: %s\n", file, line, msg);
    return ok;
}

bool lb_check_int(long long got, long long want, const char *expr, const char *file, int line)
{
    return lb_check(got == want, file, line, "%s == %lld (got %lld)", expr, want, got);
}

int lb_test_run(const char *suite, const struct lb_test *tests, size_t n)
{
    if (CU_initialize_registry() != CUE_SUCCESS) return 99;
    CU_pSuite s = CU_add_suite(suite, NULL, NULL);
    for (size_t i = 0; s && i < n; i++) CU_add_test(s, tests[i].name, tests[i].fn);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
