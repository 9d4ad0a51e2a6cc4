/*
 * plugins/waf/request_parts.c — see request_parts.h.
 *
 * Each splitter decodes a variable into buf (never more bytes than the raw
 * piece it came from) and calls the sink; buf is reused for the next one.
 */
#include "request_parts.h"

#include <stdint.h>
#include <string.h>

#include "normalize.h"

/* Rule numbers of the structural anomalies found while splitting. */
enum {
    RULE_ARRAY_NAME = 921210,       /* bogus characters around a[b] parameter names */
    RULE_MP_NO_BOUNDARY = 920111,   /* multipart body that does not start with it */
    RULE_MP_FILENAME = 920121,      /* backslash or quote in a multipart file name */
    RULE_MP_CHARSET = 922110,       /* a part with a charset outside the allowed set */
    RULE_MP_CHARSET_FIELD = 922100, /* _charset_ field outside the allowed set */
    RULE_MP_BAD_HEADER = 922130,    /* a part header that is not a header */
    RULE_JSON_INVALID = 920112,     /* a JSON body that does not parse */
    RULE_BODY_NO_CT = 920340        /* a body without a Content-Type */
};

#define JSON_MAX_DEPTH 32
#define NAME_MAX_LEN 128

static int span_iprefix(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n >= l && waf_span_ieq(s, l, lit);
}

static void anomaly(const struct waf_parts_sink *k, unsigned rule, int score,
                    const char *reason, const char *at, size_t len)
{
    if (k->anomaly) k->anomaly(k->ctx, rule, WAF_PROTOCOL, score, reason, at, len);
}

static int emit(const struct waf_parts_sink *k, enum waf_var_kind kind,
                enum waf_place place, const char *name, size_t nl, const char *val,
                size_t vl, unsigned flags)
{
    struct waf_var v = {kind, place, name, nl, val, vl, flags, 0};
    return k->var ? k->var(k->ctx, &v) : 0;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_ows(**s))
        (*s)++, (*n)--;
    while (*n && is_ows((*s)[*n - 1]))
        (*n)--;
}

/* ---- Content-Type ------------------------------------------------------- */

size_t waf_media_type(const char *ct, size_t n, const char **type)
{
    const char *semi = memchr(ct, ';', n);
    size_t l = semi ? (size_t)(semi - ct) : n;
    const char *t = ct;
    trim(&t, &l);
    *type = t;
    return l;
}

size_t waf_ct_param(const char *ct, size_t n, const char *param, const char **val)
{
    size_t pl = strlen(param);
    const char *p = memchr(ct, ';', n);
    while (p) {
        p++;
        size_t rest = n - (size_t)(p - ct);
        while (rest && is_ows(*p))
            p++, rest--;
        const char *next = memchr(p, ';', rest);
        size_t seg = next ? (size_t)(next - p) : rest;
        if (seg > pl && p[pl] == '=' && waf_span_ieq(p, pl, param)) {
            const char *v = p + pl + 1;
            size_t vl = seg - pl - 1;
            trim(&v, &vl);
            if (vl >= 1 && v[0] == '"') {
                /* a quoted value may hold ';': look for the quote past the segment */
                const char *q = memchr(v + 1, '"', (size_t)(ct + n - v - 1));
                if (q) {
                    *val = v + 1;
                    return (size_t)(q - v - 1);
                }
            }
            *val = v;
            return vl;
        }
        p = next;
    }
    *val = NULL;
    return 0;
}

/* Charsets a form may declare; others (utf-7, utf-16/32, EBCDIC ...) are the
 * ones used to smuggle payloads past byte-oriented inspection. */
static int charset_allowed(const char *s, size_t n)
{
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') s++, n -= 2;
    if (waf_span_ieq(s, n, "utf-8") || waf_span_ieq(s, n, "utf8") ||
        waf_span_ieq(s, n, "us-ascii") || waf_span_ieq(s, n, "ascii"))
        return 1;
    if (span_iprefix(s, n, "iso-8859-") || span_iprefix(s, n, "windows-125") ||
        span_iprefix(s, n, "latin"))
        return 1;
    return 0;
}

int waf_charset_allowed(const char *s, size_t n); /* shared with misc.c */
int waf_charset_allowed(const char *s, size_t n)
{
    return charset_allowed(s, n);
}

/* ---- urlencoded --------------------------------------------------------- */

/* PHP-style array names: base, then only [..] groups ("a[b][]"). Anything
 * after a ']' that is not '[' (a[1]x) or a stray bracket is an evasion of
 * parameter parsing. */
static int array_name_ok(const char *s, size_t n)
{
    const char *lb = memchr(s, '[', n);
    if (lb == NULL) return memchr(s, ']', n) == NULL;
    size_t i = (size_t)(lb - s);
    if (memchr(s, ']', i)) return 0;
    while (i < n) {
        if (s[i] != '[') return 0;
        const char *rb = memchr(s + i, ']', n - i);
        if (rb == NULL) return 0;
        if (memchr(s + i + 1, '[', (size_t)(rb - s - i - 1))) return 0;
        i = (size_t)(rb - s) + 1;
    }
    return 1;
}

static int hexv(char c);

/* Raw-form flags of a piece: invalid escapes, escapes of plain letters/digits. */
static unsigned pct_flags(const char *s, size_t n)
{
    unsigned f = 0;
    const char *p = memchr(s, '%', n);
    while (p) {
        size_t i = (size_t)(p - s);
        int h1 = i + 1 < n ? hexv(s[i + 1]) : -1;
        int h2 = i + 2 < n ? hexv(s[i + 2]) : -1;
        if (h1 >= 0 && h2 >= 0) {
            int v = h1 * 16 + h2;
            if ((v >= '0' && v <= '9') || (v >= 'a' && v <= 'z') ||
                (v >= 'A' && v <= 'Z'))
                f |= WAF_VF_ENC_ALNUM;
        } else if (!(i + 5 < n && (s[i + 1] == 'u' || s[i + 1] == 'U'))) {
            f |= WAF_VF_BAD_PCT;
            /* one hex digit then something else, or "%%": no client writes these */
            if ((h1 >= 0 && i + 2 < n) || (i + 1 < n && s[i + 1] == '%'))
                f |= WAF_VF_HALF_PCT;
        }
        p = i + 1 < n ? memchr(s + i + 1, '%', n - i - 1) : NULL;
    }
    return f;
}

int waf_split_urlencoded(const char *s, size_t n, unsigned flags, char *buf, size_t cap,
                         const struct waf_parts_sink *sink)
{
    size_t i = 0;
    while (i < n) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t end = amp ? (size_t)(amp - s) : n;
        const char *pair = s + i;
        size_t pl = end - i;
        i = end + 1;
        if (pl == 0) continue;
        if (pl + 1 > cap) return 0; /* cannot happen with a sized buffer */
        const char *eq = memchr(pair, '=', pl);
        size_t rnl = eq ? (size_t)(eq - pair) : pl;
        const char *rv = eq ? eq + 1 : pair + pl;
        size_t rvl = eq ? pl - rnl - 1 : 0;
        unsigned nfl = flags | pct_flags(pair, rnl), vfl = flags | pct_flags(rv, rvl);
        const char *name = pair, *val = rv;
        size_t nl = rnl, vl = rvl;
        if (memchr(pair, '%', pl) || memchr(pair, '+', pl)) { /* else: no copy */
            nl = waf_url_decode(pair, rnl, buf, WAF_URL_PLUS | WAF_URL_PERCENT_U, NULL,
                                NULL);
            vl = waf_url_decode(rv, rvl, buf + nl, WAF_URL_PLUS | WAF_URL_PERCENT_U, NULL,
                                NULL);
            name = buf;
            val = buf + nl;
        }
        if (!array_name_ok(name, nl))
            anomaly(sink, RULE_ARRAY_NAME, 5, "malformed array parameter name", name, nl);
        int r = emit(sink, WAF_VAR_ARG_NAME, WAF_PLACE_ARG_NAME, name, nl, name, nl, nfl);
        if (r) return r;
        r = emit(sink, WAF_VAR_ARG, WAF_PLACE_ARG, name, nl, val, vl, vfl);
        if (r) return r;
    }
    return 0;
}

/* ---- cookies ------------------------------------------------------------ */

int waf_split_cookies(const char *s, size_t n, char *buf, size_t cap,
                      const struct waf_parts_sink *sink)
{
    size_t i = 0;
    while (i < n) {
        const char *semi = memchr(s + i, ';', n - i);
        size_t end = semi ? (size_t)(semi - s) : n;
        const char *c = s + i;
        size_t cl = end - i;
        i = end + 1;
        trim(&c, &cl);
        if (cl == 0 || cl + 1 > cap) continue;
        const char *eq = memchr(c, '=', cl);
        const char *name = c;
        size_t nl = eq ? (size_t)(eq - c) : cl;
        const char *rv = eq ? eq + 1 : c + cl;
        size_t rvl = eq ? cl - nl - 1 : 0;
        trim(&name, &nl);
        if (rvl >= 2 && rv[0] == '"' && rv[rvl - 1] == '"') rv++, rvl -= 2;
        unsigned fl = pct_flags(c, cl) & ~WAF_VF_ENC_ALNUM;
        size_t dnl = waf_url_decode(name, nl, buf, 0, NULL, NULL);
        size_t vl = waf_url_decode(rv, rvl, buf + dnl, 0, NULL, NULL);
        int r =
            emit(sink, WAF_VAR_COOKIE_NAME, WAF_PLACE_ARG_NAME, buf, dnl, buf, dnl, fl);
        if (r) return r;
        r = emit(sink, WAF_VAR_COOKIE, WAF_PLACE_COOKIE, buf, dnl, buf + dnl, vl, fl);
        if (r) return r;
    }
    return 0;
}

/* ---- JSON --------------------------------------------------------------- */

struct json {
    const char *s;
    size_t n, i;
    char *buf;
    unsigned flags;
    const struct waf_parts_sink *sink;
    char path[NAME_MAX_LEN];
    size_t plen;
    size_t saved[JSON_MAX_DEPTH + 1]; /* path length at each depth */
    int stop;                         /* a callback's non-zero value */
};

/* Indentation, line breaks and padding. */
static void json_ws_run(struct json *j)
{
    static const unsigned char ws[256] = {[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1};
    const unsigned char *p = (const unsigned char *)j->s;
    size_t i = j->i, n = j->n;
    const uint64_t sp = 0x2020202020202020ull; /* eight spaces */
    while (i + 32 <= n) {                      /* padding: 32 bytes a step */
        uint64_t a, b, c, d;
        memcpy(&a, p + i, 8), memcpy(&b, p + i + 8, 8);
        memcpy(&c, p + i + 16, 8), memcpy(&d, p + i + 24, 8);
        if ((a ^ sp) | (b ^ sp) | (c ^ sp) | (d ^ sp)) break;
        i += 32;
    }
    while (i + 8 <= n && memcmp(p + i, "        ", 8) == 0)
        i += 8;
    while (i < n && ws[p[i]])
        i++;
    j->i = i;
}

/* Inlined: each call site predicts its own usual case, compact JSON or the
 * one space of ", " and ": ". */
static inline __attribute__((always_inline)) void json_ws(struct json *j)
{
    const unsigned char *p = (const unsigned char *)j->s;
    size_t i = j->i, n = j->n;
    if (i < n && p[i] > ' ') return;
    if (i + 1 < n && p[i] == ' ' && p[i + 1] > ' ') {
        j->i = i + 1;
        return;
    }
    json_ws_run(j);
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static long json_hex4(const char *s)
{
    long v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexv(s[k]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t utf8_put(char *o, unsigned long cp)
{
    unsigned char *u = (unsigned char *)o;
    if (cp < 0x80) return u[0] = (unsigned char)cp, 1;
    if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    u[0] = (unsigned char)(0xF0 | (cp >> 18));
    u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The string from s[i], just after its '"', that has an escape: decoded into
 * out (*val); returns its length or -1. */
static long json_string_esc(struct json *j, char *out, const char **val)
{
    size_t o = 0;
    *val = out;
    while (j->i < j->n) {
        unsigned char c = (unsigned char)j->s[j->i];
        if (c == '"') {
            j->i++;
            return (long)o;
        }
        if (c < 0x20) return -1;
        if (c != '\\') {
            out[o++] = (char)c;
            j->i++;
            continue;
        }
        if (j->i + 1 >= j->n) return -1;
        char e = j->s[j->i + 1];
        j->i += 2;
        switch (e) {
        case '"':
            out[o++] = '"';
            break;
        case '\\':
            out[o++] = '\\';
            break;
        case '/':
            out[o++] = '/';
            break;
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'u': {
            if (j->i + 4 > j->n) return -1;
            long cp = json_hex4(j->s + j->i);
            if (cp < 0) return -1;
            j->i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && j->i + 6 <= j->n && j->s[j->i] == '\\' &&
                j->s[j->i + 1] == 'u') {
                long lo = json_hex4(j->s + j->i + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    j->i += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD; /* 3 bytes for 6 read */
            o += utf8_put(out + o, (unsigned long)cp);
            break;
        }
        default:
            return -1;
        }
    }
    return -1;
}

/* Decodes the string at s[i] == '"'; returns its length or -1. *val points
 * into the input when the string has no escape (most do), else into out.
 * *cs gets the string's waf_charset() when it has no escape (the bytes are
 * classed as they are scanned: the engine needs no second pass), else ~0u.
 * Inlined: most strings are short keys and values. */
static inline __attribute__((always_inline)) long
json_string(struct json *j, char *out, const char **val, unsigned *cs)
{
    const unsigned stop = WAF_CS_DQUOTE | WAF_CS_BSLASH; /* '"' and '\\' only */
    const unsigned char *p = (const unsigned char *)j->s;
    size_t n = j->n, b = j->i + 1, e = b;
    unsigned m = 0, t;
    while (e + 4 <= n) { /* four bytes a step, one test for the end */
        t = waf_cs_byte[p[e]] | waf_cs_byte[p[e + 1]] | waf_cs_byte[p[e + 2]] |
            waf_cs_byte[p[e + 3]];
        if (t & stop) break;
        m |= t;
        e += 4;
    }
    if (e + 4 <= n) { /* the end is one of the next four bytes: unrolled */
        if (!((t = waf_cs_byte[p[e]]) & stop)) {
            m |= t, e++;
            if (!((t = waf_cs_byte[p[e]]) & stop)) {
                m |= t, e++;
                if (!((t = waf_cs_byte[p[e]]) & stop)) m |= t, e++;
            }
        }
    } else {
        while (e < n && !((t = waf_cs_byte[p[e]]) & stop)) {
            m |= t;
            e++;
        }
    }
    if (e < n && p[e] == '"') { /* no escape: no copy */
        *val = j->s + b;
        j->i = e + 1;
        *cs = waf_charset_pairs(j->s + b, e - b, m);
        return (long)(e - b);
    }
    j->i = b;
    *cs = ~0u;
    return json_string_esc(j, out, val);
}

/* Reports a JSON string with its charset when json_string() had it. */
static inline __attribute__((always_inline)) int
emit_json(const struct json *j, enum waf_var_kind kind, enum waf_place place,
          const char *name, size_t nl, const char *val, size_t vl, unsigned flags,
          unsigned cs)
{
    struct waf_var v = {
        kind, place, name, nl, val, vl, cs == ~0u ? flags : flags | WAF_VF_CS, cs};
    return j->sink->var ? j->sink->var(j->sink->ctx, &v) : 0;
}

static void path_push(struct json *j, const char *k, size_t kl)
{
    size_t room = sizeof j->path - 1 - j->plen;
    if (j->plen && room) j->path[j->plen++] = '.', room--;
    if (kl > room) kl = room;
    memcpy(j->path + j->plen, k, kl);
    j->plen += kl;
}

static int json_scalar(struct json *j)
{
    size_t st = j->i;
    while (j->i < j->n) {
        char c = j->s[j->i];
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' ||
            c == '.' || c == 'E')
            j->i++;
        else
            break;
    }
    size_t l = j->i - st;
    if (l == 0) return -1;
    const char *t = j->s + st;
    if ((l == 4 && (!memcmp(t, "true", 4) || !memcmp(t, "null", 4))) ||
        (l == 5 && !memcmp(t, "false", 5)))
        return 0;
    if (!((t[0] >= '0' && t[0] <= '9') || t[0] == '-')) return -1;
    return 0;
}

/* A key's ':' right after it and at most one space before the value:
 * skipped in one test (1), else left to the general path (0). */
static inline int colon_fast(struct json *j)
{
    const unsigned char *p = (const unsigned char *)j->s;
    size_t i = j->i, n = j->n;
    if (i + 2 >= n || p[i] != ':') return 0;
    if (p[i + 1] > ' ') return j->i = i + 1, 1;
    if (p[i + 1] == ' ' && p[i + 2] > ' ') return j->i = i + 2, 1;
    return 0;
}

/* Iterative walk: a stack of container kinds ('{' or '['). */
static int json_walk(struct json *j)
{
    char stack[JSON_MAX_DEPTH + 1];
    int depth = 0;
    int expect_value = 1;
    json_ws(j);
    for (;;) {
        json_ws(j);
    at_value: /* j->i is past any white space */
        if (j->i >= j->n) return -1;
        char c = j->s[j->i];
        if (expect_value) {
            if (c == '{' || c == '[') {
                if (depth >= JSON_MAX_DEPTH) return -1;
                j->saved[depth] = j->plen;
                stack[depth++] = c;
                j->i++;
                json_ws(j);
                if (j->i < j->n && j->s[j->i] == (c == '{' ? '}' : ']')) {
                    j->i++;
                    depth--;
                    j->plen = j->saved[depth];
                    expect_value = 0;
                    goto after_value;
                }
                if (c == '{') {
                    expect_value = 0;
                    goto key;
                }
                continue;
            }
            if (c == '"') {
                const char *val;
                unsigned cs;
                long l = json_string(j, j->buf, &val, &cs);
                if (l < 0) return -1;
                int r = emit_json(j, WAF_VAR_ARG, WAF_PLACE_ARG, j->path, j->plen, val,
                                  (size_t)l, j->flags | WAF_VF_JSON, cs);
                if (r) return j->stop = r, -1;
            } else if (json_scalar(j) < 0) {
                return -1;
            }
            expect_value = 0;
        after_value:
            if (depth == 0) {
                json_ws(j);
                return j->i == j->n ? 0 : -1;
            }
            json_ws(j);
            if (j->i >= j->n) return -1;
            c = j->s[j->i];
            if (stack[depth - 1] == '{') j->plen = j->saved[depth - 1];
            if (c == ',') {
                j->i++;
                if (stack[depth - 1] == '[') {
                    expect_value = 1;
                    continue;
                }
                goto key;
            }
            if (c == (stack[depth - 1] == '{' ? '}' : ']')) {
                j->i++;
                depth--;
                j->plen = j->saved[depth];
                goto after_value;
            }
            return -1;
        }
    key:
        json_ws(j);
        if (j->i >= j->n || j->s[j->i] != '"') return -1;
        {
            const char *key;
            unsigned cs;
            long l = json_string(j, j->buf, &key, &cs);
            if (l < 0) return -1;
            int r = emit_json(
                j, WAF_VAR_ARG_NAME, WAF_PLACE_ARG_NAME, key, (size_t)l, key, (size_t)l,
                j->flags | WAF_VF_JSON | (depth > 1 ? WAF_VF_NESTED : 0), cs);
            if (r) return j->stop = r, -1;
            path_push(j, key, (size_t)l);
        }
        expect_value = 1;
        if (colon_fast(j)) goto at_value; /* the usual ":" or ": " */
        json_ws(j);
        if (j->i >= j->n || j->s[j->i] != ':') return -1;
        j->i++;
    }
}

int waf_split_json(const char *s, size_t n, unsigned flags, char *buf, size_t cap,
                   const struct waf_parts_sink *sink)
{
    if (cap < n + 1) return -2;
    struct json j = {.s = s, .n = n, .buf = buf, .flags = flags, .sink = sink};
    int r = json_walk(&j);
    if (j.stop) return j.stop;
    return r < 0 ? -2 : 0;
}

/* ---- multipart ---------------------------------------------------------- */

/* Finds "--boundary" at a line start in s[from..n); returns its offset or n. */
static size_t mp_find(const char *s, size_t n, size_t from, const char *b, size_t bl)
{
    size_t i = from;
    while (i + 2 + bl <= n) {
        const char *d = memchr(s + i, '-', n - i);
        if (d == NULL) return n;
        size_t k = (size_t)(d - s);
        if (k + 2 + bl > n) return n;
        if (s[k + 1] == '-' && memcmp(s + k + 2, b, bl) == 0 &&
            (k == 0 || s[k - 1] == '\n'))
            return k;
        i = k + 1;
    }
    return n;
}

/* One part starting at the delimiter at s[at]; *next gets the next
 * delimiter's offset (n when none). Returns the callback's value. */
static int mp_part(const char *s, size_t n, size_t at, const char *boundary, size_t blen,
                   unsigned flags, const struct waf_parts_sink *sink, size_t *next)
{
    *next = n;
    size_t i = at + 2 + blen;
    if (i + 2 <= n && s[i] == '-' && s[i + 1] == '-') return 0; /* closing delimiter */
    const char *eol = memchr(s + i, '\n', n - i);
    if (eol == NULL) return 0;
    i = (size_t)(eol - s) + 1;
    const char *name = NULL, *fname = NULL;
    size_t nl = 0, fnl = 0;
    for (;;) { /* part headers up to the empty line */
        const char *le = memchr(s + i, '\n', n - i);
        if (le == NULL) return 0;
        const char *line = s + i;
        size_t ll = (size_t)(le - line);
        if (ll && line[ll - 1] == '\r') ll--;
        i = (size_t)(le - s) + 1;
        if (ll == 0) break;
        const char *colon = memchr(line, ':', ll);
        if (colon == NULL) {
            anomaly(sink, RULE_MP_BAD_HEADER, 5, "multipart part header without a colon",
                    line, ll);
            continue;
        }
        size_t hn = (size_t)(colon - line);
        const char *hv = colon + 1;
        size_t hvl = ll - hn - 1;
        trim(&hv, &hvl);
        if (waf_span_ieq(line, hn, "content-disposition")) {
            nl = waf_ct_param(hv, hvl, "name", &name);
            fnl = waf_ct_param(hv, hvl, "filename", &fname);
            if (fname == NULL) /* RFC 5987 form: filename*=UTF-8''name */
                fnl = waf_ct_param(hv, hvl, "filename*", &fname);
        } else if (waf_span_ieq(line, hn, "content-type")) {
            const char *cs;
            size_t csl = waf_ct_param(hv, hvl, "charset", &cs);
            if (cs && !charset_allowed(cs, csl))
                anomaly(sink, RULE_MP_CHARSET, 5,
                        "multipart part with a disallowed charset", hv, hvl);
        }
    }
    /* content up to the next delimiter (the CRLF before it belongs to it) */
    *next = mp_find(s, n, i, boundary, blen);
    size_t end = *next;
    if (end > i && s[end - 1] == '\n') end--;
    if (end > i && s[end - 1] == '\r') end--;
    unsigned fl = flags | WAF_VF_MULTIPART | (*next == n ? WAF_VF_TRUNCATED : 0);
    if (name == NULL) name = "";
    int r = emit(sink, WAF_VAR_ARG_NAME, WAF_PLACE_ARG_NAME, name, nl, name, nl, fl);
    if (r) return r;
    if (fname) { /* a file: its name is inspected, its content is not */
        if (memchr(fname, '\\', fnl) || memchr(fname, '"', fnl))
            anomaly(sink, RULE_MP_FILENAME, 5,
                    "multipart file name with a backslash or quote", fname, fnl);
        return emit(sink, WAF_VAR_FILE_NAME, WAF_PLACE_ARG, name, nl, fname, fnl, fl);
    }
    if (waf_span_ieq(name, nl, "_charset_") && !charset_allowed(s + i, end - i))
        anomaly(sink, RULE_MP_CHARSET_FIELD, 5,
                "_charset_ field with a disallowed charset", s + i, end - i);
    return emit(sink, WAF_VAR_ARG, WAF_PLACE_ARG, name, nl, s + i, end - i, fl);
}

int waf_split_multipart(const char *s, size_t n, const char *boundary, size_t blen,
                        unsigned flags, char *buf, size_t cap,
                        const struct waf_parts_sink *sink)
{
    (void)buf, (void)cap; /* values point into s: nothing to decode */
    if (blen == 0) return 0;
    size_t at = mp_find(s, n, 0, boundary, blen);
    if (at == n) {
        if (n)
            anomaly(sink, RULE_MP_NO_BOUNDARY, 5, "multipart body without its boundary",
                    s, n < 64 ? n : 64);
        return 0;
    }
    while (at < n) {
        size_t next;
        int r = mp_part(s, n, at, boundary, blen, flags, sink, &next);
        if (r) return r;
        at = next;
    }
    return 0;
}

/* ---- XML ---------------------------------------------------------------- */

/* Element name at s[i] (after '<'), for naming the text that follows. */
static size_t xml_name(const char *s, size_t n, size_t i)
{
    size_t k = i;
    while (k < n && s[k] != ' ' && s[k] != '>' && s[k] != '/' && s[k] != '\t' &&
           s[k] != '\n' && s[k] != '\r')
        k++;
    return k - i;
}

static int is_xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Reports name="value" pairs in s[k..end) (the inside of a start tag). */
static int xml_attrs(const char *s, size_t k, size_t end, unsigned fl,
                     const struct waf_parts_sink *sink)
{
    while (k < end) {
        while (k < end && is_xml_space(s[k]))
            k++;
        size_t ns = k;
        while (k < end && s[k] != '=' && !is_xml_space(s[k]) && s[k] != '/')
            k++;
        size_t ne = k;
        while (k < end && is_xml_space(s[k]))
            k++;
        if (k >= end || s[k] != '=') {
            k = k > ns ? k : k + 1;
            continue;
        }
        k++;
        while (k < end && is_xml_space(s[k]))
            k++;
        if (k >= end || (s[k] != '"' && s[k] != '\'')) continue;
        char qc = s[k++];
        size_t vs = k;
        while (k < end && s[k] != qc)
            k++;
        if (k > vs) {
            int r = emit(sink, WAF_VAR_ARG, WAF_PLACE_ARG, s + ns, ne - ns, s + vs,
                         k - vs, fl);
            if (r) return r;
        }
        k++;
    }
    return 0;
}

int waf_split_xml(const char *s, size_t n, unsigned flags, char *buf, size_t cap,
                  const struct waf_parts_sink *sink)
{
    (void)buf, (void)cap; /* values point into s */
    const char *el = "";
    size_t ell = 0;
    size_t i = 0;
    unsigned fl = flags | WAF_VF_XML;
    while (i < n) {
        if (s[i] != '<') {
            const char *lt = memchr(s + i, '<', n - i);
            size_t end = lt ? (size_t)(lt - s) : n;
            const char *t = s + i;
            size_t tl = end - i;
            while (tl && (*t == ' ' || *t == '\t' || *t == '\r' || *t == '\n'))
                t++, tl--;
            while (tl && (t[tl - 1] == ' ' || t[tl - 1] == '\t' || t[tl - 1] == '\r' ||
                          t[tl - 1] == '\n'))
                tl--;
            if (tl) {
                int r = emit(sink, WAF_VAR_ARG, WAF_PLACE_ARG, el, ell, t, tl, fl);
                if (r) return r;
            }
            i = end;
            continue;
        }
        if (i + 9 <= n && memcmp(s + i, "<![CDATA[", 9) == 0) {
            size_t k = i + 9;
            while (k + 3 <= n && memcmp(s + k, "]]>", 3) != 0)
                k++;
            size_t end = k + 3 <= n ? k : n;
            if (end > i + 9) {
                int r = emit(sink, WAF_VAR_ARG, WAF_PLACE_ARG, el, ell, s + i + 9,
                             end - i - 9, fl);
                if (r) return r;
            }
            i = end + 3 <= n ? end + 3 : n;
            continue;
        }
        if (i + 4 <= n && memcmp(s + i, "<!--", 4) == 0) {
            size_t k = i + 4;
            while (k + 3 <= n && memcmp(s + k, "-->", 3) != 0)
                k++;
            i = k + 3 <= n ? k + 3 : n;
            continue;
        }
        /* a tag: record its name and report its quoted attribute values */
        size_t gt = i + 1;
        char q = 0;
        while (gt < n && (q || s[gt] != '>')) {
            if (q && s[gt] == q)
                q = 0;
            else if (!q && (s[gt] == '"' || s[gt] == '\''))
                q = s[gt];
            gt++;
        }
        char c1 = i + 1 < n ? s[i + 1] : '/';
        if (c1 != '/' && c1 != '?' && c1 != '!') {
            el = s + i + 1;
            ell = xml_name(s, gt, i + 1);
            int r = xml_attrs(s, i + 1 + ell, gt, fl, sink);
            if (r) return r;
        }
        i = gt < n ? gt + 1 : n;
    }
    return 0;
}

/* ---- the whole request -------------------------------------------------- */

static const struct waf_header *find_header(const struct waf_request_view *r,
                                            const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (waf_span_ieq(r->headers[i].name, r->headers[i].name_len, name))
            return &r->headers[i];
    return NULL;
}

size_t waf_parts_scratch_size(const struct waf_request_view *r,
                              const struct waf_parts_opts *o)
{
    size_t m = r->target_len;
    for (size_t i = 0; i < r->nheaders; i++)
        if (r->headers[i].value_len > m) m = r->headers[i].value_len;
    size_t b = r->body_len < o->max_body ? r->body_len : o->max_body;
    if (b > m) m = b;
    return m + 1;
}

/* Headers whose values follow a fixed grammar (media types, dates, tokens,
 * numbers): they carry no free text, so detectors skip them unless the value
 * leaves the grammar's character set (checked by the engine). */
#define H(s)                                                                             \
    {                                                                                    \
        s, sizeof s - 1                                                                  \
    }
static const struct {
    const char *name;
    size_t len;
} structured_names[] = {
    H("accept"),
    H("accept-encoding"),
    H("accept-language"),
    H("cache-control"),
    H("connection"),
    H("content-length"),
    H("content-type"),
    H("date"),
    H("dnt"),
    H("if-modified-since"),
    H("if-none-match"),
    H("if-match"),
    H("if-unmodified-since"),
    H("keep-alive"),
    H("pragma"),
    H("te"),
    H("upgrade-insecure-requests"),
    H("priority"),
    H("range"),
    H("if-range"),
    H("content-encoding"),
    H("transfer-encoding"),
    H("sec-fetch-site"),
    H("sec-fetch-mode"),
    H("sec-fetch-dest"),
    H("sec-fetch-user"),
    H("sec-gpc"),
    H("proxy-connection"),
    H("upgrade"),
    H("accept-charset"),
    H("expect"),
    H("max-forwards"),
    H("x-requested-with"),
    H("host"),
    H("origin"),
};
#undef H
#define NSTRUCTURED (sizeof structured_names / sizeof structured_names[0])

/* structured_names' entries by length (a header is compared with the few of
 * its length only): by_len[l] .. by_len[l + 1] in by_len_idx */
static unsigned char by_len[32], by_len_idx[NSTRUCTURED];

__attribute__((constructor)) static void structured_index(void)
{
    unsigned k = 0;
    for (unsigned l = 0; l < 31; l++) {
        by_len[l] = (unsigned char)k;
        for (unsigned i = 0; i < NSTRUCTURED; i++)
            if (structured_names[i].len == l) by_len_idx[k++] = (unsigned char)i;
    }
    by_len[31] = (unsigned char)k;
}

static int structured_header(const char *n, size_t l)
{
    for (unsigned k = l < 31 ? by_len[l] : 0; l < 31 && k < by_len[l + 1]; k++)
        if (waf_span_ieq(n, l, structured_names[by_len_idx[k]].name)) return 1;
    return l > 6 && span_iprefix(n, l, "sec-ch-");
}

static int split_body(const struct waf_request_view *r, const struct waf_parts_opts *o,
                      char *buf, size_t cap, const struct waf_parts_sink *sink)
{
    size_t bl = r->body_len < o->max_body ? r->body_len : o->max_body;
    if (bl == 0) return 0;
    unsigned fl =
        WAF_VF_BODY | ((r->body_truncated || bl < r->body_len) ? WAF_VF_TRUNCATED : 0);
    const struct waf_header *cth = find_header(r, "content-type");
    const char *ct = cth ? cth->value : "";
    size_t ctl = cth ? cth->value_len : 0;
    const char *mt;
    size_t ml = waf_media_type(ct, ctl, &mt);
    const char *b = r->body;
    if (cth == NULL)
        anomaly(sink, RULE_BODY_NO_CT, 3, "request body without a Content-Type", b,
                bl < 64 ? bl : 64);
    if (waf_span_ieq(mt, ml, "application/x-www-form-urlencoded"))
        return waf_split_urlencoded(b, bl, fl, buf, cap, sink);
    int json = waf_span_ieq(mt, ml, "application/json") ||
               (ml > 5 && waf_span_ieq(mt + ml - 5, 5, "+json"));
    if (!json && (cth == NULL || waf_span_ieq(mt, ml, "text/plain"))) {
        /* an untyped body that looks like JSON is parsed as JSON */
        size_t k = 0;
        while (k < bl && (b[k] == ' ' || b[k] == '\r' || b[k] == '\n' || b[k] == '\t'))
            k++;
        json = k < bl && (b[k] == '{' || b[k] == '[');
    }
    if (json) {
        int rc = waf_split_json(b, bl, fl, buf, cap, sink);
        if (rc != -2) return rc;
        if (!(fl & WAF_VF_TRUNCATED))
            anomaly(sink, RULE_JSON_INVALID, 2, "invalid JSON body", b,
                    bl < 64 ? bl : 64);
        return emit(sink, WAF_VAR_BODY, WAF_PLACE_BODY, "", 0, b, bl, fl);
    }
    if (ml >= 10 && span_iprefix(mt, ml, "multipart/")) {
        const char *bd;
        size_t bdl = waf_ct_param(ct, ctl, "boundary", &bd);
        if (bd && bdl) return waf_split_multipart(b, bl, bd, bdl, fl, buf, cap, sink);
        return emit(sink, WAF_VAR_BODY, WAF_PLACE_BODY, "", 0, b, bl, fl);
    }
    int xml = (ml >= 4 && waf_span_ieq(mt + ml - 4, 4, "/xml")) ||
              (ml > 4 && waf_span_ieq(mt + ml - 4, 4, "+xml"));
    if (xml && o->xml) {
        /* the document type and entity declarations are not data: the raw
         * body goes to the XXE check (WAF_VF_XML marks this body var) */
        int r = emit(sink, WAF_VAR_BODY, WAF_PLACE_BODY, "", 0, b, bl, fl | WAF_VF_XML);
        return r ? r : waf_split_xml(b, bl, fl, buf, cap, sink);
    }
    return emit(sink, WAF_VAR_BODY, WAF_PLACE_BODY, "", 0, b, bl, fl);
}

/* Without a '.' or a "//" waf_path_normalize() (without backslashes) leaves a
 * path as it is ("/size/100"): a cheaper test than the rewrite. */
static int path_is_normal(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.' || (s[i] == '/' && i + 1 < n && s[i + 1] == '/')) return 0;
    return 1;
}

int waf_split_request(const struct waf_request_view *r, const struct waf_parts_opts *o,
                      char *buf, size_t cap, const struct waf_parts_sink *sink)
{
    if (cap < waf_parts_scratch_size(r, o)) return 0;
    int rc =
        emit(sink, WAF_VAR_METHOD, WAF_PLACE_HEADER, "", 0, r->method, r->method_len, 0);
    if (rc) return rc;
    const char *q = memchr(r->target, '?', r->target_len);
    size_t pl = q ? (size_t)(q - r->target) : r->target_len;
    rc = emit(sink, WAF_VAR_URI, WAF_PLACE_QUERY_STRING, "", 0, r->target, r->target_len,
              pct_flags(r->target, r->target_len));
    if (rc) return rc;
    /* the path: absolute-form targets keep only their path */
    const char *p = r->target;
    if (pl > 8 && (span_iprefix(p, pl, "http://") || span_iprefix(p, pl, "https://"))) {
        const char *sl = memchr(p + 8, '/', pl - 8);
        size_t skip = sl ? (size_t)(sl - p) : pl;
        p += skip;
        pl -= skip;
    }
    unsigned pf = pct_flags(p, pl) & ~WAF_VF_ENC_ALNUM;
    size_t dl = waf_url_decode(p, pl, buf, WAF_URL_PERCENT_U, NULL, NULL);
    if (!path_is_normal(buf, dl)) dl = waf_path_normalize(buf, dl, buf, 0);
    rc = emit(sink, WAF_VAR_PATH, WAF_PLACE_PATH, "", 0, buf, dl, pf);
    if (rc) return rc;
    if (q) {
        const char *qs = q + 1;
        size_t ql = r->target_len - pl - 1;
        if (p != r->target) ql = r->target + r->target_len - qs;
        const char *hash = memchr(qs, '#', ql);
        if (hash) ql = (size_t)(hash - qs);
        rc = waf_split_urlencoded(qs, ql, 0, buf, cap, sink);
        if (rc) return rc;
    }
    for (size_t i = 0; i < r->nheaders; i++) {
        const struct waf_header *h = &r->headers[i];
        if (waf_span_ieq(h->name, h->name_len, "cookie")) {
            rc = emit(sink, WAF_VAR_HEADER, WAF_PLACE_HEADER, h->name, h->name_len,
                      h->value, h->value_len, WAF_VF_STRUCTURED);
            if (rc) return rc;
            rc = waf_split_cookies(h->value, h->value_len, buf, cap, sink);
        } else {
            unsigned f = structured_header(h->name, h->name_len) ? WAF_VF_STRUCTURED : 0;
            rc = emit(sink, WAF_VAR_HEADER, WAF_PLACE_HEADER, h->name, h->name_len,
                      h->value, h->value_len, f);
        }
        if (rc) return rc;
    }
    return split_body(r, o, buf, cap, sink);
}
