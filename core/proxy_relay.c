/* Moving bytes for an exchange: the request body up, the response body down,
 * and both ways once a connection is upgraded. Bytes flow through two queues;
 * a side is read again only when the queue it feeds has drained, which bounds
 * memory per exchange to two buffers whatever the body size. Writes go
 * straight to the socket; writability is watched only after a short write. */
#include "exchange.h"
#include "conn.h"
#include "plugin_hooks.h"
#include "transport.h"
#include "upstream.h"
#include "worker.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

static int client_read(struct foyer_exchange *x)
{
    struct foyer_conn *c = x->c;
    size_t want =
        x->req.info.body == FOYER_BODY_LENGTH && x->req_left < FOYER_BUF_SMALL / 2
            ? FOYER_BUF_SMALL
            : FOYER_BUF_LARGE;
    if (x->tunnel) want = FOYER_BUF_LARGE;
    if (foyer_conn_ensure_buffer(c, want) != 0) return -1;
    ssize_t n = foyer_conn_read(c, foyer_buf_tail(c->in), foyer_buf_room(c->in));
    if (n > 0) {
        c->in->end += (size_t)n;
        return 1;
    }
    if (n == 0) {
        x->client_eof = 1;
        return 0;
    }
    if (errno == EAGAIN || errno == EINTR) return 1;
    x->client_eof = 1;
    return 0;
}

/* Moves request body bytes from the client buffer to the upstream queue. */
/* A request-body hook did not continue: its answer replaces the upstream's
 * (BODY_ANSWERED), anything else fails the request with 500. */
#define BODY_ANSWERED (-2)

static int body_hook_stop(struct foyer_exchange *x, int result)
{
    return result == FOYER_RESPOND && x->route.respond != NULL && !x->resp_started
               ? BODY_ANSWERED
               : 500;
}

static int decode_request_body(struct foyer_exchange *x)
{
    struct foyer_buf *in = x->c->in;
    if (in == NULL) return 0;
    while (!x->req_done && foyer_buf_len(in) > 0 && foyer_outq_has_room(&x->to_up)) {
        if (x->req.info.body == FOYER_BODY_LENGTH) {
            size_t n = foyer_buf_len(in);
            if (n > x->req_left) n = (size_t)x->req_left;
            foyer_outq_add(&x->to_up, foyer_buf_pos(in), n);
            int h = x->cfg->nplugins ? foyer_hooks_request_body(x, foyer_buf_pos(in), n)
                                     : FOYER_CONTINUE;
            if (h != FOYER_CONTINUE) return body_hook_stop(x, h);
            in->start += n;
            x->req_left -= n;
            x->req_body_bytes += n;
            if (x->req_left == 0) x->req_done = 1;
            continue;
        }
        size_t used, dlen;
        const char *data;
        int r = foyer_chunked_decode(&x->req_chunk, foyer_buf_pos(in), foyer_buf_len(in),
                                     &used, &data, &dlen);
        in->start += used;
        if (r > 1) return r;
        foyer_outq_add_chunk(&x->to_up, data, dlen);
        x->req_body_bytes += dlen;
        int h = x->cfg->nplugins && dlen ? foyer_hooks_request_body(x, data, dlen)
                                         : FOYER_CONTINUE;
        if (h != FOYER_CONTINUE) return body_hook_stop(x, h);
        if (r == 1) {
            foyer_outq_add(&x->to_up, "0\r\n\r\n", 5);
            x->req_done = 1;
        }
    }
    uint64_t max = settings(x)->max_body_bytes;
    if (max && x->req_body_bytes > max) return 413;
    return 0;
}

static void tunnel_to_up(struct foyer_exchange *x)
{
    struct foyer_buf *in = x->c->in;
    if (in == NULL || foyer_buf_len(in) == 0) return;
    foyer_outq_add(&x->to_up, foyer_buf_pos(in), foyer_buf_len(in));
    in->start = in->end;
}

/* Input after a complete request: pipelined bytes are kept for later, an EOF
 * is a half-close to answer before closing. Reading them keeps the watcher
 * armed across exchanges, which saves an epoll_ctl pair per request. */
static void read_ahead(struct foyer_exchange *x)
{
    struct foyer_conn *c = x->c;
    if (c->in == NULL || foyer_buf_room(c->in) == 0) {
        foyer_conn_watch_read(c, 0);
        return;
    }
    ssize_t n = foyer_conn_read(c, foyer_buf_tail(c->in), foyer_buf_room(c->in));
    if (n > 0) {
        c->in->end += (size_t)n;
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    foyer_conn_watch_read(c, 0);
    x->client_close = 1;
}

/* Client-side input while the request body or a tunnel is open. */
void foyer_x_client_readable(struct foyer_exchange *x)
{
    if (x->req_done && !x->tunnel) {
        read_ahead(x);
        return;
    }
    if (!foyer_outq_empty(&x->to_up)) {
        foyer_conn_watch_read(x->c, 0);
        return;
    }
    if (client_read(x) < 0) {
        foyer_x_fail(x, 500, "out of memory");
        return;
    }
    if (x->client_eof) foyer_conn_watch_read(x->c, 0);
    if (x->client_eof && !x->tunnel && !x->req_done) {
        /* an incomplete request must never look complete upstream */
        if (x->u) foyer_x_drop_upstream(x, 0);
        x->status = x->status ? x->status : 400;
        foyer_conn_close(x->c);
        return;
    }
    foyer_x_pump_up(x);
}

/* A tunnel ends when both sides have closed and everything is delivered. */
static int tunnel_closed(struct foyer_exchange *x)
{
    if (!(x->client_eof && x->up_eof && foyer_outq_empty(&x->to_up) &&
          foyer_outq_empty(&x->to_client)))
        return 0;
    foyer_conn_close(x->c);
    return 1;
}

void foyer_x_client_wants_input(struct foyer_exchange *x, int on)
{
    struct foyer_conn *c = x->c;
    foyer_conn_watch_read(c, on);
    if (on && !x->tunnel) foyer_conn_timer(c, settings(x)->client_body_timeout);
}

/* Fills the upstream queue from the client buffer and writes it. Returns -1
 * when the exchange is gone. */
int foyer_x_pump_up(struct foyer_exchange *x)
{
    struct foyer_upstream *u = x->u;
    if (u == NULL || !u->connected) return 0;
    for (;;) {
        if (x->tunnel)
            tunnel_to_up(x);
        else if (!x->req_done) {
            int err = decode_request_body(x);
            if (err == BODY_ANSWERED) {
                foyer_x_drop_upstream(x, 0);
                foyer_x_answer_locally(x);
                return -1;
            }
            if (err) {
                foyer_x_fail(x, err,
                             err == 413 ? "request body too large" : "bad request body");
                return -1;
            }
        }
        size_t before = x->to_up.bytes;
        int r = foyer_outq_flush(&x->to_up, u->tp, u->tp_ctx, u->fd, NULL);
        if ((x->to_up.bytes < before || r == 0) && !x->up_wrote) {
            x->up_wrote = 1;
            x->up_sent_at = ev_now(loop_());
        }
        if (r < 0)
            return foyer_x_retry_or_fail(x, 502, foyer_x_upstream_error(x, "write"));
        if (r == 1) {
            if (u->tp->want != NULL && u->tp->want(u->tp_ctx) == FOYER_WANT_READ) {
                u->write_wants_read = 1; /* a TLS handshake waits for the server */
                watch(&u->rio, 1);
            } else {
                watch(&u->wio, 1);
            }
            foyer_x_client_wants_input(x, 0);
            arm(&u->timer, settings(x)->upstream_send_timeout);
            return 0;
        }
        watch(&u->wio, 0);
        struct foyer_buf *in = x->c->in;
        if (in != NULL && foyer_buf_len(in) > 0 && !x->req_done && !x->tunnel) continue;
        break;
    }
    if (x->tunnel) {
        if (x->client_eof)
            u->tp->shutdown(u->tp_ctx, u->fd);
        else
            foyer_x_client_wants_input(x, 1);
        return tunnel_closed(x) ? -1 : 0;
    }
    if (!x->req_done) {
        foyer_x_client_wants_input(x, !x->client_eof);
        if (!x->resp_started) foyer_deadline_clear(&u->timer);
        return 0;
    }
    /* request fully sent: from now on the upstream has read_timeout to answer */
    if (!x->req_sent) {
        x->req_sent = 1;
        foyer_conn_watch_read(x->c, !x->client_eof);
        foyer_conn_timer_clear(x->c);
        if (!x->resp_started) arm(&u->timer, read_timeout(x));
    }
    return 0;
}

int foyer_x_up_read(struct foyer_exchange *x)
{
    struct foyer_upstream *u = x->u;
    if (x->up_eof) return 0;
    if (u->in == NULL && (u->in = foyer_buf_get(FOYER_BUF_LARGE)) == NULL) return -1;
    if (foyer_buf_len(u->in) == 0) u->in->start = u->in->end = 0;
    if (foyer_buf_room(u->in) == 0) foyer_buf_compact(u->in);
    ssize_t n = foyer_upstream_read(u, foyer_buf_tail(u->in), foyer_buf_room(u->in));
    if (n > 0) {
        u->in->end += (size_t)n;
        return 1;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        x->up_eof = 1;
        watch(&u->rio, 0);
        return 0;
    }
    return 1;
}

static void decode_response_body(struct foyer_exchange *x)
{
    struct foyer_buf *in = x->u->in;
    while (!x->resp_done && in && foyer_buf_len(in) > 0 &&
           foyer_outq_has_room(&x->to_client)) {
        if (x->tunnel || x->rinfo.body != FOYER_BODY_CHUNKED) {
            size_t n = foyer_buf_len(in);
            if (x->rinfo.body == FOYER_BODY_LENGTH && n > x->resp_left)
                n = (size_t)x->resp_left;
            if (x->out == OUT_CHUNKED)
                foyer_outq_add_chunk(&x->to_client, foyer_buf_pos(in), n);
            else
                foyer_outq_add(&x->to_client, foyer_buf_pos(in), n);
            if (x->cfg->nplugins && !x->tunnel &&
                foyer_hooks_response_body(x, foyer_buf_pos(in), n) != FOYER_CONTINUE)
                x->plugin_abort = 1;
            in->start += n;
            if (x->rinfo.body == FOYER_BODY_LENGTH && (x->resp_left -= n) == 0)
                x->resp_done = 1;
            continue;
        }
        size_t used, dlen;
        const char *data;
        int r = foyer_chunked_decode(&x->resp_chunk, foyer_buf_pos(in), foyer_buf_len(in),
                                     &used, &data, &dlen);
        in->start += used;
        if (r > 1) {
            x->up_eof = 1; /* bad framing: treat as a broken upstream */
            x->client_close = 1;
            in->start = in->end; /* nothing after it may pass for a body */
            return;
        }
        if (x->out == OUT_CHUNKED)
            foyer_outq_add_chunk(&x->to_client, data, dlen);
        else
            foyer_outq_add(&x->to_client, data, dlen);
        if (x->cfg->nplugins && dlen &&
            foyer_hooks_response_body(x, data, dlen) != FOYER_CONTINUE)
            x->plugin_abort = 1;
        if (r == 1) x->resp_done = 1;
    }
    if (x->resp_done && x->out == OUT_CHUNKED)
        foyer_outq_add(&x->to_client, "0\r\n\r\n", 5);
}

/* An upstream that closed: the end of a close-delimited body, or a failure. */
static void upstream_ended(struct foyer_exchange *x)
{
    if (x->tunnel) {
        x->c->tp->shutdown(x->c->tp_ctx, x->c->fd);
        return;
    }
    if (!x->resp_done && x->rinfo.body == FOYER_BODY_CLOSE) {
        x->resp_done = 1;
        if (x->out == OUT_CHUNKED) foyer_outq_add(&x->to_client, "0\r\n\r\n", 5);
        return;
    }
    if (!x->resp_done) x->client_close = 1; /* truncated: the client must see it */
}

/* Writes queued response bytes; reads the upstream again when drained.
 * Returns -1 when the exchange is gone. */
int foyer_x_pump_client(struct foyer_exchange *x)
{
    struct foyer_conn *c = x->c;
    int ended = 0;
    for (;;) {
        if (x->u && x->resp_started && !x->resp_done) decode_response_body(x);
        if (x->plugin_abort) { /* a response-body hook failed mid-stream: cut it */
            foyer_conn_close(c);
            return -1;
        }
        if (x->up_eof && !ended && foyer_outq_has_room(&x->to_client) &&
            (x->u == NULL || x->u->in == NULL || foyer_buf_len(x->u->in) == 0)) {
            upstream_ended(x);
            ended = 1;
        }
        int r = foyer_outq_flush(&x->to_client, c->tp, c->tp_ctx, c->fd, &x->bytes_sent);
        if (r < 0) {
            x->status = x->status ? x->status : 499;
            foyer_conn_close(c);
            return -1;
        }
        if (r == 1) {
            watch(&c->wio, 1);
            if (x->u) watch(&x->u->rio, 0);
            foyer_conn_timer(c, settings(x)->client_send_timeout);
            return 0;
        }
        watch(&c->wio, 0);
        foyer_conn_timer_clear(c); /* the client is keeping up */
        if (x->u && x->u->in && foyer_buf_len(x->u->in) > 0 && !x->resp_done) continue;
        break;
    }
    if (x->tunnel) {
        if (tunnel_closed(x)) return -1;
        if (x->u && !x->up_eof) {
            watch(&x->u->rio, 1);
            arm(&x->u->timer, settings(x)->tunnel_idle_timeout);
        }
        return 0;
    }
    if (x->resp_done || x->up_eof) {
        foyer_x_finish(x);
        return -1;
    }
    if (x->u) {
        watch(&x->u->rio, 1);
        if (x->req_sent) arm(&x->u->timer, read_timeout(x));
    }
    return 0;
}
