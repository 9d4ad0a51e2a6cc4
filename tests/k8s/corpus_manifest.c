/*
 * Routing-corpus groups as Kubernetes manifests (corpus_manifest.h): what a
 * cluster would hold for the group's config, so that foyer-k8s is tested on
 * the same semantics as foyer.router itself.
 */
#include "corpus_manifest.h"

#include <stdio.h>
#include <string.h>

#define NS "corpus"

/* ---- planning: instances and listeners ------------------------------------------- */

static int gateway_index(struct plan *p, const char *gw)
{
    for (int i = 0; i < p->ngw; i++)
        if (!strcmp(p->gws[i], gw)) return i;
    if (p->ngw == MAX_INST) return -1;
    snprintf(p->gws[p->ngw], sizeof(p->gws[0]), "%s", gw);
    return p->ngw++;
}

static int instance_index(struct plan *p, const char *gw, int cport)
{
    for (int i = 0; i < p->ninst; i++)
        if (!strcmp(p->inst[i].gateway, gw) && p->inst[i].cport == cport) return i;
    if (p->ninst == MAX_INST) return -1;
    struct plan_inst *in = &p->inst[p->ninst];
    snprintf(in->gateway, sizeof(in->gateway), "%s", gw);
    in->cport = cport;
    in->port = e2e_free_port();
    return p->ninst++;
}

void plan_group(const struct e2e_json *group, struct plan *p)
{
    memset(p, 0, sizeof(*p));
    const struct e2e_json *ls = e2e_json_get(e2e_json_get(group, "config"), "listeners");
    if (e2e_json_len(ls) == 0) { /* Ingress, or the corpus's one HTTP listener on :80 */
        instance_index(p, "", 80);
        p->inst[0].http = true;
        return;
    }
    for (size_t i = 0; i < e2e_json_len(ls) && p->nl < MAX_LIS; i++) {
        const struct e2e_json *l = e2e_json_at(ls, i);
        const char *gw = str_or(l, "gateway", "");
        int inst = instance_index(p, gw, (int)e2e_json_num(l, "port", 80));
        int g = gateway_index(p, gw);
        if (inst < 0 || g < 0) continue;
        p->lis[p->nl] = (struct plan_listener){l, inst, g};
        p->inst[inst].http |= strcmp(str_or(l, "protocol", "HTTP"), "HTTPS") != 0;
        p->nl++;
    }
}

/* ---- objects
 * ----------------------------------------------------------------------------- */

static struct e2e_json *str(const char *s)
{
    return e2e_json_new_str(s);
}

static struct e2e_json *num(double n)
{
    return e2e_json_new_num(n);
}

static struct e2e_json *obj(void)
{
    return e2e_json_new(EJ_OBJ);
}

static struct e2e_json *arr(void)
{
    return e2e_json_new(EJ_ARR);
}

/* apiVersion, kind and metadata; order sets creationTimestamp (oldest first). */
static struct e2e_json *object(const char *api, const char *kind, const char *name,
                               int order)
{
    struct e2e_json *o = obj(), *md = obj();
    char ts[32];
    snprintf(ts, sizeof(ts), "2024-01-01T%02d:%02d:%02dZ", order / 3600, order / 60 % 60,
             order % 60);
    e2e_json_set(o, "apiVersion", str(api));
    e2e_json_set(o, "kind", str(kind));
    e2e_json_set(md, "name", str(name));
    e2e_json_set(md, "namespace", str(NS));
    e2e_json_set(md, "creationTimestamp", str(ts));
    e2e_json_set(o, "metadata", md);
    return o;
}

static struct e2e_json *spec_of(struct e2e_json *o)
{
    struct e2e_json *s = obj();
    e2e_json_set(o, "spec", s);
    return s;
}

/* Service NAME port 80 -> the backend's port, and its EndpointSlice 127.0.0.1. */
static void add_service(struct e2e_json *docs, const char *name, int port)
{
    struct e2e_json *svc = object("v1", "Service", name, 0), *sp = spec_of(svc);
    struct e2e_json *ports = arr(), *p = obj();
    e2e_json_set(p, "name", str("http"));
    e2e_json_set(p, "port", num(80));
    e2e_json_set(p, "targetPort", num(port));
    e2e_json_push(ports, p);
    e2e_json_set(sp, "ports", ports);
    e2e_json_push(docs, svc);

    char sname[160];
    snprintf(sname, sizeof(sname), "%s-x1", name);
    struct e2e_json *es = object("discovery.k8s.io/v1", "EndpointSlice", sname, 0);
    struct e2e_json *labels = obj(), *eps = arr(), *ep = obj(), *addrs = arr(),
                    *cond = obj();
    e2e_json_set(labels, "kubernetes.io/service-name", str(name));
    e2e_json_set((struct e2e_json *)e2e_json_get(es, "metadata"), "labels", labels);
    e2e_json_set(es, "addressType", str("IPv4"));
    ports = arr();
    p = obj();
    e2e_json_set(p, "name", str("http"));
    e2e_json_set(p, "port", num(port));
    e2e_json_push(ports, p);
    e2e_json_set(es, "ports", ports);
    e2e_json_push(addrs, str("127.0.0.1"));
    e2e_json_set(ep, "addresses", addrs);
    e2e_json_set(cond, "ready", e2e_json_new_bool(true));
    e2e_json_set(ep, "conditions", cond);
    e2e_json_push(eps, ep);
    e2e_json_set(es, "endpoints", eps);
    e2e_json_push(docs, es);
}

/* A backend naming a Service; an invalid one names a Service that does not exist. */
static struct e2e_json *service_backend(const struct e2e_json *b, int i)
{
    char name[160];
    if (is_null_or_absent(b, "invalid"))
        snprintf(name, sizeof(name), "%s", str_or(b, "service", "unnamed"));
    else
        snprintf(name, sizeof(name), "missing-%d", i);
    return str(name);
}

/* ---- Ingress
 * ---------------------------------------------------------------------------- */

/* The ingress-nginx annotations foyer-k8s translates (man/foyer-k8s.1). */
static const char *const translated[] = {
    "nginx.ingress.kubernetes.io/rewrite-target",
    "nginx.ingress.kubernetes.io/ssl-redirect",
    "nginx.ingress.kubernetes.io/force-ssl-redirect",
    "nginx.ingress.kubernetes.io/canary",
    "nginx.ingress.kubernetes.io/canary-weight",
    "nginx.ingress.kubernetes.io/canary-weight-total",
    "nginx.ingress.kubernetes.io/canary-by-header",
    "nginx.ingress.kubernetes.io/canary-by-header-value",
    "nginx.ingress.kubernetes.io/backend-protocol",
    NULL};

/* use-regex paths foyer-k8s can express: `P(/|$)(.*)` rewritten to `T$2`. */
static bool capture_form(const char *path, const struct e2e_json *ann)
{
    const char *t = e2e_json_str(ann, "nginx.ingress.kubernetes.io/rewrite-target");
    size_t pl = strlen(path), tl = t ? strlen(t) : 0;
    return pl > 9 && !strcmp(path + pl - 9, "(/|$)(.*)") && tl >= 3 &&
           !strcmp(t + tl - 2, "$2") && t[tl - 3] == '/';
}

static const char *match_inexpressible(const struct e2e_json *m,
                                       const struct e2e_json *route)
{
    if (e2e_json_len(e2e_json_get(m, "headers")) ||
        e2e_json_len(e2e_json_get(m, "query")) ||
        e2e_json_len(e2e_json_get(m, "queryParams")) || e2e_json_str(m, "method"))
        return "header, query or method matches (an Ingress has paths only)";
    const struct e2e_json *p = e2e_json_get(m, "path");
    const char *type = str_or(p, "type", "Prefix");
    if (!strcmp(type, "RegularExpression")) return "RegularExpression paths";
    if (!is_null_or_absent(route, "path_is_regex") &&
        !capture_form(str_or(p, "value", "/"), e2e_json_get(route, "annotations")))
        return "ingress-nginx use-regex paths (foyer-k8s translates only P(/|$)(.*) with "
               "rewrite-target T$2)";
    return NULL;
}

static const char *rule_inexpressible(const struct e2e_json *rule,
                                      const struct e2e_json *route)
{
    const struct e2e_json *bs = e2e_json_get(rule, "backends");
    if (e2e_json_len(bs) != 1)
        return "a rule without exactly one backend (an Ingress path has one)";
    const struct e2e_json *b = e2e_json_at(bs, 0);
    if (!is_null_or_absent(b, "weight") || e2e_json_len(e2e_json_get(b, "filters")) ||
        e2e_json_len(e2e_json_get(rule, "filters")))
        return "weights or filters (an Ingress has none)";
    const struct e2e_json *ms = e2e_json_get(rule, "matches");
    for (size_t i = 0; i < e2e_json_len(ms); i++) {
        const char *why = match_inexpressible(e2e_json_at(ms, i), route);
        if (why) return why;
    }
    return NULL;
}

static const char *route_inexpressible(const struct e2e_json *route, char *buf,
                                       size_t len)
{
    if (e2e_json_get(route, "listeners")) return "route listeners (an Ingress has none)";
    const struct e2e_json *ann = e2e_json_get(route, "annotations");
    for (size_t i = 0; i < e2e_json_len(ann) && ann->type == EJ_OBJ; i++) {
        bool known = !strcmp(ann->keys[i], "nginx.ingress.kubernetes.io/use-regex");
        for (const char *const *k = translated; *k && !known; k++)
            known = !strcmp(*k, ann->keys[i]);
        if (!known) {
            snprintf(buf, len, "annotation %s (not translated by foyer-k8s)",
                     ann->keys[i]);
            return buf;
        }
    }
    const struct e2e_json *rules = e2e_json_get(route, "rules");
    for (size_t i = 0; i < e2e_json_len(rules); i++) {
        const char *why = rule_inexpressible(e2e_json_at(rules, i), route);
        if (why) return why;
    }
    return NULL;
}

static struct e2e_json *ingress_backend(const struct e2e_json *b, int i)
{
    struct e2e_json *be = obj(), *svc = obj(), *port = obj();
    e2e_json_set(svc, "name", service_backend(b, i));
    e2e_json_set(port, "number", num(80));
    e2e_json_set(svc, "port", port);
    e2e_json_set(be, "service", svc);
    return be;
}

/* Every match of every rule: a path with that rule's backend. */
static struct e2e_json *ingress_paths(const struct e2e_json *rules)
{
    struct e2e_json *paths = arr();
    for (size_t r = 0; r < e2e_json_len(rules); r++) {
        const struct e2e_json *rule = e2e_json_at(rules, r);
        const struct e2e_json *ms = e2e_json_get(rule, "matches");
        const struct e2e_json *b = e2e_json_at(e2e_json_get(rule, "backends"), 0);
        for (size_t i = 0; i < (e2e_json_len(ms) ? e2e_json_len(ms) : 1); i++) {
            const struct e2e_json *p = e2e_json_get(e2e_json_at(ms, i), "path");
            struct e2e_json *po = obj();
            e2e_json_set(po, "path", str(str_or(p, "value", "/")));
            e2e_json_set(po, "pathType", str(str_or(p, "type", "Prefix")));
            e2e_json_set(po, "backend", ingress_backend(b, (int)r));
            e2e_json_push(paths, po);
        }
    }
    return paths;
}

static struct e2e_json *ingress(const struct e2e_json *route, int order)
{
    char name[32];
    snprintf(name, sizeof(name), "ing-%d", order);
    struct e2e_json *o = object("networking.k8s.io/v1", "Ingress", name, order);
    struct e2e_json *spec = spec_of(o), *rules = arr();
    if (e2e_json_get(route, "annotations"))
        e2e_json_set((struct e2e_json *)e2e_json_get(o, "metadata"), "annotations",
                     e2e_json_copy(e2e_json_get(route, "annotations")));
    if (e2e_json_str(route, "ingress_class"))
        e2e_json_set(spec, "ingressClassName", str(e2e_json_str(route, "ingress_class")));
    const struct e2e_json *hosts = e2e_json_get(route, "hostnames");
    const struct e2e_json *in_rules = e2e_json_get(route, "rules");
    for (size_t h = 0; h < (e2e_json_len(hosts) ? e2e_json_len(hosts) : 1); h++) {
        if (e2e_json_len(in_rules) == 0) break;
        struct e2e_json *rule = obj(), *http = obj();
        if (e2e_json_len(hosts))
            e2e_json_set(rule, "host", e2e_json_copy(e2e_json_at(hosts, h)));
        e2e_json_set(http, "paths", ingress_paths(in_rules));
        e2e_json_set(rule, "http", http);
        e2e_json_push(rules, rule);
    }
    e2e_json_set(spec, "rules", rules);
    return o;
}

static bool ingress_docs(const struct e2e_json *cfg, struct e2e_json *docs, char *why,
                         size_t len)
{
    const struct e2e_json *routes = e2e_json_get(cfg, "routes");
    for (size_t i = 0; i < e2e_json_len(routes); i++) {
        const char *w = route_inexpressible(e2e_json_at(routes, i), why, len);
        if (w) {
            if (w != why) snprintf(why, len, "%s", w);
            return false;
        }
    }
    const char *dflt = e2e_json_str(cfg, "default_backend");
    if (dflt) {
        struct e2e_json *o = object("networking.k8s.io/v1", "Ingress", "default", 0);
        struct e2e_json *b = obj();
        e2e_json_set(b, "service", str(dflt));
        e2e_json_set(spec_of(o), "defaultBackend", ingress_backend(b, 0));
        e2e_json_free(b);
        e2e_json_push(docs, o);
    }
    for (size_t i = 0; i < e2e_json_len(routes); i++)
        e2e_json_push(docs, ingress(e2e_json_at(routes, i), (int)i + 1));
    return true;
}

/* ---- Gateway API
 * -------------------------------------------------------------------------- */

static struct e2e_json *gateways(const struct plan *p)
{
    struct e2e_json *out = arr();
    for (int g = 0; g < p->ngw; g++) {
        char name[16];
        snprintf(name, sizeof(name), "g%d", g);
        struct e2e_json *gw = object("gateway.networking.k8s.io/v1", "Gateway", name, 0);
        struct e2e_json *spec = spec_of(gw), *ls = arr();
        e2e_json_set(spec, "gatewayClassName", str("foyer"));
        for (int i = 0; i < p->nl; i++) {
            if (p->lis[i].gw != g) continue;
            struct e2e_json *l = obj();
            char lname[16];
            snprintf(lname, sizeof(lname), "l%d", i);
            e2e_json_set(l, "name", str(lname));
            if (!is_null_or_absent(p->lis[i].l, "hostname"))
                e2e_json_set(l, "hostname",
                             e2e_json_copy(e2e_json_get(p->lis[i].l, "hostname")));
            e2e_json_set(l, "port", num(p->inst[p->lis[i].inst].port));
            e2e_json_set(l, "protocol", str(str_or(p->lis[i].l, "protocol", "HTTP")));
            e2e_json_push(ls, l);
        }
        e2e_json_set(spec, "listeners", ls);
        e2e_json_push(out, gw);
    }
    return out;
}

/* [{name, value}] (or a { name = value } map) */
static struct e2e_json *name_values(const struct e2e_json *v)
{
    if (!e2e_json_is(v, EJ_OBJ)) return e2e_json_copy(v);
    struct e2e_json *list = arr();
    for (size_t i = 0; i < v->n; i++) {
        struct e2e_json *nv = obj();
        e2e_json_set(nv, "name", str(v->keys[i]));
        e2e_json_set(nv, "value", e2e_json_copy(v->items[i]));
        e2e_json_push(list, nv);
    }
    return list;
}

static struct e2e_json *path_modifier(const struct e2e_json *p)
{
    struct e2e_json *o = obj();
    const char *type = str_or(p, "type", "ReplaceFullPath");
    e2e_json_set(o, "type", str(type));
    e2e_json_set(
        o, strcmp(type, "ReplacePrefixMatch") ? "replaceFullPath" : "replacePrefixMatch",
        str(str_or(p, "value", "/")));
    return o;
}

static struct e2e_json *copy_keys(const struct e2e_json *f, const char *const *keys)
{
    struct e2e_json *o = obj();
    for (const char *const *k = keys; *k; k++) {
        if (is_null_or_absent(f, *k)) continue;
        if (!strcmp(*k, "path"))
            e2e_json_set(o, "path", path_modifier(e2e_json_get(f, "path")));
        else if (!strcmp(*k, "status"))
            e2e_json_set(o, "statusCode", e2e_json_copy(e2e_json_get(f, "status")));
        else if (!strcmp(*k, "set") || !strcmp(*k, "add"))
            e2e_json_set(o, *k, name_values(e2e_json_get(f, *k)));
        else
            e2e_json_set(o, *k, e2e_json_copy(e2e_json_get(f, *k)));
    }
    return o;
}

/* A corpus filter in Gateway API spelling; NULL for an unknown type. */
static struct e2e_json *filter(const struct e2e_json *f)
{
    static const char *const mods[] = {"set", "add", "remove", NULL};
    static const char *const redirect[] = {"scheme", "hostname", "port",
                                           "path",   "status",   NULL};
    static const char *const rewrite[] = {"hostname", "path", NULL};
    const char *t = str_or(f, "type", "");
    struct e2e_json *o = obj(), *m;
    const char *type, *member;
    if (!strcmp(t, "request_header_modifier") || !strcmp(t, "response_header_modifier")) {
        bool req = t[2] == 'q';
        type = req ? "RequestHeaderModifier" : "ResponseHeaderModifier";
        member = req ? "requestHeaderModifier" : "responseHeaderModifier";
        m = copy_keys(f, mods);
    } else if (!strcmp(t, "request_redirect")) {
        type = "RequestRedirect", member = "requestRedirect", m = copy_keys(f, redirect);
    } else if (!strcmp(t, "url_rewrite")) {
        type = "URLRewrite", member = "urlRewrite", m = copy_keys(f, rewrite);
    } else if (!strcmp(t, "request_mirror")) {
        type = "RequestMirror", member = "requestMirror", m = obj();
        struct e2e_json *ref = obj();
        e2e_json_set(ref, "name", str(str_or(f, "service", "")));
        e2e_json_set(ref, "port", num(80));
        e2e_json_set(m, "backendRef", ref);
    } else {
        e2e_json_free(o);
        return NULL;
    }
    e2e_json_set(o, "type", str(type));
    e2e_json_set(o, member, m);
    return o;
}

static struct e2e_json *filters(const struct e2e_json *fs, char *why, size_t len)
{
    struct e2e_json *out = arr();
    for (size_t i = 0; i < e2e_json_len(fs); i++) {
        struct e2e_json *f = filter(e2e_json_at(fs, i));
        if (f)
            e2e_json_push(out, f);
        else
            snprintf(why, len, "filter type %s", str_or(e2e_json_at(fs, i), "type", "?"));
    }
    return out;
}

static struct e2e_json *match(const struct e2e_json *m, char *why, size_t len)
{
    struct e2e_json *o = obj();
    const struct e2e_json *p = e2e_json_get(m, "path");
    if (e2e_json_is(p, EJ_OBJ)) {
        const char *t = str_or(p, "type", "Prefix");
        struct e2e_json *po = obj();
        if (!strcmp(t, "ImplementationSpecific"))
            snprintf(why, len, "ImplementationSpecific paths (HTTPRoute has none)");
        e2e_json_set(po, "type", str(!strcmp(t, "Prefix") ? "PathPrefix" : t));
        e2e_json_set(po, "value", str(str_or(p, "value", "/")));
        e2e_json_set(o, "path", po);
    }
    static const char *const lists[][2] = {
        {"headers", "headers"}, {"query", "queryParams"}, {"queryParams", "queryParams"}};
    for (size_t i = 0; i < 3; i++)
        if (e2e_json_len(e2e_json_get(m, lists[i][0])))
            e2e_json_set(o, lists[i][1], e2e_json_copy(e2e_json_get(m, lists[i][0])));
    if (e2e_json_str(m, "method"))
        e2e_json_set(o, "method", str(e2e_json_str(m, "method")));
    return o;
}

static struct e2e_json *backend_ref(const struct e2e_json *b, int i, char *why,
                                    size_t len)
{
    struct e2e_json *o = obj();
    e2e_json_set(o, "name", service_backend(b, i));
    e2e_json_set(o, "port", num(80));
    if (!is_null_or_absent(b, "weight"))
        e2e_json_set(o, "weight", e2e_json_copy(e2e_json_get(b, "weight")));
    if (e2e_json_len(e2e_json_get(b, "filters")))
        e2e_json_set(o, "filters", filters(e2e_json_get(b, "filters"), why, len));
    return o;
}

static struct e2e_json *http_rule(const struct e2e_json *rule, int *nref, char *why,
                                  size_t len)
{
    struct e2e_json *o = obj(), *ms = arr(), *bs = arr();
    const struct e2e_json *in = e2e_json_get(rule, "matches");
    for (size_t i = 0; i < e2e_json_len(in); i++)
        e2e_json_push(ms, match(e2e_json_at(in, i), why, len));
    e2e_json_set(o, "matches", ms);
    if (e2e_json_len(e2e_json_get(rule, "filters")))
        e2e_json_set(o, "filters", filters(e2e_json_get(rule, "filters"), why, len));
    in = e2e_json_get(rule, "backends");
    for (size_t i = 0; i < e2e_json_len(in); i++)
        e2e_json_push(bs, backend_ref(e2e_json_at(in, i), (*nref)++, why, len));
    e2e_json_set(o, "backendRefs", bs);
    return o;
}

static struct e2e_json *parent_ref(const struct plan *p, int g, int listener)
{
    struct e2e_json *ref = obj();
    char name[16];
    snprintf(name, sizeof(name), "g%d", g);
    e2e_json_set(ref, "name", str(name));
    if (listener >= 0) {
        snprintf(name, sizeof(name), "l%d", listener);
        e2e_json_set(ref, "sectionName", str(name));
    }
    (void)p;
    return ref;
}

/* route.listeners: a parentRef per listener (a name that is no listener: one that
 * attaches nowhere); none: every Gateway. */
static struct e2e_json *parent_refs(const struct plan *p, const struct e2e_json *route)
{
    struct e2e_json *refs = arr();
    const struct e2e_json *names = e2e_json_get(route, "listeners");
    if (!names) {
        for (int g = 0; g < (p->ngw ? p->ngw : 1); g++)
            e2e_json_push(refs, parent_ref(p, g, -1));
        return refs;
    }
    for (size_t k = 0; k < e2e_json_len(names); k++)
        for (int i = 0; i < p->nl; i++)
            if (!strcmp(str_or(p->lis[i].l, "name", ""),
                        str_or_empty(e2e_json_at(names, k))))
                e2e_json_push(refs, parent_ref(p, p->lis[i].gw, i));
    if (refs->n == 0) {
        struct e2e_json *ref = parent_ref(p, 0, -1);
        e2e_json_set(ref, "sectionName", str("no-such-listener"));
        e2e_json_push(refs, ref);
    }
    return refs;
}

static bool gateway_docs(const struct e2e_json *cfg, const struct plan *p,
                         struct e2e_json *docs, char *why, size_t len)
{
    struct e2e_json *gws = gateways(p);
    if (p->ngw == 0) { /* the corpus's default listener */
        struct e2e_json *gw = object("gateway.networking.k8s.io/v1", "Gateway", "g0", 0);
        struct e2e_json *ls = arr(), *l = obj(), *spec = spec_of(gw);
        e2e_json_set(spec, "gatewayClassName", str("foyer"));
        e2e_json_set(l, "name", str("l0"));
        e2e_json_set(l, "port", num(p->inst[0].port));
        e2e_json_set(l, "protocol", str("HTTP"));
        e2e_json_push(ls, l);
        e2e_json_set(spec, "listeners", ls);
        e2e_json_push(gws, gw);
    }
    for (size_t i = 0; i < gws->n; i++)
        e2e_json_push(docs, e2e_json_copy(gws->items[i]));
    e2e_json_free(gws);
    const struct e2e_json *routes = e2e_json_get(cfg, "routes");
    int nref = 0;
    for (size_t i = 0; i < e2e_json_len(routes); i++) {
        const struct e2e_json *r = e2e_json_at(routes, i);
        if (e2e_json_len(e2e_json_get(r, "rules")) == 0)
            continue; /* not installed, as the corpus's other adapters have it */
        char name[32];
        snprintf(name, sizeof(name), "r%zu", i);
        struct e2e_json *o =
            object("gateway.networking.k8s.io/v1", "HTTPRoute", name, (int)i);
        struct e2e_json *spec = spec_of(o), *rules = arr();
        e2e_json_set(spec, "parentRefs", parent_refs(p, r));
        if (e2e_json_len(e2e_json_get(r, "hostnames")))
            e2e_json_set(spec, "hostnames", e2e_json_copy(e2e_json_get(r, "hostnames")));
        for (size_t k = 0; k < e2e_json_len(e2e_json_get(r, "rules")); k++)
            e2e_json_push(rules, http_rule(e2e_json_at(e2e_json_get(r, "rules"), k),
                                           &nref, why, len));
        e2e_json_set(spec, "rules", rules);
        e2e_json_push(docs, o);
    }
    return why[0] == '\0';
}

struct e2e_json *group_manifests(const struct e2e_json *group, const struct plan *p,
                                 const struct svcs *s, char *why, size_t len)
{
    const struct e2e_json *cfg = e2e_json_get(group, "config");
    struct e2e_json *docs = arr();
    why[0] = '\0';
    bool ok = strcmp(str_or(group, "api", "gateway"), "ingress") == 0
                  ? ingress_docs(cfg, docs, why, len)
                  : gateway_docs(cfg, p, docs, why, len);
    if (!ok) {
        e2e_json_free(docs);
        return NULL;
    }
    for (int i = 0; i < s->n; i++)
        add_service(docs, s->names[i], s->b[i].port);
    return docs;
}

const char *group_inexpressible(const struct e2e_json *group, char *why, size_t len)
{
    struct plan p;
    struct svcs s = {0};
    memset(&p, 0, sizeof(p));
    p.ninst = 1; /* ports do not matter here */
    struct e2e_json *docs = group_manifests(group, &p, &s, why, len);
    e2e_json_free(docs);
    return docs ? NULL : why;
}
