/* The waf plugin: its descriptor, its settings and the request hooks.
 *
 *   plugin "waf" {
 *     mode = "block",              -- block | detect (log only) | off
 *     threshold = 5,               -- anomaly score that blocks
 *     inspect_body = true,         -- read bodies before they go upstream
 *     max_body = 65536,            -- body bytes inspected
 *     body_over_limit = "inspect", -- a longer body: inspect its start, or "reject" (413)
 *     max_arg = 4096,              -- the longest value normalised in one piece
 *     xml = true,                  -- split XML bodies into values (text, attributes)
 *     status = 403,                -- the answer to a blocked request
 *     exclusions = { { path = "/api/docs", arg = "ARGS:body", rule = 941100 }, ... },
 *     rules = { { id = 100001, variable = "REQUEST_HEADERS:User-Agent",
 *                 operator = "contains", pattern = "evilbot", score = 5 }, ... },
 *     disable = { 920350, ... },  -- rule ids turned off
 *   }
 *
 * A route may change the mode and the threshold of its requests:
 *   return { service = "api", plugins = { waf = { mode = "detect", threshold = 10 } } }
 *
 * The decision is taken in on_route (the route's settings are known then).
 * A request with a body has it held (api->req_hold_body) and is inspected in
 * on_request_body_held, before anything reaches an upstream. A blocked
 * request gets `status` with only the request id; the log line says why (rule
 * ids, variables, bounded excerpts). */
#include "engine.h"

#include <foyer/plugin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#define WAF_PLUGIN "waf"
#define MAX_HEADERS 128

enum waf_mode { MODE_OFF, MODE_DETECT, MODE_BLOCK };

static const struct foyer_api *api;

struct waf_state {
    struct waf_policy *policy;
    enum waf_mode mode;
    int threshold;
    int inspect_body;
    size_t max_body;
    int status;
    uint64_t *inspected, *blocked, *detected, *errors;
};

/* What on_route decided for one request, until its body is held. */
struct waf_request {
    enum waf_mode mode;
    int threshold;
};

/* ---- settings ---- */

static const char *const settings_keys[] = {
    "path",    "mode", "threshold", "inspect_body", "max_body", "body_over_limit",
    "max_arg", "xml",  "status",    "exclusions",   "rules",    "disable",
    NULL};

static int has_key(const foyer_conf_t *t, const char *key)
{
    for (const char *k = api->conf_next_key(t, NULL); k; k = api->conf_next_key(t, k))
        if (strcmp(k, key) == 0) return 1;
    return 0;
}

static int check_keys(const foyer_conf_t *t, const char *const *keys, const char *what,
                      char *err, size_t errlen)
{
    for (const char *k = api->conf_next_key(t, NULL); k; k = api->conf_next_key(t, k)) {
        const char *const *p = keys;
        while (*p && strcmp(*p, k) != 0)
            p++;
        if (*p == NULL) {
            snprintf(err, errlen, "%sunknown key '%s'", what, k);
            return -1;
        }
    }
    return 0;
}

static int parse_mode(const char *s, enum waf_mode *out)
{
    if (strcmp(s, "block") == 0)
        *out = MODE_BLOCK;
    else if (strcmp(s, "detect") == 0)
        *out = MODE_DETECT;
    else if (strcmp(s, "off") == 0)
        *out = MODE_OFF;
    else
        return -1;
    return 0;
}

/* A whole number in [lo, hi] under key, or the default kept when absent. */
static int int_key(const foyer_conf_t *t, const char *key, double lo, double hi,
                   double *out, const char *what, char *err, size_t errlen)
{
    if (!has_key(t, key)) return 0;
    double v;
    if (api->conf_number(t, key, &v) == 0 && v >= lo && v <= hi && v == floor(v)) {
        *out = v;
        return 0;
    }
    snprintf(err, errlen, "%s%s must be a whole number from %g to %g", what, key, lo, hi);
    return -1;
}

static int read_mode(const foyer_conf_t *t, enum waf_mode *mode, const char *what,
                     char *err, size_t errlen)
{
    if (!has_key(t, "mode")) return 0;
    const char *m = api->conf_string(t, "mode");
    if (m && parse_mode(m, mode) == 0) return 0;
    snprintf(err, errlen, "%smode must be \"block\", \"detect\" or \"off\"", what);
    return -1;
}

static const char *const exclusion_keys[] = {"path", "arg", "rule", NULL};

static int read_exclusions(struct waf_state *st, const foyer_conf_t *t, char *err,
                           size_t errlen)
{
    const foyer_conf_t *list = api->conf_table(t, "exclusions");
    if (list == NULL) return has_key(t, "exclusions") ? -1 : 0;
    for (size_t i = 1, n = api->conf_len(list); i <= n; i++) {
        const foyer_conf_t *e = api->conf_index(list, i);
        char what[64];
        snprintf(what, sizeof what, "exclusions[%zu]: ", i);
        if (e == NULL) {
            snprintf(err, errlen, "%smust be a table { path =, arg =, rule = }", what);
            return -1;
        }
        if (check_keys(e, exclusion_keys, what, err, errlen) != 0) return -1;
        double rule = 0;
        if (int_key(e, "rule", 1, 9999999, &rule, what, err, errlen) != 0) return -1;
        struct waf_exclusion x = {.path_prefix = api->conf_string(e, "path"),
                                  .arg = api->conf_string(e, "arg"),
                                  .rule = (unsigned)rule};
        if (x.path_prefix == NULL && x.arg == NULL && x.rule == 0) {
            snprintf(err, errlen, "%sneeds path, arg or rule", what);
            return -1;
        }
        if (waf_policy_add_exclusion(st->policy, &x) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

static const char *const rule_keys[] = {"id",      "variable", "operator",
                                        "pattern", "score",    NULL};

static int parse_op(const char *s)
{
    static const char *const names[] = {"contains", "equals", "begins_with", "regex"};
    static const int ops[] = {WAF_OP_CONTAINS, WAF_OP_EQUALS, WAF_OP_BEGINS_WITH,
                              WAF_OP_REGEX};
    for (size_t i = 0; s && i < sizeof names / sizeof *names; i++)
        if (strcmp(s, names[i]) == 0) return ops[i];
    return -1;
}

static int read_rule(struct waf_state *st, const foyer_conf_t *e, const char *what,
                     char *err, size_t errlen)
{
    if (check_keys(e, rule_keys, what, err, errlen) != 0) return -1;
    double id = 0, score = 5;
    if (int_key(e, "id", 1, 9999999, &id, what, err, errlen) != 0 ||
        int_key(e, "score", 1, 1000, &score, what, err, errlen) != 0)
        return -1;
    struct waf_custom_rule r = {.id = (unsigned)id,
                                .variable = api->conf_string(e, "variable"),
                                .op = parse_op(api->conf_string(e, "operator")),
                                .pattern = api->conf_string(e, "pattern"),
                                .score = (int)score};
    if (r.id == 0 || r.variable == NULL || r.pattern == NULL || r.op < 0) {
        snprintf(err, errlen,
                 "%sneeds id, variable, pattern and operator (contains, equals, "
                 "begins_with or regex)",
                 what);
        return -1;
    }
    char why[256] = "";
    if (waf_policy_add_rule(st->policy, &r, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s%s", what, why[0] ? why : "refused");
        return -1;
    }
    return 0;
}

static int read_rules(struct waf_state *st, const foyer_conf_t *t, char *err,
                      size_t errlen)
{
    const foyer_conf_t *list = api->conf_table(t, "rules");
    for (size_t i = 1, n = list ? api->conf_len(list) : 0; i <= n; i++) {
        const foyer_conf_t *e = api->conf_index(list, i);
        char what[64];
        snprintf(what, sizeof what, "rules[%zu]: ", i);
        if (e == NULL) {
            snprintf(err, errlen, "%smust be a table { id =, variable =, ... }", what);
            return -1;
        }
        if (read_rule(st, e, what, err, errlen) != 0) return -1;
    }
    const foyer_conf_t *off = api->conf_table(t, "disable");
    for (size_t i = 1, n = off ? api->conf_len(off) : 0; i <= n; i++) {
        double id;
        if (api->conf_index_number(off, i, &id) != 0 || id < 1 || id != floor(id)) {
            snprintf(err, errlen, "disable[%zu] must be a rule id", i);
            return -1;
        }
        waf_policy_disable_rule(st->policy, (unsigned)id);
    }
    return 0;
}

static int read_body_settings(struct waf_state *st, const foyer_conf_t *t, char *err,
                              size_t errlen)
{
    double max_body = 65536, max_arg = 4096;
    if (int_key(t, "max_body", 1, 16 << 20, &max_body, "", err, errlen) != 0 ||
        int_key(t, "max_arg", 64, 1 << 20, &max_arg, "", err, errlen) != 0)
        return -1;
    enum waf_over_limit over = WAF_OVER_LIMIT_INSPECT_PREFIX;
    if (has_key(t, "body_over_limit")) {
        const char *v = api->conf_string(t, "body_over_limit");
        if (v && strcmp(v, "reject") == 0)
            over = WAF_OVER_LIMIT_REJECT;
        else if (v == NULL || strcmp(v, "inspect") != 0) {
            snprintf(err, errlen, "body_over_limit must be \"inspect\" or \"reject\"");
            return -1;
        }
    }
    int b;
    if (has_key(t, "inspect_body")) {
        if (api->conf_bool(t, "inspect_body", &b) != 0) {
            snprintf(err, errlen, "inspect_body must be true or false");
            return -1;
        }
        st->inspect_body = b;
    }
    if (has_key(t, "xml")) {
        if (api->conf_bool(t, "xml", &b) != 0) {
            snprintf(err, errlen, "xml must be true or false");
            return -1;
        }
        waf_policy_set_xml(st->policy, b);
    }
    st->max_body = (size_t)max_body;
    waf_policy_set_limits(st->policy, st->max_body, (size_t)max_arg, over);
    return 0;
}

static int read_settings(struct waf_state *st, const foyer_conf_t *t, char *err,
                         size_t errlen)
{
    double threshold = 5, status = 403;
    if (t == NULL) return 0;
    if (check_keys(t, settings_keys, "", err, errlen) != 0 ||
        read_mode(t, &st->mode, "", err, errlen) != 0 ||
        int_key(t, "threshold", 1, 10000, &threshold, "", err, errlen) != 0 ||
        int_key(t, "status", 400, 599, &status, "", err, errlen) != 0 ||
        read_body_settings(st, t, err, errlen) != 0 ||
        read_exclusions(st, t, err, errlen) != 0 || read_rules(st, t, err, errlen) != 0)
        return -1;
    if (has_key(t, "exclusions") && api->conf_table(t, "exclusions") == NULL) {
        snprintf(err, errlen, "exclusions must be a list of tables");
        return -1;
    }
    st->threshold = (int)threshold;
    st->status = (int)status;
    waf_policy_set_threshold(st->policy, st->threshold);
    return 0;
}

/* ---- lifecycle ---- */

static void state_free(struct waf_state *st)
{
    if (st == NULL) return;
    waf_policy_free(st->policy);
    free(st);
}

static int waf_init(const struct foyer_api *a, const foyer_conf_t *conf, void **state,
                    char *err, size_t errlen)
{
    api = a;
    struct waf_state *st = calloc(1, sizeof *st);
    if (st == NULL || (st->policy = waf_policy_new()) == NULL) {
        free(st);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    st->mode = MODE_BLOCK;
    st->threshold = 5;
    st->inspect_body = 1;
    st->max_body = 65536;
    st->status = 403;
    waf_policy_set_xml(st->policy, 1); /* XML bodies are inspected like forms */
    if (read_settings(st, conf, err, errlen) != 0) {
        state_free(st);
        return -1;
    }
    st->inspected = api->counter(WAF_PLUGIN, "inspected");
    st->blocked = api->counter(WAF_PLUGIN, "blocked");
    st->detected = api->counter(WAF_PLUGIN, "detected");
    st->errors = api->counter(WAF_PLUGIN, "errors");
    *state = st;
    return 0;
}

static void waf_fini(void *state)
{
    state_free(state);
}

/* ---- one request ---- */

/* The route's `plugins = { waf = { mode =, threshold = } }`, over the defaults. */
static int route_settings(struct waf_state *st, foyer_request_t *r, struct waf_request *q)
{
    q->mode = st->mode;
    q->threshold = 0;
    const foyer_conf_t *t = api->route_plugin_conf(r, WAF_PLUGIN);
    if (t == NULL) return 0;
    const char *m = api->conf_string(t, "mode");
    double th;
    if (m && parse_mode(m, &q->mode) != 0) {
        api->log(WAF_PLUGIN, FOYER_LOG_ERROR,
                 "route: plugins.waf.mode \"%s\" is not "
                 "block, detect or off",
                 m);
        return -1;
    }
    if (api->conf_number(t, "threshold", &th) == 0 && th >= 1 && th <= 10000)
        q->threshold = (int)th;
    return 0;
}

static int has_body(foyer_request_t *r)
{
    size_t len;
    const char *cl = api->req_header(r, "content-length", &len);
    if (cl && !(len == 1 && cl[0] == '0')) return 1;
    return api->req_header(r, "transfer-encoding", &len) != NULL;
}

static void client_text(foyer_request_t *r, char *out, size_t len)
{
    const struct sockaddr *sa = api->req_client(r);
    snprintf(out, len, "-");
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
                  (socklen_t)len);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
                  (socklen_t)len);
}

static void log_report(foyer_request_t *r, const struct waf_report *rep, int blocked,
                       const char *id)
{
    char line[2048], client[64];
    size_t used = 0, tlen, mlen;
    const char *target = api->req_target(r, &tlen), *method = api->req_method(r, &mlen);
    client_text(r, client, sizeof client);
    used += (size_t)snprintf(line, sizeof line, "%s id=%s score=%d client=%s %.*s %.*s:",
                             blocked ? "blocked" : "detected", id, rep->score, client,
                             (int)mlen, method, (int)(tlen > 200 ? 200 : tlen), target);
    if (rep->over_limit && used < sizeof line)
        used += (size_t)snprintf(line + used, sizeof line - used, " body over max_body;");
    for (size_t i = 0; i < rep->nfindings && used < sizeof line; i++) {
        const struct waf_finding *f = &rep->findings[i];
        used += (size_t)snprintf(
            line + used, sizeof line - used, " %u %s %s \"%s\" (%s);", f->rule,
            waf_class_name(f->cls), f->var, f->excerpt, f->reason ? f->reason : "");
    }
    api->log(WAF_PLUGIN, FOYER_LOG_WARNING, "%s", line);
}

static int collect_headers(foyer_request_t *r, struct waf_header *h, size_t max)
{
    size_t n = 0;
    while (n < max && api->req_header_at(r, n, &h[n].name, &h[n].name_len, &h[n].value,
                                         &h[n].value_len) == 0)
        n++;
    return (int)n;
}

/* Inspects the request (with what is held of its body); the hook's result. */
static int inspect(struct waf_state *st, foyer_request_t *r, const struct waf_request *q,
                   const char *body, size_t body_len, int complete)
{
    struct waf_header headers[MAX_HEADERS];
    struct waf_request_view v = {0};
    v.method = api->req_method(r, &v.method_len);
    v.target = api->req_target(r, &v.target_len);
    v.headers = headers;
    v.nheaders = (size_t)collect_headers(r, headers, MAX_HEADERS);
    v.body = body;
    v.body_len = body_len;
    v.body_truncated = body != NULL && !complete;
    struct waf_report rep;
    ++*st->inspected;
    int hit = waf_inspect(st->policy, &v, q->threshold, &rep);
    if (hit < 0) {
        ++*st->errors;
        api->log(WAF_PLUGIN, FOYER_LOG_ERROR, "out of memory: request not inspected");
        return q->mode == MODE_BLOCK ? FOYER_ERROR : FOYER_CONTINUE;
    }
    if (rep.nfindings == 0 && !hit) return FOYER_CONTINUE;
    /* foyer's request id (the access log's; foyer returns it too), "-" when off */
    const char *id = api->req_id(r) ? api->req_id(r) : "-";
    int block = hit && q->mode == MODE_BLOCK;
    log_report(r, &rep, block, id);
    if (!hit) return FOYER_CONTINUE;
    if (!block) {
        ++*st->detected;
        return FOYER_CONTINUE;
    }
    ++*st->blocked;
    int status = rep.over_limit ? 413 : st->status;
    char text[160];
    int n = snprintf(text, sizeof text, "%s\nrequest id: %s\n",
                     status == 413 ? "Request body too large" : "Forbidden", id);
    api->respond(r, status, "text/plain; charset=utf-8", text, (size_t)n);
    return FOYER_RESPOND;
}

static int waf_on_route(void *state, foyer_request_t *r)
{
    struct waf_state *st = state;
    struct waf_request q;
    if (route_settings(st, r, &q) != 0) return FOYER_ERROR;
    if (q.mode == MODE_OFF) return FOYER_CONTINUE;
    if (st->inspect_body && has_body(r)) {
        struct waf_request *held = api->alloc(r, sizeof *held);
        if (held == NULL || api->req_hold_body(r, st->max_body) != 0) return FOYER_ERROR;
        *held = q;
        *api->storage(r, WAF_PLUGIN) = held;
        return FOYER_CONTINUE; /* inspected with its body */
    }
    return inspect(st, r, &q, NULL, 0, 1);
}

static int waf_on_body_held(void *state, foyer_request_t *r, const char *data, size_t len,
                            int complete)
{
    struct waf_request *q = *api->storage(r, WAF_PLUGIN);
    if (q == NULL) return FOYER_CONTINUE; /* held for another plugin */
    return inspect(state, r, q, data, len, complete);
}

static const struct foyer_plugin descriptor = {
    FOYER_PLUGIN_DESCRIPTOR(WAF_PLUGIN, "1.0"),
    .init = waf_init,
    .fini = waf_fini,
    .on_route = waf_on_route,
    .on_request_body_held = waf_on_body_held,
};

const struct foyer_plugin *foyer_plugin_entry(void)
{
    return &descriptor;
}
