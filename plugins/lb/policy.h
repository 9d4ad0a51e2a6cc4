/*
 * plugins/lb/policy.h — the load-balancing policies, as the rest of the plugin
 * (and the unit tests) see them. Private to plugins/lb: not part of the ABI,
 * and free of it, so the policies link into test programs on their own.
 *
 * A policy chooses one member of a pool (the primaries or the backups of a
 * service). It never decides health: the caller hands it `usable`, which says
 * whether a member may take this request (healthy, not tried yet), and the
 * policy skips the others. Policies do not allocate while picking.
 */
#ifndef LB_POLICY_H
#define LB_POLICY_H

#include <stddef.h>
#include <stdint.h>

/* One endpoint of a pool, with what the policies look at. */
struct lb_member {
    const char *name;  /* "host:port": what hashing policies hash, so that a key
                          keeps its endpoint across reloads and reorderings */
    unsigned index;    /* the endpoint's index in its service */
    unsigned weight;   /* >= 1 */
    unsigned inflight; /* this worker's requests in progress on it */
    double cost;       /* peak-EWMA latency in seconds (p2c_ewma); 0: no sample yet */
    double cost_at;    /* when cost was last updated */
};

struct lb_policy;

/* The members one policy instance chooses among. */
struct lb_pool {
    struct lb_member *m;
    unsigned n;
    uint64_t total_weight;
    unsigned inflight; /* sum of m[].inflight, kept by lb_pool_acquire/release */
    const struct lb_policy *policy;
    void *ps; /* the policy's state */
};

/* One pick. */
struct lb_ask {
    int (*usable)(const void *ctx, unsigned member); /* NULL: all are */
    const void *ctx;
    uint64_t hash; /* hashing policies: the request's key */
    int has_hash;  /* 0: no key in this request; hashing policies pick at random */
    double now;    /* seconds, the loop's clock */
    uint64_t *rng; /* the worker's random state (lb_rand) */
};

/* Tunables that some policies read. */
struct lb_tuning {
    double hash_balance; /* bounded load for maglev/ring_hash: an endpoint takes at most
                            balance x its fair share of the in-flight requests; 0 = off */
    double ewma_decay;   /* p2c_ewma: seconds for a latency sample to fade to 1/e */
};

struct lb_policy {
    const char *name;
    int hashing;  /* 1: consistent hashing, wants ask->hash */
    int weighted; /* 0: ignores weights */
    /* Builds the policy's state for a pool; -1 on failure (out of memory). */
    int (*create)(const struct lb_pool *p, const struct lb_tuning *t, void **ps);
    /* The chosen member, or -1 when no member is usable. */
    int (*pick)(void *ps, const struct lb_pool *p, const struct lb_ask *a);
    void (*destroy)(void *ps);
};

extern const struct lb_policy lb_round_robin, lb_weighted, lb_least_conn, lb_p2c_ewma,
    lb_maglev, lb_ring_hash, lb_random;

/* The policy called name, or NULL. */
const struct lb_policy *lb_policy_find(const char *name);
/* "round_robin, weighted, ..." for error messages. */
const char *lb_policy_names(void);

/* weighted.c: one smooth-WRR step over the members take() accepts (NULL: all);
 * current[] holds the running scores. Returns the member, or -1. */
int lb_swrr_step(int64_t *current, const struct lb_pool *p,
                 int (*take)(const void *ctx, unsigned i), const void *ctx);

static inline int lb_usable(const struct lb_ask *a, unsigned i)
{
    return a->usable == NULL || a->usable(a->ctx, i);
}

/* ---- randomness (xorshift64*: fast, and good enough to spread load) ---- */

static inline uint64_t lb_rand(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull; /* a zero state would stay zero */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, n) for n < 2^32 (multiply-shift, no modulo bias worth naming). */
static inline uint32_t lb_rand_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(((lb_rand(s) >> 32) * n) >> 32);
}

/* ---- hashing (hash.c) ---- */

/* A 64-bit hash of bytes with a seed: FNV-1a folded through a strong finalizer
 * so that similar keys ("10.0.0.1:80", "10.0.0.2:80") land far apart. */
uint64_t lb_hash64(const void *p, size_t n, uint64_t seed);
uint64_t lb_mix64(uint64_t x);

/* maglev.c: the table size for n endpoints, and a slot's member (tests). */
uint32_t lb_maglev_size(unsigned n);
unsigned lb_maglev_slot(const void *ps, uint32_t slot);

/* ---- shared by the hashing policies ---- */

/* Bounded load (Mirrokni et al., "Consistent Hashing with Bounded Loads"):
 * may member i take one more request without exceeding balance x its
 * weighted share of the pool's in-flight requests? */
static inline int lb_under_capacity(const struct lb_pool *p, unsigned i, double balance)
{
    if (balance <= 0) return 1;
    double share = (double)(p->inflight + 1) * p->m[i].weight / (double)p->total_weight;
    double cap = balance * share;
    unsigned limit = (unsigned)cap + (cap > (unsigned)cap); /* ceil */
    return p->m[i].inflight + 1 <= limit;
}

/* ---- p2c_ewma's latency estimate, also fed by lb.c ---- */

/* Records one latency sample (seconds) at time now. */
void lb_ewma_observe(struct lb_member *m, double rtt, double now, double decay);
/* The member's load: decayed peak-EWMA latency x (in-flight + 1) / weight. */
double lb_ewma_load(const struct lb_member *m, double now, double decay);

/* ---- pool bookkeeping ---- */

static inline void lb_pool_acquire(struct lb_pool *p, unsigned i)
{
    p->m[i].inflight++;
    p->inflight++;
}

static inline void lb_pool_release(struct lb_pool *p, unsigned i)
{
    if (p->m[i].inflight > 0) p->m[i].inflight--;
    if (p->inflight > 0) p->inflight--;
}

#endif /* LB_POLICY_H */
