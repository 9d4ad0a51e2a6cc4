/* p2c_ewma: power of two choices over peak-EWMA latency, as Finagle, Linkerd
 * and Envoy do it. Two distinct usable members are drawn at random and the one
 * with the lower load gets the request:
 *
 *     load = latency estimate x (requests in progress + 1) / weight
 *
 * The latency estimate is "peak" EWMA: a sample above the estimate replaces
 * it at once (a slowing endpoint is avoided at once), a lower sample pulls it
 * down with a weight that grows with the time since the last one, and the
 * estimate fades towards zero while nothing is observed, so an endpoint that
 * was slow gets tried again after a while instead of being starved forever.
 * Two random choices, rather than the global minimum, keep all workers from
 * stampeding onto the same endpoint with the same stale view. */
#include "policy.h"

#include <math.h>
#include <stdlib.h>

/* An endpoint with requests in progress but no latency sample yet (new, or
 * never answered) costs this much, so it is not flooded before it proves
 * itself; idle and unsampled it costs 0 and gets tried first. */
#define P2C_UNKNOWN_PENALTY 1e6

void lb_ewma_observe(struct lb_member *m, double rtt, double now, double decay)
{
    double td = now > m->cost_at ? now - m->cost_at : 0;
    double w = exp(-td / decay);
    if (rtt < 0) rtt = 0;
    if (rtt > m->cost * w)
        m->cost = rtt; /* the peak: react to a slowdown at once */
    else
        m->cost = m->cost * w + rtt * (1 - w);
    m->cost_at = now;
}

double lb_ewma_load(const struct lb_member *m, double now, double decay)
{
    if (m->cost <= 0) return m->inflight ? P2C_UNKNOWN_PENALTY + m->inflight : 0;
    double td = now > m->cost_at ? now - m->cost_at : 0;
    return m->cost * exp(-td / decay) * (m->inflight + 1) / m->weight;
}

struct p2c {
    double decay;
};

static int p2c_create(const struct lb_pool *p, const struct lb_tuning *t, void **ps)
{
    struct p2c *s = malloc(sizeof *s);
    if (s == NULL) return -1;
    s->decay = t && t->ewma_decay > 0 ? t->ewma_decay : 10.0;
    *ps = s;
    return 0;
}

/* A usable member drawn uniformly among n, other than `not` (-1: none):
 * a few random draws (the usual case: most members are usable), then a scan
 * from a random place so that a mostly-down pool still gets an answer. */
static int draw(const struct lb_pool *p, const struct lb_ask *a, int not )
{
    unsigned span = not >= 0 ? p->n - 1 : p->n;
    if (span == 0) return -1;
    for (int k = 0; k < 4; k++) {
        unsigned i = lb_rand_below(a->rng, span);
        if (not >= 0 && i >= (unsigned)not ) i++;
        if (lb_usable(a, i)) return (int)i;
    }
    unsigned start = lb_rand_below(a->rng, p->n);
    for (unsigned k = 0; k < p->n; k++) {
        unsigned i = (start + k) % p->n;
        if ((int)i != not &&lb_usable(a, i)) return (int)i;
    }
    return -1;
}

static int p2c_pick(void *ps, const struct lb_pool *p, const struct lb_ask *a)
{
    struct p2c *s = ps;
    int i = draw(p, a, -1);
    if (i < 0) return -1;
    int j = draw(p, a, i);
    if (j < 0) return i;
    double li = lb_ewma_load(&p->m[i], a->now, s->decay);
    double lj = lb_ewma_load(&p->m[j], a->now, s->decay);
    return lj < li ? j : i;
}

static void p2c_destroy(void *ps)
{
    free(ps);
}

const struct lb_policy lb_p2c_ewma = {
    .name = "p2c_ewma",
    .weighted = 1,
    .create = p2c_create,
    .pick = p2c_pick,
    .destroy = p2c_destroy,
};
