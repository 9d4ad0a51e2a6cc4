/*
 * plugins/waf/rfi.c — remote file inclusion and server-side request forgery
 * (rules 931xxx, 934110/934120).
 *
 * A URL in an argument is ordinary (redirect=https://..., website fields), so a
 * plain URL never fires. What does is the shape of a URL built to be fetched by
 * the server: a host that is an IP literal (the metadata service, an internal
 * address, a numeric or hex-encoded address), a trailing '?' or NUL that cuts off
 * whatever the application appends, schemes that only an SSRF needs (gopher://,
 * dict://), and Windows UNC shares.
 *
 *   931100  URL whose host is an IP literal (v4, v6, integer, hex)
 *   931120  URL ending in '?' or a NUL byte (appended-suffix truncation)
 *   931130  UNC path \\host\share
 *   934110  gopher:// dict:// ldap:// jar:// netdoc:// tftp:// schemes
 *   934120  scheme followed by a numeric host without slashes (http:2130706433)
 */
#include "detect.h"
#include "detect_util.h"

#include <string.h>

static const char *const fetch_schemes[] = {"http", "https", "ftp", "ftps", "file", NULL};
static const char *const ssrf_schemes[] = {"gopher", "dict", "ldap", "jar",
                                           "netdoc", "tftp", NULL};

/* 1 when host[0..len) is an IP literal: dotted numbers (any base), a single
 * number, a hex number, or an IPv6 address. */
static int ip_host(const char *h, size_t len)
{
    if (len == 0) return 0;
    if (h[0] == '[') return 1;
    size_t colons = 0, dots = 0, digits = 0, other = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == ':')
            colons++;
        else if (c == '.')
            dots++;
        else if (waf_is_digit(c))
            digits++;
        else if (waf_is_xdigit(c) || (c | 0x20) == 'x')
            other++;
        else
            return 0;
    }
    if (colons >= 2) return 1; /* bare IPv6 */
    if (colons) return 0;
    if (other == 0) return digits > 0 && dots <= 3;        /* 1.2.3.4, 2130706433 */
    return len > 2 && h[0] == '0' && (h[1] | 0x20) == 'x'; /* 0x7f000001 */
}

/* Check a URL whose scheme ends at s[c] == ':'; b is the scheme start. */
static int check_url(const char *s, size_t n, size_t b, size_t c, int at_start,
                     struct waf_hit *hit)
{
    size_t sl = c - b;
    size_t j = c + 1;
    size_t slashes = 0;
    while (j < n && (s[j] == '/' || s[j] == '\\') && slashes < 3)
        j++, slashes++;
    if (waf_in_list_ci(s + b, sl, ssrf_schemes) && slashes == 2)
        return waf_hit_set(hit, 934110, WAF_RFI, 5, "SSRF URL scheme", b, j - b);
    if (!waf_in_list_ci(s + b, sl, fetch_schemes)) return 0;
    if (slashes == 0) {
        size_t d = j;
        while (d < n && waf_is_digit((unsigned char)s[d]))
            d++;
        if (d > j + 3 && (d == n || s[d] == '/' || s[d] == ':'))
            return waf_hit_set(hit, 934120, WAF_RFI, 5, "URL with a numeric host", b,
                               d - b);
        return 0;
    }
    /* authority: skip userinfo, take the host */
    size_t a = j, e = j;
    while (e < n && s[e] != '/' && s[e] != '?' && s[e] != '#' && s[e] != '\\' &&
           !waf_is_space((unsigned char)s[e]))
        e++;
    for (size_t k = a; k < e; k++)
        if (s[k] == '@') a = k + 1;
    size_t he = e;
    if (a < e && s[a] == '[') {
        const char *rb = memchr(s + a, ']', e - a);
        he = rb ? (size_t)(rb - s) + 1 : e;
    } else {
        /* a port follows the last ':' unless the host is a bare IPv6 address */
        size_t colons = 0, last = e;
        for (size_t k = a; k < e; k++)
            if (s[k] == ':') colons++, last = k;
        if (colons == 1) he = last;
    }
    if (ip_host(s + a, he - a))
        return waf_hit_set(hit, 931100, WAF_RFI, 5, "URL with an IP address host", b,
                           he - b);
    /* the URL's own end: first blank or quote */
    size_t u = e;
    while (u < n && !waf_is_space((unsigned char)s[u]) && s[u] != '"' && s[u] != '\'') {
        if (s[u] == '\0')
            return waf_hit_set(hit, 931120, WAF_RFI, 5, "URL truncated with NUL", b,
                               u - b);
        u++;
    }
    if (at_start && u > b && s[u - 1] == '?' && waf_skip_space(s, n, u) == n)
        return waf_hit_set(hit, 931120, WAF_RFI, 5, "URL ending in '?'", b, u - b);
    return 0;
}

int waf_detect_rfi(const char *s, size_t n, enum waf_place place, struct waf_hit *hit)
{
    if (!s || n < 4 || place == WAF_PLACE_PATH) return 0;
    size_t first = waf_skip_space(s, n, 0);
    while (first < n && (s[first] == '"' || s[first] == '\''))
        first++;
    /* \\host\share */
    if (first + 3 < n && s[first] == '\\' && s[first + 1] == '\\' &&
        waf_is_alnum((unsigned char)s[first + 2]))
        return waf_hit_set(hit, 931130, WAF_RFI, 5, "UNC path", first, 2);
    /* "ftp?", "https://x?": a scheme word and a trailing '?' (931120) */
    size_t wl = 0;
    while (first + wl < n && waf_is_alpha((unsigned char)s[first + wl]))
        wl++;
    if (wl && waf_in_list_ci(s + first, wl, fetch_schemes) && first + wl < n &&
        s[first + wl] == '?' && waf_skip_space(s, n, first + wl + 1) == n)
        return waf_hit_set(hit, 931120, WAF_RFI, 5, "URL ending in '?'", first, wl + 1);
    const char *p = s;
    while ((p = memchr(p, ':', n - (size_t)(p - s))) != NULL) {
        size_t c = (size_t)(p - s);
        size_t b = c;
        while (b > 0 && c - b < 8 && waf_is_alpha((unsigned char)s[b - 1]))
            b--;
        if (b < c && (b == 0 || !waf_is_alnum((unsigned char)s[b - 1])) &&
            check_url(s, n, b, c, b == first, hit))
            return 1;
        p++;
    }
    return 0;
}
