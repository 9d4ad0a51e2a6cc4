/* Services as the plugin keeps them: a copy of the endpoints, two pools
 * (primaries, backups) each with its policy, and the choice of an endpoint
 * for one attempt, health and earlier attempts considered. */
#include "lb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building ---- */

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct lb_service *)a)->name,
                  ((const struct lb_service *)b)->name);
}

static int copy_endpoint(const struct foyer_api *api, const char *svc, size_t i,
                         struct lb_endpoint *e)
{
    socklen_t len = 0;
    const char *name = api->service_endpoint(svc, i);
    const struct sockaddr *sa = api->service_endpoint_addr(svc, i, &len);
    if (name == NULL || sa == NULL || len > sizeof e->addr) return -1;
    if ((e->name = strdup(name)) == NULL) return -1;
    memcpy(&e->addr, sa, len);
    e->addrlen = len;
    e->weight = api->service_endpoint_weight(svc, i);
    if (e->weight == 0) e->weight = 1;
    e->backup = api->service_endpoint_backup(svc, i) != 0;
    e->health = &e->local;
    return 0;
}

/* The members of one pool: the endpoints whose backup flag is `backup`. */
static int build_pool(struct lb_service *s, struct lb_pool *p, int backup)
{
    unsigned n = 0;
    for (unsigned i = 0; i < s->n; i++)
        n += s->ep[i].backup == backup;
    p->policy = s->set.policy;
    if (n == 0) return 0;
    if ((p->m = calloc(n, sizeof *p->m)) == NULL) return -1;
    for (unsigned i = 0; i < s->n; i++) {
        struct lb_endpoint *e = &s->ep[i];
        if (e->backup != backup) continue;
        e->pool = p;
        e->member = p->n;
        p->m[p->n++] =
            (struct lb_member){.name = e->name, .index = i, .weight = e->weight};
        p->total_weight += e->weight;
    }
    return p->policy->create(p, &s->set.tuning, &p->ps);
}

static int weights_differ(const struct lb_service *s)
{
    for (unsigned i = 1; i < s->n; i++)
        if (s->ep[i].weight != s->ep[0].weight) return 1;
    return 0;
}

/* Shared health slots for the endpoints that are checked; the private one
 * (always up unless this worker's own checks say otherwise) for the rest. */
static void attach_health(const struct foyer_api *api, struct lb_service *s)
{
    if (!s->set.check.enabled) return;
    for (unsigned i = 0; i < s->n; i++) {
        struct lb_shared_slot *slot = lb_shared_slot(s->name, s->ep[i].name);
        if (slot != NULL)
            s->ep[i].health = slot;
        else
            api->log(LB_NAME, FOYER_LOG_WARNING,
                     "service %s: endpoint %s: no room left to share its health checks; "
                     "every worker checks it",
                     s->name, s->ep[i].name);
    }
}

static int build_service(struct lb_state *st, struct lb_service *s, char *err,
                         size_t errlen)
{
    const struct foyer_api *api = st->api;
    s->n = (unsigned)api->service_endpoints(s->name);
    if ((s->ep = calloc(s->n ? s->n : 1, sizeof *s->ep)) == NULL) goto oom;
    for (unsigned i = 0; i < s->n; i++)
        if (copy_endpoint(api, s->name, i, &s->ep[i]) != 0) goto oom;
    int all_backup = 1; /* then they are the primaries, as the core does it */
    for (unsigned i = 0; i < s->n; i++)
        all_backup &= s->ep[i].backup;
    for (unsigned i = 0; i < s->n && all_backup; i++)
        s->ep[i].backup = 0;
    if (s->set.policy == &lb_round_robin && weights_differ(s)) {
        snprintf(err, errlen,
                 "service \"%s\": lb = \"round_robin\" ignores weights, but its "
                 "endpoints have different ones: use lb = \"weighted\"",
                 s->name);
        return -1;
    }
    if (build_pool(s, &s->primary, 0) != 0 || build_pool(s, &s->backup, 1) != 0) goto oom;
    attach_health(api, s);
    return 0;
oom:
    snprintf(err, errlen, "service \"%s\": out of memory", s->name);
    return -1;
}

/* Names and settings first: sorting moves the structs, and the pools are
 * pointed to by their endpoints, so those are built once in place. */
static int read_settings(struct lb_state *st, struct lb_service *s, const char *name,
                         unsigned *handles, char *err, size_t errlen)
{
    char why[512];
    if ((s->name = strdup(name)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->set = st->defaults;
    const foyer_conf_t *conf = st->api->service_conf(name);
    if (conf == NULL) { /* every service has a table: foyer could not hand it over */
        snprintf(err, errlen,
                 "service \"%s\": foyer gave the plugin no handle for its "
                 "settings (%u taken in this pass)",
                 name, *handles);
        return -1;
    }
    ++*handles;
    if (lb_settings_service(st->api, conf, &s->set, handles, why, sizeof why) != 0) {
        snprintf(err, errlen, "service \"%s\": %s", name, why);
        return -1;
    }
    return 0;
}

int lb_services_build(struct lb_state *st, char *err, size_t errlen)
{
    size_t n = st->api->service_count();
    if ((st->svc = calloc(n ? n : 1, sizeof *st->svc)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    unsigned handles = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = st->api->service_name(i);
        if (name == NULL) continue;
        if (read_settings(st, &st->svc[st->nsvc++], name, &handles, err, errlen) != 0)
            return -1;
    }
    qsort(st->svc, st->nsvc, sizeof *st->svc, by_name);
    for (unsigned i = 0; i < st->nsvc; i++)
        if (build_service(st, &st->svc[i], err, errlen) != 0) return -1;
    return 0;
}

static void free_pool(struct lb_pool *p)
{
    if (p->ps != NULL) p->policy->destroy(p->ps);
    free(p->m);
}

void lb_services_free(struct lb_state *st)
{
    for (unsigned i = 0; i < st->nsvc; i++) {
        struct lb_service *s = &st->svc[i];
        free_pool(&s->primary);
        free_pool(&s->backup);
        for (unsigned j = 0; s->ep && j < s->n; j++)
            free(s->ep[j].name);
        free(s->ep);
        free(s->name);
    }
    free(st->svc);
    st->svc = NULL;
    st->nsvc = 0;
}

struct lb_service *lb_service_find(struct lb_state *st, const char *name)
{
    if (name == NULL) return NULL;
    struct lb_service key = {.name = (char *)name};
    return bsearch(&key, st->svc, st->nsvc, sizeof *st->svc, by_name);
}

/* ---- choosing ---- */

static int was_tried(const struct lb_req *q, unsigned i)
{
    return q != NULL && (q->tried[i / 64] >> (i % 64) & 1);
}

static int endpoint_healthy(const struct lb_endpoint *e, double now)
{
    return !lb_slot_down(e->health) && lb_passive_usable(&e->passive, now);
}

struct usable_ctx {
    const struct lb_service *s;
    const struct lb_pool *pool;
    const struct lb_req *q;
    double now;
};

static int usable(const void *ctx, unsigned member)
{
    const struct usable_ctx *c = ctx;
    unsigned i = c->pool->m[member].index;
    return !was_tried(c->q, i) && endpoint_healthy(&c->s->ep[i], c->now);
}

/* Backups take the request only when no primary can: all down, or (within
 * this request) the ones left have failed it already. */
int lb_service_pick(struct lb_service *s, struct lb_req *q, double now, uint64_t *rng)
{
    struct usable_ctx c = {s, NULL, q, now};
    struct lb_ask a = {.usable = usable,
                       .ctx = &c,
                       .hash = q ? q->hash : 0,
                       .has_hash = q ? q->has_hash : 0,
                       .now = now,
                       .rng = rng};
    struct lb_pool *pools[2] = {&s->primary, &s->backup};
    for (int k = 0; k < 2; k++) {
        struct lb_pool *p = pools[k];
        if (p->n == 0) continue;
        c.pool = p;
        int m = p->policy->pick(p->ps, p, &a);
        if (m >= 0) return (int)p->m[m].index;
    }
    return -1;
}

void lb_attempt_begin(struct lb_service *s, struct lb_req *q, unsigned i, double now)
{
    struct lb_endpoint *e = &s->ep[i];
    lb_pool_acquire(e->pool, e->member);
    q->pending = (int)i;
    q->trial = lb_passive_picked(&e->passive, now);
    q->tried[i / 64] |= 1ull << (i % 64);
    q->picks++;
}

void lb_attempt_end(struct lb_service *s, struct lb_req *q)
{
    if (q->pending < 0) return;
    struct lb_endpoint *e = &s->ep[q->pending];
    lb_pool_release(e->pool, e->member);
    if (q->trial) lb_passive_abandon(&e->passive);
    q->pending = -1;
    q->trial = 0;
}
