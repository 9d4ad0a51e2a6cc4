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
 *
 * Sending the requests and checking the answers is corpus_check.c, shared with
 * tests/k8s/test_k8s_corpus.c; this file plans the instances, converts a group
 * to router documents and runs the cases.
 */
#include "corpus_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INST 8

static struct e2e_json *corpus;
static char corpus_path[4096];
static size_t current_group;

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
            if (n == MAX_INST) continue;
            memset(&in[n], 0, sizeof(in[n]));
            snprintf(in[n].gateway, sizeof(in[n].gateway), "%s", gw);
            in[n].cport = port;
            n++;
        }
        if (in[k].nl < 32) in[k].listeners[in[k].nl++] = l;
    }
    return n;
}

static bool inst_has_listener(const struct inst *in, const char *name)
{
    for (int i = 0; i < in->nl; i++)
        if (strcmp(str_or(in->listeners[i], "name", ""), name) == 0) return true;
    return false;
}

/* Does any listener of the instance have a hostname? */
static bool inst_hostnames(const struct inst *in)
{
    for (int i = 0; i < in->nl; i++)
        if (!is_null_or_absent(in->listeners[i], "hostname")) return true;
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
        if (!name || !value) continue;
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
        e2e_json_set(o, "type",
                     e2e_json_new_str(t[1] == 'e' && t[2] == 'q'
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
    static const char *const lists[][2] = {
        {"headers", "headers"}, {"query", "queryParams"}, {"queryParams", "queryParams"}};
    for (size_t i = 0; i < 3; i++) {
        const struct e2e_json *l = e2e_json_get(m, lists[i][0]);
        if (!e2e_json_len(l)) continue;
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
        snprintf(name, sizeof(name), "%s%s",
                 is_null_or_absent(b, "invalid") ? "" : "invalid--",
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
        e2e_json_set(r, "default",
                     e2e_json_new_str(e2e_json_str(cfg, "default_backend")));
    /* Listener isolation matters only when a listener has a hostname. */
    bool isolate = inst_hostnames(in);
    if (isolate) {
        struct e2e_json *ls = e2e_json_new(EJ_ARR);
        for (int i = 0; i < in->nl; i++) {
            struct e2e_json *lo = e2e_json_new(EJ_OBJ);
            e2e_json_set(lo, "name",
                         e2e_json_new_str(str_or(in->listeners[i], "name", "")));
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
                if (e2e_json_is(rl->items[k], EJ_STR) &&
                    inst_has_listener(in, rl->items[k]->str))
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
    if (!table) return false;
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
        snprintf(dpath, sizeof(dpath), "%s/%s-%d.lua", dump, str_or(group, "id", "group"),
                 idx);
        if (!e2e_write_file(dpath, text)) e2e_log("cannot write %s", dpath);
    }
    e2e_log("instance %d (gateway \"%s\", corpus port %d) on 127.0.0.1:%d, config %s",
            idx, in->gateway, in->cport, port, e2e_path(name));
    /* e2e_foyer_start_conf REQUIREs a start: a foyer refusing the converted
     * config ends the group with its stderr in the log. */
    e2e_foyer_start_conf(&in->f, name, port, text, NULL);
    free(text);
    in->started = true;
    return true;
}

/* ---- one case ---------------------------------------------------------------------- */

static struct inst *instance_for(struct inst *in, int n, const struct e2e_json *rq)
{
    const char *gw = e2e_json_str(rq, "gateway");
    int port = (int)e2e_json_num(rq, "port", default_port(str_or(rq, "scheme", "http")));
    for (int i = 0; i < n; i++)
        if (in[i].cport == port && (!gw || !strcmp(in[i].gateway, gw))) return &in[i];
    return NULL;
}

/* One group's instances and services, as run_case sees them. */
struct group_run {
    const struct e2e_json *group;
    struct inst *in;
    int ninst;
    const struct svcs *s;
};

static enum corpus_outcome run_case(void *ctx, const struct e2e_json *c, struct why *w,
                                    const char **skip)
{
    const struct group_run *g = ctx;
    const struct svcs *s = g->s;
    const struct e2e_json *rq = e2e_json_get(c, "request"),
                          *ex = e2e_json_get(c, "expect");
    if ((*skip = skip_reason(rq, ex))) return CORPUS_SKIP;
    for (size_t i = 0; i < e2e_json_len(ex); i++)
        if (!expect_known(ex->keys[i]))
            whyf(w, "the harness does not know expect.%s", ex->keys[i]);
    if (w->n) return CORPUS_FAIL;
    struct inst *it = instance_for(g->in, g->ninst, rq);
    if (!it) {
        whyf(w, "no listener for this request's gateway/port");
        return CORPUS_FAIL;
    }
    if (!it->started && !start_instance(g->group, it, (int)(it - g->in), s, w))
        return CORPUS_FAIL;
    int fport = it->f.port;

    /* Mirrors: count their requests before. */
    const struct e2e_json *mir = e2e_json_get(ex, "mirrored_to");
    long mbefore[MAX_SVC] = {0};
    for (size_t i = 0; i < e2e_json_len(mir) && i < MAX_SVC; i++)
        mbefore[i] = e2e_backend_requests(svc_port(s, str_or_empty(mir->items[i])));

    int samples = corpus_sample_count(ex);
    const struct e2e_json *dist = e2e_json_get(ex, "distribution");
    int counts[MAX_SVC] = {0}, others = 0, bad = 0;
    struct why first = {.len = 0};
    for (int k = 0; k < samples; k++) {
        struct sent st;
        send_request(fport, rq, &st);
        struct why one = {.len = 0};
        check_one(ex, rq, &st, fport, &one);
        if (one.n) {
            if (!bad) first = one;
            bad++;
        }
        int idx = -1;
        for (int i = 0; i < s->n; i++)
            if (!strcmp(s->names[i], st.backend)) idx = i;
        if (idx >= 0)
            counts[idx]++;
        else
            others++;
        sent_free(&st);
    }
    if (bad) whyf(w, "%d of %d responses wrong, first: %s", bad, samples, first.text);
    if (dist) {
        corpus_check_distribution(ex, s, counts, samples, w);
        e2e_log("  distribution over %d samples:%s", samples,
                others ? " (and others)" : "");
        for (int k = 0; k < s->n; k++)
            if (counts[k]) e2e_log("    %s: %d", s->names[k], counts[k]);
    }
    for (size_t i = 0; i < e2e_json_len(mir) && i < MAX_SVC; i++) {
        const char *name = str_or_empty(mir->items[i]);
        long now = -1;
        E2E_WAIT_UNTIL((now = e2e_backend_requests(svc_port(s, name))) >=
                           mbefore[i] + samples,
                       10000);
        if (now < mbefore[i] + samples)
            whyf(w, "mirror %s received %ld copies, want %d", name, now - mbefore[i],
                 samples);
    }
    return w->n ? CORPUS_FAIL : CORPUS_PASS;
}

/* Why a whole group cannot run here, or NULL. */
static const char *group_skip_reason(const struct e2e_json *g)
{
    if (strcmp(str_or(g, "profile", "portable"), "portable") != 0)
        return "profile ingress-nginx (that controller's own quirks, not emulated)";
    const struct e2e_json *cfg = e2e_json_get(g, "config");
    if (e2e_json_len(e2e_json_get(cfg, "tls"))) return "the config terminates TLS";
    return NULL;
}

static void run_group_body(void)
{
    const struct e2e_json *group =
        e2e_json_at(e2e_json_get(corpus, "groups"), current_group);
    struct svcs s = {0};
    collect_services(&s, group);
    for (int i = 0; i < s.n; i++)
        s.b[i] = e2e_backend_start_report(s.names[i]);
    struct inst in[MAX_INST];
    int ninst = plan_instances(group, in);
    struct group_run g = {.group = group, .in = in, .ninst = ninst, .s = &s};
    corpus_run_cases(group, run_case, &g);
    for (int i = 0; i < ninst; i++)
        if (in[i].started) e2e_foyer_stop(&in[i].f, 5000);
    for (int i = 0; i < s.n; i++)
        free(s.names[i]);
}

static void group_test(void)
{
    corpus_group_test(corpus, &current_group, run_group_body);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = corpus_load(&corpus, corpus_path, sizeof(corpus_path));
    if (rc != 0) return rc;
    const struct e2e_json *groups = e2e_json_get(corpus, "groups");
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
    printf("routing corpus %s: %zu groups (%zu cases) to run, %zu groups skipped\n",
           corpus_path, n, nreq, skipped);
    rc = e2e_run_suite("e2e-router-corpus", cases, n);
    free(cases);
    e2e_json_free(corpus);
    return rc;
}
