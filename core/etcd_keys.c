/* The etcd key layout (etcd_keys.h), shared by the master that follows etcd
 * and the config loader that merges the snapshot, so both agree. */
#include "etcd_keys.h"

#include <string.h>

static int is_name(const char *p, size_t len)
{
    if (len == 0 || len > 255) return 0;
    for (size_t i = 0; i < len; i++)
        if (p[i] == '/' || (unsigned char)p[i] < 0x21 || p[i] == 0x7f) return 0;
    return 1;
}

static int has(const char *p, size_t len, const char *word, size_t wlen)
{
    return len > wlen && memcmp(p, word, wlen) == 0;
}

enum foyer_etcd_key foyer_etcd_key_kind(const char *prefix, const char *key, size_t len,
                                        const char **name, size_t *name_len)
{
    size_t plen = strlen(prefix);
    if (len < plen || memcmp(key, prefix, plen) != 0) return FOYER_ETCD_OTHER;
    const char *rest = key + plen;
    size_t rlen = len - plen;
    enum foyer_etcd_key kind = FOYER_ETCD_OTHER;
    size_t skip = 0;
    if (has(rest, rlen, "services/", 9)) {
        kind = FOYER_ETCD_SERVICE;
        skip = 9;
    } else if (has(rest, rlen, "routes/", 7)) {
        kind = FOYER_ETCD_ROUTE;
        skip = 7;
    }
    if (kind == FOYER_ETCD_OTHER || !is_name(rest + skip, rlen - skip))
        return FOYER_ETCD_OTHER;
    *name = rest + skip;
    *name_len = rlen - skip;
    return kind;
}

static int all_digits(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] < '0' || p[i] > '9') return 0;
    return len > 0;
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0) return c;
    return alen < blen ? -1 : alen > blen;
}

/* Numbers by value ("2" before "12"; "007" is 7, then before "7" by its bytes,
 * so that the order is total and the same in every process). */
int foyer_etcd_route_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    if (!all_digits(a, alen) || !all_digits(b, blen)) return bytes_cmp(a, alen, b, blen);
    const char *x = a, *y = b;
    size_t xl = alen, yl = blen;
    while (xl > 1 && *x == '0')
        x++, xl--;
    while (yl > 1 && *y == '0')
        y++, yl--;
    if (xl != yl) return xl < yl ? -1 : 1;
    int c = memcmp(x, y, xl);
    return c != 0 ? c : bytes_cmp(a, alen, b, blen);
}
