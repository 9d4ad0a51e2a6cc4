/* Lua values as JSON values, so that router.new compiles a Lua table with the
 * same code as router.load compiles a file. A table whose keys are exactly
 * 1..n is a list, one with only string keys an object (an empty table is an
 * empty list, which the compiler also accepts where an object is expected).
 * Anything else becomes JSON_OTHER describing it, for the compiler to
 * report with the path where it was found. Strings point into the Lua
 * strings: the table must stay reachable while the values are used. */
#include "pool.h"
#include "router_lua.h"

#include <lauxlib.h>
#include <lua.h>
#include <string.h>

static void other(struct json_value *out, const char *what)
{
    out->type = JSON_OTHER;
    out->u.str.p = what;
    out->u.str.len = strlen(what);
}

/* Counts the entries of the table at idx; *list: its keys are exactly 1..n;
 * *named: they are all strings. */
static size_t count_keys(lua_State *L, int idx, int *list, int *named)
{
    size_t n = 0, len = lua_objlen(L, idx);
    *list = *named = 1;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        n++;
        if (lua_type(L, -1) != LUA_TSTRING) *named = 0;
        if (lua_type(L, -1) != LUA_TNUMBER) {
            *list = 0;
        } else {
            lua_Number k = lua_tonumber(L, -1);
            if (k < 1 || k > (lua_Number)len || k != (lua_Number)(size_t)k) *list = 0;
        }
    }
    if (n != len) *list = 0;
    return n;
}

static int table_list(lua_State *L, int idx, size_t n, struct foyer_pool *pool,
                      struct json_value *out, int depth)
{
    out->type = JSON_ARRAY;
    out->u.arr.n = n;
    out->u.arr.v = n ? foyer_pool_alloc(pool, n * sizeof(struct json_value)) : NULL;
    if (n && out->u.arr.v == NULL) return -1;
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, idx, (int)i + 1);
        int r = rt_lua_to_json(L, lua_gettop(L), pool, &out->u.arr.v[i], depth + 1);
        lua_pop(L, 1);
        if (r != 0) return -1;
    }
    return 0;
}

static int table_object(lua_State *L, int idx, size_t n, struct foyer_pool *pool,
                        struct json_value *out, int depth)
{
    out->type = JSON_OBJECT;
    out->u.obj.n = 0;
    out->u.obj.m = foyer_pool_alloc(pool, n * sizeof(struct json_member));
    if (out->u.obj.m == NULL) return -1;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        struct json_member *m = &out->u.obj.m[out->u.obj.n++];
        m->key = lua_tolstring(L, -2, &m->key_len); /* a string key: no conversion */
        if (rt_lua_to_json(L, lua_gettop(L), pool, &m->value, depth + 1) != 0) {
            lua_pop(L, 2);
            return -1;
        }
        lua_pop(L, 1);
    }
    return 0;
}

int rt_lua_is_list(lua_State *L, int idx)
{
    int list, named;
    if (lua_type(L, idx) != LUA_TTABLE || !lua_checkstack(L, 3)) return 0;
    count_keys(L, idx, &list, &named);
    return list;
}

int rt_lua_to_json(lua_State *L, int idx, struct foyer_pool *pool, struct json_value *out,
                   int depth)
{
    memset(out, 0, sizeof *out);
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        out->type = JSON_NULL;
        return 0;
    case LUA_TBOOLEAN:
        out->type = lua_toboolean(L, idx) ? JSON_TRUE : JSON_FALSE;
        return 0;
    case LUA_TNUMBER:
        out->type = JSON_NUMBER;
        out->u.number = lua_tonumber(L, idx);
        return 0;
    case LUA_TSTRING:
        out->type = JSON_STRING;
        out->u.str.p = lua_tolstring(L, idx, &out->u.str.len);
        return 0;
    case LUA_TTABLE:
        break;
    default:
        other(out, rt_lua_is_document(L, idx) ? "a router.load document (allowed as "
                                                "'routes' only)"
                                              : lua_typename(L, lua_type(L, idx)));
        return 0;
    }
    if (depth >= JSON_MAX_DEPTH) {
        other(out, "a table nested too deep (or holding itself)");
        return 0;
    }
    if (!lua_checkstack(L, 4)) return -1;
    int list, named;
    size_t n = count_keys(L, idx, &list, &named);
    if (list) return table_list(L, idx, n, pool, out, depth);
    if (named) return table_object(L, idx, n, pool, out, depth);
    other(out, "a table mixing list items and named fields");
    return 0;
}
