/* Internals shared by the Lua side of foyer.router (router_lua.c,
 * router_table.c, router_decision_lua.c). */
#ifndef FOYER_ROUTER_LUA_H
#define FOYER_ROUTER_LUA_H

#include "router_int.h"

#include <lua.h>

struct foyer_pool;

/* The Lua value at idx as a JSON value (strings point into Lua strings);
 * -1 only when out of memory or Lua stack. */
int rt_lua_to_json(lua_State *L, int idx, struct foyer_pool *pool, struct json_value *out,
                   int depth);
/* Is the value at idx a table whose keys are exactly 1..n (or empty)? */
int rt_lua_is_list(lua_State *L, int idx);
/* Is the value at idx a router.load document? */
int rt_lua_is_document(lua_State *L, int idx);
/* Pushes an empty router box (its __gc frees what is stored in the slot)
 * and returns the slot: build the router into it once it is on the stack. */
struct foyer_router **rt_lua_new_router_box(lua_State *L);
/* Pushes a decision the way route functions return them: nil, a service
 * name, or a decision table (see lua/router.md). */
void rt_push_decision(lua_State *L, const struct foyer_router *rt,
                      const struct foyer_route_decision *d, const struct rt_pick *pick);

#endif
