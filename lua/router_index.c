/* Building a router from a rule set and settings: the listeners, and for
 * each listener the host index of the routes attached to it, with route host
 * names narrowed to the listener's (Gateway API) and each host's candidate
 * matches sorted by precedence once, here, rather than per request. */
#include "router_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- precedence ------------------------------------------------------------------- */

/* A 32-bit key, smaller first. Gateway API: Exact, then (regex, then) the
 * longest prefix, then a method, most headers, most query parameters.
 * Ingress: the longest path, Exact before Prefix at equal length. Lengths
 * are of the path as written ("/foo/" is longer than "/foo"). Ties keep the
 * order of insertion: route order, then rule order, then match order. */
static uint32_t precedence(const struct rt_ruleset *rs, const struct rt_match *m,
                           int semantics)
{
    uint32_t type = m->type == RT_EXACT ? 0 : m->type == RT_REGEX ? 1 : 2;
    uint32_t len = m->path_len + m->slashes;
    uint32_t shorter = 0xffff - (len > 0xffff ? 0xffff : len);
    uint32_t no_method = 1, fewer_headers = 63, fewer_query = 127;
    if (m->extra != RT_NONE) {
        const struct rt_match_extra *x = &rs->extras[m->extra];
        no_method = x->method == NULL;
        fewer_headers = 63u - x->nheaders;
        fewer_query = 127u - x->nquery;
    }
    uint32_t rest = no_method << 13 | fewer_headers << 7 | fewer_query;
    if (semantics == RT_INGRESS) return shorter << 16 | type << 14 | rest;
    return type << 30 | shorter << 14 | rest;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void rt_sort_candidates(const struct rt_ruleset *rs, uint32_t *c, uint32_t n,
                        int semantics, uint64_t *scratch, uint32_t *orig)
{
    if (n < 2) return;
    for (uint32_t i = 0; i < n; i++)
        scratch[i] = (uint64_t)precedence(rs, &rs->matches[c[i]], semantics) << 32 | i;
    if (n <= 16) {
        for (uint32_t i = 1; i < n; i++)
            for (uint32_t j = i; j > 0 && scratch[j] < scratch[j - 1]; j--) {
                uint64_t t = scratch[j];
                scratch[j] = scratch[j - 1];
                scratch[j - 1] = t;
            }
    } else {
        qsort(scratch, n, sizeof *scratch, cmp_u64);
    }
    memcpy(orig, c, n * sizeof *c);
    for (uint32_t i = 0; i < n; i++)
        c[i] = orig[(uint32_t)scratch[i]];
}

/* ---- one listener's index --------------------------------------------------------- */

struct pair {
    uint32_t entry, match;
};

struct index_build {
    struct rt_host_index *ix;
    struct pair *pairs;
    uint32_t npairs, cappairs;
};

static int add_route_to_entry(struct index_build *b, const struct rt_ruleset *rs,
                              const struct rt_route *route, const char *name)
{
    uint32_t e = rt_host_index_add(b->ix, name);
    if (e == RT_NONE) return -1;
    for (uint32_t r = route->rules; r < route->rules + route->nrules; r++) {
        const struct rt_rule *rule = &rs->rules[r];
        for (uint32_t m = rule->matches; m < rule->matches + rule->nmatches; m++) {
            struct pair *p =
                rt_push((void **)&b->pairs, &b->npairs, &b->cappairs, sizeof *p);
            if (p == NULL) return -1;
            *p = (struct pair){e, m};
        }
    }
    return 0;
}

static int attached(const struct rt_ruleset *rs, const struct rt_route *route,
                    const struct rt_listener_def *def)
{
    if (def == NULL || route->nlisteners == 0) return 1;
    for (uint32_t i = 0; i < route->nlisteners; i++)
        if (strcmp(rs->listener_refs[route->listeners + i], def->name) == 0) return 1;
    return 0;
}

/* The route's host names as this listener serves them (deduplicated). */
static int add_route(struct index_build *b, const struct rt_ruleset *rs,
                     const struct rt_route *route, const struct rt_listener_def *def)
{
    const char *lh = def ? def->hostname : NULL;
    if (route->nhosts == 0) return add_route_to_entry(b, rs, route, lh ? lh : "*");
    int narrowed = 0; /* several route names may narrow to the listener's */
    for (uint32_t i = 0; i < route->nhosts; i++) {
        const char *h = rt_host_intersect(rs->hosts[route->hosts + i], lh);
        if (h == NULL || (lh && strcmp(h, lh) == 0 && narrowed++)) continue;
        if (add_route_to_entry(b, rs, route, h) != 0) return -1;
    }
    return 0;
}

struct cand_source {
    const struct rt_ruleset *rs;
    const uint32_t *order; /* match indexes, entry by entry */
};

/* A plain rule (one backend, no filters, no name for the log) is decided
 * from its candidate alone, without reading the rule. */
void rt_cand_of(const struct rt_ruleset *rs, uint32_t match, struct rt_cand *out)
{
    const struct rt_match *m = &rs->matches[match];
    const struct rt_rule *rule = &rs->rules[m->rule];
    /* no backends: rs->backends may be NULL, and NULL + 0 is undefined */
    const struct rt_backend *b = rule->nbackends ? &rs->backends[rule->backends] : NULL;
    int plain = rule->nbackends == 1 && b->weight > 0 && b->action == NULL &&
                rule->action == NULL && rs->routes[rule->route].name == NULL;
    *out = (struct rt_cand){
        m->path,  (uint16_t)m->path_len,       m->type, m->slashes, m->rule,
        m->extra, plain ? b->service : RT_NONE};
}

static void make_cand(void *ctx, uint32_t i, struct rt_cand *out)
{
    const struct cand_source *src = ctx;
    rt_cand_of(src->rs, src->order[i], out);
}

/* Counting sort of the pairs by entry, each entry's share sorted by
 * precedence, then the entries laid out with their candidates. */
static int lay_out(struct index_build *b, const struct rt_ruleset *rs, int semantics)
{
    uint32_t nentries = rt_host_index_names(b->ix), most = 0;
    uint32_t *first = calloc((size_t)nentries + 2, sizeof *first);
    uint32_t *order = malloc(((size_t)b->npairs + 1) * sizeof *order);
    uint32_t *orig = NULL;
    uint64_t *scratch = NULL;
    int r = -1;
    if (first == NULL || order == NULL) goto out;
    for (uint32_t i = 0; i < b->npairs; i++)
        first[b->pairs[i].entry + 1]++;
    for (uint32_t e = 0; e < nentries; e++) {
        if (first[e + 1] > most) most = first[e + 1];
        first[e + 1] += first[e];
    }
    for (uint32_t i = 0; i < b->npairs; i++)
        order[first[b->pairs[i].entry]++] = b->pairs[i].match;
    for (uint32_t e = nentries; e > 0; e--)
        first[e] = first[e - 1]; /* undo the bumps */
    first[0] = 0;
    orig = malloc(((size_t)most + 1) * sizeof *orig);
    scratch = malloc(((size_t)most + 1) * sizeof *scratch);
    if (orig == NULL || scratch == NULL) goto out;
    for (uint32_t e = 0; e < nentries; e++)
        rt_sort_candidates(rs, order + first[e], first[e + 1] - first[e], semantics, scratch,
                        orig);
    struct cand_source src = {rs, order};
    r = rt_host_index_layout(b->ix, first, make_cand, &src);
out:
    free(first);
    free(order);
    free(orig);
    free(scratch);
    return r;
}

/* An upper bound of the host names the listener's index holds. */
static uint32_t max_names(const struct rt_ruleset *rs, const struct rt_listener_def *def)
{
    uint32_t n = 2;
    for (uint32_t i = 0; i < rs->nroutes; i++)
        if (attached(rs, &rs->routes[i], def))
            n += rs->routes[i].nhosts ? rs->routes[i].nhosts : 1;
    return n;
}

static int build_index(struct foyer_router *rt, struct rt_listener *l)
{
    const struct rt_ruleset *rs = rt->rs;
    struct index_build b = {.ix = &l->index};
    int r = -1;
    if (rt_host_index_begin(&l->index, max_names(rs, l->def)) != 0) goto out;
    for (uint32_t i = 0; i < rs->nroutes; i++) {
        const struct rt_route *route = &rs->routes[i];
        if (attached(rs, route, l->def) && add_route(&b, rs, route, l->def) != 0)
            goto out;
    }
    if (lay_out(&b, rs, rt->semantics) != 0) goto out;
    rt->nhosts += l->index.nentries;
    r = 0;
out:
    free(b.pairs);
    return r;
}

/* ---- settings and listeners ------------------------------------------------------- */

/* Every listener a route names must exist. */
static int check_listener_refs(const struct rt_ruleset *rs, const struct rt_ruleset *lrs,
                               const struct rt_settings *ls, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < rs->nroutes; i++) {
        const struct rt_route *route = &rs->routes[i];
        for (uint32_t k = 0; k < route->nlisteners; k++) {
            const char *name = rs->listener_refs[route->listeners + k];
            int found = 0;
            for (uint32_t j = 0; j < ls->nlisteners && !found; j++)
                found = strcmp(lrs->listener_defs[ls->listeners + j].name, name) == 0;
            if (found) continue;
            int n =
                route->line ? snprintf(err, errlen, "%s:%u: ", rs->file, route->line) : 0;
            snprintf(err + n, errlen - (size_t)n,
                     "routes[%u].listeners[%u]: no listener "
                     "named '%s'",
                     i + 1, k + 1, name);
            return -1;
        }
    }
    return 0;
}

static int out_of_memory(char *err, size_t errlen)
{
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int make_listeners(struct foyer_router *rt, const struct rt_ruleset *lrs,
                          const struct rt_settings *ls, char *err, size_t errlen)
{
    if (ls->has_listeners && rt->semantics == RT_INGRESS) {
        snprintf(err, errlen, "listeners: only with semantics = \"gateway\"");
        return -1;
    }
    if (check_listener_refs(rt->rs, lrs, ls, err, errlen) != 0) return -1;
    rt->nlisteners = ls->has_listeners ? ls->nlisteners : 1;
    rt->listeners = calloc(rt->nlisteners ? rt->nlisteners : 1, sizeof *rt->listeners);
    if (rt->listeners == NULL) return out_of_memory(err, errlen);
    for (unsigned i = 0; ls->has_listeners && i < rt->nlisteners; i++)
        rt->listeners[i].def = &lrs->listener_defs[ls->listeners + i];
    for (unsigned i = 0; i < rt->nlisteners; i++)
        if (build_index(rt, &rt->listeners[i]) != 0) return out_of_memory(err, errlen);
    return 0;
}

struct foyer_router *rt_router_build(struct rt_ruleset *rs, struct rt_ruleset *own,
                                     char *err, size_t errlen)
{
    struct foyer_router *rt = calloc(1, sizeof *rt);
    if (rt == NULL) {
        out_of_memory(err, errlen);
        return NULL;
    }
    rt->rs = rs;
    rt_ruleset_ref(rs);
    rt->settings_rs = own ? own : rs;
    rt_ruleset_ref(rt->settings_rs);
    const struct rt_settings *mine = own ? &own->settings : NULL;
    rt->semantics = mine && mine->semantics != RT_UNSET  ? mine->semantics
                    : rs->settings.semantics != RT_UNSET ? rs->settings.semantics
                                                         : RT_GATEWAY;
    rt->default_service = mine && mine->default_service ? mine->default_service
                                                        : rs->settings.default_service;
    rt->default_where = mine && mine->default_service ? own->file : rs->file;
    const struct rt_ruleset *lrs = mine && mine->has_listeners ? own : rs;
    const struct rt_settings *ls = &lrs->settings;
    if (make_listeners(rt, lrs, ls, err, errlen) != 0) {
        rt_router_free(rt);
        return NULL;
    }
    return rt;
}

void rt_router_free(struct foyer_router *rt)
{
    if (rt == NULL) return;
    for (unsigned i = 0; i < rt->nlisteners && rt->listeners; i++)
        rt_host_index_free(&rt->listeners[i].index);
    free(rt->listeners);
    free(rt->svc);
    rt_live_free(rt->live);
    rt_ruleset_unref(rt->rs);
    rt_ruleset_unref(rt->settings_rs);
    free(rt);
}
