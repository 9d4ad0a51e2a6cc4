/* weighted: smooth weighted round robin, as nginx does it. Each pick adds
 * every usable member's weight to its running score, takes the highest score
 * and subtracts the total from it. Over any window of W = sum of weights picks
 * member i is chosen exactly w_i times, and the picks are interleaved (5,1,1
 * gives a a b a c a a, not a a a a a b c), so no endpoint gets a burst. */
#include "policy.h"

#include <stdlib.h>

struct swrr {
    unsigned n;
    int64_t current[]; /* running score per member */
};

static int swrr_create(const struct lb_pool *p, const struct lb_tuning *t, void **ps)
{
    struct swrr *s = calloc(1, sizeof *s + (p->n ? p->n : 1) * sizeof s->current[0]);
    if (s == NULL) return -1;
    s->n = p->n;
    *ps = s;
    return 0;
}

/* The step shared with least_conn's tie-breaking: among the members for
 * which take(ctx, i) holds, the smooth-WRR choice. */
int lb_swrr_step(int64_t *current, const struct lb_pool *p,
                 int (*take)(const void *ctx, unsigned i), const void *ctx)
{
    int best = -1;
    int64_t total = 0;
    for (unsigned i = 0; i < p->n; i++) {
        if (take && !take(ctx, i)) continue;
        current[i] += p->m[i].weight;
        total += p->m[i].weight;
        if (best < 0 || current[i] > current[best]) best = (int)i;
    }
    if (best >= 0) current[best] -= total;
    return best;
}

static int usable_of(const void *ctx, unsigned i)
{
    return lb_usable(ctx, i);
}

static int swrr_pick(void *ps, const struct lb_pool *p, const struct lb_ask *a)
{
    struct swrr *s = ps;
    return lb_swrr_step(s->current, p, usable_of, a);
}

static void swrr_destroy(void *ps)
{
    free(ps);
}

const struct lb_policy lb_weighted = {
    .name = "weighted",
    .weighted = 1,
    .create = swrr_create,
    .pick = swrr_pick,
    .destroy = swrr_destroy,
};
