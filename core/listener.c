#include "listener.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#include "worker.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPTS_PER_EVENT 64

int foyer_listener_open(const struct foyer_listen *l, char *err, size_t errlen)
{
    int fd = socket(l->addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "listen %s: socket: %s", l->text, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* accept only once a request has started to arrive: one wakeup less per
     * connection; a connection that never sends is dropped by the kernel */
    int defer = 10;
    setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof defer);
    if (l->addr.sa.sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, &l->addr.sa, l->addrlen) != 0 || listen(fd, 4096) != 0) {
        snprintf(err, errlen, "listen %s: %s", l->text, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static unsigned local_port(int fd)
{
    union foyer_sockaddr a;
    socklen_t len = sizeof a;
    if (getsockname(fd, &a.sa, &len) != 0) return 0;
    return ntohs(a.sa.sa_family == AF_INET6 ? a.sin6.sin6_port : a.sin.sin_port);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    struct foyer_listener *l = w->data;
    unsigned max = foyer_worker.config->settings.max_connections;
    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
        if (foyer_worker.nconns >= max) {
            foyer_worker_listeners_enable(0); /* resumes when a connection closes */
            return;
        }
        union foyer_sockaddr peer;
        socklen_t len = sizeof peer;
        int fd = accept4(l->fd, &peer.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                foyer_err("accept: %s (raise the file limit or lower max_connections)",
                          strerror(errno));
                foyer_worker_listeners_enable(0);
            }
            return;
        }
        /* TCP_NODELAY is inherited from the listening socket on Linux */
        foyer_conn_accepted(fd, &peer, l->port);
    }
}

struct foyer_listener *foyer_listener_start(int fd)
{
    struct foyer_listener *l = calloc(1, sizeof *l);
    if (l == NULL) return NULL;
    l->fd = fd;
    l->port = local_port(fd);
    ev_io_init(&l->io, on_accept, fd, EV_READ);
    l->io.data = l;
    ev_io_start(foyer_worker.loop, &l->io);
    return l;
}

void foyer_listener_enable(struct foyer_listener *l, int on)
{
    if (on && !ev_is_active(&l->io)) ev_io_start(foyer_worker.loop, &l->io);
    if (!on && ev_is_active(&l->io)) ev_io_stop(foyer_worker.loop, &l->io);
}

void foyer_listener_close(struct foyer_listener *l)
{
    ev_io_stop(foyer_worker.loop, &l->io);
    close(l->fd);
    free(l);
}
