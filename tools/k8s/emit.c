/* The output, in the output directory (-o):
 *
 *   k8s-services.lua       service "namespace/name:port" { endpoints = { ... } }
 *   k8s-ingress.json       the Ingress route table for router.load (ingress semantics)
 *   k8s-ingress-http.json  the same for plain HTTP when ssl-redirect rules exist
 *   k8s-gateway.json       the Gateway API route table (gateway semantics, listeners)
 *   k8s.lua                the glue: `local k8s = require "k8s"; route(k8s.route)`
 *   foyer.lua              with --listen: a whole configuration using k8s.lua
 *
 * Each file is written next to its final name and renamed over it, so a foyer
 * reloading meanwhile reads the old file or the new one, never half of one. Files
 * of an earlier run that this one does not make are removed. */
#include "k8s.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- ports and certificates ------------------------------------------------------ */

struct port *out_port(struct out *o, long port, int https)
{
    for (size_t i = 0; i < o->nports; i++) {
        if (o->ports[i].port != port) continue;
        if (o->ports[i].https != https && !o->ports[i].conflict) {
            fprintf(stderr,
                    "foyer-k8s: port %ld is wanted for both HTTP and HTTPS: %s kept\n",
                    port, o->ports[i].https ? "HTTPS" : "HTTP");
            o->ports[i].conflict = 1;
            diag_count_warning();
        }
        return &o->ports[i];
    }
    if (o->nports == o->capports) {
        size_t cap = o->capports ? o->capports * 2 : 8;
        struct port *v = k8s_alloc(cap * sizeof *v);
        if (o->nports) memcpy(v, o->ports, o->nports * sizeof *v);
        o->ports = v;
        o->capports = cap;
    }
    struct port *p = &o->ports[o->nports++];
    p->port = port;
    p->https = https;
    return p;
}

void out_cert(struct port *p, const char *cert, const char *key)
{
    for (size_t i = 0; i < p->ncerts; i++)
        if (strcmp(p->certs[i].cert, cert) == 0) return;
    struct cert *v = k8s_alloc((p->ncerts + 1) * sizeof *v);
    if (p->ncerts) memcpy(v, p->certs, p->ncerts * sizeof *v);
    v[p->ncerts++] = (struct cert){cert, key};
    p->certs = v;
}

int tls_secret_files(struct at *a, const struct kn *at_node, const char *ns,
                     const char *name, struct cert *c)
{
    if (opt.tls_dir == NULL) {
        warn_at(a, at_node, "Secret %s/%s: no --tls-dir given, certificate left out", ns,
                name);
        return -1;
    }
    c->cert = k8s_printf("%s/%s/%s/tls.crt", opt.tls_dir, ns, name);
    c->key = k8s_printf("%s/%s/%s/tls.key", opt.tls_dir, ns, name);
    if (access(c->cert, R_OK) != 0 || access(c->key, R_OK) != 0) {
        warn_at(a, at_node, "Secret %s/%s: %s or tls.key cannot be read: left out", ns,
                name, c->cert);
        return -1;
    }
    return 0;
}

void out_check(const struct out *o)
{
    for (size_t i = 0; i < o->nports; i++) {
        if (!o->ports[i].https || o->ports[i].ncerts > 0) continue;
        fprintf(stderr, "foyer-k8s: HTTPS port %ld has no certificate%s\n",
                o->ports[i].port, opt.listen_addr ? ": not listened on" : "");
        diag_count_warning();
    }
}

/* ---- JSON ------------------------------------------------------------------------ */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* Lists of scalars and small maps of scalars ({"type": "Exact", "value": "/x"})
 * stay on one line; the rest is indented. */
static int one_line(const struct kn *n)
{
    if (n->type == KN_MAP && n->n > 3) return 0;
    for (size_t i = 0; i < n->n; i++)
        if (!kn_is_scalar(n->v[i])) return 0;
    return 1;
}

static void json_value(FILE *f, const struct kn *n, int depth)
{
    int open = n->type == KN_MAP ? '{' : '[', inl = one_line(n);
    switch (n->type) {
    case KN_NULL:
        fputs("null", f);
        return;
    case KN_BOOL:
    case KN_NUM:
        fputs(n->s, f);
        return;
    case KN_STR:
        json_string(f, n->s);
        return;
    default:
        break;
    }
    fputc(open, f);
    for (size_t i = 0; i < n->n; i++) {
        fputs(i ? "," : "", f);
        if (inl)
            fputs(i ? " " : open == '{' ? " " : "", f);
        else
            fprintf(f, "\n%*s", 2 * (depth + 1), "");
        if (n->type == KN_MAP) {
            json_string(f, n->k[i]);
            fputs(": ", f);
        }
        json_value(f, n->v[i], depth + 1);
    }
    if (!inl && n->n) fprintf(f, "\n%*s", 2 * depth, "");
    if (inl && open == '{' && n->n) fputc(' ', f);
    fputc(open == '{' ? '}' : ']', f);
}

char *json_text(const struct kn *n, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (f == NULL) {
        fprintf(stderr, "foyer-k8s: out of memory\n");
        exit(2);
    }
    json_value(f, n, 0);
    fputc('\n', f);
    fclose(f);
    return text;
}

/* ---- files ----------------------------------------------------------------------- */

static const char *out_path(const char *name)
{
    return k8s_printf("%s/%s", opt.outdir, name);
}

static FILE *file_begin(const char *name)
{
    FILE *f = fopen(out_path(k8s_printf(".%s.tmp", name)), "w");
    if (f == NULL)
        fprintf(stderr, "foyer-k8s: %s: %s\n", out_path(name), strerror(errno));
    return f;
}

static int file_end(FILE *f, const char *name)
{
    const char *tmp = out_path(k8s_printf(".%s.tmp", name));
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || rename(tmp, out_path(name)) != 0) {
        fprintf(stderr, "foyer-k8s: %s: %s\n", out_path(name), strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void remove_stale(const char *name)
{
    if (unlink(out_path(name)) != 0 && errno != ENOENT)
        fprintf(stderr, "foyer-k8s: %s: %s\n", out_path(name), strerror(errno));
}

static int write_json(const char *name, const struct kn *doc)
{
    if (table_valid(name, doc) != 0) return -1;
    size_t len;
    char *text = json_text(doc, &len);
    FILE *f = file_begin(name);
    if (f != NULL) fwrite(text, 1, len, f);
    free(text);
    return f ? file_end(f, name) : -1;
}

static struct kn *table(const char *semantics, const char *dflt, struct kn *listeners,
                        struct kn *routes)
{
    struct kn *doc = kn_new(KN_MAP, 0);
    kn_set(doc, "semantics", kn_string(semantics));
    if (dflt) kn_set(doc, "default", kn_string(dflt));
    if (listeners) kn_set(doc, "listeners", listeners);
    kn_set(doc, "routes", routes);
    return doc;
}

/* ---- Lua
 * --------------------------------------------------------------------------------- */

static void lua_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\%03u", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void header(FILE *f, const struct out *o, const char *what)
{
    fprintf(f, "-- %s\n-- Generated by foyer-k8s from", what);
    for (size_t i = 0; i < o->ninputs; i++)
        fprintf(f, " %s", o->inputs[i]);
    fprintf(f, ": do not edit, run foyer-k8s again.\n");
}

static void write_service(FILE *f, const struct svc *s)
{
    fprintf(f, "\n-- %s\nservice ", s->note);
    lua_string(f, s->name);
    fputs(" {\n  endpoints = {", f);
    for (size_t i = 0; i < s->n; i++) {
        fputs(i % 4 ? " " : "\n    ", f);
        lua_string(f, s->eps[i]);
        fputc(',', f);
    }
    fputs("\n  },\n", f);
    /* ingress-nginx does not verify its upstreams' certificates (proxy_ssl_verify
     * off): neither does a backend-protocol HTTPS service here */
    if (s->tls) fputs("  tls = { verify = false },\n", f);
    fputs("}\n", f);
}

static int write_services(const struct out *o)
{
    FILE *f = file_begin("k8s-services.lua");
    if (f == NULL) return -1;
    header(f, o, "foyer services of the Kubernetes backends (require \"k8s-services\").");
    fputs("-- Backends without endpoints are not declared: foyer's router answers 500 "
          "for them.\n",
          f);
    for (size_t i = 0; i < o->nsvcs; i++)
        if (o->svcs[i].n > 0) write_service(f, &o->svcs[i]);
    return file_end(f, "k8s-services.lua");
}

static int needs_tls(const struct out *o)
{
    for (size_t i = 0; i < o->nsvcs; i++)
        if (o->svcs[i].tls && o->svcs[i].n > 0) return 1;
    for (size_t i = 0; i < o->nports; i++)
        if (o->ports[i].https && o->ports[i].ncerts > 0) return 1;
    return 0;
}

static void write_ports(FILE *f, const struct out *o)
{
    for (int https = 0; https <= 1; https++) {
        fprintf(f, "k8s.ports.%s = {", https ? "https" : "http");
        for (size_t i = 0, k = 0; i < o->nports; i++)
            if (o->ports[i].https == https)
                fprintf(f, "%s%ld", k++ ? ", " : " ", o->ports[i].port);
        fputs(" }\n", f);
    }
    for (size_t i = 0; i < o->nports; i++) {
        const struct port *p = &o->ports[i];
        if (!p->https || p->ncerts == 0) continue;
        fprintf(f, "k8s.certificates[%ld] = {\n", p->port);
        for (size_t c = 0; c < p->ncerts; c++) {
            fputs("  { cert = ", f);
            lua_string(f, p->certs[c].cert);
            fputs(", key = ", f);
            lua_string(f, p->certs[c].key);
            fputs(" },\n", f);
        }
        fputs("}\n", f);
    }
}

/* The route: one router when one will do (matched in C, no Lua per request);
 * Gateway API first, then the Ingress rules; plain HTTP to the redirecting
 * Ingress table. */
static void write_route(FILE *f, const struct out *o)
{
    const char *ing = o->ing_redirects ? "(req.scheme == \"https\" and ingress or "
                                         "ingress_http)(req)"
                                       : "ingress(req)";
    if (o->gw_used && o->ing_used)
        fprintf(f,
                "k8s.route = function(req)\n  local d = gateway(req)\n"
                "  if d ~= nil then return d end\n  return %s\nend\n",
                ing);
    else if (o->gw_used)
        fputs("k8s.route = gateway\n", f);
    else if (o->ing_redirects)
        fprintf(f, "k8s.route = function(req) return %s end\n", ing);
    else if (o->ing_used)
        fputs("k8s.route = ingress\n", f);
    else
        fputs("k8s.route = function(req) return nil end -- nothing to route: 404\n", f);
}

static int write_glue(const struct out *o)
{
    FILE *f = file_begin("k8s.lua");
    if (f == NULL) return -1;
    header(f, o, "Kubernetes routes for foyer.");
    fputs(
        "--   local k8s = require \"k8s\"   -- (this file's directory on the Lua path)\n"
        "--   route(k8s.route)\n"
        "-- k8s.certificates[PORT]: the TLS certificates of an HTTPS port, for\n"
        "--   listen { \"ADDR:PORT\", tls = { certificates = k8s.certificates[PORT] } }\n"
        "-- k8s.ports: the ports the routes were written for (Gateway listeners,\n"
        "--   Ingress: --http-port and --https-port).\n",
        f);
    if (needs_tls(o))
        fputs("-- Needs plugin \"tls\" { } (TLS listeners or upstreams).\n", f);
    fputs("local router = require \"foyer.router\"\nrequire \"k8s-services\"\n"
          "local k8s = { certificates = {}, ports = {} }\n",
          f);
    write_ports(f, o);
    if (o->ing_used)
        fputs("local ingress = router.new(router.load(\"k8s-ingress.json\"))\n"
              "k8s.ingress = ingress\n",
              f);
    if (o->ing_redirects)
        fputs("local ingress_http = router.new(router.load(\"k8s-ingress-http.json\"))\n"
              "k8s.ingress_http = ingress_http\n",
              f);
    if (o->gw_used)
        fputs("local gateway = router.new(router.load(\"k8s-gateway.json\"))\n"
              "k8s.gateway = gateway\n",
              f);
    write_route(f, o);
    fputs("return k8s\n", f);
    return file_end(f, "k8s.lua");
}

static const char *listen_addr(long port)
{
    const char *a = opt.listen_addr;
    int v6 = strchr(a, ':') != NULL && a[0] != '[';
    return k8s_printf("%s%s%s:%ld", v6 ? "[" : "", a, v6 ? "]" : "", port);
}

static int write_config(const struct out *o)
{
    FILE *f = file_begin("foyer.lua");
    if (f == NULL) return -1;
    header(f, o, "A foyer configuration serving the Kubernetes routes.");
    if (needs_tls(o)) fputs("plugin \"tls\" { }\n", f);
    fputs("local k8s = require \"k8s\"\n", f);
    /* nothing to route still answers 404 on the Ingress port, rather than leave
     * foyer without a listener (which it refuses) */
    if (o->nports == 0) fprintf(f, "listen \"%s\"\n", listen_addr(opt.http_port));
    for (size_t i = 0; i < o->nports; i++) {
        const struct port *p = &o->ports[i];
        const char *addr = listen_addr(p->port);
        if (!p->https)
            fprintf(f, "listen \"%s\"\n", addr);
        else if (p->ncerts > 0)
            fprintf(f,
                    "listen { \"%s\", tls = { certificates = k8s.certificates[%ld] } }\n",
                    addr, p->port);
    }
    fputs("route(k8s.route)\n", f);
    return file_end(f, "foyer.lua");
}

int emit_all(const struct out *o)
{
    int r = write_services(o);
    if (o->ing_used)
        r |= write_json("k8s-ingress.json",
                        table("ingress", o->ing_default, NULL, o->ing_routes));
    else
        remove_stale("k8s-ingress.json");
    if (o->ing_redirects)
        r |= write_json("k8s-ingress-http.json",
                        table("ingress", o->ing_default, NULL, o->ing_http_routes));
    else
        remove_stale("k8s-ingress-http.json");
    if (o->gw_used)
        r |= write_json("k8s-gateway.json",
                        table("gateway", NULL, o->gw_listeners, o->gw_routes));
    else
        remove_stale("k8s-gateway.json");
    r |= write_glue(o);
    if (opt.listen_addr)
        r |= write_config(o);
    else
        remove_stale("foyer.lua");
    return r;
}
