/* Fixed-size I/O buffers from per-worker free lists. Two size classes: a small
 * one for request heads (so a connection holding half a header stays small) and
 * a large one for relaying bodies with few syscalls. Idle connections hold none. */
#ifndef FOYER_BUF_H
#define FOYER_BUF_H

#include <stddef.h>

#define FOYER_BUF_SMALL 4096
#define FOYER_BUF_LARGE 65536

struct foyer_buf {
    size_t cap;
    size_t start; /* first unconsumed byte */
    size_t end;   /* one past the last byte read */
    struct foyer_buf *next_free;
    char data[];
};

struct foyer_buf *foyer_buf_get(size_t cap);
void foyer_buf_put(struct foyer_buf *b);
void foyer_buf_trim_freelists(void);

static inline size_t foyer_buf_len(const struct foyer_buf *b)
{
    return b->end - b->start;
}
static inline size_t foyer_buf_room(const struct foyer_buf *b)
{
    return b->cap - b->end;
}
static inline char *foyer_buf_pos(struct foyer_buf *b)
{
    return b->data + b->start;
}
static inline char *foyer_buf_tail(struct foyer_buf *b)
{
    return b->data + b->end;
}
/* Moves unconsumed bytes to the front to make room at the tail. */
void foyer_buf_compact(struct foyer_buf *b);
/* Returns a buffer of at least cap holding b's unconsumed bytes (b is released). */
struct foyer_buf *foyer_buf_grow(struct foyer_buf *b, size_t cap);

#endif
