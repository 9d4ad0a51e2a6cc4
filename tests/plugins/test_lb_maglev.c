/* plugins/lb/maglev.c: table balance, weights, stability when endpoints
 * leave or join, walking past down endpoints, bounded load. */
#include "test_lb_util.h"

#include <stdio.h>

#define KEYS 100000

static uint64_t key(int k)
{
    return lb_mix64((uint64_t)k + 1);
}

/* Equal weights: shares of the table differ by one slot at most. */
static void table_balance(void)
{
    static const unsigned sizes[] = {1, 2, 3, 5, 10, 37};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        struct lb_test_pool t;
        unsigned n = sizes[s], count[40] = {0};
        lb_test_pool_init(&t, &lb_maglev, n, NULL, 0);
        uint32_t m = lb_maglev_size(n);
        for (uint32_t c = 0; c < m; c++) count[lb_maglev_slot(t.pool.ps, c)]++;
        unsigned lo = m, hi = 0;
        for (unsigned i = 0; i < n; i++) {
            if (count[i] < lo) lo = count[i];
            if (count[i] > hi) hi = count[i];
        }
        CHECKF(hi - lo <= 1, "n=%u: shares from %u to %u slots of %u", n, lo, hi, m);
        lb_test_pool_free(&t);
    }
}

/* Weights: table shares within 1% of weight / total. */
static void weighted_shares(void)
{
    static const unsigned w[] = {1, 2, 3, 4};
    struct lb_test_pool t;
    unsigned count[4] = {0};
    lb_test_pool_init(&t, &lb_maglev, 4, w, 0);
    uint32_t m = lb_maglev_size(4);
    for (uint32_t c = 0; c < m; c++) count[lb_maglev_slot(t.pool.ps, c)]++;
    for (int i = 0; i < 4; i++) {
        double share = (double)count[i] / m, want = w[i] / 10.0;
        CHECKF(share > want - 0.01 && share < want + 0.01, "weight %u: share %.4f", w[i], share);
    }
    lb_test_pool_free(&t);
}

/* Keys spread like the table: within 3% of the fair share. */
static void key_distribution(void)
{
    struct lb_test_pool t;
    int count[8] = {0};
    lb_test_pool_init(&t, &lb_maglev, 8, NULL, 0);
    for (int k = 0; k < KEYS; k++) count[lb_test_pick_key(&t, key(k))]++;
    for (int i = 0; i < 8; i++)
        CHECKF(count[i] > KEYS / 8 * 0.97 && count[i] < KEYS / 8 * 1.03, "member %d: %d keys", i,
               count[i]);
    lb_test_pool_free(&t);
}

/* Same key, same endpoint: across picks, and across tables built with the
 * endpoints listed in another order (workers, reloads, edited configs). */
static void consistent(void)
{
    static const unsigned ids_a[] = {0, 1, 2, 3, 4, 5}, ids_b[] = {5, 3, 1, 0, 2, 4};
    struct lb_test_pool a, b;
    lb_test_pool_init_ids(&a, &lb_maglev, 6, NULL, ids_a);
    lb_test_pool_init_ids(&b, &lb_maglev, 6, NULL, ids_b);
    int differ = 0;
    for (int k = 0; k < 10000; k++) {
        unsigned x = lb_test_id(&a, lb_test_pick_key(&a, key(k)));
        differ += x != lb_test_id(&a, lb_test_pick_key(&a, key(k)));
        differ += x != lb_test_id(&b, lb_test_pick_key(&b, key(k)));
    }
    CHECK_INT(differ, 0);
    lb_test_pool_free(&a);
    lb_test_pool_free(&b);
}

/* Moved keys between two endpoint sets (by endpoint, not member index). */
static double moved_fraction(struct lb_test_pool *a, struct lb_test_pool *b, int *moved_other,
                             unsigned gone)
{
    int moved = 0;
    *moved_other = 0;
    for (int k = 0; k < KEYS; k++) {
        unsigned x = lb_test_id(a, lb_test_pick_key(a, key(k)));
        unsigned y = lb_test_id(b, lb_test_pick_key(b, key(k)));
        moved += x != y;
        *moved_other += x != y && x != gone;
    }
    return (double)moved / KEYS;
}

/* An endpoint removed by a reload (the table is rebuilt): about 1/N of the
 * keys move, those of the endpoint that left, plus a little. */
static void removal_moves_about_1_over_n(void)
{
    static const unsigned ns[] = {5, 10, 20};
    for (size_t s = 0; s < sizeof ns / sizeof *ns; s++) {
        unsigned n = ns[s], ids[LB_TEST_MAX], m = 0;
        for (unsigned i = 0; i < n; i++)
            if (i != 2) ids[m++] = i;
        struct lb_test_pool all, less;
        lb_test_pool_init(&all, &lb_maglev, n, NULL, 0);
        lb_test_pool_init_ids(&less, &lb_maglev, m, NULL, ids);
        int other;
        double f = moved_fraction(&all, &less, &other, 2);
        CHECKF(f <= 1.0 / n + 0.02, "n=%u: %.2f%% of keys moved (1/n = %.2f%%)", n, f * 100,
               100.0 / n);
        CHECKF((double)other / KEYS <= 0.02, "n=%u: %.2f%% of the other endpoints' keys moved", n,
               100.0 * other / KEYS);
        fprintf(stderr, "maglev n=%u remove one: %.2f%% moved, 1/n = %.2f%%, others' keys moved %.2f%%\n",
                n, f * 100, 100.0 / n, 100.0 * other / KEYS);
        lb_test_pool_free(&all);
        lb_test_pool_free(&less);
    }
}

/* An endpoint added: about 1/(N+1) of the keys move, to it. */
static void addition_moves_about_1_over_n(void)
{
    struct lb_test_pool few, more;
    lb_test_pool_init(&few, &lb_maglev, 9, NULL, 0);
    lb_test_pool_init(&more, &lb_maglev, 10, NULL, 0);
    int other;
    double f = moved_fraction(&few, &more, &other, 99);
    CHECKF(f <= 0.1 + 0.02, "%.2f%% of keys moved", f * 100);
    lb_test_pool_free(&few);
    lb_test_pool_free(&more);
}

/* A down endpoint keeps its slots: exactly its keys move, spread over the
 * others, and come back when it does. */
static void down_endpoint_moves_only_its_keys(void)
{
    struct lb_test_pool t;
    static int before[KEYS];
    int moved = 0, foreign = 0, to[6] = {0};
    lb_test_pool_init(&t, &lb_maglev, 6, NULL, 0);
    for (int k = 0; k < KEYS; k++) before[k] = lb_test_pick_key(&t, key(k));
    t.down[4] = true;
    for (int k = 0; k < KEYS; k++) {
        int now = lb_test_pick_key(&t, key(k));
        if (before[k] != 4) foreign += now != before[k];
        else moved++, to[now]++;
    }
    CHECK_INT(foreign, 0);
    CHECK_INT(to[4], 0);
    for (int i = 0; i < 6; i++)
        if (i != 4) CHECKF(to[i] > moved / 5 * 0.8, "member %d took %d of %d", i, to[i], moved);
    t.down[4] = false;
    int back = 0;
    for (int k = 0; k < KEYS; k++) back += lb_test_pick_key(&t, key(k)) == before[k];
    CHECK_INT(back, KEYS);
    lb_test_pool_free(&t);
}

/* Bounded load: a hot key spills over once its endpoint holds its share. */
static void bounded_load(void)
{
    struct lb_test_pool t;
    lb_test_pool_init(&t, &lb_maglev, 4, NULL, 0);
    lb_test_pool_free(&t);
    t.tuning.hash_balance = 1.25;
    CHECK(lb_maglev.create(&t.pool, &t.tuning, &t.pool.ps) == 0);
    for (int k = 0; k < 400; k++) {
        int i = lb_test_pick_key(&t, key(7)); /* always the same key */
        lb_pool_acquire(&t.pool, (unsigned)i);
        for (unsigned j = 0; j < 4; j++)
            CHECKF(t.m[j].inflight <= (unsigned)(1.25 * (k + 1) / 4) + 1,
                   "after %d: member %u holds %u", k + 1, j, t.m[j].inflight);
    }
    lb_test_pool_free(&t);
}

static void no_key_is_random(void)
{
    struct lb_test_pool t;
    int count[4] = {0};
    lb_test_pool_init(&t, &lb_maglev, 4, NULL, 0);
    for (int k = 0; k < 40000; k++) count[lb_test_pick(&t)]++;
    for (int i = 0; i < 4; i++) CHECKF(count[i] > 9000 && count[i] < 11000, "%d: %d", i, count[i]);
    for (int i = 0; i < 4; i++) t.down[i] = true;
    CHECK_INT(lb_test_pick_key(&t, key(1)), -1);
    lb_test_pool_free(&t);
}

static const struct lb_test tests[] = {
    LB_TEST(table_balance),
    LB_TEST(weighted_shares),
    LB_TEST(key_distribution),
    LB_TEST(consistent),
    LB_TEST(removal_moves_about_1_over_n),
    LB_TEST(addition_moves_about_1_over_n),
    LB_TEST(down_endpoint_moves_only_its_keys),
    LB_TEST(bounded_load),
    LB_TEST(no_key_is_random),
};
LB_TEST_MAIN("lb maglev", tests)
