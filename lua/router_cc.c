/* The compile context of foyer.router: errors that name the path to the bad
 * value ("routes[3].rules[1].path.type") and, for values from a JSON file,
 * its line; picking an object's fields in one pass; typed getters and the
 * checks shared by the compiler's files. */
#include "router_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void rt_cc_init(struct rt_cc *cc, struct rt_ruleset *rs, const char *file, char *err,
                size_t errlen)
{
    memset(cc, 0, sizeof *cc);
    cc->rs = rs;
    cc->file = file;
    cc->err = err;
    cc->errlen = errlen;
    err[0] = '\0';
}

/* ---- the path and errors ---------------------------------------------------------- */

static size_t path_push(struct rt_cc *cc, const char *key, size_t index)
{
    size_t mark = cc->plen;
    if (cc->plen < RT_PATH_MAX) {
        cc->path[cc->plen].key = key;
        cc->path[cc->plen].index = index;
    }
    cc->plen++;
    return mark;
}

size_t rt_path_key(struct rt_cc *cc, const char *key)
{
    return path_push(cc, key, 0);
}

size_t rt_path_index(struct rt_cc *cc, size_t i)
{
    return path_push(cc, NULL, i);
}

void rt_path_pop(struct rt_cc *cc, size_t mark)
{
    cc->plen = mark;
}

/* The path as text, written only for an error. */
static void path_text(const struct rt_cc *cc, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < cc->plen && i < RT_PATH_MAX && n < len; i++) {
        int k = cc->path[i].key
                    ? snprintf(out + n, len - n, "%s%s", n ? "." : "", cc->path[i].key)
                    : snprintf(out + n, len - n, "[%zu]", cc->path[i].index + 1);
        if (k > 0) n += (size_t)k;
    }
}

static int vfail(struct rt_cc *cc, const struct json_value *at, const char *fmt,
                 va_list ap)
{
    char path[256];
    size_t n = 0;
    path_text(cc, path, sizeof path);
    if (cc->file != NULL && at != NULL && at->line > 0)
        n += (size_t)snprintf(cc->err, cc->errlen, "%s:%u: ", cc->file, at->line);
    if (path[0] != '\0' && n < cc->errlen)
        n += (size_t)snprintf(cc->err + n, cc->errlen - n, "%s: ", path);
    if (n < cc->errlen) vsnprintf(cc->err + n, cc->errlen - n, fmt, ap);
    return -1;
}

int rt_fail(struct rt_cc *cc, const struct json_value *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(cc, at, fmt, ap);
    va_end(ap);
    return -1;
}

int rt_fail_at(struct rt_cc *cc, const char *key, const struct json_value *at,
               const char *fmt, ...)
{
    size_t mark = rt_path_key(cc, key);
    va_list ap;
    va_start(ap, fmt);
    vfail(cc, at, fmt, ap);
    va_end(ap);
    rt_path_pop(cc, mark);
    return -1;
}

/* ---- values ----------------------------------------------------------------------- */

const char *rt_type_name(const struct json_value *v)
{
    switch (v->type) {
    case JSON_NULL:
        return "null";
    case JSON_FALSE:
    case JSON_TRUE:
        return "a boolean";
    case JSON_NUMBER:
        return "a number";
    case JSON_STRING:
        return "a string";
    case JSON_ARRAY:
        return "a list";
    case JSON_OBJECT:
        return "an object";
    case JSON_OTHER:
        return v->u.str.p;
    }
    return "?";
}

/* Is key (len bytes, maybe holding NUL) the name? Never reads past the name. */
static inline int key_is(const char *name, const char *key, size_t len)
{
    size_t i = 0;
    while (i < len && name[i] != '\0' && name[i] == key[i])
        i++;
    return i == len && name[i] == '\0';
}

static unsigned key_hash(const char *key, size_t len)
{
    return (unsigned)(len * 7 + (unsigned char)key[0] * 3 + (unsigned char)key[len - 1]) &
           63;
}

static void keys_prepare(struct rt_keys *keys)
{
    for (int i = 0; keys->names[i] != NULL; i++) {
        unsigned h = key_hash(keys->names[i], strlen(keys->names[i]));
        while (keys->slot[h] != 0)
            h = (h + 1) & 63;
        keys->slot[h] = (uint8_t)(i + 1);
    }
    keys->ready = 1;
}

static int key_index(struct rt_keys *keys, const char *key, size_t len)
{
    if (!keys->ready) keys_prepare(keys);
    if (len == 0) return -1;
    for (unsigned h = key_hash(key, len); keys->slot[h] != 0; h = (h + 1) & 63)
        if (key_is(keys->names[keys->slot[h] - 1], key, len)) return keys->slot[h] - 1;
    return -1;
}

int rt_fields(struct rt_cc *cc, const struct json_value *obj, struct rt_keys *keys,
              const struct json_value **field)
{
    for (int n = 0; keys->names[n] != NULL; n++)
        field[n] = NULL;
    if (obj->type == JSON_ARRAY && obj->u.arr.n == 0) return 0; /* {} from Lua */
    if (obj->type != JSON_OBJECT)
        return rt_fail(cc, obj, "expected an object (named fields), got %s",
                       rt_type_name(obj));
    for (size_t i = 0; i < obj->u.obj.n; i++) {
        const struct json_member *m = &obj->u.obj.m[i];
        int k = key_index(keys, m->key, m->key_len);
        if (k < 0)
            return rt_fail(cc, &m->value, "unknown field '%.*s'",
                           (int)(m->key_len > 64 ? 64 : m->key_len), m->key);
        if (m->value.type != JSON_NULL) field[k] = &m->value;
    }
    return 0;
}

int rt_want_list(struct rt_cc *cc, const struct json_value *v)
{
    if (v->type == JSON_ARRAY) return 0;
    return rt_fail(cc, v, "expected a list, got %s", rt_type_name(v));
}

int rt_string(struct rt_cc *cc, const char *key, const struct json_value *v,
              struct foyer_str *out)
{
    if (v == NULL) return 0;
    if (v->type != JSON_STRING)
        return rt_fail_at(cc, key, v, "expected a string, got %s", rt_type_name(v));
    out->p = v->u.str.p;
    out->len = v->u.str.len;
    return 1;
}

int rt_number(struct rt_cc *cc, const char *key, const struct json_value *v, double min,
              double max, int whole, double *out)
{
    if (v == NULL) return 0;
    if (v->type != JSON_NUMBER)
        return rt_fail_at(cc, key, v, "expected a number, got %s", rt_type_name(v));
    if (!(v->u.number >= min && v->u.number <= max))
        return rt_fail_at(cc, key, v, "%g is out of range [%g, %g]", v->u.number, min,
                          max);
    if (whole && v->u.number != (double)(long long)v->u.number)
        return rt_fail_at(cc, key, v, "expected a whole number, got %g", v->u.number);
    *out = v->u.number;
    return 1;
}

/* ---- checks ----------------------------------------------------------------------- */

int rt_check_token(struct rt_cc *cc, const struct json_value *at, struct foyer_str s,
                   const char *what)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~";
    if (s.len == 0) return rt_fail(cc, at, "%s is empty", what);
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c != '\0' && strchr(tchar, c) != NULL))
            continue;
        return rt_fail(cc, at, "%s '%.*s' is not a valid token", what,
                       (int)(s.len > 64 ? 64 : s.len), s.p);
    }
    return 0;
}

int rt_check_field_value(struct rt_cc *cc, const struct json_value *at,
                         struct foyer_str s, const char *what)
{
    for (size_t i = 0; i < s.len; i++)
        if (s.p[i] == '\r' || s.p[i] == '\n' || s.p[i] == '\0')
            return rt_fail(cc, at, "%s contains CR, LF or NUL", what);
    return 0;
}

int rt_check_service_name(struct rt_cc *cc, const struct json_value *v)
{
    if (v->type != JSON_STRING)
        return rt_fail(cc, v, "expected a service name, got %s", rt_type_name(v));
    if (v->u.str.len == 0 || v->u.str.len > 255 || memchr(v->u.str.p, 0, v->u.str.len))
        return rt_fail(cc, v, "a service name is 1-255 bytes, without NUL");
    return 0;
}

int rt_check_path(struct rt_cc *cc, const struct json_value *at, struct foyer_str s)
{
    if (s.len == 0 || s.p[0] != '/') return rt_fail(cc, at, "a path must start with '/'");
    if (s.len > RT_MAX_PATH) return rt_fail(cc, at, "longer than %d bytes", RT_MAX_PATH);
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c <= 0x20 || c == 0x7f || c == '?' || c == '#')
            return rt_fail(cc, at,
                           "a path cannot contain spaces, control characters, "
                           "'?' or '#'");
    }
    return 0;
}
