/* The tls plugin: its descriptor, its lifecycle and `plugin "tls" { }`.
 *
 *   plugin "tls" {
 *     tickets = true,              -- session tickets (keys shared by the workers)
 *     ticket_key_rotation = 3600,  -- seconds a ticket key encrypts
 *     session_timeout = 300,       -- seconds a session can be resumed
 *     session_cache = 4096,        -- shared session-ID cache entries, or false
 *     ocsp_refresh = 3600,         -- seconds between checks of the OCSP files
 *   }
 *
 * init reads these; config_ready reads every listener's `tls` table and
 * builds its site (certificates, SSL_CTXs), and every service's `tls` table
 * (upstream.c): a bad table or an unreadable or mismatched certificate
 * refuses the configuration, naming the listener or service and the file. worker_init
 * starts the timers: ticket-key rotation in worker 0, OCSP file checks in every worker.
 * fini drops the state's sites (a site lives on while a connection made under it does).
 */
#include "tls.h"

#include <dlfcn.h>
#include <math.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct foyer_api *tls_api;
struct tls_counters tls_counters;
static unsigned live_states; /* configurations of this process using the plugin */

struct tls_state {
    struct tls_settings set;
    struct tls_site **sites; /* by listener index; NULL: not a TLS listener */
    size_t nsites;
    struct tls_upstream **ups; /* services with a `tls` table, or made on first
                                * use with the defaults */
    size_t nups;
    foyer_timer_t *rotate_timer, *ocsp_timer;
};

static const char *const settings_keys[] = {
    "path",         "tickets", "ticket_key_rotation", "session_timeout", "session_cache",
    "ocsp_refresh", NULL};

static int has_key(const foyer_conf_t *conf, const char *key)
{
    for (const char *k = tls_api->conf_next_key(conf, NULL); k;
         k = tls_api->conf_next_key(conf, k))
        if (strcmp(k, key) == 0) return 1;
    return 0;
}

static int number_setting(const foyer_conf_t *conf, const char *key, double lo, double hi,
                          double *out, char *err, size_t errlen)
{
    double v;
    if (!has_key(conf, key)) return 0; /* the default stays */
    if (tls_api->conf_number(conf, key, &v) == 0 && v >= lo && v <= hi) {
        *out = v;
        return 0;
    }
    snprintf(err, errlen, "%s must be a number of seconds between %g and %g", key, lo,
             hi);
    return -1;
}

static int read_settings(const foyer_conf_t *conf, struct tls_settings *s, char *err,
                         size_t errlen)
{
    s->tickets = 1;
    s->ticket_key_rotation = 3600;
    s->session_timeout = 300;
    s->session_cache = 4096;
    s->ocsp_refresh = 3600;
    if (conf == NULL) return 0;
    for (const char *k = tls_api->conf_next_key(conf, NULL); k;
         k = tls_api->conf_next_key(conf, k)) {
        int ok = 0;
        for (const char *const *p = settings_keys; *p; p++)
            ok |= strcmp(*p, k) == 0;
        if (!ok) {
            snprintf(err, errlen,
                     "unknown setting '%s' (known: tickets, ticket_key_rotation, "
                     "session_timeout, "
                     "session_cache, ocsp_refresh)",
                     k);
            return -1;
        }
    }
    int b;
    if (tls_api->conf_bool(conf, "tickets", &b) == 0)
        s->tickets = b;
    else if (has_key(conf, "tickets")) {
        snprintf(err, errlen, "tickets must be true or false");
        return -1;
    }
    if (number_setting(conf, "ticket_key_rotation", 1, 7 * 86400, &s->ticket_key_rotation,
                       err, errlen) != 0 ||
        number_setting(conf, "session_timeout", 1, 7 * 86400, &s->session_timeout, err,
                       errlen) != 0 ||
        number_setting(conf, "ocsp_refresh", 1, 7 * 86400, &s->ocsp_refresh, err,
                       errlen) != 0)
        return -1;
    double entries;
    if (tls_api->conf_bool(conf, "session_cache", &b) == 0) {
        if (b) {
            snprintf(err, errlen, "session_cache must be a number of sessions, or false");
            return -1;
        }
        s->session_cache = 0;
    } else if (tls_api->conf_number(conf, "session_cache", &entries) == 0) {
        if (entries < 0 || entries > 4000000 || entries != floor(entries)) {
            snprintf(err, errlen,
                     "session_cache must be a number of sessions (0-4000000), or false");
            return -1;
        }
        s->session_cache = (long)entries;
    } else if (has_key(conf, "session_cache")) {
        snprintf(err, errlen, "session_cache must be a number of sessions, or false");
        return -1;
    }
    return 0;
}

static void count_init(void)
{
    tls_counters.handshakes = tls_api->counter(TLS_PLUGIN, "handshakes");
    tls_counters.resumed = tls_api->counter(TLS_PLUGIN, "resumed");
    tls_counters.failed = tls_api->counter(TLS_PLUGIN, "failed");
    tls_counters.plaintext = tls_api->counter(TLS_PLUGIN, "plaintext");
    tls_counters.cache_stored = tls_api->counter(TLS_PLUGIN, "cache_stored");
    tls_counters.cache_hits = tls_api->counter(TLS_PLUGIN, "cache_hits");
    tls_counters.cache_too_big = tls_api->counter(TLS_PLUGIN, "cache_too_big");
    tls_counters.upstream_handshakes =
        tls_api->counter(TLS_PLUGIN, "upstream_handshakes");
    tls_counters.upstream_resumed = tls_api->counter(TLS_PLUGIN, "upstream_resumed");
    tls_counters.upstream_failed = tls_api->counter(TLS_PLUGIN, "upstream_failed");
}

static void state_free(struct tls_state *st)
{
    if (st == NULL) return;
    for (size_t i = 0; i < st->nsites; i++)
        tls_site_unref(st->sites[i]);
    free(st->sites);
    for (size_t i = 0; i < st->nups; i++)
        tls_upstream_unref(st->ups[i]);
    free(st->ups);
    free(st);
}

/* Connections outlive the configuration that made them: after a reload that
 * drops `plugin "tls"`, foyer would unload tls.so under open TLS connections
 * whose transport is code of it. The library is therefore never unloaded
 * once used (RTLD_NODELETE); its state is freed as usual. */
static void pin_library(void)
{
    static int pinned;
    Dl_info info;
    if (pinned || !dladdr((void *)foyer_plugin_entry, &info) || info.dli_fname == NULL)
        return;
    void *self = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    if (self != NULL) {
        pinned = 1;
        dlclose(self); /* the reference just taken; RTLD_NODELETE stays */
    }
}

static int tls_init(const struct foyer_api *api, const foyer_conf_t *conf, void **state,
                    char *err, size_t errlen)
{
    tls_api = api;
    pin_library();
    struct tls_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (read_settings(conf, &st->set, err, errlen) != 0 ||
        (st->set.tickets && tls_tickets_init(err, errlen) != 0) ||
        tls_session_cache_init(st->set.session_cache, err, errlen) != 0) {
        free(st);
        if (live_states == 0) tls_tickets_release();
        return -1;
    }
    if (tls_counters.handshakes == NULL) count_init();
    live_states++;
    if (st->set.tickets && st->set.session_timeout > 7 * st->set.ticket_key_rotation &&
        api->worker_id() < 0)
        tls_log(
            FOYER_LOG_WARNING,
            "session_timeout (%g s) is longer than 7 ticket key rotations (%g s each): "
            "older tickets cannot be decrypted",
            st->set.session_timeout, st->set.ticket_key_rotation);
    *state = st;
    return 0;
}

static int add_upstream(struct tls_state *st, struct tls_upstream *u)
{
    struct tls_upstream **v = realloc(st->ups, (st->nups + 1) * sizeof *v);
    if (v == NULL) {
        tls_upstream_unref(u);
        return -1;
    }
    st->ups = v;
    st->ups[st->nups++] = u;
    return 0;
}

/* Every service's `tls = { }` table: an upstream each (files read now). */
static int read_upstreams(struct tls_state *st, char *err, size_t errlen)
{
    for (size_t i = 0, n = tls_api->service_count(); i < n; i++) {
        const char *name = tls_api->service_name(i);
        const foyer_conf_t *svc = tls_api->service_conf(name);
        const foyer_conf_t *t = svc ? tls_api->conf_table(svc, "tls") : NULL;
        if (t == NULL) {
            if (svc && tls_api->conf_string(svc, "tls")) {
                snprintf(err, errlen, "service \"%s\": tls must be a table { ca = ..., }",
                         name);
                return -1;
            }
            continue;
        }
        struct tls_upstream *u = tls_upstream_new(name, t, err, errlen);
        if (u == NULL) return -1;
        if (add_upstream(st, u) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

static int tls_config_ready(void *state, char *err, size_t errlen)
{
    struct tls_state *st = state;
    if (read_upstreams(st, err, errlen) != 0) return -1;
    size_t n = tls_api->listen_count();
    st->sites = calloc(n ? n : 1, sizeof *st->sites);
    if (st->sites == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    st->nsites = n;
    size_t ntls = 0;
    for (size_t i = 0; i < n; i++) {
        struct tls_listener_conf *lc;
        if (tls_listener_conf_read(i, &lc, err, errlen) != 0) return -1;
        if (lc == NULL) continue;
        if ((st->sites[i] = tls_site_new(lc, &st->set, err, errlen)) == NULL) return -1;
        ntls++;
    }
    if (ntls == 0 && tls_api->worker_id() < 0)
        tls_log(FOYER_LOG_NOTICE,
                "no listener has tls = { ... }: TLS to https:// endpoints only");
    return 0;
}

static void rotate_tick(void *arg)
{
    tls_tickets_maybe_rotate();
}

static void ocsp_tick(void *arg)
{
    struct tls_state *st = arg;
    for (size_t i = 0; i < st->nsites; i++)
        if (st->sites[i]) tls_site_refresh_ocsp(st->sites[i]);
}

static int has_ocsp(const struct tls_state *st)
{
    for (size_t i = 0; i < st->nsites; i++)
        for (size_t j = 0; st->sites[i] && j < st->sites[i]->conf->ncerts; j++)
            if (st->sites[i]->conf->certs[j].ocsp) return 1;
    return 0;
}

static int tls_worker_init(void *state)
{
    struct tls_state *st = state;
    tls_tickets_configure(st->set.ticket_key_rotation, st->set.session_timeout);
    if (st->set.tickets && tls_api->worker_id() == 0) {
        /* checks often, rotates when due: reloads do not shift the schedule */
        double every = st->set.ticket_key_rotation / 4;
        if (every > 30) every = 30;
        if (every < 0.25) every = 0.25;
        tls_tickets_maybe_rotate();
        st->rotate_timer = tls_api->timer_start(every, every, rotate_tick, st);
    }
    if (has_ocsp(st))
        st->ocsp_timer = tls_api->timer_start(st->set.ocsp_refresh, st->set.ocsp_refresh,
                                              ocsp_tick, st);
    return 0;
}

static void tls_fini(void *state)
{
    struct tls_state *st = state;
    if (st == NULL) return;
    if (st->rotate_timer) tls_api->timer_stop(st->rotate_timer);
    if (st->ocsp_timer) tls_api->timer_stop(st->ocsp_timer);
    state_free(st);
    if (--live_states == 0) tls_tickets_release();
}

static int tls_on_connection(void *state, unsigned listener, int fd,
                             const struct foyer_transport_ops **ops, void **conn)
{
    struct tls_state *st = state;
    if (listener >= st->nsites || st->sites[listener] == NULL) return -1;
    void *c = tls_conn_new(st->sites[listener], fd);
    if (c == NULL) return -1;
    *ops = &tls_transport_ops;
    *conn = c;
    return 0;
}

/* A service's upstream: its own, or one with the defaults made now (verify
 * against the system's trust store). */
static struct tls_upstream *upstream_of(struct tls_state *st, const char *service)
{
    for (size_t i = 0; i < st->nups; i++)
        if (strcmp(st->ups[i]->service, service) == 0) return st->ups[i];
    char err[512];
    struct tls_upstream *u = tls_upstream_new(service, NULL, err, sizeof err);
    if (u == NULL) {
        tls_log(FOYER_LOG_ERROR, "%s", err);
        return NULL;
    }
    return add_upstream(st, u) == 0 ? u : NULL;
}

static int tls_on_upstream_connection(void *state, const char *service, unsigned endpoint,
                                      int fd, const struct foyer_transport_ops **ops,
                                      void **conn)
{
    struct tls_upstream *u = upstream_of(state, service);
    void *c = u ? tls_conn_new_upstream(u, endpoint, fd) : NULL;
    if (c == NULL) return -1;
    *ops = &tls_transport_ops;
    *conn = c;
    return 0;
}

static const char *const tls_listen_keys[] = {"tls", NULL};
static const char *const tls_service_keys[] = {"tls", NULL};

static const struct foyer_plugin descriptor = {
    FOYER_PLUGIN_DESCRIPTOR(TLS_PLUGIN, "1.0"),
    .init = tls_init,
    .worker_init = tls_worker_init,
    .fini = tls_fini,
    .config_ready = tls_config_ready,
    .listen_keys = tls_listen_keys,
    .on_connection = tls_on_connection,
    .service_keys = tls_service_keys,
    .on_upstream_connection = tls_on_upstream_connection,
};

const struct foyer_plugin *foyer_plugin_entry(void)
{
    return &descriptor;
}
