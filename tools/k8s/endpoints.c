/* Backends: a Service and one of its ports become a foyer service named
 * "namespace/name:port" (the Service port's number, or its name when only the
 * name is known; "/https" appended when its endpoints are reached over TLS).
 *
 * Its endpoints, in this order of preference:
 *   1. the ready addresses of the Service's EndpointSlices (label
 *      kubernetes.io/service-name) with the port whose name is the Service
 *      port's: what kube-proxy would send the traffic to;
 *   2. without EndpointSlices, the Service's DNS name name.namespace.svc.DOMAIN
 *      at that port. foyer's endpoints are numeric addresses, so the name is
 *      resolved here: a Service in the input with a cluster IP gives that IP
 *      (what the name resolves to) without asking DNS; otherwise (headless, an
 *      ExternalName, a Service not in the input) getaddrinfo() answers, which
 *      is right when foyer-k8s runs in the cluster. --no-resolve forbids it.
 * A backend left without endpoints is reported and not declared; foyer's router
 * answers 500 for the requests it would get, as Gateway API asks for an invalid
 * backend. */
#include "k8s.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

struct eps {
    const char **v;
    size_t n, cap;
};

/* Added as they come; eps_finish sorts them and drops repeats. */
static void eps_add(struct eps *e, const char *addr, long port, int https)
{
    int v6 = strchr(addr, ':') != NULL;
    const char *ep = k8s_printf("%s%s%s%s:%ld", https ? "https://" : "", v6 ? "[" : "",
                                addr, v6 ? "]" : "", port);
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 8;
        const char **v = k8s_alloc(cap * sizeof *v);
        if (e->n) memcpy(v, e->v, e->n * sizeof *v);
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n++] = ep;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, so the output is the same whatever the order of the slices. */
static void eps_finish(struct eps *e)
{
    size_t n = 0;
    if (e->n > 1) qsort(e->v, e->n, sizeof *e->v, cmp_str);
    for (size_t i = 0; i < e->n; i++)
        if (n == 0 || strcmp(e->v[n - 1], e->v[i]) != 0) e->v[n++] = e->v[i];
    e->n = n;
}

/* ---- the Service port ------------------------------------------------------------ */

struct svc_port {
    const struct obj *svc;
    const struct kn *entry; /* spec.ports[i], NULL when no Service */
    long port;              /* 0: known by name only */
    const char *name;       /* the port's name ("" when unnamed) */
};

static int find_port(const struct backend_ref *b, struct svc_port *sp)
{
    const struct kn *ports = kn_get(kn_get(sp->svc->root, "spec"), "ports");
    for (size_t i = 0; i < kn_len(ports); i++) {
        const struct kn *p = ports->v[i];
        const char *num = kn_text(kn_get(p, "port")), *name = kn_text(kn_get(p, "name"));
        if (b->port ? (num && atol(num) == b->port)
                    : (name && strcmp(name, b->port_name) == 0)) {
            sp->entry = p;
            sp->port = num ? atol(num) : 0;
            sp->name = name ? name : "";
            return 0;
        }
    }
    return -1;
}

/* ---- 1. EndpointSlices ----------------------------------------------------------- */

/* The slice's port for the Service port: the same name; without a Service, the
 * name given, the same number, or the only port. 0: none. */
static long slice_port(const struct kn *slice, const struct svc_port *sp)
{
    const struct kn *ports = kn_get(slice, "ports");
    for (size_t i = 0; i < kn_len(ports); i++) {
        const char *name = kn_text(kn_get(ports->v[i], "name"));
        const char *num = kn_text(kn_get(ports->v[i], "port"));
        if (num == NULL) continue;
        if (sp->svc ? strcmp(name ? name : "", sp->name) == 0
                    : (sp->port == 0 ? name && strcmp(name, sp->name) == 0
                                     : atol(num) == sp->port || kn_len(ports) == 1))
            return atol(num);
    }
    return 0;
}

/* conditions.ready: absent (nil) means ready, as the API documents. */
static int endpoint_ready(const struct kn *ep)
{
    const struct kn *r = kn_get(kn_get(ep, "conditions"), "ready");
    return r == NULL || r->type != KN_BOOL || strcmp(r->s, "true") == 0;
}

static void slice_endpoints(const struct obj *slice, const struct svc_port *sp, int https,
                            struct eps *out)
{
    struct at sa;
    at_init(&sa, slice);
    const char *type = get_str(&sa, slice->root, "addressType");
    if (type != NULL && strcmp(type, "IPv4") != 0 && strcmp(type, "IPv6") != 0) {
        at_key(&sa, "addressType");
        warn_at(&sa, kn_get(slice->root, "addressType"),
                "%s addresses are not supported (foyer endpoints are IP addresses)",
                type);
        return;
    }
    long port = slice_port(slice->root, sp);
    if (port <= 0) {
        warn_at(&sa, kn_key(slice->root, "ports"), "no port for Service port %s",
                sp->name[0] ? sp->name : k8s_printf("%ld", sp->port));
        return;
    }
    const struct kn *eps = get_seq(&sa, slice->root, "endpoints");
    for (size_t i = 0; i < kn_len(eps); i++) {
        const struct kn *addrs = kn_get(eps->v[i], "addresses");
        if (!endpoint_ready(eps->v[i])) continue;
        for (size_t k = 0; k < kn_len(addrs); k++)
            if (kn_text(addrs->v[k])) eps_add(out, kn_text(addrs->v[k]), port, https);
    }
}

static const char *from_slices(const struct obj **slices, size_t n,
                               const struct svc_port *sp, int https, struct eps *out)
{
    const char *note = "ready endpoints of EndpointSlice";
    for (size_t i = 0; i < n; i++) {
        slice_endpoints(slices[i], sp, https, out);
        note = k8s_printf("%s%s %s", note, i ? "," : "", slices[i]->name);
    }
    return note;
}

/* ---- 2. the DNS name ------------------------------------------------------------- */

static const char *resolve(struct at *a, const struct kn *at_node, const char *host,
                           long port, int https, struct eps *out)
{
    if (!opt.resolve) {
        warn_at(a, at_node,
                "%s:%ld would be resolved with DNS, which --no-resolve forbids", host,
                port);
        return NULL;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0) {
        warn_at(a, at_node, "cannot resolve %s: %s", host, gai_strerror(rc));
        return NULL;
    }
    for (struct addrinfo *r = res; r != NULL; r = r->ai_next) {
        char text[INET6_ADDRSTRLEN];
        const void *ip =
            r->ai_family == AF_INET
                ? (const void *)&((struct sockaddr_in *)r->ai_addr)->sin_addr
                : (const void *)&((struct sockaddr_in6 *)r->ai_addr)->sin6_addr;
        if ((r->ai_family == AF_INET || r->ai_family == AF_INET6) &&
            inet_ntop(r->ai_family, ip, text, sizeof text))
            eps_add(out, text, port, https);
    }
    freeaddrinfo(res);
    return k8s_printf("DNS name %s, resolved by foyer-k8s", host);
}

/* A headless Service's name resolves to the Pods: their port is the target port. */
static long target_port(const struct svc_port *sp)
{
    const struct kn *t = kn_get(sp->entry, "targetPort");
    return t && t->type == KN_NUM ? atol(t->s) : sp->port;
}

static const char *from_service(struct at *a, const struct kn *at_node,
                                const struct svc_port *sp, int https, struct eps *out)
{
    const struct kn *spec = kn_get(sp->svc->root, "spec");
    const char *type = kn_text(kn_get(spec, "type")),
               *ip = kn_text(kn_get(spec, "clusterIP"));
    const char *dns =
        k8s_printf("%s.%s.svc.%s", sp->svc->name, sp->svc->ns, opt.cluster_domain);
    if (type && strcmp(type, "ExternalName") == 0) {
        const char *ext = kn_text(kn_get(spec, "externalName"));
        if (ext != NULL) return resolve(a, at_node, ext, sp->port, https, out);
        warn_at(a, at_node, "Service %s/%s: ExternalName without externalName",
                sp->svc->ns, sp->svc->name);
        return NULL;
    }
    if (ip && *ip && strcmp(ip, "None") != 0) {
        eps_add(out, ip, sp->port, https);
        return k8s_printf("clusterIP of Service %s/%s (what %s resolves to)", sp->svc->ns,
                          sp->svc->name, dns);
    }
    return resolve(a, at_node, dns, target_port(sp), https, out);
}

/* ---- the registry of declared services ------------------------------------------- */

/* Services by name: a hash of indexes into o->svcs, so that 100k routes naming
 * 100k Services stay linear. */
static size_t *by_name, by_name_size;

static size_t name_hash(const char *s)
{
    size_t h = 14695981039346656037ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The slot of name: holding its index + 1, or 0 where it would go. */
static size_t *name_slot(const struct out *o, const char *name)
{
    size_t i = name_hash(name) & (by_name_size - 1);
    while (by_name[i] != 0 && strcmp(o->svcs[by_name[i] - 1].name, name) != 0)
        i = (i + 1) & (by_name_size - 1);
    return &by_name[i];
}

static void rehash(const struct out *o)
{
    by_name_size = by_name_size ? by_name_size * 2 : 64;
    by_name = k8s_alloc(by_name_size * sizeof *by_name);
    for (size_t i = 0; i < o->nsvcs; i++)
        *name_slot(o, o->svcs[i].name) = i + 1;
}

static struct svc *svc_find(struct out *o, const char *name)
{
    if (by_name_size == 0) return NULL;
    size_t *s = name_slot(o, name);
    return *s ? &o->svcs[*s - 1] : NULL;
}

static struct svc *svc_add(struct out *o, const char *name)
{
    if (o->nsvcs == o->capsvcs) {
        size_t cap = o->capsvcs ? o->capsvcs * 2 : 32;
        struct svc *v = k8s_alloc(cap * sizeof *v);
        if (o->nsvcs) memcpy(v, o->svcs, o->nsvcs * sizeof *v);
        o->svcs = v;
        o->capsvcs = cap;
    }
    struct svc *s = &o->svcs[o->nsvcs++];
    s->name = name;
    if (2 * o->nsvcs >= by_name_size)
        rehash(o);
    else
        *name_slot(o, name) = o->nsvcs;
    return s;
}

static const char *service_name(const struct backend_ref *b, const struct svc_port *sp)
{
    if (sp->port)
        return k8s_printf("%s/%s:%ld%s", b->ns, b->name, sp->port,
                          b->https ? "/https" : "");
    return k8s_printf("%s/%s:%s%s", b->ns, b->name,
                      b->port ? k8s_printf("%ld", b->port) : b->port_name,
                      b->https ? "/https" : "");
}

static void collect(struct at *a, const struct kn *at_node, const struct backend_ref *b,
                    const struct svc_port *sp, struct svc *s)
{
    const struct obj **slices;
    size_t ns = index_slices(b->ns, b->name, &slices);
    struct eps e = {0};
    if (ns > 0)
        s->note = from_slices(slices, ns, sp, b->https, &e);
    else if (sp->svc != NULL)
        s->note = from_service(a, at_node, sp, b->https, &e);
    else if (sp->port)
        s->note = resolve(a, at_node,
                          k8s_printf("%s.%s.svc.%s", b->name, b->ns, opt.cluster_domain),
                          sp->port, b->https, &e);
    else
        warn_at(a, at_node,
                "Service %s/%s is not in the input: its port '%s' has no number", b->ns,
                b->name, b->port_name);
    if (e.n == 0 && s->note != NULL)
        warn_at(a, at_node,
                "backend %s has no ready endpoint (%s): requests for it get 500", s->name,
                s->note);
    eps_finish(&e);
    s->eps = e.v;
    s->n = e.n;
    s->tls = b->https;
}

const char *backend_service(struct out *o, struct at *a, const struct kn *at_node,
                            const struct backend_ref *b)
{
    struct svc_port sp = {.svc = index_find("Service", b->ns, b->name),
                          .port = b->port,
                          .name = b->port_name ? b->port_name : ""};
    if (sp.svc != NULL && find_port(b, &sp) != 0) {
        const char *want = b->port ? k8s_printf("%ld", b->port) : b->port_name;
        const char *name = service_name(b, &sp);
        if (svc_find(o, name) == NULL) {
            warn_at(a, at_node, "Service %s/%s has no port %s: requests for it get 500",
                    b->ns, b->name, want);
            svc_add(o, name);
        }
        return name;
    }
    const char *name = service_name(b, &sp);
    if (svc_find(o, name) == NULL) collect(a, at_node, b, &sp, svc_add(o, name));
    return name;
}

int service_declared(const struct out *o, const char *name)
{
    const struct svc *s = svc_find((struct out *)o, name);
    return s != NULL && s->n > 0;
}
