/* plugins/lb/ring_hash.c: spread, exact stability when endpoints leave or
 * join, passing down endpoints, bounded load. */
#include "test_lb_util.h"

#include <stdio.h>

#define KEYS 100000

static uint64_t key(int k)
{
    return lb_mix64((uint64_t)k + 1);
}

/* Keys per endpoint within 20% of the fair share (256 points each). */
static void key_distribution(void)
{
    static const unsigned ns[] = {3, 8, 20};
    for (size_t s = 0; s < sizeof ns / sizeof *ns; s++) {
        struct lb_test_pool t;
        unsigned n = ns[s];
        int count[20] = {0};
        lb_test_pool_init(&t, &lb_ring_hash, n, NULL, 0);
        for (int k = 0; k < KEYS; k++) count[lb_test_pick_key(&t, key(k))]++;
        double fair = (double)KEYS / n;
        for (unsigned i = 0; i < n; i++)
            CHECKF(count[i] > fair * 0.8 && count[i] < fair * 1.2, "n=%u member %u: %d keys",
                   n, i, count[i]);
        lb_test_pool_free(&t);
    }
}

static void weighted(void)
{
    static const unsigned w[] = {1, 3};
    struct lb_test_pool t;
    int count[2] = {0};
    lb_test_pool_init(&t, &lb_ring_hash, 2, w, 0);
    for (int k = 0; k < KEYS; k++) count[lb_test_pick_key(&t, key(k))]++;
    double share = (double)count[1] / KEYS;
    CHECKF(share > 0.70 && share < 0.80, "weight 3 of 4: share %.3f", share);
    lb_test_pool_free(&t);
}

/* Removing an endpoint moves its keys and nobody else's. */
static void removal_moves_exactly_its_keys(void)
{
    unsigned ids[9];
    for (unsigned i = 0, m = 0; i < 10; i++)
        if (i != 6) ids[m++] = i;
    struct lb_test_pool all, less;
    lb_test_pool_init(&all, &lb_ring_hash, 10, NULL, 0);
    lb_test_pool_init_ids(&less, &lb_ring_hash, 9, NULL, ids);
    int moved = 0, foreign = 0;
    for (int k = 0; k < KEYS; k++) {
        unsigned x = lb_test_id(&all, lb_test_pick_key(&all, key(k)));
        unsigned y = lb_test_id(&less, lb_test_pick_key(&less, key(k)));
        moved += x != y;
        foreign += x != y && x != 6;
    }
    CHECK_INT(foreign, 0);
    CHECKF(moved < KEYS / 10 * 1.15, "%d keys moved", moved);
    lb_test_pool_free(&all);
    lb_test_pool_free(&less);
}

/* Adding one: keys move only to the newcomer. */
static void addition_moves_only_to_it(void)
{
    struct lb_test_pool few, more;
    lb_test_pool_init(&few, &lb_ring_hash, 7, NULL, 0);
    lb_test_pool_init(&more, &lb_ring_hash, 8, NULL, 0);
    int wrong = 0, moved = 0;
    for (int k = 0; k < KEYS; k++) {
        unsigned x = lb_test_id(&few, lb_test_pick_key(&few, key(k)));
        unsigned y = lb_test_id(&more, lb_test_pick_key(&more, key(k)));
        moved += x != y;
        wrong += x != y && y != 7;
    }
    CHECK_INT(wrong, 0);
    CHECKF(moved < KEYS / 8 * 1.15, "%d keys moved", moved);
    lb_test_pool_free(&few);
    lb_test_pool_free(&more);
}

static void down_endpoint_moves_only_its_keys(void)
{
    struct lb_test_pool t;
    static int before[KEYS];
    int foreign = 0, back = 0;
    lb_test_pool_init(&t, &lb_ring_hash, 5, NULL, 0);
    for (int k = 0; k < KEYS; k++) before[k] = lb_test_pick_key(&t, key(k));
    t.down[1] = true;
    for (int k = 0; k < KEYS; k++) {
        int now = lb_test_pick_key(&t, key(k));
        CHECK(now != 1);
        foreign += before[k] != 1 && now != before[k];
    }
    CHECK_INT(foreign, 0);
    t.down[1] = false;
    for (int k = 0; k < KEYS; k++) back += lb_test_pick_key(&t, key(k)) == before[k];
    CHECK_INT(back, KEYS);
    for (int i = 0; i < 5; i++) t.down[i] = true;
    CHECK_INT(lb_test_pick_key(&t, key(3)), -1);
    lb_test_pool_free(&t);
}

static void bounded_load(void)
{
    struct lb_test_pool t;
    lb_test_pool_init(&t, &lb_ring_hash, 5, NULL, 0);
    lb_test_pool_free(&t);
    t.tuning.hash_balance = 1.5;
    CHECK(lb_ring_hash.create(&t.pool, &t.tuning, &t.pool.ps) == 0);
    for (int k = 0; k < 500; k++) {
        int i = lb_test_pick_key(&t, key(11));
        lb_pool_acquire(&t.pool, (unsigned)i);
        for (unsigned j = 0; j < 5; j++)
            CHECKF(t.m[j].inflight <= (unsigned)(1.5 * (k + 1) / 5) + 1,
                   "after %d: member %u holds %u", k + 1, j, t.m[j].inflight);
    }
    lb_test_pool_free(&t);
}

static const struct lb_test tests[] = {
    LB_TEST(key_distribution),
    LB_TEST(weighted),
    LB_TEST(removal_moves_exactly_its_keys),
    LB_TEST(addition_moves_only_to_it),
    LB_TEST(down_endpoint_moves_only_its_keys),
    LB_TEST(bounded_load),
};
LB_TEST_MAIN("lb ring_hash", tests)
