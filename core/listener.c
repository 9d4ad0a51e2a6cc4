#include "listener.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#include "plugin_hooks.h"
#include "plugin_transport.h"
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
                foyer_worker_accept_retry(); /* fds also come back from upstreams */
            }
            return;
        }
        if (foyer_worker.config->nplugins &&
            foyer_hooks_accept(foyer_worker.config, &peer.sa, len) != FOYER_CONTINUE) {
            close(fd); /* a plugin refused the client (e.g. an address block list) */
            continue;
        }
        const struct foyer_transport *tp;
        void *tp_ctx;
        if (foyer_plugin_transport(foyer_worker.config, l->index, fd, &tp, &tp_ctx) != 0)
            continue; /* refused by the listener's plugin */
        /* TCP_NODELAY is inherited from the listening socket on Linux */
        foyer_conn_accepted(fd, &peer, l->port, tp, tp_ctx);
    }
}

struct foyer_listener *foyer_listener_start(int fd, const union foyer_sockaddr *addr,
                                            socklen_t addrlen)
{
    struct foyer_listener *l = calloc(1, sizeof *l);
    if (l == NULL) return NULL;
    l->fd = fd;
    l->addr = *addr;
    l->addrlen = addrlen;
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
    if (l->fd >= 0) close(l->fd);
    free(l);
}

static int same_addr(const union foyer_sockaddr *a, socklen_t alen,
                     const union foyer_sockaddr *b, socklen_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* Unlinks and returns the listener for this address from *list, if any. */
static struct foyer_listener *take(struct foyer_listener **list,
                                   const struct foyer_listen *ls)
{
    for (struct foyer_listener **pp = list; *pp != NULL; pp = &(*pp)->next)
        if (same_addr(&(*pp)->addr, (*pp)->addrlen, &ls->addr, ls->addrlen)) {
            struct foyer_listener *l = *pp;
            *pp = l->next;
            l->next = NULL;
            return l;
        }
    return NULL;
}

/* A new listener for ls: from an inherited socket or a fresh one. */
static struct foyer_listener *open_for(const struct foyer_listen *ls,
                                       struct foyer_listen_fd *inh, unsigned ninh)
{
    char err[256];
    int fd = -1;
    for (unsigned i = 0; i < ninh && fd < 0; i++)
        if (inh[i].fd >= 0 &&
            same_addr(&inh[i].addr, inh[i].addrlen, &ls->addr, ls->addrlen)) {
            fd = inh[i].fd;
            inh[i].fd = -1;
        }
    if (fd < 0 && (fd = foyer_listener_open(ls, err, sizeof err)) < 0) {
        foyer_err("%s", err);
        return NULL;
    }
    struct foyer_listener *l = foyer_listener_start(fd, &ls->addr, ls->addrlen);
    if (l == NULL) close(fd);
    return l;
}

static void close_all(struct foyer_listener *l)
{
    while (l != NULL) {
        struct foyer_listener *next = l->next;
        foyer_listener_close(l);
        l = next;
    }
}

int foyer_listeners_apply(struct foyer_listener **list, const struct foyer_config *c,
                          struct foyer_listen_fd *inherited, unsigned ninherited)
{
    struct foyer_listener *kept = NULL, *opened = NULL;
    int failed = 0;
    for (unsigned i = 0; i < c->nlistens && !failed; i++) {
        struct foyer_listener *l = take(list, &c->listens[i]);
        struct foyer_listener **into = &kept;
        if (l == NULL) {
            l = open_for(&c->listens[i], inherited, ninherited);
            into = &opened;
        }
        if (l == NULL) {
            failed = 1;
            break;
        }
        l->index = i;
        l->next = *into;
        *into = l;
    }
    for (unsigned i = 0; i < ninherited; i++)
        if (inherited[i].fd >= 0) close(inherited[i].fd);
    if (failed) { /* leave things as they were */
        close_all(opened);
        while (kept != NULL) {
            struct foyer_listener *next = kept->next;
            kept->next = *list;
            *list = kept;
            kept = next;
        }
        return -1;
    }
    close_all(*list); /* addresses the new config no longer has */
    *list = kept;
    while (opened != NULL) {
        struct foyer_listener *next = opened->next;
        opened->next = *list;
        *list = opened;
        opened = next;
    }
    return 0;
}
