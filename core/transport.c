/* The plain TCP transport. */
#include "transport.h"

#include <sys/socket.h>
#include <unistd.h>

static ssize_t tcp_read(void *ctx, int fd, void *buf, size_t len)
{
    return read(fd, buf, len);
}

/* write/writev rather than send/sendmsg: the plain VFS path is the cheaper
 * syscall, and SIGPIPE is ignored in every foyer process. */
static ssize_t tcp_writev(void *ctx, int fd, const struct iovec *iov, int iovcnt)
{
    if (iovcnt == 1) return write(fd, iov[0].iov_base, iov[0].iov_len);
    return writev(fd, iov, iovcnt);
}

static int tcp_shutdown(void *ctx, int fd)
{
    return shutdown(fd, SHUT_WR);
}

static void tcp_close(void *ctx, int fd)
{
    close(fd);
}

const struct foyer_transport foyer_transport_tcp = {
    .name = "tcp",
    .read = tcp_read,
    .writev = tcp_writev,
    .shutdown = tcp_shutdown,
    .close = tcp_close,
};
