/* Upstream connections and their per-endpoint idle pools. An idle connection
 * keeps its read watcher armed: the only thing it may legitimately see is the
 * peer closing, and then it leaves the pool at once instead of failing the
 * next request that picks it. */
#include "upstream.h"
#include "buf.h"
#include "config.h"
#include "log.h"
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

static struct foyer_upstream_pool *pool_for(struct foyer_endpoint *ep)
{
    if (ep->pool != NULL) return ep->pool;
    for (struct foyer_upstream_pool *p = pools; p != NULL; p = p->next)
        if (p->addrlen == ep->addrlen && memcmp(&p->addr, &ep->addr, ep->addrlen) == 0)
            return ep->pool = p;
    struct foyer_upstream_pool *p = calloc(1, sizeof *p);
    if (p == NULL) return NULL;
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
    }
    u->next_idle = NULL;
}

void foyer_upstream_close(struct foyer_upstream *u)
{
    struct ev_loop *loop = foyer_worker.loop;
    ev_io_stop(loop, &u->rio);
    ev_io_stop(loop, &u->wio);
    foyer_deadline_stop(loop, &u->timer);
    close(u->fd);
    foyer_buf_put(u->in);
    free(u);
}

static void idle_event(struct ev_loop *loop, ev_io *w, int revents)
{
    struct foyer_upstream *u = w->data;
    char b[64];
    ssize_t n = read(u->fd, b, sizeof b);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
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

struct foyer_upstream *foyer_upstream_get(struct foyer_endpoint *ep)
{
    struct foyer_upstream_pool *p = pool_for(ep);
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
    u->pool = p;
    ev_io_init(&u->rio, idle_event, fd, EV_READ);
    ev_io_init(&u->wio, idle_event, fd, EV_WRITE);
    foyer_deadline_init(&u->timer, idle_timeout);
    u->rio.data = u->wio.data = u;
    return u;
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
        (u->in != NULL && foyer_buf_len(u->in) > 0)) {
        foyer_upstream_close(u);
        return;
    }
    foyer_buf_put(u->in);
    u->in = NULL;
    ev_io_stop(loop, &u->wio);
    ev_set_cb(&u->rio, idle_event);
    if (!ev_is_active(&u->rio)) ev_io_start(loop, &u->rio);
    /* idle upstream connections age out well before typical server timeouts */
    u->timer.expired = idle_timeout;
    foyer_deadline_set(loop, &u->timer, 30.);
    u->next_idle = u->pool->idle;
    u->pool->idle = u;
    u->pool->nidle++;
}

void foyer_upstream_close_idle(void)
{
    for (struct foyer_upstream_pool *p = pools; p != NULL; p = p->next)
        while (p->idle != NULL) {
            struct foyer_upstream *u = p->idle;
            p->idle = u->next_idle;
            p->nidle--;
            foyer_upstream_close(u);
        }
}
