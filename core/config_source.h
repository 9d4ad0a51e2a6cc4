/* Live configuration from etcd, the master's side: follows the keys under
 * the prefix (a full range, then a watch from the next revision), and on
 * every change rebuilds the snapshot document, validates it as a whole
 * configuration (the file plus etcd's services and routes), writes it
 * atomically and hands the validated generation to the master, which applies
 * it through the graceful reload path. An invalid change is refused with its
 * key; etcd being away only delays changes (reconnect with capped exponential
 * backoff, then a full resync). Runs on the master's libev loop and never
 * blocks on the network. */
#ifndef FOYER_CONFIG_SOURCE_H
#define FOYER_CONFIG_SOURCE_H

struct ev_loop;
struct foyer_config;

struct foyer_config_source_ops {
    /* A validated generation for etcd revision `revision`, its snapshot
     * already written: the callee owns c. */
    void (*apply)(struct foyer_config *c, long long revision);
    /* The first synchronisation failed (every endpoint tried once); the
     * source keeps retrying in the background. */
    void (*first_sync_failed)(const char *why);
};

/* Starts following etcd as c->settings.etcd says (copied: changing
 * config_source needs a restart), for c->file. -1 when out of memory. */
int foyer_config_source_start(struct ev_loop *loop, const struct foyer_config *c,
                              const struct foyer_config_source_ops *ops);
/* Stops and frees everything. */
void foyer_config_source_stop(void);
/* In a freshly forked worker: closes the etcd socket, touches no loop. */
void foyer_config_source_forget(void);

#endif
