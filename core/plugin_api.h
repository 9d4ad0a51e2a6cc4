/* The function table plugins call (struct foyer_api), and the configuration
 * handles plugins read their settings through. */
#ifndef FOYER_PLUGIN_API_H
#define FOYER_PLUGIN_API_H

#include <foyer/plugin.h>
#include <stddef.h>
#include <sys/types.h>

struct foyer_plugin_slot;
struct lua_State;

/* A hook of a descriptor, or NULL when absent or beyond the plugin's struct. */
#define FOYER_PLUGIN_HOOK(d, field)                                                      \
    ((d)->size >= offsetof(struct foyer_plugin, field) + sizeof((d)->field) ? (d)->field \
                                                                            : NULL)

extern const struct foyer_api foyer_plugin_api;

/* The master's pid names shared memory; the master removes it at exit. */
extern pid_t foyer_master_pid;
void foyer_plugin_shared_cleanup(void);
/* Copies the plugins' counters (api->counter) to the metrics region. */
void foyer_plugin_counters_publish(void);

/* Runs the plugin's init with the table at conf_idx. */
int foyer_plugin_call_init(struct foyer_plugin_slot *s, struct lua_State *L, int conf_idx,
                           char *err, size_t errlen);

/* A configuration table for plugins: the Lua table at stack index idx of L.
 * Handles live on a per-call arena, valid until the call that made them ends. */
struct foyer_conf {
    struct lua_State *L;
    int idx;
};

/* Starts a handle arena (returns a mark); ends it (restores the Lua stack). */
int foyer_conf_begin(struct lua_State *L);
void foyer_conf_end(struct lua_State *L, int mark);
const foyer_conf_t *foyer_conf_make(struct lua_State *L, int idx);

#endif
