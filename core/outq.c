#include "outq.h"
#include "transport.h"

#include <errno.h>

void foyer_outq_add(struct foyer_outq *q, const void *p, size_t len)
{
    if (len == 0) return;
    struct iovec *v = &q->iov[q->first + q->n++];
    v->iov_base = (void *)p;
    v->iov_len = len;
    q->bytes += len;
}

void foyer_outq_add_chunk(struct foyer_outq *q, const void *p, size_t len)
{
    size_t size = len;
    if (len == 0) return;
    static const char hex[] = "0123456789abcdef";
    char *line = q->lines[q->nlines++], tmp[16];
    int n = 0, k = 0;
    do {
        tmp[k++] = hex[len & 15];
        len >>= 4;
    } while (len != 0);
    while (k > 0)
        line[n++] = tmp[--k];
    line[n++] = '\r';
    line[n++] = '\n';
    foyer_outq_add(q, line, (size_t)n);
    foyer_outq_add(q, p, size);
    foyer_outq_add(q, "\r\n", 2);
}

static void consume(struct foyer_outq *q, size_t n)
{
    q->bytes -= n;
    while (n > 0) {
        struct iovec *v = &q->iov[q->first];
        if (n < v->iov_len) {
            v->iov_base = (char *)v->iov_base + n;
            v->iov_len -= n;
            return;
        }
        n -= v->iov_len;
        q->first++;
        q->n--;
    }
}

int foyer_outq_flush(struct foyer_outq *q, const struct foyer_transport *tp, void *ctx,
                     int fd, size_t *written)
{
    while (q->n > 0) {
        ssize_t w = tp->writev(ctx, fd, q->iov + q->first, q->n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 1;
            return -1;
        }
        if (written) *written += (size_t)w;
        consume(q, (size_t)w);
    }
    foyer_outq_init(q);
    return 0;
}
