/*
 * plugins/waf/normalize.c — see normalize.h. Every function writes no more
 * than it reads, so the write cursor never passes the read cursor and in-place
 * use is safe.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "normalize.h"

#include <string.h>

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Writes code point cp as UTF-8 (1-4 bytes); returns the length. Surrogates and
 * out-of-range values become U+FFFD so that the output stays short. */
static size_t put_utf8(char *out, unsigned long cp)
{
    unsigned char *o = (unsigned char *)out;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Reads up to max hex digits at in[i..n); returns the count, value in *v. */
static size_t read_hex(const char *in, size_t i, size_t n, size_t max, unsigned long *v)
{
    size_t k = 0;
    *v = 0;
    while (k < max && i + k < n) {
        int h = hexval((unsigned char)in[i + k]);
        if (h < 0) break;
        *v = (*v << 4) | (unsigned long)h;
        k++;
    }
    return k;
}

size_t waf_url_decode(const char *in, size_t n, char *out, int flags, size_t *ndecoded,
                      size_t *ninvalid)
{
    size_t o = 0, dec = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(flags & WAF_URL_PLUS)) { /* copy up to the next '%' in one go */
            const char *pct = memchr(in + i, '%', n - i);
            size_t run = pct ? (size_t)(pct - in) - i : n - i;
            if (run) {
                memmove(out + o, in + i, run);
                o += run;
                i += run;
                if (i >= n) break;
            }
        }
        char c = in[i];
        if (c == '+' && (flags & WAF_URL_PLUS)) {
            out[o++] = ' ';
            continue;
        }
        if (c != '%') {
            out[o++] = c;
            continue;
        }
        int h1 = i + 1 < n ? hexval((unsigned char)in[i + 1]) : -1;
        int h2 = i + 2 < n ? hexval((unsigned char)in[i + 2]) : -1;
        if (h1 >= 0 && h2 >= 0) {
            out[o++] = (char)(h1 << 4 | h2);
            i += 2;
            dec++;
            continue;
        }
        if ((flags & WAF_URL_PERCENT_U) && i + 5 < n &&
            (in[i + 1] == 'u' || in[i + 1] == 'U')) {
            unsigned long cp;
            if (read_hex(in, i + 2, n, 4, &cp) == 4) {
                o += put_utf8(out + o, cp); /* at most 3 bytes for 6 read */
                i += 5;
                dec++;
                continue;
            }
        }
        bad++;
        out[o++] = c;
    }
    if (ndecoded) *ndecoded = dec;
    if (ninvalid) *ninvalid = bad;
    return o;
}

size_t waf_url_decode_full(const char *in, size_t n, char *out, int flags, int *passes)
{
    int p = 0;
    const char *src = in;
    size_t len = n;
    for (int k = 0; k < 4; k++) {
        if (memchr(src, '%', len) == NULL && !((flags & WAF_URL_PLUS) && k == 0)) break;
        size_t dec = 0;
        len = waf_url_decode(src, len, out, k == 0 ? flags : flags & ~WAF_URL_PLUS, &dec,
                             NULL);
        src = out;
        if (dec == 0) break;
        p++;
    }
    if (src != out) { /* nothing written yet */
        if (out != in) memmove(out, in, n);
        len = n;
    }
    if (passes) *passes = p;
    return len;
}

/* Named references that matter for injection (markup, quotes, separators);
 * longest names first is not needed because each name ends at ';' or a
 * non-alnum byte. */
static const struct {
    const char *name;
    unsigned short cp;
} entities[] = {
    {"lt", '<'},       {"gt", '>'},     {"amp", '&'},    {"quot", '"'},
    {"apos", '\''},    {"nbsp", 0xA0},  {"colon", ':'},  {"lpar", '('},
    {"rpar", ')'},     {"sol", '/'},    {"bsol", '\\'},  {"tab", '\t'},
    {"newline", '\n'}, {"semi", ';'},   {"comma", ','},  {"period", '.'},
    {"excl", '!'},     {"equals", '='}, {"num", '#'},    {"percnt", '%'},
    {"lsqb", '['},     {"rsqb", ']'},   {"lbrack", '['}, {"rbrack", ']'},
    {"lcub", '{'},     {"rcub", '}'},   {"lbrace", '{'}, {"rbrace", '}'},
    {"grave", '`'},    {"dollar", '$'}, {"plus", '+'},   {"ast", '*'},
    {"quest", '?'},    {"commat", '@'}, {"vert", '|'},   {"verbar", '|'},
    {"hat", '^'},      {"lowbar", '_'}, {"Tab", '\t'},   {"NewLine", '\n'},
    {"LT", '<'},       {"GT", '>'},     {"AMP", '&'},    {"QUOT", '"'},
};

/* Tries a named reference at in[i] == '&'; returns bytes consumed or 0. */
static size_t named_entity(const char *in, size_t i, size_t n, unsigned long *cp)
{
    size_t k = i + 1;
    while (k < n && k - i <= 8 &&
           ((in[k] >= 'a' && in[k] <= 'z') || (in[k] >= 'A' && in[k] <= 'Z')))
        k++;
    size_t len = k - i - 1;
    if (len < 2 || len > 7) return 0;
    for (size_t e = 0; e < sizeof entities / sizeof entities[0]; e++) {
        if (strlen(entities[e].name) == len &&
            memcmp(entities[e].name, in + i + 1, len) == 0) {
            *cp = entities[e].cp;
            return (k < n && in[k] == ';') ? k + 1 - i : k - i;
        }
    }
    return 0;
}

/* Tries a numeric reference &#DDD; or &#xHHH; at in[i]; returns bytes consumed. */
static size_t numeric_entity(const char *in, size_t i, size_t n, unsigned long *cp)
{
    size_t k = i + 2;
    int hex = 0;
    if (k < n && (in[k] == 'x' || in[k] == 'X')) {
        hex = 1;
        k++;
    }
    size_t start = k;
    unsigned long v = 0;
    while (k < n) {
        int d = hex ? hexval((unsigned char)in[k])
                    : (in[k] >= '0' && in[k] <= '9' ? in[k] - '0' : -1);
        if (d < 0) break;
        if (v <= 0x10FFFF) v = v * (hex ? 16 : 10) + (unsigned long)d;
        k++;
    }
    if (k == start) return 0;
    *cp = v;
    if (k < n && in[k] == ';') k++;
    return k - i;
}

size_t waf_html_decode(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] != '&' || i + 2 >= n) {
            out[o++] = in[i];
            continue;
        }
        unsigned long cp = 0;
        size_t used = in[i + 1] == '#' ? numeric_entity(in, i, n, &cp)
                                       : named_entity(in, i, n, &cp);
        char tmp[4];
        size_t w = used ? put_utf8(tmp, cp) : 0;
        if (used == 0 || w > used) { /* cannot happen for valid refs; keep as is */
            out[o++] = in[i];
            continue;
        }
        memcpy(out + o, tmp, w);
        o += w;
        i += used - 1;
    }
    return o;
}

size_t waf_escape_decode(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] != '\\' || i + 1 >= n) {
            out[o++] = in[i];
            continue;
        }
        char e = in[i + 1];
        unsigned long cp;
        size_t k;
        if ((e == 'x' || e == 'X') && read_hex(in, i + 2, n, 2, &cp) == 2) {
            out[o++] = (char)cp;
            i += 3;
        } else if (e == 'u' && i + 2 < n && in[i + 2] == '{' &&
                   (k = read_hex(in, i + 3, n, 6, &cp)) > 0 && i + 3 + k < n &&
                   in[i + 3 + k] == '}') {
            o += put_utf8(out + o, cp); /* >= 5 bytes read, <= 4 written */
            i += 3 + k;
        } else if (e == 'u' && read_hex(in, i + 2, n, 4, &cp) == 4) {
            o += put_utf8(out + o, cp);
            i += 5;
        } else if (e >= '0' && e <= '7') {
            unsigned v = 0;
            k = 0;
            while (k < 3 && i + 1 + k < n && in[i + 1 + k] >= '0' &&
                   in[i + 1 + k] <= '7') {
                v = v * 8 + (unsigned)(in[i + 1 + k] - '0');
                k++;
            }
            out[o++] = (char)(v & 0xFF);
            i += k;
        } else {
            out[o++] = in[i];
        }
    }
    return o;
}

size_t waf_lowercase(const char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    return n;
}

static int is_ws(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xA0;
}

size_t waf_compress_ws(const char *in, size_t n, char *out)
{
    size_t o = 0;
    int prev = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        /* U+00A0 in UTF-8 is C2 A0: drop the lead byte with the space */
        if (c == 0xC2 && i + 1 < n && (unsigned char)in[i + 1] == 0xA0) continue;
        if (is_ws(c)) {
            if (!prev) out[o++] = ' ';
            prev = 1;
        } else {
            out[o++] = (char)c;
            prev = 0;
        }
    }
    return o;
}

size_t waf_remove_comments(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '/' && i + 1 < n && in[i + 1] == '*') {
            if (i + 2 < n && in[i + 2] == '!') { /* MySQL executable comment */
                size_t k = i + 3;
                while (k < n && in[k] >= '0' && in[k] <= '9')
                    k++; /* version */
                out[o++] = ' ';
                i = k - 1;
                continue;
            }
            size_t k = i + 2;
            while (k + 1 < n && !(in[k] == '*' && in[k + 1] == '/'))
                k++;
            i = k + 1 < n ? k + 1 : n;
            out[o++] = ' ';
            continue;
        }
        if (c == '*' && i + 1 < n &&
            in[i + 1] == '/') { /* end of an executable comment */
            out[o++] = ' ';
            i++;
            continue;
        }
        if (c == '#' || (c == '-' && i + 1 < n && in[i + 1] == '-')) {
            while (i < n && in[i] != '\n')
                i++;
            out[o++] = ' ';
            if (i < n) out[o++] = '\n';
            continue;
        }
        out[o++] = c;
    }
    return o;
}

size_t waf_strip_inline_comments(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '/' && i + 1 < n && in[i + 1] == '*') {
            size_t k = i + 2;
            while (k + 1 < n && !(in[k] == '*' && in[k + 1] == '/'))
                k++;
            i = k + 1 < n ? k + 1 : n;
            continue;
        }
        out[o++] = in[i];
    }
    return o;
}

size_t waf_path_normalize(const char *in, size_t n, char *out, int backslashes)
{
    size_t o = 0;
    size_t floor = 0; /* out[0..floor) holds leading ".." segments to keep */
    size_t i = 0;
    int absolute = n > 0 && (in[0] == '/' || (backslashes && in[0] == '\\'));
    if (absolute) {
        out[o++] = '/';
        floor = 1;
        i = 1;
    }
    while (i < n) {
        /* one segment: in[i..e) */
        size_t e = i;
        while (e < n && in[e] != '/' && !(backslashes && in[e] == '\\'))
            e++;
        size_t len = e - i;
        int last = e >= n;
        if (len == 0 || (len == 1 && in[i] == '.')) {
            /* empty or "." segment: dropped */
        } else if (len == 2 && in[i] == '.' && in[i + 1] == '.') {
            if (o > floor) { /* remove the previous segment; out[o-1] is '/' */
                size_t k = o - 1;
                while (k > floor && out[k - 1] != '/')
                    k--;
                o = k;
            } else { /* climbs above the start: keep it visible */
                out[o++] = '.';
                out[o++] = '.';
                if (!last) out[o++] = '/';
                floor = o;
            }
        } else {
            memmove(out + o, in + i, len);
            o += len;
            if (!last) out[o++] = '/';
        }
        i = e + 1;
    }
    return o;
}

size_t waf_remove_nul(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        if (in[i] != '\0') out[o++] = in[i];
    return o;
}

static int match_at(const char *in, size_t i, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return i + l <= n && memcmp(in + i, lit, l) == 0;
}

size_t waf_shell_deobfuscate(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '\'' || c == '"' || c == '^') continue;
        if (c == '\\') {
            /* a backslash before a newline is a line continuation */
            if (i + 1 < n && in[i + 1] == '\n') i++;
            continue;
        }
        if (c == '$') {
            if (match_at(in, i, n, "${IFS}")) {
                out[o++] = ' ';
                i += 5;
                continue;
            }
            if (match_at(in, i, n, "$IFS")) {
                out[o++] = ' ';
                i += 3;
                if (i + 2 < n && in[i + 1] == '$' && in[i + 2] >= '0' && in[i + 2] <= '9')
                    i += 2;
                continue;
            }
            if (i + 1 < n && (in[i + 1] == '@' || in[i + 1] == '*')) {
                i++;
                continue;
            }
        }
        out[o++] = c;
    }
    return o;
}

/* Internal bits: a '-' or a '.' is present (a "--" or ".." may be). They
 * reuse the bits the engine gives its pairs after this returns. */
#define WAF_CS_DASHED WAF_CS_DASHED_
#define WAF_CS_DOTTED WAF_CS_DOTTED_
_Static_assert(!((WAF_CS_DASHED | WAF_CS_DOTTED) & (WAF_CS_DOT | WAF_CS_UNDER)),
               "internal bits are free");

/* Class bits per byte (GNU range designators). */
const unsigned waf_cs_byte[256] = {
    [0] = WAF_CS_CTL | WAF_CS_NUL,
    [1 ... 31] = WAF_CS_CTL,
    [127] = WAF_CS_CTL,
    [128 ... 255] = WAF_CS_HIGH,
    [' '] = WAF_CS_SPACE,
    ['/'] = WAF_CS_SLASH,
    [':'] = WAF_CS_COLON,
    ['@'] = WAF_CS_SAFEP,
    [','] = WAF_CS_SAFEP,
    ['%'] = WAF_CS_PCT,
    ['&'] = WAF_CS_AMP,
    ['\\'] = WAF_CS_BSLASH,
    ['\''] = WAF_CS_SQUOTE,
    ['"'] = WAF_CS_DQUOTE,
    ['`'] = WAF_CS_BTICK,
    ['+'] = WAF_CS_PLUS,
    ['#'] = WAF_CS_HASH,
    ['<'] = WAF_CS_LT,
    ['>'] = WAF_CS_GT,
    ['('] = WAF_CS_PAREN,
    [')'] = WAF_CS_PAREN,
    [';'] = WAF_CS_SEMI,
    ['|'] = WAF_CS_PIPE,
    ['$'] = WAF_CS_DOLLAR,
    ['{'] = WAF_CS_BRACE,
    ['}'] = WAF_CS_BRACE,
    ['['] = WAF_CS_BRACKET,
    [']'] = WAF_CS_BRACKET,
    ['='] = WAF_CS_EQ,
    ['*'] = WAF_CS_STAR,
    ['!'] = WAF_CS_OTHER,
    ['?'] = WAF_CS_OTHER,
    ['~'] = WAF_CS_OTHER,
    ['^'] = WAF_CS_OTHER,
    ['-'] = WAF_CS_DASHED,
    ['.'] = WAF_CS_DOTTED,
    ['_'] = WAF_CS_UNDER,
};

static int pair(const char *s, size_t n, char a, char b)
{
    if (n <= 16) { /* short values ("PZ-001"): a loop beats memchr calls */
        for (size_t i = 0; i + 1 < n; i++)
            if (s[i] == a && s[i + 1] == b) return 1;
        return 0;
    }
    const char *p = memchr(s, a, n);
    while (p && p + 1 < s + n) {
        if (p[1] == b) return 1;
        p = memchr(p + 1, a, (size_t)(s + n - p - 1));
    }
    return 0;
}

unsigned waf_charset(const char *s, size_t n)
{
    unsigned m = 0;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    unsigned m1 = 0, m2 = 0, m3 = 0; /* independent chains: 4 bytes per step */
    for (; i + 4 <= n; i += 4) {
        m |= waf_cs_byte[p[i]];
        m1 |= waf_cs_byte[p[i + 1]];
        m2 |= waf_cs_byte[p[i + 2]];
        m3 |= waf_cs_byte[p[i + 3]];
    }
    for (; i < n; i++)
        m |= waf_cs_byte[p[i]];
    return waf_charset_pairs(s, n, m | m1 | m2 | m3);
}

unsigned waf_charset_pairs_slow(const char *s, size_t n, unsigned m)
{
    /* pairs, only looked for when their first byte is there */
    if (m & WAF_CS_DASHED) m |= pair(s, n, '-', '-') ? WAF_CS_DASH2 : 0;
    if ((m & WAF_CS_STAR) && (m & WAF_CS_SLASH))
        m |= pair(s, n, '/', '*') ? WAF_CS_DASH2 : 0;
    if (m & WAF_CS_DOTTED) m |= WAF_CS_DOT | (pair(s, n, '.', '.') ? WAF_CS_DOT2 : 0);
    return m & ~(WAF_CS_DASHED | WAF_CS_DOTTED);
}
