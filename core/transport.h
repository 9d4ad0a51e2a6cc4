/* Connection I/O behind a small interface so the TLS plugin can wrap a plain
 * TCP connection without the proxy logic knowing. Calls follow read(2) and
 * writev(2): -1 with errno EAGAIN means "wait for readiness". */
#ifndef FOYER_TRANSPORT_H
#define FOYER_TRANSPORT_H

#include <sys/types.h>
#include <sys/uio.h>

struct foyer_transport {
    const char *name;
    ssize_t (*read)(void *ctx, int fd, void *buf, size_t len);
    ssize_t (*writev)(void *ctx, int fd, const struct iovec *iov, int iovcnt);
    int (*shutdown)(void *ctx, int fd); /* no more writes */
    void (*close)(void *ctx, int fd);
};

extern const struct foyer_transport foyer_transport_tcp;

#endif
