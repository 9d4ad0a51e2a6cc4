/* Compiling what a rule does once matched: its filters (header modifiers,
 * redirect, URL rewrite, mirror), a direct response, a timeout, and its
 * backends with their own filters. The result is prebuilt: one struct
 * rt_action per rule and per backend with filters (the rule's filters
 * followed by the backend's), whose header edits and redirect a decision can
 * point to as they are. */
#include "fields.h"
#include "router_int.h"

#include <stdlib.h>
#include <string.h>

#define MAX_BACKENDS 256
#define MAX_WEIGHT 1000000

struct edit_list {
    struct foyer_header_edit *v;
    unsigned n, cap;
};

/* An action being assembled. */
struct builder {
    struct edit_list req, resp, respond_headers;
    struct foyer_redirect redirect;
    struct foyer_respond respond;
    struct foyer_str host, path, redirect_prefix;
    uint32_t mirror;
    double timeout;
    int has_redirect, has_rewrite, has_respond, rewrite_prefix, redirect_has_prefix;
};

static void builder_init(struct builder *b)
{
    memset(b, 0, sizeof *b);
    b->mirror = RT_NONE;
}

static void builder_free(struct builder *b)
{
    free(b->req.v);
    free(b->resp.v);
    free(b->respond_headers.v);
}

static int edit_push(struct edit_list *l, enum foyer_header_op op, struct foyer_str name,
                     struct foyer_str value)
{
    if (l->n == l->cap) {
        unsigned cap = l->cap ? l->cap * 2 : 8;
        struct foyer_header_edit *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (struct foyer_header_edit){op, name, value};
    return 0;
}

static int edits_copy(struct edit_list *to, const struct edit_list *from)
{
    for (unsigned i = 0; i < from->n; i++)
        if (edit_push(to, from->v[i].op, from->v[i].name, from->v[i].value) != 0)
            return -1;
    return 0;
}

static int builder_copy(struct builder *to, const struct builder *from)
{
    *to = *from;
    to->req = to->resp = to->respond_headers = (struct edit_list){0};
    return edits_copy(&to->req, &from->req) | edits_copy(&to->resp, &from->resp) |
           edits_copy(&to->respond_headers, &from->respond_headers);
}

static int builder_empty(const struct builder *b)
{
    return b->req.n == 0 && b->resp.n == 0 && !b->has_redirect && !b->has_rewrite &&
           !b->has_respond && b->mirror == RT_NONE && b->timeout == 0;
}

static struct foyer_header_edits edits_freeze(struct rt_ruleset *rs,
                                              const struct edit_list *l)
{
    struct foyer_header_edits e = {NULL, 0};
    struct foyer_header_edit *v = l->n ? rt_alloc(rs, l->n * sizeof *v) : NULL;
    if (v == NULL) return e;
    memcpy(v, l->v, l->n * sizeof *v);
    e.v = v;
    e.n = l->n;
    return e;
}

/* The action in the rule set's arena; NULL when out of memory. */
static const struct rt_action *builder_freeze(struct rt_ruleset *rs,
                                              const struct builder *b)
{
    struct rt_action *a = rt_alloc(rs, sizeof *a);
    if (a == NULL) return NULL;
    a->request_headers = edits_freeze(rs, &b->req);
    a->response_headers = edits_freeze(rs, &b->resp);
    if ((b->req.n && !a->request_headers.v) || (b->resp.n && !a->response_headers.v))
        return NULL;
    if (b->has_redirect) {
        struct foyer_redirect *r = rt_alloc(rs, sizeof *r);
        if (r == NULL) return NULL;
        *r = b->redirect;
        a->redirect = r;
    }
    if (b->has_respond) {
        struct foyer_respond *r = rt_alloc(rs, sizeof *r);
        if (r == NULL) return NULL;
        *r = b->respond;
        r->headers = edits_freeze(rs, &b->respond_headers);
        a->respond = r;
    }
    a->host = b->host;
    a->path = b->path;
    a->redirect_prefix = b->redirect_prefix;
    a->rewrite_prefix = (uint8_t)b->rewrite_prefix;
    a->redirect_has_prefix = (uint8_t)b->redirect_has_prefix;
    a->mirror = b->mirror;
    a->timeout = b->timeout;
    return a;
}

/* ---- values used by several filters ----------------------------------------------- */

static int intern_str(struct rt_cc *cc, const struct json_value *at, struct foyer_str *s)
{
    s->p = rt_intern(cc->rs, s->p, s->len);
    return s->p ? 0 : rt_fail(cc, at, "out of memory");
}

/* One header edit from a name and a value (value unused for remove). */
static int add_edit(struct rt_cc *cc, const struct json_value *at, struct edit_list *l,
                    enum foyer_header_op op, struct foyer_str name,
                    struct foyer_str value)
{
    if (rt_check_token(cc, at, name, "header name") != 0) return -1;
    if (foyer_field_is_protected(name))
        return rt_fail(cc, at,
                       "'%.*s' cannot be edited: framing and connection fields are "
                       "the proxy's (for Host, use URLRewrite hostname)",
                       (int)name.len, name.p);
    if (rt_check_field_value(cc, at, value, "header value") != 0 ||
        intern_str(cc, at, &name) != 0 || intern_str(cc, at, &value) != 0)
        return -1;
    return edit_push(l, op, name, value) == 0 ? 0 : rt_fail(cc, at, "out of memory");
}

/* { name = ..., value = ... } of a list of edits */
static int compile_edit_pair(struct rt_cc *cc, const struct json_value *e,
                             struct edit_list *l, enum foyer_header_op op)
{
    enum { NAME, VALUE, NFIELDS };
    static struct rt_keys keys = RT_KEYS("name", "value");
    const struct json_value *f[NFIELDS];
    struct foyer_str name, value;
    if (rt_fields(cc, e, &keys, f) != 0) return -1;
    int rn = rt_string(cc, "name", f[NAME], &name),
        rv = rt_string(cc, "value", f[VALUE], &value);
    if (rn < 0 || rv < 0) return -1;
    if (rn == 0 || rv == 0) return rt_fail(cc, e, "expected { name = ..., value = ... }");
    return add_edit(cc, e, l, op, name, value);
}

/* set / add: a list of { name = ..., value = ... } (Gateway API) or a map
 * { ["X-Name"] = "value" }. */
static int compile_edit_pairs(struct rt_cc *cc, const struct json_value *v,
                              struct edit_list *l, enum foyer_header_op op)
{
    if (v->type == JSON_OBJECT) {
        for (size_t i = 0; i < v->u.obj.n; i++) {
            const struct json_member *m = &v->u.obj.m[i];
            if (m->value.type != JSON_STRING)
                return rt_fail(cc, &m->value, "%.*s: expected a string value",
                               (int)m->key_len, m->key);
            struct foyer_str name = {m->key, m->key_len};
            struct foyer_str value = {m->value.u.str.p, m->value.u.str.len};
            if (add_edit(cc, &m->value, l, op, name, value) != 0) return -1;
        }
        return 0;
    }
    if (rt_want_list(cc, v) != 0) return -1;
    for (size_t i = 0; i < v->u.arr.n; i++) {
        size_t mark = rt_path_index(cc, i);
        if (compile_edit_pair(cc, &v->u.arr.v[i], l, op) != 0) return -1;
        rt_path_pop(cc, mark);
    }
    return 0;
}

static int compile_edit_removes(struct rt_cc *cc, const struct json_value *v,
                                struct edit_list *l)
{
    if (rt_want_list(cc, v) != 0) return -1;
    for (size_t i = 0; i < v->u.arr.n; i++) {
        const struct json_value *e = &v->u.arr.v[i];
        size_t mark = rt_path_index(cc, i);
        if (e->type != JSON_STRING) return rt_fail(cc, e, "expected a header name");
        struct foyer_str name = {e->u.str.p, e->u.str.len}, none = {"", 0};
        if (add_edit(cc, e, l, FOYER_HEADER_REMOVE, name, none) != 0) return -1;
        rt_path_pop(cc, mark);
    }
    return 0;
}

/* set, then add, then remove, as Gateway API applies them; f holds the
 * three fields in that order. */
static int compile_edits(struct rt_cc *cc, const struct json_value *const *f,
                         struct edit_list *l)
{
    static const char *const names[] = {"set", "add", "remove"};
    static const enum foyer_header_op ops[] = {FOYER_HEADER_SET, FOYER_HEADER_ADD,
                                               FOYER_HEADER_REMOVE};
    for (int i = 0; i < 3; i++) {
        if (f[i] == NULL) continue;
        size_t mark = rt_path_key(cc, names[i]);
        int r = ops[i] == FOYER_HEADER_REMOVE ? compile_edit_removes(cc, f[i], l)
                                              : compile_edit_pairs(cc, f[i], l, ops[i]);
        if (r != 0) return -1;
        rt_path_pop(cc, mark);
    }
    return 0;
}

/* A host name for Host or Location: no wildcard. */
static int get_hostname(struct rt_cc *cc, const struct json_value *v,
                        struct foyer_str *out)
{
    int r = rt_string(cc, "hostname", v, out);
    if (r <= 0) return r;
    size_t mark = rt_path_key(cc, "hostname");
    const char *h = rt_host_name(cc, v, *out);
    if (h == NULL) return -1;
    if (h[0] == '*') return rt_fail(cc, v, "a wildcard is not a host name");
    rt_path_pop(cc, mark);
    *out = (struct foyer_str){h, strlen(h)};
    return 1;
}

/* path = { type = "ReplaceFullPath" | "ReplacePrefixMatch", value = "/..." }.
 * *prefix tells which; a prefix replacement is stored without trailing '/'. */
static int get_path_modifier(struct rt_cc *cc, const struct json_value *pv,
                             struct foyer_str *out, int *prefix)
{
    enum { TYPE, VALUE, NFIELDS };
    static struct rt_keys keys = RT_KEYS("type", "value");
    const struct json_value *f[NFIELDS];
    struct foyer_str type, value;
    if (pv == NULL) return 0;
    size_t mark = rt_path_key(cc, "path");
    if (rt_fields(cc, pv, &keys, f) != 0) return -1;
    int rt = rt_string(cc, "type", f[TYPE], &type),
        rv = rt_string(cc, "value", f[VALUE], &value);
    if (rt < 0 || rv < 0) return -1;
    if (rt == 0 || rv == 0)
        return rt_fail(cc, pv, "expected { type = ..., value = ... }");
    if (type.len == 15 && memcmp(type.p, "ReplaceFullPath", 15) == 0)
        *prefix = 0;
    else if (type.len == 18 && memcmp(type.p, "ReplacePrefixMatch", 18) == 0)
        *prefix = 1;
    else
        return rt_fail_at(cc, "type", f[TYPE],
                          "expected ReplaceFullPath or ReplacePrefixMatch");
    size_t vm = rt_path_key(cc, "value");
    if (rt_check_path(cc, f[VALUE], value) != 0) return -1;
    rt_path_pop(cc, vm);
    if (*prefix)
        while (value.len > 0 && value.p[value.len - 1] == '/')
            value.len--;
    if (intern_str(cc, pv, &value) != 0) return -1;
    rt_path_pop(cc, mark);
    *out = value;
    return 1;
}

/* ---- the filters: f holds the fields of the filter kind's keys -------------------- */

static int filter_request_headers(struct rt_cc *cc, const struct json_value *at,
                                  const struct json_value *const *f, struct builder *b)
{
    (void)at;
    return compile_edits(cc, f + 1, &b->req);
}

static int filter_response_headers(struct rt_cc *cc, const struct json_value *at,
                                   const struct json_value *const *f, struct builder *b)
{
    (void)at;
    return compile_edits(cc, f + 1, &b->resp);
}

static int filter_redirect(struct rt_cc *cc, const struct json_value *at,
                           const struct json_value *const *f, struct builder *b)
{
    enum { SCHEME = 1, HOSTNAME, PORT, PATH, STATUS };
    struct foyer_redirect *r = &b->redirect;
    struct foyer_str scheme, path;
    double port = 0, status = 302;
    int prefix = 0;
    if (b->has_redirect) return rt_fail(cc, at, "a rule takes one RequestRedirect");
    int rs = rt_string(cc, "scheme", f[SCHEME], &scheme);
    if (rs < 0) return -1;
    if (rs > 0 && !(scheme.len == 4 && memcmp(scheme.p, "http", 4) == 0) &&
        !(scheme.len == 5 && memcmp(scheme.p, "https", 5) == 0))
        return rt_fail_at(cc, "scheme", f[SCHEME], "expected \"http\" or \"https\"");
    if (get_hostname(cc, f[HOSTNAME], &r->host) < 0 ||
        rt_number(cc, "port", f[PORT], 1, 65535, 1, &port) < 0 ||
        rt_number(cc, "statusCode", f[STATUS], 301, 308, 1, &status) < 0)
        return -1;
    if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308)
        return rt_fail_at(cc, "statusCode", f[STATUS],
                          "expected 301, 302, 303, 307 or 308");
    int rp = get_path_modifier(cc, f[PATH], &path, &prefix);
    if (rp < 0) return -1;
    if (rs > 0 && intern_str(cc, at, &scheme) != 0) return -1;
    r->scheme = rs > 0 ? scheme : (struct foyer_str){NULL, 0};
    r->status = (int)status;
    /* Gateway API: no port given + a scheme given = that scheme's port */
    r->port = port ? (unsigned)port : rs > 0 ? (scheme.len == 5 ? 443u : 80u) : 0u;
    if (rp > 0 && !prefix) r->path = path;
    if (rp > 0 && prefix) b->redirect_prefix = path;
    b->redirect_has_prefix = rp > 0 && prefix;
    b->has_redirect = 1;
    return 0;
}

static int filter_rewrite(struct rt_cc *cc, const struct json_value *at,
                          const struct json_value *const *f, struct builder *b)
{
    enum { HOSTNAME = 1, PATH };
    int prefix = 0;
    if (b->has_rewrite) return rt_fail(cc, at, "a rule takes one URLRewrite");
    if (get_hostname(cc, f[HOSTNAME], &b->host) < 0) return -1;
    int rp = get_path_modifier(cc, f[PATH], &b->path, &prefix);
    if (rp < 0) return -1;
    b->rewrite_prefix = rp > 0 && prefix;
    b->has_rewrite = 1;
    return 0;
}

static int filter_mirror(struct rt_cc *cc, const struct json_value *at,
                         const struct json_value *const *f, struct builder *b)
{
    enum { SERVICE = 1 };
    const struct json_value *sv = f[SERVICE];
    if (sv == NULL) return rt_fail(cc, at, "RequestMirror needs a service");
    size_t mark = rt_path_key(cc, "service");
    if (rt_check_service_name(cc, sv) != 0) return -1;
    rt_path_pop(cc, mark);
    if (b->mirror != RT_NONE) return 0; /* the decision carries one mirror: the first */
    b->mirror = rt_service_slot(cc->rs, sv->u.str.p, sv->u.str.len);
    return b->mirror != RT_NONE ? 0 : rt_fail(cc, sv, "out of memory");
}

#define FILTER_MAX_FIELDS 6

static struct filter_kind {
    const char *type;
    int (*compile)(struct rt_cc *, const struct json_value *,
                   const struct json_value *const *, struct builder *);
    struct rt_keys keys; /* at most FILTER_MAX_FIELDS */
} filter_kinds[] = {
    {"RequestHeaderModifier", filter_request_headers,
     RT_KEYS("type", "set", "add", "remove")},
    {"ResponseHeaderModifier", filter_response_headers,
     RT_KEYS("type", "set", "add", "remove")},
    {"RequestRedirect", filter_redirect,
     RT_KEYS("type", "scheme", "hostname", "port", "path", "statusCode")},
    {"URLRewrite", filter_rewrite, RT_KEYS("type", "hostname", "path")},
    {"RequestMirror", filter_mirror, RT_KEYS("type", "service")},
};

static struct filter_kind *filter_kind(struct foyer_str type)
{
    for (size_t i = 0; i < sizeof filter_kinds / sizeof *filter_kinds; i++)
        if (strlen(filter_kinds[i].type) == type.len &&
            memcmp(filter_kinds[i].type, type.p, type.len) == 0)
            return &filter_kinds[i];
    return NULL;
}

static int compile_filter(struct rt_cc *cc, const struct json_value *v, struct builder *b,
                          int on_backend)
{
    static struct rt_keys type_only = RT_KEYS("type");
    const struct json_value *f[FILTER_MAX_FIELDS];
    struct foyer_str type;
    if (v->type != JSON_OBJECT && rt_fields(cc, v, &type_only, f) != 0) return -1;
    const struct json_value *tv = json_get(v, "type"); /* NULL for {} from Lua */
    int r = rt_string(cc, "type", tv, &type);
    if (r < 0) return -1;
    if (r == 0) return rt_fail(cc, v, "a filter needs a type");
    struct filter_kind *k = filter_kind(type);
    if (k == NULL)
        return rt_fail_at(cc, "type", tv,
                          "unknown filter '%.*s' (expected "
                          "RequestHeaderModifier, ResponseHeaderModifier, "
                          "RequestRedirect, URLRewrite or RequestMirror)",
                          (int)(type.len > 64 ? 64 : type.len), type.p);
    if (on_backend && k->compile == filter_redirect)
        return rt_fail(cc, v, "RequestRedirect belongs on the rule, not on a backend");
    if (rt_fields(cc, v, &k->keys, f) != 0) return -1;
    return k->compile(cc, v, f, b);
}

static int compile_filters(struct rt_cc *cc, const struct json_value *fv,
                           struct builder *b, int on_backend)
{
    if (fv == NULL) return 0;
    size_t mark = rt_path_key(cc, "filters");
    if (rt_want_list(cc, fv) != 0) return -1;
    for (size_t i = 0; i < fv->u.arr.n; i++) {
        size_t im = rt_path_index(cc, i);
        if (compile_filter(cc, &fv->u.arr.v[i], b, on_backend) != 0) return -1;
        rt_path_pop(cc, im);
    }
    rt_path_pop(cc, mark);
    if (b->has_redirect && b->has_rewrite)
        return rt_fail(cc, fv, "RequestRedirect and URLRewrite cannot be used together");
    return 0;
}

/* ---- rule-level extras: respond --------------------------------------------------- */

/* respond = { status = ..., body = ..., headers = { name = value } } */
static int compile_respond(struct rt_cc *cc, const struct json_value *rv,
                           struct builder *b)
{
    enum { STATUS, BODY, HEADERS, NFIELDS };
    static struct rt_keys keys = RT_KEYS("status", "body", "headers");
    const struct json_value *f[NFIELDS];
    double status = 200;
    if (rv == NULL) return 0;
    size_t mark = rt_path_key(cc, "respond");
    if (rt_fields(cc, rv, &keys, f) != 0 ||
        rt_number(cc, "status", f[STATUS], 200, 599, 1, &status) < 0 ||
        rt_string(cc, "body", f[BODY], &b->respond.body) < 0 ||
        (b->respond.body.p && intern_str(cc, rv, &b->respond.body) != 0))
        return -1;
    b->respond.status = (int)status;
    if (f[HEADERS] != NULL) {
        size_t hm = rt_path_key(cc, "headers");
        if (compile_edit_pairs(cc, f[HEADERS], &b->respond_headers, FOYER_HEADER_SET) !=
            0)
            return -1;
        rt_path_pop(cc, hm);
    }
    rt_path_pop(cc, mark);
    b->has_respond = 1;
    return 0;
}

/* ---- backends --------------------------------------------------------------------- */

/* "name" or { service = "name", weight = ..., filters = { ... } } */
static int compile_backend(struct rt_cc *cc, const struct json_value *v,
                           const struct builder *rule_b, struct rt_backend *be)
{
    enum { SERVICE, WEIGHT, FILTERS, NFIELDS };
    static struct rt_keys keys = RT_KEYS("service", "weight", "filters");
    const struct json_value *f[NFIELDS] = {v, NULL, NULL};
    double weight = 1;
    if (v->type != JSON_STRING) {
        if (rt_fields(cc, v, &keys, f) != 0) return -1;
        if (f[SERVICE] == NULL) return rt_fail(cc, v, "a backend needs a service");
        if (rt_number(cc, "weight", f[WEIGHT], 0, MAX_WEIGHT, 1, &weight) < 0) return -1;
    }
    size_t mark = rt_path_key(cc, "service");
    if (rt_check_service_name(cc, f[SERVICE]) != 0) return -1;
    rt_path_pop(cc, mark);
    be->service = rt_service_slot(cc->rs, f[SERVICE]->u.str.p, f[SERVICE]->u.str.len);
    be->weight = (uint32_t)weight;
    if (be->service == RT_NONE) return rt_fail(cc, v, "out of memory");
    if (f[FILTERS] == NULL) return 0;
    struct builder b;
    if (builder_copy(&b, rule_b) != 0) {
        builder_free(&b);
        return rt_fail(cc, v, "out of memory");
    }
    int r = compile_filters(cc, f[FILTERS], &b, 1);
    if (r == 0 && (be->action = builder_freeze(cc->rs, &b)) == NULL)
        r = rt_fail(cc, v, "out of memory");
    builder_free(&b);
    return r;
}

/* backends = { ... } or service = "name" */
static int compile_backends(struct rt_cc *cc, const struct json_value *at,
                            const struct json_value *bv, const struct json_value *sv,
                            const struct builder *rule_b, struct rt_rule *rule)
{
    struct rt_ruleset *rs = cc->rs;
    rule->backends = rs->nbackends;
    if (bv != NULL && sv != NULL)
        return rt_fail(cc, at, "give 'backends' or 'service', not both");
    if (sv != NULL) {
        size_t mark = rt_path_key(cc, "service");
        if (rt_check_service_name(cc, sv) != 0) return -1;
        rt_path_pop(cc, mark);
    }
    const struct json_value *items = sv;
    size_t n = sv != NULL;
    size_t mark = rt_path_key(cc, "backends");
    if (bv != NULL) {
        if (rt_want_list(cc, bv) != 0) return -1;
        items = bv->u.arr.v;
        n = bv->u.arr.n;
        if (n > MAX_BACKENDS)
            return rt_fail(cc, bv, "more than %d backends", MAX_BACKENDS);
    }
    for (size_t i = 0; i < n; i++) {
        size_t im = rt_path_index(cc, i);
        struct rt_backend *be = RT_PUSH(rs, backends);
        if (be == NULL) return rt_fail(cc, at, "out of memory");
        if (compile_backend(cc, &items[i], rule_b, be) != 0) return -1;
        rule->total_weight += be->weight;
        rt_path_pop(cc, im);
    }
    rt_path_pop(cc, mark);
    rule->nbackends = rs->nbackends - rule->backends;
    return 0;
}

/* ReplacePrefixMatch needs to know the matched prefix: every match of the
 * rule must be a PathPrefix one. */
static int check_prefix_matches(struct rt_cc *cc, const struct json_value *at,
                                const struct rt_rule *rule)
{
    for (uint32_t i = 0; i < rule->nmatches; i++)
        if (cc->rs->matches[rule->matches + i].type != RT_PREFIX)
            return rt_fail(cc, at,
                           "ReplacePrefixMatch needs PathPrefix matches, and "
                           "matches[%u] is not one",
                           i + 1);
    return 0;
}

static int uses_prefix(const struct rt_action *a)
{
    return a != NULL && (a->rewrite_prefix || a->redirect_has_prefix);
}

int rt_compile_actions(struct rt_cc *cc, const struct json_value *at,
                       const struct json_value *const *f, struct rt_rule *rule)
{
    struct rt_ruleset *rs = cc->rs;
    struct builder b;
    double timeout = 0;
    int r = -1;
    builder_init(&b);
    if (compile_filters(cc, f[RT_F_FILTERS], &b, 0) != 0 ||
        compile_respond(cc, f[RT_F_RESPOND], &b) != 0 ||
        rt_number(cc, "timeout", f[RT_F_TIMEOUT], 0.001, 86400, 0, &timeout) < 0)
        goto out;
    b.timeout = timeout;
    if (b.has_respond && (b.has_redirect || b.has_rewrite)) {
        rt_fail(cc, at,
                "'respond' cannot be combined with RequestRedirect or URLRewrite");
        goto out;
    }
    if (!builder_empty(&b) && (rule->action = builder_freeze(rs, &b)) == NULL) {
        rt_fail(cc, at, "out of memory");
        goto out;
    }
    if (compile_backends(cc, at, f[RT_F_BACKENDS], f[RT_F_SERVICE], &b, rule) != 0)
        goto out;
    r = uses_prefix(rule->action) ? check_prefix_matches(cc, at, rule) : 0;
    for (uint32_t i = 0; r == 0 && i < rule->nbackends; i++)
        if (uses_prefix(rs->backends[rule->backends + i].action))
            r = check_prefix_matches(cc, at, rule);
out:
    builder_free(&b);
    return r;
}
