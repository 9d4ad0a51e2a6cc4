/* Client connections. An idle keep-alive connection holds no buffer: only this
 * struct and the kernel socket. A request head is read into a small buffer
 * that grows once, up to max_header_bytes, for the rare large head. */
#include "conn.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "proxy.h"
#include "respond.h"
#include "transport.h"
#include "worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINGER_SECONDS 2.0

static const struct foyer_settings *settings(void)
{
    return &foyer_worker.config->settings;
}

static void conn_io(struct ev_loop *loop, ev_io *w, int revents);
static void read_head(struct foyer_conn *c, int revents);
static void conn_timeout(struct foyer_deadline *d);

void foyer_conn_timer(struct foyer_conn *c, double after)
{
    foyer_deadline_set(foyer_worker.loop, &c->timer, after);
}

void foyer_conn_timer_clear(struct foyer_conn *c)
{
    foyer_deadline_clear(&c->timer);
}

ssize_t foyer_conn_read(struct foyer_conn *c, void *buf, size_t len)
{
    ssize_t n = c->tp->read(c->tp_ctx, c->fd, buf, len);
    if (c->tp->pending == NULL) return n; /* plain TCP */
    if (n > 0 && c->tp->pending(c->tp_ctx) > 0)
        ev_feed_event(foyer_worker.loop, &c->rio, EV_READ); /* more is already here */
    if (n < 0 && errno == EAGAIN && c->tp->want(c->tp_ctx) == FOYER_WANT_WRITE) {
        c->read_wants_write = 1; /* e.g. a TLS handshake with a full send buffer */
        ev_io_start(foyer_worker.loop, &c->wio);
    }
    return n;
}

void foyer_conn_watch_read(struct foyer_conn *c, int on)
{
    struct ev_loop *loop = foyer_worker.loop;
    if (on && !ev_is_active(&c->rio)) ev_io_start(loop, &c->rio);
    if (!on && ev_is_active(&c->rio)) ev_io_stop(loop, &c->rio);
    if (on && c->tp->pending != NULL && c->tp->pending(c->tp_ctx) > 0)
        ev_feed_event(loop, &c->rio, EV_READ);
}

int foyer_conn_ensure_buffer(struct foyer_conn *c, size_t cap)
{
    if (c->in == NULL) {
        c->in = foyer_buf_get(cap);
        return c->in ? 0 : -1;
    }
    if (foyer_buf_len(c->in) == 0) {
        c->in->start = c->in->end = 0;
        if (c->in->cap < cap) {
            foyer_buf_put(c->in);
            c->in = foyer_buf_get(cap);
            return c->in ? 0 : -1;
        }
    }
    if (foyer_buf_room(c->in) == 0) foyer_buf_compact(c->in);
    return 0;
}

static void release_buffer(struct foyer_conn *c)
{
    foyer_buf_put(c->in);
    c->in = NULL;
}

void foyer_conn_accepted(int fd, const union foyer_sockaddr *peer, unsigned listen_port,
                         const struct foyer_transport *tp, void *tp_ctx)
{
    struct foyer_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        foyer_err("accept: out of memory");
        tp->close(tp_ctx, fd);
        return;
    }
    c->fd = fd;
    c->peer = *peer;
    c->listen_port = listen_port;
    c->tp = tp;
    c->tp_ctx = tp_ctx;
    const char *scheme = tp->info ? tp->info(tp_ctx, "scheme") : NULL;
    c->scheme = scheme && strcmp(scheme, "https") == 0 ? "https" : "http";
    c->state = FOYER_CONN_HEAD;
    foyer_head_scan_init(&c->scan, 1);
    ev_io_init(&c->rio, conn_io, fd, EV_READ);
    ev_io_init(&c->wio, conn_io, fd, EV_WRITE);
    foyer_deadline_init(&c->timer, conn_timeout);
    c->rio.data = c->wio.data = c;
    c->next = foyer_worker.conns;
    if (c->next) c->next->prev = c;
    foyer_worker.conns = c;
    foyer_worker.nconns++;
    foyer_metrics_gauge_add(FOYER_G_CONNS_OPEN, 1);
    ev_io_start(foyer_worker.loop, &c->rio);
    foyer_conn_timer(c, settings()->client_header_timeout);
    /* with TCP_DEFER_ACCEPT the request is usually here already */
    read_head(c, EV_READ);
}

void foyer_conn_close(struct foyer_conn *c)
{
    struct ev_loop *loop = foyer_worker.loop;
    if (c->x != NULL) foyer_proxy_abort(c->x);
    ev_io_stop(loop, &c->rio);
    ev_io_stop(loop, &c->wio);
    foyer_deadline_stop(loop, &c->timer);
    c->tp->close(c->tp_ctx, c->fd);
    release_buffer(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        foyer_worker.conns = c->next;
    if (c->next) c->next->prev = c->prev;
    if (c->state == FOYER_CONN_IDLE) foyer_metrics_gauge_add(FOYER_G_CONNS_IDLE, -1);
    foyer_metrics_gauge_add(FOYER_G_CONNS_OPEN, -1);
    free(c);
    foyer_worker_conn_closed();
}

/* Closing right after a response can turn unread input into a RST that
 * destroys the response in flight; send FIN first and drain for a moment. */
static void linger_close(struct foyer_conn *c)
{
    c->state = FOYER_CONN_LINGER;
    ev_io_stop(foyer_worker.loop, &c->wio);
    if (c->tp->shutdown(c->tp_ctx, c->fd) != 0) {
        foyer_conn_close(c);
        return;
    }
    release_buffer(c);
    ev_io_start(foyer_worker.loop, &c->rio);
    foyer_conn_timer(c, LINGER_SECONDS);
}

static void linger_read(struct foyer_conn *c)
{
    char sink[4096];
    for (int i = 0; i < 16; i++) {
        ssize_t n = foyer_conn_read(c, sink, sizeof sink);
        if (n > 0) continue;
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        break;
    }
    foyer_conn_close(c);
}

void foyer_conn_respond_error(struct foyer_conn *c, int status, int keep_alive)
{
    if (foyer_worker.stopping) keep_alive = 0;
    struct foyer_pool *pool = foyer_pool_get(1024);
    struct foyer_local_response lr = {.status = status, .keep_alive = keep_alive};
    size_t len = 0;
    char *resp = pool ? foyer_respond_build(pool, &lr, &len) : NULL;
    struct iovec iov = {resp, len};
    ssize_t w = resp ? c->tp->writev(c->tp_ctx, c->fd, &iov, 1) : -1;
    foyer_pool_release(pool);
    if (w != (ssize_t)len || resp == NULL) {
        /* the socket is full or gone: an error page is not worth a queue */
        foyer_conn_close(c);
        return;
    }
    if (keep_alive)
        foyer_conn_exchange_done(c, 1);
    else
        linger_close(c);
}

static void go_idle(struct foyer_conn *c)
{
    c->state = FOYER_CONN_IDLE;
    foyer_metrics_gauge_add(FOYER_G_CONNS_IDLE, 1);
    release_buffer(c);
    foyer_head_scan_init(&c->scan, 1);
    foyer_conn_watch_read(c, 1);
    foyer_conn_timer(c, settings()->keepalive_timeout);
}

void foyer_conn_exchange_done(struct foyer_conn *c, int keep_alive)
{
    c->requests++;
    ev_io_stop(foyer_worker.loop, &c->wio);
    if (!keep_alive || foyer_worker.stopping) {
        /* everything the client sent was consumed: a plain close sends FIN */
        if (c->clean_close && (c->in == NULL || foyer_buf_len(c->in) == 0))
            foyer_conn_close(c);
        else
            linger_close(c);
        return;
    }
    if (c->in == NULL || foyer_buf_len(c->in) == 0) {
        go_idle(c);
        return;
    }
    /* a pipelined request is waiting: parse it from the loop, not recursively */
    c->state = FOYER_CONN_HEAD;
    foyer_head_scan_init(&c->scan, 1);
    foyer_conn_watch_read(c, 1);
    foyer_conn_timer(c, settings()->client_header_timeout);
    ev_feed_event(foyer_worker.loop, &c->rio, EV_CUSTOM);
}

/* A request refused before it became an exchange: counted, answered, closed. */
static void refuse(struct foyer_conn *c, int status)
{
    foyer_metrics_request(NULL, NULL, status, 0, -1, 0, 0);
    foyer_conn_respond_error(c, status, 0);
}

static void parse_head(struct foyer_conn *c)
{
    struct foyer_head_limits lim = {settings()->max_header_bytes,
                                    settings()->max_headers};
    size_t head_len;
    int r = foyer_head_scan(&c->scan, foyer_buf_pos(c->in), foyer_buf_len(c->in), &lim,
                            &head_len);
    if (r == FOYER_HTTP_AGAIN) {
        if (foyer_buf_room(c->in) == 0 && c->in->start > 0) foyer_buf_compact(c->in);
        if (foyer_buf_room(c->in) == 0 && c->in->cap >= FOYER_BUF_LARGE) {
            refuse(c, 431); /* max_header_bytes is the whole buffer */
            return;
        }
        if (foyer_buf_room(c->in) == 0) {
            struct foyer_buf *b = foyer_buf_grow(c->in, FOYER_BUF_LARGE);
            if (b == NULL) {
                refuse(c, 500);
                return;
            }
            c->in = b;
        }
        return;
    }
    if (r != 0) {
        refuse(c, r);
        return;
    }
    c->state = FOYER_CONN_EXCHANGE;
    foyer_conn_timer_clear(c);
    foyer_proxy_start(c, head_len);
}

/* A new request is read into a worker-wide scratch buffer and copied into a
 * buffer of the size it needs: a small request costs a small buffer, and a
 * head with its body arrives in one read instead of several. */
static ssize_t read_fresh(struct foyer_conn *c)
{
    static char scratch[FOYER_BUF_LARGE];
    ssize_t n = foyer_conn_read(c, scratch, sizeof scratch);
    if (n <= 0) return n;
    release_buffer(c);
    c->in =
        foyer_buf_get((size_t)n <= FOYER_BUF_SMALL ? FOYER_BUF_SMALL : FOYER_BUF_LARGE);
    if (c->in == NULL) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(c->in->data, scratch, (size_t)n);
    c->in->end = (size_t)n;
    return n;
}

static ssize_t read_more(struct foyer_conn *c)
{
    if (c->in == NULL || foyer_buf_len(c->in) == 0) return read_fresh(c);
    if (foyer_conn_ensure_buffer(c, FOYER_BUF_SMALL) != 0) {
        errno = ENOMEM;
        return -1;
    }
    ssize_t n = foyer_conn_read(c, foyer_buf_tail(c->in), foyer_buf_room(c->in));
    if (n > 0) c->in->end += (size_t)n;
    return n;
}

static void read_head(struct foyer_conn *c, int revents)
{
    if (!(revents & EV_CUSTOM)) {
        ssize_t n = read_more(c);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            foyer_conn_close(c);
            return;
        }
        if (n < 0) return;
        if (c->state == FOYER_CONN_IDLE) {
            foyer_metrics_gauge_add(FOYER_G_CONNS_IDLE, -1);
            c->state = FOYER_CONN_HEAD;
            foyer_conn_timer(c, settings()->client_header_timeout);
        }
    }
    if (c->in == NULL) return;
    parse_head(c);
}

static void conn_io(struct ev_loop *loop, ev_io *w, int revents)
{
    struct foyer_conn *c = w->data;
    if (w == &c->wio && c->read_wants_write) { /* the transport can read on now */
        c->read_wants_write = 0;
        /* outside an exchange nothing else writes; inside one, the write leg runs
         * on the next writable event (and stops wio when nothing is queued) */
        if (c->state != FOYER_CONN_EXCHANGE) ev_io_stop(loop, &c->wio);
        w = &c->rio;
    }
    switch (c->state) {
    case FOYER_CONN_IDLE:
    case FOYER_CONN_HEAD:
        read_head(c, revents);
        break;
    case FOYER_CONN_EXCHANGE:
        if (c->x != NULL) foyer_proxy_client_io(c->x, w == &c->wio ? EV_WRITE : EV_READ);
        break;
    case FOYER_CONN_LINGER:
        linger_read(c);
        break;
    }
}

static void conn_timeout(struct foyer_deadline *d)
{
    struct foyer_conn *c = FOYER_CONTAINER_OF(d, struct foyer_conn, timer);
    switch (c->state) {
    case FOYER_CONN_HEAD:
        if (c->in != NULL && foyer_buf_len(c->in) > 0) {
            refuse(c, 408);
            return;
        }
        /* a connection that never sent a byte just goes */
        __attribute__((fallthrough));
    case FOYER_CONN_IDLE:
    case FOYER_CONN_LINGER:
        foyer_conn_close(c);
        break;
    case FOYER_CONN_EXCHANGE:
        if (c->x != NULL) foyer_proxy_client_timeout(c->x);
        break;
    }
}

void foyer_conn_shutdown(struct foyer_conn *c)
{
    switch (c->state) {
    case FOYER_CONN_IDLE:
        foyer_conn_close(c);
        break;
    case FOYER_CONN_HEAD:
        if (c->in == NULL || foyer_buf_len(c->in) == 0) foyer_conn_close(c);
        break;
    case FOYER_CONN_EXCHANGE:
        if (c->x != NULL) foyer_proxy_close_after(c->x);
        break;
    case FOYER_CONN_LINGER:
        break;
    }
}
