#include "respond.h"
#include "fields.h"
#include "pool.h"
#include "request.h"

#include <stdio.h>

static char *put_str(char *p, struct foyer_str s)
{
    return foyer_put(p, s.p, s.len);
}

char *foyer_respond_build(struct foyer_pool *pool, const struct foyer_local_response *lr,
                          size_t *len)
{
    char page[96];
    struct foyer_str body = lr->body;
    const char *reason = foyer_http_reason(lr->status);
    if (body.p == NULL) {
        int n = snprintf(page, sizeof page, "%d %s\n", lr->status, reason);
        body = (struct foyer_str){page, (size_t)n};
    }
    size_t cap = 160 + strlen(reason) + lr->location.len + body.len;
    for (unsigned i = 0; lr->headers && i < lr->headers->n; i++)
        cap += lr->headers->v[i].name.len + lr->headers->v[i].value.len + 4;
    char *out = foyer_pool_alloc(pool, cap), *p = out;
    if (out == NULL) return NULL;
    p = FOYER_PUT_LIT(p, "HTTP/1.1 ");
    p = foyer_put_u64(p, (uint64_t)lr->status);
    *p++ = ' ';
    p = foyer_put(p, reason, strlen(reason));
    p = FOYER_PUT_LIT(p, "\r\n");
    if (lr->location.p != NULL) {
        p = FOYER_PUT_LIT(p, "Location: ");
        p = put_str(p, lr->location);
        p = FOYER_PUT_LIT(p, "\r\n");
    }
    int has_type = 0;
    for (unsigned i = 0; lr->headers && i < lr->headers->n; i++) {
        const struct foyer_header_edit *e = &lr->headers->v[i];
        if (e->op == FOYER_HEADER_REMOVE || foyer_field_is_protected(e->name)) continue;
        has_type |= FOYER_STR_EQ_CI(e->name, "content-type");
        p = put_str(p, e->name);
        p = FOYER_PUT_LIT(p, ": ");
        p = put_str(p, e->value);
        p = FOYER_PUT_LIT(p, "\r\n");
    }
    if (!has_type) p = FOYER_PUT_LIT(p, "Content-Type: text/plain\r\n");
    p = FOYER_PUT_LIT(p, "Content-Length: ");
    p = foyer_put_u64(p, body.len);
    p = lr->keep_alive ? FOYER_PUT_LIT(p, "\r\nConnection: keep-alive\r\n\r\n")
                       : FOYER_PUT_LIT(p, "\r\nConnection: close\r\n\r\n");
    if (!lr->head_only) p = put_str(p, body);
    *len = (size_t)(p - out);
    return out;
}

static unsigned default_port(struct foyer_str scheme)
{
    return FOYER_STR_EQ_CI(scheme, "https") ? 443 : 80;
}

struct foyer_str foyer_redirect_location(struct foyer_pool *pool,
                                         const struct foyer_redirect *rd,
                                         struct foyer_request *r)
{
    struct foyer_str scheme =
        rd->scheme.p ? rd->scheme : (struct foyer_str){r->scheme, strlen(r->scheme)};
    struct foyer_str host = rd->host;
    if (host.p == NULL)
        host = (struct foyer_str){foyer_request_host(r), strlen(foyer_request_host(r))};
    unsigned port = rd->port;
    if (port == 0) /* a new scheme brings its own port; else keep the request's */
        port = rd->scheme.p ? default_port(scheme)
                            : (r->info.port ? r->info.port : r->listen_port);
    struct foyer_str path = rd->path.p ? rd->path : r->info.path;
    size_t cap = scheme.len + host.len + path.len + r->info.query.len + 32;
    char *out = foyer_pool_alloc(pool, cap), *p = out;
    if (out == NULL) return (struct foyer_str){NULL, 0};
    p = put_str(p, scheme);
    p = FOYER_PUT_LIT(p, "://");
    p = put_str(p, host);
    if (port != default_port(scheme)) {
        *p++ = ':';
        p = foyer_put_u64(p, port);
    }
    p = put_str(p, path);
    if (r->info.query.p != NULL) {
        *p++ = '?';
        p = put_str(p, r->info.query);
    }
    return (struct foyer_str){out, (size_t)(p - out)};
}
