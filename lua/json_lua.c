/* lua/json_lua.c — see json_lua.h. */
#include "json_lua.h"

#include <lauxlib.h>

void foyer_json_push(lua_State *L, const struct json_value *v)
{
    luaL_checkstack(L, 4, "JSON value nested too deep");
    switch (v->type) {
    case JSON_TRUE:
    case JSON_FALSE:
        lua_pushboolean(L, v->type == JSON_TRUE);
        break;
    case JSON_NUMBER:
        lua_pushnumber(L, v->u.number);
        break;
    case JSON_STRING:
        lua_pushlstring(L, v->u.str.p, v->u.str.len);
        break;
    case JSON_ARRAY:
        lua_createtable(L, (int)v->u.arr.n, 0);
        for (size_t i = 0; i < v->u.arr.n; i++) {
            foyer_json_push(L, &v->u.arr.v[i]);
            lua_rawseti(L, -2, (int)i + 1);
        }
        break;
    case JSON_OBJECT:
        lua_createtable(L, 0, (int)v->u.obj.n);
        for (size_t i = 0; i < v->u.obj.n; i++) {
            lua_pushlstring(L, v->u.obj.m[i].key, v->u.obj.m[i].key_len);
            foyer_json_push(L, &v->u.obj.m[i].value);
            lua_rawset(L, -3);
        }
        break;
    default:
        lua_pushnil(L);
    }
}
