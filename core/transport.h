/* Connection I/O behind a small interface so the TLS plugin can wrap a plain
 * TCP connection without the proxy logic knowing. Calls follow read(2) and
 * writev(2): -1 with errno EAGAIN means "wait for readiness". */
#ifndef FOYER_TRANSPORT_H
#define FOYER_TRANSPORT_H

#include <foyer/plugin.h> /* FOYER_WANT_READ / FOYER_WANT_WRITE, shared with plugins */
#include <sys/types.h>
#include <sys/uio.h>

struct foyer_transport {
    const char *name;
    ssize_t (*read)(void *ctx, int fd, void *buf, size_t len);
    ssize_t (*writev)(void *ctx, int fd, const struct iovec *iov, int iovcnt);
    int (*shutdown)(void *ctx, int fd); /* no more writes */
    void (*close)(void *ctx, int fd);   /* closes fd and frees ctx */
    /* Optional (NULL for TCP). After EAGAIN: what the transport waits for. */
    int (*want)(void *ctx);
    /* Bytes it holds that read can return without the socket being readable
     * (decrypted TLS records): the loop must not wait for epoll then. */
    size_t (*pending)(void *ctx);
    /* Connection facts for req.tls ("sni", "alpn", "version", ...), NULL if none. */
    const char *(*info)(void *ctx, const char *key);
};

extern const struct foyer_transport foyer_transport_tcp;

#endif
