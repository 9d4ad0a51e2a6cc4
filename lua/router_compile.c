/* Compiling router configuration values (JSON values, whether parsed from a
 * file or converted from Lua tables) into a rule set: the top-level settings,
 * routes with their host names and listener references, rules and matches.
 * Every error names the path to the offending value, and the file and line
 * when the value came from a JSON file. */
#include "router_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- errors and paths -------------------------------------------------------- */

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

int rt_fail(struct rt_cc *cc, const struct json_value *at, const char *fmt, ...)
{
    size_t n = 0;
    if (cc->file != NULL && at != NULL && at->line > 0)
        n += (size_t)snprintf(cc->err, cc->errlen, "%s:%u: ", cc->file, at->line);
    if (cc->plen > 0 && n < cc->errlen)
        n += (size_t)snprintf(cc->err + n, cc->errlen - n, "%s: ", cc->path);
    if (n < cc->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cc->err + n, cc->errlen - n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

size_t rt_path_key(struct rt_cc *cc, const char *key)
{
    size_t mark = cc->plen;
    int n = snprintf(cc->path + cc->plen, sizeof cc->path - cc->plen, "%s%s",
                     cc->plen ? "." : "", key);
    if (n > 0) cc->plen += (size_t)n;
    if (cc->plen >= sizeof cc->path) cc->plen = sizeof cc->path - 1;
    return mark;
}

size_t rt_path_index(struct rt_cc *cc, size_t i)
{
    size_t mark = cc->plen;
    int n = snprintf(cc->path + cc->plen, sizeof cc->path - cc->plen, "[%zu]", i + 1);
    if (n > 0) cc->plen += (size_t)n;
    if (cc->plen >= sizeof cc->path) cc->plen = sizeof cc->path - 1;
    return mark;
}

void rt_path_pop(struct rt_cc *cc, size_t mark)
{
    cc->plen = mark;
    cc->path[mark] = '\0';
}

/* ---- typed access ------------------------------------------------------------ */

static const char *type_name(const struct json_value *v)
{
    switch (v->type) {
    case JSON_NULL: return "null";
    case JSON_FALSE:
    case JSON_TRUE: return "a boolean";
    case JSON_NUMBER: return "a number";
    case JSON_STRING: return "a string";
    case JSON_ARRAY: return "a list";
    case JSON_OBJECT: return "an object";
    case JSON_OTHER: return v->u.str.p;
    }
    return "?";
}

/* An empty Lua table converts to an empty list; it is an empty object too. */
static int is_empty_list(const struct json_value *v)
{
    return v->type == JSON_ARRAY && v->u.arr.n == 0;
}

const struct json_value *rt_field(const struct json_value *obj, const char *key)
{
    const struct json_value *v = json_get(obj, key);
    return v != NULL && v->type != JSON_NULL ? v : NULL;
}

static int is_allowed(const char *const *allowed, const char *key, size_t len)
{
    for (; *allowed != NULL; allowed++)
        if (strlen(*allowed) == len && memcmp(*allowed, key, len) == 0) return 1;
    return 0;
}

int rt_want_object(struct rt_cc *cc, const struct json_value *v,
                   const char *const *allowed_keys)
{
    if (is_empty_list(v)) return 0;
    if (v->type != JSON_OBJECT)
        return rt_fail(cc, v, "expected an object (named fields), got %s", type_name(v));
    for (size_t i = 0; i < v->u.obj.n; i++) {
        const struct json_member *m = &v->u.obj.m[i];
        if (!is_allowed(allowed_keys, m->key, m->key_len))
            return rt_fail(cc, &m->value, "unknown field '%.*s'",
                           (int)(m->key_len > 64 ? 64 : m->key_len), m->key);
    }
    return 0;
}

int rt_want_list(struct rt_cc *cc, const struct json_value *v)
{
    if (v->type == JSON_ARRAY) return 0;
    return rt_fail(cc, v, "expected a list, got %s", type_name(v));
}

int rt_get_string(struct rt_cc *cc, const struct json_value *obj, const char *key,
                  struct foyer_str *out)
{
    const struct json_value *v = rt_field(obj, key);
    if (v == NULL) return 0;
    if (v->type != JSON_STRING) {
        size_t mark = rt_path_key(cc, key);
        rt_fail(cc, v, "expected a string, got %s", type_name(v));
        rt_path_pop(cc, mark);
        return -1;
    }
    out->p = v->u.str.p;
    out->len = v->u.str.len;
    return 1;
}

int rt_get_number(struct rt_cc *cc, const struct json_value *obj, const char *key,
                  double min, double max, int whole, double *out)
{
    const struct json_value *v = rt_field(obj, key);
    if (v == NULL) return 0;
    size_t mark = rt_path_key(cc, key);
    int r = 1;
    if (v->type != JSON_NUMBER)
        r = rt_fail(cc, v, "expected a number, got %s", type_name(v));
    else if (!(v->u.number >= min && v->u.number <= max))
        r = rt_fail(cc, v, "%g is out of range [%g, %g]", v->u.number, min, max);
    else if (whole && v->u.number != (double)(long long)v->u.number)
        r = rt_fail(cc, v, "expected a whole number, got %g", v->u.number);
    else
        *out = v->u.number;
    rt_path_pop(cc, mark);
    return r;
}

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

/* ---- top-level settings -------------------------------------------------------- */

static int compile_semantics(struct rt_cc *cc, const struct json_value *v)
{
    if (v->type == JSON_STRING && v->u.str.len == 7 && memcmp(v->u.str.p, "gateway", 7) == 0)
        cc->rs->settings.semantics = RT_GATEWAY;
    else if (v->type == JSON_STRING && v->u.str.len == 7 &&
             memcmp(v->u.str.p, "ingress", 7) == 0)
        cc->rs->settings.semantics = RT_INGRESS;
    else
        return rt_fail(cc, v, "expected \"gateway\" or \"ingress\"");
    return 0;
}

/* A service name: what `service "name" { ... }` accepts. */
static int check_service_name(struct rt_cc *cc, const struct json_value *v)
{
    if (v->type != JSON_STRING)
        return rt_fail(cc, v, "expected a service name, got %s", type_name(v));
    if (v->u.str.len == 0 || v->u.str.len > 255 || memchr(v->u.str.p, 0, v->u.str.len))
        return rt_fail(cc, v, "a service name is 1-255 bytes, without NUL");
    return 0;
}

static int compile_default(struct rt_cc *cc, const struct json_value *v)
{
    if (check_service_name(cc, v) != 0) return -1;
    cc->rs->settings.default_service = rt_intern(cc->rs, v->u.str.p, v->u.str.len);
    return cc->rs->settings.default_service ? 0 : rt_fail(cc, v, "out of memory");
}

static int compile_protocol(struct rt_cc *cc, const struct json_value *obj,
                            struct rt_listener_def *d)
{
    struct foyer_str s;
    int r = rt_get_string(cc, obj, "protocol", &s);
    if (r <= 0) return r;
    if (s.len == 4 && strncasecmp(s.p, "HTTP", 4) == 0) d->protocol = RT_HTTP;
    else if (s.len == 5 && strncasecmp(s.p, "HTTPS", 5) == 0) d->protocol = RT_HTTPS;
    else return rt_fail(cc, rt_field(obj, "protocol"), "protocol: expected HTTP or HTTPS");
    return 0;
}

static int compile_listener(struct rt_cc *cc, const struct json_value *v)
{
    static const char *const keys[] = {"name", "hostname", "port", "protocol", NULL};
    struct rt_ruleset *rs = cc->rs;
    struct rt_listener_def d = {0};
    struct foyer_str name, host;
    double port = 0;
    if (rt_want_object(cc, v, keys) != 0) return -1;
    int r = rt_get_string(cc, v, "name", &name);
    if (r < 0) return -1;
    if (r == 0 || name.len == 0) return rt_fail(cc, v, "a listener needs a name");
    for (uint32_t i = rs->settings.listeners; i < rs->nlistener_defs; i++)
        if (strlen(rs->listener_defs[i].name) == name.len &&
            memcmp(rs->listener_defs[i].name, name.p, name.len) == 0)
            return rt_fail(cc, v, "listener '%.*s' is declared twice", (int)name.len, name.p);
    d.name = rt_intern(rs, name.p, name.len);
    r = rt_get_string(cc, v, "hostname", &host);
    if (r < 0) return -1;
    if (r > 0) {
        size_t mark = rt_path_key(cc, "hostname");
        d.hostname = rt_host_name(cc, rt_field(v, "hostname"), host);
        rt_path_pop(cc, mark);
        if (d.hostname == NULL) return -1;
        if (strcmp(d.hostname, "*") == 0) d.hostname = NULL;
    }
    if (rt_get_number(cc, v, "port", 1, 65535, 1, &port) < 0) return -1;
    d.port = (uint32_t)port;
    if (compile_protocol(cc, v, &d) != 0) return -1;
    struct rt_listener_def *slot = RT_PUSH(rs, listener_defs);
    if (slot == NULL || d.name == NULL) return rt_fail(cc, v, "out of memory");
    *slot = d;
    return 0;
}

static int compile_listeners(struct rt_cc *cc, const struct json_value *v)
{
    struct rt_settings *s = &cc->rs->settings;
    if (s->has_listeners) return rt_fail(cc, v, "listeners given twice");
    if (rt_want_list(cc, v) != 0) return -1;
    s->has_listeners = 1;
    s->listeners = cc->rs->nlistener_defs;
    for (size_t i = 0; i < v->u.arr.n; i++) {
        size_t mark = rt_path_index(cc, i);
        if (compile_listener(cc, &v->u.arr.v[i]) != 0) return -1;
        rt_path_pop(cc, mark);
    }
    s->nlisteners = cc->rs->nlistener_defs - s->listeners;
    return 0;
}

int rt_compile_setting(struct rt_cc *cc, const char *key, size_t key_len,
                       const struct json_value *v)
{
    static const struct {
        const char *key;
        int (*fn)(struct rt_cc *, const struct json_value *);
    } settings[] = {{"semantics", compile_semantics},
                    {"default", compile_default},
                    {"listeners", compile_listeners}};
    for (size_t i = 0; i < sizeof settings / sizeof *settings; i++) {
        if (strlen(settings[i].key) != key_len || memcmp(settings[i].key, key, key_len))
            continue;
        if (v->type == JSON_NULL) return 0;
        size_t mark = rt_path_key(cc, settings[i].key);
        int r = settings[i].fn(cc, v);
        if (r == 0) rt_path_pop(cc, mark);
        return r;
    }
    return rt_fail(cc, v, "unknown field '%.*s' (expected semantics, default, listeners or "
                          "routes)",
                   (int)(key_len > 64 ? 64 : key_len), key);
}

/* ---- matches -------------------------------------------------------------------- */

/* A path as written in a rule or a filter: starts with '/', no whitespace,
 * control characters, '?' or '#'. */
static int check_path(struct rt_cc *cc, const struct json_value *at, struct foyer_str s)
{
    if (s.len == 0 || s.p[0] != '/') return rt_fail(cc, at, "a path must start with '/'");
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c <= 0x20 || c == 0x7f || c == '?' || c == '#')
            return rt_fail(cc, at, "a path cannot contain spaces, control characters, "
                                   "'?' or '#'");
    }
    return 0;
}

static int path_type(struct rt_cc *cc, const struct json_value *at, struct foyer_str t)
{
    static const struct {
        const char *name;
        int type;
    } types[] = {{"Exact", RT_EXACT},
                 {"PathPrefix", RT_PREFIX},
                 {"Prefix", RT_PREFIX},
                 {"ImplementationSpecific", RT_PREFIX},
                 {"RegularExpression", RT_REGEX}};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (strlen(types[i].name) == t.len && memcmp(types[i].name, t.p, t.len) == 0)
            return types[i].type;
    return rt_fail(cc, at, "unknown match type '%.*s' (expected Exact, PathPrefix, Prefix, "
                           "ImplementationSpecific or RegularExpression)",
                   (int)(t.len > 64 ? 64 : t.len), t.p);
}

/* The value of a path match: a regex that compiles, or a path. */
static int compile_path_value(struct rt_cc *cc, const struct json_value *at,
                              struct foyer_str value, struct rt_match *m,
                              struct rt_match_extra *x)
{
    if (m->type == RT_REGEX) {
        char err[128];
        x->path_re = rt_regex(cc->rs, value.p, value.len, err, sizeof err);
        if (x->path_re == NULL) return rt_fail(cc, at, "bad regular expression: %s", err);
    } else if (check_path(cc, at, value) != 0) {
        return -1;
    }
    if (m->type == RT_PREFIX)
        while (value.len > 0 && value.p[value.len - 1] == '/') value.len--, m->slashes++;
    m->path = rt_intern(cc->rs, value.p, value.len);
    m->path_len = (uint32_t)value.len;
    return m->path ? 0 : rt_fail(cc, at, "out of memory");
}

/* path = "/x" (PathPrefix) or { type = ..., value = ... }; absent: prefix "/". */
static int compile_path(struct rt_cc *cc, const struct json_value *pv, struct rt_match *m,
                        struct rt_match_extra *x)
{
    static const char *const keys[] = {"type", "value", NULL};
    struct foyer_str value = {"/", 1}, type = {"PathPrefix", 10};
    m->type = RT_PREFIX;
    if (pv == NULL) return compile_path_value(cc, pv, value, m, x);
    if (pv->type == JSON_STRING) {
        value = (struct foyer_str){pv->u.str.p, pv->u.str.len};
        return compile_path_value(cc, pv, value, m, x);
    }
    if (rt_want_object(cc, pv, keys) != 0 || rt_get_string(cc, pv, "type", &type) < 0 ||
        rt_get_string(cc, pv, "value", &value) < 0)
        return -1;
    const struct json_value *tv = rt_field(pv, "type"), *vv = rt_field(pv, "value");
    size_t mark = rt_path_key(cc, "type");
    int t = path_type(cc, tv ? tv : pv, type);
    rt_path_pop(cc, mark);
    if (t < 0) return -1;
    m->type = (uint8_t)t;
    mark = rt_path_key(cc, "value");
    if (compile_path_value(cc, vv ? vv : pv, value, m, x) != 0) return -1;
    rt_path_pop(cc, mark);
    return 0;
}

/* Appends one header or query condition: { name, value, type }. */
static int compile_kv(struct rt_cc *cc, const struct json_value *at, struct foyer_str name,
                      struct foyer_str value, struct foyer_str type, int header)
{
    struct rt_ruleset *rs = cc->rs;
    regex_t *re = NULL;
    if (header && rt_check_token(cc, at, name, "header name") != 0) return -1;
    if (!header && name.len == 0) return rt_fail(cc, at, "query parameter name is empty");
    if (type.len == 17 && memcmp(type.p, "RegularExpression", 17) == 0) {
        char err[128];
        re = rt_regex(rs, value.p, value.len, err, sizeof err);
        if (re == NULL) return rt_fail(cc, at, "bad regular expression: %s", err);
    } else if (!(type.len == 5 && memcmp(type.p, "Exact", 5) == 0)) {
        return rt_fail(cc, at, "unknown match type '%.*s' (expected Exact or "
                               "RegularExpression)",
                       (int)(type.len > 64 ? 64 : type.len), type.p);
    }
    struct rt_kv *kv = RT_PUSH(rs, kvs);
    if (kv == NULL) return rt_fail(cc, at, "out of memory");
    kv->name = rt_intern(rs, name.p, name.len);
    kv->value = rt_intern(rs, value.p, value.len);
    kv->name_len = (uint32_t)name.len;
    kv->value_len = (uint32_t)value.len;
    kv->re = re;
    return kv->name && kv->value ? 0 : rt_fail(cc, at, "out of memory");
}

static int compile_kv_item(struct rt_cc *cc, const struct json_value *v, int header)
{
    static const char *const keys[] = {"name", "value", "type", NULL};
    struct foyer_str name, value, type = {"Exact", 5};
    if (rt_want_object(cc, v, keys) != 0) return -1;
    int rn = rt_get_string(cc, v, "name", &name), rv = rt_get_string(cc, v, "value", &value);
    if (rn < 0 || rv < 0 || rt_get_string(cc, v, "type", &type) < 0) return -1;
    if (rn == 0 || rv == 0) return rt_fail(cc, v, "expected { name = ..., value = ... }");
    return compile_kv(cc, v, name, value, type, header);
}

/* headers / queryParams: a list of { name, value, type } or { name = value }.
 * Returns how many conditions were added, or -1. */
static int compile_kvs(struct rt_cc *cc, const struct json_value *v, const char *key,
                       int header)
{
    uint32_t first = cc->rs->nkvs;
    size_t mark = rt_path_key(cc, key);
    if (v->type == JSON_OBJECT) {
        for (size_t i = 0; i < v->u.obj.n; i++) {
            const struct json_member *m = &v->u.obj.m[i];
            if (m->value.type != JSON_STRING)
                return rt_fail(cc, &m->value, "%.*s: expected a string value",
                               (int)m->key_len, m->key);
            struct foyer_str name = {m->key, m->key_len}, type = {"Exact", 5};
            struct foyer_str value = {m->value.u.str.p, m->value.u.str.len};
            if (compile_kv(cc, &m->value, name, value, type, header) != 0) return -1;
        }
    } else {
        if (rt_want_list(cc, v) != 0) return -1;
        for (size_t i = 0; i < v->u.arr.n; i++) {
            size_t im = rt_path_index(cc, i);
            if (compile_kv_item(cc, &v->u.arr.v[i], header) != 0) return -1;
            rt_path_pop(cc, im);
        }
    }
    if (cc->rs->nkvs - first > 63) return rt_fail(cc, v, "more than 63 conditions");
    rt_path_pop(cc, mark);
    return (int)(cc->rs->nkvs - first);
}

static int compile_method(struct rt_cc *cc, const struct json_value *v,
                          struct rt_match_extra *x)
{
    struct foyer_str s;
    int r = rt_get_string(cc, v, "method", &s);
    if (r <= 0) return r;
    size_t mark = rt_path_key(cc, "method");
    if (rt_check_token(cc, rt_field(v, "method"), s, "method") != 0) return -1;
    rt_path_pop(cc, mark);
    x->method = rt_intern(cc->rs, s.p, s.len);
    x->method_len = (uint32_t)s.len;
    return x->method ? 1 : rt_fail(cc, v, "out of memory");
}

/* One match (its parts AND-ed), appended to rs->matches. */
static int compile_match(struct rt_cc *cc, const struct json_value *v, uint32_t rule,
                         uint32_t index, int check_keys)
{
    static const char *const keys[] = {"path", "method", "headers", "queryParams", NULL};
    struct rt_ruleset *rs = cc->rs;
    struct rt_match m = {.rule = rule, .index = (uint16_t)index, .extra = RT_NONE};
    struct rt_match_extra x = {.kv = rs->nkvs};
    const struct json_value *hv = rt_field(v, "headers"), *qv = rt_field(v, "queryParams");
    if (check_keys && rt_want_object(cc, v, keys) != 0) return -1;
    size_t mark = rt_path_key(cc, "path");
    if (compile_path(cc, rt_field(v, "path"), &m, &x) != 0) return -1;
    rt_path_pop(cc, mark);
    int nh = 0, nq = 0, has_method = compile_method(cc, v, &x);
    if (has_method < 0) return -1;
    if (hv != NULL && (nh = compile_kvs(cc, hv, "headers", 1)) < 0) return -1;
    if (qv != NULL && (nq = compile_kvs(cc, qv, "queryParams", 0)) < 0) return -1;
    x.nheaders = (uint16_t)nh;
    x.nquery = (uint16_t)nq;
    if (has_method || nh || nq || x.path_re) {
        struct rt_match_extra *e = RT_PUSH(rs, extras);
        if (e == NULL) return rt_fail(cc, v, "out of memory");
        *e = x;
        m.extra = rs->nextras - 1;
    }
    struct rt_match *slot = RT_PUSH(rs, matches);
    if (slot == NULL) return rt_fail(cc, v, "out of memory");
    *slot = m;
    return 0;
}

/* matches = { ... }, or the one-match shorthand (path, method, headers,
 * queryParams written on the rule), or nothing: prefix "/". */
static int compile_matches(struct rt_cc *cc, const struct json_value *v, uint32_t rule)
{
    const struct json_value *mv = rt_field(v, "matches");
    int shorthand = rt_field(v, "path") || rt_field(v, "method") || rt_field(v, "headers") ||
                    rt_field(v, "queryParams");
    if (mv != NULL && shorthand)
        return rt_fail(cc, v, "give either 'matches' or path/method/headers/queryParams "
                              "(a single match), not both");
    if (mv == NULL) return compile_match(cc, v, rule, 0, 0);
    size_t mark = rt_path_key(cc, "matches");
    if (rt_want_list(cc, mv) != 0) return -1;
    if (mv->u.arr.n == 0) {
        rt_path_pop(cc, mark);
        return compile_match(cc, mv, rule, 0, 0);
    }
    if (mv->u.arr.n > 64) return rt_fail(cc, mv, "more than 64 matches in one rule");
    for (size_t i = 0; i < mv->u.arr.n; i++) {
        size_t im = rt_path_index(cc, i);
        if (compile_match(cc, &mv->u.arr.v[i], rule, (uint32_t)i, 1) != 0) return -1;
        rt_path_pop(cc, im);
    }
    rt_path_pop(cc, mark);
    return 0;
}

/* ---- rules and routes ------------------------------------------------------------ */

#define RULE_KEYS                                                                        \
    "matches", "path", "method", "headers", "queryParams", "filters", "backends",        \
        "service", "respond", "timeout"

static int compile_rule(struct rt_cc *cc, const struct json_value *v, uint32_t route,
                        uint32_t index, int check_keys)
{
    static const char *const keys[] = {RULE_KEYS, NULL};
    struct rt_ruleset *rs = cc->rs;
    if (check_keys && rt_want_object(cc, v, keys) != 0) return -1;
    struct rt_rule *rule = RT_PUSH(rs, rules);
    if (rule == NULL) return rt_fail(cc, v, "out of memory");
    uint32_t ri = rs->nrules - 1;
    rule->route = route;
    rule->index = index;
    rule->matches = rs->nmatches;
    if (compile_matches(cc, v, ri) != 0) return -1;
    rs->rules[ri].nmatches = rs->nmatches - rs->rules[ri].matches;
    return rt_compile_actions(cc, v, &rs->rules[ri]);
}

static int compile_rules(struct rt_cc *cc, const struct json_value *v, uint32_t route)
{
    static const char *const inline_keys[] = {RULE_KEYS, NULL};
    const struct json_value *rv = rt_field(v, "rules");
    if (rv == NULL) return compile_rule(cc, v, route, 0, 0);
    for (size_t i = 0; inline_keys[i] != NULL; i++)
        if (rt_field(v, inline_keys[i]) != NULL)
            return rt_fail(cc, v, "give either 'rules' or the fields of a single rule "
                                  "('%s'), not both",
                           inline_keys[i]);
    size_t mark = rt_path_key(cc, "rules");
    if (rt_want_list(cc, rv) != 0) return -1;
    if (rv->u.arr.n == 0)
        return rt_fail(cc, rv, "empty (leave 'rules' out for one rule matching every path)");
    for (size_t i = 0; i < rv->u.arr.n; i++) {
        size_t im = rt_path_index(cc, i);
        if (compile_rule(cc, &rv->u.arr.v[i], route, (uint32_t)i, 1) != 0) return -1;
        rt_path_pop(cc, im);
    }
    rt_path_pop(cc, mark);
    return 0;
}

static int push_host(struct rt_cc *cc, const struct json_value *at, uint32_t first)
{
    struct rt_ruleset *rs = cc->rs;
    const char *h = rt_host_name(cc, at, (struct foyer_str){at->u.str.p, at->u.str.len});
    if (h == NULL) return -1;
    for (uint32_t i = first; i < rs->nhosts; i++)
        if (rs->hosts[i] == h) return 0; /* interned: equal names, equal pointers */
    const char **slot = RT_PUSH(rs, hosts);
    if (slot == NULL) return rt_fail(cc, at, "out of memory");
    *slot = h;
    return 0;
}

/* hostnames = { ... } or host = "..." */
static int compile_hosts(struct rt_cc *cc, const struct json_value *v, struct rt_route *r)
{
    const struct json_value *hv = rt_field(v, "hostnames"), *one = rt_field(v, "host");
    r->hosts = cc->rs->nhosts;
    if (hv != NULL && one != NULL) return rt_fail(cc, v, "give 'hostnames' or 'host', not both");
    size_t mark = rt_path_key(cc, one ? "host" : "hostnames");
    if (one != NULL) {
        if (one->type != JSON_STRING)
            return rt_fail(cc, one, "expected a host name, got %s", type_name(one));
        if (push_host(cc, one, r->hosts) != 0) return -1;
    } else if (hv != NULL) {
        if (rt_want_list(cc, hv) != 0) return -1;
        for (size_t i = 0; i < hv->u.arr.n; i++) {
            const struct json_value *h = &hv->u.arr.v[i];
            size_t im = rt_path_index(cc, i);
            if (h->type != JSON_STRING)
                return rt_fail(cc, h, "expected a host name, got %s", type_name(h));
            if (push_host(cc, h, r->hosts) != 0) return -1;
            rt_path_pop(cc, im);
        }
    }
    rt_path_pop(cc, mark);
    r->nhosts = cc->rs->nhosts - r->hosts;
    return 0;
}

static int compile_listener_refs(struct rt_cc *cc, const struct json_value *v,
                                 struct rt_route *r)
{
    const struct json_value *lv = rt_field(v, "listeners");
    r->listeners = cc->rs->nlistener_refs;
    if (lv == NULL) return 0;
    size_t mark = rt_path_key(cc, "listeners");
    if (rt_want_list(cc, lv) != 0) return -1;
    for (size_t i = 0; i < lv->u.arr.n; i++) {
        const struct json_value *n = &lv->u.arr.v[i];
        size_t im = rt_path_index(cc, i);
        if (n->type != JSON_STRING || n->u.str.len == 0)
            return rt_fail(cc, n, "expected a listener name, got %s", type_name(n));
        const char **slot = RT_PUSH(cc->rs, listener_refs);
        if (slot == NULL || (*slot = rt_intern(cc->rs, n->u.str.p, n->u.str.len)) == NULL)
            return rt_fail(cc, n, "out of memory");
        rt_path_pop(cc, im);
    }
    rt_path_pop(cc, mark);
    r->nlisteners = cc->rs->nlistener_refs - r->listeners;
    if (r->nlisteners == 0) return rt_fail(cc, lv, "empty (leave it out to attach to all)");
    return 0;
}

int rt_compile_route(struct rt_cc *cc, const struct json_value *v)
{
    static const char *const keys[] = {"name", "hostnames", "host", "listeners", "rules",
                                       RULE_KEYS, NULL};
    struct rt_ruleset *rs = cc->rs;
    struct rt_route r = {.line = v->line};
    struct foyer_str name;
    if (rt_want_object(cc, v, keys) != 0) return -1;
    int has_name = rt_get_string(cc, v, "name", &name);
    if (has_name < 0) return -1;
    if (has_name && (r.name = rt_intern(rs, name.p, name.len)) == NULL)
        return rt_fail(cc, v, "out of memory");
    if (compile_hosts(cc, v, &r) != 0 || compile_listener_refs(cc, v, &r) != 0) return -1;
    if (rs->nroutes == RT_NONE - 1) return rt_fail(cc, v, "too many routes");
    uint32_t ri = rs->nroutes;
    r.rules = rs->nrules;
    if (compile_rules(cc, v, ri) != 0) return -1;
    r.nrules = rs->nrules - r.rules;
    struct rt_route *slot = RT_PUSH(rs, routes);
    if (slot == NULL) return rt_fail(cc, v, "out of memory");
    *slot = r;
    return 0;
}
