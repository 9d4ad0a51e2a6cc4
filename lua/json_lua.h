/*
 * lua/json_lua.h — a parsed JSON value (lua/json.h) pushed as Lua values:
 * objects and arrays as tables, null as nil. Used where JSON feeds Lua-side
 * configuration (etcd's keys) and by tests that drive Lua with JSON cases.
 */
#ifndef FOYER_JSON_LUA_H
#define FOYER_JSON_LUA_H

#include <lua.h>

#include "json.h"

/* Pushes v; raises a Lua error when the value nests deeper than the stack. */
void foyer_json_push(lua_State *L, const struct json_value *v);

#endif
