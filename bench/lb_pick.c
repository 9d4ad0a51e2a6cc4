/*
 * bench/lb_pick: what one pick of each load-balancing policy costs (ns),
 * for pools of several sizes. Run by bench/lb.sh; built by `make`
 * (plugins/lb/local.mk) from the policy sources themselves.
 *
 * Each pick goes through `usable` as in the plugin (a per-endpoint check
 * through a function pointer) and is followed by the in-flight bookkeeping
 * the plugin does (acquire, release), so the figure is the policy's share of
 * a request. Hashing policies get a different key each time.
 *
 *   lb_pick [-t SECONDS_PER_CASE] [-n "4 16 64 256"]
 */
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXN 1024

struct pool {
    struct lb_pool p;
    struct lb_member m[MAXN];
    char names[MAXN][24];
    unsigned char down[MAXN];
};

static int usable(const void *ctx, unsigned i)
{
    return !((const struct pool *)ctx)->down[i];
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int setup(struct pool *s, const struct lb_policy *pol, unsigned n, struct lb_tuning *t)
{
    memset(s, 0, sizeof *s);
    s->p.m = s->m;
    s->p.n = n;
    s->p.policy = pol;
    for (unsigned i = 0; i < n; i++) {
        snprintf(s->names[i], sizeof s->names[i], "10.1.%u.%u:8080", i / 250, i % 250 + 1);
        s->m[i] = (struct lb_member){.name = s->names[i], .index = i, .weight = 1 + i % 3,
                                     .cost = 0.001 + (i % 7) * 0.0001, .cost_at = 1};
        s->p.total_weight += s->m[i].weight;
    }
    return pol->create(&s->p, t, &s->p.ps);
}

/* ns per pick over about `budget` seconds, in batches between clock reads. */
static double measure(struct pool *s, double budget)
{
    uint64_t rng = 0x9e3779b97f4a7c15ull, key = 1;
    struct lb_ask a = {.usable = usable, .ctx = s, .has_hash = 1, .now = 2, .rng = &rng};
    unsigned long picks = 0;
    volatile int sink = 0;
    double t0 = mono(), t;
    do {
        for (int k = 0; k < 4096; k++) {
            a.hash = lb_mix64(key++);
            int i = s->p.policy->pick(s->p.ps, &s->p, &a);
            lb_pool_acquire(&s->p, (unsigned)i);
            lb_pool_release(&s->p, (unsigned)i);
            sink += i;
        }
        picks += 4096;
        t = mono();
    } while (t - t0 < budget);
    (void)sink;
    return (t - t0) * 1e9 / picks;
}

int main(int argc, char **argv)
{
    static const struct lb_policy *const pols[] = {&lb_round_robin, &lb_weighted, &lb_least_conn,
                                                   &lb_p2c_ewma, &lb_maglev, &lb_ring_hash,
                                                   &lb_random};
    double budget = 0.2;
    char sizes[256] = "4 16 64 256";
    int opt;
    while ((opt = getopt(argc, argv, "t:n:")) != -1) {
        if (opt == 't') budget = atof(optarg);
        else if (opt == 'n') snprintf(sizes, sizeof sizes, "%s", optarg);
        else {
            fprintf(stderr, "usage: lb_pick [-t SECONDS_PER_CASE] [-n \"4 16 64\"]\n");
            return 2;
        }
    }
    static struct pool s;
    struct lb_tuning tune = {.hash_balance = 0, .ewma_decay = 10};
    printf("%-12s", "ns/pick");
    for (char *p = sizes; *p;) {
        char head[16];
        snprintf(head, sizeof head, "n=%lu", strtoul(p, &p, 10));
        printf(" %8s", head);
        while (*p == ' ') p++;
    }
    printf("\n");
    for (size_t k = 0; k < sizeof pols / sizeof *pols; k++) {
        printf("%-12s", pols[k]->name);
        for (char *p = sizes; *p;) {
            unsigned n = (unsigned)strtoul(p, &p, 10);
            while (*p == ' ') p++;
            if (n == 0 || n > MAXN || setup(&s, pols[k], n, &tune) != 0) {
                printf(" %8s", "-");
                continue;
            }
            printf(" %8.1f", measure(&s, budget));
            fflush(stdout);
            pols[k]->destroy(s.p.ps);
        }
        printf("\n");
    }
    return 0;
}
