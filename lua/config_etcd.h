/* Live configuration from etcd, the Lua side: the `config_source` setting and
 * the merge of the etcd snapshot (services and routes) into a generation
 * being loaded. The master follows etcd and writes the snapshot
 * (core/config_source.c); every process merges it when it loads the file. */
#ifndef FOYER_CONFIG_ETCD_H
#define FOYER_CONFIG_ETCD_H

#include <stddef.h>

struct lua_State;
struct foyer_config;
struct foyer_settings;

/* set { config_source = <value at the stack top> }: checked (raising
 * "set: config_source...: message" at the set line) and stored in s->etcd. */
void foyer_config_source_set(struct lua_State *L, struct foyer_settings *s);

/* Adds etcd's services and, when the file declares no route(), etcd's
 * routes as the router. The snapshot is `text` when not NULL, else the
 * settings' snapshot file (absent: nothing is added). Runs after the file
 * was evaluated, before services are indexed. -1 with "etcd KEY: message"
 * (or "SNAPSHOT: message") in err. */
int foyer_config_etcd_merge(struct foyer_config *c, const char *text, size_t len,
                            char *err, size_t errlen);

#endif
