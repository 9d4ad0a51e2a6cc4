#include "pool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct foyer_pool_block {
    struct foyer_pool_block *next;
    size_t used, size;
    _Alignas(16) char data[];
};

static struct foyer_pool_block *block_new(size_t size)
{
    struct foyer_pool_block *b = malloc(sizeof *b + size);
    if (b == NULL) return NULL;
    b->next = NULL;
    b->used = 0;
    b->size = size;
    return b;
}

/* Released pools are kept (reset) for the next request: no malloc per request
 * in the steady state. Bounded so a burst does not pin memory. */
#define POOL_CACHE_MAX 64
static struct foyer_pool *cache[POOL_CACHE_MAX];
static unsigned ncache;

struct foyer_pool *foyer_pool_get(size_t block_size)
{
    for (unsigned i = ncache; i > 0; i--) {
        struct foyer_pool *p = cache[i - 1];
        if (p->block_size != block_size) continue;
        cache[i - 1] = cache[--ncache];
        return p;
    }
    return foyer_pool_create(block_size);
}

void foyer_pool_release(struct foyer_pool *p)
{
    if (p == NULL) return;
    if (ncache == POOL_CACHE_MAX) {
        foyer_pool_destroy(p);
        return;
    }
    foyer_pool_reset(p);
    cache[ncache++] = p;
}

struct foyer_pool *foyer_pool_create(size_t block_size)
{
    struct foyer_pool *p = malloc(sizeof *p);
    if (p == NULL) return NULL;
    p->block_size = block_size;
    p->large = NULL;
    p->current = block_new(block_size);
    if (p->current == NULL) {
        free(p);
        return NULL;
    }
    return p;
}

static void free_chain(struct foyer_pool_block *b)
{
    while (b != NULL) {
        struct foyer_pool_block *n = b->next;
        free(b);
        b = n;
    }
}

void foyer_pool_reset(struct foyer_pool *p)
{
    /* keep the first block (the oldest, at the end of the current chain) */
    struct foyer_pool_block *first = p->current;
    while (first->next != NULL) {
        struct foyer_pool_block *n = first->next;
        free(first);
        first = n;
    }
    first->used = 0;
    p->current = first;
    free_chain(p->large);
    p->large = NULL;
}

void foyer_pool_destroy(struct foyer_pool *p)
{
    if (p == NULL) return;
    free_chain(p->current);
    free_chain(p->large);
    free(p);
}

void *foyer_pool_alloc(struct foyer_pool *p, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n > p->block_size / 2) {
        struct foyer_pool_block *b = block_new(n);
        if (b == NULL) return NULL;
        b->next = p->large;
        p->large = b;
        return b->data;
    }
    struct foyer_pool_block *b = p->current;
    if (b->size - b->used < n) {
        b = block_new(p->block_size);
        if (b == NULL) return NULL;
        b->next = p->current;
        p->current = b;
    }
    void *r = b->data + b->used;
    b->used += n;
    return r;
}

char *foyer_pool_strndup(struct foyer_pool *p, const char *s, size_t n)
{
    char *d = foyer_pool_alloc(p, n + 1);
    if (d == NULL) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}
