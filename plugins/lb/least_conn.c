/* least_conn: the usable member with the fewest requests in progress per
 * unit of weight (this worker's count: workers share nothing on the hot
 * path). Ties, which is every pick when traffic is sequential, go to smooth
 * weighted round robin among the tied members, as in nginx, so that idle
 * endpoints still share in proportion to their weights. */
#include "policy.h"

#include <stdlib.h>

struct lc {
    unsigned n;
    int64_t current[]; /* smooth-WRR scores for the tie-break */
};

struct lc_pick {
    const struct lb_pool *p;
    const struct lb_ask *a;
    unsigned best; /* a member with the lowest load */
};

static int lc_create(const struct lb_pool *p, const struct lb_tuning *t, void **ps)
{
    struct lc *s = calloc(1, sizeof *s + (p->n ? p->n : 1) * sizeof s->current[0]);
    if (s == NULL) return -1;
    s->n = p->n;
    *ps = s;
    return 0;
}

/* inflight_i / w_i < inflight_j / w_j without division. */
static int64_t lc_cmp(const struct lb_member *i, const struct lb_member *j)
{
    return (int64_t)i->inflight * j->weight - (int64_t)j->inflight * i->weight;
}

static int lc_tied(const void *ctx, unsigned i)
{
    const struct lc_pick *k = ctx;
    return lb_usable(k->a, i) && lc_cmp(&k->p->m[i], &k->p->m[k->best]) == 0;
}

static int lc_pick(void *ps, const struct lb_pool *p, const struct lb_ask *a)
{
    struct lc *s = ps;
    int best = -1;
    for (unsigned i = 0; i < p->n; i++)
        if (lb_usable(a, i) && (best < 0 || lc_cmp(&p->m[i], &p->m[best]) < 0))
            best = (int)i;
    if (best < 0) return -1;
    struct lc_pick k = {p, a, (unsigned)best};
    return lb_swrr_step(s->current, p, lc_tied, &k);
}

static void lc_destroy(void *ps)
{
    free(ps);
}

const struct lb_policy lb_least_conn = {
    .name = "least_conn",
    .weighted = 1,
    .create = lc_create,
    .pick = lc_pick,
    .destroy = lc_destroy,
};
