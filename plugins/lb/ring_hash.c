/* ring_hash: consistent hashing on a ring (Karger et al.; ketama, Envoy's
 * RING_HASH). Each endpoint puts points on a 64-bit ring, 256 per unit of
 * weight; a key goes to the first point at or after its hash. Points
 * are hashes of the endpoint's name, so adding or removing an endpoint moves
 * only the keys of its own arcs: 1/N of them, exactly. A down or already tried
 * endpoint is passed over by walking on along the ring; with hash_balance so
 * is one over its bounded load. Costs O(log points) per pick. */
#include "policy.h"

#include <stdlib.h>
#include <string.h>

struct point {
    uint64_t hash;
    uint32_t member;
};

struct ring {
    uint32_t n;
    double balance;
    struct point pt[];
};

static int by_hash(const void *a, const void *b)
{
    const struct point *x = a, *y = b;
    if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
    return x->member < y->member ? -1 : x->member > y->member; /* deterministic */
}

/* Points per unit of weight. An endpoint's share of the ring varies by about
 * 1/sqrt(points): 256 keep the busiest of 20 endpoints within about 15% of
 * its fair share. The count depends on the endpoint's own weight only, not on
 * how many others there are, or removing one would move everyone's points. */
#define RING_POINTS 256u
/* Very large weights are scaled down to keep the ring under this many
 * points (a ring that is scaled loses exact stability, not correctness). */
#define RING_MAX_POINTS (1u << 20)

static uint32_t points_of(const struct lb_pool *p, unsigned i)
{
    uint64_t k = (uint64_t)RING_POINTS * p->m[i].weight;
    uint64_t all = (uint64_t)RING_POINTS * p->total_weight;
    if (all > RING_MAX_POINTS) k = k * RING_MAX_POINTS / all;
    return k ? (uint32_t)k : 1;
}

static int ring_create(const struct lb_pool *p, const struct lb_tuning *t, void **ps)
{
    uint64_t count = 0;
    for (unsigned i = 0; i < p->n; i++)
        count += points_of(p, i);
    struct ring *r = malloc(sizeof *r + (count ? count : 1) * sizeof r->pt[0]);
    if (r == NULL) return -1;
    r->n = 0;
    r->balance = t ? t->hash_balance : 0;
    for (unsigned i = 0; i < p->n; i++) {
        size_t len = strlen(p->m[i].name);
        for (uint32_t k = 0, e = points_of(p, i); k < e; k++)
            r->pt[r->n++] = (struct point){lb_hash64(p->m[i].name, len, k), i};
    }
    qsort(r->pt, r->n, sizeof r->pt[0], by_hash);
    *ps = r;
    return 0;
}

/* Index of the first point with hash >= h, wrapping to 0. */
static uint32_t first_at(const struct ring *r, uint64_t h)
{
    uint32_t lo = 0, hi = r->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r->pt[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == r->n ? 0 : lo;
}

static int ring_pick(void *ps, const struct lb_pool *p, const struct lb_ask *a)
{
    struct ring *r = ps;
    if (r->n == 0) return -1;
    uint64_t h = a->has_hash ? a->hash : lb_rand(a->rng);
    uint32_t at = first_at(r, h);
    int fallback = -1;
    for (uint32_t k = 0; k < r->n; k++) {
        uint32_t i = r->pt[(at + k) % r->n].member;
        if (!lb_usable(a, i)) continue;
        if (lb_under_capacity(p, i, r->balance)) return (int)i;
        if (fallback < 0) fallback = (int)i;
    }
    return fallback;
}

static void ring_destroy(void *ps)
{
    free(ps);
}

const struct lb_policy lb_ring_hash = {
    .name = "ring_hash",
    .hashing = 1,
    .weighted = 1,
    .create = ring_create,
    .pick = ring_pick,
    .destroy = ring_destroy,
};
