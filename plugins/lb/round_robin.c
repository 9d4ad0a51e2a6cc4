/* round_robin: each usable endpoint in turn, weights ignored (the `weighted`
 * policy honours them). An endpoint that cannot take the request is skipped,
 * so its turn goes to the next one. */
#include "policy.h"

#include <stdlib.h>

struct rr {
    unsigned next; /* the member whose turn it is */
};

static int rr_create(const struct lb_pool *p, const struct lb_tuning *t, void **ps)
{
    struct rr *s = calloc(1, sizeof *s);
    *ps = s;
    return s ? 0 : -1;
}

static int rr_pick(void *ps, const struct lb_pool *p, const struct lb_ask *a)
{
    struct rr *s = ps;
    for (unsigned k = 0; k < p->n; k++) {
        unsigned i = (s->next + k) % p->n;
        if (!lb_usable(a, i)) continue;
        s->next = (i + 1) % p->n;
        return (int)i;
    }
    return -1;
}

static void rr_destroy(void *ps)
{
    free(ps);
}

const struct lb_policy lb_round_robin = {
    .name = "round_robin",
    .weighted = 0,
    .create = rr_create,
    .pick = rr_pick,
    .destroy = rr_destroy,
};
