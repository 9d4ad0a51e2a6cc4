/* Per-request arena: many small allocations, one free. Blocks are chained;
 * the first block is embedded so a typical request allocates once. */
#ifndef FOYER_POOL_H
#define FOYER_POOL_H

#include <stddef.h>

struct foyer_pool_block;

struct foyer_pool {
    struct foyer_pool_block *current;
    struct foyer_pool_block *large; /* chain of extra blocks */
    size_t block_size;
};

struct foyer_pool *foyer_pool_create(size_t block_size);
void foyer_pool_destroy(struct foyer_pool *p);
/* Frees all but the first block and makes it empty again. */
void foyer_pool_reset(struct foyer_pool *p);
/* A pool from the per-process cache (or a new one); release returns it there. */
struct foyer_pool *foyer_pool_get(size_t block_size);
void foyer_pool_release(struct foyer_pool *p);
void *foyer_pool_alloc(struct foyer_pool *p, size_t n);
char *foyer_pool_strndup(struct foyer_pool *p, const char *s, size_t n);

#endif
