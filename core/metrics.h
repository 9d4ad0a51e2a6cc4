/* Metrics for the admin listener, aggregated across workers.
 *
 * The master maps one shared region before it starts the workers; each
 * worker owns a slot of it (a respawned worker takes over its slot and its
 * counts, so totals never go backwards) and is the only writer of that slot.
 * The admin listener (worker 0) reads every slot and sums the series by
 * their labels into Prometheus text. Counting a request is a few additions
 * into series found by hashing; no lock, no syscall. */
#ifndef FOYER_METRICS_H
#define FOYER_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct foyer_service;

/* Per-worker gauges. */
enum foyer_gauge {
    FOYER_G_CONNS_OPEN,    /* client connections */
    FOYER_G_CONNS_IDLE,    /* of which idle keep-alive */
    FOYER_G_UPSTREAM_IDLE, /* pooled idle upstream connections */
    FOYER_G_GENERATION,    /* configuration generation in force */
    FOYER_G_ETCD_REVISION, /* etcd revision in force (0: none) */
    FOYER_G_PID,
    FOYER_G_COUNT
};

/* The master, before the first worker: maps the region for nworkers. */
int foyer_metrics_init(unsigned nworkers);
/* A worker: takes slot id. */
void foyer_metrics_worker(int id);

/* One finished exchange (service NULL: refused before routing). */
void foyer_metrics_request(const char *service, const char *tag, int status,
                           double duration, double upstream_time, uint64_t bytes_out,
                           uint64_t bytes_in);
void foyer_metrics_gauge_add(enum foyer_gauge g, int64_t delta);
void foyer_metrics_gauge_set(enum foyer_gauge g, int64_t value);
/* Reloads: a worker's result; Lua errors of route functions. */
void foyer_metrics_reload(int ok);
void foyer_metrics_lua_error(void);
/* The master counts worker restarts. */
void foyer_metrics_worker_restart(void);
/* A named counter's current value, published (plugin counters, every second). */
void foyer_metrics_publish(const char *plugin, const char *name, uint64_t value);

/* Appends the Prometheus text of all workers to t; -1 without the region or
 * memory. */
struct foyer_strbuf;
int foyer_metrics_render(struct foyer_strbuf *t);
/* Facts for /status: start time, workers, each worker's generation and pid. */
double foyer_metrics_start_time(void);
unsigned foyer_metrics_workers(void);
int64_t foyer_metrics_worker_gauge(unsigned w, enum foyer_gauge g);
uint64_t foyer_metrics_requests_total(void);

#endif
