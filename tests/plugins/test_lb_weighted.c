/* plugins/lb/weighted.c: smooth weighted round robin gives exact proportions
 * over every window of sum(weights) picks, interleaved. */
#include "test_lb_util.h"

#include <string.h>

/* nginx's documented sequence for weights 5, 1, 1. */
static void nginx_sequence(void)
{
    static const unsigned w[] = {5, 1, 1};
    static const char want[] = "aabacaa";
    struct lb_test_pool t;
    char got[sizeof want] = {0};
    lb_test_pool_init(&t, &lb_weighted, 3, w, 0);
    for (int k = 0; k < 7; k++) got[k] = (char)('a' + lb_test_pick(&t));
    CHECKF(strcmp(got, want) == 0, "sequence %s, want %s", got, want);
    lb_test_pool_free(&t);
}

/* Every window of W consecutive picks holds exactly w_i picks of member i. */
static void exact_in_every_window(const unsigned *w, unsigned n)
{
    struct lb_test_pool t;
    unsigned total = 0;
    for (unsigned i = 0; i < n; i++) total += w[i];
    lb_test_pool_init(&t, &lb_weighted, n, w, 0);
    for (int window = 0; window < 20; window++) {
        unsigned count[16] = {0};
        for (unsigned k = 0; k < total; k++) count[lb_test_pick(&t)]++;
        for (unsigned i = 0; i < n; i++)
            CHECKF(count[i] == w[i], "window %d: member %u picked %u times, weight %u", window,
                   i, count[i], w[i]);
    }
    lb_test_pool_free(&t);
}

static void exact_proportions(void)
{
    static const unsigned a[] = {1, 2, 3, 4}, b[] = {7, 3}, c[] = {100, 1, 1}, d[] = {1, 1, 1};
    exact_in_every_window(a, 4);
    exact_in_every_window(b, 2);
    exact_in_every_window(c, 3);
    exact_in_every_window(d, 3);
}

/* Equal weights: plain rotation, in order (the default policy relies on it). */
static void equal_weights_rotate(void)
{
    struct lb_test_pool t;
    lb_test_pool_init(&t, &lb_weighted, 3, NULL, 0);
    for (int k = 0; k < 9; k++) CHECK_INT(lb_test_pick(&t), k % 3);
    lb_test_pool_free(&t);
}

/* Never more than one pick of a weight-1 member in a row among heavy ones:
 * the smoothness that keeps bursts off small endpoints. */
static void interleaved(void)
{
    static const unsigned w[] = {3, 3, 1};
    struct lb_test_pool t;
    int last = -1, run = 0, worst = 0;
    lb_test_pool_init(&t, &lb_weighted, 3, w, 0);
    for (int k = 0; k < 700; k++) {
        int i = lb_test_pick(&t);
        run = i == last ? run + 1 : 1;
        last = i;
        if (run > worst) worst = run;
    }
    CHECKF(worst <= 1, "longest run %d", worst);
    lb_test_pool_free(&t);
}

/* A down member: the others keep exact relative proportions. */
static void unusable_skipped(void)
{
    static const unsigned w[] = {1, 2, 3};
    struct lb_test_pool t;
    int count[3] = {0};
    lb_test_pool_init(&t, &lb_weighted, 3, w, 0);
    t.down[1] = true;
    for (int k = 0; k < 400; k++) count[lb_test_pick(&t)]++;
    CHECK_INT(count[1], 0);
    CHECK_INT(count[0], 100);
    CHECK_INT(count[2], 300);
    t.down[0] = t.down[2] = true;
    CHECK_INT(lb_test_pick(&t), -1);
    lb_test_pool_free(&t);
}

static const struct lb_test tests[] = {
    LB_TEST(nginx_sequence),
    LB_TEST(exact_proportions),
    LB_TEST(equal_weights_rotate),
    LB_TEST(interleaved),
    LB_TEST(unusable_skipped),
};
LB_TEST_MAIN("lb weighted", tests)
