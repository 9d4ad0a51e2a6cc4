/* A small JSON parser, builder and writer for the e2e tests (see json.h). */
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- building ------------------------------------------------------------- */

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (!p) {
        fprintf(stderr, "json: out of memory\n");
        abort();
    }
    return p;
}

static void *xrealloc(void *p, size_t sz)
{
    void *np = realloc(p, sz);
    if (!np) {
        fprintf(stderr, "json: out of memory\n");
        abort();
    }
    return np;
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = xcalloc(1, n + 1);
    memcpy(d, s, n);
    return d;
}

struct e2e_json *e2e_json_new(enum e2e_jtype t)
{
    struct e2e_json *j = xcalloc(1, sizeof(*j));
    j->type = t;
    return j;
}

struct e2e_json *e2e_json_new_str(const char *s)
{
    struct e2e_json *j = e2e_json_new(EJ_STR);
    j->len = strlen(s);
    j->str = xstrndup(s, j->len);
    return j;
}

struct e2e_json *e2e_json_new_num(double n)
{
    struct e2e_json *j = e2e_json_new(EJ_NUM);
    j->num = n;
    return j;
}

struct e2e_json *e2e_json_new_bool(bool b)
{
    struct e2e_json *j = e2e_json_new(EJ_BOOL);
    j->b = b;
    return j;
}

static void grow(struct e2e_json *j)
{
    if (j->n < j->cap)
        return;
    j->cap = j->cap ? j->cap * 2 : 8;
    j->items = xrealloc(j->items, j->cap * sizeof(*j->items));
    if (j->type == EJ_OBJ)
        j->keys = xrealloc(j->keys, j->cap * sizeof(*j->keys));
}

void e2e_json_push(struct e2e_json *arr, struct e2e_json *v)
{
    grow(arr);
    arr->items[arr->n++] = v;
}

void e2e_json_set(struct e2e_json *obj, const char *key, struct e2e_json *v)
{
    for (size_t i = 0; i < obj->n; i++) {
        if (strcmp(obj->keys[i], key) == 0) {
            e2e_json_free(obj->items[i]);
            obj->items[i] = v;
            return;
        }
    }
    grow(obj);
    obj->keys[obj->n] = xstrndup(key, strlen(key));
    obj->items[obj->n++] = v;
}

struct e2e_json *e2e_json_copy(const struct e2e_json *j)
{
    if (!j)
        return e2e_json_new(EJ_NULL);
    struct e2e_json *c = e2e_json_new(j->type);
    c->b = j->b;
    c->num = j->num;
    if (j->type == EJ_STR) {
        c->len = j->len;
        c->str = xstrndup(j->str, j->len);
    }
    for (size_t i = 0; i < j->n; i++) {
        if (j->type == EJ_OBJ)
            e2e_json_set(c, j->keys[i], e2e_json_copy(j->items[i]));
        else
            e2e_json_push(c, e2e_json_copy(j->items[i]));
    }
    return c;
}

void e2e_json_free(struct e2e_json *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->n; i++) {
        e2e_json_free(j->items[i]);
        if (j->keys)
            free(j->keys[i]);
    }
    free(j->items);
    free(j->keys);
    free(j->str);
    free(j);
}

/* ---- lookups -------------------------------------------------------------- */

bool e2e_json_is(const struct e2e_json *j, enum e2e_jtype t)
{
    return j && j->type == t;
}

size_t e2e_json_len(const struct e2e_json *j)
{
    return j && (j->type == EJ_ARR || j->type == EJ_OBJ) ? j->n : 0;
}

const struct e2e_json *e2e_json_get(const struct e2e_json *j, const char *key)
{
    if (!e2e_json_is(j, EJ_OBJ))
        return NULL;
    for (size_t i = 0; i < j->n; i++)
        if (strcmp(j->keys[i], key) == 0)
            return j->items[i];
    return NULL;
}

const struct e2e_json *e2e_json_at(const struct e2e_json *j, size_t i)
{
    if (!j || (j->type != EJ_ARR && j->type != EJ_OBJ) || i >= j->n)
        return NULL;
    return j->items[i];
}

const char *e2e_json_str(const struct e2e_json *j, const char *key)
{
    const struct e2e_json *v = e2e_json_get(j, key);
    return e2e_json_is(v, EJ_STR) ? v->str : NULL;
}

double e2e_json_num(const struct e2e_json *j, const char *key, double dflt)
{
    const struct e2e_json *v = e2e_json_get(j, key);
    return e2e_json_is(v, EJ_NUM) ? v->num : dflt;
}

/* ---- parsing -------------------------------------------------------------- */

struct parser {
    const char *p, *end, *start;
    char *err;
    size_t errlen;
    bool failed;
    int depth;
};

static void fail(struct parser *ps, const char *fmt, ...)
{
    if (ps->failed)
        return;
    ps->failed = true;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ps->err)
        snprintf(ps->err, ps->errlen, "JSON at byte %ld: %s", (long)(ps->p - ps->start), msg);
}

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static struct e2e_json *parse_value(struct parser *ps);

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static void put_utf8(char **o, unsigned cp)
{
    unsigned char *u = (unsigned char *)*o;
    if (cp < 0x80) {
        *u++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *u++ = (unsigned char)(0xc0 | cp >> 6);
        *u++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *u++ = (unsigned char)(0xe0 | cp >> 12);
        *u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        *u++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else {
        *u++ = (unsigned char)(0xf0 | cp >> 18);
        *u++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        *u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        *u++ = (unsigned char)(0x80 | (cp & 0x3f));
    }
    *o = (char *)u;
}

/* A string literal (ps->p at the opening quote); malloc'd into *out. */
static bool parse_string(struct parser *ps, char **out, size_t *outlen)
{
    ps->p++;
    /* Escapes never expand: the decoded string fits in the literal's size. */
    const char *q = ps->p;
    while (q < ps->end && *q != '"')
        q += *q == '\\' ? 2 : 1;
    if (q >= ps->end) {
        fail(ps, "unterminated string");
        return false;
    }
    char *buf = xcalloc(1, (size_t)(q - ps->p) + 1), *o = buf;
    while (ps->p < q) {
        unsigned char ch = (unsigned char)*ps->p++;
        if (ch < 0x20) {
            fail(ps, "control character in string");
            free(buf);
            return false;
        }
        if (ch != '\\') {
            *o++ = (char)ch;
            continue;
        }
        char e = *ps->p++;
        switch (e) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            int cp = q - ps->p >= 4 ? hex4(ps->p) : -1;
            if (cp < 0) {
                fail(ps, "bad \\u escape");
                free(buf);
                return false;
            }
            ps->p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && q - ps->p >= 6 && ps->p[0] == '\\' &&
                ps->p[1] == 'u') {
                int lo = hex4(ps->p + 2);
                if (lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    ps->p += 6;
                }
            }
            if (cp < 0x100)
                *o++ = (char)cp; /* a byte (see json.h) */
            else
                put_utf8(&o, (unsigned)cp);
            break;
        }
        default:
            fail(ps, "bad escape \\%c", e);
            free(buf);
            return false;
        }
    }
    ps->p = q + 1;
    *o = 0;
    *out = buf;
    *outlen = (size_t)(o - buf);
    return true;
}

static struct e2e_json *parse_container(struct parser *ps, bool obj)
{
    struct e2e_json *j = e2e_json_new(obj ? EJ_OBJ : EJ_ARR);
    char close = obj ? '}' : ']';
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return j;
    }
    for (;;) {
        char *key = NULL;
        size_t klen;
        skip_ws(ps);
        if (obj) {
            if (ps->p >= ps->end || *ps->p != '"' || !parse_string(ps, &key, &klen)) {
                fail(ps, "object key expected");
                break;
            }
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p++ != ':') {
                free(key);
                fail(ps, "':' expected");
                break;
            }
        }
        struct e2e_json *v = parse_value(ps);
        if (!v) {
            free(key);
            break;
        }
        grow(j);
        if (obj)
            j->keys[j->n] = key;
        j->items[j->n++] = v;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return j;
        }
        fail(ps, "',' or '%c' expected", close);
        break;
    }
    e2e_json_free(j);
    return NULL;
}

static struct e2e_json *parse_value(struct parser *ps)
{
    skip_ws(ps);
    if (ps->p >= ps->end) {
        fail(ps, "value expected");
        return NULL;
    }
    if (++ps->depth > 200) {
        fail(ps, "nested too deeply");
        return NULL;
    }
    struct e2e_json *j = NULL;
    char ch = *ps->p;
    size_t left = (size_t)(ps->end - ps->p);
    if (ch == '{' || ch == '[') {
        j = parse_container(ps, ch == '{');
    } else if (ch == '"') {
        j = e2e_json_new(EJ_STR);
        if (!parse_string(ps, &j->str, &j->len)) {
            free(j);
            j = NULL;
        }
    } else if (left >= 4 && memcmp(ps->p, "null", 4) == 0) {
        ps->p += 4;
        j = e2e_json_new(EJ_NULL);
    } else if (left >= 4 && memcmp(ps->p, "true", 4) == 0) {
        ps->p += 4;
        j = e2e_json_new_bool(true);
    } else if (left >= 5 && memcmp(ps->p, "false", 5) == 0) {
        ps->p += 5;
        j = e2e_json_new_bool(false);
    } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
        char tmp[64];
        size_t n = 0;
        while (ps->p + n < ps->end && n < sizeof(tmp) - 1 && strchr("+-0123456789.eE", ps->p[n]))
            n++;
        memcpy(tmp, ps->p, n);
        tmp[n] = 0;
        char *e;
        double d = strtod(tmp, &e);
        if (e != tmp + n) {
            fail(ps, "bad number");
        } else {
            ps->p += n;
            j = e2e_json_new_num(d);
        }
    } else {
        fail(ps, "unexpected character '%c'", ch);
    }
    ps->depth--;
    return j;
}

struct e2e_json *e2e_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    struct parser ps = {text, text + len, text, err, errlen, false, 0};
    if (err && errlen)
        err[0] = 0;
    struct e2e_json *j = parse_value(&ps);
    skip_ws(&ps);
    if (j && ps.p != ps.end) {
        fail(&ps, "trailing data");
        e2e_json_free(j);
        j = NULL;
    }
    return j;
}

struct e2e_json *e2e_json_parse_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s", path);
        return NULL;
    }
    size_t cap = 65536, len = 0, n;
    char *buf = xcalloc(1, cap);
    while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap)
            buf = xrealloc(buf, cap *= 2);
    }
    fclose(f);
    struct e2e_json *j = e2e_json_parse(buf, len, err, errlen);
    free(buf);
    return j;
}

/* ---- writing ---------------------------------------------------------------- */

static void write_json_str(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void write_num(FILE *f, double d)
{
    if (d == floor(d) && fabs(d) < 1e15)
        fprintf(f, "%lld", (long long)d);
    else
        fprintf(f, "%.17g", d);
}

void e2e_json_write(FILE *f, const struct e2e_json *j)
{
    if (!j) {
        fputs("null", f);
        return;
    }
    switch (j->type) {
    case EJ_NULL: fputs("null", f); break;
    case EJ_BOOL: fputs(j->b ? "true" : "false", f); break;
    case EJ_NUM: write_num(f, j->num); break;
    case EJ_STR: write_json_str(f, j->str, j->len); break;
    case EJ_ARR:
    case EJ_OBJ:
        fputc(j->type == EJ_OBJ ? '{' : '[', f);
        for (size_t i = 0; i < j->n; i++) {
            if (i)
                fputc(',', f);
            if (j->type == EJ_OBJ) {
                write_json_str(f, j->keys[i], strlen(j->keys[i]));
                fputc(':', f);
            }
            e2e_json_write(f, j->items[i]);
        }
        fputc(j->type == EJ_OBJ ? '}' : ']', f);
        break;
    }
}

/* A Lua string literal: printable ASCII as is, everything else \ddd. */
static void write_lua_str(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f)
            fprintf(f, "\\%03u", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/* Can key be written as a bare Lua name (key = v)? */
static bool lua_name(const char *key)
{
    static const char *const reserved[] = {
        "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto",
        "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until",
        "while", NULL};
    if (!((*key >= 'a' && *key <= 'z') || (*key >= 'A' && *key <= 'Z') || *key == '_'))
        return false;
    for (const char *p = key; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
              (*p >= '0' && *p <= '9')))
            return false;
    for (const char *const *r = reserved; *r; r++)
        if (strcmp(key, *r) == 0)
            return false;
    return true;
}

void e2e_json_write_lua(FILE *f, const struct e2e_json *j, int indent)
{
    if (!j) {
        fputs("nil", f);
        return;
    }
    switch (j->type) {
    case EJ_NULL: fputs("nil", f); break;
    case EJ_BOOL: fputs(j->b ? "true" : "false", f); break;
    case EJ_NUM: write_num(f, j->num); break;
    case EJ_STR: write_lua_str(f, j->str, j->len); break;
    case EJ_ARR:
    case EJ_OBJ:
        if (j->n == 0) {
            fputs("{}", f);
            break;
        }
        fputs("{\n", f);
        for (size_t i = 0; i < j->n; i++) {
            fprintf(f, "%*s", (indent + 1) * 2, "");
            if (j->type == EJ_OBJ && lua_name(j->keys[i])) {
                fprintf(f, "%s = ", j->keys[i]);
            } else if (j->type == EJ_OBJ) {
                fputc('[', f);
                write_lua_str(f, j->keys[i], strlen(j->keys[i]));
                fputs("] = ", f);
            }
            e2e_json_write_lua(f, j->items[i], indent + 1);
            fputs(",\n", f);
        }
        fprintf(f, "%*s}", indent * 2, "");
        break;
    }
}
