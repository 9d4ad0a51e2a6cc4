/* Strict JSON reader for router.load (see json.h): a recursive-descent parser
 * over an in-memory text, with a walking interface for huge documents. */
#include "json.h"
#include "pool.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_parser_init(struct json_parser *jp, const char *text, size_t len,
                      struct foyer_pool *pool)
{
    memset(jp, 0, sizeof *jp);
    jp->text = jp->p = jp->line_start = text;
    jp->end = text + len;
    jp->line = 1;
    jp->pool = pool;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        jp->p = jp->line_start = text + 3;
}

void json_parser_free(struct json_parser *jp)
{
    free(jp->vstack);
    free(jp->mstack);
    jp->vstack = NULL;
    jp->mstack = NULL;
}

unsigned json_line(const struct json_parser *jp)
{
    return jp->line;
}

/* ---- errors ----------------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static int fail(struct json_parser *jp,
                                                      const char *fmt, ...)
{
    if (jp->err[0] != '\0') return -1; /* the first error is the one that counts */
    int n = snprintf(jp->err, sizeof jp->err, "%u:%d: ", jp->line,
                     (int)(jp->p - jp->line_start) + 1);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(jp->err + n, sizeof jp->err - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* The error at position p. */
__attribute__((format(printf, 3, 4))) static int
fail_at(struct json_parser *jp, const char *p, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jp->p = p;
    return fail(jp, "%s", msg);
}

/* "unexpected <what is at the cursor>, expected <expected>" */
static int fail_unexpected(struct json_parser *jp, const char *expected)
{
    if (jp->p >= jp->end)
        return fail(jp, "unexpected end of input, expected %s", expected);
    unsigned char c = (unsigned char)*jp->p;
    if (c > 0x20 && c < 0x7f)
        return fail(jp, "unexpected '%c', expected %s", c, expected);
    return fail(jp, "unexpected byte 0x%02x, expected %s", c, expected);
}

/* ---- lexical pieces --------------------------------------------------------------- */

static void skip_ws_slow(struct json_parser *jp)
{
    const char *p = jp->p;
    while (p < jp->end) {
        char c = *p;
        if (c == ' ' || c == '\t' || c == '\r') {
            p++;
        } else if (c == '\n') {
            p++;
            jp->line++;
            jp->line_start = p;
        } else {
            break;
        }
    }
    jp->p = p;
}

/* Most values are not preceded by whitespace in generated files. */
static inline void skip_ws(struct json_parser *jp)
{
    if (jp->p < jp->end && (unsigned char)*jp->p > ' ') return;
    skip_ws_slow(jp);
}

static int at(struct json_parser *jp, char c)
{
    return jp->p < jp->end && *jp->p == c;
}

static int is_digit(const char *p, const char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/* Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), 0 if none. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0; /* no overlong forms */
        if (c == 0xED) hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return n;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
    unsigned v = 0;
    if (end - p < 4) return -1;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        v = v * 16 + (unsigned)d;
    }
    *out = v;
    return 0;
}

/* Checks the escape at p (on the backslash); returns its length or 0. */
static size_t escape_len(struct json_parser *jp, const char *p)
{
    unsigned cp, lo;
    if (p + 1 >= jp->end) return 0;
    if (strchr("\"\\/bfnrt", p[1]) != NULL && p[1] != '\0') return 2;
    if (p[1] != 'u' || hex4(p + 2, jp->end, &cp) != 0) return 0;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return 0; /* a low surrogate alone */
    if (cp < 0xD800 || cp > 0xDBFF) return 6;
    if (jp->end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
        hex4(p + 8, jp->end, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
        return 0;
    return 12;
}

static char *put_utf8(char *d, unsigned cp)
{
    if (cp < 0x80) {
        *d++ = (char)cp;
    } else if (cp < 0x800) {
        *d++ = (char)(0xC0 | (cp >> 6));
        *d++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *d++ = (char)(0xE0 | (cp >> 12));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *d++ = (char)(0xF0 | (cp >> 18));
        *d++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    }
    return d;
}

/* Decodes the already validated body s..e (escapes present) into the pool. */
static char *unescape(struct json_parser *jp, const char *s, const char *e, size_t *len)
{
    char *out = foyer_pool_alloc(jp->pool, (size_t)(e - s) + 1), *d = out;
    if (out == NULL) return NULL;
    while (s < e) {
        if (*s != '\\') {
            *d++ = *s++;
            continue;
        }
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *k = strchr(from, s[1]);
        if (s[1] != 'u') {
            *d++ = to[k - from];
            s += 2;
            continue;
        }
        unsigned cp, lo;
        hex4(s + 2, e, &cp);
        s += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            hex4(s + 2, e, &lo);
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            s += 6;
        }
        d = put_utf8(d, cp);
    }
    *d = '\0';
    *len = (size_t)(d - out);
    return out;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Do the 8 bytes at p hold only printable ASCII other than '"' and '\\'?
 * (Byte-parallel tests: any byte >= 0x80, < 0x20, or equal to either.) */
static inline int plain8(const char *p)
{
    uint64_t v, q, b;
    memcpy(&v, p, 8);
    q = v ^ (ONES * '"');
    b = v ^ (ONES * '\\');
    uint64_t bad = (v & HIGHS) | ((v - ONES * 0x20) & ~v & HIGHS) |
                   ((q - ONES) & ~q & HIGHS) | ((b - ONES) & ~b & HIGHS);
    return bad == 0;
}

/* The string at the cursor (on its opening quote). */
static int parse_string(struct json_parser *jp, const char **out, size_t *out_len)
{
    const char *quote = jp->p, *s = quote + 1, *p = s;
    int escapes = 0;
    for (;;) {
        /* the common bytes first: 8 at a time, then one by one */
        while (jp->end - p >= 8 && plain8(p))
            p += 8;
        while (p < jp->end && (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x80 &&
               *p != '"' && *p != '\\')
            p++;
        if (p >= jp->end) return fail_at(jp, quote, "unterminated string");
        unsigned char c = (unsigned char)*p;
        size_t n = 1;
        if (c == '"') break;
        if (c < 0x20)
            return fail_at(jp, p, "raw control character 0x%02x in a string (escape it)",
                           c);
        if (c == '\\') {
            escapes = 1;
            n = escape_len(jp, p);
        } else if (c >= 0x80) {
            n = utf8_seq((const unsigned char *)p, (const unsigned char *)jp->end);
        }
        if (n == 0)
            return fail_at(jp, p, "%s",
                           c == '\\' ? "invalid escape sequence in a string"
                                     : "invalid UTF-8 in a string");
        p += n;
    }
    jp->p = p + 1;
    if (!escapes) {
        *out = s;
        *out_len = (size_t)(p - s);
        return 0;
    }
    *out = unescape(jp, s, p, out_len);
    return *out != NULL ? 0 : fail(jp, "out of memory");
}

static int parse_number(struct json_parser *jp, double *out)
{
    const char *s = jp->p, *p = s, *end = jp->end;
    if (*p == '-') p++;
    if (!is_digit(p, end)) return fail_unexpected(jp, "a value");
    if (*p == '0' && is_digit(p + 1, end))
        return fail_at(jp, p, "leading zeros are not allowed in numbers");
    while (is_digit(p, end))
        p++;
    if (p < end && *p == '.') {
        if (!is_digit(++p, end)) return fail_at(jp, p, "digit expected after '.'");
        while (is_digit(p, end))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (!is_digit(p, end)) return fail_at(jp, p, "digit expected in exponent");
        while (is_digit(p, end))
            p++;
    }
    char buf[64];
    size_t n = (size_t)(p - s);
    if (n >= sizeof buf) return fail(jp, "number too long");
    memcpy(buf, s, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL);
    if (isinf(*out)) return fail(jp, "number out of range");
    jp->p = p;
    return 0;
}

static int parse_literal(struct json_parser *jp, const char *word, enum json_type type,
                         struct json_value *out)
{
    size_t n = strlen(word);
    if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, word, n) != 0)
        return fail_unexpected(jp, "a value");
    jp->p += n;
    out->type = type;
    return 0;
}

/* ---- walking ---------------------------------------------------------------------- */

/* Shared by objects and arrays: consumes the opening bracket or the comma
 * before the next item. 1: an item follows; 0: the container ended. */
static int next_item(struct json_parser *jp, struct json_iter *it, char open, char close)
{
    skip_ws(jp);
    if (!it->started) {
        if (!at(jp, open))
            return fail_unexpected(jp, open == '{' ? "an object" : "an array");
        jp->p++;
        it->started = 1;
        skip_ws(jp);
        if (!at(jp, close)) return 1;
    } else if (at(jp, ',')) {
        jp->p++;
        skip_ws(jp);
        return 1;
    } else if (!at(jp, close)) {
        return fail_unexpected(jp, close == '}' ? "',' or '}'" : "',' or ']'");
    }
    jp->p++;
    return 0;
}

int json_object_next(struct json_parser *jp, struct json_iter *it, const char **key,
                     size_t *key_len)
{
    int r = next_item(jp, it, '{', '}');
    if (r <= 0) return r;
    if (!at(jp, '"')) return fail_unexpected(jp, "a member name (a string)");
    if (parse_string(jp, key, key_len) != 0) return -1;
    skip_ws(jp);
    if (!at(jp, ':')) return fail_unexpected(jp, "':' after the member name");
    jp->p++;
    return 1;
}

int json_array_next(struct json_parser *jp, struct json_iter *it)
{
    return next_item(jp, it, '[', ']');
}

/* ---- building --------------------------------------------------------------------- */

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    void *nv = realloc(*v, n * size);
    if (nv == NULL) return -1;
    *v = nv;
    *cap = n;
    return 0;
}

static int keycmp(const void *a, const void *b)
{
    const struct json_member *x = *(struct json_member *const *)a;
    const struct json_member *y = *(struct json_member *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c != 0) return c;
    return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

/* The first member whose key repeats an earlier one, or NULL. */
static const struct json_member *find_duplicate(const struct json_member *m, size_t n)
{
    if (n <= 16) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (keycmp(&(const struct json_member *){&m[i]},
                           &(const struct json_member *){&m[j]}) == 0)
                    return &m[i];
        return NULL;
    }
    const struct json_member **sorted = malloc(n * sizeof *sorted), *dup = NULL;
    if (sorted == NULL) return NULL;
    for (size_t i = 0; i < n; i++)
        sorted[i] = &m[i];
    qsort(sorted, n, sizeof *sorted, keycmp);
    for (size_t i = 1; i < n && dup == NULL; i++)
        if (keycmp(&sorted[i - 1], &sorted[i]) == 0)
            dup = sorted[i] > sorted[i - 1] ? sorted[i] : sorted[i - 1];
    free(sorted);
    return dup;
}

static int parse_array(struct json_parser *jp, struct json_value *out)
{
    struct json_iter it = {0};
    size_t base = jp->vtop;
    int r;
    while ((r = json_array_next(jp, &it)) == 1) {
        struct json_value v;
        if (json_parse_value(jp, &v) != 0) return -1;
        if (grow((void **)&jp->vstack, &jp->vcap, jp->vtop + 1, sizeof v) != 0)
            return fail(jp, "out of memory");
        jp->vstack[jp->vtop++] = v;
    }
    if (r < 0) return -1;
    size_t n = jp->vtop - base;
    out->type = JSON_ARRAY;
    out->u.arr.n = n;
    out->u.arr.v = n ? foyer_pool_alloc(jp->pool, n * sizeof(struct json_value)) : NULL;
    if (n && out->u.arr.v == NULL) return fail(jp, "out of memory");
    if (n) memcpy(out->u.arr.v, jp->vstack + base, n * sizeof(struct json_value));
    jp->vtop = base;
    return 0;
}

static int parse_object(struct json_parser *jp, struct json_value *out)
{
    struct json_iter it = {0};
    size_t base = jp->mtop;
    int r;
    struct json_member m;
    while ((r = json_object_next(jp, &it, &m.key, &m.key_len)) == 1) {
        if (json_parse_value(jp, &m.value) != 0) return -1;
        if (grow((void **)&jp->mstack, &jp->mcap, jp->mtop + 1, sizeof m) != 0)
            return fail(jp, "out of memory");
        jp->mstack[jp->mtop++] = m;
    }
    if (r < 0) return -1;
    size_t n = jp->mtop - base;
    /* an empty object before any member was stacked: mstack is NULL, and NULL + 0
     * is undefined */
    const struct json_member *dup = n ? find_duplicate(jp->mstack + base, n) : NULL;
    if (dup != NULL) {
        jp->err[0] = '\0';
        snprintf(jp->err, sizeof jp->err, "%u: duplicate member name \"%.*s\"",
                 dup->value.line, (int)(dup->key_len > 100 ? 100 : dup->key_len),
                 dup->key);
        return -1;
    }
    out->type = JSON_OBJECT;
    out->u.obj.n = n;
    out->u.obj.m = n ? foyer_pool_alloc(jp->pool, n * sizeof m) : NULL;
    if (n && out->u.obj.m == NULL) return fail(jp, "out of memory");
    if (n) memcpy(out->u.obj.m, jp->mstack + base, n * sizeof m);
    jp->mtop = base;
    return 0;
}

enum json_type json_peek(struct json_parser *jp, unsigned *line)
{
    skip_ws(jp);
    if (line != NULL) *line = jp->line;
    if (jp->p >= jp->end) return JSON_OTHER;
    switch (*jp->p) {
    case '{':
        return JSON_OBJECT;
    case '[':
        return JSON_ARRAY;
    case '"':
        return JSON_STRING;
    case 't':
        return JSON_TRUE;
    case 'f':
        return JSON_FALSE;
    case 'n':
        return JSON_NULL;
    case '-':
        return JSON_NUMBER;
    }
    return is_digit(jp->p, jp->end) ? JSON_NUMBER : JSON_OTHER;
}

int json_parse_value(struct json_parser *jp, struct json_value *out)
{
    memset(out, 0, sizeof *out);
    enum json_type t = json_peek(jp, &out->line);
    int r;
    if ((t == JSON_OBJECT || t == JSON_ARRAY) && jp->depth >= JSON_MAX_DEPTH)
        return fail(jp, "nesting deeper than %d levels", JSON_MAX_DEPTH);
    switch (t) {
    case JSON_OBJECT:
    case JSON_ARRAY:
        jp->depth++;
        r = t == JSON_OBJECT ? parse_object(jp, out) : parse_array(jp, out);
        jp->depth--;
        return r;
    case JSON_STRING:
        out->type = JSON_STRING;
        return parse_string(jp, &out->u.str.p, &out->u.str.len);
    case JSON_TRUE:
        return parse_literal(jp, "true", JSON_TRUE, out);
    case JSON_FALSE:
        return parse_literal(jp, "false", JSON_FALSE, out);
    case JSON_NULL:
        return parse_literal(jp, "null", JSON_NULL, out);
    case JSON_NUMBER:
        out->type = JSON_NUMBER;
        return parse_number(jp, &out->u.number);
    default:
        return fail_unexpected(jp, "a value");
    }
}

int json_finish(struct json_parser *jp)
{
    skip_ws(jp);
    return jp->p == jp->end ? 0 : fail_unexpected(jp, "the end of the document");
}

int json_parse_document(struct json_parser *jp, struct json_value *out)
{
    if (json_parse_value(jp, out) != 0) return -1;
    return json_finish(jp);
}

const struct json_value *json_get(const struct json_value *obj, const char *key)
{
    if (obj->type != JSON_OBJECT) return NULL;
    size_t len = strlen(key);
    for (size_t i = 0; i < obj->u.obj.n; i++) {
        const struct json_member *m = &obj->u.obj.m[i];
        if (m->key_len == len && len > 0 && m->key[0] == key[0] &&
            memcmp(m->key, key, len) == 0)
            return &m->value;
    }
    return NULL;
}
