/* The http-parser adapter: the only file that includes http_parser.h, so the
 * parser can be swapped (llhttp) without touching the rest. It runs over a head
 * already checked by http_head.c and collects slices of the start line and the
 * fields; bodies are framed by http_message.c and http_chunked.c. */
#include "http.h"
#include "pool.h"

#include <http_parser.h>

struct collect {
    struct foyer_http_head *h;
    unsigned cap;
    int in_value;
};

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct collect *c = p->data;
    c->h->target.p = at;
    c->h->target.len = len;
    return 0;
}

static int on_status(http_parser *p, const char *at, size_t len)
{
    struct collect *c = p->data;
    c->h->reason.p = at;
    c->h->reason.len = len;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct collect *c = p->data;
    struct foyer_http_head *h = c->h;
    if (h->nheaders == c->cap) return -1;
    struct foyer_http_header *f = &h->headers[h->nheaders++];
    f->name.p = at;
    f->name.len = len;
    f->value.p = at + len; /* empty value until on_header_value says otherwise */
    f->value.len = 0;
    f->flags = 0;
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct collect *c = p->data;
    if (c->h->nheaders == 0) return -1;
    struct foyer_http_header *f = &c->h->headers[c->h->nheaders - 1];
    f->value.p = at;
    f->value.len = len;
    /* http-parser keeps trailing whitespace in values; OWS is not part of them */
    while (f->value.len > 0 &&
           (at[f->value.len - 1] == ' ' || at[f->value.len - 1] == '\t'))
        f->value.len--;
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct collect *c = p->data;
    c->h->version = p->http_minor >= 1 ? 11 : 10;
    if (!c->h->is_request) c->h->status = p->status_code;
    return 1; /* no body here: bodies are framed by the proxy */
}

static const http_parser_settings settings = {
    .on_url = on_url,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
};

static int run(struct collect *c, const char *buf, size_t len)
{
    http_parser p;
    http_parser_init(&p, c->h->is_request ? HTTP_REQUEST : HTTP_RESPONSE);
    p.data = c;
    size_t n = http_parser_execute(&p, &settings, buf, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&p);
    if (e != HPE_OK && e != HPE_CB_headers_complete) return (int)e;
    return n == len ? 0 : HPE_UNKNOWN;
}

static void rebase(struct foyer_str *s, const char *from, const char *to)
{
    s->p = to + (s->p - from);
}

/* http-parser knows a fixed method table; any other token is a valid method
 * (RFC 9110 §9.1) that a proxy forwards as is. Those heads are parsed with a
 * stand-in method; the real one is kept from the request line. */
static int run_with_stand_in(struct collect *c, const char *buf, size_t len,
                             struct foyer_pool *pool)
{
    const char *sp = memchr(buf, ' ', len);
    if (sp == NULL) return 400;
    size_t mlen = (size_t)(sp - buf);
    size_t rest = len - mlen;
    char *copy = foyer_pool_alloc(pool, rest + 3);
    if (copy == NULL) return 500;
    memcpy(copy, "GET", 3);
    memcpy(copy + 3, sp, rest);
    c->h->nheaders = 0;
    if (run(c, copy, rest + 3) != 0) return 400;
    /* slices must point into the caller's buffer, not the copy */
    rebase(&c->h->target, copy, buf + mlen - 3);
    for (unsigned i = 0; i < c->h->nheaders; i++) {
        rebase(&c->h->headers[i].name, copy, buf + mlen - 3);
        rebase(&c->h->headers[i].value, copy, buf + mlen - 3);
    }
    return 0;
}

int foyer_http1_parse_head(struct foyer_http_head *h, const char *buf, size_t len,
                           unsigned nheaders, struct foyer_pool *pool)
{
    struct collect c = {.h = h, .cap = nheaders};
    h->headers = foyer_pool_alloc(pool, (nheaders ? nheaders : 1) * sizeof *h->headers);
    if (h->headers == NULL) return 500;
    h->nheaders = 0;
    h->target.p = h->reason.p = NULL;
    h->target.len = h->reason.len = 0;
    if (h->is_request) {
        const char *sp = memchr(buf, ' ', len);
        h->method.p = buf;
        h->method.len = sp ? (size_t)(sp - buf) : 0;
    }
    int e = run(&c, buf, len);
    if (e == HPE_INVALID_METHOD && h->is_request)
        return run_with_stand_in(&c, buf, len, pool);
    if (e != 0) return h->is_request ? 400 : 502;
    return 0;
}
