/*
 * plugins/waf/detect_util.c — shared byte-level helpers for the detectors
 * (see detect_util.h).
 */
#include "detect_util.h"

#include <string.h>

int waf_starts_ci_slow(const char *s, size_t n, size_t i, const char *lit)
{
    for (; *lit; lit++, i++)
        if (i >= n || waf_lc((unsigned char)s[i]) != (unsigned char)*lit) return 0;
    return 1;
}

size_t waf_find_ci(const char *s, size_t n, size_t from, const char *lit)
{
    size_t m = strlen(lit);
    if (m == 0 || from >= n || n - from < m) return (size_t)-1;
    unsigned char lo = (unsigned char)lit[0];
    unsigned char up = (lo >= 'a' && lo <= 'z') ? (unsigned char)(lo - 32) : lo;
    size_t last = n - m; /* last possible start */
    size_t i = from;
    while (i <= last) {
        /* Jump to the next candidate first byte, in either case. */
        const char *a = memchr(s + i, lo, last - i + 1);
        const char *b = up != lo ? memchr(s + i, up, last - i + 1) : NULL;
        const char *p = a && b ? (a < b ? a : b) : (a ? a : b);
        if (!p) break;
        i = (size_t)(p - s);
        if (waf_starts_ci(s, n, i + 1, lit + 1)) return i;
        i++;
    }
    return (size_t)-1;
}

int waf_word_at_slow(const char *s, size_t n, size_t i, const char *lit)
{
    if (i > 0 && waf_is_word((unsigned char)s[i - 1])) return 0;
    if (!waf_starts_ci(s, n, i, lit)) return 0;
    size_t e = i + strlen(lit);
    return e >= n || !waf_is_word((unsigned char)s[e]);
}

size_t waf_skip_space(const char *s, size_t n, size_t i)
{
    while (i < n && waf_is_space((unsigned char)s[i]))
        i++;
    return i;
}

int waf_has_any(const char *s, size_t n, const unsigned char set[32])
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++)
        if (set[p[i] >> 3] & (1u << (p[i] & 7))) return 1;
    return 0;
}

int waf_in_list_ci(const char *s, size_t len, const char *const *list)
{
    for (; *list; list++) {
        const char *w = *list;
        size_t i = 0;
        while (i < len && w[i] && waf_lc((unsigned char)s[i]) == (unsigned char)w[i])
            i++;
        if (i == len && w[i] == '\0') return 1;
    }
    return 0;
}

/* Compare s[0..len) folded to lower case with the NUL-terminated key. */
static int cmp_ci(const char *s, size_t len, const char *key)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char a = waf_lc((unsigned char)s[i]), b = (unsigned char)key[i];
        if (b == '\0') return 1;
        if (a != b) return a < b ? -1 : 1;
    }
    return key[len] == '\0' ? 0 : -1;
}

const void *waf_lookup_ci(const char *s, size_t len, const void *table, size_t nent,
                          size_t size)
{
    if (len == 0) return NULL;
    size_t lo = 0, hi = nent;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *const *e = (const char *const *)((const char *)table + mid * size);
        /* most probes differ in the first byte: decide those without a call */
        unsigned char a = waf_lc((unsigned char)s[0]), b = (unsigned char)(*e)[0];
        int c = a != b ? (a < b ? -1 : 1) : cmp_ci(s, len, *e);
        if (c == 0) return e;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

void waf_lenfilter_init(struct waf_lenfilter *f, const void *table, size_t nent,
                        size_t size)
{
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < nent; i++) {
        const char *k = *(const char *const *)((const char *)table + i * size);
        size_t l = strlen(k);
        if (l == 0) continue;
        unsigned key =
            waf_lenfilter_key((unsigned char)k[0], l > 1 ? (unsigned char)k[1] : 0);
        f->mask[key] |= 1u << (l < 31 ? l : 31);
    }
}

int waf_hit_set(struct waf_hit *hit, unsigned rule, enum waf_class cls, int score,
                const char *reason, size_t at, size_t len)
{
    if (hit) {
        hit->rule = rule;
        hit->cls = cls;
        hit->score = score;
        hit->reason = reason;
        hit->at = at;
        hit->len = len;
    }
    return 1;
}
