/* The shared metrics region and its Prometheus rendering (see metrics.h).
 *
 * A slot is an open-addressing table of series: (family, label text) -> up to
 * 16 values. Its worker writes it; readers in other processes may see a
 * series being added: the labels are written before the family, which is
 * published last (release), and readers skip entries whose family is 0. */
#include "metrics.h"
#include "log.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SERIES 2048 /* per worker */
#define LABELS 168
#define VALUES 16

enum family {
    M_NONE,
    M_REQUESTS,
    M_REQ_DURATION,
    M_UP_DURATION,
    M_BYTES_OUT,
    M_BYTES_IN,
    M_RELOADS,
    M_LUA_ERRORS,
    M_PLUGIN,
    M_COUNT
};

static const struct {
    const char *name, *type, *help;
    int histogram;
} families[M_COUNT] = {
    [M_REQUESTS] = {"foyer_requests_total", "counter",
                    "Requests answered, by service, route tag and status class", 0},
    [M_REQ_DURATION] = {"foyer_request_duration_seconds", "histogram",
                        "Time from the request head to the end of the response", 1},
    [M_UP_DURATION] = {"foyer_upstream_duration_seconds", "histogram",
                       "Time from the request sent upstream to the end of the response",
                       1},
    [M_BYTES_OUT] = {"foyer_response_bytes_total", "counter",
                     "Bytes sent to clients (heads and bodies)", 0},
    [M_BYTES_IN] = {"foyer_request_body_bytes_total", "counter",
                    "Request body bytes received from clients", 0},
    [M_RELOADS] = {"foyer_reloads_total", "counter",
                   "Configuration reloads in the workers, by result", 0},
    [M_LUA_ERRORS] = {"foyer_lua_errors_total", "counter",
                      "Route functions that failed (answered 500)", 0},
    [M_PLUGIN] = {"foyer_plugin_counter", "counter",
                  "Plugins' own counters (api->counter), summed over the workers", 0},
};

/* Upper bounds of the histogram buckets, seconds; +Inf follows. */
static const double bounds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                0.25,  0.5,   1,    2.5,   5,    10};
#define NB (sizeof bounds / sizeof *bounds)
#define H_SUM_US (NB + 1)
#define H_COUNT (NB + 2)

struct series {
    uint32_t family; /* 0: free; written last */
    uint32_t hash;
    char labels[LABELS];
    uint64_t v[VALUES];
};

struct slot {
    int64_t gauges[FOYER_G_COUNT];
    uint32_t used, full; /* full: series refused for want of room */
    struct series s[SERIES];
};

struct region {
    double start;
    unsigned nworkers;
    uint64_t restarts;
    struct slot w[];
};

static struct region *region;
static struct slot *mine;

int foyer_metrics_init(unsigned nworkers)
{
    size_t size = sizeof(struct region) + nworkers * sizeof(struct slot);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -1;
    region = p;
    region->nworkers = nworkers;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    region->start = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    return 0;
}

void foyer_metrics_worker(int id)
{
    if (region == NULL || id < 0 || (unsigned)id >= region->nworkers) return;
    mine = &region->w[id];
    mine->gauges[FOYER_G_PID] = getpid();
    mine->gauges[FOYER_G_CONNS_OPEN] = mine->gauges[FOYER_G_CONNS_IDLE] = 0;
    mine->gauges[FOYER_G_UPSTREAM_IDLE] = 0;
}

static uint32_t hash(enum family f, const char *s)
{
    uint32_t h = 2166136261u ^ (uint32_t)f;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* This worker's series (made on first use); NULL when the table is full. */
static struct series *find(enum family f, const char *labels)
{
    uint32_t h = hash(f, labels);
    for (uint32_t i = 0; i < SERIES; i++) {
        struct series *s = &mine->s[(h + i) % SERIES];
        uint32_t fam = __atomic_load_n(&s->family, __ATOMIC_ACQUIRE);
        if (fam == 0) {
            if (mine->used >= SERIES * 3 / 4) break; /* keep probes short */
            s->hash = h;
            snprintf(s->labels, sizeof s->labels, "%s", labels);
            __atomic_store_n(&s->family, (uint32_t)f, __ATOMIC_RELEASE);
            mine->used++;
            return s;
        }
        if (fam == (uint32_t)f && s->hash == h && strcmp(s->labels, labels) == 0)
            return s;
    }
    if (mine->full++ == 0) foyer_warn("metrics: too many series, some are not counted");
    return NULL;
}

/* A label value: quotes, backslashes and newlines escaped, bounded. */
static void label(char *out, size_t len, const char *v)
{
    size_t n = 0;
    for (; v && *v && n + 3 < len; v++) {
        if (*v == '"' || *v == '\\') out[n++] = '\\';
        if (*v == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
            continue;
        }
        out[n++] = *v;
    }
    out[n] = '\0';
}

static void add(enum family f, const char *labels, uint64_t n)
{
    struct series *s = find(f, labels);
    if (s) s->v[0] += n;
}

/* The series one kind of request lands in, remembered: most requests repeat
 * a (service, tag, class) seen just before, and finding them again costs two
 * string compares instead of formatting and hashing four label sets. */
struct request_series {
    char service[64], tag[48];
    int class;
    struct series *requests, *duration, *upstream, *bytes_out, *bytes_in;
};

static struct request_series cache[64];

static struct request_series *request_series(const char *service, const char *tag,
                                             int class)
{
    uint32_t h = hash(M_REQUESTS, service) ^ hash(M_NONE, tag) ^ (uint32_t) class;
    struct request_series *c = &cache[h % 64];
    if (c->requests && c->class == class && strcmp(c->service, service) == 0 &&
        strcmp(c->tag, tag) == 0)
        return c;
    char svc[64], tg[48], labels[LABELS];
    label(svc, sizeof svc, service);
    label(tg, sizeof tg, tag);
    snprintf(labels, sizeof labels, "service=\"%s\",tag=\"%s\",code=\"%dxx\"", svc, tg,
             class);
    c->requests = find(M_REQUESTS, labels);
    snprintf(labels, sizeof labels, "service=\"%s\"", svc);
    c->duration = find(M_REQ_DURATION, labels);
    c->upstream = find(M_UP_DURATION, labels);
    c->bytes_out = find(M_BYTES_OUT, labels);
    c->bytes_in = find(M_BYTES_IN, labels);
    if (c->requests == NULL || c->duration == NULL || c->upstream == NULL ||
        c->bytes_out == NULL || c->bytes_in == NULL) {
        c->requests = NULL; /* the table is full: not remembered, not counted */
        return NULL;
    }
    snprintf(c->service, sizeof c->service, "%s", service);
    snprintf(c->tag, sizeof c->tag, "%s", tag);
    c->class = class;
    return c;
}

static void observe(struct series *s, double seconds)
{
    size_t b = 0;
    while (b < NB && seconds > bounds[b])
        b++;
    s->v[b]++;
    s->v[H_SUM_US] += (uint64_t)(seconds * 1e6);
    s->v[H_COUNT]++;
}

void foyer_metrics_request(const char *service, const char *tag, int status,
                           double duration, double upstream_time, uint64_t bytes_out,
                           uint64_t bytes_in)
{
    if (mine == NULL) return;
    /* names longer than the cache keeps are cut alike in labels and keys */
    struct request_series *c =
        request_series(service ? service : "", tag ? tag : "", status / 100);
    if (c == NULL) return;
    c->requests->v[0]++;
    observe(c->duration, duration < 0 ? 0 : duration);
    if (upstream_time >= 0) observe(c->upstream, upstream_time);
    c->bytes_out->v[0] += bytes_out;
    c->bytes_in->v[0] += bytes_in;
}

void foyer_metrics_gauge_add(enum foyer_gauge g, int64_t delta)
{
    if (mine) mine->gauges[g] += delta;
}

void foyer_metrics_gauge_set(enum foyer_gauge g, int64_t value)
{
    if (mine) mine->gauges[g] = value;
}

void foyer_metrics_reload(int ok)
{
    if (mine) add(M_RELOADS, ok ? "result=\"ok\"" : "result=\"failed\"", 1);
}

void foyer_metrics_lua_error(void)
{
    if (mine) add(M_LUA_ERRORS, "", 1);
}

void foyer_metrics_worker_restart(void)
{
    if (region) __atomic_add_fetch(&region->restarts, 1, __ATOMIC_RELAXED);
}

void foyer_metrics_publish(const char *plugin, const char *name, uint64_t value)
{
    if (mine == NULL) return;
    char p[48], n[64], labels[LABELS];
    label(p, sizeof p, plugin);
    label(n, sizeof n, name);
    snprintf(labels, sizeof labels, "plugin=\"%s\",name=\"%s\"", p, n);
    struct series *s = find(M_PLUGIN, labels);
    if (s) s->v[0] = value;
}

/* ---- reading ---- */

double foyer_metrics_start_time(void)
{
    return region ? region->start : 0;
}

unsigned foyer_metrics_workers(void)
{
    return region ? region->nworkers : 0;
}

int64_t foyer_metrics_worker_gauge(unsigned w, enum foyer_gauge g)
{
    return region && w < region->nworkers ? region->w[w].gauges[g] : 0;
}

uint64_t foyer_metrics_requests_total(void)
{
    uint64_t n = 0;
    for (unsigned w = 0; region && w < region->nworkers; w++)
        for (size_t i = 0; i < SERIES; i++)
            if (__atomic_load_n(&region->w[w].s[i].family, __ATOMIC_ACQUIRE) ==
                M_REQUESTS)
                n += region->w[w].s[i].v[0];
    return n;
}

/* The series of one family merged over the workers: a small local table. */
struct merged {
    const char *labels;
    uint64_t v[VALUES];
};

static size_t merge(enum family f, struct merged *out, size_t cap)
{
    size_t n = 0;
    for (unsigned w = 0; w < region->nworkers; w++) {
        struct slot *sl = &region->w[w];
        for (size_t i = 0; i < SERIES; i++) {
            struct series *s = &sl->s[i];
            if (__atomic_load_n(&s->family, __ATOMIC_ACQUIRE) != (uint32_t)f) continue;
            size_t j = 0;
            while (j < n && strcmp(out[j].labels, s->labels) != 0)
                j++;
            if (j == n) {
                if (n == cap) continue;
                out[n].labels = s->labels;
                memset(out[n].v, 0, sizeof out[n].v);
                n++;
            }
            for (size_t k = 0; k < VALUES; k++)
                out[j].v[k] += s->v[k];
        }
    }
    return n;
}

static void put_histogram(struct foyer_strbuf *t, const char *name,
                          const struct merged *m)
{
    const char *sep = m->labels[0] ? "," : "";
    uint64_t cum = 0;
    for (size_t b = 0; b <= NB; b++) {
        cum += m->v[b];
        if (b < NB)
            foyer_strbuf_printf(t, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, m->labels,
                                sep, bounds[b], (unsigned long long)cum);
        else
            foyer_strbuf_printf(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, m->labels,
                                sep, (unsigned long long)cum);
    }
    foyer_strbuf_printf(t, "%s_sum{%s} %.6f\n", name, m->labels, m->v[H_SUM_US] / 1e6);
    foyer_strbuf_printf(t, "%s_count{%s} %llu\n", name, m->labels,
                        (unsigned long long)m->v[H_COUNT]);
}

static void put_family(struct foyer_strbuf *t, enum family f, struct merged *m,
                       size_t cap)
{
    size_t n = merge(f, m, cap);
    foyer_strbuf_printf(t, "# HELP %s %s\n# TYPE %s %s\n", families[f].name,
                        families[f].help, families[f].name, families[f].type);
    for (size_t i = 0; i < n; i++) {
        if (families[f].histogram)
            put_histogram(t, families[f].name, &m[i]);
        else if (m[i].labels[0])
            foyer_strbuf_printf(t, "%s{%s} %llu\n", families[f].name, m[i].labels,
                                (unsigned long long)m[i].v[0]);
        else
            foyer_strbuf_printf(t, "%s %llu\n", families[f].name,
                                (unsigned long long)m[i].v[0]);
    }
}

/* A gauge each worker publishes, one series per worker. */
static void per_worker(struct foyer_strbuf *t, const char *name, const char *help,
                       enum foyer_gauge g)
{
    foyer_strbuf_printf(t, "# HELP %s %s, by worker\n# TYPE %s gauge\n", name, help,
                        name);
    for (unsigned w = 0; w < region->nworkers; w++)
        foyer_strbuf_printf(t, "%s{worker=\"%u\"} %lld\n", name, w,
                            (long long)region->w[w].gauges[g]);
}

static void put_gauges(struct foyer_strbuf *t)
{
    int64_t open = 0, idle = 0, up_idle = 0;
    for (unsigned w = 0; w < region->nworkers; w++) {
        open += region->w[w].gauges[FOYER_G_CONNS_OPEN];
        idle += region->w[w].gauges[FOYER_G_CONNS_IDLE];
        up_idle += region->w[w].gauges[FOYER_G_UPSTREAM_IDLE];
    }
    foyer_strbuf_printf(
        t,
        "# HELP foyer_connections Client connections, by state\n"
        "# TYPE foyer_connections gauge\n"
        "foyer_connections{state=\"active\"} %lld\nfoyer_connections{state=\"idle\"} "
        "%lld\n"
        "# HELP foyer_upstream_idle_connections Pooled idle connections to endpoints\n"
        "# TYPE foyer_upstream_idle_connections gauge\n"
        "foyer_upstream_idle_connections %lld\n",
        (long long)(open - idle), (long long)idle, (long long)up_idle);
    per_worker(t, "foyer_config_generation", "Configuration generation in force",
               FOYER_G_GENERATION);
    per_worker(t, "foyer_etcd_revision", "etcd revision in force (0: none)",
               FOYER_G_ETCD_REVISION);
    foyer_strbuf_printf(
        t,
        "# HELP foyer_worker_restarts_total Workers that died and were started again\n"
        "# TYPE foyer_worker_restarts_total counter\nfoyer_worker_restarts_total %llu\n"
        "# HELP foyer_start_time_seconds When foyer started (Unix time)\n"
        "# TYPE foyer_start_time_seconds gauge\nfoyer_start_time_seconds %.3f\n",
        (unsigned long long)__atomic_load_n(&region->restarts, __ATOMIC_RELAXED),
        region->start);
}

int foyer_metrics_render(struct foyer_strbuf *t)
{
    if (region == NULL) return -1;
    size_t cap = (size_t)region->nworkers * SERIES;
    struct merged *m = malloc(cap * sizeof *m);
    if (m == NULL) return -1;
    for (enum family f = M_REQUESTS; f < M_COUNT; f++)
        put_family(t, f, m, cap);
    put_gauges(t);
    free(m);
    return 0;
}
