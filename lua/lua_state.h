/* A worker's LuaJIT state: standard libraries less what could exit or block
 * the process, and a module path for routing scripts. */
#ifndef FOYER_LUA_STATE_H
#define FOYER_LUA_STATE_H

struct lua_State;
struct foyer_config;
struct foyer_request;
struct foyer_route_decision;

struct lua_State *foyer_lua_state_new(const char *config_file);
/* Prepends path entries (";"-separated "?.lua" patterns) to package.path. */
void foyer_lua_state_apply_path(struct lua_State *L, const char *path);

/* Limits for one route call (0 = none); end re-checks memory after it. */
void foyer_lua_limits_begin(struct lua_State *L, unsigned instructions,
                            unsigned memory_bytes);
void foyer_lua_limits_end(struct lua_State *L);

/* service_health(name) for scripts (health_lua.c). */
int foyer_lua_service_health(struct lua_State *L);

/* The request behind a `req` argument (raises a Lua error for anything else). */
struct foyer_request *foyer_lua_request(struct lua_State *L, int idx);

/* Calls the config's route function for r (request_lua.c). Fills d; a script
 * error or an unknown service name becomes status 500, logged with its
 * file:line and the request line. */
void foyer_lua_route(struct foyer_config *c, struct foyer_request *r,
                     struct foyer_route_decision *d);

#endif
