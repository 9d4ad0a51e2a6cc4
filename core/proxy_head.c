/* The heads foyer writes for an exchange: the request to the upstream (path
 * and Host rewrites, header edits, X-Forwarded-*, framing) and the response to
 * the client (its framing and connection fields). */
#include "exchange.h"
#include "conn.h"
#include "fields.h"
#include "pool.h"
#include "request.h"
#include "worker.h"

#include <string.h>

static int is_forwarded_field(struct foyer_str n)
{
    switch (n.len) {
    case 4:
        return FOYER_STR_EQ_CI(n, "host");
    case 15:
        return FOYER_STR_EQ_CI(n, "x-forwarded-for");
    case 16:
        return FOYER_STR_EQ_CI(n, "x-forwarded-host");
    case 17:
        return FOYER_STR_EQ_CI(n, "x-forwarded-proto");
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
    if (host.len > 0 &&
        !foyer_edits_touch(e, (struct foyer_str){"x-forwarded-host", 16})) {
        p = FOYER_PUT_LIT(p, "X-Forwarded-Host: ");
        p = foyer_put(p, host.p, host.len);
        p = FOYER_PUT_LIT(p, "\r\n");
    }
    return p;
}

/* The route's edits followed by the plugins' ones. */
static const struct foyer_header_edits *
merged_edits(struct foyer_exchange *x, const struct foyer_header_edits *route,
             const struct foyer_header_edit_list *plug, struct foyer_header_edits *out)
{
    if (plug->n == 0) return route;
    struct foyer_header_edit *v =
        foyer_pool_alloc(x->pool, (route->n + plug->n) * sizeof *v);
    if (v == NULL) return route;
    if (route->n) memcpy(v, route->v, route->n * sizeof *v);
    memcpy(v + route->n, plug->v, plug->n * sizeof *v);
    out->v = v;
    out->n = route->n + plug->n;
    return out;
}

/* A local answer's extra fields: the decision's, the plugins', and the
 * request id (unless one of those set it). */
const struct foyer_header_edits *
foyer_x_local_fields(struct foyer_exchange *x, const struct foyer_header_edits *route,
                     struct foyer_header_edits *out)
{
    static const struct foyer_header_edits none = {NULL, 0};
    const struct foyer_header_edits *e =
        merged_edits(x, route ? route : &none, &x->plugin_resp_edits, out);
    const char *name = foyer_settings_request_id(settings(x));
    if (x->request_id.p == NULL ||
        foyer_edits_touch(e, (struct foyer_str){name, strlen(name)}))
        return e;
    struct foyer_header_edit *v = foyer_pool_alloc(x->pool, (e->n + 1) * sizeof *v);
    if (v == NULL) return e;
    if (e->n) memcpy(v, e->v, e->n * sizeof *v);
    v[e->n] =
        (struct foyer_header_edit){FOYER_HEADER_SET, {name, strlen(name)}, x->request_id};
    out->v = v;
    out->n = e->n + 1;
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
    if (ri->body == FOYER_BODY_CHUNKED)
        return FOYER_PUT_LIT(p, "Transfer-Encoding: chunked\r\n");
    if (ri->has_length || ri->body == FOYER_BODY_LENGTH)
        p = put_content_length(p, ri->content_length);
    return p;
}

/* "X-Request-Id: <id>" (the configured name). */
static char *put_request_id(struct foyer_exchange *x, char *p)
{
    const char *name = foyer_settings_request_id(settings(x));
    p = foyer_put(p, name, strlen(name));
    p = FOYER_PUT_LIT(p, ": ");
    p = foyer_put(p, x->request_id.p, x->request_id.len);
    return FOYER_PUT_LIT(p, "\r\n");
}

int foyer_x_build_upstream_head(struct foyer_exchange *x)
{
    struct foyer_http_head *h = &x->req.head;
    struct foyer_request_info *ri = &x->req.info;
    struct foyer_str host = ri->host;
    if (host.len ==
        0) /* an HTTP/1.0 request without Host: name the service, as nginx does */
        host = (struct foyer_str){x->route.service->name, strlen(x->route.service->name)};
    struct foyer_str up_host = x->route.host.p ? x->route.host : host;
    struct foyer_header_edits merged;
    const struct foyer_header_edits *edits =
        merged_edits(x, &x->route.request_headers, &x->plugin_req_edits, &merged);
    size_t cap = h->method.len + h->target.len + x->route.path.len + 16 +
                 foyer_fields_size(h, edits) + host.len + up_host.len + ri->upgrade.len +
                 x->request_id.len + 320 + 128;
    char *p = x->up_head = foyer_pool_alloc(x->pool, cap);
    if (p == NULL) return -1;
    p = put_request_line(x, p);
    p = FOYER_PUT_LIT(p, "Host: ");
    p = foyer_put(p, up_host.p, up_host.len);
    p = FOYER_PUT_LIT(p, "\r\n");
    p = foyer_put_fields(p, h, edits, is_forwarded_field);
    p = put_forwarded(x, p, ri->host);
    if (x->request_id_new) p = put_request_id(x, p);
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

static void put_status_line(char **pp, int status, struct foyer_str reason)
{
    char *p = *pp;
    p = FOYER_PUT_LIT(p, "HTTP/1.1 ");
    *p++ = (char)('0' + status / 100 % 10);
    *p++ = (char)('0' + status / 10 % 10);
    *p++ = (char)('0' + status % 10);
    *p++ = ' ';
    if (reason.len)
        p = foyer_put(p, reason.p, reason.len);
    else
        p = foyer_put(p, foyer_http_reason(status), strlen(foyer_http_reason(status)));
    *pp = FOYER_PUT_LIT(p, "\r\n");
}

static struct foyer_str find_field(struct foyer_http_head *h, const char *name,
                                   size_t len)
{
    for (unsigned i = 0; i < h->nheaders; i++)
        if (foyer_str_eq_ci(h->headers[i].name, name, len)) return h->headers[i].value;
    return (struct foyer_str){NULL, 0};
}

/* How the body goes to this client, and whether the connection survives it. */
void foyer_x_choose_out_mode(struct foyer_exchange *x)
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

int foyer_x_build_client_head(struct foyer_exchange *x)
{
    struct foyer_http_head *h = &x->rhead;
    struct foyer_header_edits merged;
    const struct foyer_header_edits *e =
        merged_edits(x, &x->route.response_headers, &x->plugin_resp_edits, &merged);
    x->resp_head_built = 1;
    size_t cap = h->reason.len + foyer_fields_size(h, e) + 160 + 128 + x->request_id.len;
    struct foyer_str upg = find_field(h, "upgrade", 7);
    char *head = foyer_pool_alloc(x->pool, cap + upg.len), *p = head;
    if (head == NULL) return -1;
    put_status_line(&p, h->status, h->reason);
    p = foyer_put_fields(p, h, e, NULL);
    if (x->request_id.p != NULL) {
        const char *name = foyer_settings_request_id(settings(x));
        if (find_field(h, name, strlen(name)).p == NULL) p = put_request_id(x, p);
    }
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
        if (x->client_close)
            p = FOYER_PUT_LIT(p, "Connection: close\r\n");
        else if (x->req.head.version < 11)
            p = FOYER_PUT_LIT(p, "Connection: keep-alive\r\n");
    }
    p = FOYER_PUT_LIT(p, "\r\n");
    x->client_head_len = (size_t)(p - head);
    foyer_outq_add(&x->to_client, head, (size_t)(p - head));
    return 0;
}

/* Forwards an interim (1xx) response, except the 100 the proxy gave itself. */
void foyer_x_interim(struct foyer_exchange *x)
{
    if (x->rhead.status == 100 || x->req.head.version < 11) return;
    struct foyer_http_head *h = &x->rhead;
    char *head =
        foyer_pool_alloc(x->pool, h->reason.len + foyer_fields_size(h, NULL) + 40);
    char *p = head;
    if (head == NULL) return;
    put_status_line(&p, h->status, h->reason);
    p = foyer_put_fields(p, h, NULL, NULL);
    p = FOYER_PUT_LIT(p, "\r\n");
    foyer_outq_add(&x->to_client, head, (size_t)(p - head));
}
