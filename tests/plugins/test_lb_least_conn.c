/* plugins/lb/least_conn.c: fewest in-flight requests per unit of weight;
 * ties shared by smooth weighted round robin. */
#include "test_lb_util.h"

/* The member with the fewest requests in progress gets the next one. */
static void fewest_in_flight(void)
{
    struct lb_test_pool t;
    lb_test_pool_init(&t, &lb_least_conn, 4, NULL, 0);
    t.m[0].inflight = 3;
    t.m[1].inflight = 1;
    t.m[2].inflight = 2;
    t.m[3].inflight = 4;
    CHECK_INT(lb_test_pick(&t), 1);
    t.down[1] = true;
    CHECK_INT(lb_test_pick(&t), 2);
    lb_test_pool_free(&t);
}

/* Weighted: 2 in flight on weight 4 is lighter than 1 on weight 1. */
static void per_unit_of_weight(void)
{
    static const unsigned w[] = {1, 4};
    struct lb_test_pool t;
    lb_test_pool_init(&t, &lb_least_conn, 2, w, 0);
    t.m[0].inflight = 1;
    t.m[1].inflight = 2;
    CHECK_INT(lb_test_pick(&t), 1);
    t.m[1].inflight = 5;
    CHECK_INT(lb_test_pick(&t), 0);
    lb_test_pool_free(&t);
}

/* Sequential traffic (nothing in flight at each pick): all tie, and the
 * tie-break keeps the weights' proportions exactly. */
static void ties_follow_weights(void)
{
    static const unsigned w[] = {1, 3};
    struct lb_test_pool t;
    int count[2] = {0};
    lb_test_pool_init(&t, &lb_least_conn, 2, w, 0);
    for (int k = 0; k < 400; k++) count[lb_test_pick(&t)]++;
    CHECK_INT(count[0], 100);
    CHECK_INT(count[1], 300);
    lb_test_pool_free(&t);
}

/* Concurrent traffic that never finishes: in-flight counts grow in
 * proportion to the weights, never more than one request apart. */
static void concurrency_tracks_weights(void)
{
    static const unsigned w[] = {1, 2, 5};
    struct lb_test_pool t;
    lb_test_pool_init(&t, &lb_least_conn, 3, w, 0);
    for (int k = 0; k < 800; k++) {
        int i = lb_test_pick(&t);
        CHECK(i >= 0);
        lb_pool_acquire(&t.pool, (unsigned)i);
    }
    CHECKF(t.m[0].inflight >= 99 && t.m[0].inflight <= 101, "w1: %u", t.m[0].inflight);
    CHECKF(t.m[1].inflight >= 199 && t.m[1].inflight <= 201, "w2: %u", t.m[1].inflight);
    CHECKF(t.m[2].inflight >= 499 && t.m[2].inflight <= 501, "w5: %u", t.m[2].inflight);
    CHECK_INT(t.pool.inflight, 800);
    lb_test_pool_free(&t);
}

/* A slow member (its requests finish late) gets fewer new ones. */
static void slow_member_gets_less(void)
{
    struct lb_test_pool t;
    int count[3] = {0};
    lb_test_pool_init(&t, &lb_least_conn, 3, NULL, 0);
    for (int k = 0; k < 3000; k++) {
        int i = lb_test_pick(&t);
        count[i]++;
        lb_pool_acquire(&t.pool, (unsigned)i);
        /* members 0 and 1 finish at once; member 2 holds each request for 10 picks */
        if (i != 2) lb_pool_release(&t.pool, (unsigned)i);
        if (k % 10 == 9 && t.m[2].inflight) lb_pool_release(&t.pool, 2);
    }
    CHECKF(count[2] < count[0] / 4, "slow member got %d, fast %d and %d", count[2], count[0],
           count[1]);
    lb_test_pool_free(&t);
}

static const struct lb_test tests[] = {
    LB_TEST(fewest_in_flight),
    LB_TEST(per_unit_of_weight),
    LB_TEST(ties_follow_weights),
    LB_TEST(concurrency_tracks_weights),
    LB_TEST(slow_member_gets_less),
};
LB_TEST_MAIN("lb least_conn", tests)
