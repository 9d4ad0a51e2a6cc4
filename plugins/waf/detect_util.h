/*
 * plugins/waf/detect_util.h — small byte-level helpers shared by the detectors.
 *
 * Everything here is a pure function of its arguments: no allocation, no global
 * mutable state, safe on any bytes (NUL included), and linear in the input. Case
 * folding is ASCII only (the engine hands detectors byte strings, not text), so a
 * non-ASCII byte never matches an ASCII letter.
 */
#ifndef FOYER_WAF_DETECT_UTIL_H
#define FOYER_WAF_DETECT_UTIL_H

#include "detect.h"

#include <stddef.h>

/* ASCII lower-case of one byte; other bytes are returned unchanged (a
 * table: one load where the test costs four). */
extern const unsigned char waf_lc_tab[256];

static inline unsigned char waf_lc(unsigned char c)
{
    return waf_lc_tab[c];
}

/* The OR of table[b] over the bytes of s: which of a detector's byte
 * classes a value holds, in one pass (two chains: a load and an OR a
 * byte). Inline: each detector has its own table. */
static inline unsigned waf_classes(const unsigned char table[256], const char *str,
                                   size_t n)
{
    const unsigned char *p = (const unsigned char *)str;
    unsigned m = 0, m1 = 0;
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        m |= table[p[i]];
        m1 |= table[p[i + 1]];
    }
    if (i < n) m |= table[p[i]];
    return m | m1;
}

/* Classes of every byte for the tests below (one load each): ASCII letters,
 * digits, '_', and the C locale's white space (' ' \t \n \v \f \r). */
enum { WAF_C_ALPHA = 1, WAF_C_DIGIT = 2, WAF_C_UNDER = 4, WAF_C_SPACE = 8 };
extern const unsigned char waf_ctype[256];

static inline int waf_is_alpha(unsigned char c)
{
    return waf_ctype[c] & WAF_C_ALPHA;
}

static inline int waf_is_digit(unsigned char c)
{
    return (unsigned char)(c - '0') < 10;
}

static inline int waf_is_alnum(unsigned char c)
{
    return waf_ctype[c] & (WAF_C_ALPHA | WAF_C_DIGIT);
}

/* A byte of an identifier/word: [A-Za-z0-9_]. */
static inline int waf_is_word(unsigned char c)
{
    return waf_ctype[c] & (WAF_C_ALPHA | WAF_C_DIGIT | WAF_C_UNDER);
}

static inline int waf_is_space(unsigned char c)
{
    return waf_ctype[c] & WAF_C_SPACE;
}

static inline int waf_is_xdigit(unsigned char c)
{
    return waf_is_digit(c) || (unsigned char)((c | 0x20) - 'a') < 6;
}

/* Value of a hex digit, or -1. */
static inline int waf_hexval(unsigned char c)
{
    if (waf_is_digit(c)) return c - '0';
    c = waf_lc(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* 1 when s[i..] starts with lit (lit lower-case ASCII), compared case-insensitively. */
int waf_starts_ci_slow(const char *s, size_t n, size_t i, const char *lit);

/* Does s[i..] start with lit (lower case), ignoring case? The first byte is
 * tested inline: detectors probe many positions and most fail there. */
static inline int waf_starts_ci(const char *s, size_t n, size_t i, const char *lit)
{
    if (lit[0] == '\0') return 1;
    if (i >= n || waf_lc((unsigned char)s[i]) != (unsigned char)lit[0]) return 0;
    return waf_starts_ci_slow(s, n, i + 1, lit + 1);
}

/* Offset of the first case-insensitive occurrence of lit (lower-case ASCII, non-empty)
 * in s[from..n), or (size_t)-1. Uses memchr on the first byte's two cases, so it is
 * fast on the usual miss. */
size_t waf_find_ci(const char *s, size_t n, size_t from, const char *lit);

/* 1 when lit occurs at i as a whole word: starts_ci and neither s[i-1] nor the byte
 * after the match is a word byte ([A-Za-z0-9_]). */
int waf_word_at_slow(const char *s, size_t n, size_t i, const char *lit);

/* lit as a whole word at i; the first byte is tested inline (see above). */
static inline int waf_word_at(const char *s, size_t n, size_t i, const char *lit)
{
    if (i >= n || waf_lc((unsigned char)s[i]) != (unsigned char)lit[0]) return 0;
    return waf_word_at_slow(s, n, i, lit);
}

/* Index of the first byte at or after i that is not white space (n if none). */
size_t waf_skip_space(const char *s, size_t n, size_t i);

/* Length of the run of word bytes starting at i. */
static inline size_t waf_word_len(const char *s, size_t n, size_t i)
{
    size_t j = i;
    while (j < n && waf_is_word((unsigned char)s[j]))
        j++;
    return j - i;
}

/* 1 when any byte of s is set in the 256-bit table set (bit c%8 of set[c/8]). Build
 * tables with WAF_BITSET_* below; used as the cheap first filter of a detector. */
int waf_has_any(const char *s, size_t n, const unsigned char set[32]);

/* 1 when word (lower-case, NUL-terminated) is one of the NULL-terminated list, compared
 * case-insensitively against s[0..len). */
int waf_in_list_ci(const char *s, size_t len, const char *const *list);

/* Binary search of s[0..len) (compared case-insensitively) in a table of nent
 * entries of size bytes each, sorted by their first member, a lower-case const char *
 * (strcmp order). Returns the entry or NULL. Lets a detector keep a keyword table
 * with per-keyword flags next to the names. */
const void *waf_lookup_ci(const char *s, size_t len, const void *table, size_t nent,
                          size_t size);

/* A cheap first test for waf_lookup_ci() on a fixed table: bit l of
 * mask[key(c0, c1)] is set when an entry whose first two bytes fold to that
 * key (lower case, 5 bits each; c1 is 0 for a one-byte entry) is l bytes long
 * (bit 31: 31 bytes or more). A word that fails it is not in the table, so
 * most words of prose skip the binary search. Filled once, by
 * waf_lenfilter_init() (from a constructor), then only read. */
struct waf_lenfilter {
    unsigned mask[1024];
};

void waf_lenfilter_init(struct waf_lenfilter *f, const void *table, size_t nent,
                        size_t size);

static inline unsigned waf_lenfilter_key(unsigned char c0, unsigned char c1)
{
    /* folding is free: a letter's two cases share their low five bits */
    return (unsigned)(c0 & 31) << 5 | (c1 & 31);
}

/* 0 when s[0..len) cannot be an entry of f's table. */
static inline int waf_lenfilter_maybe(const struct waf_lenfilter *f, const char *s,
                                      size_t len)
{
    if (len == 0) return 0;
    unsigned bit = len < 31 ? (unsigned)len : 31u;
    unsigned key =
        waf_lenfilter_key((unsigned char)s[0], len > 1 ? (unsigned char)s[1] : 0);
    return (f->mask[key] >> bit) & 1u;
}

/* Fill *hit and return 1: the detectors' common exit. */
int waf_hit_set(struct waf_hit *hit, unsigned rule, enum waf_class cls, int score,
                const char *reason, size_t at, size_t len);

#endif /* FOYER_WAF_DETECT_UTIL_H */
