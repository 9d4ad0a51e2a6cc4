/* plugins/lb/round_robin.c: strict rotation, skipping what cannot be used. */
#include "test_lb_util.h"

static void rotation_in_order(void)
{
    struct lb_test_pool t;
    lb_test_pool_init(&t, &lb_round_robin, 4, NULL, 0);
    for (int k = 0; k < 12; k++) CHECK_INT(lb_test_pick(&t), k % 4);
    lb_test_pool_free(&t);
}

static void exact_shares(void)
{
    struct lb_test_pool t;
    int count[7] = {0};
    lb_test_pool_init(&t, &lb_round_robin, 7, NULL, 0);
    for (int k = 0; k < 7000; k++) count[lb_test_pick(&t)]++;
    for (int i = 0; i < 7; i++) CHECK_INT(count[i], 1000);
    lb_test_pool_free(&t);
}

/* A down member's turn goes to the next one; the others keep equal shares. */
static void skips_unusable(void)
{
    struct lb_test_pool t;
    int count[4] = {0};
    lb_test_pool_init(&t, &lb_round_robin, 4, NULL, 0);
    t.down[2] = true;
    for (int k = 0; k < 300; k++) count[lb_test_pick(&t)]++;
    CHECK_INT(count[2], 0);
    CHECK_INT(count[0], 100);
    CHECK_INT(count[1], 100);
    CHECK_INT(count[3], 100);
    t.down[0] = t.down[1] = t.down[3] = true;
    CHECK_INT(lb_test_pick(&t), -1);
    lb_test_pool_free(&t);
}

static void empty_pool(void)
{
    struct lb_test_pool t;
    lb_test_pool_init(&t, &lb_round_robin, 0, NULL, 0);
    CHECK_INT(lb_test_pick(&t), -1);
    lb_test_pool_free(&t);
}

static const struct lb_test tests[] = {
    LB_TEST(rotation_in_order),
    LB_TEST(exact_shares),
    LB_TEST(skips_unusable),
    LB_TEST(empty_pool),
};
LB_TEST_MAIN("lb round_robin", tests)
