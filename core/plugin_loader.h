/* Loading plugins (.so) for a configuration generation: dlopen, the ABI
 * checks of foyer/plugin.h, init with the plugin's configuration table, and
 * fini when the generation is freed. */
#ifndef FOYER_PLUGIN_LOADER_H
#define FOYER_PLUGIN_LOADER_H

#include <stddef.h>

struct foyer_config;
struct lua_State;

/* Loads plugin `name` for config c with the table at stack index conf_idx of L
 * (which may name `path`). Returns 0, or -1 with a message in err. */
int foyer_plugin_load(struct foyer_config *c, struct lua_State *L, const char *name,
                      int conf_idx, const char *where, char *err, size_t errlen);
/* worker_init for every plugin of c not yet initialised in this process. */
void foyer_plugins_worker_init(struct foyer_config *c);
/* fini and dlclose, in reverse order. */
void foyer_plugins_unload(struct foyer_config *c);

#endif
