/* plugins/lb/p2c_ewma.c: peak-EWMA latency and the power of two choices. */
#include "test_lb_util.h"

#include <math.h>

static bool near(double a, double b, double tol)
{
    return fabs(a - b) <= tol;
}

/* A higher sample replaces the estimate at once; lower ones pull it down
 * as time passes; with no samples it fades. */
static void peak_ewma(void)
{
    struct lb_member m = {.weight = 1};
    lb_ewma_observe(&m, 0.010, 100.0, 10.0);
    CHECK(near(m.cost, 0.010, 1e-12));
    lb_ewma_observe(&m, 0.200, 100.5, 10.0); /* peak */
    CHECK(near(m.cost, 0.200, 1e-12));
    /* 10 s later a 10 ms sample: weight 1 - 1/e on the sample. */
    lb_ewma_observe(&m, 0.010, 110.5, 10.0);
    double want = 0.200 * exp(-1) + 0.010 * (1 - exp(-1));
    CHECKF(near(m.cost, want, 1e-9), "cost %g want %g", m.cost, want);
    /* The load fades with time and grows with requests in flight. */
    double l0 = lb_ewma_load(&m, 110.5, 10.0);
    CHECK(near(l0, m.cost, 1e-12));
    CHECK(near(lb_ewma_load(&m, 120.5, 10.0), m.cost * exp(-1), 1e-9));
    m.inflight = 3;
    CHECK(near(lb_ewma_load(&m, 110.5, 10.0), 4 * m.cost, 1e-9));
    m.weight = 2;
    CHECK(near(lb_ewma_load(&m, 110.5, 10.0), 2 * m.cost, 1e-9));
}

/* Unsampled: free while idle (tried first), very expensive when busy. */
static void unknown_endpoint(void)
{
    struct lb_member m = {.weight = 1};
    CHECK(lb_ewma_load(&m, 5, 10) == 0);
    m.inflight = 1;
    CHECK(lb_ewma_load(&m, 5, 10) > 1000);
}

static void feed(struct lb_test_pool *t, const double *rtt)
{
    for (int round = 0; round < 20; round++) {
        t->now += 0.05;
        for (unsigned i = 0; i < t->pool.n; i++) lb_ewma_observe(&t->m[i], rtt[i], t->now, 10);
    }
}

/* One slow endpoint among four gets nothing: it would only win against
 * itself, and two distinct members are always drawn. Each fast one wins the
 * pairs where it is the faster: 3/6, 2/6 and 1/6 of the picks. */
static void prefers_fast(void)
{
    static const double rtt[] = {0.001, 0.0012, 0.0009, 0.050};
    struct lb_test_pool t;
    int count[4] = {0};
    lb_test_pool_init(&t, &lb_p2c_ewma, 4, NULL, 0);
    feed(&t, rtt);
    for (int k = 0; k < 10000; k++) count[lb_test_pick(&t)]++;
    CHECKF(count[3] == 0, "the slow endpoint got %d of 10000", count[3]);
    CHECKF(count[2] > 4700 && count[2] < 5300, "fastest: %d", count[2]);
    CHECKF(count[0] > 3000 && count[0] < 3650, "second: %d", count[0]);
    CHECKF(count[1] > 1400 && count[1] < 1950, "third: %d", count[1]);
    lb_test_pool_free(&t);
}

/* Equal latencies: in-flight requests decide, which spreads concurrent
 * load evenly. */
static void in_flight_counts(void)
{
    static const double rtt[] = {0.002, 0.002, 0.002, 0.002};
    struct lb_test_pool t;
    lb_test_pool_init(&t, &lb_p2c_ewma, 4, NULL, 0);
    feed(&t, rtt);
    for (int k = 0; k < 4000; k++) {
        int i = lb_test_pick(&t);
        lb_pool_acquire(&t.pool, (unsigned)i);
    }
    for (int i = 0; i < 4; i++)
        CHECKF(t.m[i].inflight >= 980 && t.m[i].inflight <= 1020, "member %d: %u in flight", i,
               t.m[i].inflight);
    lb_test_pool_free(&t);
}

/* Sequential traffic with equal latencies: an even spread, statistically. */
static void even_spread(void)
{
    static const double rtt[] = {0.002, 0.002, 0.002, 0.002, 0.002};
    struct lb_test_pool t;
    int count[5] = {0};
    lb_test_pool_init(&t, &lb_p2c_ewma, 5, NULL, 0);
    feed(&t, rtt);
    for (int k = 0; k < 50000; k++) count[lb_test_pick(&t)]++;
    for (int i = 0; i < 5; i++)
        CHECKF(count[i] > 9000 && count[i] < 11000, "member %d: %d of 50000", i, count[i]);
    lb_test_pool_free(&t);
}

/* A slow endpoint left alone for long enough gets tried again. */
static void slow_endpoint_recovers(void)
{
    static const double rtt[] = {0.001, 0.050};
    struct lb_test_pool t;
    lb_test_pool_init(&t, &lb_p2c_ewma, 2, NULL, 0);
    feed(&t, rtt);
    CHECK_INT(lb_test_pick(&t), 0);
    t.now += 60; /* the fast one keeps answering; the slow one's 50 ms fades */
    lb_ewma_observe(&t.m[0], 0.001, t.now, 10);
    CHECK_INT(lb_test_pick(&t), 1);
    lb_test_pool_free(&t);
}

static void skips_unusable(void)
{
    struct lb_test_pool t;
    lb_test_pool_init(&t, &lb_p2c_ewma, 6, NULL, 0);
    for (int i = 0; i < 6; i++) t.down[i] = i != 4;
    for (int k = 0; k < 200; k++) CHECK_INT(lb_test_pick(&t), 4);
    t.down[4] = true;
    CHECK_INT(lb_test_pick(&t), -1);
    lb_test_pool_free(&t);
}

static const struct lb_test tests[] = {
    LB_TEST(peak_ewma),
    LB_TEST(unknown_endpoint),
    LB_TEST(prefers_fast),
    LB_TEST(in_flight_counts),
    LB_TEST(even_spread),
    LB_TEST(slow_endpoint_recovers),
    LB_TEST(skips_unusable),
};
LB_TEST_MAIN("lb p2c_ewma", tests)
