/* A worker process: its own libev loop, its own Lua state (inherited from the
 * master at fork), its own upstream pools. SIGTERM stops accepting, lets
 * in-flight exchanges finish within the grace period, then exits 0. */
#include "worker.h"
#include "buf.h"
#include "config.h"
#include "config_source.h"
#include "config_etcd.h"
#include "conn.h"
#include "listener.h"
#include "admin.h"
#include "log.h"
#include "metrics.h"
#include "plugin_api.h"
#include "plugin_loader.h"
#include "random.h"
#include "upstream.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

struct foyer_worker foyer_worker;

static int paused;

void foyer_worker_listeners_enable(int on)
{
    paused = !on;
    for (struct foyer_listener *l = foyer_worker.listeners; l != NULL; l = l->next)
        foyer_listener_enable(l, on && !foyer_worker.stopping);
}

/* Out of file descriptors: accepting pauses and is tried again in half a
 * second (as nginx does), since fds come back not only from closing client
 * connections but from upstream connections and files too. */
static void on_accept_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    if (!foyer_worker.stopping &&
        foyer_worker.nconns < foyer_worker.config->settings.max_connections)
        foyer_worker_listeners_enable(1);
}

void foyer_worker_accept_retry(void)
{
    foyer_worker_listeners_enable(0);
    ev_timer_stop(foyer_worker.loop, &foyer_worker.accept_retry);
    ev_timer_init(&foyer_worker.accept_retry, on_accept_retry, 0.5, 0.);
    ev_timer_start(foyer_worker.loop, &foyer_worker.accept_retry);
}

void foyer_worker_conn_closed(void)
{
    foyer_worker.nconns--;
    if (foyer_worker.stopping) {
        if (foyer_worker.nconns == 0) ev_break(foyer_worker.loop, EVBREAK_ALL);
        return;
    }
    if (paused && foyer_worker.nconns < foyer_worker.config->settings.max_connections)
        foyer_worker_listeners_enable(1);
}

static void close_listeners(void)
{
    while (foyer_worker.listeners != NULL) {
        struct foyer_listener *l = foyer_worker.listeners;
        foyer_worker.listeners = l->next;
        foyer_listener_close(l);
    }
}

static void on_grace_expired(struct ev_loop *loop, ev_timer *w, int revents)
{
    foyer_warn("worker %d: grace period over, %u connections cut", foyer_worker.id,
               foyer_worker.nconns);
    ev_break(loop, EVBREAK_ALL);
}

static void begin_stop(struct ev_loop *loop)
{
    if (foyer_worker.stopping) return;
    foyer_worker.stopping = 1;
    close_listeners();
    foyer_upstream_close_idle();
    struct foyer_conn *c = foyer_worker.conns;
    while (c != NULL) {
        struct foyer_conn *next = c->next;
        foyer_conn_shutdown(c);
        c = next;
    }
    if (foyer_worker.nconns == 0) {
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    ev_timer_init(&foyer_worker.grace_timer, on_grace_expired,
                  foyer_worker.config->settings.grace_period, 0.);
    ev_timer_start(loop, &foyer_worker.grace_timer);
}

static void on_stop_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    begin_stop(loop);
}

/* A new configuration generation: requests already routed keep the one they
 * hold a reference to; new ones see this one. Connections stay open.
 *
 * The file is parsed and its routes compiled on a loader thread, so the
 * worker keeps serving meanwhile (a 100k-route set takes a fifth of a second);
 * plugins are loaded and the generation swapped back on the loop. */
static struct {
    pthread_t thread;
    char *file;
    struct foyer_config *c;
    char err[2048];
    int running, again;
    ev_async done;
} job;

static void *load_in_background(void *arg)
{
    (void)arg;
    job.c = foyer_config_parse(job.file, job.err, sizeof job.err);
    ev_async_send(foyer_worker.loop, &job.done);
    return NULL;
}

static void apply(struct foyer_config *c)
{
    struct foyer_config *old = foyer_worker.config;
    if (foyer_listeners_apply(&foyer_worker.listeners, c, NULL, 0) != 0) {
        foyer_err(
            "worker %d: reload refused (listen failed), the running configuration stays",
            foyer_worker.id);
        foyer_config_unref(c);
        foyer_metrics_reload(0);
        return;
    }
    foyer_config_apply_logging(&c->settings);
    if (foyer_access_open(c->settings.access_log) != 0)
        foyer_err("worker %d: access log not reopened", foyer_worker.id);
    c->generation = old->generation + 1;
    foyer_worker.config = c;
    foyer_plugins_worker_init(c);
    foyer_admin_apply(c->settings.admin);
    foyer_metrics_gauge_set(FOYER_G_GENERATION, c->generation);
    foyer_metrics_gauge_set(FOYER_G_ETCD_REVISION, c->etcd_revision);
    foyer_metrics_reload(1);
    foyer_upstream_close_idle_tls(); /* made under the old TLS settings */
    foyer_config_unref(old);
    if (c->settings.etcd != NULL)
        foyer_info(
            "worker %d: configuration reloaded (generation %u, etcd revision %lld)",
            foyer_worker.id, c->generation, c->etcd_revision);
    else
        foyer_info("worker %d: configuration reloaded", foyer_worker.id);
}

static void reload(void);

static void on_loaded(struct ev_loop *loop, ev_async *w, int revents)
{
    pthread_join(job.thread, NULL);
    job.running = 0;
    struct foyer_config *c = job.c;
    job.c = NULL;
    if (c != NULL && foyer_config_finish(c, job.err, sizeof job.err) != 0) {
        foyer_config_unref(c);
        c = NULL;
    }
    if (c == NULL) {
        foyer_err("worker %d: reload refused, the running configuration stays: %s",
                  foyer_worker.id, job.err);
        foyer_metrics_reload(0);
    } else if (foyer_worker.stopping)
        foyer_config_unref(c);
    else
        apply(c);
    if (job.again && !foyer_worker.stopping) { /* another SIGHUP came meanwhile */
        job.again = 0;
        reload();
    }
}

static void reload(void)
{
    if (job.running) {
        job.again = 1;
        return;
    }
    free(job.file);
    job.file = strdup(foyer_worker.config->file);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* signals stay with the loop's thread */
    int rc = job.file ? pthread_create(&job.thread, NULL, load_in_background, NULL) : -1;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0) {
        job.running = 1;
        return;
    }
    char err[2048]; /* no thread: load here, blocking the loop for a moment */
    struct foyer_config *c =
        foyer_config_load(foyer_worker.config->file, err, sizeof err);
    if (c == NULL)
        foyer_err("worker %d: reload refused, the running configuration stays: %s",
                  foyer_worker.id, err);
    else
        apply(c);
}

/* ---- etcd changes applied in place ------------------------------------------------ */

/* One etcd change (routes, services), applied in this worker's generation.
 * Requests keep being served; anything that cannot be done in place (a
 * change this generation did not follow from, a failure halfway) becomes a
 * full reload, which reads the snapshot the master wrote first. */
static void apply_change(const char *msg, size_t len)
{
    struct foyer_config *c = foyer_worker.config;
    struct foyer_etcd_change *ch;
    size_t n;
    long long base, rev;
    char err[1024];
    if (foyer_change_msg_decode(msg, len, &ch, &n, &base, &rev) != 0) {
        foyer_err("worker %d: unreadable change from the master: full reload",
                  foyer_worker.id);
        return reload();
    }
    if (rev <= c->etcd_revision) {
        free(ch); /* a reload read it from the snapshot already */
        return;
    }
    if (base != c->etcd_revision ||
        foyer_config_etcd_change(c, ch, n, rev, err, sizeof err) != 0) {
        if (base == c->etcd_revision)
            foyer_err("worker %d: etcd revision %lld not applied in place (%s): full "
                      "reload",
                      foyer_worker.id, rev, err);
        free(ch);
        return reload();
    }
    free(ch);
    foyer_metrics_gauge_set(FOYER_G_ETCD_REVISION, rev);
    foyer_info(
        "worker %d: configuration changed in place (etcd revision %lld, %zu key%s)",
        foyer_worker.id, rev, n, n == 1 ? "" : "s");
}

/* One message a change (SOCK_SEQPACKET): its size peeked, then read whole. */
static void on_change(struct ev_loop *loop, ev_io *w, int revents)
{
    char none;
    ssize_t len = recv(w->fd, &none, 1, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
    if (len < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (len <= 0) { /* the master is gone: nothing more will come */
        ev_io_stop(loop, w);
        return;
    }
    char *msg = malloc((size_t)len);
    ssize_t got = recv(w->fd, msg ? msg : &none, msg ? (size_t)len : 1, MSG_DONTWAIT);
    if (foyer_worker.stopping)
        ; /* nothing changes any more */
    else if (job.running)
        job.again = 1; /* the load under way may predate this change */
    else if (msg == NULL || got != len)
        reload();
    else
        apply_change(msg, (size_t)len);
    free(msg);
}

static void on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
    if (!foyer_worker.stopping) reload();
}

/* SIGUSR1: the log files were moved away (logrotate); open them anew. */
static void on_usr1(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct foyer_settings *s = &foyer_worker.config->settings;
    foyer_config_apply_logging(s);
    if (foyer_access_open(s->access_log) != 0)
        foyer_err("worker %d: access log not reopened", foyer_worker.id);
}

/* Every second: the access log's buffer goes out, plugin counters are
 * published for the admin listener. */
static void on_flush(struct ev_loop *loop, ev_timer *w, int revents)
{
    foyer_access_flush();
    foyer_plugin_counters_publish();
}

static void watch_signals(struct ev_loop *loop)
{
    ev_signal_init(&foyer_worker.sigterm, on_stop_signal, SIGTERM);
    ev_signal_init(&foyer_worker.sigint, on_stop_signal, SIGINT);
    ev_signal_init(&foyer_worker.sigquit, on_stop_signal, SIGQUIT);
    ev_signal_init(&foyer_worker.sighup, on_hup, SIGHUP);
    ev_signal_init(&foyer_worker.sigusr1, on_usr1, SIGUSR1);
    ev_signal_start(loop, &foyer_worker.sigusr1);
    ev_signal_start(loop, &foyer_worker.sigterm);
    ev_signal_start(loop, &foyer_worker.sigint);
    ev_signal_start(loop, &foyer_worker.sigquit);
    ev_signal_start(loop, &foyer_worker.sighup);
    /* spawn() kept these blocked while the worker started; libev's handlers
     * (EVFLAG_AUTO: sigaction, not signalfd) now take them, pending ones too */
    sigset_t set;
    sigemptyset(&set);
    foyer_worker_sigset(&set);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

void foyer_worker_sigset(sigset_t *set)
{
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGQUIT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1);
}

int foyer_worker_run(struct foyer_config *c, struct foyer_listen_fd *inherited,
                     unsigned ninherited, int chan, int id, int nworkers)
{
    foyer_worker.nworkers = nworkers;
    struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
    if (loop == NULL) {
        foyer_err("worker %d: cannot create the event loop", id);
        return 1;
    }
    foyer_worker.loop = loop;
    signal(SIGPIPE, SIG_IGN); /* writes to a closed peer return EPIPE instead */
    foyer_random_seed(((uint64_t)getpid() << 32) ^ (uint64_t)(ev_time() * 1e6));
    foyer_worker.config = c;
    foyer_worker.id = id;
    foyer_metrics_worker(id);
    foyer_metrics_gauge_set(FOYER_G_GENERATION, c->generation);
    foyer_metrics_gauge_set(FOYER_G_ETCD_REVISION, c->etcd_revision);
    if (foyer_access_open(c->settings.access_log) != 0) return 1;
    if (foyer_listeners_apply(&foyer_worker.listeners, c, inherited, ninherited) != 0)
        return 1;
    foyer_plugins_worker_init(c);
    foyer_admin_apply(c->settings.admin);
    watch_signals(loop);
    ev_async_init(&job.done, on_loaded);
    ev_async_start(loop, &job.done);
    if (chan >= 0) {
        ev_io_init(&foyer_worker.changes, on_change, chan, EV_READ);
        ev_io_start(loop, &foyer_worker.changes);
    }
    ev_timer_init(&foyer_worker.flush_timer, on_flush, 1., 1.);
    ev_timer_start(loop, &foyer_worker.flush_timer);
    ev_run(loop, 0); /* returns on ev_break only: the timers keep it alive */
    if (job.running) pthread_join(job.thread, NULL);
    if (job.c != NULL) foyer_config_unref(job.c);
    foyer_access_close();
    foyer_admin_stop();
    foyer_upstream_close_idle();
    while (foyer_worker.conns != NULL)
        foyer_conn_close(foyer_worker.conns);
    close_listeners();
    foyer_config_unref(foyer_worker.config); /* plugins' fini runs here */
    foyer_worker.config = NULL;
    foyer_buf_trim_freelists();
    return 0;
}
