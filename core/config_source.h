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

#include <stddef.h>

struct ev_loop;
struct foyer_config;

/* One key of an etcd change: its new value, or value NULL when deleted. */
struct foyer_etcd_change {
    const char *key, *value;
    size_t key_len, value_len;
};

struct foyer_config_source_ops {
    /* A validated generation for etcd revision `revision`, its snapshot
     * already written: the callee owns c. */
    void (*apply)(struct foyer_config *c, long long revision);
    /* Could these changes (from the running configuration, at revision
     * base) be applied in place? Then each changed route is checked alone
     * and the snapshot written, and change() applies them: 0, or -1 to have
     * them go through a full load and apply() after all. */
    int (*can_change)(const struct foyer_etcd_change *ch, size_t n);
    int (*change)(const struct foyer_etcd_change *ch, size_t n, long long base,
                  long long revision);
    /* The first synchronisation failed (every endpoint tried once); the
     * source keeps retrying in the background. */
    void (*first_sync_failed)(const char *why);
};

/* The master -> worker message carrying a change applied in place
 * (config_change_msg.c): "foyer-change 1 BASE REVISION N\n", then per key
 * "KEY_LEN VALUE_LEN\n" (-1: deleted), the key and the value. */
char *foyer_change_msg_encode(const struct foyer_etcd_change *ch, size_t n,
                              long long base, long long revision, size_t *len);
/* ch (malloc'd, pointing into msg) and the rest; -1 when malformed. */
int foyer_change_msg_decode(const char *msg, size_t len, struct foyer_etcd_change **ch,
                            size_t *n, long long *base, long long *revision);

/* Starts following etcd as c->settings.etcd says (copied: changing
 * config_source needs a restart), for c->file. -1 when out of memory. */
int foyer_config_source_start(struct ev_loop *loop, const struct foyer_config *c,
                              const struct foyer_config_source_ops *ops);
/* Stops and frees everything. */
void foyer_config_source_stop(void);
/* In a freshly forked worker: closes the etcd socket, touches no loop. */
void foyer_config_source_forget(void);

#endif
