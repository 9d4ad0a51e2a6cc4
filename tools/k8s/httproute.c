/* HTTPRoute rules -> router rules. The router's rule shape is Gateway API's, so
 * most of this is respelling: matches as they are (Exact, PathPrefix and
 * RegularExpression paths; header and query parameter matches; method), filters
 * from their Gateway API members (requestHeaderModifier: {...}) to the router's
 * flat form, backendRefs to foyer services. What the router cannot do (timeouts,
 * retries, session persistence, CORS, extension filters, a mirror fraction) is
 * reported. */
#include "k8s.h"

#include <string.h>

/* A backendRef that cannot be served keeps its share of the traffic, answered with
 * 500: a service name that is never declared ("invalid:" cannot start a
 * namespace/name:port). */
static const char *invalid_service(const char *why)
{
    return k8s_printf("invalid:%s", why);
}

/* ---- backends -------------------------------------------------------------------- */

static const char *service_ref(struct out *o, struct at *a, const struct kn *ref)
{
    const char *group = get_str(a, ref, "group"), *kind = get_str(a, ref, "kind");
    const char *name = get_str(a, ref, "name"), *ns = get_str(a, ref, "namespace");
    struct backend_ref b = {.ns = ns ? ns : a->o->ns, .name = name};
    if ((group && *group) || (kind && strcmp(kind, "Service") != 0)) {
        warn_at(a, ref, "backend kind %s%s%s is not supported: 500", group ? group : "",
                group && *group ? "/" : "", kind ? kind : "Service");
        return invalid_service(k8s_printf("%s/%s", kind ? kind : "?", name ? name : "?"));
    }
    if (name == NULL || get_int(a, ref, "port", 1, 65535, &b.port) != 1) {
        warn_at(a, ref, "a Service backend needs name and port: 500");
        return invalid_service("no-port");
    }
    if (!reference_granted("HTTPRoute", a->o->ns, "Service", b.ns, name)) {
        warn_at(a, ref,
                "Service %s/%s in another namespace without a ReferenceGrant: 500", b.ns,
                name);
        return invalid_service(k8s_printf("%s/%s", b.ns, name));
    }
    return backend_service(o, a, ref, &b);
}

static struct kn *filters(struct out *o, struct at *a, const struct kn *list);

static struct kn *backend(struct out *o, struct at *a, const struct kn *ref)
{
    static const char *const fields[] = {"group", "kind",   "name",    "namespace",
                                         "port",  "weight", "filters", NULL};
    check_fields(a, ref, fields);
    struct kn *b = kn_new(KN_MAP, 0);
    long weight;
    kn_set(b, "service", kn_string(service_ref(o, a, ref)));
    if (get_int(a, ref, "weight", 0, 1000000, &weight) == 1)
        kn_set(b, "weight", kn_number(weight));
    const struct kn *fs = get_seq(a, ref, "filters");
    if (kn_len(fs)) {
        size_t mark = at_key(a, "filters");
        kn_set(b, "filters", filters(o, a, fs));
        at_pop(a, mark);
    }
    return b;
}

static struct kn *backends(struct out *o, struct at *a, const struct kn *refs)
{
    struct kn *bs = kn_new(KN_SEQ, 0);
    size_t mark = at_key(a, "backendRefs");
    for (size_t i = 0; i < kn_len(refs); i++) {
        size_t im = at_index(a, i);
        kn_push(bs, backend(o, a, refs->v[i]));
        at_pop(a, im);
    }
    at_pop(a, mark);
    return bs;
}

/* ---- filters --------------------------------------------------------------------- */

/* set / add: [{name, value}] as they are; remove: [names]. */
static struct kn *header_modifier(struct at *a, const char *type, const struct kn *m)
{
    static const char *const fields[] = {"set", "add", "remove", NULL};
    check_fields(a, m, fields);
    struct kn *f = kn_new(KN_MAP, 0);
    kn_set(f, "type", kn_string(type));
    for (const char *const *k = fields; *k; k++) {
        const struct kn *v = get_seq(a, m, *k);
        if (v != NULL) kn_set(f, *k, (struct kn *)v);
    }
    return f;
}

/* path = { type = ReplaceFullPath, replaceFullPath = "/x" } -> { type, value } */
static struct kn *path_modifier(struct at *a, const struct kn *p)
{
    static const char *const fields[] = {"type", "replaceFullPath", "replacePrefixMatch",
                                         NULL};
    size_t mark = at_key(a, "path");
    check_fields(a, p, fields);
    const char *type = get_str(a, p, "type"), *value = NULL;
    if (type && strcmp(type, "ReplaceFullPath") == 0)
        value = get_str(a, p, "replaceFullPath");
    else if (type && strcmp(type, "ReplacePrefixMatch") == 0)
        value = get_str(a, p, "replacePrefixMatch");
    at_pop(a, mark);
    if (value == NULL) {
        error_at(a, p,
                 "path: expected type ReplaceFullPath or ReplacePrefixMatch and its "
                 "value");
        return NULL;
    }
    return kn_pair("type", type, "value", value);
}

static struct kn *redirect(struct at *a, const struct kn *r)
{
    static const char *const fields[] = {"scheme", "hostname",   "path",
                                         "port",   "statusCode", NULL};
    check_fields(a, r, fields);
    struct kn *f = kn_new(KN_MAP, 0);
    long n;
    kn_set(f, "type", kn_string("RequestRedirect"));
    if (get_str(a, r, "scheme")) kn_set(f, "scheme", kn_string(get_str(a, r, "scheme")));
    if (get_str(a, r, "hostname"))
        kn_set(f, "hostname", kn_string(get_str(a, r, "hostname")));
    if (get_map(a, r, "path")) {
        struct kn *p = path_modifier(a, kn_get(r, "path"));
        if (p) kn_set(f, "path", p);
    }
    if (get_int(a, r, "port", 1, 65535, &n) == 1) kn_set(f, "port", kn_number(n));
    if (get_int(a, r, "statusCode", 100, 599, &n) == 1)
        kn_set(f, "statusCode", kn_number(n));
    return f;
}

static struct kn *rewrite(struct at *a, const struct kn *r)
{
    static const char *const fields[] = {"hostname", "path", NULL};
    check_fields(a, r, fields);
    struct kn *f = kn_new(KN_MAP, 0);
    kn_set(f, "type", kn_string("URLRewrite"));
    if (get_str(a, r, "hostname"))
        kn_set(f, "hostname", kn_string(get_str(a, r, "hostname")));
    if (get_map(a, r, "path")) {
        struct kn *p = path_modifier(a, kn_get(r, "path"));
        if (p) kn_set(f, "path", p);
    }
    return f;
}

static struct kn *mirror(struct out *o, struct at *a, const struct kn *m)
{
    static const char *const fields[] = {"backendRef", NULL};
    check_fields(a, m, fields);
    const struct kn *ref = get_map(a, m, "backendRef");
    size_t mark = at_key(a, "backendRef");
    static const char *const ref_fields[] = {"group",     "kind", "name",
                                             "namespace", "port", NULL};
    check_fields(a, ref, ref_fields);
    const char *svc = ref ? service_ref(o, a, ref) : NULL;
    at_pop(a, mark);
    if (svc == NULL) return NULL;
    struct kn *f = kn_new(KN_MAP, 0);
    kn_set(f, "type", kn_string("RequestMirror"));
    kn_set(f, "service", kn_string(svc));
    return f;
}

/* The member of a filter holding its settings, by type. */
static const char *member_of(const char *type)
{
    static const char *const map[][2] = {
        {"RequestHeaderModifier", "requestHeaderModifier"},
        {"ResponseHeaderModifier", "responseHeaderModifier"},
        {"RequestRedirect", "requestRedirect"},
        {"URLRewrite", "urlRewrite"},
        {"RequestMirror", "requestMirror"}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(map[i][0], type) == 0) return map[i][1];
    return NULL;
}

static struct kn *filter(struct out *o, struct at *a, const struct kn *f)
{
    const char *type = get_str(a, f, "type"), *member = type ? member_of(type) : NULL;
    if (member == NULL) {
        warn_at(a, f, "filter type %s is not supported (ignored)",
                type ? type : "(none)");
        return NULL;
    }
    const char *known[] = {"type", member, NULL};
    check_fields(a, f, known);
    size_t mark = at_key(a, member);
    const struct kn *m = get_map(a, f, member);
    struct kn *r = NULL;
    if (m == NULL)
        error_at(a, f, "missing");
    else if (strcmp(type, "RequestRedirect") == 0)
        r = redirect(a, m);
    else if (strcmp(type, "URLRewrite") == 0)
        r = rewrite(a, m);
    else if (strcmp(type, "RequestMirror") == 0)
        r = mirror(o, a, m);
    else
        r = header_modifier(a, type, m);
    at_pop(a, mark);
    return r;
}

static struct kn *filters(struct out *o, struct at *a, const struct kn *list)
{
    struct kn *fs = kn_new(KN_SEQ, 0);
    for (size_t i = 0; i < kn_len(list); i++) {
        size_t mark = at_index(a, i);
        struct kn *f = filter(o, a, list->v[i]);
        if (f) kn_push(fs, f);
        at_pop(a, mark);
    }
    return fs;
}

/* ---- matches and rules
 * ------------------------------------------------------------------ */

static void check_kvs(struct at *a, const struct kn *m, const char *key)
{
    static const char *const fields[] = {"type", "name", "value", NULL};
    const struct kn *list = get_seq(a, m, key);
    size_t mark = at_key(a, key);
    for (size_t i = 0; i < kn_len(list); i++) {
        size_t im = at_index(a, i);
        check_fields(a, list->v[i], fields);
        at_pop(a, im);
    }
    at_pop(a, mark);
}

/* Gateway API's match is the router's: checked for fields, passed as it is. */
static struct kn *match(struct at *a, const struct kn *m)
{
    static const char *const fields[] = {"path", "headers", "queryParams", "method",
                                         NULL};
    static const char *const path_fields[] = {"type", "value", NULL};
    check_fields(a, m, fields);
    const struct kn *path = get_map(a, m, "path");
    size_t mark = at_key(a, "path");
    check_fields(a, path, path_fields);
    at_pop(a, mark);
    check_kvs(a, m, "headers");
    check_kvs(a, m, "queryParams");
    get_str(a, m, "method");
    return (struct kn *)m;
}

static struct kn *rule(struct out *o, struct at *a, const struct kn *r)
{
    static const char *const fields[] = {"name", "matches", "filters", "backendRefs",
                                         NULL};
    check_fields(a, r, fields);
    struct kn *out = kn_new(KN_MAP, 0), *ms = kn_new(KN_SEQ, 0);
    const struct kn *matches = get_seq(a, r, "matches");
    size_t mark = at_key(a, "matches");
    for (size_t i = 0; i < kn_len(matches); i++) {
        size_t im = at_index(a, i);
        kn_push(ms, match(a, matches->v[i]));
        at_pop(a, im);
    }
    at_pop(a, mark);
    kn_set(out, "matches", ms);
    const struct kn *fs = get_seq(a, r, "filters");
    if (kn_len(fs)) {
        mark = at_key(a, "filters");
        kn_set(out, "filters", filters(o, a, fs));
        at_pop(a, mark);
    }
    kn_set(out, "backends", backends(o, a, get_seq(a, r, "backendRefs")));
    return out;
}

struct kn *httproute_rules(struct out *o, struct at *a, const struct kn *rules)
{
    struct kn *out = kn_new(KN_SEQ, 0);
    for (size_t i = 0; i < kn_len(rules); i++) {
        size_t mark = at_index(a, i);
        kn_push(out, rule(o, a, rules->v[i]));
        at_pop(a, mark);
    }
    if (out->n == 0)
        kn_push(out, rule(o, a, NULL)); /* no rules: every path, no backend */
    return out;
}
