/*
 * Connection state machine of the test backend.
 *
 * One read per readable event, then as many pipelined requests as the input
 * holds are answered in order into one output buffer, which leaves in a
 * single writev (plus the pattern for large bodies, never copied). Reading
 * stops while output is blocked, so a slow client applies backpressure
 * instead of growing memory. Request bodies are consumed in place from the
 * input buffer as they arrive: nothing is ever buffered whole.
 */
#include "backend.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* Keep answering pipelined requests into the buffer until this much is
 * pending; then write before parsing more. */
#define BE_BATCH_MAX (64 * 1024)
/* Connections kept for reuse after close. */
#define BE_FREE_MAX 256
/* How long a closing connection drains input after shutting its write side,
 * so the peer reads our last response instead of getting a RST. */
#define BE_LINGER_S 2.0

static void conn_read_cb(struct ev_loop *loop, ev_io *w, int revents);
static void conn_write_cb(struct ev_loop *loop, ev_io *w, int revents);
static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void conn_run(struct be_conn *c);

struct be_conn *be_conn_new(struct be_server *srv, int fd)
{
    struct be_conn *c = srv->free_conns;
    if (c) {
        srv->free_conns = c->next_free;
        srv->nfree--;
    } else {
        /* One allocation; the buffers' pages are only touched when used. */
        c = malloc(sizeof(*c) + BE_IBUF_SIZE + BE_OBUF_SIZE);
        if (!c)
            return NULL;
    }
    char *bufs = (char *)(c + 1);
    memset(c, 0, sizeof(*c));
    c->srv = srv;
    c->fd = fd;
    c->ibuf = bufs;
    c->obuf = bufs + BE_IBUF_SIZE;
    c->id = ++srv->stats.conns;
    srv->stats.open++;
    c->st = BE_ST_HEAD;
    ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
    ev_io_init(&c->wio, conn_write_cb, fd, EV_WRITE);
    ev_init(&c->timer, conn_timer_cb);
    c->rio.data = c->wio.data = c->timer.data = c;
    ev_io_start(srv->loop, &c->rio);
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    return c;
}

static void conn_free(struct be_conn *c)
{
    struct be_server *srv = c->srv;
    ev_io_stop(srv->loop, &c->rio);
    ev_io_stop(srv->loop, &c->wio);
    ev_timer_stop(srv->loop, &c->timer);
    close(c->fd);
    free(c->report);
    c->report = NULL;
    srv->stats.open--;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (srv->nfree < BE_FREE_MAX) {
        c->next_free = srv->free_conns;
        srv->free_conns = c;
        srv->nfree++;
    } else {
        free(c);
    }
}

void be_conn_free_all(struct be_server *srv)
{
    while (srv->conns)
        conn_free(srv->conns);
    while (srv->free_conns) {
        struct be_conn *c = srv->free_conns;
        srv->free_conns = c->next_free;
        free(c);
    }
    srv->nfree = 0;
}

/* ---- output ------------------------------------------------------------- */

size_t be_out_room(const struct be_conn *c)
{
    return BE_OBUF_SIZE - c->olen;
}

static void out_compact(struct be_conn *c)
{
    if (c->opos == c->olen) {
        c->opos = c->olen = 0;
    } else if (c->opos > BE_OBUF_SIZE / 2) {
        memmove(c->obuf, c->obuf + c->opos, c->olen - c->opos);
        c->olen -= c->opos;
        c->opos = 0;
    }
}

void be_out(struct be_conn *c, const void *p, size_t n)
{
    out_compact(c);
    if (n > be_out_room(c))
        n = be_out_room(c);
    memcpy(c->obuf + c->olen, p, n);
    c->olen += n;
}

void be_outf(struct be_conn *c, const char *fmt, ...)
{
    out_compact(c);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->obuf + c->olen, be_out_room(c), fmt, ap);
    va_end(ap);
    if (n > 0)
        c->olen += (size_t)n < be_out_room(c) ? (size_t)n : be_out_room(c) - 1;
}

static size_t out_pending(const struct be_conn *c)
{
    return c->olen - c->opos;
}

static bool gen_pending(const struct be_conn *c)
{
    return c->gen != BE_GEN_NONE;
}

/* Chunked generator: appends whole chunks while they fit, then the last one. */
static void gen_fill_chunked(struct be_conn *c)
{
    out_compact(c);
    while (c->gen_left && out_pending(c) < BE_BATCH_MAX && be_out_room(c) > BE_CHUNK_MAX + 16) {
        size_t n = c->gen_left < BE_CHUNK_MAX ? (size_t)c->gen_left : BE_CHUNK_MAX;
        be_outf(c, "%zx\r\n", n);
        be_out(c, be_pattern(c->gen_off), n);
        be_out(c, "\r\n", 2);
        c->gen_off += n;
        c->gen_left -= n;
    }
    if (c->gen_left == 0 && be_out_room(c) > 8) {
        if (c->gen_final_pending)
            be_out(c, "0\r\n\r\n", 5);
        c->gen = BE_GEN_NONE;
    }
}

/* Drops n written bytes from the buffer, then from the raw generator. */
static void out_advance(struct be_conn *c, size_t n)
{
    size_t b = out_pending(c);
    if (n < b) {
        c->opos += n;
        return;
    }
    c->opos = c->olen = 0;
    n -= b;
    c->gen_off += n;
    c->gen_left -= n;
    if (c->gen == BE_GEN_RAW && c->gen_left == 0)
        c->gen = BE_GEN_NONE;
}

/* Writes what is pending. Returns 0 when everything left, 1 when the socket
 * is full (after a short write: we do not try again to collect an EAGAIN),
 * -1 on a connection error. */
static int conn_flush(struct be_conn *c)
{
    for (;;) {
        if (c->gen == BE_GEN_CHUNKED)
            gen_fill_chunked(c);
        struct iovec iov[2];
        int n = 0;
        size_t want = 0;
        if (out_pending(c)) {
            iov[n].iov_base = c->obuf + c->opos;
            iov[n].iov_len = out_pending(c);
            want += iov[n++].iov_len;
        }
        if (c->gen == BE_GEN_RAW) {
            size_t len = c->gen_left < BE_PATTERN_SPAN ? (size_t)c->gen_left : BE_PATTERN_SPAN;
            iov[n].iov_base = (void *)be_pattern(c->gen_off);
            iov[n].iov_len = len;
            want += iov[n++].iov_len;
        }
        if (n == 0)
            return 0;
        ssize_t w = writev(c->fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 1 : -1;
        }
        out_advance(c, (size_t)w);
        if ((size_t)w < want)
            return 1;
    }
}

void be_resp_head(struct be_conn *c, int status, int64_t len, const char *extra)
{
    const char *reason = status == 200   ? "OK"
                         : status == 101 ? "Switching Protocols"
                         : status == 400 ? "Bad Request"
                         : status == 404 ? "Not Found"
                         : status == 431 ? "Request Header Fields Too Large"
                         : status < 300  ? "OK"
                         : status < 400  ? "Redirect"
                         : status < 500  ? "Client Error"
                                         : "Server Error";
    be_outf(c, "HTTP/1.1 %d %s\r\nX-Backend: %s\r\n", status, reason, c->srv->name);
    if (c->resp_hdrs_len)
        be_out(c, c->resp_hdrs, c->resp_hdrs_len);
    if (len >= 0)
        be_outf(c, "Content-Length: %lld\r\n", (long long)len);
    if (status != 101) {
        if (!c->keepalive)
            be_out(c, "Connection: close\r\n", 19);
        else if (c->http10)
            be_out(c, "Connection: keep-alive\r\n", 24);
    }
    be_outf(c, "%s\r\n", extra);
    if (status >= 200 || status == 101)
        c->responded = true;
}

/* ---- input -------------------------------------------------------------- */

static size_t in_pending(const struct be_conn *c)
{
    return c->ilen - c->ipos;
}

static void in_consume(struct be_conn *c, size_t n)
{
    c->ipos += n;
    if (c->ipos == c->ilen)
        c->ipos = c->ilen = 0;
}

/* Moves unparsed input to the front so a read has room. */
static void in_compact(struct be_conn *c)
{
    if (c->ipos > 0) {
        memmove(c->ibuf, c->ibuf + c->ipos, in_pending(c));
        c->ilen -= c->ipos;
        c->ipos = 0;
    }
}

/* ---- watchers ----------------------------------------------------------- */

static bool output_blocked(const struct be_conn *c)
{
    return out_pending(c) || gen_pending(c);
}

/* Reading goes on while there is room and the connection can use the bytes:
 * bodies being discarded are read even while a response is blocked (or a
 * client that uploads before reading would deadlock with us). */
static bool want_read(const struct be_conn *c)
{
    if (c->peer_eof)
        return false;
    if (c->st == BE_ST_LINGER || c->st == BE_ST_SILENT)
        return true;
    if (c->ilen == BE_IBUF_SIZE && c->ipos == 0)
        return false;
    if (!output_blocked(c))
        return true;
    return c->st == BE_ST_BODY && c->ep != BE_EP_ECHO;
}

static void set_watcher(struct ev_loop *loop, ev_io *w, bool on)
{
    if (on && !ev_is_active(w))
        ev_io_start(loop, w);
    else if (!on && ev_is_active(w))
        ev_io_stop(loop, w);
}

static void update_watchers(struct be_conn *c, bool write_blocked)
{
    set_watcher(c->srv->loop, &c->wio, write_blocked);
    set_watcher(c->srv->loop, &c->rio, want_read(c));
}

/* ---- request processing ------------------------------------------------- */

static void start_linger(struct be_conn *c)
{
    shutdown(c->fd, SHUT_WR);
    c->st = BE_ST_LINGER;
    c->ipos = c->ilen = 0;
    ev_timer_stop(c->srv->loop, &c->timer);
    ev_timer_set(&c->timer, BE_LINGER_S, 0.);
    ev_timer_start(c->srv->loop, &c->timer);
}

/* Parses the next head. Returns false when more input is needed. */
static bool step_head(struct be_conn *c)
{
    struct be_request req;
    enum be_parse_status ps = be_parse_head(c->ibuf + c->ipos, in_pending(c), &req);
    if (ps == BE_PARSE_AGAIN) {
        if (in_pending(c) == BE_IBUF_SIZE) {
            be_reject(c, 431);
            return true;
        }
        return false;
    }
    if (ps == BE_PARSE_ERROR) {
        be_reject(c, 400);
        return true;
    }
    c->nreq++;
    c->responded = false;
    c->upgrade = false;
    c->gen = BE_GEN_NONE;
    c->body_bytes = 0;
    c->body_hash = BE_FNV_INIT;
    c->http10 = req.minor == 0;
    c->keepalive = c->http10 ? req.conn_keepalive && !req.conn_close : !req.conn_close;
    c->body = req.chunked ? BE_BODY_CHUNKED : req.content_length > 0 ? BE_BODY_LENGTH : BE_BODY_NONE;
    c->body_left = req.content_length > 0 ? (uint64_t)req.content_length : 0;
    be_chunked_init(&c->chunk);
    c->st = BE_ST_BODY;
    be_dispatch(c, &req);
    in_consume(c, req.skip + req.head_len);
    return true;
}

/* Echo: copies body bytes into the output while it has room. */
static void body_echo(struct be_conn *c, const char *p, size_t n)
{
    if (c->echo_chunked) {
        be_outf(c, "%zx\r\n", n);
        be_out(c, p, n);
        be_out(c, "\r\n", 2);
    } else {
        be_out(c, p, n);
    }
}

/* How many body bytes this request may take now (echo is bounded by output). */
static size_t body_budget(struct be_conn *c)
{
    if (c->ep != BE_EP_ECHO)
        return SIZE_MAX;
    if (out_pending(c) >= BE_BATCH_MAX) {
        int r = conn_flush(c);
        if (r != 0)
            return 0;
    }
    out_compact(c);
    size_t room = be_out_room(c);
    return room > 64 ? room - 64 : 0;
}

static void body_data(struct be_conn *c, const char *p, size_t n)
{
    c->body_bytes += n;
    if (c->ep == BE_EP_SINK || c->ep == BE_EP_REPORT)
        c->body_hash = be_fnv1a(c->body_hash, p, n);
    else if (c->ep == BE_EP_ECHO)
        body_echo(c, p, n);
}

/* Bad chunked framing: nothing after it can be trusted, so answer 400 and
 * close, or, when an answer is already on its way, let it leave (truncated
 * if it echoes) and close. */
static void body_framing_error(struct be_conn *c)
{
    if (c->responded) {
        c->srv->stats.bad++;
        c->keepalive = false;
        c->upgrade = false;
        c->st = BE_ST_SEND;
    } else {
        be_reject(c, 400);
    }
}

/* Consumes request body bytes. Returns false when it cannot go on now. */
static bool step_body(struct be_conn *c)
{
    bool done = c->body == BE_BODY_NONE;
    while (!done) {
        size_t budget = body_budget(c);
        if (budget == 0 || in_pending(c) == 0)
            return false;
        const char *in = c->ibuf + c->ipos;
        size_t avail = in_pending(c);
        if (c->body == BE_BODY_LENGTH) {
            size_t n = avail < c->body_left ? avail : (size_t)c->body_left;
            n = n < budget ? n : budget;
            body_data(c, in, n);
            in_consume(c, n);
            c->body_left -= n;
            done = c->body_left == 0;
        } else {
            const char *data;
            size_t dlen;
            ssize_t used = be_chunked_step(&c->chunk, in, avail, budget, &data, &dlen, &done);
            if (used < 0) {
                body_framing_error(c);
                return true;
            }
            if (dlen)
                body_data(c, data, dlen);
            in_consume(c, (size_t)used);
        }
    }
    c->st = BE_ST_SEND;
    be_body_done(c);
    return true;
}

/* The response is queued; once it has left, the connection moves on. */
static bool step_send(struct be_conn *c)
{
    if (gen_pending(c) || out_pending(c) >= BE_BATCH_MAX || !c->keepalive || c->upgrade) {
        if (conn_flush(c) != 0)
            return false;
    }
    if (c->upgrade) {
        c->st = BE_ST_TUNNEL;
    } else if (!c->keepalive) {
        start_linger(c);
        return false;
    } else {
        c->st = BE_ST_HEAD;
    }
    return true;
}

/* Tunnel: every byte in comes straight back. */
static bool step_tunnel(struct be_conn *c)
{
    size_t n = in_pending(c);
    out_compact(c);
    if (n > be_out_room(c))
        n = be_out_room(c);
    if (n == 0)
        return false;
    be_out(c, c->ibuf + c->ipos, n);
    in_consume(c, n);
    return true;
}

/* Runs the state machine as far as the buffered input allows. */
static bool conn_step(struct be_conn *c)
{
    switch (c->st) {
    case BE_ST_HEAD:
        return in_pending(c) && step_head(c);
    case BE_ST_BODY:
        return step_body(c);
    case BE_ST_SEND:
        return step_send(c);
    case BE_ST_TUNNEL:
        return step_tunnel(c);
    case BE_ST_SILENT:
    case BE_ST_LINGER:
        c->ipos = c->ilen = 0;
        return false;
    case BE_ST_WAIT:
        return false;
    }
    return false;
}

/* Drives the connection after any event; closes it when it is finished. */
static void conn_run(struct be_conn *c)
{
    while (conn_step(c))
        ;
    int r = conn_flush(c);
    if (r < 0) {
        conn_free(c);
        return;
    }
    if (r == 0 && c->st == BE_ST_SEND) { /* e.g. a close after the flush */
        while (conn_step(c))
            ;
        r = conn_flush(c);
    }
    bool idle = c->st == BE_ST_HEAD || c->st == BE_ST_TUNNEL;
    if (r == 0 && c->peer_eof && (idle || c->st == BE_ST_SILENT || c->st == BE_ST_BODY)) {
        conn_free(c);
        return;
    }
    update_watchers(c, r == 1);
}

static void conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct be_conn *c = w->data;
    if (c->ilen == BE_IBUF_SIZE)
        in_compact(c);
    ssize_t n = read(c->fd, c->ibuf + c->ilen, BE_IBUF_SIZE - c->ilen);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        if (c->st == BE_ST_LINGER || n < 0) {
            conn_free(c);
            return;
        }
        c->peer_eof = true;
        ev_io_stop(loop, &c->rio);
    } else {
        c->ilen += (size_t)n;
    }
    conn_run(c);
}

static void conn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop, (void)revents;
    conn_run(w->data);
}

static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    struct be_conn *c = w->data;
    if (c->st == BE_ST_LINGER) {
        conn_free(c);
        return;
    }
    c->st = BE_ST_SEND;
    be_slow_expired(c);
    conn_run(c);
}
