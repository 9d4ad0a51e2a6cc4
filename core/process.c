#include "process.h"
#include "build-config.h"
#include "config.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "plugin_api.h"
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct worker_slot {
    pid_t pid;
    struct foyer_listen_fd *fds; /* this worker's inherited sockets, one per listen */
    unsigned nfds;
    time_t started;
};

static struct worker_slot *slots;
static int nworkers;
static struct foyer_config *current; /* the generation new workers start with */

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

static pid_t spawn(struct foyer_config *c, int w, sigset_t *old)
{
    pid_t pid = fork();
    if (pid < 0) {
        foyer_err("fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* The worker's signals stay blocked until its loop watches them
         * (watch_signals unblocks them): a SIGHUP sent while it starts is
         * delivered then, instead of killing it by the default action. */
        sigset_t starting = *old;
        sigaddset(&starting, SIGHUP);
        sigaddset(&starting, SIGUSR1);
        sigaddset(&starting, SIGTERM);
        sigaddset(&starting, SIGINT);
        sigaddset(&starting, SIGQUIT);
        sigprocmask(SIG_SETMASK, &starting, NULL);
        close_other_listeners(w);
        _exit(foyer_worker_run(c, slots[w].fds, slots[w].nfds, w, nworkers));
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
    if (check_new_listeners(c, err, sizeof err) != 0) {
        foyer_err("reload refused, the running configuration stays: %s: %s", c->file,
                  err);
        foyer_config_unref(c);
        return;
    }
    close_dropped_listeners(c);
    foyer_config_apply_logging(&c->settings);
    c->generation = current->generation + 1;
    foyer_config_unref(current);
    current = c;
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

int foyer_master_run(struct foyer_config *c, const char *pid_file)
{
    foyer_master_pid = getpid();
    current = c; /* the master owns the caller's reference from here on */
    if (c->generation == 0) c->generation = 1;
    nworkers = worker_count(c);
    slots = calloc((size_t)nworkers, sizeof *slots);
    if (slots == NULL) return 1;
    raise_fd_limit(c);
    write_pid_file(pid_file);
    if (open_listeners(c) != 0) {
        if (pid_file != NULL) unlink(pid_file);
        return 1;
    }
    if (foyer_metrics_init((unsigned)nworkers) != 0)
        foyer_warn("metrics: no shared memory, the admin listener shows worker 0 only");
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);
    signal(SIGPIPE, SIG_IGN);
    for (int w = 0; w < nworkers; w++)
        if (spawn(c, w, &old) < 0) {
            stop_workers(c, &old);
            if (pid_file != NULL) unlink(pid_file);
            return 1;
        }
    foyer_info("foyer %s started: %d worker(s), config %s", PACKAGE_VERSION, nworkers,
               c->file);
    foyer_notify("READY=1");
    for (;;) {
        int sig = sigwaitinfo(&set, NULL);
        if (sig == SIGCHLD)
            reap(c, 0, &old);
        else if (sig == SIGHUP)
            reload();
        else if (sig == SIGUSR1)
            reopen_logs();
        else if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT)
            break;
    }
    foyer_notify("STOPPING=1");
    close_all_listeners(); /* the kernel would go on completing connections */
    stop_workers(current, &old);
    foyer_config_unref(current);
    if (pid_file != NULL) unlink(pid_file);
    foyer_info("foyer stopped");
    return 0;
}
