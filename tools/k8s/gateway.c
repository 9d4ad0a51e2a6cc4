/* Gateway API v1: Gateways -> router listeners (and the ports foyer listens on),
 * HTTPRoutes -> routes with gateway semantics attached to the listeners their
 * parentRefs select. The router does the rest of Gateway API: hostname
 * intersection, the most specific listener, precedence between routes (which
 * index_kind has put in creationTimestamp, namespace/name order).
 *
 * A listener is named "namespace/gateway/listener" in the route table. Requests
 * are told apart by port, protocol and host name only: two Gateways meant for two
 * addresses but sharing a port cannot both be honoured on one foyer. */
#include "k8s.h"

#include <string.h>

struct glistener {
    const struct obj *gw;
    const char *name, *rname; /* its name, the router's "ns/gw/name" */
    const char *hostname;
    long port;
    int https;
    int all_namespaces; /* allowedRoutes.namespaces.from: All (or Selector) */
    int http_routes;    /* allowedRoutes.kinds admits HTTPRoute */
};

struct glisteners {
    struct glistener *v;
    size_t n, cap;
};

static struct glistener *gl_new(struct glisteners *ls)
{
    if (ls->n == ls->cap) {
        size_t cap = ls->cap ? ls->cap * 2 : 16;
        struct glistener *v = k8s_alloc(cap * sizeof *v);
        if (ls->n) memcpy(v, ls->v, ls->n * sizeof *v);
        ls->v = v;
        ls->cap = cap;
    }
    return &ls->v[ls->n++];
}

/* ---- ReferenceGrant -------------------------------------------------------------- */

static int grant_lists(const struct kn *list, const char *group, const char *kind,
                       const char *ns, const char *name)
{
    for (size_t i = 0; i < kn_len(list); i++) {
        const struct kn *e = list->v[i];
        const char *g = kn_text(kn_get(e, "group")), *k = kn_text(kn_get(e, "kind"));
        const char *n = kn_text(kn_get(e, ns ? "namespace" : "name"));
        if (strcmp(g ? g : "", group) == 0 && k && strcmp(k, kind) == 0 &&
            (ns ? n && strcmp(n, ns) == 0 : n == NULL || strcmp(n, name) == 0))
            return 1;
    }
    return 0;
}

int reference_granted(const char *from_kind, const char *from_ns, const char *to_kind,
                      const char *to_ns, const char *to_name)
{
    if (strcmp(from_ns, to_ns) == 0) return 1;
    const struct obj **grants;
    size_t n = index_kind("ReferenceGrant", &grants);
    const char *to_group = ""; /* Service and Secret are core */
    for (size_t i = 0; i < n; i++) {
        const struct kn *spec = kn_get(grants[i]->root, "spec");
        if (strcmp(grants[i]->ns, to_ns) == 0 &&
            grant_lists(kn_get(spec, "from"), "gateway.networking.k8s.io", from_kind,
                        from_ns, NULL) &&
            grant_lists(kn_get(spec, "to"), to_group, to_kind, NULL, to_name))
            return 1;
    }
    return 0;
}

/* ---- listeners ------------------------------------------------------------------- */

static void listener_certs(struct at *a, const struct kn *tls, struct port *p)
{
    static const char *const ref_fields[] = {"group", "kind", "name", "namespace", NULL};
    const struct kn *refs = get_seq(a, tls, "certificateRefs");
    size_t mark = at_key(a, "certificateRefs");
    for (size_t i = 0; i < kn_len(refs); i++) {
        size_t im = at_index(a, i);
        const struct kn *r = refs->v[i];
        check_fields(a, r, ref_fields);
        const char *kind = get_str(a, r, "kind"), *name = get_str(a, r, "name");
        const char *ns = get_str(a, r, "namespace");
        struct cert c;
        ns = ns ? ns : a->o->ns;
        if (kind && strcmp(kind, "Secret") != 0)
            warn_at(a, r, "certificate kind %s is not supported", kind);
        else if (!reference_granted("Gateway", a->o->ns, "Secret", ns, name ? name : ""))
            warn_at(a, r, "Secret %s/%s in another namespace without a ReferenceGrant",
                    ns, name ? name : "");
        else if (name && tls_secret_files(a, r, ns, name, &c) == 0)
            out_cert(p, c.cert, c.key);
        at_pop(a, im);
    }
    at_pop(a, mark);
}

/* HTTPS listeners terminate TLS with their certificateRefs; Passthrough is not
 * something an HTTP proxy can do. 0: usable. */
static int listener_tls(struct out *o, struct at *a, const struct kn *l, long port)
{
    static const char *const fields[] = {"mode", "certificateRefs", NULL};
    const struct kn *tls = get_map(a, l, "tls");
    size_t mark = at_key(a, "tls");
    const char *mode = get_str(a, tls, "mode");
    int r = 0;
    check_fields(a, tls, fields);
    if (mode && strcmp(mode, "Terminate") != 0) {
        warn_at(a, tls, "mode %s is not supported: listener left out", mode);
        r = -1;
    } else {
        listener_certs(a, tls, out_port(o, port, 1));
    }
    at_pop(a, mark);
    return r;
}

static void allowed_routes(struct at *a, const struct kn *l, struct glistener *g)
{
    static const char *const fields[] = {"namespaces", "kinds", NULL};
    const struct kn *ar = get_map(a, l, "allowedRoutes");
    size_t mark = at_key(a, "allowedRoutes");
    const char *from = get_str(a, get_map(a, ar, "namespaces"), "from");
    const struct kn *kinds = get_seq(a, ar, "kinds");
    check_fields(a, ar, fields);
    g->all_namespaces = from && strcmp(from, "Same") != 0;
    if (from && strcmp(from, "Selector") == 0)
        warn_at(a, ar, "namespaces.from Selector is not supported (taken as All)");
    g->http_routes = kinds == NULL;
    for (size_t i = 0; i < kn_len(kinds); i++) {
        const char *k = kn_text(kn_get(kinds->v[i], "kind"));
        g->http_routes |= k && strcmp(k, "HTTPRoute") == 0;
    }
    at_pop(a, mark);
}

static void listener(struct out *o, struct at *a, const struct kn *l,
                     struct glisteners *ls)
{
    static const char *const fields[] = {"name", "hostname",      "port", "protocol",
                                         "tls",  "allowedRoutes", NULL};
    check_fields(a, l, fields);
    const char *name = get_str(a, l, "name"), *proto = get_str(a, l, "protocol");
    long port = 0;
    if (name == NULL || proto == NULL || get_int(a, l, "port", 1, 65535, &port) != 1) {
        error_at(a, l, "a listener needs name, port and protocol");
        return;
    }
    int https = strcmp(proto, "HTTPS") == 0;
    if (!https && strcmp(proto, "HTTP") != 0) {
        warn_at(a, l, "protocol %s is not supported: listener left out", proto);
        return;
    }
    if (https && listener_tls(o, a, l, port) != 0) return;
    if (!https) out_port(o, port, 0);
    struct glistener *g = gl_new(ls);
    g->gw = a->o;
    g->name = name;
    g->rname = k8s_printf("%s/%s/%s", a->o->ns, a->o->name, name);
    g->hostname = get_str(a, l, "hostname");
    g->port = port;
    g->https = https;
    allowed_routes(a, l, g);
}

static void gateway_one(struct out *o, const struct obj *gw, struct glisteners *ls)
{
    static const char *const fields[] = {"gatewayClassName", "listeners", NULL};
    struct at a;
    at_init(&a, gw);
    const struct kn *spec = get_map(&a, gw->root, "spec");
    size_t mark = at_key(&a, "spec");
    const char *cls = get_str(&a, spec, "gatewayClassName");
    if (opt.gateway_class && (cls == NULL || strcmp(cls, opt.gateway_class) != 0)) {
        at_pop(&a, mark);
        return;
    }
    check_fields(&a, spec, fields);
    const struct kn *list = get_seq(&a, spec, "listeners");
    at_key(&a, "listeners");
    for (size_t i = 0; i < kn_len(list); i++) {
        size_t im = at_index(&a, i);
        listener(o, &a, list->v[i], ls);
        at_pop(&a, im);
    }
    at_pop(&a, mark);
}

static struct kn *router_listener(const struct glistener *g)
{
    struct kn *l = kn_new(KN_MAP, 0);
    kn_set(l, "name", kn_string(g->rname));
    if (g->hostname) kn_set(l, "hostname", kn_string(g->hostname));
    kn_set(l, "port", kn_number(g->port));
    kn_set(l, "protocol", kn_string(g->https ? "HTTPS" : "HTTP"));
    return l;
}

/* ---- HTTPRoute parents ----------------------------------------------------------- */

static void add_name(struct kn *names, const char *name)
{
    for (size_t i = 0; i < names->n; i++)
        if (strcmp(names->v[i]->s, name) == 0) return;
    kn_push(names, kn_string(name));
}

static int admits(const struct glistener *g, const struct obj *route, const char *section,
                  long port)
{
    return g->http_routes && (g->all_namespaces || strcmp(g->gw->ns, route->ns) == 0) &&
           (section == NULL || strcmp(section, g->name) == 0) &&
           (port == 0 || port == g->port);
}

static void parent_ref(struct at *a, const struct kn *ref, const struct glisteners *ls,
                       struct kn *names)
{
    static const char *const fields[] = {"group",       "kind", "namespace", "name",
                                         "sectionName", "port", NULL};
    check_fields(a, ref, fields);
    const char *kind = get_str(a, ref, "kind"), *name = get_str(a, ref, "name");
    const char *ns = get_str(a, ref, "namespace"),
               *section = get_str(a, ref, "sectionName");
    long port = 0;
    get_int(a, ref, "port", 1, 65535, &port);
    if (kind && strcmp(kind, "Gateway") != 0) {
        warn_at(a, ref, "parent kind %s is not supported", kind);
        return;
    }
    ns = ns ? ns : a->o->ns;
    size_t before = names->n;
    for (size_t i = 0; name && i < ls->n; i++) {
        const struct glistener *g = &ls->v[i];
        if (strcmp(g->gw->ns, ns) == 0 && strcmp(g->gw->name, name) == 0 &&
            admits(g, a->o, section, port))
            add_name(names, g->rname);
    }
    if (names->n == before)
        warn_at(a, ref, "no listener of Gateway %s/%s in the input takes this route", ns,
                name ? name : "?");
}

/* The router listener names the route attaches to; NULL: every listener (the input
 * has no Gateway). An empty list: attached nowhere. */
static struct kn *parents(struct at *a, const struct kn *spec,
                          const struct glisteners *ls, int any_gateway)
{
    if (!any_gateway) return NULL;
    struct kn *names = kn_new(KN_SEQ, 0);
    const struct kn *refs = get_seq(a, spec, "parentRefs");
    size_t mark = at_key(a, "parentRefs");
    for (size_t i = 0; i < kn_len(refs); i++) {
        size_t im = at_index(a, i);
        parent_ref(a, refs->v[i], ls, names);
        at_pop(a, im);
    }
    at_pop(a, mark);
    return names;
}

static void httproute_one(struct out *o, const struct obj *r, const struct glisteners *ls,
                          int any_gateway)
{
    static const char *const fields[] = {"parentRefs", "hostnames", "rules", NULL};
    struct at a;
    at_init(&a, r);
    const struct kn *spec = get_map(&a, r->root, "spec");
    size_t mark = at_key(&a, "spec");
    check_fields(&a, spec, fields);
    struct kn *attach = parents(&a, spec, ls, any_gateway);
    if (attach != NULL && attach->n == 0) {
        warn_at(&a, spec, "attached to no listener: left out");
        at_pop(&a, mark);
        return;
    }
    struct kn *route = kn_new(KN_MAP, 0);
    kn_set(route, "name", kn_string(k8s_printf("%s/%s", r->ns, r->name)));
    const struct kn *hosts = get_seq(&a, spec, "hostnames");
    if (kn_len(hosts)) kn_set(route, "hostnames", (struct kn *)hosts);
    if (attach != NULL) kn_set(route, "listeners", attach);
    const struct kn *rules = get_seq(&a, spec, "rules");
    size_t rm = at_key(&a, "rules");
    kn_set(route, "rules", httproute_rules(o, &a, rules));
    at_pop(&a, rm);
    route_add(o->gw_routes, route, &a, spec);
    at_pop(&a, mark);
}

void gateway_translate(struct out *o)
{
    const struct obj **gws, **routes;
    size_t ngw = index_kind("Gateway", &gws), nr = index_kind("HTTPRoute", &routes);
    struct glisteners ls = {0};
    for (size_t i = 0; i < ngw; i++)
        gateway_one(o, gws[i], &ls);
    o->gw_listeners = ngw > 0 ? kn_new(KN_SEQ, 0) : NULL;
    o->gw_routes = kn_new(KN_SEQ, 0);
    for (size_t i = 0; o->gw_listeners && i < ls.n; i++)
        kn_push(o->gw_listeners, router_listener(&ls.v[i]));
    if (ngw == 0 && nr > 0) {
        struct at a;
        at_init(&a, routes[0]);
        warn_at(&a, NULL, "no Gateway in the input: HTTPRoutes attach to every listener");
    }
    for (size_t i = 0; i < nr; i++)
        httproute_one(o, routes[i], &ls, ngw > 0);
    o->gw_used = ngw > 0 || nr > 0;
}
