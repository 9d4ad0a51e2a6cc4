/* Live configuration from etcd, the Lua side: the `config_source` setting and
 * the merge of the etcd snapshot (services and routes) into a generation
 * being loaded. The master follows etcd and writes the snapshot
 * (core/config_source.c); every process merges it when it loads the file. */
#ifndef FOYER_CONFIG_ETCD_H
#define FOYER_CONFIG_ETCD_H

#include "config_source.h"

#include <stddef.h>

struct lua_State;
struct foyer_config;
struct foyer_settings;
struct foyer_service;

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

/* ---- changes applied in place (config_etcd_change.c) ---- */

/* The service body (a table) at the top of L parsed into s (name set,
 * endpoints none) exactly as `service` does, raising its errors
 * (config_lua.c). */
void foyer_config_service_body(struct lua_State *L, struct foyer_service *s);

/* Can these changes be applied to c in place? Yes when each is a route key
 * (and c's router is the one etcd's routes make), a key of a service etcd
 * declares (added, removed unless it is the router's default, or a new body
 * of valid plain endpoints) while no plugin keeps state about services (no
 * load balancer, health checks or service keys), or a key foyer ignores; and
 * c has not changed in place so much that a full load is due to give memory
 * back. */
int foyer_config_etcd_can_change(struct foyer_config *c, const struct foyer_etcd_change *ch,
                                 size_t n);
/* A route key's value checked alone, as the merge compiles it: 0, or -1 with
 * "etcd KEY: routes[1]...: message" in err. */
int foyer_config_etcd_check_route(const struct foyer_etcd_change *ch, char *err,
                                  size_t errlen);
/* Applies the changes to c in place (routes recompiled, services replaced,
 * added or removed) and sets c's etcd revision.
 * -1 with the reason in err: c may then hold part of the change, so the
 * caller loads the configuration fully. */
int foyer_config_etcd_change(struct foyer_config *c, const struct foyer_etcd_change *ch,
                             size_t n, long long revision, char *err, size_t errlen);

#endif
