/* random: a usable member drawn at random in proportion to its weight. Cheap
 * and stateless between picks, so workers need no coordination; the spread is
 * only statistical (see weighted for exact proportions). */
#include "policy.h"

#include <stdlib.h>

struct rnd {
    unsigned n;
    uint64_t cum[]; /* cum[i]: weights of members 0..i */
};

static int rnd_create(const struct lb_pool *p, const struct lb_tuning *t, void **ps)
{
    struct rnd *s = malloc(sizeof *s + (p->n ? p->n : 1) * sizeof s->cum[0]);
    if (s == NULL) return -1;
    s->n = p->n;
    uint64_t sum = 0;
    for (unsigned i = 0; i < p->n; i++)
        s->cum[i] = sum += p->m[i].weight;
    *ps = s;
    return 0;
}

/* The member whose weight interval holds x in [0, total). */
static unsigned member_at(const struct rnd *s, unsigned n, uint64_t x)
{
    unsigned lo = 0, hi = n - 1;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (s->cum[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* When several members are out: draw among the usable ones only. */
static int draw_usable(const struct lb_pool *p, const struct lb_ask *a)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < p->n; i++)
        if (lb_usable(a, i)) total += p->m[i].weight;
    if (total == 0) return -1;
    uint64_t x = lb_rand(a->rng) % total;
    for (unsigned i = 0; i < p->n; i++) {
        if (!lb_usable(a, i)) continue;
        if (x < p->m[i].weight) return (int)i;
        x -= p->m[i].weight;
    }
    return -1;
}

static int rnd_pick(void *ps, const struct lb_pool *p, const struct lb_ask *a)
{
    struct rnd *s = ps;
    if (p->n == 0) return -1;
    for (int k = 0; k < 3; k++) { /* usually the first draw is usable */
        unsigned i = member_at(s, p->n, lb_rand(a->rng) % p->total_weight);
        if (lb_usable(a, i)) return (int)i;
    }
    return draw_usable(p, a);
}

static void rnd_destroy(void *ps)
{
    free(ps);
}

const struct lb_policy lb_random = {
    .name = "random",
    .weighted = 1,
    .create = rnd_create,
    .pick = rnd_pick,
    .destroy = rnd_destroy,
};
