/*
 * plugins/lb/lb.h — the load-balancing plugin's own structures: settings,
 * services as the plugin keeps them, the per-request record. Private to
 * plugins/lb; the core is reached only through foyer/plugin.h.
 *
 * Lifetime: one struct lb_state per configuration generation and process.
 * init (master at start, every process at reload) reads the plugin's block;
 * config_ready copies every service (names, addresses, weights: the API's
 * service calls follow the *current* configuration, so a state keeps its own
 * copy) and builds the policies; worker_init starts the health checks; fini
 * frees it all once the generation's last request is gone.
 */
#ifndef LB_LB_H
#define LB_LB_H

#include <foyer/plugin.h>

#include "health.h"
#include "policy.h"

#include <sys/socket.h>

#define LB_NAME "lb"

enum lb_hash_from { LB_HASH_CLIENT_IP, LB_HASH_HEADER, LB_HASH_COOKIE, LB_HASH_KEY };

/* One service's settings, or the plugin block's defaults for all services. */
struct lb_settings {
    const struct lb_policy *policy;
    enum lb_hash_from hash_from;
    char hash_name[64]; /* the header or cookie */
    struct lb_tuning tuning;
    struct lb_passive_conf passive;
    struct lb_check_conf check;
    int retries; /* further endpoints after a failed attempt; -1: each endpoint once */
    /* Keys the service block itself set (for "hash without a hashing lb"). */
    unsigned explicit_hash : 1, explicit_balance : 1;
};

struct lb_probe;

struct lb_endpoint {
    char *name; /* "host:port" */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    unsigned weight;
    int backup;
    struct lb_pool *pool; /* primaries or backups */
    unsigned member;      /* its index in that pool */
    struct lb_passive passive;
    struct lb_shared_slot *health; /* active check state: shared, or &local */
    struct lb_shared_slot local;
    struct lb_probe *probe; /* its checks (or their standby) on this worker */
};

struct lb_service {
    char *name;
    struct lb_settings set;
    unsigned n;
    struct lb_endpoint *ep;
    struct lb_pool primary, backup;
    double refused_logged_at; /* rate limit of the "no healthy endpoint" line */
};

struct lb_state {
    const struct foyer_api *api;
    struct lb_settings defaults;
    struct lb_service *svc; /* sorted by name */
    unsigned nsvc;
    uint64_t rng;
    uint64_t *c_refused, *c_ejected, *c_retried; /* counters (worker) */
};

/* What the plugin remembers about one request (api->storage, request memory). */
struct lb_req {
    struct lb_service *svc;
    uint64_t hash;
    int has_hash;
    int pending;      /* endpoint whose in-flight count this request holds; -1 none */
    int trial;        /* pending is the passive trial of an ejected endpoint */
    unsigned picks;   /* attempts so far */
    uint64_t tried[]; /* endpoints picked already, a bitmap over svc->n */
};

/* ---- conf.c ---- */

void lb_settings_default(struct lb_settings *s);
/* Reads the plugin's block (defaults for every service); -1 with err. */
int lb_settings_plugin(const struct foyer_api *api, const foyer_conf_t *t,
                       struct lb_settings *s, char *err, size_t errlen);
/* Reads this plugin's keys of a service block over s (a copy of the defaults);
 * *handles counts the table handles taken from foyer in this pass. */
int lb_settings_service(const struct foyer_api *api, const foyer_conf_t *t,
                        struct lb_settings *s, unsigned *handles, char *err,
                        size_t errlen);

/* ---- service.c ---- */

/* Copies every service of the configuration being loaded; -1 with err. */
int lb_services_build(struct lb_state *st, char *err, size_t errlen);
void lb_services_free(struct lb_state *st);
struct lb_service *lb_service_find(struct lb_state *st, const char *name);
/* An endpoint for this request (index in the service), or -1. */
int lb_service_pick(struct lb_service *s, struct lb_req *q, double now, uint64_t *rng);
/* Bookkeeping of the attempts: start one on endpoint i, end the current one. */
void lb_attempt_begin(struct lb_service *s, struct lb_req *q, unsigned i, double now);
void lb_attempt_end(struct lb_service *s, struct lb_req *q);

/* ---- health_active.c: the checks of one endpoint, on this worker's loop ---- */

/* standby: another worker checks; this one only takes over if it stops. */
struct lb_probe *lb_probe_start(const struct foyer_api *api, const struct lb_service *s,
                                struct lb_endpoint *ep, uint64_t seed, int standby);
void lb_probe_stop(struct lb_probe *p);

#endif /* LB_LB_H */
