/* The reverse-proxy exchange, phase by phase: request headers (plugins), route
 * (Lua or the router), route hooks, a local answer or upstream select and
 * connect, the upstream result and response head, then the end: log, keep the
 * connections or close them. Heads are written by proxy_head.c, bodies moved
 * by proxy_relay.c. */
#include "proxy.h"
#include "exchange.h"
#include "access_log.h"
#include "buf.h"
#include "config.h"
#include "conn.h"
#include "fields.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "mirror.h"
#include "lua_state.h"
#include "outq.h"
#include "plugin_hooks.h"
#include "plugin_transport.h"
#include "pool.h"
#include "random.h"
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

static void up_io(struct ev_loop *loop, ev_io *w, int revents);
static void up_timeout(struct foyer_deadline *d);

/* ---- freeing ---- */

void foyer_x_free(struct foyer_exchange *x)
{
    struct foyer_config *cfg = x->cfg;
    if (x->route.plugins_ref > 0)
        luaL_unref(cfg->L, LUA_REGISTRYINDEX, x->route.plugins_ref);
    foyer_pool_release(x->pool); /* x itself lives in the pool */
    foyer_config_unref(cfg);
}

void foyer_x_drop_upstream(struct foyer_exchange *x, int reusable)
{
    struct foyer_upstream *u = x->u;
    if (u == NULL) return;
    x->u = NULL;
    foyer_deadline_clear(&u->timer);
    foyer_upstream_release(u, reusable, settings(x)->upstream_keepalive);
}

static void log_exchange(struct foyer_exchange *x, int status, size_t bytes)
{
    double now = ev_now(loop_());
    struct foyer_log_entry e = {
        .c = x->c,
        .r = &x->req,
        .status = status,
        .bytes = bytes,
        .body_bytes = bytes > x->client_head_len ? bytes - x->client_head_len : 0,
        .duration = now - x->start,
        .upstream_time = x->up_wrote ? now - x->up_sent_at : -1,
        .service = x->route.service ? x->route.service->name : NULL,
        .endpoint = x->ep ? x->ep->name : NULL,
        .tag = x->route.tag,
        .request_id = x->request_id.p,
    };
    foyer_access_log_exchange(x->cfg->log_format, &e);
    foyer_metrics_request(e.service, e.tag, status, e.duration, e.upstream_time, bytes,
                          x->req_body_bytes);
    if (x->cfg->nplugins) foyer_hooks_log(x);
}

void foyer_proxy_abort(struct foyer_exchange *x)
{
    if (x->status == 0) x->status = 499; /* client went away, nginx's convention */
    log_exchange(x, x->status, x->bytes_sent);
    foyer_x_drop_upstream(x, 0);
    x->c->x = NULL;
    if (x->parked) { /* a plugin still holds it: freed when it resumes */
        x->orphaned = 1;
        x->c = NULL;
        return;
    }
    foyer_x_free(x);
}

void foyer_proxy_close_after(struct foyer_exchange *x)
{
    x->client_close = 1;
}

/* ---- upstream selection and connection ---- */

static void up_bind(struct foyer_exchange *x, struct foyer_upstream *u)
{
    x->u = u;
    x->result_reported = 0; /* a new attempt */
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
        if (r == FOYER_SELECTED && chosen < s->nendpoints)
            idx = chosen;
        else if (r != FOYER_CONTINUE && r != FOYER_SELECTED)
            return -2; /* plugin failed */
    }
    x->ep = &s->endpoints[idx];
    if (x->ntried < sizeof x->tried / sizeof x->tried[0]) x->tried[x->ntried++] = idx;
    return 0;
}

/* A new connection to an https:// endpoint gets its transport from the
 * plugin the configuration bound to the service. */
static int tls_transport(struct foyer_exchange *x, struct foyer_upstream *u)
{
    struct foyer_service *s = x->route.service;
    const struct foyer_transport *tp;
    void *ctx;
    int rc = foyer_plugin_upstream_transport(x->cfg, s, (unsigned)(x->ep - s->endpoints),
                                             u->fd, &tp, &ctx);
    return foyer_upstream_set_transport(u, rc, tp, ctx);
}

const char *foyer_x_upstream_error(struct foyer_exchange *x, const char *what)
{
    static char text[256];
    const char *why =
        x->u && x->u->tp->info ? x->u->tp->info(x->u->tp_ctx, "error") : NULL;
    snprintf(text, sizeof text, "upstream %s failed%s%s", what, why ? ": " : "",
             why ? why : "");
    return text;
}

static int connect_next(struct foyer_exchange *x)
{
    struct foyer_service *s = x->route.service;
    while (x->tries < s->nendpoints) {
        int rc = pick_endpoint(x);
        if (rc != 0) return rc;
        x->tries++;
        struct foyer_upstream *u = foyer_upstream_get(x->ep, x->ep->tls ? s->name : NULL);
        if (u != NULL && x->ep->tls && !u->reused && tls_transport(x, u) != 0) {
            foyer_warn("upstream https://%s (service %s): no TLS connection", x->ep->name,
                       s->name);
            foyer_hooks_upstream_result(x, EPROTO, 0, 0);
            continue;
        }
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
        foyer_warn("upstream %s (service %s): connect: %s", x->ep->name, s->name,
                   strerror(e));
        foyer_hooks_upstream_result(x, e, 0, 0);
    }
    return -1;
}

/* A connect that failed, or a reused connection the upstream had closed:
 * retry elsewhere while nothing of the request can have been processed. */
/* RFC 9110 §9.2.2: a request the upstream may have acted on is only sent
 * again when repeating it changes nothing. */
static int idempotent(const struct foyer_http_head *h)
{
    static const char *const methods[] = {"GET",    "HEAD",    "PUT",
                                          "DELETE", "OPTIONS", "TRACE"};
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++)
        if (h->method.len == strlen(methods[i]) &&
            memcmp(h->method.p, methods[i], h->method.len) == 0)
            return 1;
    return 0;
}

/* Plugins hear about every failed attempt, once. */
static void report_failed_attempt(struct foyer_exchange *x, int reset)
{
    if (x->result_reported || x->ep == NULL) return;
    foyer_hooks_upstream_result(x, 0, 0, reset);
}

int foyer_x_retry_or_fail(struct foyer_exchange *x, int status, const char *why)
{
    int untouched = !x->up_wrote;
    int replayable = x->resp_started == 0 && x->req.info.body == FOYER_BODY_NONE &&
                     (untouched || idempotent(&x->req.head));
    int was_reused = x->u != NULL && x->u->reused;
    report_failed_attempt(x, 1);
    foyer_x_drop_upstream(x, 0);
    x->req_sent = 0; /* sent again below: the new upstream gets its own read timeout */
    x->up_eof = 0;   /* the state of the connection just dropped */
    foyer_head_scan_init(&x->rscan, 0);
    if (was_reused && replayable)
        x->tries--; /* a stale pooled connection is no real try */
    if ((untouched || replayable) && connect_next(x) == 0) {
        if (!untouched) send_head(x); /* untouched: the queue still holds it all */
        x->up_wrote = 0;
        return x->u->connected ? foyer_x_pump_up(x) : 0;
    }
    foyer_x_fail(x, status, why);
    return -1;
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
    struct foyer_head_limits lim = {settings(x)->max_header_bytes,
                                    settings(x)->max_headers};
    for (;;) {
        struct foyer_buf *in = x->u->in;
        size_t head_len;
        int r = foyer_head_scan(&x->rscan, foyer_buf_pos(in), foyer_buf_len(in), &lim,
                                &head_len);
        if (r == FOYER_HTTP_AGAIN) return 0;
        if (r != 0 || parse_response_head(x, head_len) != 0) {
            foyer_x_fail(x, 502, "invalid response head");
            return -1;
        }
        int st = x->rhead.status;
        if (st >= 200 || st == 101) {
            x->u->in->start += head_len;
            return 1;
        }
        foyer_x_interim(x);
        in->start += head_len;
        foyer_head_scan_init(&x->rscan, 0);
    }
}

static int start_response(struct foyer_exchange *x)
{
    if (x->rhead.status == 101 && !x->req.info.is_upgrade) {
        foyer_x_fail(x, 502, "101 to a request that asked for no upgrade");
        return -1;
    }
    x->status = x->rhead.status;
    if (x->cfg->nplugins) {
        foyer_hooks_upstream_result(x, 0, 0, 0);
        int r = foyer_hooks_response_headers(x);
        if (r == FOYER_RESPOND && x->route.respond != NULL) { /* the plugin replaces it */
            foyer_x_drop_upstream(x, 0);
            foyer_x_answer_locally(x);
            return -1;
        }
        if (r != FOYER_CONTINUE) {
            foyer_x_fail(x, 500, "a plugin failed on the response head");
            return -1;
        }
    }
    x->tunnel = x->rhead.status == 101; /* only now: a plugin may have answered instead */
    x->resp_started = 1;
    foyer_x_choose_out_mode(x);
    if (foyer_x_build_client_head(x) != 0) {
        foyer_x_fail(x, 500, "out of memory");
        return -1;
    }
    if (x->tunnel) {
        foyer_conn_timer_clear(x->c);
        x->req_done = x->req_sent = 1;
        foyer_x_client_wants_input(x, 1);
    }
    if (x->out == OUT_NONE && !x->tunnel) x->resp_done = 1;
    return 0;
}

static void on_up_writable(struct foyer_exchange *x);

static void on_up_readable(struct foyer_exchange *x)
{
    if (!x->u->connected) { /* a refused connect can show up as readable first */
        on_up_writable(x);
        return;
    }
    if (x->u->write_wants_read) { /* the transport (TLS) can write on now */
        x->u->write_wants_read = 0;
        if (foyer_x_pump_up(x) < 0 || x->u == NULL) return;
    }
    if (!foyer_outq_empty(&x->to_client)) { /* the client is slow: stop until it drains */
        watch(&x->u->rio, 0);
        return;
    }
    if (foyer_x_up_read(x) < 0) {
        foyer_x_fail(x, 500, "out of memory");
        return;
    }
    if (!x->resp_started) {
        if (x->up_eof && (x->u->in == NULL || foyer_buf_len(x->u->in) == 0)) {
            int tls_error = x->u->tp->info && x->u->tp->info(x->u->tp_ctx, "error");
            foyer_x_retry_or_fail(x, 502,
                                  tls_error ? foyer_x_upstream_error(x, "read")
                                            : "upstream closed the connection before "
                                              "answering");
            return;
        }
        int r = response_head(x);
        if (r < 0) return;
        if (r == 0) {
            if (x->up_eof)
                foyer_x_fail(x, 502, "upstream closed the connection mid-head");
            else if (!foyer_outq_empty(&x->to_client))
                foyer_x_pump_client(x); /* a 1xx */
            return;
        }
        if (start_response(x) != 0) return;
        if (x->tunnel && foyer_x_pump_up(x) < 0) return;
    }
    foyer_x_pump_client(x);
}

static void on_up_writable(struct foyer_exchange *x)
{
    struct foyer_upstream *u = x->u;
    if (!u->connected) {
        int err = foyer_upstream_connect_error(u);
        if (err != 0) {
            foyer_warn("upstream %s (service %s): connect: %s", x->ep->name,
                       x->route.service->name, strerror(err));
            foyer_hooks_upstream_result(x, err, 0, 0);
            foyer_x_retry_or_fail(x, 502, "upstream connect failed");
            return;
        }
        u->connected = 1;
        foyer_deadline_clear(&u->timer);
    }
    if (u->read_wants_write) { /* the transport (TLS) can read on now */
        u->read_wants_write = 0;
        if (foyer_outq_empty(&x->to_up)) watch(&u->wio, 0);
        on_up_readable(x);
        return;
    }
    foyer_x_pump_up(x);
}

static void up_io(struct ev_loop *loop, ev_io *w, int revents)
{
    struct foyer_upstream *u = w->data;
    struct foyer_exchange *x = u->x;
    if (w == &u->wio)
        on_up_writable(x);
    else
        on_up_readable(x);
}

static void up_timeout(struct foyer_deadline *d)
{
    struct foyer_upstream *u = FOYER_CONTAINER_OF(d, struct foyer_upstream, timer);
    struct foyer_exchange *x = u->x;
    if (!u->connected) {
        foyer_warn("upstream %s: connect timed out", x->ep->name);
        foyer_hooks_upstream_result(x, ETIMEDOUT, 1, 0);
        foyer_x_retry_or_fail(x, 504, "upstream connect timed out");
        return;
    }
    if (x->tunnel) {
        foyer_conn_close(x->c);
        return;
    }
    foyer_hooks_upstream_result(x, 0, 1, 0);
    foyer_x_fail(x, 504, "upstream timed out");
}

/* ---- client I/O dispatch ---- */

void foyer_proxy_client_io(struct foyer_exchange *x, int revents)
{
    if (revents & EV_WRITE) {
        foyer_x_pump_client(x);
        return;
    }
    if (x->holding) {
        foyer_x_hold_readable(x);
        return;
    }
    foyer_x_client_readable(x);
}

void foyer_proxy_client_timeout(struct foyer_exchange *x)
{
    if (x->parked) { /* a plugin kept it waiting too long: 504, and it keeps x */
        struct foyer_conn *c = x->c;
        x->status = 504;
        log_exchange(x, 504, 0);
        x->orphaned = 1;
        x->c = NULL;
        c->x = NULL;
        foyer_conn_respond_error(c, 504, 0);
        return;
    }
    if (!foyer_outq_empty(&x->to_client)) {
        foyer_info("client send timed out after %.0f s",
                   settings(x)->client_send_timeout);
        foyer_conn_close(x->c);
        return;
    }
    foyer_x_fail(x, 408, "client body timed out");
}

/* ---- the end of an exchange ---- */

void foyer_x_finish(struct foyer_exchange *x)
{
    struct foyer_conn *c = x->c;
    int up_reusable = x->rinfo.keep_alive && x->req_sent && x->resp_done && !x->tunnel &&
                      foyer_outq_empty(&x->to_up);
    if (!x->req_done) x->client_close = 1; /* unread body: the stream is out of sync */
    log_exchange(x, x->status, x->bytes_sent);
    foyer_x_drop_upstream(x, up_reusable);
    int keep = !x->client_close;
    c->clean_close = x->req_done && !x->req.info.is_upgrade;
    c->x = NULL;
    foyer_x_free(x);
    foyer_conn_exchange_done(c, keep);
}

/* Fails the exchange: an error page if the client has seen nothing yet,
 * otherwise a cut connection (the only honest signal left). */
void foyer_x_fail(struct foyer_exchange *x, int status, const char *why)
{
    if (x->u != NULL) report_failed_attempt(x, status != 504);
    struct foyer_conn *c = x->c;
    if (status >= 500 && x->ep != NULL) /* routing errors are logged by the router */
        foyer_warn("%.*s %.*s -> %s: %s (%d)", (int)x->req.head.method.len,
                   x->req.head.method.p, (int)x->req.head.target.len,
                   x->req.head.target.p, x->ep ? x->ep->name : "-", why, status);
    foyer_x_drop_upstream(x, 0);
    if (x->resp_started) {
        foyer_conn_close(c);
        return;
    }
    x->status = status;
    int keep = x->req_done && x->req.info.keep_alive && !foyer_worker.stopping &&
               foyer_outq_empty(&x->to_up);
    log_exchange(x, status, 0);
    c->x = NULL;
    foyer_x_free(x);
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
    x->req.tp = c->tp;
    x->req.tp_ctx = c->tp_ctx;
    foyer_outq_init(&x->to_up);
    foyer_outq_init(&x->to_client);
    foyer_head_scan_init(&x->rscan, 0);
    return x;
}

/* The head is copied into the exchange's pool first: its fields then stay
 * readable for the whole exchange (plugins, retries, the log) while the
 * connection's buffer moves on to the body and the next request. */
/* The client's request id when it sent a sane one (kept as it is), else a
 * new one: 32 hex digits, as nginx's $request_id. */
static void assign_request_id(struct foyer_exchange *x)
{
    const char *name = foyer_settings_request_id(settings(x));
    size_t n;
    const char *v = foyer_request_header(&x->req, name, strlen(name), &n);
    int sane = v != NULL && n > 0 && n <= 128;
    for (size_t i = 0; sane && i < n; i++)
        sane = v[i] > ' ' && v[i] < 0x7f && v[i] != '"' && v[i] != '\\' && v[i] != ',';
    if (sane) { /* a C string: the access log prints it */
        const char *copy = foyer_pool_strndup(x->pool, v, n);
        if (copy != NULL) x->request_id = (struct foyer_str){copy, n};
        return;
    }
    char *id = foyer_pool_alloc(x->pool, 33);
    if (id == NULL) return;
    static const char hex[] = "0123456789abcdef";
    uint64_t a = foyer_random(), b = foyer_random();
    for (int i = 0; i < 16; i++) {
        id[i] = hex[(a >> (4 * i)) & 15];
        id[16 + i] = hex[(b >> (4 * i)) & 15];
    }
    id[32] = '\0';
    x->request_id = (struct foyer_str){id, 32};
    x->request_id_new = 1;
}

static int parse_request(struct foyer_exchange *x, size_t head_len)
{
    struct foyer_conn *c = x->c;
    size_t len = head_len - c->scan.first;
    char *head = foyer_pool_alloc(x->pool, len);
    if (head == NULL) return 500;
    memcpy(head, foyer_buf_pos(c->in) + c->scan.first, len);
    x->req.head.is_request = 1;
    int err = foyer_http1_parse_head(&x->req.head, head, len, c->scan.lines, x->pool);
    if (!err) err = foyer_request_analyze(&x->req.head, &x->req.info);
    if (!err && foyer_settings_request_id(settings(x))) assign_request_id(x);
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
    if (ri->body == FOYER_BODY_CHUNKED ||
        (ri->body == FOYER_BODY_LENGTH && have < ri->content_length)) {
        foyer_debug("mirror to %s skipped: the request body is streamed",
                    x->route.mirror->name);
        return;
    }
    size_t body_len = ri->body == FOYER_BODY_LENGTH ? (size_t)ri->content_length : 0;
    foyer_mirror_send(x->route.mirror, x->up_head, x->up_head_len,
                      body_len ? foyer_buf_pos(in) : NULL, body_len);
}

/* A redirect or a `respond` decision: the answer goes out like a proxied one
 * (same queue, same keep-alive rules), with no upstream. */
void foyer_x_answer_locally(struct foyer_exchange *x)
{
    const struct foyer_route_decision *d = &x->route;
    struct foyer_local_response lr = {0};
    struct foyer_header_edits fields;
    if (d->redirect != NULL) {
        lr.status = d->redirect->status;
        lr.location = foyer_redirect_location(x->pool, d->redirect, &x->req);
    } else {
        lr.status = d->respond->status;
        lr.body = d->respond->body.p ? d->respond->body : (struct foyer_str){"", 0};
        lr.headers = &d->respond->headers;
    }
    lr.headers = foyer_x_local_fields(x, lr.headers, &fields);
    x->client_close = !x->req_done || !x->req.info.keep_alive || foyer_worker.stopping;
    lr.keep_alive = !x->client_close;
    lr.head_only = x->req.info.is_head;
    size_t len;
    char *resp = foyer_respond_build(x->pool, &lr, &len);
    if (resp == NULL) {
        foyer_x_fail(x, 500, "out of memory");
        return;
    }
    if (!x->req_done) foyer_conn_watch_read(x->c, 0); /* the body is not wanted */
    x->status = lr.status;
    x->resp_started = x->resp_done = 1;
    x->client_head_len = lr.head_only || len < lr.body.len ? len : len - lr.body.len;
    foyer_outq_add(&x->to_client, resp, len);
    foyer_x_pump_client(x);
}

/* The request has a body the client may be waiting to send: say go ahead. */
void foyer_x_send_continue(struct foyer_exchange *x)
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
        foyer_x_answer_locally(x);
        return;
    }
    if (!x->route.status && x->route.service->nendpoints == 0) x->route.status = 503;
    if (x->route.status) {
        foyer_x_fail(x, x->route.status, "routing");
        return;
    }
    if (foyer_x_hold_wanted(x)) {
        foyer_x_hold_start(x); /* goes upstream once plugins saw the body */
        return;
    }
    foyer_x_go_upstream(x);
}

void foyer_x_go_upstream(struct foyer_exchange *x)
{
    if (foyer_x_build_upstream_head(x) != 0) {
        foyer_x_fail(x, 500, "out of memory");
        return;
    }
    mirror(x);
    int rc = connect_next(x);
    if (rc != 0) {
        if (rc > 0)
            foyer_x_answer_locally(x); /* a plugin answered (e.g. no healthy endpoint) */
        else if (rc == -2)
            foyer_x_fail(x, 500, "a plugin failed to select an endpoint");
        else
            foyer_x_fail(x, 502, "no endpoint reachable");
        return;
    }
    send_head(x);
    foyer_x_send_continue(x);
    if (x->u->connected) foyer_x_pump_up(x);
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
        foyer_conn_watch_read(x->c, 0); /* the head's bytes must stay where they are */
        foyer_conn_timer(x->c, settings(x)->client_header_timeout);
        return 1;
    case FOYER_RESPOND:
        if (x->route.respond != NULL) {
            foyer_x_answer_locally(x);
            return 1;
        }
        __attribute__((fallthrough));
    default:
        foyer_x_fail(x, 500, "plugin hook failed");
        return 1;
    }
}

/* The phases before the upstream, from `phase` and plugin index `from`. */
static void run_phases(struct foyer_exchange *x, int phase, unsigned from)
{
    if (phase == PHASE_HEADERS) {
        if (x->cfg->nplugins &&
            hook_stopped(x, foyer_hooks_request_headers(x, from), phase))
            return;
        foyer_lua_route(x->cfg, &x->req, &x->route);
        phase = PHASE_ROUTE;
        from = 0;
    }
    if (x->cfg->nplugins && hook_stopped(x, foyer_hooks_route(x, from), PHASE_ROUTE))
        return;
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
        foyer_x_free(x);
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
        foyer_metrics_request(NULL, NULL, err, 0, -1, 0, 0);
        c->x = NULL;
        foyer_x_free(x);
        foyer_conn_respond_error(c, err, 0);
        return;
    }
    c->in->start += head_len;
    begin_body(x);
    run_phases(x, PHASE_HEADERS, 0);
}
