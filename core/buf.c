#include "buf.h"

#include <stdlib.h>
#include <string.h>

/* Free lists are bounded so a burst does not pin memory for ever. */
#define FREELIST_MAX 64

struct freelist {
    struct foyer_buf *head;
    unsigned count;
};

static struct freelist small_free, large_free;

static struct freelist *list_for(size_t cap)
{
    if (cap == FOYER_BUF_SMALL) return &small_free;
    if (cap == FOYER_BUF_LARGE) return &large_free;
    return NULL;
}

struct foyer_buf *foyer_buf_get(size_t cap)
{
    struct freelist *fl = list_for(cap);
    struct foyer_buf *b;
    if (fl != NULL && fl->head != NULL) {
        b = fl->head;
        fl->head = b->next_free;
        fl->count--;
    } else {
        b = malloc(sizeof *b + cap);
        if (b == NULL) return NULL;
        b->cap = cap;
    }
    b->start = b->end = 0;
    b->next_free = NULL;
    return b;
}

void foyer_buf_put(struct foyer_buf *b)
{
    if (b == NULL) return;
    struct freelist *fl = list_for(b->cap);
    if (fl == NULL || fl->count >= FREELIST_MAX) {
        free(b);
        return;
    }
    b->next_free = fl->head;
    fl->head = b;
    fl->count++;
}

static void trim(struct freelist *fl)
{
    while (fl->head != NULL) {
        struct foyer_buf *b = fl->head;
        fl->head = b->next_free;
        free(b);
    }
    fl->count = 0;
}

void foyer_buf_trim_freelists(void)
{
    trim(&small_free);
    trim(&large_free);
}

void foyer_buf_compact(struct foyer_buf *b)
{
    if (b->start == 0) return;
    size_t len = b->end - b->start;
    memmove(b->data, b->data + b->start, len);
    b->start = 0;
    b->end = len;
}

struct foyer_buf *foyer_buf_grow(struct foyer_buf *b, size_t cap)
{
    size_t len = foyer_buf_len(b);
    if (cap < len) return NULL;
    struct foyer_buf *nb = foyer_buf_get(cap);
    if (nb == NULL) return NULL;
    memcpy(nb->data, foyer_buf_pos(b), len);
    nb->end = len;
    foyer_buf_put(b);
    return nb;
}
