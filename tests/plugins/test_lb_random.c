/* plugins/lb/random.c: weighted random, never a down member. */
#include "test_lb_util.h"

#define PICKS 200000

static void weighted_distribution(void)
{
    static const unsigned w[] = {1, 2, 3, 4};
    struct lb_test_pool t;
    int count[4] = {0};
    lb_test_pool_init(&t, &lb_random, 4, w, 0);
    for (int k = 0; k < PICKS; k++) count[lb_test_pick(&t)]++;
    for (int i = 0; i < 4; i++) {
        double share = (double)count[i] / PICKS, want = w[i] / 10.0;
        /* sigma is at most 0.0011 here: 0.006 is more than 5 sigma */
        CHECKF(share > want - 0.006 && share < want + 0.006, "weight %u: share %.4f", w[i], share);
    }
    lb_test_pool_free(&t);
}

static void down_members_never(void)
{
    static const unsigned w[] = {5, 1, 1, 1};
    struct lb_test_pool t;
    int count[4] = {0};
    lb_test_pool_init(&t, &lb_random, 4, w, 0);
    t.down[0] = t.down[2] = true;
    for (int k = 0; k < 20000; k++) count[lb_test_pick(&t)]++;
    CHECK_INT(count[0], 0);
    CHECK_INT(count[2], 0);
    CHECKF(count[1] > 9400 && count[1] < 10600, "member 1: %d", count[1]);
    t.down[1] = t.down[3] = true;
    CHECK_INT(lb_test_pick(&t), -1);
    lb_test_pool_free(&t);
}

/* Mostly down (the draws miss): the scan among the usable still spreads. */
static void mostly_down(void)
{
    struct lb_test_pool t;
    int count[40] = {0};
    lb_test_pool_init(&t, &lb_random, 40, NULL, 0);
    for (int i = 0; i < 40; i++) t.down[i] = i % 20 != 0;
    for (int k = 0; k < 20000; k++) count[lb_test_pick(&t)]++;
    CHECKF(count[0] > 9400 && count[0] < 10600, "member 0: %d", count[0]);
    CHECK_INT(count[0] + count[20], 20000);
    lb_test_pool_free(&t);
}

static const struct lb_test tests[] = {
    LB_TEST(weighted_distribution),
    LB_TEST(down_members_never),
    LB_TEST(mostly_down),
};
LB_TEST_MAIN("lb random", tests)
