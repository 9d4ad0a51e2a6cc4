#include "process.h"
#include "build-config.h"
#include "config.h"
#include "config_etcd.h"
#include "config_source.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "plugin_api.h"
#include "worker.h"

#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct worker_slot {
    pid_t pid;
    int chan; /* the master's end of its change channel (etcd), -1: none */
    struct foyer_listen_fd *fds; /* this worker's inherited sockets, one per listen */
    unsigned nfds;
    time_t started;
};

static struct worker_slot *slots;
static int nworkers;
static struct foyer_config *current; /* the generation new workers start with */

/* The master's own loop: signals arrive on a signalfd (they stay blocked, so
 * the workers inherit no handler), next to the etcd follower's sockets and
 * timers (config_source.c) when the configuration comes from etcd too. */
static struct ev_loop *master_loop;
static ev_io signal_watcher;
static sigset_t master_signals, saved_mask;
static int stopping;
static int serving; /* workers started: etcd changes are reloads from here on */
static int first_sync_failed_hard;

static int worker_count(const struct foyer_config *c)
{
    if (c->settings.workers > 0) return c->settings.workers;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Each connection needs a descriptor, each proxied one two. */
static void raise_fd_limit(const struct foyer_config *c)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t want = (rlim_t)c->settings.max_connections * 2 + 64;
    if (rl.rlim_cur >= want) return;
    rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        foyer_warn("cannot raise the file limit to %llu: %s", (unsigned long long)want,
                   strerror(errno));
}

static int open_listeners(struct foyer_config *c)
{
    char err[512];
    for (int w = 0; w < nworkers; w++) {
        slots[w].fds = calloc(c->nlistens ? c->nlistens : 1, sizeof *slots[w].fds);
        if (slots[w].fds == NULL) return -1;
        for (unsigned i = 0; i < c->nlistens; i++) {
            struct foyer_listen_fd *lf = &slots[w].fds[slots[w].nfds];
            lf->addr = c->listens[i].addr;
            lf->addrlen = c->listens[i].addrlen;
            lf->fd = foyer_listener_open(&c->listens[i], err, sizeof err);
            if (lf->fd < 0) {
                fprintf(stderr, "%s: %s\n", c->file, err);
                return -1;
            }
            slots[w].nfds++;
        }
    }
    return 0;
}

static void close_other_listeners(int keep)
{
    for (int w = 0; w < nworkers; w++)
        for (unsigned i = 0; w != keep && i < slots[w].nfds; i++)
            if (slots[w].fds[i].fd >= 0) close(slots[w].fds[i].fd);
}

static int config_listens(const struct foyer_config *c, const struct foyer_listen_fd *lf)
{
    for (unsigned i = 0; i < c->nlistens; i++)
        if (c->listens[i].addrlen == lf->addrlen &&
            memcmp(&c->listens[i].addr, &lf->addr, lf->addrlen) == 0)
            return 1;
    return 0;
}

/* Sockets of addresses the new configuration dropped must close everywhere,
 * or the kernel would keep queueing connections nobody accepts. */
static void close_dropped_listeners(const struct foyer_config *c)
{
    for (int w = 0; w < nworkers; w++)
        for (unsigned i = 0; i < slots[w].nfds; i++) {
            struct foyer_listen_fd *lf = &slots[w].fds[i];
            if (lf->fd >= 0 && !config_listens(c, lf)) {
                close(lf->fd);
                lf->fd = -1;
            }
        }
}

/* Can every new address be bound? Checked before any worker is told. */
static int check_new_listeners(const struct foyer_config *c, char *err, size_t errlen)
{
    for (unsigned i = 0; i < c->nlistens; i++) {
        int known = 0;
        for (unsigned j = 0; j < current->nlistens && !known; j++)
            known = current->listens[j].addrlen == c->listens[i].addrlen &&
                    memcmp(&current->listens[j].addr, &c->listens[i].addr,
                           c->listens[i].addrlen) == 0;
        if (known) continue;
        int fd = foyer_listener_open(&c->listens[i], err, errlen);
        if (fd < 0) return -1;
        close(fd);
    }
    return 0;
}

/* A worker keeps nothing of the master's loop: neither its epoll nor the
 * signalfd nor an etcd connection (which would then never close). */
static void forget_master_loop(void)
{
    if (master_loop == NULL) return;
    foyer_config_source_forget();
    close(signal_watcher.fd);
    ev_loop_destroy(master_loop);
    master_loop = NULL;
}

/* With etcd, each worker gets a socket from the master for the changes it
 * applies in place (one message a change: SOCK_SEQPACKET keeps them whole).
 * The master's end never blocks: a worker whose socket is full reloads
 * instead. Returns the worker's end, -1 without etcd (or a socket). */
static int open_channel(const struct foyer_config *c, int w)
{
    int sv[2];
    if (slots[w].chan >= 0) close(slots[w].chan);
    slots[w].chan = -1;
    if (c->settings.etcd == NULL) return -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0) {
        foyer_warn("worker %d: no change channel (%s): etcd changes reload it", w,
                   strerror(errno));
        return -1;
    }
    slots[w].chan = sv[0];
    return sv[1];
}

static void close_channels(void)
{
    for (int w = 0; w < nworkers; w++)
        if (slots[w].chan >= 0) {
            close(slots[w].chan);
            slots[w].chan = -1;
        }
}

static pid_t spawn(struct foyer_config *c, int w, sigset_t *old)
{
    int chan = open_channel(c, w);
    pid_t pid = fork();
    if (pid != 0 && chan >= 0) close(chan);
    if (pid < 0) {
        foyer_err("fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        forget_master_loop();
        /* The worker's signals stay blocked until its loop watches them
         * (watch_signals unblocks them): a SIGHUP sent while it starts is
         * delivered then, instead of killing it by the default action. */
        sigset_t starting = *old;
        foyer_worker_sigset(&starting);
        sigprocmask(SIG_SETMASK, &starting, NULL);
        close_other_listeners(w);
        close_channels();
        _exit(foyer_worker_run(c, slots[w].fds, slots[w].nfds, chan, w, nworkers));
    }
    slots[w].pid = pid;
    slots[w].started = time(NULL);
    return pid;
}

static void signal_workers(int sig)
{
    for (int w = 0; w < nworkers; w++)
        if (slots[w].pid > 0) kill(slots[w].pid, sig);
}

static int live_workers(void)
{
    int n = 0;
    for (int w = 0; w < nworkers; w++)
        n += slots[w].pid > 0;
    return n;
}

/* Reaps exited workers; respawns them unless stopping. */
static void reap(struct foyer_config *c, int stopping, sigset_t *old)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int w = 0; w < nworkers; w++) {
            if (slots[w].pid != pid) continue;
            slots[w].pid = 0;
            if (stopping) break;
            if (WIFSIGNALED(status))
                foyer_err("worker %d (pid %d) killed by signal %d; restarting", w,
                          (int)pid, WTERMSIG(status));
            else
                foyer_err("worker %d (pid %d) exited with %d; restarting", w, (int)pid,
                          WEXITSTATUS(status));
            if (time(NULL) - slots[w].started < 1)
                sleep(1); /* no crash loop at full speed */
            foyer_metrics_worker_restart();
            spawn(current, w, old);
        }
    }
}

/* Written whole or not at all (a new name, then renamed), before the
 * listening sockets open: whoever sees foyer answer can read its pid. */
static void write_pid_file(const char *path)
{
    if (path == NULL) return;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    int ok = f != NULL && fprintf(f, "%d\n", (int)getpid()) > 0;
    if (f != NULL && fclose(f) != 0) ok = 0;
    if (ok && rename(tmp, path) == 0) return;
    foyer_warn("cannot write pid file %s: %s", path, strerror(errno));
    unlink(tmp);
}

/* SIGHUP: every worker starts loading the file at once, each checking it
 * itself — a refused file leaves every process on the running configuration,
 * each saying why. The master's own load runs alongside (two compiles in a
 * row would double the time to apply a large route set); it keeps the new
 * generation for the workers it starts later. */
struct master_load {
    const char *file;
    struct foyer_config *c;
    char err[2048];
};

/* The master's copy is for workers it starts later: it must not take CPU
 * from the workers compiling the same file, so it loads at a low priority
 * (Linux niceness is per thread, and workers are forked from the main one). */
static void *load_niced(void *arg)
{
    struct master_load *ml = arg;
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    ml->c = foyer_config_load(ml->file, ml->err, sizeof ml->err);
    return NULL;
}

static struct foyer_config *load_for_later(const char *file, char *err, size_t errlen)
{
    struct master_load ml = {.file = file};
    pthread_t t;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&t, NULL, load_niced, &ml);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) return foyer_config_load(file, err, errlen);
    pthread_join(t, NULL);
    snprintf(err, errlen, "%s", ml.err);
    return ml.c;
}

/* The master's side of a reload the workers were told about: the new
 * generation becomes the one later workers start with. */
static int install(struct foyer_config *c)
{
    char err[2048];
    if (check_new_listeners(c, err, sizeof err) != 0) {
        foyer_err("reload refused, the running configuration stays: %s: %s", c->file,
                  err);
        foyer_config_unref(c);
        return -1;
    }
    close_dropped_listeners(c);
    foyer_config_apply_logging(&c->settings);
    c->generation = current->generation + 1;
    foyer_config_unref(current);
    current = c;
    return 0;
}

static void load_new(void)
{
    char err[2048];
    foyer_info("reloading %s", current->file);
    signal_workers(SIGHUP);
    struct foyer_config *c = load_for_later(current->file, err, sizeof err);
    if (c == NULL) {
        foyer_err("reload refused, the running configuration stays: %s", err);
        return;
    }
    install(c);
}

static void reload(void)
{
    foyer_notify_reloading();
    load_new();
    foyer_notify("READY=1"); /* refused or not, foyer serves */
}

/* SIGUSR1 (logrotate's postrotate): every process reopens its log files. */
static void reopen_logs(void)
{
    foyer_config_apply_logging(&current->settings);
    signal_workers(SIGUSR1);
    foyer_info("log files reopened");
}

/* Stopping: the master's copies of the listening sockets go first, so that
 * once the workers close theirs no connection is accepted into a queue that
 * nobody reads (it would be reset when the master exits). */
static void close_all_listeners(void)
{
    for (int w = 0; w < nworkers; w++)
        for (unsigned i = 0; i < slots[w].nfds; i++)
            if (slots[w].fds[i].fd >= 0) {
                close(slots[w].fds[i].fd);
                slots[w].fds[i].fd = -1;
            }
}

/* Waits for the workers to finish their grace period, then insists. */
static void stop_workers(struct foyer_config *c, sigset_t *old)
{
    signal_workers(SIGTERM);
    time_t deadline = time(NULL) + (time_t)c->settings.grace_period + 5;
    while (live_workers() > 0) {
        reap(c, 1, old);
        if (live_workers() == 0) break;
        if (time(NULL) > deadline) {
            signal_workers(SIGKILL);
            deadline = time(NULL) + 60;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* ---- etcd ------------------------------------------------------------------------ */

/* A change from etcd, validated and in the snapshot: before the workers run,
 * it is simply the configuration they start with; after, the graceful reload
 * (each worker re-reads the file and the snapshot; nothing is dropped). */
static void etcd_apply(struct foyer_config *c, long long revision)
{
    if (!serving) {
        c->generation = 1;
        foyer_config_unref(current);
        current = c;
        foyer_info("etcd revision %lld applied: configuration generation 1", revision);
        ev_break(master_loop, EVBREAK_ONE);
        return;
    }
    foyer_notify_reloading();
    signal_workers(SIGHUP);
    if (install(c) == 0)
        foyer_info("etcd revision %lld applied: configuration generation %u", revision,
                   current->generation);
    foyer_notify("READY=1");
}

static int etcd_can_change(const struct foyer_etcd_change *ch, size_t n)
{
    return serving && foyer_config_etcd_can_change(current, ch, n);
}

/* The master's own generation (for workers it starts later) changes first:
 * if that fails, nothing was sent and the full load takes over. A worker
 * that cannot take the message reloads (the snapshot has the change). */
static int etcd_change(const struct foyer_etcd_change *ch, size_t n, long long base,
                       long long revision)
{
    char err[1024];
    size_t len;
    if (foyer_config_etcd_change(current, ch, n, revision, err, sizeof err) != 0) {
        foyer_warn("etcd revision %lld: not applied in place (%s): full reload", revision,
                   err);
        return -1;
    }
    char *msg = foyer_change_msg_encode(ch, n, base, revision, &len);
    for (int w = 0; w < nworkers; w++) {
        if (slots[w].pid <= 0) continue;
        if (msg == NULL || slots[w].chan < 0 ||
            send(slots[w].chan, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)len)
            kill(slots[w].pid, SIGHUP);
    }
    free(msg);
    foyer_info("etcd revision %lld applied in place: %zu key%s changed", revision, n,
               n == 1 ? "" : "s");
    return 0;
}

static void etcd_first_sync_failed(const char *why)
{
    if (serving) return;
    if (current->etcd_snapshot_found)
        foyer_warn("etcd unreachable or invalid (%s): starting from the snapshot %s "
                   "(revision %lld); following etcd in the background",
                   why, current->settings.etcd->snapshot, current->etcd_revision);
    else {
        foyer_err("etcd unreachable or invalid (%s) and no snapshot at %s: refusing to "
                  "start",
                  why, current->settings.etcd->snapshot);
        first_sync_failed_hard = 1;
    }
    ev_break(master_loop, EVBREAK_ONE);
}

static const struct foyer_config_source_ops etcd_ops = {
    .apply = etcd_apply,
    .can_change = etcd_can_change,
    .change = etcd_change,
    .first_sync_failed = etcd_first_sync_failed,
};

/* ---- signals ---------------------------------------------------------------------- */

static void on_signal(int sig)
{
    if (sig == SIGCHLD && serving)
        reap(current, 0, &saved_mask);
    else if (sig == SIGHUP && serving)
        reload();
    else if (sig == SIGUSR1)
        reopen_logs();
    else if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
        stopping = 1;
        ev_break(master_loop, EVBREAK_ALL);
    }
}

static void on_signalfd(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct signalfd_siginfo si;
    while (!stopping && read(w->fd, &si, sizeof si) == (ssize_t)sizeof si)
        on_signal((int)si.ssi_signo);
}

static int open_master_loop(void)
{
    sigemptyset(&master_signals);
    sigaddset(&master_signals, SIGTERM);
    sigaddset(&master_signals, SIGINT);
    sigaddset(&master_signals, SIGQUIT);
    sigaddset(&master_signals, SIGHUP);
    sigaddset(&master_signals, SIGUSR1);
    sigaddset(&master_signals, SIGCHLD);
    sigprocmask(SIG_BLOCK, &master_signals, &saved_mask);
    signal(SIGPIPE, SIG_IGN);
    int fd = signalfd(-1, &master_signals, SFD_NONBLOCK | SFD_CLOEXEC);
    master_loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
    if (fd < 0 || master_loop == NULL) {
        foyer_err("master: cannot set up its event loop: %s", strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    ev_io_init(&signal_watcher, on_signalfd, fd, EV_READ);
    ev_io_start(master_loop, &signal_watcher);
    return 0;
}

static void close_master_loop(void)
{
    if (master_loop == NULL) return;
    foyer_config_source_stop();
    ev_io_stop(master_loop, &signal_watcher);
    close(signal_watcher.fd);
    ev_loop_destroy(master_loop);
    master_loop = NULL;
}

/* etcd's state before the workers start: the fresh one, or the snapshot the
 * configuration was loaded with; -1 when there is neither (or a stop). */
static int first_etcd_sync(void)
{
    if (current->settings.etcd == NULL) return 0;
    if (foyer_config_source_start(master_loop, current, &etcd_ops) != 0) {
        foyer_err("etcd: out of memory");
        return -1;
    }
    ev_run(master_loop, 0);
    return stopping || first_sync_failed_hard ? -1 : 0;
}

static int start_workers(struct foyer_config *c, const char *pid_file)
{
    nworkers = worker_count(c);
    slots = calloc((size_t)nworkers, sizeof *slots);
    if (slots == NULL) return -1;
    for (int w = 0; w < nworkers; w++)
        slots[w].chan = -1;
    raise_fd_limit(c);
    write_pid_file(pid_file);
    if (open_listeners(c) != 0) return -1;
    if (foyer_metrics_init((unsigned)nworkers) != 0)
        foyer_warn("metrics: no shared memory, the admin listener shows worker 0 only");
    serving = 1;
    for (int w = 0; w < nworkers; w++)
        if (spawn(c, w, &saved_mask) < 0) {
            stop_workers(c, &saved_mask);
            return -1;
        }
    return 0;
}

int foyer_master_run(struct foyer_config *c, const char *pid_file)
{
    foyer_master_pid = getpid();
    current = c; /* the master owns the caller's reference from here on */
    if (c->generation == 0) c->generation = 1;
    if (open_master_loop() != 0) {
        foyer_config_unref(current);
        return 1;
    }
    int stopped_early = first_etcd_sync() != 0;
    if (stopped_early || start_workers(current, pid_file) != 0) {
        int failed = !stopping || !stopped_early;
        close_master_loop();
        foyer_config_unref(current);
        if (pid_file != NULL) unlink(pid_file);
        return failed ? 1 : 0;
    }
    foyer_info("foyer %s started: %d worker(s), config %s%s", PACKAGE_VERSION, nworkers,
               current->file, current->settings.etcd ? " + etcd" : "");
    foyer_notify("READY=1");
    if (!stopping) ev_run(master_loop, 0);
    foyer_notify("STOPPING=1");
    close_all_listeners(); /* the kernel would go on completing connections */
    stop_workers(current, &saved_mask);
    close_channels();
    close_master_loop();
    foyer_config_unref(current);
    if (pid_file != NULL) unlink(pid_file);
    foyer_info("foyer stopped");
    return 0;
}
