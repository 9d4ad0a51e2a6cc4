/* Compiling router configuration values (JSON values, whether parsed from a
 * file or converted from Lua tables) into a rule set: the top-level settings,
 * routes with their host names and listener references, rules and matches.
 * What a rule does once matched is router_filters.c. */
#include "router_int.h"

#include <stdio.h>
#include <string.h>

/* ---- top-level settings ----------------------------------------------------------- */

static int compile_semantics(struct rt_cc *cc, const struct json_value *v)
{
    if (v->type == JSON_STRING && v->u.str.len == 7 &&
        memcmp(v->u.str.p, "gateway", 7) == 0)
        cc->rs->settings.semantics = RT_GATEWAY;
    else if (v->type == JSON_STRING && v->u.str.len == 7 &&
             memcmp(v->u.str.p, "ingress", 7) == 0)
        cc->rs->settings.semantics = RT_INGRESS;
    else
        return rt_fail(cc, v, "expected \"gateway\" or \"ingress\"");
    return 0;
}

static int compile_default(struct rt_cc *cc, const struct json_value *v)
{
    if (rt_check_service_name(cc, v) != 0) return -1;
    cc->rs->settings.default_service = rt_intern(cc->rs, v->u.str.p, v->u.str.len);
    return cc->rs->settings.default_service ? 0 : rt_fail(cc, v, "out of memory");
}

static int compile_protocol(struct rt_cc *cc, const struct json_value *v,
                            struct rt_listener_def *d)
{
    struct foyer_str s;
    int r = rt_string(cc, "protocol", v, &s);
    if (r <= 0) return r;
    if (s.len == 4 && strncasecmp(s.p, "HTTP", 4) == 0)
        d->protocol = RT_HTTP;
    else if (s.len == 5 && strncasecmp(s.p, "HTTPS", 5) == 0)
        d->protocol = RT_HTTPS;
    else
        return rt_fail_at(cc, "protocol", v, "expected HTTP or HTTPS");
    return 0;
}

static int listener_declared(const struct rt_ruleset *rs, struct foyer_str name)
{
    for (uint32_t i = rs->settings.listeners; i < rs->nlistener_defs; i++)
        if (strlen(rs->listener_defs[i].name) == name.len &&
            memcmp(rs->listener_defs[i].name, name.p, name.len) == 0)
            return 1;
    return 0;
}

static int compile_listener(struct rt_cc *cc, const struct json_value *v)
{
    enum { NAME, HOSTNAME, PORT, PROTOCOL, NFIELDS };
    static struct rt_keys keys = RT_KEYS("name", "hostname", "port", "protocol");
    const struct json_value *f[NFIELDS];
    struct rt_ruleset *rs = cc->rs;
    struct rt_listener_def d = {0};
    struct foyer_str name = {NULL, 0}, host;
    double port = 0;
    if (rt_fields(cc, v, &keys, f) != 0 || rt_string(cc, "name", f[NAME], &name) < 0)
        return -1;
    if (name.len == 0) return rt_fail(cc, v, "a listener needs a name");
    if (listener_declared(rs, name))
        return rt_fail(cc, v, "listener '%.*s' is declared twice", (int)name.len, name.p);
    d.name = rt_intern(rs, name.p, name.len);
    int r = rt_string(cc, "hostname", f[HOSTNAME], &host);
    if (r < 0) return -1;
    if (r > 0) {
        size_t mark = rt_path_key(cc, "hostname");
        d.hostname = rt_host_name(cc, f[HOSTNAME], host);
        if (d.hostname == NULL) return -1;
        rt_path_pop(cc, mark);
        if (strcmp(d.hostname, "*") == 0) d.hostname = NULL;
    }
    if (rt_number(cc, "port", f[PORT], 1, 65535, 1, &port) < 0 ||
        compile_protocol(cc, f[PROTOCOL], &d) != 0)
        return -1;
    d.port = (uint32_t)port;
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
    return rt_fail(cc, v,
                   "unknown field '%.*s' (expected semantics, default, listeners or "
                   "routes)",
                   (int)(key_len > 64 ? 64 : key_len), key);
}

/* ---- matches ---------------------------------------------------------------------- */

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
    return rt_fail_at(cc, "type", at,
                      "unknown match type '%.*s' (expected Exact, PathPrefix, Prefix, "
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
        if (value.len > RT_MAX_PATH)
            return rt_fail(cc, at, "longer than %d bytes", RT_MAX_PATH);
        x->path_re = rt_regex(cc->rs, value.p, value.len, err, sizeof err);
        if (x->path_re == NULL) return rt_fail(cc, at, "bad regular expression: %s", err);
    } else if (rt_check_path(cc, at, value) != 0) {
        return -1;
    }
    if (m->type == RT_PREFIX)
        while (value.len > 0 && value.p[value.len - 1] == '/')
            value.len--, m->slashes++;
    m->path = rt_intern(cc->rs, value.p, value.len);
    m->path_len = (uint32_t)value.len;
    return m->path ? 0 : rt_fail(cc, at, "out of memory");
}

/* path = "/x" (PathPrefix) or { type = ..., value = ... }; absent: prefix "/". */
static int compile_path(struct rt_cc *cc, const struct json_value *pv, struct rt_match *m,
                        struct rt_match_extra *x)
{
    enum { TYPE, VALUE, NFIELDS };
    static struct rt_keys keys = RT_KEYS("type", "value");
    const struct json_value *f[NFIELDS];
    struct foyer_str value = {"/", 1}, type = {"PathPrefix", 10};
    m->type = RT_PREFIX;
    if (pv == NULL) return compile_path_value(cc, pv, value, m, x);
    if (pv->type == JSON_STRING) {
        value = (struct foyer_str){pv->u.str.p, pv->u.str.len};
        return compile_path_value(cc, pv, value, m, x);
    }
    if (rt_fields(cc, pv, &keys, f) != 0 || rt_string(cc, "type", f[TYPE], &type) < 0 ||
        rt_string(cc, "value", f[VALUE], &value) < 0)
        return -1;
    int t = path_type(cc, f[TYPE] ? f[TYPE] : pv, type);
    if (t < 0) return -1;
    m->type = (uint8_t)t;
    size_t mark = rt_path_key(cc, "value");
    if (compile_path_value(cc, f[VALUE] ? f[VALUE] : pv, value, m, x) != 0) return -1;
    rt_path_pop(cc, mark);
    return 0;
}

/* Appends one header or query condition. */
static int compile_kv(struct rt_cc *cc, const struct json_value *at,
                      struct foyer_str name, struct foyer_str value,
                      struct foyer_str type, int header)
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
        return rt_fail(cc, at,
                       "unknown match type '%.*s' (expected Exact or "
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

/* { name = ..., value = ..., type = ... } */
static int compile_kv_item(struct rt_cc *cc, const struct json_value *v, int header)
{
    enum { NAME, VALUE, TYPE, NFIELDS };
    static struct rt_keys keys = RT_KEYS("name", "value", "type");
    const struct json_value *f[NFIELDS];
    struct foyer_str name, value, type = {"Exact", 5};
    if (rt_fields(cc, v, &keys, f) != 0) return -1;
    int rn = rt_string(cc, "name", f[NAME], &name),
        rv = rt_string(cc, "value", f[VALUE], &value);
    if (rn < 0 || rv < 0 || rt_string(cc, "type", f[TYPE], &type) < 0) return -1;
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
    int r = rt_string(cc, "method", v, &s);
    if (r <= 0) return r;
    size_t mark = rt_path_key(cc, "method");
    if (rt_check_token(cc, v, s, "method") != 0) return -1;
    rt_path_pop(cc, mark);
    x->method = rt_intern(cc->rs, s.p, s.len);
    x->method_len = (uint32_t)s.len;
    return x->method ? 1 : rt_fail(cc, v, "out of memory");
}

/* One match from its fields f (path, method, headers, queryParams; the
 * order of enum rt_rule_field), appended to rs->matches. */
static int compile_match(struct rt_cc *cc, const struct json_value *at,
                         const struct json_value *const *f, uint32_t rule)
{
    struct rt_ruleset *rs = cc->rs;
    struct rt_match m = {.rule = rule, .extra = RT_NONE};
    struct rt_match_extra x = {.kv = rs->nkvs};
    size_t mark = rt_path_key(cc, "path");
    if (compile_path(cc, f[RT_F_PATH], &m, &x) != 0) return -1;
    rt_path_pop(cc, mark);
    int nh = 0, nq = 0, has_method = compile_method(cc, f[RT_F_METHOD], &x);
    if (has_method < 0) return -1;
    if (f[RT_F_HEADERS] && (nh = compile_kvs(cc, f[RT_F_HEADERS], "headers", 1)) < 0)
        return -1;
    if (f[RT_F_QUERY] && (nq = compile_kvs(cc, f[RT_F_QUERY], "queryParams", 0)) < 0)
        return -1;
    x.nheaders = (uint16_t)nh;
    x.nquery = (uint16_t)nq;
    if (has_method || nh || nq || x.path_re) {
        struct rt_match_extra *e = RT_PUSH(rs, extras);
        if (e == NULL) return rt_fail(cc, at, "out of memory");
        *e = x;
        m.extra = rs->nextras - 1;
    }
    struct rt_match *slot = RT_PUSH(rs, matches);
    if (slot == NULL) return rt_fail(cc, at, "out of memory");
    *slot = m;
    return 0;
}

/* matches = { ... }, or the one-match shorthand (path, method, headers,
 * queryParams written on the rule), or nothing: prefix "/". */
static int compile_matches(struct rt_cc *cc, const struct json_value *at,
                           const struct json_value *const *f, uint32_t rule)
{
    static struct rt_keys keys = RT_KEYS("path", "method", "headers", "queryParams");
    static const struct json_value *const none[RT_F_QUERY + 1];
    const struct json_value *mv = f[RT_F_MATCHES], *mf[RT_F_QUERY + 1];
    int shorthand = f[RT_F_PATH] || f[RT_F_METHOD] || f[RT_F_HEADERS] || f[RT_F_QUERY];
    if (mv != NULL && shorthand)
        return rt_fail(cc, at,
                       "give either 'matches' or path/method/headers/queryParams "
                       "(a single match), not both");
    if (mv == NULL) return compile_match(cc, at, f, rule);
    size_t mark = rt_path_key(cc, "matches");
    if (rt_want_list(cc, mv) != 0) return -1;
    if (mv->u.arr.n > 64) return rt_fail(cc, mv, "more than 64 matches in one rule");
    if (mv->u.arr.n == 0) {
        rt_path_pop(cc, mark);
        return compile_match(cc, mv, none, rule);
    }
    for (size_t i = 0; i < mv->u.arr.n; i++) {
        size_t im = rt_path_index(cc, i);
        if (rt_fields(cc, &mv->u.arr.v[i], &keys, mf) != 0 ||
            compile_match(cc, &mv->u.arr.v[i], mf, rule) != 0)
            return -1;
        rt_path_pop(cc, im);
    }
    rt_path_pop(cc, mark);
    return 0;
}

/* ---- rules and routes ------------------------------------------------------------- */

/* A rule from its fields (at: where it is written). */
static int compile_rule(struct rt_cc *cc, const struct json_value *at,
                        const struct json_value *const *f, uint32_t route)
{
    struct rt_ruleset *rs = cc->rs;
    struct rt_rule *rule = RT_PUSH(rs, rules);
    if (rule == NULL) return rt_fail(cc, at, "out of memory");
    uint32_t ri = rs->nrules - 1;
    rule->route = route;
    rule->matches = rs->nmatches;
    if (compile_matches(cc, at, f, ri) != 0) return -1;
    rs->rules[ri].nmatches = rs->nmatches - rs->rules[ri].matches;
    return rt_compile_actions(cc, at, f, &rs->rules[ri]);
}

static int compile_rules(struct rt_cc *cc, const struct json_value *rv, uint32_t route)
{
    static struct rt_keys keys = RT_KEYS(RT_RULE_KEYS);
    const struct json_value *f[RT_RULE_FIELDS];
    size_t mark = rt_path_key(cc, "rules");
    if (rt_want_list(cc, rv) != 0) return -1;
    if (rv->u.arr.n == 0)
        return rt_fail(cc, rv,
                       "empty (leave 'rules' out for one rule matching every path)");
    for (size_t i = 0; i < rv->u.arr.n; i++) {
        size_t im = rt_path_index(cc, i);
        if (rt_fields(cc, &rv->u.arr.v[i], &keys, f) != 0 ||
            compile_rule(cc, &rv->u.arr.v[i], f, route) != 0)
            return -1;
        rt_path_pop(cc, im);
    }
    rt_path_pop(cc, mark);
    return 0;
}

static int push_host(struct rt_cc *cc, const struct json_value *at, uint32_t first)
{
    struct rt_ruleset *rs = cc->rs;
    if (at->type != JSON_STRING)
        return rt_fail(cc, at, "expected a host name, got %s", rt_type_name(at));
    const char *h = rt_host_name(cc, at, (struct foyer_str){at->u.str.p, at->u.str.len});
    if (h == NULL) return -1;
    for (uint32_t i = first; i < rs->nhosts; i++)
        if (strcmp(rs->hosts[i], h) == 0) return 0;
    const char **slot = RT_PUSH(rs, hosts);
    if (slot == NULL) return rt_fail(cc, at, "out of memory");
    *slot = h;
    return 0;
}

/* hostnames = { ... } or host = "..." */
static int compile_hosts(struct rt_cc *cc, const struct json_value *at,
                         const struct json_value *hv, const struct json_value *one,
                         struct rt_route *r)
{
    r->hosts = cc->rs->nhosts;
    if (hv != NULL && one != NULL)
        return rt_fail(cc, at, "give 'hostnames' or 'host', not both");
    size_t mark = rt_path_key(cc, one ? "host" : "hostnames");
    if (one != NULL && push_host(cc, one, r->hosts) != 0) return -1;
    if (hv != NULL && rt_want_list(cc, hv) != 0) return -1;
    for (size_t i = 0; hv != NULL && i < hv->u.arr.n; i++) {
        size_t im = rt_path_index(cc, i);
        if (push_host(cc, &hv->u.arr.v[i], r->hosts) != 0) return -1;
        rt_path_pop(cc, im);
    }
    rt_path_pop(cc, mark);
    r->nhosts = cc->rs->nhosts - r->hosts;
    return 0;
}

static int compile_listener_refs(struct rt_cc *cc, const struct json_value *lv,
                                 struct rt_route *r)
{
    r->listeners = cc->rs->nlistener_refs;
    if (lv == NULL) return 0;
    size_t mark = rt_path_key(cc, "listeners");
    if (rt_want_list(cc, lv) != 0) return -1;
    for (size_t i = 0; i < lv->u.arr.n; i++) {
        const struct json_value *n = &lv->u.arr.v[i];
        size_t im = rt_path_index(cc, i);
        if (n->type != JSON_STRING || n->u.str.len == 0)
            return rt_fail(cc, n, "expected a listener name, got %s", rt_type_name(n));
        const char **slot = RT_PUSH(cc->rs, listener_refs);
        if (slot == NULL || (*slot = rt_intern(cc->rs, n->u.str.p, n->u.str.len)) == NULL)
            return rt_fail(cc, n, "out of memory");
        rt_path_pop(cc, im);
    }
    r->nlisteners = cc->rs->nlistener_refs - r->listeners;
    if (r->nlisteners == 0)
        return rt_fail(cc, lv, "empty (leave it out to attach to all)");
    rt_path_pop(cc, mark);
    return 0;
}

/* The rule fields present in a route that has 'rules' too: the first, or -1. */
static int inline_rule_field(const struct json_value *const *f)
{
    for (int i = 0; i < RT_RULE_FIELDS; i++)
        if (f[i] != NULL) return i;
    return -1;
}

int rt_compile_route(struct rt_cc *cc, const struct json_value *v)
{
    enum { NAME = RT_RULE_FIELDS, HOSTNAMES, HOST, LISTENERS, RULES, NFIELDS };
    static struct rt_keys keys =
        RT_KEYS(RT_RULE_KEYS, "name", "hostnames", "host", "listeners", "rules");
    static const char *const rule_keys[] = {RT_RULE_KEYS};
    const struct json_value *f[NFIELDS];
    struct rt_ruleset *rs = cc->rs;
    struct rt_route r = {.line = v->line};
    struct foyer_str name;
    if (rt_fields(cc, v, &keys, f) != 0) return -1;
    int has_name = rt_string(cc, "name", f[NAME], &name);
    if (has_name < 0) return -1;
    if (has_name && (r.name = rt_intern(rs, name.p, name.len)) == NULL)
        return rt_fail(cc, v, "out of memory");
    if (compile_hosts(cc, v, f[HOSTNAMES], f[HOST], &r) != 0 ||
        compile_listener_refs(cc, f[LISTENERS], &r) != 0)
        return -1;
    if (rs->nroutes == RT_NONE - 1) return rt_fail(cc, v, "too many routes");
    int inl = inline_rule_field(f);
    if (f[RULES] != NULL && inl >= 0)
        return rt_fail(cc, v,
                       "give either 'rules' or the fields of a single rule ('%s'), "
                       "not both",
                       rule_keys[inl]);
    r.rules = rs->nrules;
    if (f[RULES] ? compile_rules(cc, f[RULES], rs->nroutes)
                 : compile_rule(cc, v, f, rs->nroutes))
        return -1;
    r.nrules = rs->nrules - r.rules;
    struct rt_route *slot = RT_PUSH(rs, routes);
    if (slot == NULL) return rt_fail(cc, v, "out of memory");
    *slot = r;
    return 0;
}
