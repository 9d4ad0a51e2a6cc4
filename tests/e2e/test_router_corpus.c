/*
 * Replays the shared routing corpus ($FOYER_SHARED/corpus/routing/cases.json,
 * cases restated from the Ingress and Gateway API conformance suites) through
 * the real binary: for every group, one --report backend per service it
 * names, a foyer whose route is `router.new{ semantics = group.api, ... }`
 * converted from the group's config, then every request, compared with its
 * expectation (status, receiving backend, what it received, redirect parts,
 * response fields, weighted distribution). One CUnit test per group; each
 * case prints PASS, FAIL (with every mismatch) or SKIP (with the reason).
 *
 * Skipped: ingress-nginx-profile groups (that controller's own quirks), and
 * cases that need TLS (https requests, TLS config) or HTTP/2. Everything
 * else must pass. The program exits 77 (automake's SKIP) when the corpus is
 * not there.
 *
 * Mapping the corpus's network onto one machine: listeners are grouped by
 * (gateway, port); each group becomes its own foyer on an ephemeral port
 * with a router that sees only those listeners. A request goes to the foyer
 * of its gateway and port (default 80). A request whose host is null is sent
 * with the proxy's own address as Host (127.0.0.1:PORT), so PORT stands for
 * the corpus's port 80 when a redirect keeps the request's port.
 *
 * E2E_CORPUS_VIA_JSON=1 hands the converted router table to foyer as a JSON
 * file through router.load instead of a Lua literal; E2E_CORPUS_DUMP=DIR
 * keeps a copy of every generated config there (GROUP-N.lua).
 */
#include "harness.h"
#include "json.h"

#include <CUnit/Basic.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define T_MS 5000
#define MAX_SAMPLES 2000
/* A weighted split is checked over at least this many requests: with the
 * corpus's 500 samples, a +-5 % tolerance on a 70 % share is only 2.4
 * standard deviations (a flaky test); over 2000 it is 4.9. */
#define DIST_SAMPLES 2000
#define MAX_INST 8
#define MAX_SVC 16

static struct e2e_json *corpus;
static char corpus_path[4096];
static size_t current_group;

/* ---- small helpers -------------------------------------------------------------- */

static const char *str_or(const struct e2e_json *j, const char *key, const char *dflt)
{
    const char *s = e2e_json_str(j, key);
    return s ? s : dflt;
}

static bool is_null_or_absent(const struct e2e_json *j, const char *key)
{
    const struct e2e_json *v = e2e_json_get(j, key);
    return !v || v->type == EJ_NULL;
}

/* A growable failure message for one case. */
struct why {
    char text[2048];
    size_t len;
    int n;
};

static void whyf(struct why *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void whyf(struct why *w, const char *fmt, ...)
{
    w->n++;
    if (w->len + 4 >= sizeof(w->text))
        return;
    if (w->len)
        w->len += (size_t)snprintf(w->text + w->len, sizeof(w->text) - w->len, "; ");
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(w->text + w->len, sizeof(w->text) - w->len, fmt, ap);
    va_end(ap);
    if (k > 0)
        w->len = w->len + (size_t)k < sizeof(w->text) ? w->len + (size_t)k : sizeof(w->text) - 1;
}

/* ---- services named by a group ---------------------------------------------------- */

struct svcs {
    int n;
    char *names[MAX_SVC];
    struct e2e_backend b[MAX_SVC];
};

static void svc_add(struct svcs *s, const char *name)
{
    if (!name)
        return;
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0)
            return;
    if (s->n < MAX_SVC)
        s->names[s->n++] = strdup(name);
}

static int svc_port(const struct svcs *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0)
            return s->b[i].port;
    return -1;
}

static void collect_backends(struct svcs *s, const struct e2e_json *backends)
{
    for (size_t i = 0; i < e2e_json_len(backends); i++) {
        const struct e2e_json *b = e2e_json_at(backends, i);
        if (is_null_or_absent(b, "invalid"))
            svc_add(s, e2e_json_str(b, "service"));
        const struct e2e_json *fs = e2e_json_get(b, "filters");
        for (size_t k = 0; k < e2e_json_len(fs); k++)
            svc_add(s, e2e_json_str(e2e_json_at(fs, k), "service")); /* mirrors */
    }
}

static void collect_services(struct svcs *s, const struct e2e_json *group)
{
    const struct e2e_json *cfg = e2e_json_get(group, "config");
    svc_add(s, e2e_json_str(cfg, "default_backend"));
    const struct e2e_json *routes = e2e_json_get(cfg, "routes");
    for (size_t r = 0; r < e2e_json_len(routes); r++) {
        const struct e2e_json *rules = e2e_json_get(e2e_json_at(routes, r), "rules");
        for (size_t k = 0; k < e2e_json_len(rules); k++) {
            const struct e2e_json *rule = e2e_json_at(rules, k);
            collect_backends(s, e2e_json_get(rule, "backends"));
            const struct e2e_json *fs = e2e_json_get(rule, "filters");
            for (size_t f = 0; f < e2e_json_len(fs); f++)
                svc_add(s, e2e_json_str(e2e_json_at(fs, f), "service"));
        }
    }
    /* Services only expectations name still get a backend: a request that
     * wrongly reaches them must be seen to. */
    const struct e2e_json *reqs = e2e_json_get(group, "requests");
    for (size_t i = 0; i < e2e_json_len(reqs); i++) {
        const struct e2e_json *ex = e2e_json_get(e2e_json_at(reqs, i), "expect");
        svc_add(s, e2e_json_str(ex, "backend"));
        svc_add(s, e2e_json_str(ex, "backend_not"));
        const struct e2e_json *d = e2e_json_get(ex, "distribution");
        for (size_t k = 0; k < e2e_json_len(d); k++)
            svc_add(s, d->keys[k]);
        const struct e2e_json *one = e2e_json_get(ex, "backend_one_of");
        for (size_t k = 0; k < e2e_json_len(one); k++)
            if (e2e_json_is(e2e_json_at(one, k), EJ_STR))
                svc_add(s, e2e_json_at(one, k)->str);
        const struct e2e_json *m = e2e_json_get(ex, "mirrored_to");
        for (size_t k = 0; k < e2e_json_len(m); k++)
            if (e2e_json_is(e2e_json_at(m, k), EJ_STR))
                svc_add(s, e2e_json_at(m, k)->str);
    }
}

/* ---- instances: listeners grouped by (gateway, port) ------------------------------ */

struct inst {
    char gateway[128];
    int cport; /* the corpus's port */
    const struct e2e_json *listeners[32];
    int nl;
    struct e2e_foyer f;
    bool started;
};

static int listener_port(const struct e2e_json *l)
{
    return (int)e2e_json_num(l, "port", 80);
}

static int plan_instances(const struct e2e_json *group, struct inst *in)
{
    const struct e2e_json *ls = e2e_json_get(e2e_json_get(group, "config"), "listeners");
    int n = 0;
    if (e2e_json_len(ls) == 0) {
        memset(&in[0], 0, sizeof(in[0]));
        in[0].cport = 80;
        return 1;
    }
    for (size_t i = 0; i < e2e_json_len(ls); i++) {
        const struct e2e_json *l = e2e_json_at(ls, i);
        const char *gw = str_or(l, "gateway", "");
        int port = listener_port(l);
        int k = 0;
        while (k < n && !(strcmp(in[k].gateway, gw) == 0 && in[k].cport == port))
            k++;
        if (k == n) {
            if (n == MAX_INST)
                continue;
            memset(&in[n], 0, sizeof(in[n]));
            snprintf(in[n].gateway, sizeof(in[n].gateway), "%s", gw);
            in[n].cport = port;
            n++;
        }
        if (in[k].nl < 32)
            in[k].listeners[in[k].nl++] = l;
    }
    return n;
}

static bool inst_has_listener(const struct inst *in, const char *name)
{
    for (int i = 0; i < in->nl; i++)
        if (strcmp(str_or(in->listeners[i], "name", ""), name) == 0)
            return true;
    return false;
}

/* Does any listener of the instance have a hostname? */
static bool inst_hostnames(const struct inst *in)
{
    for (int i = 0; i < in->nl; i++)
        if (!is_null_or_absent(in->listeners[i], "hostname"))
            return true;
    return false;
}

/* ---- the converter: corpus config -> router table ---------------------------------- */

static const char *path_type(const char *t)
{
    if (!t || strcmp(t, "Prefix") == 0 || strcmp(t, "PathPrefix") == 0)
        return "PathPrefix";
    return t; /* Exact, RegularExpression, ImplementationSpecific */
}

/* [{name, value}] -> { name = value } (a repeated name in `add` gives a list). */
static struct e2e_json *conv_header_map(const struct e2e_json *list, bool listify)
{
    struct e2e_json *m = e2e_json_new(EJ_OBJ);
    if (e2e_json_is(list, EJ_OBJ)) { /* already a map */
        for (size_t i = 0; i < list->n; i++)
            e2e_json_set(m, list->keys[i], e2e_json_copy(list->items[i]));
        return m;
    }
    for (size_t i = 0; i < e2e_json_len(list); i++) {
        const struct e2e_json *h = e2e_json_at(list, i);
        const char *name = e2e_json_str(h, "name"), *value = e2e_json_str(h, "value");
        if (!name || !value)
            continue;
        const struct e2e_json *old = e2e_json_get(m, name);
        if (listify && old) {
            struct e2e_json *arr = e2e_json_new(EJ_ARR);
            if (old->type == EJ_ARR)
                for (size_t k = 0; k < old->n; k++)
                    e2e_json_push(arr, e2e_json_copy(old->items[k]));
            else
                e2e_json_push(arr, e2e_json_copy(old));
            e2e_json_push(arr, e2e_json_new_str(value));
            e2e_json_set(m, name, arr);
        } else {
            e2e_json_set(m, name, e2e_json_new_str(value));
        }
    }
    return m;
}

static struct e2e_json *conv_filter(const struct e2e_json *f, struct why *err)
{
    const char *t = str_or(f, "type", "");
    struct e2e_json *o = e2e_json_new(EJ_OBJ);
    if (!strcmp(t, "request_header_modifier") || !strcmp(t, "response_header_modifier")) {
        e2e_json_set(o, "type", e2e_json_new_str(t[1] == 'e' && t[2] == 'q'
                                                      ? "RequestHeaderModifier"
                                                      : "ResponseHeaderModifier"));
        if (e2e_json_get(f, "set"))
            e2e_json_set(o, "set", conv_header_map(e2e_json_get(f, "set"), false));
        if (e2e_json_get(f, "add"))
            e2e_json_set(o, "add", conv_header_map(e2e_json_get(f, "add"), true));
        if (e2e_json_get(f, "remove"))
            e2e_json_set(o, "remove", e2e_json_copy(e2e_json_get(f, "remove")));
    } else if (!strcmp(t, "request_redirect")) {
        e2e_json_set(o, "type", e2e_json_new_str("RequestRedirect"));
        static const char *const keys[] = {"scheme", "hostname", "port", "path"};
        for (size_t i = 0; i < 4; i++)
            if (!is_null_or_absent(f, keys[i]))
                e2e_json_set(o, keys[i], e2e_json_copy(e2e_json_get(f, keys[i])));
        if (!is_null_or_absent(f, "status"))
            e2e_json_set(o, "statusCode", e2e_json_copy(e2e_json_get(f, "status")));
    } else if (!strcmp(t, "url_rewrite")) {
        e2e_json_set(o, "type", e2e_json_new_str("URLRewrite"));
        static const char *const keys[] = {"hostname", "path"};
        for (size_t i = 0; i < 2; i++)
            if (!is_null_or_absent(f, keys[i]))
                e2e_json_set(o, keys[i], e2e_json_copy(e2e_json_get(f, keys[i])));
    } else if (!strcmp(t, "request_mirror")) {
        e2e_json_set(o, "type", e2e_json_new_str("RequestMirror"));
        e2e_json_set(o, "service", e2e_json_new_str(str_or(f, "service", "")));
    } else {
        whyf(err, "converter: unknown filter type \"%s\"", t);
    }
    return o;
}

static struct e2e_json *conv_filters(const struct e2e_json *fs, struct why *err)
{
    struct e2e_json *out = e2e_json_new(EJ_ARR);
    for (size_t i = 0; i < e2e_json_len(fs); i++)
        e2e_json_push(out, conv_filter(e2e_json_at(fs, i), err));
    return out;
}

static struct e2e_json *conv_match(const struct e2e_json *m)
{
    struct e2e_json *o = e2e_json_new(EJ_OBJ);
    const struct e2e_json *p = e2e_json_get(m, "path");
    if (p && p->type == EJ_OBJ) {
        struct e2e_json *po = e2e_json_new(EJ_OBJ);
        e2e_json_set(po, "type", e2e_json_new_str(path_type(e2e_json_str(p, "type"))));
        e2e_json_set(po, "value", e2e_json_new_str(str_or(p, "value", "/")));
        e2e_json_set(o, "path", po);
    }
    static const char *const lists[][2] = {{"headers", "headers"}, {"query", "queryParams"},
                                           {"queryParams", "queryParams"}};
    for (size_t i = 0; i < 3; i++) {
        const struct e2e_json *l = e2e_json_get(m, lists[i][0]);
        if (!e2e_json_len(l))
            continue;
        struct e2e_json *arr = e2e_json_new(EJ_ARR);
        for (size_t k = 0; k < l->n; k++) {
            const struct e2e_json *h = l->items[k];
            struct e2e_json *ho = e2e_json_new(EJ_OBJ);
            e2e_json_set(ho, "name", e2e_json_new_str(str_or(h, "name", "")));
            e2e_json_set(ho, "value", e2e_json_new_str(str_or(h, "value", "")));
            e2e_json_set(ho, "type", e2e_json_new_str(str_or(h, "type", "Exact")));
            e2e_json_push(arr, ho);
        }
        e2e_json_set(o, lists[i][1], arr);
    }
    if (e2e_json_str(m, "method"))
        e2e_json_set(o, "method", e2e_json_new_str(e2e_json_str(m, "method")));
    return o;
}

static struct e2e_json *conv_rule(const struct e2e_json *rule, struct why *err)
{
    struct e2e_json *o = e2e_json_new(EJ_OBJ);
    const struct e2e_json *ms = e2e_json_get(rule, "matches");
    if (e2e_json_len(ms)) {
        struct e2e_json *arr = e2e_json_new(EJ_ARR);
        for (size_t i = 0; i < ms->n; i++)
            e2e_json_push(arr, conv_match(ms->items[i]));
        e2e_json_set(o, "matches", arr);
    }
    if (e2e_json_len(e2e_json_get(rule, "filters")))
        e2e_json_set(o, "filters", conv_filters(e2e_json_get(rule, "filters"), err));
    struct e2e_json *bs = e2e_json_new(EJ_ARR);
    const struct e2e_json *in = e2e_json_get(rule, "backends");
    for (size_t i = 0; i < e2e_json_len(in); i++) {
        const struct e2e_json *b = in->items[i];
        struct e2e_json *bo = e2e_json_new(EJ_OBJ);
        char name[300];
        /* An invalid backend names a service that is not declared. */
        snprintf(name, sizeof(name), "%s%s", is_null_or_absent(b, "invalid") ? "" : "invalid--",
                 str_or(b, "service", "unnamed"));
        e2e_json_set(bo, "service", e2e_json_new_str(name));
        if (!is_null_or_absent(b, "weight"))
            e2e_json_set(bo, "weight", e2e_json_copy(e2e_json_get(b, "weight")));
        if (e2e_json_len(e2e_json_get(b, "filters")))
            e2e_json_set(bo, "filters", conv_filters(e2e_json_get(b, "filters"), err));
        e2e_json_push(bs, bo);
    }
    e2e_json_set(o, "backends", bs);
    return o;
}

/* The router table for one instance; NULL plus err when the group cannot be
 * converted. */
static struct e2e_json *convert(const struct e2e_json *group, const struct inst *in,
                                struct why *err)
{
    const struct e2e_json *cfg = e2e_json_get(group, "config");
    struct e2e_json *r = e2e_json_new(EJ_OBJ);
    e2e_json_set(r, "semantics", e2e_json_new_str(str_or(group, "api", "gateway")));
    if (e2e_json_str(cfg, "default_backend"))
        e2e_json_set(r, "default", e2e_json_new_str(e2e_json_str(cfg, "default_backend")));
    /* Listener isolation matters only when a listener has a hostname. */
    bool isolate = inst_hostnames(in);
    if (isolate) {
        struct e2e_json *ls = e2e_json_new(EJ_ARR);
        for (int i = 0; i < in->nl; i++) {
            struct e2e_json *lo = e2e_json_new(EJ_OBJ);
            e2e_json_set(lo, "name", e2e_json_new_str(str_or(in->listeners[i], "name", "")));
            if (!is_null_or_absent(in->listeners[i], "hostname"))
                e2e_json_set(lo, "hostname",
                             e2e_json_copy(e2e_json_get(in->listeners[i], "hostname")));
            e2e_json_push(ls, lo);
        }
        e2e_json_set(r, "listeners", ls);
    }
    const char *my_class = e2e_json_str(cfg, "proxy_ingress_class");
    struct e2e_json *routes = e2e_json_new(EJ_ARR);
    const struct e2e_json *rs = e2e_json_get(cfg, "routes");
    for (size_t i = 0; i < e2e_json_len(rs); i++) {
        const struct e2e_json *rt = rs->items[i];
        const char *cls = e2e_json_str(rt, "ingress_class");
        if (cls && (!my_class || strcmp(cls, my_class) != 0))
            continue; /* another controller's Ingress: not installed */
        const struct e2e_json *rl = e2e_json_get(rt, "listeners");
        struct e2e_json *mine = NULL;
        if (rl) {
            mine = e2e_json_new(EJ_ARR);
            for (size_t k = 0; k < e2e_json_len(rl); k++)
                if (e2e_json_is(rl->items[k], EJ_STR) && inst_has_listener(in, rl->items[k]->str))
                    e2e_json_push(mine, e2e_json_copy(rl->items[k]));
            if (mine->n == 0) { /* attached elsewhere only */
                e2e_json_free(mine);
                continue;
            }
        }
        struct e2e_json *ro = e2e_json_new(EJ_OBJ);
        if (e2e_json_len(e2e_json_get(rt, "hostnames")))
            e2e_json_set(ro, "hostnames", e2e_json_copy(e2e_json_get(rt, "hostnames")));
        if (mine && isolate)
            e2e_json_set(ro, "listeners", mine);
        else
            e2e_json_free(mine);
        struct e2e_json *rules = e2e_json_new(EJ_ARR);
        const struct e2e_json *in_rules = e2e_json_get(rt, "rules");
        for (size_t k = 0; k < e2e_json_len(in_rules); k++)
            e2e_json_push(rules, conv_rule(in_rules->items[k], err));
        e2e_json_set(ro, "rules", rules);
        e2e_json_push(routes, ro);
    }
    e2e_json_set(r, "routes", routes);
    if (err->n) {
        e2e_json_free(r);
        return NULL;
    }
    return r;
}

/* Writes the instance's config (and the router table) and starts foyer. */
static bool start_instance(const struct e2e_json *group, struct inst *in, int idx,
                           const struct svcs *s, struct why *err)
{
    struct e2e_json *table = convert(group, in, err);
    if (!table)
        return false;
    int port = e2e_free_port();
    char name[64], json_name[64];
    snprintf(name, sizeof(name), "foyer-%d.lua", idx);
    snprintf(json_name, sizeof(json_name), "routes-%d.json", idx);
    const char *json_path = e2e_path(json_name);
    bool via_json = getenv("E2E_CORPUS_VIA_JSON") && atoi(getenv("E2E_CORPUS_VIA_JSON"));
    FILE *jf = fopen(json_path, "w");
    if (jf) {
        e2e_json_write(jf, table);
        fputc('\n', jf);
        fclose(jf);
    }
    /* The config: services, then the router (its Lua shown on failure). */
    char *text = NULL;
    size_t tlen = 0;
    FILE *cf = open_memstream(&text, &tlen);
    fprintf(cf, "listen \"127.0.0.1:%d\"\nset { workers = 1 }\n", port);
    for (int i = 0; i < s->n; i++)
        fprintf(cf, "service \"%s\" { endpoints = { \"127.0.0.1:%d\" } }\n", s->names[i],
                s->b[i].port);
    fprintf(cf, "local router = require \"foyer.router\"\n");
    if (via_json) {
        fprintf(cf, "route(router.new(router.load(\"%s\")))\n", json_path);
    } else {
        fprintf(cf, "route(router.new ");
        e2e_json_write_lua(cf, table, 0);
        fprintf(cf, ")\n");
    }
    fclose(cf);
    e2e_json_free(table);
    const char *dump = getenv("E2E_CORPUS_DUMP");
    if (dump && *dump) {
        char dpath[4096];
        snprintf(dpath, sizeof(dpath), "%s/%s-%d.lua", dump, str_or(group, "id", "group"), idx);
        if (!e2e_write_file(dpath, text))
            e2e_log("cannot write %s", dpath);
    }
    e2e_log("instance %d (gateway \"%s\", corpus port %d) on 127.0.0.1:%d, config %s", idx,
            in->gateway, in->cport, port, e2e_path(name));
    /* e2e_foyer_start_conf REQUIREs a start: a foyer refusing the converted
     * config ends the group with its stderr in the log. */
    e2e_foyer_start_conf(&in->f, name, port, text, NULL);
    free(text);
    in->started = true;
    return true;
}

/* ---- sending a corpus request ------------------------------------------------------ */

struct sent {
    int rc;
    struct e2e_resp r;
    char backend[128];
    struct e2e_json *rep;
    char host_header[512]; /* what was sent */
};

static void sent_free(struct sent *s)
{
    e2e_resp_free(&s->r);
    e2e_json_free(s->rep);
    s->rep = NULL;
}

static void send_request(int port, const struct e2e_json *rq, struct sent *out)
{
    memset(out, 0, sizeof(*out));
    const char *method = str_or(rq, "method", "GET"), *path = str_or(rq, "path", "/");
    const char *ver = str_or(rq, "http_version", "1.1");
    if (e2e_json_str(rq, "host"))
        snprintf(out->host_header, sizeof(out->host_header), "%s", e2e_json_str(rq, "host"));
    else
        snprintf(out->host_header, sizeof(out->host_header), "127.0.0.1:%d", port);
    char *req = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&req, &len);
    fprintf(m, "%s %s HTTP/%s\r\nHost: %s\r\n", method, path, ver, out->host_header);
    const struct e2e_json *hs = e2e_json_get(rq, "headers");
    for (size_t i = 0; i < e2e_json_len(hs); i++) {
        const struct e2e_json *v = hs->items[i];
        if (hs->type == EJ_OBJ && v->type == EJ_STR) {
            fprintf(m, "%s: %s\r\n", hs->keys[i], v->str);
        } else if (hs->type == EJ_OBJ && v->type == EJ_ARR) {
            for (size_t k = 0; k < v->n; k++)
                if (v->items[k]->type == EJ_STR)
                    fprintf(m, "%s: %s\r\n", hs->keys[i], v->items[k]->str);
        } else if (hs->type == EJ_ARR) { /* [{name, value}] */
            fprintf(m, "%s: %s\r\n", str_or(v, "name", "X"), str_or(v, "value", ""));
        }
    }
    const struct e2e_json *brh = e2e_json_get(rq, "backend_response_headers");
    for (size_t i = 0; i < e2e_json_len(brh); i++)
        if (brh->type == EJ_OBJ && brh->items[i]->type == EJ_STR)
            fprintf(m, "X-Backend-Response-Header: %s: %s\r\n", brh->keys[i],
                    brh->items[i]->str);
    if (!strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH"))
        fprintf(m, "Content-Length: 0\r\n");
    fprintf(m, "Connection: close\r\n\r\n");
    fclose(m);
    out->r.head_request = strcmp(method, "HEAD") == 0;
    out->rc = e2e_request(port, req, &out->r, T_MS);
    free(req);
    if (out->rc == 1) {
        e2e_resp_header(&out->r, "x-backend", out->backend, sizeof(out->backend));
        out->rep = e2e_report(&out->r);
    }
}

/* ---- checking one response against `expect` ---------------------------------------- */

static const char *str_or_empty(const struct e2e_json *v)
{
    return e2e_json_is(v, EJ_STR) ? v->str : "";
}

/* "a, b" vs "a,b": values compared as comma-separated lists. */
static bool list_equal(const char *got, const char *want)
{
    if (!got || !want)
        return false;
    char g[2048], w[2048];
    snprintf(g, sizeof(g), "%s", got);
    snprintf(w, sizeof(w), "%s", want);
    return strcmp(e2e_norm_list(g), e2e_norm_list(w)) == 0;
}

static const char *json_text(const struct e2e_json *v, char *buf, size_t len)
{
    if (e2e_json_is(v, EJ_STR))
        return v->str;
    if (!buf || !len)
        return NULL;
    buf[0] = 0;
    if (e2e_json_is(v, EJ_ARR)) { /* a list of values: joined */
        size_t used = 0;
        for (size_t i = 0; i < v->n && used < len; i++)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "",
                                     e2e_json_is(v->items[i], EJ_STR) ? v->items[i]->str : "");
        return buf;
    }
    if (e2e_json_is(v, EJ_NUM)) {
        snprintf(buf, len, "%g", v->num);
        return buf;
    }
    return NULL;
}

static int default_port(const char *scheme)
{
    return scheme && !strcasecmp(scheme, "https") ? 443 : 80;
}

/* Host without its port (an IPv6 literal keeps its brackets). */
static void host_only(const char *host, char *out, size_t len)
{
    const char *end = host + strlen(host);
    if (host[0] == '[') {
        const char *rb = strchr(host, ']');
        end = rb ? rb + 1 : end;
    } else if (strrchr(host, ':')) {
        end = strrchr(host, ':');
    }
    snprintf(out, len, "%.*s", (int)(end - host), host);
}

static void check_redirect(const struct e2e_json *want, const struct e2e_json *rq,
                           const struct sent *s, int fport, struct why *w)
{
    char loc[1024];
    if (!e2e_resp_header(&s->r, "location", loc, sizeof(loc))) {
        whyf(w, "no Location");
        return;
    }
    /* scheme://authority/path */
    char scheme[32] = "", auth[512] = "", host[512] = "";
    const char *p = strstr(loc, "://"), *path = "";
    if (!p) {
        whyf(w, "Location \"%s\" is not absolute", loc);
        return;
    }
    snprintf(scheme, sizeof(scheme), "%.*s", (int)(p - loc), loc);
    const char *a = p + 3, *slash = strchr(a, '/');
    snprintf(auth, sizeof(auth), "%.*s", (int)(slash ? slash - a : (long)strlen(a)), a);
    path = slash ? slash : "";
    host_only(auth, host, sizeof(host));
    int port = -1;
    const char *colon = auth[0] == '[' ? strstr(auth, "]:") : strrchr(auth, ':');
    if (colon)
        port = atoi(colon + (auth[0] == '[' ? 2 : 1));

    const char *ws = e2e_json_str(want, "scheme");
    if (ws && strcasecmp(ws, scheme) != 0)
        whyf(w, "Location scheme \"%s\", want \"%s\" (%s)", scheme, ws, loc);
    char want_host[512];
    if (e2e_json_str(want, "host"))
        snprintf(want_host, sizeof(want_host), "%s", e2e_json_str(want, "host"));
    else
        host_only(s->host_header, want_host, sizeof(want_host));
    if (strcasecmp(host, want_host) != 0)
        whyf(w, "Location host \"%s\", want \"%s\" (%s)", host, want_host, loc);
    const struct e2e_json *wp = e2e_json_get(want, "port");
    if (e2e_json_is(wp, EJ_NUM)) {
        int wantp = (int)wp->num;
        if (!(port == wantp || (port < 0 && wantp == default_port(scheme))))
            whyf(w, "Location port %d, want %d (%s)", port, wantp, loc);
    } else {
        /* null: omitted or the scheme's default; the request's own port
         * (this foyer's, standing for the corpus's 80) is also what "the
         * listener's port" means here when the scheme is unchanged. */
        const char *req_scheme = str_or(rq, "scheme", "http");
        bool same_scheme = strcasecmp(scheme, req_scheme) == 0;
        if (!(port < 0 || port == default_port(scheme) || (same_scheme && port == fport)))
            whyf(w, "Location port %d, want none (%s)", port, loc);
    }
    const char *wpath = e2e_json_str(want, "path");
    if (wpath && strcmp(path, wpath) != 0)
        whyf(w, "Location path \"%s\", want \"%s\" (%s)", path, wpath, loc);
}

/* The header an `invariant` like "backend_request.headers['Backend'] (single
 * value) == name of the receiving backend" is about; NULL if not that form. */
static bool invariant_header(const char *inv, char *name, size_t len)
{
    const char *p = inv ? strstr(inv, "backend_request.headers['") : NULL;
    if (!p || !strstr(inv, "receiving backend"))
        return false;
    p += strlen("backend_request.headers['");
    const char *e = strchr(p, '\'');
    if (!e)
        return false;
    snprintf(name, len, "%.*s", (int)(e - p), p);
    return true;
}

static const char *const known_expect[] = {
    "status", "backend", "backend_not", "backend_one_of", "backend_request", "distribution",
    "samples", "tolerance", "invariant", "redirect", "location", "response_headers",
    "response_absent_headers", "mirrored_to", NULL};

/* Everything but distribution and mirrors, for one response. */
static void check_one(const struct e2e_json *ex, const struct e2e_json *rq, const struct sent *s,
                      int fport, struct why *w)
{
    if (s->rc != 1) {
        whyf(w, "no valid response (rc %d)", s->rc);
        return;
    }
    int want_status = (int)e2e_json_num(ex, "status", -1);
    if (want_status >= 0 && s->r.status != want_status)
        whyf(w, "status %d, want %d (answered by \"%s\")", s->r.status, want_status, s->backend);
    const char *wb = e2e_json_str(ex, "backend");
    if (wb && strcmp(s->backend, wb) != 0)
        whyf(w, "backend \"%s\", want \"%s\"", s->backend, wb);
    const char *nb = e2e_json_str(ex, "backend_not");
    if (nb && strcmp(s->backend, nb) == 0)
        whyf(w, "reached backend \"%s\", which it must not", nb);
    const struct e2e_json *one = e2e_json_get(ex, "backend_one_of");
    if (one) {
        bool in = false;
        for (size_t i = 0; i < e2e_json_len(one); i++)
            in |= e2e_json_is(one->items[i], EJ_STR) && !strcmp(one->items[i]->str, s->backend);
        if (!in)
            whyf(w, "backend \"%s\" is not one of the expected", s->backend);
    }
    char v[2048], tmp[2048];
    const struct e2e_json *br = e2e_json_get(ex, "backend_request");
    if (br) {
        if (!s->rep) {
            whyf(w, "no backend report (status %d, backend \"%s\")", s->r.status, s->backend);
        } else {
            const char *t = e2e_report_str(s->rep, "target"), *h = e2e_report_str(s->rep, "host");
            const char *m = e2e_report_str(s->rep, "method");
            const char *wp = e2e_json_str(br, "path"), *wh = e2e_json_str(br, "host");
            const char *wm = e2e_json_str(br, "method");
            if (wp && (!t || strcmp(t, wp)))
                whyf(w, "backend got path \"%s\", want \"%s\"", t ? t : "", wp);
            if (wh && (!h || strcmp(h, wh)))
                whyf(w, "backend got Host \"%s\", want \"%s\"", h ? h : "(none)", wh);
            if (wm && (!m || strcmp(m, wm)))
                whyf(w, "backend got method \"%s\", want \"%s\"", m ? m : "", wm);
            const struct e2e_json *hs = e2e_json_get(br, "headers");
            for (size_t i = 0; i < e2e_json_len(hs) && hs->type == EJ_OBJ; i++) {
                const char *want = json_text(hs->items[i], tmp, sizeof(tmp));
                const char *got = e2e_report_header(s->rep, hs->keys[i], ",", v, sizeof(v));
                if (!list_equal(got, want))
                    whyf(w, "backend got %s \"%s\", want \"%s\"", hs->keys[i],
                         got ? got : "(absent)", want ? want : "");
            }
            const struct e2e_json *ab = e2e_json_get(br, "absent_headers");
            for (size_t i = 0; i < e2e_json_len(ab); i++)
                if (e2e_json_is(ab->items[i], EJ_STR) &&
                    e2e_report_count(s->rep, ab->items[i]->str) > 0)
                    whyf(w, "backend got %s, which must be absent", ab->items[i]->str);
        }
    }
    const struct e2e_json *rd = e2e_json_get(ex, "redirect");
    if (rd && rd->type == EJ_OBJ)
        check_redirect(rd, rq, s, fport, w);
    const char *wl = e2e_json_str(ex, "location");
    if (wl) {
        const char *loc = e2e_resp_header(&s->r, "location", v, sizeof(v));
        if (!loc || strcmp(loc, wl))
            whyf(w, "Location \"%s\", want \"%s\"", loc ? loc : "(none)", wl);
    }
    const struct e2e_json *rh = e2e_json_get(ex, "response_headers");
    for (size_t i = 0; i < e2e_json_len(rh) && rh->type == EJ_OBJ; i++) {
        const char *want = json_text(rh->items[i], tmp, sizeof(tmp));
        const char *got = e2e_resp_header_all(&s->r, rh->keys[i], ",", v, sizeof(v));
        if (!list_equal(got, want))
            whyf(w, "response %s \"%s\", want \"%s\"", rh->keys[i], got ? got : "(absent)",
                 want ? want : "");
    }
    const struct e2e_json *ra = e2e_json_get(ex, "response_absent_headers");
    for (size_t i = 0; i < e2e_json_len(ra); i++)
        if (e2e_json_is(ra->items[i], EJ_STR) && e2e_head_count(s->r.head, ra->items[i]->str))
            whyf(w, "response has %s, which must be absent", ra->items[i]->str);
    char hname[128];
    if (invariant_header(e2e_json_str(ex, "invariant"), hname, sizeof(hname))) {
        const char *got = s->rep ? e2e_report_header(s->rep, hname, "\n", v, sizeof(v)) : NULL;
        if (!got || strcmp(got, s->backend) != 0)
            whyf(w, "invariant: backend \"%s\" received %s \"%s\"", s->backend, hname,
                 got ? got : "(absent)");
    }
}

/* ---- one case ---------------------------------------------------------------------- */

/* Why a request cannot run here, or NULL. */
static const char *skip_reason(const struct e2e_json *rq, const struct e2e_json *ex)
{
    if (!strcasecmp(str_or(rq, "scheme", "http"), "https"))
        return "needs TLS (https request)";
    if (e2e_json_get(ex, "tls"))
        return "needs TLS (certificate expectation)";
    const char *ver = str_or(rq, "http_version", "1.1");
    if (strcmp(ver, "1.1") && strcmp(ver, "1.0"))
        return "needs an HTTP version other than 1.x";
    return NULL;
}

static struct inst *instance_for(struct inst *in, int n, const struct e2e_json *rq)
{
    const char *gw = e2e_json_str(rq, "gateway");
    int port = (int)e2e_json_num(rq, "port", default_port(str_or(rq, "scheme", "http")));
    for (int i = 0; i < n; i++)
        if (in[i].cport == port && (!gw || !strcmp(in[i].gateway, gw)))
            return &in[i];
    return NULL;
}

enum outcome { PASS, FAIL, SKIP };

static enum outcome run_case(const struct e2e_json *group, const struct e2e_json *c,
                             struct inst *in, int ninst, const struct svcs *s, struct why *w,
                             const char **skip)
{
    const struct e2e_json *rq = e2e_json_get(c, "request"), *ex = e2e_json_get(c, "expect");
    if ((*skip = skip_reason(rq, ex)))
        return SKIP;
    for (size_t i = 0; i < e2e_json_len(ex); i++) {
        bool known = false;
        for (const char *const *k = known_expect; *k; k++)
            known |= !strcmp(*k, ex->keys[i]);
        if (!known)
            whyf(w, "the harness does not know expect.%s", ex->keys[i]);
    }
    if (w->n)
        return FAIL;
    struct inst *it = instance_for(in, ninst, rq);
    if (!it) {
        whyf(w, "no listener for this request's gateway/port");
        return FAIL;
    }
    if (!it->started && !start_instance(group, it, (int)(it - in), s, w))
        return FAIL;
    int fport = it->f.port;

    /* Mirrors: count their requests before. */
    const struct e2e_json *mir = e2e_json_get(ex, "mirrored_to");
    long mbefore[MAX_SVC] = {0};
    for (size_t i = 0; i < e2e_json_len(mir) && i < MAX_SVC; i++)
        mbefore[i] = e2e_backend_requests(svc_port(s, str_or_empty(mir->items[i])));

    int samples = (int)e2e_json_num(ex, "samples", 1);
    const struct e2e_json *dist = e2e_json_get(ex, "distribution");
    if (dist && samples < DIST_SAMPLES)
        samples = DIST_SAMPLES;
    samples = samples < 1 ? 1 : samples > MAX_SAMPLES ? MAX_SAMPLES : samples;
    int counts[MAX_SVC] = {0}, others = 0, bad = 0;
    struct why first = {.len = 0};
    for (int k = 0; k < samples; k++) {
        struct sent st;
        send_request(fport, rq, &st);
        struct why one = {.len = 0};
        check_one(ex, rq, &st, fport, &one);
        if (one.n) {
            if (!bad)
                first = one;
            bad++;
        }
        int idx = -1;
        for (int i = 0; i < s->n; i++)
            if (!strcmp(s->names[i], st.backend))
                idx = i;
        if (idx >= 0)
            counts[idx]++;
        else
            others++;
        sent_free(&st);
    }
    if (bad)
        whyf(w, "%d of %d responses wrong, first: %s", bad, samples, first.text);
    if (dist) {
        double tol = e2e_json_num(ex, "tolerance", 0.05);
        for (size_t i = 0; i < dist->n; i++) {
            double p = e2e_json_is(dist->items[i], EJ_NUM) ? dist->items[i]->num : 0;
            int idx = -1;
            for (int k = 0; k < s->n; k++)
                if (!strcmp(s->names[k], dist->keys[i]))
                    idx = k;
            double got = idx >= 0 ? (double)counts[idx] / samples : 0;
            if (p == 0 ? got != 0 : fabs(got - p) > tol)
                whyf(w, "%s got %.3f of %d samples, want %.3f +- %.3f", dist->keys[i], got,
                     samples, p, p == 0 ? 0 : tol);
        }
        e2e_log("  distribution over %d samples:%s", samples, others ? " (and others)" : "");
        for (int k = 0; k < s->n; k++)
            if (counts[k])
                e2e_log("    %s: %d", s->names[k], counts[k]);
    }
    for (size_t i = 0; i < e2e_json_len(mir) && i < MAX_SVC; i++) {
        const char *name = str_or_empty(mir->items[i]);
        long now = -1;
        E2E_WAIT_UNTIL((now = e2e_backend_requests(svc_port(s, name))) >=
                           mbefore[i] + samples,
                       10000);
        if (now < mbefore[i] + samples)
            whyf(w, "mirror %s received %ld copies, want %d", name, now - mbefore[i], samples);
    }
    return w->n ? FAIL : PASS;
}

/* Why a whole group cannot run here, or NULL. */
static const char *group_skip_reason(const struct e2e_json *g)
{
    if (strcmp(str_or(g, "profile", "portable"), "portable") != 0)
        return "profile ingress-nginx (that controller's own quirks, not emulated)";
    const struct e2e_json *cfg = e2e_json_get(g, "config");
    if (e2e_json_len(e2e_json_get(cfg, "tls")))
        return "the config terminates TLS";
    return NULL;
}

static void run_group_body(void)
{
    const struct e2e_json *group = e2e_json_at(e2e_json_get(corpus, "groups"), current_group);
    const char *gid = str_or(group, "id", "?");
    struct svcs s = {0};
    collect_services(&s, group);
    for (int i = 0; i < s.n; i++)
        s.b[i] = e2e_backend_start_report(s.names[i]);
    struct inst in[MAX_INST];
    int ninst = plan_instances(group, in);
    const struct e2e_json *reqs = e2e_json_get(group, "requests");
    int pass = 0, fail = 0, skip = 0;
    for (size_t i = 0; i < e2e_json_len(reqs); i++) {
        const struct e2e_json *c = reqs->items[i];
        const char *cid = str_or(c, "id", "?"), *why_skip = NULL;
        struct why w = {.len = 0};
        enum outcome o = run_case(group, c, in, ninst, &s, &w, &why_skip);
        if (o == PASS) {
            pass++;
            e2e_log("PASS %s  %s", cid, str_or(c, "desc", ""));
        } else if (o == SKIP) {
            skip++;
            e2e_log("SKIP %s: %s", cid, why_skip);
        } else {
            fail++;
            e2e_log("FAIL %s  %s: %s", cid, str_or(c, "desc", ""), w.text);
            CHECKF(false, "%s (%s): %s", cid, str_or(c, "desc", ""), w.text);
        }
    }
    e2e_log("group %s: %d pass, %d fail, %d skipped", gid, pass, fail, skip);
    for (int i = 0; i < ninst; i++)
        if (in[i].started)
            e2e_foyer_stop(&in[i].f, 5000);
    for (int i = 0; i < s.n; i++)
        free(s.names[i]);
}

static void group_test(void)
{
    const char *name = CU_get_current_test()->pName;
    const struct e2e_json *groups = e2e_json_get(corpus, "groups");
    for (size_t i = 0; i < e2e_json_len(groups); i++) {
        if (!strcmp(str_or(groups->items[i], "id", ""), name)) {
            current_group = i;
            e2e_isolate(name, run_group_body, 300);
            return;
        }
    }
    CU_FAIL("group not found");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Only what make check sets counts here (as for test_robustness). */
    const char *shared = getenv("FOYER_SHARED");
    if (!shared || !*shared) {
        printf("SKIP: FOYER_SHARED is not set\n");
        return 77;
    }
    snprintf(corpus_path, sizeof(corpus_path), "%s/corpus/routing/cases.json", shared);
    if (access(corpus_path, R_OK) != 0) {
        printf("SKIP: %s not found (no ../shared here)\n", corpus_path);
        return 77;
    }
    char err[256];
    corpus = e2e_json_parse_file(corpus_path, err, sizeof(err));
    if (!corpus) {
        printf("FAIL: %s: %s\n", corpus_path, err);
        return 1;
    }
    const struct e2e_json *groups = e2e_json_get(corpus, "groups");
    if (e2e_json_len(groups) == 0) {
        printf("FAIL: %s has no groups\n", corpus_path);
        return 1;
    }
    struct e2e_case *cases = calloc(groups->n, sizeof(*cases));
    size_t n = 0, skipped = 0, nreq = 0;
    for (size_t i = 0; i < groups->n; i++) {
        const struct e2e_json *g = groups->items[i];
        const char *reason = group_skip_reason(g);
        size_t k = e2e_json_len(e2e_json_get(g, "requests"));
        if (reason) {
            printf("SKIP group %s (%zu cases): %s\n", str_or(g, "id", "?"), k, reason);
            skipped++;
            continue;
        }
        nreq += k;
        cases[n++] = (struct e2e_case){str_or(g, "id", "?"), group_test};
    }
    printf("routing corpus %s: %zu groups (%zu cases) to run, %zu groups skipped\n", corpus_path,
           n, nreq, skipped);
    int rc = e2e_run_suite("e2e-router-corpus", cases, n);
    free(cases);
    e2e_json_free(corpus);
    return rc;
}
