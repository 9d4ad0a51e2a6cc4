/* Ingress (networking.k8s.io/v1) -> routes of a router with ingress semantics.
 *
 * Each path of each rule becomes one route (host, path, backend): the router ranks
 * them the Ingress way (exact host, then one-label wildcard, then no host; longest
 * path, Exact before Prefix), so nothing has to be ordered here. defaultBackend is
 * the router's default. ImplementationSpecific paths are prefixes (as the router
 * reads them). Ingresses of another class (--ingress-class) are left out.
 *
 * Two tables come out: one for every request, and — only when some Ingress asks
 * for ssl-redirect — the same with those paths answering 308 to https://, for the
 * plain HTTP listener (the router cannot match on the scheme, so the glue picks
 * the table by req.scheme). */
#include "k8s.h"

#include <string.h>

/* One path of one rule of one Ingress. Where it is written is kept as the
 * object and the field's path (not a whole struct at: there may be 100k). */
struct ipath {
    const struct obj *o;
    const char *field;
    const struct kn *node;
    const char *host; /* NULL: any host */
    const char *path, *ptype;
    const char *service; /* NULL: no usable backend (500) */
    struct kn *rewrite;  /* a URLRewrite filter, or NULL */
    struct ngx ngx;
    int redirect; /* plain HTTP requests get 308 to https:// */
    const struct ipath *canary;
};

struct ipaths {
    struct ipath *v;
    size_t n, cap;
};

static struct ipath *ipath_new(struct ipaths *ps)
{
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 32;
        struct ipath *v = k8s_alloc(cap * sizeof *v);
        if (ps->n) memcpy(v, ps->v, ps->n * sizeof *v);
        ps->v = v;
        ps->cap = cap;
    }
    return &ps->v[ps->n++];
}

/* ---- which Ingresses are ours ---------------------------------------------------- */

static const char *default_class(void)
{
    const struct obj **cls;
    size_t n = index_kind("IngressClass", &cls);
    for (size_t i = 0; i < n; i++) {
        const struct kn *ann = kn_get(kn_get(cls[i]->root, "metadata"), "annotations");
        const char *d =
            kn_text(kn_get(ann, "ingressclass.kubernetes.io/is-default-class"));
        if (d && strcmp(d, "true") == 0) return cls[i]->name;
    }
    return NULL;
}

/* spec.ingressClassName, or the older annotation. Without a class an Ingress
 * belongs to the default IngressClass, if the input has one; else it is ours. */
static int is_ours(const struct obj *o)
{
    if (opt.ingress_class == NULL) return 1;
    const char *cls = kn_text(kn_get(kn_get(o->root, "spec"), "ingressClassName"));
    if (cls == NULL)
        cls = kn_text(kn_get(kn_get(kn_get(o->root, "metadata"), "annotations"),
                             "kubernetes.io/ingress.class"));
    if (cls == NULL) cls = default_class();
    return cls == NULL || strcmp(cls, opt.ingress_class) == 0;
}

/* ---- backends, TLS --------------------------------------------------------------- */

/* service.port: number or name. -1 when neither is usable (reported once). */
static int service_port(struct at *a, const struct kn *svc, struct backend_ref *b)
{
    static const char *const port_fields[] = {"number", "name", NULL};
    unsigned errors = diag_errors();
    const struct kn *port = get_map(a, svc, "port");
    size_t mark = at_key(a, "port");
    check_fields(a, port, port_fields);
    int r = get_int(a, port, "number", 1, 65535, &b->port);
    b->port_name = get_str(a, port, "name");
    if (r == 0 && b->port_name == NULL) r = -1;
    if (r < 0 && diag_errors() == errors)
        error_at(a, port ? port : svc, "a service port needs a number or a name");
    at_pop(a, mark);
    return r < 0 ? -1 : 0;
}

static const char *ingress_backend(struct out *o, struct at *a, const struct kn *be,
                                   const struct ngx *ngx)
{
    static const char *const fields[] = {"service", "resource", NULL};
    static const char *const svc_fields[] = {"name", "port", NULL};
    check_fields(a, be, fields);
    if (kn_get(be, "resource") != NULL) {
        size_t mark = at_key(a, "resource");
        warn_at(a, kn_key(be, "resource"), "resource backends are not supported: 500");
        at_pop(a, mark);
        return NULL;
    }
    unsigned errors = diag_errors();
    const struct kn *svc = get_map(a, be, "service");
    size_t mark = at_key(a, "service");
    struct backend_ref b = {.ns = a->o->ns, .https = ngx->backend_https};
    check_fields(a, svc, svc_fields);
    b.name = get_str(a, svc, "name");
    if (svc == NULL || b.name == NULL || service_port(a, svc, &b) != 0) {
        if (diag_errors() == errors)
            error_at(a, svc ? svc : be, "a backend needs service.name and service.port");
        at_pop(a, mark);
        return NULL;
    }
    const char *name = backend_service(o, a, svc, &b);
    at_pop(a, mark);
    return name;
}

/* Is host one of the hosts of the Ingress's tls section? */
static int tls_covers(const struct kn *spec, const char *host)
{
    const struct kn *tls = kn_get(spec, "tls");
    for (size_t i = 0; host != NULL && i < kn_len(tls); i++) {
        const struct kn *hosts = kn_get(tls->v[i], "hosts");
        for (size_t k = 0; k < kn_len(hosts); k++)
            if (kn_text(hosts->v[k]) && strcmp(kn_text(hosts->v[k]), host) == 0) return 1;
    }
    return 0;
}

static void ingress_tls_one(struct out *o, struct at *a, const struct kn *t)
{
    static const char *const fields[] = {"hosts", "secretName", NULL};
    check_fields(a, t, fields);
    get_seq(a, t, "hosts");
    const char *secret = get_str(a, t, "secretName");
    struct cert c;
    if (secret == NULL)
        warn_at(a, t,
                "no secretName (a controller's default certificate): not supported");
    else if (tls_secret_files(a, kn_get(t, "secretName"), a->o->ns, secret, &c) == 0)
        out_cert(out_port(o, opt.https_port, 1), c.cert, c.key);
}

static void ingress_tls(struct out *o, struct at *a, const struct kn *tls)
{
    size_t mark = at_key(a, "tls");
    for (size_t i = 0; i < kn_len(tls); i++) {
        size_t im = at_index(a, i);
        ingress_tls_one(o, a, tls->v[i]);
        at_pop(a, im);
    }
    at_pop(a, mark);
}

/* ---- rules and paths ------------------------------------------------------------- */

struct ing {
    struct out *o;
    const struct kn *spec;
    struct ngx ngx;
    struct ipaths *ps;
};

static const char *path_type(struct at *a, const struct kn *p)
{
    const char *t = get_str(a, p, "pathType");
    if (t && (!strcmp(t, "Exact") || !strcmp(t, "Prefix") ||
              !strcmp(t, "ImplementationSpecific")))
        return t;
    size_t mark = at_key(a, "pathType");
    error_at(a, kn_get(p, "pathType") ? kn_get(p, "pathType") : p,
             "expected Exact, Prefix or ImplementationSpecific");
    at_pop(a, mark);
    return NULL;
}

static void ingress_path(struct ing *g, struct at *a, const char *host,
                         const struct kn *p)
{
    static const char *const fields[] = {"path", "pathType", "backend", NULL};
    check_fields(a, p, fields);
    const char *ptype = path_type(a, p), *path = get_str(a, p, "path");
    if (ptype == NULL) return;
    if (path == NULL) path = "/"; /* allowed for ImplementationSpecific: every path */
    struct ipath *ip = ipath_new(g->ps);
    ip->o = a->o;
    ip->field = k8s_strdup(a->path);
    ip->node = p;
    ip->host = host;
    ip->ngx = g->ngx;
    const char *written = path;
    ip->rewrite = ngx_rewrite(a, kn_get(p, "path"), &g->ngx, &path, &ptype);
    if (g->ngx.use_regex && path == written)
        warn_at(
            a, kn_get(p, "path"),
            "use-regex is not supported: '%s' is matched as its pathType says, not as "
            "nginx's regular expression",
            path);
    ip->path = path;
    ip->ptype = ptype;
    const struct kn *be = get_map(a, p, "backend");
    size_t mark = at_key(a, "backend");
    if (be == NULL)
        error_at(a, p, "missing");
    else
        ip->service = ingress_backend(g->o, a, be, &g->ngx);
    at_pop(a, mark);
    ip->redirect =
        g->ngx.force_ssl_redirect || (g->ngx.ssl_redirect && tls_covers(g->spec, host));
}

static void ingress_rule(struct ing *g, struct at *a, const struct kn *rule)
{
    static const char *const fields[] = {"host", "http", NULL};
    static const char *const http_fields[] = {"paths", NULL};
    check_fields(a, rule, fields);
    const char *host = get_str(a, rule, "host");
    const struct kn *http = get_map(a, rule, "http");
    size_t mark = at_key(a, "http");
    check_fields(a, http, http_fields);
    const struct kn *paths = get_seq(a, http, "paths");
    at_key(a, "paths");
    for (size_t i = 0; i < kn_len(paths); i++) {
        size_t im = at_index(a, i);
        ingress_path(g, a, host, paths->v[i]);
        at_pop(a, im);
    }
    at_pop(a, mark);
}

static void default_backend(struct ing *g, struct at *a, const struct kn *be)
{
    size_t mark = at_key(a, "defaultBackend");
    const char *svc = g->ngx.canary ? NULL : ingress_backend(g->o, a, be, &g->ngx);
    if (g->ngx.canary)
        warn_at(a, be, "a canary's defaultBackend is not supported (ignored)");
    else if (svc && !service_declared(g->o, svc))
        warn_at(a, be, "it has no endpoints: not used (unmatched requests get 404)");
    else if (svc && g->o->ing_default && strcmp(g->o->ing_default, svc) != 0)
        warn_at(a, be, "another Ingress's defaultBackend (%s) comes first: ignored",
                g->o->ing_default);
    else if (svc)
        g->o->ing_default = svc;
    at_pop(a, mark);
}

static void ingress_one(struct out *o, const struct obj *obj, struct ipaths *ps)
{
    static const char *const fields[] = {"ingressClassName", "defaultBackend", "rules",
                                         "tls", NULL};
    struct at a;
    at_init(&a, obj);
    struct ing g = {.o = o, .ps = ps};
    size_t mark = at_key(&a, "metadata.annotations");
    ngx_parse(&a, kn_get(kn_get(obj->root, "metadata"), "annotations"), &g.ngx);
    at_pop(&a, mark);
    g.spec = get_map(&a, obj->root, "spec");
    mark = at_key(&a, "spec");
    check_fields(&a, g.spec, fields);
    if (get_map(&a, g.spec, "defaultBackend"))
        default_backend(&g, &a, kn_get(g.spec, "defaultBackend"));
    ingress_tls(o, &a, get_seq(&a, g.spec, "tls"));
    const struct kn *rules = get_seq(&a, g.spec, "rules");
    at_key(&a, "rules");
    for (size_t i = 0; i < kn_len(rules); i++) {
        size_t im = at_index(&a, i);
        ingress_rule(&g, &a, rules->v[i]);
        at_pop(&a, im);
    }
    at_pop(&a, mark);
}

/* Where p is written, for a diagnostic. */
static struct at *where(const struct ipath *p, struct at *a)
{
    at_init(a, p->o);
    at_key(a, p->field);
    return a;
}

/* ---- canaries -------------------------------------------------------------------- */

static int same_place(const struct ipath *a, const struct ipath *b)
{
    return (a->host == NULL ? b->host == NULL
                            : b->host && strcmp(a->host, b->host) == 0) &&
           strcmp(a->path, b->path) == 0;
}

/* A canary Ingress adds to the main Ingress with the same host and path. */
static void merge_canaries(struct ipaths *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        struct ipath *c = &ps->v[i], *main = NULL;
        struct at a;
        if (!c->ngx.canary) continue;
        for (size_t k = 0; k < ps->n && main == NULL; k++)
            if (!ps->v[k].ngx.canary && same_place(&ps->v[k], c)) main = &ps->v[k];
        if (main == NULL)
            warn_at(where(c, &a), c->node,
                    "canary without a main Ingress for host %s path %s: "
                    "left out",
                    c->host ? c->host : "*", c->path);
        else if (main->canary != NULL)
            warn_at(where(c, &a), c->node,
                    "a second canary for host %s path %s: left out",
                    c->host ? c->host : "*", c->path);
        else
            main->canary = c;
    }
}

/* ---- routes ---------------------------------------------------------------------- */

static struct kn *path_match(const struct ipath *p, const char *header, const char *value)
{
    struct kn *m = kn_new(KN_MAP, 0), *path = kn_pair("type", p->ptype, "value", p->path);
    kn_set(m, "path", path);
    if (header != NULL) {
        struct kn *hs = kn_new(KN_SEQ, 0);
        kn_push(hs, kn_pair("name", header, "value", value));
        kn_set(m, "headers", hs);
    }
    struct kn *ms = kn_new(KN_SEQ, 0);
    kn_push(ms, m);
    return ms;
}

/* A backend with its weight and the rewrite of the Ingress it comes from. */
static void push_backend(struct kn *bs, const struct ipath *p, long weight)
{
    if (p->service == NULL) return;
    struct kn *b = kn_new(KN_MAP, 0);
    kn_set(b, "service", kn_string(p->service));
    if (weight >= 0) kn_set(b, "weight", kn_number(weight));
    if (p->rewrite != NULL) {
        struct kn *fs = kn_new(KN_SEQ, 0);
        kn_push(fs, p->rewrite);
        kn_set(b, "filters", fs);
    }
    kn_push(bs, b);
}

static struct kn *rule(struct kn *matches, struct kn *backends)
{
    struct kn *r = kn_new(KN_MAP, 0);
    kn_set(r, "matches", matches);
    kn_set(r, "backends", backends);
    return r;
}

/* The main backend and the canary's, split by canary-weight (of
 * canary-weight-total, 100 by default). */
static struct kn *weighted(const struct ipath *p)
{
    struct kn *bs = kn_new(KN_SEQ, 0);
    const struct ipath *c = p->canary;
    if (c == NULL || c->ngx.canary_weight < 0) {
        push_backend(bs, p, -1);
        return bs;
    }
    long total = c->ngx.canary_weight_total > 0 ? c->ngx.canary_weight_total : 100;
    long w = c->ngx.canary_weight > total ? total : c->ngx.canary_weight;
    push_backend(bs, p, total - w);
    push_backend(bs, c, w);
    return bs;
}

/* canary-by-header: the value (canary-by-header-value, else "always") sends the
 * request to the canary; without a value, "never" keeps it on the main backend.
 * These rules carry a header match, so they rank before the weighted one. */
static void header_rules(struct kn *rules, const struct ipath *p)
{
    const struct ipath *c = p->canary;
    if (c == NULL || c->ngx.canary_header == NULL) return;
    const char *h = c->ngx.canary_header, *v = c->ngx.canary_header_value;
    struct kn *to_canary = kn_new(KN_SEQ, 0);
    push_backend(to_canary, c, -1);
    kn_push(rules, rule(path_match(p, h, v ? v : "always"), to_canary));
    if (v != NULL) return;
    struct kn *to_main = kn_new(KN_SEQ, 0);
    push_backend(to_main, p, -1);
    kn_push(rules, rule(path_match(p, h, "never"), to_main));
}

static struct kn *redirect_rule(const struct ipath *p)
{
    struct kn *f = kn_new(KN_MAP, 0), *fs = kn_new(KN_SEQ, 0);
    kn_set(f, "type", kn_string("RequestRedirect"));
    kn_set(f, "scheme", kn_string("https"));
    if (opt.https_port != 443) kn_set(f, "port", kn_number(opt.https_port));
    kn_set(f, "statusCode", kn_number(308));
    kn_push(fs, f);
    struct kn *r = rule(path_match(p, NULL, NULL), kn_new(KN_SEQ, 0));
    kn_set(r, "filters", fs);
    return r;
}

static struct kn *path_route(const struct ipath *p, int for_http)
{
    struct kn *route = kn_new(KN_MAP, 0), *rules = kn_new(KN_SEQ, 0);
    kn_set(route, "name", kn_string(k8s_printf("%s/%s", p->o->ns, p->o->name)));
    if (p->host != NULL) {
        struct kn *hs = kn_new(KN_SEQ, 0);
        kn_push(hs, kn_string(p->host));
        kn_set(route, "hostnames", hs);
    }
    if (for_http && p->redirect) {
        kn_push(rules, redirect_rule(p));
    } else {
        kn_push(rules, rule(path_match(p, NULL, NULL), weighted(p)));
        header_rules(rules, p);
    }
    kn_set(route, "rules", rules);
    return route;
}

void ingress_translate(struct out *o)
{
    const struct obj **ings;
    size_t n = index_kind("Ingress", &ings);
    struct ipaths ps = {0};
    for (size_t i = 0; i < n; i++)
        if (is_ours(ings[i])) ingress_one(o, ings[i], &ps);
    merge_canaries(&ps);
    o->ing_routes = kn_new(KN_SEQ, 0);
    o->ing_http_routes = kn_new(KN_SEQ, 0);
    for (size_t i = 0; i < ps.n; i++) {
        struct ipath *p = &ps.v[i];
        if (p->ngx.canary) continue;
        o->ing_used = 1;
        struct at a;
        if (route_add(o->ing_routes, path_route(p, 0), where(p, &a), p->node) != 0)
            continue;
        o->ing_redirects |= p->redirect;
        kn_push(o->ing_http_routes, path_route(p, 1));
    }
    o->ing_used |= o->ing_default != NULL || n > 0;
    if (o->ing_used) out_port(o, opt.http_port, 0);
}
