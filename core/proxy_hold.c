/* A request body held for inspection before anything goes upstream.
 *
 * A plugin asks for it (api->req_hold_body, from on_request_headers or
 * on_route); the exchange then reads the first `hold_max` bytes of the body
 * (all of it when shorter) into the client buffer, shows them decoded to the
 * plugins' on_request_body_held, and only then builds the upstream request
 * and picks an endpoint. nginx reads the body the same way for ModSecurity.
 *
 * The raw bytes stay in the client buffer, where the relay (proxy_relay.c)
 * finds them as if they had just arrived; a buffer too small is replaced by
 * a larger one. A chunked body is decoded into a copy for the plugins (the
 * relay decodes the raw bytes again, as usual). */
#include "exchange.h"
#include "conn.h"
#include "log.h"
#include "plugin_hooks.h"
#include "pool.h"

#include <errno.h>
#include <string.h>

/* Raw bytes to hold: a chunked body's framing may take room of its own. */
static size_t raw_goal(const struct foyer_exchange *x)
{
    if (x->req.info.body == FOYER_BODY_LENGTH)
        return x->req_left < x->hold_max ? (size_t)x->req_left : x->hold_max;
    return x->hold_max * 2 + 4096;
}

/* Gives the client buffer room for `need` unconsumed bytes (the parsed head
 * lives in the exchange's pool, not in this buffer). */
static int make_room(struct foyer_exchange *x, size_t need)
{
    struct foyer_conn *c = x->c;
    if (c->in->cap - c->in->start >= need) return 0;
    struct foyer_buf *nb =
        foyer_buf_grow(c->in, need > FOYER_BUF_LARGE ? need : FOYER_BUF_LARGE);
    if (nb == NULL) return -1;
    c->in = nb;
    return 0;
}

/* Decodes newly read chunked bytes into the copy plugins see; 1 when the
 * copy is full or the body ended, 0 for more, or an HTTP status. */
static int decode_more(struct foyer_exchange *x)
{
    struct foyer_buf *in = x->c->in;
    while (x->held_len < x->hold_max && !x->hold_complete) {
        size_t used, dlen, avail = foyer_buf_len(in) - x->hold_scan;
        const char *data;
        int r = foyer_chunked_decode(&x->hold_chunk, foyer_buf_pos(in) + x->hold_scan,
                                     avail, &used, &data, &dlen);
        if (r > 1) return r;
        x->hold_scan += used;
        if (dlen > x->hold_max - x->held_len) dlen = x->hold_max - x->held_len;
        if (dlen) memcpy(x->held + x->held_len, data, dlen); /* data may be NULL */
        x->held_len += dlen;
        if (r == 1) x->hold_complete = 1;
        if (used == 0 && dlen == 0 && r == 0) return 0;
    }
    return 1;
}

/* 1 when enough of the body is here, 0 for more, or an HTTP status. */
static int enough(struct foyer_exchange *x)
{
    struct foyer_buf *in = x->c->in;
    if (x->req.info.body == FOYER_BODY_LENGTH) {
        x->hold_complete = x->req_left <= x->hold_max;
        return foyer_buf_len(in) >= raw_goal(x);
    }
    int r = decode_more(x);
    if (r != 0) return r;
    return foyer_buf_room(in) == 0 ? 1 : 0; /* framing filled the room: show that */
}

/* Reads until enough is held: 1 done, 0 waiting, or an HTTP status. */
static int read_body(struct foyer_exchange *x)
{
    struct foyer_conn *c = x->c;
    for (;;) {
        int r = enough(x);
        if (r != 0) return r;
        ssize_t n = foyer_conn_read(c, foyer_buf_tail(c->in), foyer_buf_room(c->in));
        if (n > 0) {
            c->in->end += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
        return 400; /* the client left mid-body: the request is incomplete */
    }
}

static void show_plugins(struct foyer_exchange *x)
{
    x->holding = 0;
    foyer_conn_watch_read(x->c, 0);
    foyer_conn_timer_clear(x->c);
    const char *data = x->held;
    size_t len = x->held_len;
    if (x->req.info.body == FOYER_BODY_LENGTH) {
        data = foyer_buf_pos(x->c->in);
        len = raw_goal(x);
    }
    int r = foyer_hooks_request_body_held(x, data, len, x->hold_complete);
    if (r == FOYER_CONTINUE) {
        foyer_x_go_upstream(x);
    } else if (r == FOYER_RESPOND && x->route.respond != NULL) {
        foyer_x_answer_locally(x);
    } else {
        foyer_x_fail(x, 500, "plugin hook failed on the request body");
    }
}

static void step(struct foyer_exchange *x)
{
    int r = read_body(x);
    if (r == 0) {
        foyer_conn_watch_read(x->c, 1);
        foyer_conn_timer(x->c, settings(x)->client_body_timeout);
        return;
    }
    if (r > 1) {
        if (r == 400) x->client_close = 1;
        foyer_x_fail(x, r, "bad request body");
        return;
    }
    show_plugins(x);
}

int foyer_x_hold_wanted(const struct foyer_exchange *x)
{
    return x->hold_max > 0 && !x->req_done &&
           (x->req.info.body == FOYER_BODY_LENGTH ||
            x->req.info.body == FOYER_BODY_CHUNKED);
}

void foyer_x_hold_start(struct foyer_exchange *x)
{
    uint64_t max = settings(x)->max_body_bytes;
    if (x->req.info.body == FOYER_BODY_LENGTH && max &&
        x->req.info.content_length > max) {
        foyer_x_fail(x, 413, "request body too large");
        return;
    }
    if (make_room(x, raw_goal(x)) != 0 ||
        (x->req.info.body == FOYER_BODY_CHUNKED &&
         (x->held = foyer_pool_alloc(x->pool, x->hold_max)) == NULL)) {
        foyer_x_fail(x, 500, "out of memory");
        return;
    }
    foyer_chunked_init(&x->hold_chunk);
    x->holding = 1;
    foyer_x_send_continue(x);
    step(x);
}

void foyer_x_hold_readable(struct foyer_exchange *x)
{
    step(x);
}
