/* Changing one etcd route of a running router in place (router_int.h).
 *
 * A router built from etcd's routes knows each route's id (rs->ids, in id
 * order, which is also the order ties are broken in). On the first change
 * it makes two maps: id -> route index, and host entry name -> the routes
 * contributing to it, in id order. A change then costs what the route
 * touches: it is compiled onto the end of the rule set, the entries of its
 * old and new host names get their candidate lists sorted again and
 * appended to the index (rt_host_index_set), and new service names are
 * bound. Nothing already there moves or is freed, so a decision made before
 * (strings, actions) stays valid; the price is memory, and
 * rt_router_wants_rebuild tells the caller when a full load should
 * reclaim it. */
#include "config.h"
#include "etcd_keys.h"
#include "log.h"
#include "router_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REBUILD_MIN_DEAD 1024 /* routes replaced before a rebuild is worth it */

struct host_routes {
    const char *name; /* interned in the rule set */
    uint32_t *v;      /* route indexes, in id order */
    uint32_t n, cap;
};

struct rt_live {
    struct rt_strmap *ids;   /* id -> route index; RT_NONE once deleted */
    struct rt_strmap *names; /* host entry name -> index in hosts */
    struct host_routes *hosts;
    uint32_t nhosts, caphosts;
    uint32_t live, dead; /* routes in use, routes replaced or deleted */
};

void rt_live_free(struct rt_live *live)
{
    if (live == NULL) return;
    for (uint32_t i = 0; i < live->nhosts; i++)
        free(live->hosts[i].v);
    free(live->hosts);
    rt_strmap_free(live->ids);
    rt_strmap_free(live->names);
    free(live);
}

/* ---- the route lists of host entries ---------------------------------------------- */

static int id_cmp(const struct rt_ruleset *rs, uint32_t a, uint32_t b)
{
    return foyer_etcd_route_cmp(rs->ids[a], strlen(rs->ids[a]), rs->ids[b],
                                strlen(rs->ids[b]));
}

static struct host_routes *host_list(struct rt_live *live, const char *name)
{
    uint32_t i = rt_strmap_get(live->names, name, strlen(name));
    if (i != RT_NONE) return &live->hosts[i];
    struct host_routes *h =
        rt_push((void **)&live->hosts, &live->nhosts, &live->caphosts, sizeof *h);
    if (h == NULL) return NULL;
    h->name = name;
    if (rt_strmap_put(live->names, name, strlen(name), live->nhosts - 1) != 0) {
        live->nhosts--;
        return NULL;
    }
    return h;
}

/* Inserts route r at its place in id order (after equal ids: appending
 * while building keeps the compiled order). */
static int list_insert(const struct rt_ruleset *rs, struct host_routes *h, uint32_t r)
{
    uint32_t lo = 0, hi = h->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (id_cmp(rs, h->v[mid], r) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (rt_push((void **)&h->v, &h->n, &h->cap, sizeof *h->v) == NULL) return -1;
    memmove(h->v + lo + 1, h->v + lo, (size_t)(h->n - 1 - lo) * sizeof *h->v);
    h->v[lo] = r;
    return 0;
}

static void list_remove(struct host_routes *h, uint32_t r)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < h->n; i++)
        if (h->v[i] != r) h->v[k++] = h->v[i];
    h->n = k;
}

/* The entry names a route has under the implicit listener: its host names,
 * or the catch-all. */
static uint32_t route_names(const struct rt_ruleset *rs, uint32_t r, const char ***names)
{
    static const char *any[] = {"*"}; /* static: names outlive the map keyed by them */
    const struct rt_route *route = &rs->routes[r];
    if (route->nhosts == 0) {
        *names = any;
        return 1;
    }
    *names = &rs->hosts[route->hosts];
    return route->nhosts;
}

static int join(struct rt_live *live, const struct rt_ruleset *rs, uint32_t r)
{
    const char **names;
    uint32_t n = route_names(rs, r, &names);
    for (uint32_t i = 0; i < n; i++) {
        struct host_routes *h = host_list(live, names[i]);
        if (h == NULL || list_insert(rs, h, r) != 0) return -1;
    }
    return 0;
}

static void leave(struct rt_live *live, const struct rt_ruleset *rs, uint32_t r)
{
    const char **names;
    uint32_t n = route_names(rs, r, &names);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = rt_strmap_get(live->names, names[i], strlen(names[i]));
        if (k != RT_NONE) list_remove(&live->hosts[k], r);
    }
}

static struct rt_live *live_new(const struct rt_ruleset *rs)
{
    struct rt_live *live = calloc(1, sizeof *live);
    if (live == NULL) return NULL;
    live->ids = rt_strmap_new();
    live->names = rt_strmap_new();
    int ok = live->ids != NULL && live->names != NULL;
    for (uint32_t r = 0; ok && r < rs->nids; r++)
        ok = rt_strmap_put(live->ids, rs->ids[r], strlen(rs->ids[r]), r) == 0 &&
             join(live, rs, r) == 0;
    if (!ok) {
        rt_live_free(live);
        return NULL;
    }
    live->live = rs->nids;
    return live;
}

/* ---- laying out one entry again --------------------------------------------------- */

static int relayout(struct foyer_router *rt, const struct host_routes *h)
{
    const struct rt_ruleset *rs = rt->rs;
    uint32_t n = 0, cap = 0, *order = NULL;
    for (uint32_t i = 0; i < h->n; i++) {
        const struct rt_route *route = &rs->routes[h->v[i]];
        for (uint32_t r = route->rules; r < route->rules + route->nrules; r++)
            for (uint32_t m = rs->rules[r].matches;
                 m < rs->rules[r].matches + rs->rules[r].nmatches; m++) {
                uint32_t *p = rt_push((void **)&order, &n, &cap, sizeof *p);
                if (p == NULL) goto fail;
                *p = m;
            }
    }
    uint32_t *orig = malloc(((size_t)n + 1) * sizeof *orig);
    uint64_t *scratch = malloc(((size_t)n + 1) * sizeof *scratch);
    struct rt_cand *cands = malloc(((size_t)n + 1) * sizeof *cands);
    int r = -1;
    if (orig != NULL && scratch != NULL && cands != NULL) {
        rt_sort_candidates(rs, order, n, rt->semantics, scratch, orig);
        for (uint32_t i = 0; i < n; i++)
            rt_cand_of(rs, order[i], &cands[i]);
        r = rt_host_index_set(&rt->listeners[0].index, h->name, cands, n);
    }
    free(orig);
    free(scratch);
    free(cands);
    free(order);
    return r;
fail:
    free(order);
    return -1;
}

/* Entries the route r takes part in, laid out again. */
static int relayout_route(struct foyer_router *rt, uint32_t r)
{
    const char **names;
    uint32_t n = route_names(rt->rs, r, &names);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = rt_strmap_get(rt->live->names, names[i], strlen(names[i]));
        if (k != RT_NONE && relayout(rt, &rt->live->hosts[k]) != 0) return -1;
    }
    return 0;
}

/* ---- compiling and binding -------------------------------------------------------- */

/* The compile-time service map, gone since the rule set was sealed. */
static int reopen_slots(struct rt_ruleset *rs)
{
    if (rs->slots != NULL) return 0;
    if ((rs->slots = rt_strmap_new()) == NULL) return -1;
    for (uint32_t s = 0; s < rs->nservices; s++)
        if (rt_strmap_put(rs->slots, rs->services[s], strlen(rs->services[s]), s) != 0)
            return -1;
    return 0;
}

/* v compiled as "routes[1]" onto the end of the rule set: its index. */
static uint32_t compile(struct rt_ruleset *rs, const char *id, size_t id_len,
                        const struct json_value *v, char *err, size_t errlen)
{
    struct rt_cc cc;
    const char **slot;
    if (reopen_slots(rs) != 0) goto oom;
    rt_cc_init(&cc, rs, NULL, err, errlen);
    size_t mark = rt_path_key(&cc, "routes");
    size_t im = rt_path_index(&cc, 0);
    uint32_t before = rs->nroutes;
    if (rt_compile_route(&cc, v) != 0) return RT_NONE;
    rt_path_pop(&cc, im);
    rt_path_pop(&cc, mark);
    if (rs->nroutes != before + 1) goto oom;
    while (rs->nids < rs->nroutes - 1) /* a failed compile may have left a route */
        if ((slot = RT_PUSH(rs, ids)) == NULL)
            goto oom;
        else
            *slot = "";
    if ((slot = RT_PUSH(rs, ids)) == NULL || (*slot = rt_strdup(rs, id, id_len)) == NULL)
        goto oom;
    return rs->nroutes - 1;
oom:
    snprintf(err, errlen, "out of memory");
    return RT_NONE;
}

/* Service names the new route brought: resolved like foyer_router_bind does. */
static int bind_new_slots(struct foyer_router *rt, struct foyer_config *c, uint32_t r)
{
    const struct rt_ruleset *rs = rt->rs;
    if (rt->nsvc == rs->nservices) return 0;
    struct foyer_service **svc = realloc(rt->svc, (rs->nservices + 1) * sizeof *svc);
    if (svc == NULL) return -1;
    rt->svc = svc;
    for (uint32_t s = rt->nsvc; s < rs->nservices; s++) {
        svc[s] = foyer_config_service(c, rs->services[s], strlen(rs->services[s]));
        if (svc[s] == NULL)
            foyer_warn("etcd route %s: service '%s' is not declared: requests routed to "
                       "it get 500",
                       rs->ids[r], rs->services[s]);
    }
    rt->nsvc = rs->nservices;
    return 0;
}

int rt_router_change(struct foyer_router *rt, struct foyer_config *c, const char *id,
                     size_t id_len, const struct json_value *v, char *err, size_t errlen)
{
    if (!rt->etcd || rt->nlisteners != 1 || rt->listeners[0].def != NULL) {
        snprintf(err, errlen, "the router is not etcd's");
        return -1;
    }
    if (rt->live == NULL && (rt->live = live_new(rt->rs)) == NULL) goto oom;
    struct rt_live *live = rt->live;
    uint32_t old = rt_strmap_get(live->ids, id, id_len), now = RT_NONE;
    if (v != NULL) {
        now = compile(rt->rs, id, id_len, v, err, errlen);
        if (now == RT_NONE) return -1;
        if (bind_new_slots(rt, c, now) != 0) goto oom;
        const char *key = rt->rs->ids[now]; /* outlives the map */
        if (rt_strmap_put(live->ids, key, id_len, now) != 0) goto oom;
    } else if (old != RT_NONE &&
               rt_strmap_put(live->ids, rt->rs->ids[old], id_len, RT_NONE) != 0) {
        goto oom;
    }
    if (old != RT_NONE) {
        leave(live, rt->rs, old);
        live->dead++;
        live->live--;
    }
    if (now != RT_NONE) {
        if (join(live, rt->rs, now) != 0) goto oom;
        live->live++;
    }
    if ((old != RT_NONE && relayout_route(rt, old) != 0) ||
        (now != RT_NONE && relayout_route(rt, now) != 0))
        goto oom;
    rt->nhosts = rt->listeners[0].index.nentries;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

int rt_router_wants_rebuild(const struct foyer_router *rt)
{
    const struct rt_live *live = rt->live;
    if (live == NULL) return 0;
    const struct rt_host_index *ix = &rt->listeners[0].index;
    return (live->dead > REBUILD_MIN_DEAD && live->dead > live->live) ||
           (ix->dead_words > 65536 && ix->dead_words > ix->words / 2);
}
