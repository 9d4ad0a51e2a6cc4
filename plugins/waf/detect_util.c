/*
 * plugins/waf/detect_util.c — shared byte-level helpers for the detectors
 * (see detect_util.h).
 */
#include "detect_util.h"

#include <string.h>

/* waf_lc() of every byte: 'A'..'Z' (0x41-0x5a) become 'a'..'z', the rest stay. */
const unsigned char waf_lc_tab[256] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
    0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
    0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x61, 0x62, 0x63, 0x64, 0x65,
    0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73,
    0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61,
    0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
    0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d,
    0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b,
    0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
    0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5,
    0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3,
    0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1,
    0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
    0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed,
    0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb,
    0xfc, 0xfd, 0xfe, 0xff,
};

const unsigned char waf_ctype[256] = {
    ['A' ... 'Z'] = WAF_C_ALPHA, ['a' ... 'z'] = WAF_C_ALPHA,
    ['0' ... '9'] = WAF_C_DIGIT, ['_'] = WAF_C_UNDER,
    [' '] = WAF_C_SPACE,         ['\t' ... '\r'] = WAF_C_SPACE,
};

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
