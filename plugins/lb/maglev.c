/* maglev: consistent hashing with Google's Maglev lookup table (Eisenbud et
 * al., NSDI 2016). Each endpoint owns a share of a table of M slots (M prime,
 * at least 100 x the endpoints, so shares differ by about 1%), filled in turn
 * along a permutation derived from the endpoint's name. A key goes to the
 * endpoint of slot hash % M: one lookup, whatever the number of endpoints.
 *
 * Stability:
 *  - an endpoint that is down (or already tried) keeps its slots; its keys
 *    probe further slots drawn from the key, which belong to the other
 *    endpoints in proportion to their shares. Nobody else's keys move:
 *    exactly the down endpoint's 1/N, and they come back when it does;
 *  - an endpoint added or removed by a reload rebuilds the table; Maglev's
 *    permutations keep that to about 1/N of the keys, plus about 1% (see
 *    tests/plugins/test_lb_maglev.c).
 * Weights: an endpoint takes a slot in a filling round only when its credit,
 * grown by weight / max weight each round, reaches one, so its share of the
 * table follows its weight.
 * With hash_balance, probing also passes endpoints over their bounded load. */
#include "policy.h"

#include <stdlib.h>
#include <string.h>

struct maglev {
    uint32_t size; /* M, prime */
    double balance;
    uint32_t table[]; /* member per slot */
};

static int is_prime(uint32_t n)
{
    if (n < 2) return 0;
    for (uint32_t d = 2; d * d <= n; d++)
        if (n % d == 0) return 0;
    return 1;
}

/* M: prime, at least 100 x n so shares differ by about 1%, and taken from a
 * fixed ladder rather than computed from n, because a table of another size
 * is another table: removing one endpoint of 20 must not move every key. */
uint32_t lb_maglev_size(unsigned n)
{
    static const uint32_t ladder[] = {5003, 65537, 655373};
    for (size_t i = 0; i < sizeof ladder / sizeof *ladder; i++)
        if (ladder[i] >= 100u * n) return ladder[i];
    uint32_t m = 100u * n;
    while (!is_prime(m))
        m++;
    return m;
}

struct perm {
    uint32_t offset, skip, next;
    double credit;
};

/* The slot member i wants next along its permutation, skipping taken ones. */
static uint32_t next_free(struct maglev *t, struct perm *pm)
{
    for (;;) {
        uint32_t c = (uint32_t)((pm->offset + (uint64_t)pm->next * pm->skip) % t->size);
        pm->next++;
        if (t->table[c] == UINT32_MAX) return c;
    }
}

/* Members take turns in the order of their names, not of the configuration,
 * so the table depends only on which endpoints there are (and their weights):
 * reordering a service's endpoint list moves no key. */
static int by_name(const void *a, const void *b, void *pool)
{
    const struct lb_pool *p = pool;
    return strcmp(p->m[*(const unsigned *)a].name, p->m[*(const unsigned *)b].name);
}

static void fill(struct maglev *t, const struct lb_pool *p, struct perm *pm,
                 unsigned *order)
{
    for (unsigned i = 0; i < p->n; i++)
        order[i] = i;
    qsort_r(order, p->n, sizeof *order, by_name, (void *)p);
    unsigned wmax = 1;
    for (unsigned i = 0; i < p->n; i++)
        if (p->m[i].weight > wmax) wmax = p->m[i].weight;
    for (uint32_t c = 0; c < t->size; c++)
        t->table[c] = UINT32_MAX;
    uint32_t filled = 0;
    while (filled < t->size) {
        for (unsigned k = 0; k < p->n && filled < t->size; k++) {
            unsigned i = order[k];
            pm[i].credit += (double)p->m[i].weight / wmax;
            if (pm[i].credit < 1.0) continue;
            pm[i].credit -= 1.0;
            t->table[next_free(t, &pm[i])] = i;
            filled++;
        }
    }
}

static int maglev_create(const struct lb_pool *p, const struct lb_tuning *tu, void **ps)
{
    uint32_t size = lb_maglev_size(p->n);
    struct maglev *t = malloc(sizeof *t + size * sizeof t->table[0]);
    struct perm *pm = calloc(p->n ? p->n : 1, sizeof *pm);
    unsigned *order = calloc(p->n ? p->n : 1, sizeof *order);
    if (t == NULL || pm == NULL || order == NULL) {
        free(t);
        free(pm);
        free(order);
        return -1;
    }
    t->size = size;
    t->balance = tu ? tu->hash_balance : 0;
    for (unsigned i = 0; i < p->n; i++) {
        const char *name = p->m[i].name;
        size_t len = strlen(name);
        pm[i].offset = (uint32_t)(lb_hash64(name, len, 0x6d61676c) % size);
        pm[i].skip = (uint32_t)(lb_hash64(name, len, 0x736b6970) % (size - 1)) + 1;
    }
    if (p->n > 0) fill(t, p, pm, order);
    free(pm);
    free(order);
    *ps = t;
    return 0;
}

/* The endpoint owning a slot, for the tests. */
unsigned lb_maglev_slot(const void *ps, uint32_t slot)
{
    const struct maglev *t = ps;
    return t->table[slot % t->size];
}

/* The slot a key tries at its k-th attempt: its own first, then further
 * slots drawn from the key, so the keys of a down endpoint spread over the
 * others like fresh keys do (neighbouring slots would favour some). */
static uint32_t probe_slot(uint64_t h, uint32_t k, uint32_t size)
{
    return (uint32_t)((k == 0 ? h : lb_mix64(h + k * 0x9e3779b97f4a7c15ull)) % size);
}

#define MAGLEV_PROBES 32

static int maglev_pick(void *ps, const struct lb_pool *p, const struct lb_ask *a)
{
    struct maglev *t = ps;
    if (p->n == 0) return -1;
    uint64_t h = a->has_hash ? a->hash : lb_rand(a->rng);
    int fallback = -1; /* the first usable one, should all be over their bound */
    for (uint32_t k = 0; k < MAGLEV_PROBES; k++) {
        uint32_t i = t->table[probe_slot(h, k, t->size)];
        if (!lb_usable(a, i)) continue;
        if (lb_under_capacity(p, i, t->balance)) return (int)i;
        if (fallback < 0) fallback = (int)i;
    }
    /* Most endpoints out: walk the table from the key's slot, which ends. */
    for (uint32_t k = 0, pos = probe_slot(h, 0, t->size); k < t->size; k++) {
        uint32_t i = t->table[(pos + k) % t->size];
        if (!lb_usable(a, i)) continue;
        if (lb_under_capacity(p, i, t->balance)) return (int)i;
        if (fallback < 0) fallback = (int)i;
    }
    return fallback;
}

static void maglev_destroy(void *ps)
{
    free(ps);
}

const struct lb_policy lb_maglev = {
    .name = "maglev",
    .hashing = 1,
    .weighted = 1,
    .create = maglev_create,
    .pick = maglev_pick,
    .destroy = maglev_destroy,
};
