/* The reverse-proxy exchange. Bytes flow through two queues, client->upstream
 * and upstream->client; a side is read again only when the queue it feeds has
 * drained, which bounds memory per exchange to two buffers whatever the body
 * size. Writes go straight to the socket and writability is only watched after
 * a short write. */
#include "proxy.h"
#include "exchange.h"
#include "access_log.h"
#include "buf.h"
#include "config.h"
#include "conn.h"
#include "fields.h"
#include "http.h"
#include "log.h"
#include "mirror.h"
#include "lua_state.h"
#include "outq.h"
#include "plugin_hooks.h"
#include "pool.h"
#include "request.h"
#include "respond.h"
#include "transport.h"
#include "upstream.h"
#include "worker.h"

#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void finish(struct foyer_exchange *x);
static void fail(struct foyer_exchange *x, int status, const char *why);
static void up_io(struct ev_loop *loop, ev_io *w, int revents);
static void up_timeout(struct foyer_deadline *d);
static int pump_up(struct foyer_exchange *x);
static int pump_client(struct foyer_exchange *x);

static struct ev_loop *loop_(void)
{
    return foyer_worker.loop;
}

static const struct foyer_settings *settings(const struct foyer_exchange *x)
{
    return &x->cfg->settings;
}

/* The route may give one request its own patience. */
static double read_timeout(const struct foyer_exchange *x)
{
    return x->route.timeout > 0 ? x->route.timeout : x->cfg->settings.upstream_read_timeout;
}

/* ---- watcher helpers ---- */

static void watch(ev_io *w, int on)
{
    if (on && !ev_is_active(w)) ev_io_start(loop_(), w);
    if (!on && ev_is_active(w)) ev_io_stop(loop_(), w);
}

static void arm(struct foyer_deadline *t, double after)
{
    foyer_deadline_set(loop_(), t, after);
}

/* ---- freeing ---- */

static void free_exchange(struct foyer_exchange *x)
{
    struct foyer_config *cfg = x->cfg;
    if (x->route.plugins_ref > 0) luaL_unref(cfg->L, LUA_REGISTRYINDEX, x->route.plugins_ref);
    foyer_pool_release(x->pool); /* x itself lives in the pool */
    foyer_config_unref(cfg);
}

static void drop_upstream(struct foyer_exchange *x, int reusable)
{
    struct foyer_upstream *u = x->u;
    if (u == NULL) return;
    x->u = NULL;
    foyer_deadline_clear(&u->timer);
    foyer_upstream_release(u, reusable, settings(x)->upstream_keepalive);
}

static void log_exchange(struct foyer_exchange *x, int status, size_t bytes)
{
    foyer_access_log_exchange(x->c, &x->req, status, bytes, x->start,
                              x->route.service ? x->route.service->name : NULL,
                              x->ep ? x->ep->name : NULL, x->route.tag);
    if (x->cfg->nplugins) foyer_hooks_log(x);
}

void foyer_proxy_abort(struct foyer_exchange *x)
{
    if (x->status == 0) x->status = 499; /* client went away, nginx's convention */
    log_exchange(x, x->status, x->bytes_sent);
    drop_upstream(x, 0);
    x->c->x = NULL;
    if (x->parked) { /* a plugin still holds it: freed when it resumes */
        x->orphaned = 1;
        x->c = NULL;
        return;
    }
    free_exchange(x);
}

void foyer_proxy_close_after(struct foyer_exchange *x)
{
    x->client_close = 1;
}

/* ---- the upstream request head ---- */

static int is_forwarded_field(struct foyer_str n)
{
    switch (n.len) {
    case 4: return FOYER_STR_EQ_CI(n, "host");
    case 15: return FOYER_STR_EQ_CI(n, "x-forwarded-for");
    case 16: return FOYER_STR_EQ_CI(n, "x-forwarded-host");
    case 17: return FOYER_STR_EQ_CI(n, "x-forwarded-proto");
    }
    return 0;
}

static char *put_content_length(char *p, uint64_t len)
{
    p = FOYER_PUT_LIT(p, "Content-Length: ");
    p = foyer_put_u64(p, len);
    return FOYER_PUT_LIT(p, "\r\n");
}

static char *put_xff(struct foyer_exchange *x, char *p, const char *ip)
{
    struct foyer_http_head *h = &x->req.head;
    int first = 1;
    p = FOYER_PUT_LIT(p, "X-Forwarded-For: ");
    for (unsigned i = 0; i < h->nheaders; i++) {
        struct foyer_http_header *f = &h->headers[i];
        if ((f->flags & FOYER_HDR_HOP) || !FOYER_STR_EQ_CI(f->name, "x-forwarded-for") ||
            f->value.len == 0)
            continue;
        if (!first) p = FOYER_PUT_LIT(p, ", ");
        p = foyer_put(p, f->value.p, f->value.len);
        first = 0;
    }
    if (!first) p = FOYER_PUT_LIT(p, ", ");
    p = foyer_put(p, ip, strlen(ip));
    return FOYER_PUT_LIT(p, "\r\n");
}

/* The X-Forwarded-* fields, unless the route's edits set them itself. */
static char *put_forwarded(struct foyer_exchange *x, char *p, struct foyer_str host)
{
    const struct foyer_header_edits *e = &x->route.request_headers;
    char ip[64];
    if (!foyer_edits_touch(e, (struct foyer_str){"x-forwarded-for", 15})) {
        foyer_addr_host(&x->c->peer, ip, sizeof ip);
        p = put_xff(x, p, ip);
    }
    if (!foyer_edits_touch(e, (struct foyer_str){"x-forwarded-proto", 17})) {
        p = FOYER_PUT_LIT(p, "X-Forwarded-Proto: ");
        p = foyer_put(p, x->req.scheme, strlen(x->req.scheme));
        p = FOYER_PUT_LIT(p, "\r\n");
    }
    if (host.len > 0 && !foyer_edits_touch(e, (struct foyer_str){"x-forwarded-host", 16})) {
        p = FOYER_PUT_LIT(p, "X-Forwarded-Host: ");
        p = foyer_put(p, host.p, host.len);
        p = FOYER_PUT_LIT(p, "\r\n");
    }
    return p;
}

/* The route's edits followed by the plugins' ones. */
static const struct foyer_header_edits *merged_edits(struct foyer_exchange *x,
                                                      const struct foyer_header_edits *route,
                                                      const struct foyer_header_edit_list *plug,
                                                      struct foyer_header_edits *out)
{
    if (plug->n == 0) return route;
    struct foyer_header_edit *v = foyer_pool_alloc(x->pool, (route->n + plug->n) * sizeof *v);
    if (v == NULL) return route;
    if (route->n) memcpy(v, route->v, route->n * sizeof *v);
    memcpy(v + route->n, plug->v, plug->n * sizeof *v);
    out->v = v;
    out->n = route->n + plug->n;
    return out;
}

/* origin-form target: the route's path (query kept) or the one received */
static char *put_request_line(struct foyer_exchange *x, char *p)
{
    struct foyer_request_info *ri = &x->req.info;
    p = foyer_put(p, x->req.head.method.p, x->req.head.method.len);
    *p++ = ' ';
    if (x->route.path.p != NULL || ri->absolute_form) {
        struct foyer_str path = x->route.path.p ? x->route.path : ri->path;
        p = foyer_put(p, path.p, path.len);
        if (ri->query.p != NULL) {
            *p++ = '?';
            p = foyer_put(p, ri->query.p, ri->query.len);
        }
    } else {
        p = foyer_put(p, x->req.head.target.p, x->req.head.target.len);
    }
    return FOYER_PUT_LIT(p, " HTTP/1.1\r\n");
}

static char *put_framing(struct foyer_exchange *x, char *p)
{
    struct foyer_request_info *ri = &x->req.info;
    if (ri->body == FOYER_BODY_CHUNKED) return FOYER_PUT_LIT(p, "Transfer-Encoding: chunked\r\n");
    if (ri->has_length || ri->body == FOYER_BODY_LENGTH)
        p = put_content_length(p, ri->content_length);
    return p;
}

static int build_upstream_head(struct foyer_exchange *x)
{
    struct foyer_http_head *h = &x->req.head;
    struct foyer_request_info *ri = &x->req.info;
    struct foyer_str host = ri->host;
    if (host.len == 0) /* an HTTP/1.0 request without Host: name the service, as nginx does */
        host = (struct foyer_str){x->route.service->name, strlen(x->route.service->name)};
    struct foyer_str up_host = x->route.host.p ? x->route.host : host;
    struct foyer_header_edits merged;
    const struct foyer_header_edits *edits =
        merged_edits(x, &x->route.request_headers, &x->plugin_req_edits, &merged);
    size_t cap = h->method.len + h->target.len + x->route.path.len + 16 +
                 foyer_fields_size(h, edits) + host.len + up_host.len +
                 ri->upgrade.len + 320;
    char *p = x->up_head = foyer_pool_alloc(x->pool, cap);
    if (p == NULL) return -1;
    p = put_request_line(x, p);
    p = FOYER_PUT_LIT(p, "Host: ");
    p = foyer_put(p, up_host.p, up_host.len);
    p = FOYER_PUT_LIT(p, "\r\n");
    p = foyer_put_fields(p, h, edits, is_forwarded_field);
    p = put_forwarded(x, p, ri->host);
    p = put_framing(x, p);
    if (ri->is_upgrade) {
        p = FOYER_PUT_LIT(p, "Connection: upgrade\r\nUpgrade: ");
        p = foyer_put(p, ri->upgrade.p, ri->upgrade.len);
        p = FOYER_PUT_LIT(p, "\r\n");
    }
    p = FOYER_PUT_LIT(p, "\r\n");
    x->up_head_len = (size_t)(p - x->up_head);
    return 0;
}

/* Request strings the access log needs after the client buffer moves on. */
static int keep_request_strings(struct foyer_exchange *x)
{
    struct foyer_http_head *h = &x->req.head;
    const char *m = foyer_pool_strndup(x->pool, h->method.p, h->method.len);
    const char *t = foyer_pool_strndup(x->pool, h->target.p, h->target.len);
    if (m == NULL || t == NULL) return -1;
    foyer_request_host(&x->req);
    h->method.p = m;
    h->target.p = t;
    h->nheaders = 0; /* header slices are not valid past this point */
    return 0;
}

/* ---- upstream selection and connection ---- */

static void up_bind(struct foyer_exchange *x, struct foyer_upstream *u)
{
    x->u = u;
    u->x = x;
    ev_set_cb(&u->rio, up_io);
    ev_set_cb(&u->wio, up_io);
    u->timer.expired = up_timeout;
    u->rio.data = u->wio.data = u;
}

static void send_head(struct foyer_exchange *x)
{
    foyer_outq_init(&x->to_up);
    foyer_outq_add(&x->to_up, x->up_head, x->up_head_len);
}

/* Picks the next endpoint (round robin) and gets a connection to it; tries
 * the service's other endpoints when a connect fails at once. */
/* The next endpoint: a plugin's choice (load balancers), else round robin.
 * Returns 0, -1 when none is left, 1 when a plugin answered instead. */
static int pick_endpoint(struct foyer_exchange *x)
{
    struct foyer_service *s = x->route.service;
    unsigned idx = s->rr++ % s->nendpoints;
    for (unsigned n = 0; s->endpoints[idx].backup && n < s->nendpoints; n++)
        idx = s->rr++ % s->nendpoints; /* backups only when all are backups */
    if (x->cfg->nplugins) {
        unsigned chosen = 0;
        int r = foyer_hooks_upstream_select(x, &chosen);
        if (r == FOYER_RESPOND && x->route.respond) return 1;
        if (r == FOYER_SELECTED && chosen < s->nendpoints) idx = chosen;
        else if (r != FOYER_CONTINUE && r != FOYER_SELECTED) return -1;
    }
    x->ep = &s->endpoints[idx];
    if (x->ntried < sizeof x->tried / sizeof x->tried[0]) x->tried[x->ntried++] = idx;
    return 0;
}

static int connect_next(struct foyer_exchange *x)
{
    struct foyer_service *s = x->route.service;
    while (x->tries < s->nendpoints) {
        int rc = pick_endpoint(x);
        if (rc != 0) return rc;
        x->tries++;
        struct foyer_upstream *u = foyer_upstream_get(x->ep);
        if (u != NULL) {
            up_bind(x, u);
            watch(&u->rio, 1);
            if (!u->connected) {
                watch(&u->wio, 1);
                arm(&u->timer, settings(x)->upstream_connect_timeout);
            }
            return 0;
        }
        int e = errno;
        foyer_warn("upstream %s (service %s): connect: %s", x->ep->name, s->name, strerror(e));
        foyer_hooks_upstream_result(x, e, 0);
    }
    return -1;
}

/* A connect that failed, or a reused connection the upstream had closed:
 * retry elsewhere while nothing of the request can have been processed. */
static int retry_or_fail(struct foyer_exchange *x, int status, const char *why)
{
    int replayable = x->resp_started == 0 && x->req.info.body == FOYER_BODY_NONE;
    int was_reused = x->u != NULL && x->u->reused;
    int untouched = !x->up_wrote;
    drop_upstream(x, 0);
    x->up_eof = 0; /* the state of the connection just dropped */
    foyer_head_scan_init(&x->rscan, 0);
    if (was_reused && replayable) x->tries--; /* a stale pooled connection is no real try */
    if ((untouched || replayable) && connect_next(x) == 0) {
        if (!untouched) send_head(x); /* untouched: the queue still holds it all */
        x->up_wrote = 0;
        return x->u->connected ? pump_up(x) : 0;
    }
    fail(x, status, why);
    return -1;
}

/* ---- client -> upstream ---- */

static int client_read(struct foyer_exchange *x)
{
    struct foyer_conn *c = x->c;
    size_t want = x->req.info.body == FOYER_BODY_LENGTH && x->req_left < FOYER_BUF_SMALL / 2
                      ? FOYER_BUF_SMALL
                      : FOYER_BUF_LARGE;
    if (x->tunnel) want = FOYER_BUF_LARGE;
    if (foyer_conn_ensure_buffer(c, want) != 0) return -1;
    ssize_t n = c->tp->read(c->tp_ctx, c->fd, foyer_buf_tail(c->in), foyer_buf_room(c->in));
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
static int decode_request_body(struct foyer_exchange *x)
{
    struct foyer_buf *in = x->c->in;
    if (in == NULL) return 0;
    while (!x->req_done && foyer_buf_len(in) > 0 && foyer_outq_has_room(&x->to_up)) {
        if (x->req.info.body == FOYER_BODY_LENGTH) {
            size_t n = foyer_buf_len(in);
            if (n > x->req_left) n = (size_t)x->req_left;
            foyer_outq_add(&x->to_up, foyer_buf_pos(in), n);
            if (x->cfg->nplugins) foyer_hooks_request_body(x, foyer_buf_pos(in), n);
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
        if (x->cfg->nplugins && dlen) foyer_hooks_request_body(x, data, dlen);
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
        watch(&c->rio, 0);
        return;
    }
    ssize_t n = c->tp->read(c->tp_ctx, c->fd, foyer_buf_tail(c->in), foyer_buf_room(c->in));
    if (n > 0) {
        c->in->end += (size_t)n;
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    watch(&c->rio, 0);
    x->client_close = 1;
}

/* Client-side input while the request body or a tunnel is open. */
static void on_client_readable(struct foyer_exchange *x)
{
    if (x->req_done && !x->tunnel) {
        read_ahead(x);
        return;
    }
    if (!foyer_outq_empty(&x->to_up)) {
        watch(&x->c->rio, 0);
        return;
    }
    if (client_read(x) < 0) {
        fail(x, 500, "out of memory");
        return;
    }
    if (x->client_eof) watch(&x->c->rio, 0);
    if (x->client_eof && !x->tunnel && !x->req_done) {
        /* an incomplete request must never look complete upstream */
        if (x->u) drop_upstream(x, 0);
        x->status = x->status ? x->status : 400;
        foyer_conn_close(x->c);
        return;
    }
    pump_up(x);
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

static void client_wants_input(struct foyer_exchange *x, int on)
{
    struct foyer_conn *c = x->c;
    watch(&c->rio, on);
    if (on && !x->tunnel) foyer_conn_timer(c, settings(x)->client_body_timeout);
}

/* Fills the upstream queue from the client buffer and writes it. Returns -1
 * when the exchange is gone. */
static int pump_up(struct foyer_exchange *x)
{
    struct foyer_upstream *u = x->u;
    if (u == NULL || !u->connected) return 0;
    for (;;) {
        if (x->tunnel) tunnel_to_up(x);
        else if (!x->req_done) {
            int err = decode_request_body(x);
            if (err) {
                fail(x, err, err == 413 ? "request body too large" : "bad request body");
                return -1;
            }
        }
        size_t before = x->to_up.bytes;
        int r = foyer_outq_flush(&x->to_up, &foyer_transport_tcp, NULL, u->fd, NULL);
        if ((x->to_up.bytes < before || r == 0) && !x->up_wrote) {
            x->up_wrote = 1;
            x->up_sent_at = ev_now(loop_());
        }
        if (r < 0) return retry_or_fail(x, 502, "upstream write failed");
        if (r == 1) {
            watch(&u->wio, 1);
            client_wants_input(x, 0);
            arm(&u->timer, settings(x)->upstream_send_timeout);
            return 0;
        }
        watch(&u->wio, 0);
        struct foyer_buf *in = x->c->in;
        if (in != NULL && foyer_buf_len(in) > 0 && !x->req_done && !x->tunnel) continue;
        break;
    }
    if (x->tunnel) {
        if (x->client_eof) shutdown(u->fd, SHUT_WR);
        else client_wants_input(x, 1);
        return tunnel_closed(x) ? -1 : 0;
    }
    if (!x->req_done) {
        client_wants_input(x, !x->client_eof);
        if (!x->resp_started) foyer_deadline_clear(&u->timer);
        return 0;
    }
    /* request fully sent: from now on the upstream has read_timeout to answer */
    if (!x->req_sent) {
        x->req_sent = 1;
        watch(&x->c->rio, !x->client_eof);
        foyer_conn_timer_clear(x->c);
        if (!x->resp_started) arm(&u->timer, read_timeout(x));
    }
    return 0;
}

/* ---- upstream -> client ---- */

static int up_read(struct foyer_exchange *x)
{
    struct foyer_upstream *u = x->u;
    if (x->up_eof) return 0;
    if (u->in == NULL && (u->in = foyer_buf_get(FOYER_BUF_LARGE)) == NULL) return -1;
    if (foyer_buf_len(u->in) == 0) u->in->start = u->in->end = 0;
    if (foyer_buf_room(u->in) == 0) foyer_buf_compact(u->in);
    ssize_t n = read(u->fd, foyer_buf_tail(u->in), foyer_buf_room(u->in));
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

static void put_status_line(char **pp, int status, struct foyer_str reason)
{
    char *p = *pp;
    p = FOYER_PUT_LIT(p, "HTTP/1.1 ");
    *p++ = (char)('0' + status / 100 % 10);
    *p++ = (char)('0' + status / 10 % 10);
    *p++ = (char)('0' + status % 10);
    *p++ = ' ';
    if (reason.len) p = foyer_put(p, reason.p, reason.len);
    else p = foyer_put(p, foyer_http_reason(status), strlen(foyer_http_reason(status)));
    *pp = FOYER_PUT_LIT(p, "\r\n");
}

static struct foyer_str find_field(struct foyer_http_head *h, const char *name, size_t len)
{
    for (unsigned i = 0; i < h->nheaders; i++)
        if (foyer_str_eq_ci(h->headers[i].name, name, len)) return h->headers[i].value;
    return (struct foyer_str){NULL, 0};
}

/* How the body goes to this client, and whether the connection survives it. */
static void choose_out_mode(struct foyer_exchange *x)
{
    int v11 = x->req.head.version >= 11;
    switch (x->rinfo.body) {
    case FOYER_BODY_NONE:
        x->out = OUT_NONE;
        break;
    case FOYER_BODY_LENGTH:
        x->out = OUT_RAW;
        x->resp_left = x->rinfo.content_length;
        break;
    case FOYER_BODY_CHUNKED:
    case FOYER_BODY_CLOSE:
        x->out = v11 ? OUT_CHUNKED : OUT_RAW;
        if (!v11) x->client_close = 1;
        foyer_chunked_init(&x->resp_chunk);
        break;
    }
    if (!x->req.info.keep_alive || foyer_worker.stopping ||
        x->c->requests + 1 >= settings(x)->keepalive_requests)
        x->client_close = 1;
    /* an upgrade the upstream refused leaves bytes we cannot trust as requests */
    if (x->req.info.is_upgrade && x->rhead.status != 101) x->client_close = 1;
}

static int build_client_head(struct foyer_exchange *x)
{
    struct foyer_http_head *h = &x->rhead;
    struct foyer_header_edits merged;
    const struct foyer_header_edits *e =
        merged_edits(x, &x->route.response_headers, &x->plugin_resp_edits, &merged);
    x->resp_head_built = 1;
    size_t cap = h->reason.len + foyer_fields_size(h, e) + 160;
    struct foyer_str upg = find_field(h, "upgrade", 7);
    char *head = foyer_pool_alloc(x->pool, cap + upg.len), *p = head;
    if (head == NULL) return -1;
    put_status_line(&p, h->status, h->reason);
    p = foyer_put_fields(p, h, e, NULL);
    if (x->tunnel) {
        p = FOYER_PUT_LIT(p, "Connection: upgrade\r\nUpgrade: ");
        p = foyer_put(p, upg.p, upg.len);
        p = FOYER_PUT_LIT(p, "\r\n");
    } else if (x->out == OUT_CHUNKED) {
        p = FOYER_PUT_LIT(p, "Transfer-Encoding: chunked\r\n");
    } else if (x->rinfo.body == FOYER_BODY_LENGTH) {
        p = put_content_length(p, x->rinfo.content_length);
    }
    if (!x->tunnel) {
        if (x->client_close) p = FOYER_PUT_LIT(p, "Connection: close\r\n");
        else if (x->req.head.version < 11) p = FOYER_PUT_LIT(p, "Connection: keep-alive\r\n");
    }
    p = FOYER_PUT_LIT(p, "\r\n");
    foyer_outq_add(&x->to_client, head, (size_t)(p - head));
    return 0;
}

/* Forwards an interim (1xx) response, except the 100 the proxy gave itself. */
static void interim(struct foyer_exchange *x)
{
    if (x->rhead.status == 100 || x->req.head.version < 11) return;
    struct foyer_http_head *h = &x->rhead;
    char *head = foyer_pool_alloc(x->pool, h->reason.len + foyer_fields_size(h, NULL) + 40);
    char *p = head;
    if (head == NULL) return;
    put_status_line(&p, h->status, h->reason);
    p = foyer_put_fields(p, h, NULL, NULL);
    p = FOYER_PUT_LIT(p, "\r\n");
    foyer_outq_add(&x->to_client, head, (size_t)(p - head));
}

static int parse_response_head(struct foyer_exchange *x, size_t head_len)
{
    struct foyer_buf *in = x->u->in;
    x->rhead.is_request = 0;
    int err = foyer_http1_parse_head(&x->rhead, foyer_buf_pos(in) + x->rscan.first,
                                     head_len - x->rscan.first, x->rscan.lines, x->pool);
    if (!err) err = foyer_response_analyze(&x->rhead, x->req.info.is_head, &x->rinfo);
    return err;
}

/* Reads response heads until a final one (or 101) is in. 1 = done, 0 = more
 * bytes needed, -1 = the exchange has failed. */
static int response_head(struct foyer_exchange *x)
{
    struct foyer_head_limits lim = {settings(x)->max_header_bytes, settings(x)->max_headers};
    for (;;) {
        struct foyer_buf *in = x->u->in;
        size_t head_len;
        int r = foyer_head_scan(&x->rscan, foyer_buf_pos(in), foyer_buf_len(in), &lim, &head_len);
        if (r == FOYER_HTTP_AGAIN) return 0;
        if (r != 0 || parse_response_head(x, head_len) != 0) {
            fail(x, 502, "invalid response head");
            return -1;
        }
        int st = x->rhead.status;
        if (st >= 200 || st == 101) {
            x->u->in->start += head_len;
            return 1;
        }
        interim(x);
        in->start += head_len;
        foyer_head_scan_init(&x->rscan, 0);
    }
}

static int start_response(struct foyer_exchange *x)
{
    if (x->rhead.status == 101) {
        if (!x->req.info.is_upgrade) {
            fail(x, 502, "101 to a request that asked for no upgrade");
            return -1;
        }
        x->tunnel = 1;
    }
    x->resp_started = 1;
    x->status = x->rhead.status;
    if (x->cfg->nplugins) {
        foyer_hooks_upstream_result(x, 0, 0);
        foyer_hooks_response_headers(x);
    }
    choose_out_mode(x);
    if (build_client_head(x) != 0) {
        fail(x, 500, "out of memory");
        return -1;
    }
    if (x->tunnel) {
        foyer_conn_timer_clear(x->c);
        x->req_done = x->req_sent = 1;
        client_wants_input(x, 1);
    }
    if (x->out == OUT_NONE && !x->tunnel) x->resp_done = 1;
    return 0;
}

static void decode_response_body(struct foyer_exchange *x)
{
    struct foyer_buf *in = x->u->in;
    while (!x->resp_done && in && foyer_buf_len(in) > 0 && foyer_outq_has_room(&x->to_client)) {
        if (x->tunnel || x->rinfo.body != FOYER_BODY_CHUNKED) {
            size_t n = foyer_buf_len(in);
            if (x->rinfo.body == FOYER_BODY_LENGTH && n > x->resp_left) n = (size_t)x->resp_left;
            if (x->out == OUT_CHUNKED) foyer_outq_add_chunk(&x->to_client, foyer_buf_pos(in), n);
            else foyer_outq_add(&x->to_client, foyer_buf_pos(in), n);
            if (x->cfg->nplugins && !x->tunnel) foyer_hooks_response_body(x, foyer_buf_pos(in), n);
            in->start += n;
            if (x->rinfo.body == FOYER_BODY_LENGTH && (x->resp_left -= n) == 0) x->resp_done = 1;
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
            return;
        }
        if (x->out == OUT_CHUNKED) foyer_outq_add_chunk(&x->to_client, data, dlen);
        else foyer_outq_add(&x->to_client, data, dlen);
        if (x->cfg->nplugins && dlen) foyer_hooks_response_body(x, data, dlen);
        if (r == 1) x->resp_done = 1;
    }
    if (x->resp_done && x->out == OUT_CHUNKED) foyer_outq_add(&x->to_client, "0\r\n\r\n", 5);
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
static int pump_client(struct foyer_exchange *x)
{
    struct foyer_conn *c = x->c;
    int ended = 0;
    for (;;) {
        if (x->u && x->resp_started && !x->resp_done) decode_response_body(x);
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
        finish(x);
        return -1;
    }
    if (x->u) {
        watch(&x->u->rio, 1);
        if (x->req_sent) arm(&x->u->timer, read_timeout(x));
    }
    return 0;
}

static void on_up_readable(struct foyer_exchange *x)
{
    if (!foyer_outq_empty(&x->to_client)) return;
    if (up_read(x) < 0) {
        fail(x, 500, "out of memory");
        return;
    }
    if (!x->resp_started) {
        if (x->up_eof && (x->u->in == NULL || foyer_buf_len(x->u->in) == 0)) {
            retry_or_fail(x, 502, "upstream closed the connection before answering");
            return;
        }
        int r = response_head(x);
        if (r < 0) return;
        if (r == 0) {
            if (x->up_eof) fail(x, 502, "upstream closed the connection mid-head");
            return;
        }
        if (start_response(x) != 0) return;
        if (x->tunnel && pump_up(x) < 0) return;
    }
    pump_client(x);
}

static void on_up_writable(struct foyer_exchange *x)
{
    struct foyer_upstream *u = x->u;
    if (!u->connected) {
        int err = foyer_upstream_connect_error(u);
        if (err != 0) {
            foyer_warn("upstream %s (service %s): connect: %s", x->ep->name,
                       x->route.service->name, strerror(err));
            foyer_hooks_upstream_result(x, err, 0);
            retry_or_fail(x, 502, "upstream connect failed");
            return;
        }
        u->connected = 1;
        foyer_deadline_clear(&u->timer);
    }
    pump_up(x);
}

static void up_io(struct ev_loop *loop, ev_io *w, int revents)
{
    struct foyer_upstream *u = w->data;
    struct foyer_exchange *x = u->x;
    if (w == &u->wio) on_up_writable(x);
    else on_up_readable(x);
}

static void up_timeout(struct foyer_deadline *d)
{
    struct foyer_upstream *u = FOYER_CONTAINER_OF(d, struct foyer_upstream, timer);
    struct foyer_exchange *x = u->x;
    if (!u->connected) {
        foyer_warn("upstream %s: connect timed out", x->ep->name);
        foyer_hooks_upstream_result(x, ETIMEDOUT, 1);
        retry_or_fail(x, 504, "upstream connect timed out");
        return;
    }
    if (x->tunnel) {
        foyer_conn_close(x->c);
        return;
    }
    foyer_hooks_upstream_result(x, 0, 1);
    fail(x, 504, "upstream timed out");
}

/* ---- client I/O dispatch ---- */

void foyer_proxy_client_io(struct foyer_exchange *x, int revents)
{
    if (revents & EV_WRITE) {
        pump_client(x);
        return;
    }
    on_client_readable(x);
}

void foyer_proxy_client_timeout(struct foyer_exchange *x)
{
    if (x->parked) { /* a plugin kept it waiting too long */
        foyer_conn_close(x->c);
        return;
    }
    if (!foyer_outq_empty(&x->to_client)) {
        foyer_info("client send timed out after %.0f s", settings(x)->client_send_timeout);
        foyer_conn_close(x->c);
        return;
    }
    fail(x, 408, "client body timed out");
}

/* ---- the end of an exchange ---- */

static void finish(struct foyer_exchange *x)
{
    struct foyer_conn *c = x->c;
    int up_reusable = x->rinfo.keep_alive && x->req_sent && x->resp_done && !x->tunnel &&
                      foyer_outq_empty(&x->to_up);
    if (!x->req_done) x->client_close = 1; /* unread body: the stream is out of sync */
    log_exchange(x, x->status, x->bytes_sent);
    drop_upstream(x, up_reusable);
    int keep = !x->client_close;
    c->clean_close = x->req_done && !x->req.info.is_upgrade;
    c->x = NULL;
    free_exchange(x);
    foyer_conn_exchange_done(c, keep);
}

/* Fails the exchange: an error page if the client has seen nothing yet,
 * otherwise a cut connection (the only honest signal left). */
static void fail(struct foyer_exchange *x, int status, const char *why)
{
    struct foyer_conn *c = x->c;
    if (status >= 500 && x->ep != NULL) /* routing errors are logged by the router */
        foyer_warn("%.*s %.*s -> %s: %s (%d)", (int)x->req.head.method.len,
                   x->req.head.method.p, (int)x->req.head.target.len, x->req.head.target.p,
                   x->ep ? x->ep->name : "-", why, status);
    drop_upstream(x, 0);
    if (x->resp_started) {
        foyer_conn_close(c);
        return;
    }
    x->status = status;
    int keep = x->req_done && x->req.info.keep_alive && !foyer_worker.stopping &&
               foyer_outq_empty(&x->to_up);
    log_exchange(x, status, 0);
    c->x = NULL;
    free_exchange(x);
    foyer_conn_respond_error(c, status, keep);
}

/* ---- the start of an exchange ---- */

static struct foyer_exchange *exchange_new(struct foyer_conn *c)
{
    struct foyer_pool *pool = foyer_pool_get(8192);
    if (pool == NULL) return NULL;
    struct foyer_exchange *x = foyer_pool_alloc(pool, sizeof *x);
    if (x == NULL) {
        foyer_pool_release(pool);
        return NULL;
    }
    memset(x, 0, sizeof *x);
    x->pool = pool;
    x->c = c;
    x->cfg = foyer_worker.config;
    foyer_config_ref(x->cfg);
    x->start = ev_now(foyer_worker.loop);
    x->req.pool = pool;
    x->req.client = &c->peer;
    x->req.scheme = c->scheme;
    x->req.listen_port = c->listen_port;
    foyer_outq_init(&x->to_up);
    foyer_outq_init(&x->to_client);
    foyer_head_scan_init(&x->rscan, 0);
    return x;
}

static int parse_request(struct foyer_exchange *x, size_t head_len)
{
    struct foyer_conn *c = x->c;
    x->req.head.is_request = 1;
    int err = foyer_http1_parse_head(&x->req.head, foyer_buf_pos(c->in) + c->scan.first,
                                     head_len - c->scan.first, c->scan.lines, x->pool);
    if (!err) err = foyer_request_analyze(&x->req.head, &x->req.info);
    if (!err && settings(x)->max_body_bytes &&
        x->req.info.content_length > settings(x)->max_body_bytes)
        err = 413;
    return err;
}

/* The route asked for a copy: the same head, and the body when it is already
 * all here (a streamed body is not held back for a mirror). */
static void mirror(struct foyer_exchange *x)
{
    struct foyer_request_info *ri = &x->req.info;
    if (x->route.mirror == NULL || ri->is_upgrade) return;
    struct foyer_buf *in = x->c->in;
    size_t have = in ? foyer_buf_len(in) : 0;
    if (ri->body == FOYER_BODY_CHUNKED || (ri->body == FOYER_BODY_LENGTH && have < ri->content_length)) {
        foyer_debug("mirror to %s skipped: the request body is streamed", x->route.mirror->name);
        return;
    }
    size_t body_len = ri->body == FOYER_BODY_LENGTH ? (size_t)ri->content_length : 0;
    foyer_mirror_send(x->route.mirror, x->up_head, x->up_head_len,
                      body_len ? foyer_buf_pos(in) : NULL, body_len);
}

/* A redirect or a `respond` decision: the answer goes out like a proxied one
 * (same queue, same keep-alive rules), with no upstream. */
static void answer_locally(struct foyer_exchange *x)
{
    const struct foyer_route_decision *d = &x->route;
    struct foyer_local_response lr = {0};
    if (d->redirect != NULL) {
        lr.status = d->redirect->status;
        lr.location = foyer_redirect_location(x->pool, d->redirect, &x->req);
    } else {
        lr.status = d->respond->status;
        lr.body = d->respond->body.p ? d->respond->body : (struct foyer_str){"", 0};
        lr.headers = &d->respond->headers;
    }
    x->client_close = !x->req_done || !x->req.info.keep_alive || foyer_worker.stopping;
    lr.keep_alive = !x->client_close;
    lr.head_only = x->req.info.is_head;
    size_t len;
    char *resp = foyer_respond_build(x->pool, &lr, &len);
    if (resp == NULL || keep_request_strings(x) != 0) {
        fail(x, 500, "out of memory");
        return;
    }
    if (!x->req_done) watch(&x->c->rio, 0); /* the body is not wanted */
    x->status = lr.status;
    x->resp_started = x->resp_done = 1;
    foyer_outq_add(&x->to_client, resp, len);
    pump_client(x);
}

/* The request has a body the client may be waiting to send: say go ahead. */
static void send_continue(struct foyer_exchange *x)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    struct foyer_conn *c = x->c;
    if (!x->req.info.expect_continue || x->req_done || foyer_buf_len(c->in) > 0) return;
    foyer_outq_add(&x->to_client, cont, sizeof cont - 1);
    if (foyer_outq_flush(&x->to_client, c->tp, c->tp_ctx, c->fd, NULL) == 1)
        watch(&c->wio, 1);
}

static void begin_body(struct foyer_exchange *x)
{
    switch (x->req.info.body) {
    case FOYER_BODY_NONE:
    case FOYER_BODY_CLOSE:
        x->req_done = 1;
        break;
    case FOYER_BODY_LENGTH:
        x->req_left = x->req.info.content_length;
        break;
    case FOYER_BODY_CHUNKED:
        foyer_chunked_init(&x->req_chunk);
        break;
    }
}

/* After routing and the route hooks: answer locally or go upstream. */
static void proceed(struct foyer_exchange *x)
{
    if (!x->route.status && (x->route.redirect || x->route.respond)) {
        answer_locally(x);
        return;
    }
    if (!x->route.status && x->route.service->nendpoints == 0) x->route.status = 503;
    if (x->route.status || build_upstream_head(x) != 0 || keep_request_strings(x) != 0) {
        fail(x, x->route.status ? x->route.status : 500, "routing");
        return;
    }
    mirror(x);
    int rc = connect_next(x);
    if (rc != 0) {
        if (rc > 0) answer_locally(x); /* a plugin answered (e.g. no healthy endpoint) */
        else fail(x, 502, "no endpoint reachable");
        return;
    }
    send_head(x);
    send_continue(x);
    if (x->u->connected) pump_up(x);
}

enum { PHASE_HEADERS, PHASE_ROUTE };

/* A hook's answer: 0 to go on, 1 when the exchange stopped here (parked,
 * answered or failed). */
static int hook_stopped(struct foyer_exchange *x, int result, int phase)
{
    switch (result) {
    case FOYER_CONTINUE:
        return 0;
    case FOYER_PARK:
        x->parked = 1;
        x->park_phase = phase;
        watch(&x->c->rio, 0); /* the head's bytes must stay where they are */
        foyer_conn_timer(x->c, settings(x)->client_header_timeout);
        return 1;
    case FOYER_RESPOND:
        if (x->route.respond != NULL) {
            answer_locally(x);
            return 1;
        }
        __attribute__((fallthrough));
    default:
        fail(x, 500, "plugin hook failed");
        return 1;
    }
}

/* The phases before the upstream, from `phase` and plugin index `from`. */
static void run_phases(struct foyer_exchange *x, int phase, unsigned from)
{
    if (phase == PHASE_HEADERS) {
        if (x->cfg->nplugins && hook_stopped(x, foyer_hooks_request_headers(x, from), phase))
            return;
        foyer_lua_route(x->cfg, &x->req, &x->route);
        foyer_request_host(&x->req); /* for the access log */
        phase = PHASE_ROUTE;
        from = 0;
    }
    if (x->cfg->nplugins && hook_stopped(x, foyer_hooks_route(x, from), PHASE_ROUTE)) return;
    proceed(x);
}

void foyer_proxy_resume(struct foyer_exchange *x, int result)
{
    if (!x->parked) {
        foyer_err("plugin resumed a request that was not parked");
        return;
    }
    x->parked = 0;
    if (x->orphaned) { /* the client left meanwhile */
        free_exchange(x);
        return;
    }
    foyer_conn_timer_clear(x->c);
    if (!hook_stopped(x, result, x->park_phase))
        run_phases(x, x->park_phase, x->park_plugin + 1);
}

void foyer_proxy_start(struct foyer_conn *c, size_t head_len)
{
    struct foyer_exchange *x = exchange_new(c);
    if (x == NULL) {
        foyer_conn_respond_error(c, 500, 0);
        return;
    }
    c->x = x;
    int err = parse_request(x, head_len);
    if (err) {
        c->x = NULL;
        free_exchange(x);
        foyer_conn_respond_error(c, err, 0);
        return;
    }
    /* slices stay valid: the buffer is not refilled before they are copied */
    c->in->start += head_len;
    begin_body(x);
    run_phases(x, PHASE_HEADERS, 0);
}
