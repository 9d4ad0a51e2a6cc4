/* A queue of byte ranges waiting to be written to one socket. Ranges point into
 * buffers owned elsewhere; the owner keeps them untouched until the queue is
 * empty, which is also the rule for backpressure: a source is read again only
 * once its destination's queue has drained. */
#ifndef FOYER_OUTQ_H
#define FOYER_OUTQ_H

#include <stddef.h>
#include <sys/uio.h>

#define FOYER_OUTQ_MAX 48

struct foyer_transport;

struct foyer_outq {
    struct iovec iov[FOYER_OUTQ_MAX];
    int first, n;
    size_t bytes;
    /* chunk-size lines for re-chunked bodies, one per queued chunk */
    char lines[FOYER_OUTQ_MAX / 3][20];
    int nlines;
};

static inline void foyer_outq_init(struct foyer_outq *q)
{
    q->first = q->n = q->nlines = 0;
    q->bytes = 0;
}
static inline int foyer_outq_empty(const struct foyer_outq *q)
{
    return q->n == 0;
}
/* Room for one more re-chunked slice (size line, data, CRLF). */
static inline int foyer_outq_has_room(const struct foyer_outq *q)
{
    return q->first + q->n + 3 <= FOYER_OUTQ_MAX &&
           q->nlines < (int)(sizeof q->lines / sizeof q->lines[0]);
}

void foyer_outq_add(struct foyer_outq *q, const void *p, size_t len);
/* Queues data framed as one chunk ("%x\r\n" data "\r\n"). */
void foyer_outq_add_chunk(struct foyer_outq *q, const void *p, size_t len);
/* Writes as much as the socket takes. Returns 0 when empty, 1 when the socket
 * is full, -1 on error (errno set). */
int foyer_outq_flush(struct foyer_outq *q, const struct foyer_transport *tp, void *ctx,
                     int fd, size_t *written);

#endif
