/* Per-worker state: one libev loop, the current config generation and the
 * connections. Every worker process has exactly one. */
#ifndef FOYER_WORKER_H
#define FOYER_WORKER_H

#include <ev.h>
#include <signal.h>

struct foyer_config;
struct foyer_conn;
struct foyer_listener;
struct foyer_listen_fd;

struct foyer_worker {
    struct ev_loop *loop;
    struct foyer_config *config; /* generation for new requests */
    struct foyer_listener *listeners;
    unsigned nconns;
    int stopping;
    struct foyer_conn *conns; /* all client connections, for shutdown */
    ev_signal sigterm, sigint, sighup, sigquit, sigusr1;
    ev_timer flush_timer, grace_timer, accept_retry;
    ev_io changes; /* the master's etcd changes */
    int id;
    int nworkers;
};

extern struct foyer_worker foyer_worker;

/* Runs a worker until it has stopped; returns the process exit code. */
/* chan: the master's change channel (etcd changes applied in place), -1 none. */
int foyer_worker_run(struct foyer_config *c, struct foyer_listen_fd *inherited,
                     unsigned ninherited, int chan, int id, int nworkers);
/* Adds the signals a worker handles to set: blocked from fork() until its
 * loop watches them, so that one sent while it starts is not fatal. */
void foyer_worker_sigset(sigset_t *set);
/* Called when a connection goes away, so a stopping worker can exit. */
void foyer_worker_conn_closed(void);
/* Accepting paused (connection limit) or resumed. */
void foyer_worker_listeners_enable(int on);
/* Out of file descriptors: pause accepting, try again shortly. */
void foyer_worker_accept_retry(void);

#endif
