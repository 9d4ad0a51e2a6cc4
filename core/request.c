#include "request.h"
#include "pool.h"

#include <ctype.h>

const char *foyer_request_host(struct foyer_request *r)
{
    if (r->host_lc != NULL) return r->host_lc;
    struct foyer_str h = r->info.host_name;
    char *s = foyer_pool_alloc(r->pool, h.len + 1);
    if (s == NULL) return "";
    for (size_t i = 0; i < h.len; i++) s[i] = (char)tolower((unsigned char)h.p[i]);
    /* a trailing dot names the same host (RFC 1034 absolute form) */
    size_t n = h.len;
    if (n > 1 && s[n - 1] == '.') n--;
    s[n] = '\0';
    r->host_lc = s;
    return s;
}

const char *foyer_request_header(struct foyer_request *r, const char *name, size_t len,
                                 size_t *out_len)
{
    struct foyer_http_head *h = &r->head;
    size_t total = 0;
    unsigned count = 0, first = 0;
    for (unsigned i = 0; i < h->nheaders; i++) {
        if (!foyer_str_eq_ci(h->headers[i].name, name, len)) continue;
        if (count++ == 0) first = i;
        total += h->headers[i].value.len + 2;
    }
    if (count == 0) return NULL;
    if (count == 1) {
        *out_len = h->headers[first].value.len;
        return h->headers[first].value.p;
    }
    char *out = foyer_pool_alloc(r->pool, total);
    if (out == NULL) return NULL;
    size_t off = 0;
    for (unsigned i = first; i < h->nheaders; i++) {
        if (!foyer_str_eq_ci(h->headers[i].name, name, len)) continue;
        if (off) {
            memcpy(out + off, ", ", 2);
            off += 2;
        }
        memcpy(out + off, h->headers[i].value.p, h->headers[i].value.len);
        off += h->headers[i].value.len;
    }
    *out_len = off;
    return out;
}
