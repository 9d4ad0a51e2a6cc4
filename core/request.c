#include "request.h"
#include "pool.h"

#include <ctype.h>

const char *foyer_request_host(struct foyer_request *r)
{
    if (r->host_lc != NULL) return r->host_lc;
    struct foyer_str h = r->info.host_name;
    char *s = foyer_pool_alloc(r->pool, h.len + 1);
    if (s == NULL) return "";
    for (size_t i = 0; i < h.len; i++)
        s[i] = (char)tolower((unsigned char)h.p[i]);
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

static int hexdigit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

char *foyer_url_decode(struct foyer_pool *pool, const char *s, size_t len, int plus,
                       size_t *out_len)
{
    char *out = foyer_pool_alloc(pool, len + 1);
    if (out == NULL) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < len && (hi = hexdigit(s[i + 1])) >= 0 &&
            (lo = hexdigit(s[i + 2])) >= 0) {
            out[n++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[n++] = (plus && s[i] == '+') ? ' ' : s[i];
        }
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}

const char *foyer_request_arg(struct foyer_request *r, const char *name, size_t len,
                              size_t *out_len)
{
    struct foyer_str q = r->info.query;
    size_t i = 0;
    while (q.p != NULL && i <= q.len) {
        size_t end = i;
        while (end < q.len && q.p[end] != '&')
            end++;
        const char *eq = memchr(q.p + i, '=', end - i);
        size_t klen = eq ? (size_t)(eq - (q.p + i)) : end - i;
        size_t dklen;
        char *key = foyer_url_decode(r->pool, q.p + i, klen, 1, &dklen);
        if (key != NULL && dklen == len && memcmp(key, name, len) == 0) {
            if (eq == NULL) {
                *out_len = 0;
                return "";
            }
            return foyer_url_decode(r->pool, eq + 1, (size_t)(q.p + end - eq - 1), 1,
                                    out_len);
        }
        i = end + 1;
    }
    return NULL;
}

const char *foyer_request_cookie(struct foyer_request *r, const char *name, size_t len,
                                 size_t *out_len)
{
    size_t vlen;
    const char *v = foyer_request_header(r, "cookie", 6, &vlen);
    if (v == NULL) return NULL;
    size_t i = 0;
    while (i < vlen) {
        while (i < vlen && (v[i] == ' ' || v[i] == ';' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < vlen && v[i] != ';' && v[i] != ',')
            i++;
        const char *eq = memchr(v + s, '=', i - s);
        if (eq == NULL) continue;
        size_t klen = (size_t)(eq - (v + s));
        while (klen > 0 && v[s + klen - 1] == ' ')
            klen--;
        if (klen != len || memcmp(v + s, name, len) != 0) continue;
        const char *val = eq + 1;
        size_t n = (size_t)(v + i - val);
        while (n > 0 && val[n - 1] == ' ')
            n--;
        if (n >= 2 && val[0] == '"' && val[n - 1] == '"') {
            val++;
            n -= 2;
        }
        *out_len = n;
        return val;
    }
    return NULL;
}
