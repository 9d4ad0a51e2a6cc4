/* Routing one request: choose the listener, walk the host's pre-sorted
 * candidate matches until one holds, pick a backend by weight, and fill the
 * decision from the prebuilt action. Nothing here calls Lua or allocates,
 * except a path whose matched prefix is replaced (from the request pool) and
 * what foyer_request_header/arg need for repeated headers or decoding. */
#include "config.h"
#include "pool.h"
#include "request.h"
#include "router_int.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHAIN 130 /* exact + one per label + catch-all */

/* ---- weighted choice -------------------------------------------------------------- */

/* xorshift64*: per process (each worker seeds its own on first use). */
static uint64_t rng_state;

void foyer_router_seed(uint64_t seed)
{
    rng_state = seed ? seed : 0x9e3779b97f4a7c15ull;
}

static uint32_t rng_below(uint32_t n)
{
    if (rng_state == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        foyer_router_seed((uint64_t)getpid() << 32 ^ (uint64_t)ts.tv_nsec ^
                          (uint64_t)ts.tv_sec * 0x9e3779b97f4a7c15ull);
    }
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    uint64_t x = rng_state * 0x2545f4914f6cdd1dull;
    return (uint32_t)(((x >> 32) * (uint64_t)n) >> 32);
}

/* A backend in proportion to the weights; NULL when they are all 0 (or
 * there is none). Unknown services keep their share: Gateway API wants that
 * share of requests to get 500. */
static const struct rt_backend *pick_backend(const struct rt_ruleset *rs,
                                             const struct rt_rule *rule)
{
    if (rule->total_weight == 0) return NULL; /* also: no backends, rs->backends NULL */
    const struct rt_backend *b = &rs->backends[rule->backends];
    if (rule->nbackends == 1) return b;
    uint32_t x = rng_below(rule->total_weight);
    for (uint32_t i = 0; i < rule->nbackends; i++) {
        if (x < b[i].weight) return &b[i];
        x -= b[i].weight;
    }
    return NULL; /* not reached */
}

/* ---- the request's host and listener ---------------------------------------------- */

/* The host lower-cased without port or trailing dot, in buf unless the
 * request already has it; len 0 for none. */
static const char *request_host(struct foyer_request *r, char *buf, size_t size,
                                size_t *len)
{
    if (r->host_lc != NULL) {
        *len = strlen(r->host_lc);
        return r->host_lc;
    }
    struct foyer_str h = r->info.host_name;
    if (h.len > 1 && h.p[h.len - 1] == '.') h.len--;
    if (h.len >= size) h.len = size - 1; /* longer than any name: matches none */
    for (size_t i = 0; i < h.len; i++) {
        unsigned char c = (unsigned char)h.p[i];
        buf[i] = (char)((unsigned char)(c - 'A') < 26u ? c + 32 : c);
    }
    buf[h.len] = '\0';
    *len = h.len;
    return buf;
}

static int scheme_protocol(const char *scheme)
{
    return scheme != NULL && strcmp(scheme, "https") == 0 ? RT_HTTPS : RT_HTTP;
}

/* The most specific listener for the request: right port and protocol, then
 * an exact host name, else the longest matching wildcard, else none. */
static const struct rt_listener *select_listener(const struct foyer_router *rt,
                                                 const struct foyer_request *r,
                                                 const char *host, size_t len)
{
    const struct rt_listener *best = NULL;
    long best_score = -1;
    for (unsigned i = 0; i < rt->nlisteners; i++) {
        const struct rt_listener_def *d = rt->listeners[i].def;
        long score = 0;
        if (d == NULL) return &rt->listeners[i];
        if (d->port != 0 && d->port != r->listen_port) continue;
        if (d->protocol != RT_ANY_PROTOCOL && d->protocol != scheme_protocol(r->scheme))
            continue;
        if (d->hostname != NULL) {
            if (!rt_host_matches(d->hostname, host, len, 1)) continue;
            score = rt_host_is_wildcard(d->hostname) ? (long)strlen(d->hostname) : 100000;
        }
        if (score > best_score) {
            best = &rt->listeners[i];
            best_score = score;
        }
    }
    return best;
}

/* ---- conditions ------------------------------------------------------------------- */

static int value_matches(const struct rt_kv *kv, const char *v, size_t len)
{
    if (kv->re != NULL) return rt_regex_full_match(kv->re, v, len);
    return len == kv->value_len && memcmp(v, kv->value, len) == 0;
}

static int extra_holds(const struct rt_ruleset *rs, const struct rt_match_extra *x,
                       struct foyer_request *r)
{
    struct foyer_str m = r->head.method;
    if (x->method != NULL &&
        !(m.len == x->method_len && memcmp(m.p, x->method, m.len) == 0))
        return 0;
    /* a method-only match: rs->kvs may be NULL, and NULL + 0 is undefined */
    const struct rt_kv *kv = x->nheaders + x->nquery ? &rs->kvs[x->kv] : NULL;
    for (unsigned i = 0; i < x->nheaders; i++, kv++) {
        size_t len;
        const char *v = foyer_request_header(r, kv->name, kv->name_len, &len);
        if (v == NULL || !value_matches(kv, v, len)) return 0;
    }
    for (unsigned i = 0; i < x->nquery; i++, kv++) {
        size_t len;
        const char *v = foyer_request_arg(r, kv->name, kv->name_len, &len);
        if (v == NULL || !value_matches(kv, v, len)) return 0;
    }
    return 1;
}

static int path_holds(const struct rt_ruleset *rs, const struct rt_cand *m,
                      struct foyer_str path)
{
    switch (m->type) {
    case RT_EXACT:
        return path.len == m->path_len && memcmp(path.p, m->path, path.len) == 0;
    case RT_PREFIX:
        return path.len >= m->path_len && memcmp(path.p, m->path, m->path_len) == 0 &&
               (path.len == m->path_len || path.p[m->path_len] == '/');
    default:
        return rt_regex_full_match(rs->extras[m->extra].path_re, path.p, path.len);
    }
}

static const struct rt_cand *find_match(const struct rt_ruleset *rs,
                                        const struct rt_host_index *ix, int multi,
                                        const char *host, size_t hlen,
                                        struct foyer_request *r)
{
    const struct rt_host_entry *chain[MAX_CHAIN];
    unsigned n = rt_host_lookup(ix, host, hlen, multi, chain, MAX_CHAIN);
    struct foyer_str path = r->info.path;
    if (path.p == NULL) path = (struct foyer_str){"", 0};
    for (unsigned i = 0; i < n; i++) {
        const struct rt_cand *c = rt_entry_cands(chain[i]);
        for (uint32_t k = 0; k < chain[i]->ncands; k++, c++) {
            if (!path_holds(rs, c, path)) continue;
            if (c->extra == RT_NONE || extra_holds(rs, &rs->extras[c->extra], r))
                return c;
        }
    }
    return NULL;
}

/* ---- the decision ----------------------------------------------------------------- */

/* The request path with the matched prefix (of m, a Prefix match) replaced
 * by rep (stored without trailing '/'); never "//", never empty. Made in the
 * request pool unless it is rep or "/" (the request's own buffer may not
 * outlive the decision). */
static struct foyer_str replace_prefix(struct foyer_request *r, const struct rt_cand *m,
                                       struct foyer_str rep)
{
    struct foyer_str rest = {r->info.path.p + m->path_len,
                             r->info.path.len - m->path_len};
    if (rest.len == 0) return rep.len ? rep : (struct foyer_str){"/", 1};
    char *p = foyer_pool_alloc(r->pool, rep.len + rest.len);
    if (p == NULL) return (struct foyer_str){NULL, 0};
    memcpy(p, rep.p, rep.len);
    memcpy(p + rep.len, rest.p, rest.len);
    return (struct foyer_str){p, rep.len + rest.len};
}

static const struct foyer_redirect *
redirect_for(const struct rt_action *a, const struct rt_cand *m, struct foyer_request *r)
{
    if (!a->redirect_has_prefix) return a->redirect;
    struct foyer_redirect *c = foyer_pool_alloc(r->pool, sizeof *c);
    if (c == NULL) return NULL;
    *c = *a->redirect;
    c->path = replace_prefix(r, m, a->redirect_prefix);
    return c->path.p ? c : NULL;
}

static void apply_action(const struct rt_action *a, const struct rt_cand *m,
                         struct foyer_request *r, struct foyer_route_decision *d,
                         struct rt_pick *pick)
{
    d->request_headers = a->request_headers;
    d->response_headers = a->response_headers;
    d->host = a->host;
    d->path = a->rewrite_prefix ? replace_prefix(r, m, a->path) : a->path;
    if (a->rewrite_prefix && d->path.p == NULL) d->status = 500;
    d->timeout = a->timeout;
    pick->mirror = a->mirror;
}

void rt_decide(const struct foyer_router *rt, struct foyer_request *r,
               struct foyer_route_decision *d, struct rt_pick *pick)
{
    const struct rt_ruleset *rs = rt->rs;
    char buf[256];
    size_t hlen;
    memset(d, 0, sizeof *d);
    *pick = (struct rt_pick){RT_NONE, RT_NONE, 0};
    const char *host = request_host(r, buf, sizeof buf, &hlen);
    const struct rt_listener *l = select_listener(rt, r, host, hlen);
    const struct rt_cand *m =
        l ? find_match(rs, &l->index, rt->semantics == RT_GATEWAY, host, hlen, r) : NULL;
    if (m == NULL) {
        pick->use_default = l != NULL && rt->default_service != NULL;
        if (!pick->use_default) d->status = 404;
        return;
    }
    if (m->service != RT_NONE) { /* a plain rule: one backend, nothing else */
        pick->slot = m->service;
        return;
    }
    const struct rt_rule *rule = &rs->rules[m->rule];
    const struct rt_action *a = rule->action;
    d->tag = rs->routes[rule->route].name;
    if (a != NULL && a->respond != NULL) {
        d->respond = a->respond;
    } else if (a != NULL && a->redirect != NULL) {
        d->redirect = redirect_for(a, m, r);
        if (d->redirect == NULL) d->status = 500;
    } else {
        const struct rt_backend *b = pick_backend(rs, rule);
        if (b == NULL) {
            d->status = 500; /* no backend, or all of weight 0 */
            return;
        }
        pick->slot = b->service;
        if (b->action != NULL) a = b->action;
        if (a != NULL) apply_action(a, m, r, d, pick);
    }
}

void foyer_router_route(struct foyer_router *rt, struct foyer_request *r,
                        struct foyer_route_decision *d)
{
    struct rt_pick pick;
    rt_decide(rt, r, d, &pick);
    if (pick.mirror != RT_NONE && rt->svc != NULL) d->mirror = rt->svc[pick.mirror];
    if (pick.use_default)
        d->service = rt->default_svc;
    else if (pick.slot != RT_NONE && rt->svc != NULL)
        d->service = rt->svc[pick.slot];
    if ((pick.use_default || pick.slot != RT_NONE) && d->service == NULL) {
        const char *tag = d->tag;
        memset(d, 0, sizeof *d); /* an undeclared service: Gateway API says 500 */
        d->status = 500;
        d->tag = tag;
    }
}
