/* The master process: opens listeners, forks and supervises workers, relays
 * signals. It never touches a request. */
#ifndef FOYER_PROCESS_H
#define FOYER_PROCESS_H

struct foyer_config;

/* Runs until SIGTERM/SIGINT and all workers have exited; returns the exit code. */
int foyer_master_run(struct foyer_config *c, const char *pid_file);

#endif
