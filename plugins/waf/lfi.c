/*
 * plugins/waf/lfi.c — path traversal and local file inclusion (rules 930xxx).
 *
 * The engine hands us values already URL-decoded once, but traversal payloads are
 * built to survive decoders: double encoding (%252f), IIS %u escapes (%u2215),
 * overlong UTF-8 (%c0%af, raw C0 AF, E0 80 AE ...), C-style 0x2f, and garbage
 * escapes some servers map to a separator (%c1%pc). So this detector first folds a
 * value into a canonical "path alphabet": every encoding of a dot becomes '.', every
 * encoding of a separator (/ \ and their look-alikes) becomes '/', NUL (raw or %00)
 * stays '\0', ASCII is lower-cased, other non-ASCII becomes 0x80. The rules then
 * look at that canonical form only:
 *
 *   930100  traversal: a dot-dot segment next to a separator ("../", "/..",
 *           "/.../", "....//"), a long dot run before a file name, "/./" chains
 *   930105  NUL truncation after a file-like name
 *   930110  file:// wrapper
 *   930120  well-known OS/server files and directories (etc/passwd, boot.ini,
 *           web-inf/, .htaccess ...), absolute paths into OS directories,
 *           drive-letter paths
 *   930130  in the request path: hidden (dot) segments and backup/config/log
 *           extensions
 *
 * Long values are canonicalised window by window (WIN bytes of output at a time,
 * windows overlapping by OVERLAP input bytes), so no allocation is needed.
 */
#include "detect.h"
#include "detect_util.h"

#include <stdint.h>
#include <string.h>

#define WIN 1024
#define OVERLAP 64
#define GARBAGE (-2)

/* A canonical window: the folded bytes and, for each, its input offset. */
struct canon {
    unsigned char c[WIN];
    uint32_t at[WIN];
    size_t m;
    unsigned char has; /* C_xxx: which of the bytes the rules need c holds */
};

/* Canonical bytes that rules need: traversal and restricted names a dot,
 * the file:// wrapper and drive letters a colon, truncation a NUL. */
enum { C_DOT = 1, C_COLON = 2, C_NUL = 4 };
static const unsigned char canon_class[256] = {
    ['.'] = C_DOT, [':'] = C_COLON, [0] = C_NUL};

/* Decode one "unit" at s[i]: a %XX / %25..XX / %uXXXX escape, a 0xNN literal for
 * the path bytes, or a raw byte. Returns the value (a byte or a code point), or
 * GARBAGE for an escape-looking token with non-hex digits ("%pc"). *adv is the
 * number of input bytes consumed (>= 1). */
static long decode_unit(const char *s, size_t n, size_t i, size_t *adv)
{
    const unsigned char *p = (const unsigned char *)s;
    *adv = 1;
    if (p[i] == '%' && i + 1 < n) {
        size_t k = i + 1;
        /* %25 is '%': peel double (triple ...) encoding. */
        while (k + 3 < n && p[k] == '2' && p[k + 1] == '5' &&
               (waf_is_xdigit(p[k + 2]) || (p[k + 2] | 0x20) == 'u'))
            k += 2;
        if (k + 4 < n && (p[k] | 0x20) == 'u' && waf_is_xdigit(p[k + 1]) &&
            waf_is_xdigit(p[k + 2]) && waf_is_xdigit(p[k + 3]) &&
            waf_is_xdigit(p[k + 4])) {
            *adv = k + 5 - i;
            return (long)waf_hexval(p[k + 1]) << 12 | waf_hexval(p[k + 2]) << 8 |
                   waf_hexval(p[k + 3]) << 4 | waf_hexval(p[k + 4]);
        }
        if (k + 1 < n && waf_is_xdigit(p[k]) && waf_is_xdigit(p[k + 1])) {
            *adv = k + 2 - i;
            return waf_hexval(p[k]) << 4 | waf_hexval(p[k + 1]);
        }
        if (k + 1 < n && waf_is_alnum(p[k]) && waf_is_alnum(p[k + 1])) {
            *adv = k + 2 - i;
            return GARBAGE;
        }
        if (p[i + 1] == '%' && i + 3 < n && waf_is_alnum(p[i + 2]) &&
            waf_is_alnum(p[i + 3])) {
            *adv = 4; /* "%%35": a nested-encoding kit's escape */
            return GARBAGE;
        }
        return '%';
    }
    if (p[i] == '0' && i + 3 < n && (p[i + 1] | 0x20) == 'x') {
        /* C-style byte literals used by traversal generators: 0x2e 0x2f 0x5c. */
        int hi = waf_hexval(p[i + 2]), lo = waf_hexval(p[i + 3]);
        int v = hi >= 0 && lo >= 0 ? hi << 4 | lo : -1; /* -1 << 4 is undefined */
        if (v == 0x2e || v == 0x2f || v == 0x5c) {
            *adv = 4;
            return v;
        }
    }
    return p[i];
}

/* Number of continuation bytes a (possibly overlong) UTF-8 lead byte announces. */
static int lead_len(long v)
{
    if (v >= 0xC0 && v <= 0xDF) return 1;
    if (v >= 0xE0 && v <= 0xEF) return 2;
    if (v >= 0xF0 && v <= 0xF7) return 3;
    if (v >= 0xF8 && v <= 0xFB) return 4;
    if (v >= 0xFC && v <= 0xFD) return 5;
    return 0;
}

/* Map a code point (or GARBAGE) to the canonical path alphabet. */
static unsigned char fold_cp(long cp)
{
    switch (cp) {
    case '.':
    case 0xFF0E: /* fullwidth full stop */
    case 0x2024: /* one dot leader */
        return '.';
    case '/':
    case '\\':
    case GARBAGE: /* servers that accept "%c1%pc" map it to a separator */
    case 0x2215:  /* division slash */
    case 0x2216:  /* set minus */
    case 0x2044:  /* fraction slash */
    case 0xFF0F:  /* fullwidth solidus */
    case 0xFF3C:  /* fullwidth reverse solidus */
    case 0xEFC8:  /* IIS best-fit mappings seen in traversal kits */
    case 0xF025:
        return '/';
    default:
        break;
    }
    if (cp < 0x80) return waf_lc((unsigned char)cp);
    return 0x80;
}

/* Decode one canonical character at s[i] (overlong UTF-8 assembled, IIS style:
 * only the low 6 bits of each continuation count). */
static unsigned char canon_char(const char *s, size_t n, size_t i, size_t *adv)
{
    size_t a;
    long v = decode_unit(s, n, i, &a);
    int k = lead_len(v);
    if (k == 0) {
        *adv = a;
        return fold_cp(v);
    }
    long cp = v & (0x3F >> k);
    size_t j = i + a;
    for (int t = 0; t < k; t++) {
        if (j >= n) {
            *adv = a;
            return 0x80;
        }
        size_t b;
        long c = decode_unit(s, n, j, &b);
        if (c == GARBAGE) {
            *adv = j + b - i;
            return '/';
        }
        if (k == 1 && c >= 0x20 && c < 0x80) {
            /* C0/C1 (never valid) before a printable byte: dropped by lax decoders. */
            if (v <= 0xC1) {
                *adv = j + b - i;
                return fold_cp(c);
            }
            *adv = a;
            return 0x80;
        }
        if (c > 0xFF || (c >= 0x20 && c < 0x80 && v > 0xC1)) {
            *adv = a; /* not a continuation: keep the lead alone */
            return 0x80;
        }
        cp = cp << 6 | (c & 0x3F);
        j += b;
    }
    *adv = j - i;
    return fold_cp(cp);
}

/* Fold s[from..) into w; returns the input offset where folding stopped. */
static size_t canon_window(const char *s, size_t n, size_t from, struct canon *w)
{
    size_t i = from;
    unsigned char has = 0;
    w->m = 0;
    while (i < n && w->m < WIN) {
        size_t adv = 1;
        unsigned char c = (unsigned char)s[i];
        /* Only '%', "0x", '\\' and non-ASCII bytes need decoding. */
        if (c == '%' || c == '0' || c == '\\' || c >= 0x80)
            c = canon_char(s, n, i, &adv);
        else
            c = waf_lc(c);
        w->c[w->m] = c;
        w->at[w->m] = (uint32_t)(i - from);
        w->m++;
        has |= canon_class[c];
        i += adv;
    }
    w->has = has;
    return i;
}

static int is_sep(const struct canon *w, size_t i)
{
    return i < w->m && w->c[i] == '/';
}

static int cstarts(const struct canon *w, size_t i, const char *lit)
{
    for (; *lit; lit++, i++)
        if (i >= w->m || w->c[i] != (unsigned char)*lit) return 0;
    return 1;
}

/* A dot run at i (i is its first dot); 1 when it is a traversal step. */
static int dots_traverse(const struct canon *w, size_t i, size_t *len)
{
    size_t j = i;
    while (j < w->m && w->c[j] == '.')
        j++;
    size_t d = j - i;
    *len = d;
    if (d < 2) return 0;
    int left_sep = i == 0 || w->c[i - 1] == '/';
    int left_word = i > 0 && (waf_is_alnum(w->c[i - 1]) || w->c[i - 1] == 0x80);
    int right_sep = is_sep(w, j);
    int right_end = j == w->m || w->c[j] == '\0' || w->c[j] == ';';
    if (d == 2 && right_sep && !left_word) return 1; /* "../" */
    if (d == 2 && left_sep && right_end) return 1;   /* "/.." at the end */
    if (d == 2 && left_sep && right_sep) return 1;   /* "x/../" after a word */
    if (d >= 3 && left_sep && right_sep) return 1;   /* "/.../" */
    if (d >= 3 && i == 0 && right_sep) return 1;     /* "....//" */
    if (d >= 4 && left_sep && j < w->m && waf_is_alnum(w->c[j])) return 1;
    return 0;
}

/* "/./" chained three times or more: pointless path padding used to evade
 * length-based filters and anchored rules. */
static int dot_slash_chain(const struct canon *w, size_t i)
{
    int k = 0;
    while (i + 1 < w->m && w->c[i] == '.' && w->c[i + 1] == '/') {
        k++;
        i += 2;
    }
    return k >= 3;
}

/* Sensitive OS / server files and directories, in canonical form, bucketed by
 * first byte so that a position costs one switch. Matching is a substring search,
 * so "/ietc/hosts" or "..etcpasswd"-style mangling still shows the file name; the
 * lists are of well-known targets, not of payloads. */
static const char *const after_etc[] = {
    "/passwd",  "/shadow",    "/group", "/hosts",  "/issue",       "/hostname",
    "/sudoers", "/crontab",   "/fstab", "/motd",   "/resolv.conf", "/subuid",
    "/subgid",  "/security/", "/httpd", "/apache", "/nginx/",      "/mysql/",
    "/ssh/",    "/logrotate", "/pure",  "/vsftpd", "/proftpd",     "/profile",
    "passwd",   "shadow",     NULL};
static const char *const s_p[] = {"proc/self/", "proc/version", "proc/cmdline",
                                  "proc/net/",  "php.ini",      NULL};
static const char *const s_v[] = {"var/log/",   "var/adm/",        "var/mail/",
                                  "var/spool/", "var/run/secrets", NULL};
static const char *const s_dot[] = {".ssh/",     ".bash_history", ".bashrc", ".htaccess",
                                    ".htpasswd", ".git/",         ".svn/",   NULL};
static const char *const s_i[] = {"id_rsa",     "id_dsa",   "id_ecdsa",
                                  "id_ed25519", "inetpub/", NULL};
static const char *const s_w[] = {
    "web-inf/",       "wp-config.", "win.ini", "windows/system32",
    "windows/repair", "winnt/",     "wamp/",   NULL};
static const char *const s_m[] = {"meta-inf/", "my.cnf", NULL};
static const char *const s_s[] = {"system.ini", "system32/", NULL};
static const char *const s_other[] = {"global.asa", "boot.ini",   "repair/sam",
                                      "xampp/",     "httpd.conf", "aws/credentials",
                                      NULL};

static const char *const *bucket(unsigned char c)
{
    switch (c) {
    case 'p':
        return s_p;
    case 'v':
        return s_v;
    case '.':
        return s_dot;
    case 'i':
        return s_i;
    case 'w':
        return s_w;
    case 'm':
        return s_m;
    case 's':
        return s_s;
    case 'g':
    case 'b':
    case 'r':
    case 'x':
    case 'h':
    case 'a':
        return s_other;
    default:
        return NULL;
    }
}

static int find_sensitive(const struct canon *w, size_t *at, size_t *len)
{
    for (size_t i = 0; i < w->m; i++) {
        unsigned char c = w->c[i];
        if (c == 'e' && cstarts(w, i, "etc")) {
            for (const char *const *e = after_etc; *e; e++)
                if (cstarts(w, i + 3, *e)) {
                    *at = i;
                    *len = 3 + strlen(*e);
                    return 1;
                }
            continue;
        }
        if (c == '/' && cstarts(w, i, "/.env") &&
            (i + 5 == w->m || !waf_is_alnum(w->c[i + 5]))) {
            /* "/.env" must end the segment (".envelope" is a word). */
            *at = i;
            *len = 5;
            return 1;
        }
        const char *const *b = bucket(c);
        if (!b) continue;
        for (; *b; b++)
            if ((unsigned char)(*b)[0] == c && cstarts(w, i, *b)) {
                *at = i;
                *len = strlen(*b);
                return 1;
            }
    }
    return 0;
}

/* First segments of absolute paths that only ever name OS internals. */
static const char *const os_dirs[] = {
    "etc/",         "proc/",    "sys/",       "dev/",       "root/",
    "bin/",         "sbin/",    "boot/",      "usr/local/", "usr/bin/",
    "usr/sbin/",    "usr/lib/", "usr/share/", "var/www/",   "var/lib/",
    "var/backups/", "var/tmp/", "var/cache/", NULL};

/* An absolute path into an OS directory, at the start of the value (after
 * quotes/space) or right after a "file:" scheme. */
static int os_abs_path(const struct canon *w, size_t *at)
{
    size_t i = 0;
    while (i < w->m && (w->c[i] == ' ' || w->c[i] == '"' || w->c[i] == '\''))
        i++;
    if (!is_sep(w, i)) return 0;
    while (is_sep(w, i))
        i++;
    if (i >= w->m) return 0;
    for (const char *const *d = os_dirs; *d; d++) /* first byte before the call */
        if ((unsigned char)(*d)[0] == w->c[i] && cstarts(w, i, *d) &&
            i + strlen(*d) < w->m) {
            *at = i;
            return 1;
        }
    return 0;
}

/* "c:/windows", "d:/inetpub/..": a drive letter path at the start of the value or
 * after a space, quote or '='. */
static int drive_path(const struct canon *w, size_t *at)
{
    for (size_t i = 0; i + 3 < w->m; i++) {
        if (w->c[i + 1] != ':' || w->c[i + 2] != '/' || !waf_is_alpha(w->c[i])) continue;
        if (i > 0 && !(w->c[i - 1] == ' ' || w->c[i - 1] == '"' || w->c[i - 1] == '\'' ||
                       w->c[i - 1] == '=' || w->c[i - 1] == '/'))
            continue;
        size_t j = i + 3;
        while (j < w->m && w->c[j] == '/')
            j++;
        if (j < w->m && (waf_is_alpha(w->c[j]) || w->c[j] == '.')) {
            *at = i;
            return 1;
        }
    }
    return 0;
}

/* NUL followed the name of a file ("x.ini\0.html"): truncation of an appended
 * extension. */
static int nul_truncation(const struct canon *w, size_t *at)
{
    int seen_path = 0;
    for (size_t i = 0; i < w->m; i++) {
        unsigned char c = w->c[i];
        if (c == '.' || c == '/') seen_path = 1;
        if (c == '\0' && seen_path && i > 0 && waf_is_alnum(w->c[i - 1])) {
            *at = i;
            return 1;
        }
    }
    return 0;
}

/* Extensions of files a web server must never hand out (backups, logs, config). */
static const char *const restricted_ext[] = {
    "bak", "backup", "old", "orig",     "swp",      "sql", "log",
    "ini", "conf",   "cfg", "config",   "env",      "mdb", "sqlite",
    "db",  "key",    "pem", "htpasswd", "htaccess", NULL};

/* PATH only: a hidden segment ("/.git", "/.env", "/.n8n") other than the
 * registered /.well-known/, or a last segment with a restricted extension. */
static int path_restricted(const struct canon *w, size_t *at, size_t *len)
{
    for (size_t i = 0; i + 2 < w->m; i++) {
        if (w->c[i] != '/' || w->c[i + 1] != '.' || !waf_is_alnum(w->c[i + 2])) continue;
        if (cstarts(w, i + 2, "well-known")) continue;
        *at = i;
        *len = 2;
        return 1;
    }
    size_t last = 0;
    for (size_t i = 0; i < w->m; i++)
        if (w->c[i] == '/') last = i + 1;
    size_t dot = (size_t)-1;
    for (size_t i = last; i < w->m; i++)
        if (w->c[i] == '.') dot = i;
    if (dot == (size_t)-1 || dot == last) return 0;
    size_t el = w->m - dot - 1;
    for (const char *const *e = restricted_ext; *e; e++)
        if (strlen(*e) == el && cstarts(w, dot + 1, *e)) {
            *at = dot;
            *len = el + 1;
            return 1;
        }
    return 0;
}

/* Quick exclusion: a value whose bytes are all [A-Za-z0-9 _,@+-] cannot hold any
 * of the patterns above (they all need one of . / \ % : NUL or non-ASCII). */
static const unsigned char lfi_trigger[32] = {
    /* NUL, '%', '.', '/', ':', '\\', and every byte >= 0x80 */
    [0] = 0x01,  [4] = 0x20,  [5] = 0xC0,  [7] = 0x04,  [11] = 0x10, [16] = 0xFF,
    [17] = 0xFF, [18] = 0xFF, [19] = 0xFF, [20] = 0xFF, [21] = 0xFF, [22] = 0xFF,
    [23] = 0xFF, [24] = 0xFF, [25] = 0xFF, [26] = 0xFF, [27] = 0xFF, [28] = 0xFF,
    [29] = 0xFF, [30] = 0xFF, [31] = 0xFF};

static int check_window(const struct canon *w, size_t base, enum waf_place place,
                        int first, int whole, struct waf_hit *hit)
{
    size_t at, len;
    for (size_t i = 0; (w->has & C_DOT) && i < w->m; i++) {
        if (w->c[i] == '.' && (i == 0 || w->c[i - 1] != '.') && dots_traverse(w, i, &len))
            return waf_hit_set(hit, 930100, WAF_LFI, 5, "path traversal", base + w->at[i],
                               len);
        if (w->c[i] == '/' && dot_slash_chain(w, i + 1))
            return waf_hit_set(hit, 930100, WAF_LFI, 5, "path traversal (/./ chain)",
                               base + w->at[i], 1);
    }
    if ((w->has & C_NUL) && nul_truncation(w, &at))
        return waf_hit_set(hit, 930105, WAF_LFI, 5, "NUL byte truncating a file name",
                           base + w->at[at], 1);
    for (size_t i = 0; (w->has & C_COLON) && i + 5 < w->m; i++)
        if (w->c[i] == 'f' && cstarts(w, i, "file:/"))
            return waf_hit_set(hit, 930110, WAF_LFI, 5, "file:// wrapper",
                               base + w->at[i], 6);
    if (find_sensitive(w, &at, &len))
        return waf_hit_set(hit, 930120, WAF_LFI, 5, "access to a sensitive OS file",
                           base + w->at[at], len);
    if (place != WAF_PLACE_PATH && first && os_abs_path(w, &at))
        return waf_hit_set(hit, 930120, WAF_LFI, 5, "absolute path into an OS directory",
                           base + w->at[at], 1);
    if (place != WAF_PLACE_PATH && place != WAF_PLACE_HEADER && (w->has & C_COLON) &&
        drive_path(w, &at))
        return waf_hit_set(hit, 930120, WAF_LFI, 5, "drive-letter file path",
                           base + w->at[at], 3);
    if (place == WAF_PLACE_PATH && whole && (w->has & C_DOT) &&
        path_restricted(w, &at, &len))
        return waf_hit_set(hit, 930130, WAF_LFI, 5, "restricted file in the path",
                           base + w->at[at], len);
    return 0;
}

int waf_detect_lfi(const char *s, size_t n, enum waf_place place, struct waf_hit *hit)
{
    if (!s || n < 2 || !waf_has_any(s, n, lfi_trigger)) return 0;
    struct canon w;
    size_t from = 0;
    int first = 1;
    for (;;) {
        size_t end = canon_window(s, n, from, &w);
        /* Restricted-file checks look at the whole path: only when it fit. */
        if (check_window(&w, from, place, first, first && end >= n, hit)) return 1;
        if (end >= n || end <= from + OVERLAP) break;
        from = end - OVERLAP;
        first = 0;
    }
    return 0;
}
