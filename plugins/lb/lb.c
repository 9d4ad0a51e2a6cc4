/* lb: load balancing with health checks, as a foyer plugin.
 *
 *   plugin "lb" { lb = "least_conn" }                    -- defaults for all services
 *   service "app" { endpoints = { ... }, lb = "maglev", hash = "cookie:sid",
 *                   health_check = { path = "/health" }, passive = { failures = 3 } }
 *
 * This file wires the hooks: on_route computes the request's hash key while
 * the request head is still readable; on_upstream_select picks (health,
 * backups, earlier attempts considered) or answers 503; on_upstream_result
 * feeds latency and passive health; on_log ends the attempt's in-flight count
 * whatever happened to the request. plugins/README.md documents the settings. */
#include "lb.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

/* A failed attempt counts as this slow (seconds) for p2c_ewma, at least: an
 * endpoint refusing connections or answering 5xx at once must not look fast. */
#define LB_FAILURE_RTT 1.0

/* ---- lifecycle ---- */

static int lb_init(const struct foyer_api *api, const foyer_conf_t *conf, void **state,
                   char *err, size_t errlen)
{
    struct lb_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    st->api = api;
    lb_settings_default(&st->defaults);
    if (lb_settings_plugin(api, conf, &st->defaults, err, errlen) != 0) {
        free(st);
        return -1;
    }
    /* In the master this happens before the workers are forked: they inherit it. */
    if (lb_shared_open(api->size > offsetof(struct foyer_api, shared_memory)
                           ? api->shared_memory
                           : NULL) != 0)
        api->log(
            LB_NAME, FOYER_LOG_WARNING,
            "cannot map the shared health segment: every worker runs its own checks");
    *state = st;
    return 0;
}

static int lb_config_ready(void *state, char *err, size_t errlen)
{
    return lb_services_build(state, err, errlen);
}

/* Checks run in worker 0 when the segment is common to all workers; in
 * every worker when it is not (or the endpoint got no shared slot). The
 * others stand by, ready to take over (health_active.c). */
static int checks_here(const struct lb_state *st, const struct lb_endpoint *e)
{
    return e->health == &e->local || !lb_shared_is_common() || st->api->worker_id() == 0;
}

static void describe(const struct lb_state *st, const struct lb_service *s)
{
    const struct lb_settings *c = &s->set;
    char check[320] = "no health check";
    if (c->check.enabled)
        snprintf(check, sizeof check, "health check GET %s every %g s", c->check.path,
                 c->check.interval);
    st->api->log(LB_NAME, FOYER_LOG_NOTICE,
                 "service %s: lb %s, %u endpoint%s (%u backup), %s, passive %s", s->name,
                 c->policy->name, s->n, s->n == 1 ? "" : "s", s->backup.n, check,
                 c->passive.failures ? "on" : "off");
}

static int lb_worker_init(void *state)
{
    struct lb_state *st = state;
    const struct foyer_api *api = st->api;
    st->rng = lb_mix64(((uint64_t)getpid() << 32) ^ (uint64_t)(api->now() * 1e6));
    st->c_refused = api->counter(LB_NAME, "no_healthy_endpoint");
    st->c_ejected = api->counter(LB_NAME, "ejections");
    st->c_retried = api->counter(LB_NAME, "retries");
    for (unsigned i = 0; i < st->nsvc; i++) {
        struct lb_service *s = &st->svc[i];
        if (api->worker_id() == 0) describe(st, s);
        for (unsigned j = 0; s->set.check.enabled && j < s->n; j++) {
            int standby = !checks_here(st, &s->ep[j]);
            s->ep[j].probe =
                lb_probe_start(api, s, &s->ep[j], lb_rand(&st->rng), standby);
            if (s->ep[j].probe == NULL) return -1;
        }
    }
    return 0;
}

static void lb_fini(void *state)
{
    struct lb_state *st = state;
    for (unsigned i = 0; i < st->nsvc; i++)
        for (unsigned j = 0; st->svc[i].ep && j < st->svc[i].n; j++)
            lb_probe_stop(st->svc[i].ep[j].probe);
    lb_services_free(st);
    free(st);
}

/* ---- the request's record ---- */

static struct lb_req *request_of(struct lb_state *st, foyer_request_t *r,
                                 const char *service, int create)
{
    void **slot = st->api->storage(r, LB_NAME);
    if (slot == NULL) return NULL;
    struct lb_req *q = *slot;
    if (q != NULL || !create) return q;
    struct lb_service *s = lb_service_find(st, service);
    if (s == NULL) return NULL;
    size_t words = (s->n + 63) / 64;
    q = st->api->alloc(r, sizeof *q + words * sizeof q->tried[0]);
    if (q == NULL) return NULL;
    memset(q, 0, sizeof *q + words * sizeof q->tried[0]);
    q->svc = s;
    q->pending = -1;
    *slot = q;
    return q;
}

/* ---- hash keys ---- */

/* The value of cookie `name` in a Cookie field ("a=1; sid=xyz"). */
static const char *cookie_value(const char *h, size_t hlen, const char *name, size_t *len)
{
    size_t nlen = strlen(name);
    const char *end = h + hlen;
    for (const char *p = h; p < end;) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ';'))
            p++;
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *stop = semi ? semi : end;
        if ((size_t)(stop - p) > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
            *len = (size_t)(stop - p) - nlen - 1;
            return p + nlen + 1;
        }
        p = stop;
    }
    return NULL;
}

static const char *client_ip(const struct sockaddr *sa, size_t *len)
{
    if (sa == NULL) return NULL;
    if (sa->sa_family == AF_INET) {
        *len = sizeof((const struct sockaddr_in *)sa)->sin_addr;
        return (const char *)&((const struct sockaddr_in *)sa)->sin_addr;
    }
    if (sa->sa_family == AF_INET6) {
        *len = sizeof((const struct sockaddr_in6 *)sa)->sin6_addr;
        return (const char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
    }
    return NULL;
}

/* The bytes the service hashes on, NULL when the request has none (then a
 * hashing policy picks at random rather than piling keyless requests on
 * one endpoint). */
static const char *hash_source(struct lb_state *st, foyer_request_t *r,
                               const struct lb_settings *set, size_t *len)
{
    const struct foyer_api *api = st->api;
    size_t hlen;
    const char *h;
    switch (set->hash_from) {
    case LB_HASH_CLIENT_IP:
        return client_ip(api->req_client(r), len);
    case LB_HASH_KEY:
        return api->route_hash_key(r, len);
    case LB_HASH_HEADER:
        return api->req_header(r, set->hash_name, len);
    case LB_HASH_COOKIE:
        h = api->req_header(r, "cookie", &hlen);
        return h ? cookie_value(h, hlen, set->hash_name, len) : NULL;
    }
    return NULL;
}

/* Runs while the request head is readable (it is not any more at upstream
 * select time), so the key is computed here. */
static int lb_route(void *state, foyer_request_t *r)
{
    struct lb_state *st = state;
    const char *service = st->api->route_service(r);
    if (service == NULL) return FOYER_CONTINUE;
    struct lb_req *q = request_of(st, r, service, 1);
    if (q == NULL || !q->svc->set.policy->hashing) return FOYER_CONTINUE;
    size_t len = 0;
    const char *key = hash_source(st, r, &q->svc->set, &len);
    if (key != NULL) {
        q->hash = lb_hash64(key, len, 0);
        q->has_hash = 1;
    }
    return FOYER_CONTINUE;
}

/* ---- outcomes ---- */

/* What one attempt on an endpoint said. */
struct outcome {
    int failed;   /* counts against passive health */
    int answered; /* a response head arrived */
    double rtt;   /* the latency sample for p2c_ewma */
    char why[128];
};

static void passive_outcome(struct lb_state *st, struct lb_service *s,
                            struct lb_endpoint *e, const struct outcome *o, int trial)
{
    const struct lb_passive_conf *c = &s->set.passive;
    double now = st->api->now();
    /* A lone endpoint is never ejected: there is nowhere else to go, and a
     * 503 would only hide the real error (nginx does the same). */
    if (c->failures == 0 || s->n < 2) return;
    enum lb_passive_event ev = o->failed ? lb_passive_failure(&e->passive, c, now, trial)
                               : o->answered ? lb_passive_success(&e->passive, now, trial)
                                             : LB_PASSIVE_NOTHING;
    if (ev == LB_PASSIVE_EJECTED) {
        if (st->c_ejected) (*st->c_ejected)++;
        st->api->log(
            LB_NAME, FOYER_LOG_WARNING, "service %s: endpoint %s ejected for %g s (%s%s)",
            s->name, e->name, lb_passive_interval(&e->passive, c),
            trial ? "its trial request failed: " : "consecutive failures, the last: ",
            o->why);
    } else if (ev == LB_PASSIVE_RESTORED) {
        st->api->log(
            LB_NAME, FOYER_LOG_NOTICE,
            "service %s: endpoint %s is back in service (its trial request succeeded)",
            s->name, e->name);
    }
}

/* Feeds latency and passive health with one attempt's outcome. */
static void record(struct lb_state *st, struct lb_service *s, struct lb_req *q,
                   unsigned i, const struct outcome *o)
{
    struct lb_endpoint *e = &s->ep[i];
    int trial = q != NULL && q->pending == (int)i && q->trial;
    lb_ewma_observe(&e->pool->m[e->member], o->rtt, st->api->now(),
                    s->set.tuning.ewma_decay);
    passive_outcome(st, s, e, o, trial);
    if (trial) q->trial = 0; /* judged */
}

static void lb_result(void *state, foyer_request_t *r,
                      const struct foyer_upstream_result *res)
{
    struct lb_state *st = state;
    if (res->size < sizeof *res) return; /* every field used here is in ABI 1.0 */
    struct lb_service *s = lb_service_find(st, res->service);
    if (s == NULL || res->endpoint >= s->n) return;
    struct lb_req *q = request_of(st, r, res->service, 0);
    /* a reset on a reused keep-alive connection is staleness, not the endpoint */
    int reset = res->size >=
                    offsetof(struct foyer_upstream_result, reused) + sizeof res->reused &&
                res->reset && !res->reused;
    int bad = res->connect_error || res->timed_out || reset || res->status >= 500;
    struct outcome o = {
        .failed = res->connect_error || res->timed_out || reset ||
                  (s->set.passive.on_5xx && res->status >= 500),
        .answered = res->status > 0,
        .rtt = bad && res->latency < LB_FAILURE_RTT ? LB_FAILURE_RTT : res->latency,
    };
    if (res->connect_error)
        snprintf(o.why, sizeof o.why, "connect: %s", strerror(res->connect_error));
    else if (res->timed_out)
        snprintf(o.why, sizeof o.why, "timed out");
    else if (reset)
        snprintf(o.why, sizeof o.why, "connection failed before an answer");
    else
        snprintf(o.why, sizeof o.why, "status %d", res->status);
    record(st, s, q, res->endpoint, &o);
    if (q != NULL && q->pending == (int)res->endpoint && res->status == 0)
        lb_attempt_end(s, q); /* over: a retry may follow */
}

/* foyer asks again while the last attempt has had no result: it failed in a
 * way foyer does not report through on_upstream_result (a connection reset
 * or refused that showed up as readable, "closed before answering"). It is
 * counted as a failure; a pooled connection the upstream had closed is the
 * rare false alarm (foyer drops idle connections as soon as they close). */
static void unreported_failure(struct lb_state *st, struct lb_service *s,
                               struct lb_req *q)
{
    struct outcome o = {.failed = 1,
                        .rtt = LB_FAILURE_RTT,
                        .why = "connection closed or refused before any answer"};
    record(st, s, q, (unsigned)q->pending, &o);
}

/* ---- choosing ---- */

/* No endpoint for this attempt. The first: nothing is healthy, 503 (logged
 * at most once a second per service). A later one: the endpoints left have
 * all been tried, or the retry budget is spent; foyer reports the failure. */
static int refuse(struct lb_state *st, foyer_request_t *r, struct lb_req *q, double now)
{
    static const char none[] = "no healthy endpoint\n",
                      spent[] = "no endpoint left to try\n";
    struct lb_service *s = q->svc;
    if (q->picks > 0) {
        st->api->respond(r, 502, "text/plain", spent, sizeof spent - 1);
        return FOYER_RESPOND;
    }
    if (st->c_refused) (*st->c_refused)++;
    if (now - s->refused_logged_at >= 1.0) {
        s->refused_logged_at = now;
        st->api->log(
            LB_NAME, FOYER_LOG_WARNING,
            "service %s: no healthy endpoint (all %u down or ejected): answering 503",
            s->name, s->n);
    }
    st->api->respond(r, 503, "text/plain", none, sizeof none - 1);
    return FOYER_RESPOND;
}

static int lb_select(void *state, foyer_request_t *r, const char *service,
                     const unsigned *tried, unsigned ntried, unsigned *endpoint)
{
    struct lb_state *st = state;
    struct lb_req *q = request_of(st, r, service, 1);
    if (q == NULL || strcmp(q->svc->name, service) != 0) return FOYER_CONTINUE;
    struct lb_service *s = q->svc;
    double now = st->api->now();
    if (q->pending >= 0) unreported_failure(st, s, q);
    lb_attempt_end(s, q);
    for (unsigned k = 0; k < ntried; k++)
        if (tried[k] < s->n) q->tried[tried[k] / 64] |= 1ull << (tried[k] % 64);
    if (s->set.retries >= 0 && q->picks > (unsigned)s->set.retries)
        return refuse(st, r, q, now);
    int i = lb_service_pick(s, q, now, &st->rng);
    if (i < 0) return refuse(st, r, q, now);
    if (q->picks > 0 && st->c_retried) (*st->c_retried)++;
    lb_attempt_begin(s, q, (unsigned)i, now);
    *endpoint = (unsigned)i;
    return FOYER_SELECTED;
}

/* Every request ends here, answered or not: its in-flight count ends too. */
static void lb_log(void *state, foyer_request_t *r)
{
    struct lb_state *st = state;
    struct lb_req *q = request_of(st, r, NULL, 0);
    if (q != NULL) lb_attempt_end(q->svc, q);
}

/* service_health("x") in Lua: what this worker knows of each endpoint. */
static int lb_service_health(void *state, const char *service,
                             struct foyer_endpoint_state *out, size_t n)
{
    struct lb_state *st = state;
    struct lb_service *s = lb_service_find(st, service);
    if (s == NULL) return -1;
    double now = st->api->now();
    for (unsigned i = 0; i < s->n && i < n; i++) {
        const struct lb_endpoint *e = &s->ep[i];
        const struct lb_member *m = &e->pool->m[e->member];
        struct foyer_endpoint_state *o = &out[i];
        o->index = i;
        o->check_down = lb_slot_down(e->health);
        o->ejected = e->passive.until > now;
        o->ejected_for = o->ejected ? e->passive.until - now : 0;
        o->up = !o->check_down && lb_passive_usable(&e->passive, now);
        o->in_flight = m->inflight;
        o->latency = m->cost;
    }
    return (int)s->n;
}

/* ---- the descriptor ---- */

static const char *const lb_service_keys[] = {
    "lb", "hash", "hash_balance", "retries", "health_check", "passive", NULL};

static const struct foyer_plugin lb_plugin = {
    FOYER_PLUGIN_DESCRIPTOR(LB_NAME, "1.0.0"),
    .init = lb_init,
    .worker_init = lb_worker_init,
    .fini = lb_fini,
    .service_keys = lb_service_keys,
    .config_ready = lb_config_ready,
    .on_route = lb_route,
    .on_upstream_select = lb_select,
    .on_upstream_result = lb_result,
    .on_log = lb_log,
    .service_health = lb_service_health,
};

const struct foyer_plugin *foyer_plugin_entry(void)
{
    return &lb_plugin;
}
