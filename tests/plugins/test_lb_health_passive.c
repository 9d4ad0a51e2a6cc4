/* plugins/lb/health_passive.c: ejection after consecutive failures, one
 * trial after the interval, a growing interval, forgiveness — on a fake
 * clock. */
#include "health.h"
#include "test_lb_util.h"

static const struct lb_passive_conf conf = {.failures = 3, .eject = 10, .max_eject = 60};

/* Failures in a row eject; a success in between starts the count over. */
static void consecutive_failures_eject(void)
{
    struct lb_passive s = {0};
    double now = 100;
    CHECK_INT(lb_passive_failure(&s, &conf, now, 0), LB_PASSIVE_NOTHING);
    CHECK_INT(lb_passive_failure(&s, &conf, now, 0), LB_PASSIVE_NOTHING);
    CHECK_INT(lb_passive_success(&s, now, 0), LB_PASSIVE_NOTHING);
    CHECK_INT(lb_passive_failure(&s, &conf, now, 0), LB_PASSIVE_NOTHING);
    CHECK_INT(lb_passive_failure(&s, &conf, now, 0), LB_PASSIVE_NOTHING);
    CHECK(lb_passive_usable(&s, now));
    CHECK_INT(lb_passive_failure(&s, &conf, now, 0), LB_PASSIVE_EJECTED);
    CHECK(!lb_passive_usable(&s, now));
    CHECK(!lb_passive_usable(&s, now + 9.99));
    CHECK(lb_passive_interval(&s, &conf) == 10);
}

/* After the interval exactly one request goes: the trial. */
static void one_trial_after_the_interval(void)
{
    struct lb_passive s = {0};
    for (int i = 0; i < 3; i++) lb_passive_failure(&s, &conf, 100, 0);
    CHECK(!lb_passive_usable(&s, 105));
    CHECK_INT(lb_passive_picked(&s, 105), 0); /* (not picked while out; no trial) */
    CHECK(lb_passive_usable(&s, 110));
    CHECK_INT(lb_passive_picked(&s, 110), 1);
    CHECK(!lb_passive_usable(&s, 110)); /* no second request before the verdict */
    CHECK(!lb_passive_usable(&s, 200));
    /* Requests sent before the ejection say nothing now. */
    CHECK_INT(lb_passive_success(&s, 111, 0), LB_PASSIVE_NOTHING);
    CHECK_INT(lb_passive_failure(&s, &conf, 111, 0), LB_PASSIVE_NOTHING);
    CHECK(!lb_passive_usable(&s, 111));
    CHECK_INT(lb_passive_success(&s, 111, 1), LB_PASSIVE_RESTORED);
    CHECK(lb_passive_usable(&s, 111));
    CHECK_INT(lb_passive_picked(&s, 111), 0);
}

/* A failed trial ejects again at once, for twice as long, up to the cap. */
static void interval_grows(void)
{
    struct lb_passive s = {0};
    double now = 100;
    static const double want[] = {10, 20, 40, 60, 60};
    for (int i = 0; i < 3; i++) lb_passive_failure(&s, &conf, now, 0);
    for (int round = 0; round < 5; round++) {
        CHECKF(lb_passive_interval(&s, &conf) == want[round], "round %d: %g s", round,
               lb_passive_interval(&s, &conf));
        double until = now + want[round];
        CHECK(!lb_passive_usable(&s, until - 0.001));
        CHECK(lb_passive_usable(&s, until));
        now = until + 0.5;
        CHECK_INT(lb_passive_picked(&s, now), 1);
        if (round < 4) CHECK_INT(lb_passive_failure(&s, &conf, now, 1), LB_PASSIVE_EJECTED);
    }
}

/* Back in service after a long ejection, then failing soon: the interval
 * keeps growing; after max_eject in service it starts over. */
static void forgiveness(void)
{
    struct lb_passive s = {0};
    for (int i = 0; i < 3; i++) lb_passive_failure(&s, &conf, 0, 0);
    lb_passive_picked(&s, 10);
    lb_passive_failure(&s, &conf, 10, 1); /* 20 s */
    lb_passive_picked(&s, 30);
    CHECK_INT(lb_passive_success(&s, 30, 1), LB_PASSIVE_RESTORED);
    for (int i = 0; i < 3; i++) lb_passive_failure(&s, &conf, 40, 0);
    CHECK(lb_passive_interval(&s, &conf) == 40); /* soon: still growing */
    lb_passive_picked(&s, 80);
    CHECK_INT(lb_passive_success(&s, 80, 1), LB_PASSIVE_RESTORED);
    for (int i = 0; i < 3; i++) lb_passive_failure(&s, &conf, 80 + 61, 0);
    CHECK(lb_passive_interval(&s, &conf) == 10); /* 61 s in service: forgiven */
}

/* A trial that never gets an outcome (client gone) frees the way for another. */
static void abandoned_trial(void)
{
    struct lb_passive s = {0};
    for (int i = 0; i < 3; i++) lb_passive_failure(&s, &conf, 0, 0);
    CHECK_INT(lb_passive_picked(&s, 10), 1);
    CHECK(!lb_passive_usable(&s, 10));
    lb_passive_abandon(&s);
    CHECK(lb_passive_usable(&s, 10));
    CHECK_INT(lb_passive_picked(&s, 10), 1);
}

static void off(void)
{
    static const struct lb_passive_conf none = {.failures = 0, .eject = 10, .max_eject = 60};
    struct lb_passive s = {0};
    for (int i = 0; i < 100; i++) CHECK_INT(lb_passive_failure(&s, &none, 0, 0), LB_PASSIVE_NOTHING);
    CHECK(lb_passive_usable(&s, 0));
}

static const struct lb_test tests[] = {
    LB_TEST(consecutive_failures_eject),
    LB_TEST(one_trial_after_the_interval),
    LB_TEST(interval_grows),
    LB_TEST(forgiveness),
    LB_TEST(abandoned_trial),
    LB_TEST(off),
};
LB_TEST_MAIN("lb passive health", tests)
