/* Upstream connections and their per-endpoint idle pools. An idle connection
 * keeps its read watcher armed: the only thing it may legitimately see is the
 * peer closing, and then it leaves the pool at once instead of failing the
 * next request that picks it. */
#include "upstream.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "transport.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct foyer_upstream_pool *pools;

static int pool_matches(const struct foyer_upstream_pool *p,
                        const struct foyer_endpoint *ep, const char *tls_service)
{
    if (p->addrlen != ep->addrlen || memcmp(&p->addr, &ep->addr, ep->addrlen) != 0)
        return 0;
    if (tls_service == NULL || p->tls_service == NULL)
        return tls_service == p->tls_service;
    return strcmp(tls_service, p->tls_service) == 0;
}

static struct foyer_upstream_pool *pool_for(struct foyer_endpoint *ep,
                                            const char *tls_service)
{
    if (ep->pool != NULL) return ep->pool;
    for (struct foyer_upstream_pool *p = pools; p != NULL; p = p->next)
        if (pool_matches(p, ep, tls_service)) return ep->pool = p;
    struct foyer_upstream_pool *p = calloc(1, sizeof *p);
    if (p == NULL) return NULL;
    if (tls_service != NULL && (p->tls_service = strdup(tls_service)) == NULL) {
        free(p);
        return NULL;
    }
    p->addr = ep->addr;
    p->addrlen = ep->addrlen;
    memcpy(p->name, ep->name, sizeof p->name);
    p->next = pools;
    pools = p;
    return ep->pool = p;
}

static void unlink_idle(struct foyer_upstream *u)
{
    struct foyer_upstream **pp = &u->pool->idle;
    while (*pp != NULL && *pp != u)
        pp = &(*pp)->next_idle;
    if (*pp == u) {
        *pp = u->next_idle;
        u->pool->nidle--;
        foyer_metrics_gauge_add(FOYER_G_UPSTREAM_IDLE, -1);
    }
    u->next_idle = NULL;
}

void foyer_upstream_close(struct foyer_upstream *u)
{
    struct ev_loop *loop = foyer_worker.loop;
    ev_io_stop(loop, &u->rio);
    ev_io_stop(loop, &u->wio);
    foyer_deadline_stop(loop, &u->timer);
    if (u->fd >= 0) u->tp->close(u->tp_ctx, u->fd);
    foyer_buf_put(u->in);
    free(u);
}

ssize_t foyer_upstream_read(struct foyer_upstream *u, void *buf, size_t len)
{
    ssize_t n = u->tp->read(u->tp_ctx, u->fd, buf, len);
    if (u->tp->pending == NULL) return n; /* plain TCP */
    if (n > 0 && u->tp->pending(u->tp_ctx) > 0)
        ev_feed_event(foyer_worker.loop, &u->rio, EV_READ); /* more is already here */
    if (n < 0 && errno == EAGAIN && u->tp->want(u->tp_ctx) == FOYER_WANT_WRITE) {
        u->read_wants_write = 1; /* e.g. a TLS handshake with a full send buffer */
        ev_io_start(foyer_worker.loop, &u->wio);
    }
    return n;
}

/* TLS may have records to process (a session ticket after the handshake)
 * that give no data: only EOF, an error or unasked-for bytes end it. */
static void idle_event(struct ev_loop *loop, ev_io *w, int revents)
{
    struct foyer_upstream *u = w->data;
    char b[64];
    if (w == &u->wio) ev_io_stop(loop, w); /* a read waiting for writability */
    ssize_t n = u->tp->read(u->tp_ctx, u->fd, b, sizeof b);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (u->tp->want != NULL && u->tp->want(u->tp_ctx) == FOYER_WANT_WRITE)
            ev_io_start(loop, &u->wio);
        return;
    }
    /* EOF, an error, or bytes nobody asked for: the connection is unusable */
    unlink_idle(u);
    foyer_upstream_close(u);
}

static void idle_timeout(struct foyer_deadline *d)
{
    struct foyer_upstream *u = FOYER_CONTAINER_OF(d, struct foyer_upstream, timer);
    unlink_idle(u);
    foyer_upstream_close(u);
}

static struct foyer_upstream *take_idle(struct foyer_upstream_pool *p)
{
    struct foyer_upstream *u = p->idle;
    if (u == NULL) return NULL;
    p->idle = u->next_idle;
    p->nidle--;
    foyer_metrics_gauge_add(FOYER_G_UPSTREAM_IDLE, -1);
    u->next_idle = NULL;
    u->reused = 1;
    foyer_deadline_clear(&u->timer);
    return u;
}

static int open_socket(struct foyer_upstream_pool *p)
{
    int fd = socket(p->addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, &p->addr.sa, p->addrlen) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

struct foyer_upstream *foyer_upstream_get(struct foyer_endpoint *ep,
                                          const char *tls_service)
{
    struct foyer_upstream_pool *p = pool_for(ep, tls_service);
    if (p == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    struct foyer_upstream *u = take_idle(p);
    if (u != NULL) return u;
    int fd = open_socket(p);
    if (fd < 0) return NULL;
    u = calloc(1, sizeof *u);
    if (u == NULL) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    u->fd = fd;
    u->tp = &foyer_transport_tcp;
    u->pool = p;
    ev_io_init(&u->rio, idle_event, fd, EV_READ);
    ev_io_init(&u->wio, idle_event, fd, EV_WRITE);
    foyer_deadline_init(&u->timer, idle_timeout);
    u->rio.data = u->wio.data = u;
    return u;
}

int foyer_upstream_set_transport(struct foyer_upstream *u, int rc,
                                 const struct foyer_transport *tp, void *ctx)
{
    if (rc != 0) {
        u->fd = -1; /* closed by the plugin adapter */
        foyer_upstream_close(u);
        return -1;
    }
    u->tp = tp;
    u->tp_ctx = ctx;
    return 0;
}

int foyer_upstream_connect_error(struct foyer_upstream *u)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
}

void foyer_upstream_release(struct foyer_upstream *u, int reusable, unsigned max_idle)
{
    struct ev_loop *loop = foyer_worker.loop;
    u->x = NULL;
    if (!reusable || u->pool->nidle >= max_idle || foyer_worker.stopping ||
        (u->in != NULL && foyer_buf_len(u->in) > 0) ||
        (u->tp->pending != NULL && u->tp->pending(u->tp_ctx) > 0)) {
        foyer_upstream_close(u);
        return;
    }
    foyer_buf_put(u->in);
    u->in = NULL;
    ev_io_stop(loop, &u->wio);
    u->read_wants_write = u->write_wants_read = 0;
    ev_set_cb(&u->rio, idle_event);
    ev_set_cb(&u->wio, idle_event);
    if (!ev_is_active(&u->rio)) ev_io_start(loop, &u->rio);
    /* idle upstream connections age out well before typical server timeouts */
    u->timer.expired = idle_timeout;
    foyer_deadline_set(loop, &u->timer, 30.);
    u->next_idle = u->pool->idle;
    u->pool->idle = u;
    u->pool->nidle++;
    foyer_metrics_gauge_add(FOYER_G_UPSTREAM_IDLE, 1);
}

static void close_idle_of(struct foyer_upstream_pool *p)
{
    while (p->idle != NULL) {
        struct foyer_upstream *u = p->idle;
        p->idle = u->next_idle;
        p->nidle--;
        foyer_metrics_gauge_add(FOYER_G_UPSTREAM_IDLE, -1);
        foyer_upstream_close(u);
    }
}

void foyer_upstream_close_idle(void)
{
    for (struct foyer_upstream_pool *p = pools; p != NULL; p = p->next)
        close_idle_of(p);
}

void foyer_upstream_close_idle_tls(void)
{
    for (struct foyer_upstream_pool *p = pools; p != NULL; p = p->next)
        if (p->tls_service != NULL) close_idle_of(p);
}
