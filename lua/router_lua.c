/* The Lua module "foyer.router": router.new, router.load, r:match(req) and
 * calling a router like a route function. Compile errors become Lua errors
 * at the line of the router.new / router.load call, after everything built
 * so far has been freed. */
#include "pool.h"
#include "lua_state.h"
#include "router_lua.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>

#define ROUTER_MT "foyer.router"
#define DOC_MT "foyer.router.document"
#define TREE_BLOCK (64 * 1024)

struct router_ud {
    struct foyer_router *rt;
};

struct doc_ud {
    struct rt_ruleset *rs;
};

static int has_metatable(lua_State *L, int idx, const char *name)
{
    if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx)) return 0;
    luaL_getmetatable(L, name);
    int same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same;
}

int rt_lua_is_document(lua_State *L, int idx)
{
    return has_metatable(L, idx, DOC_MT);
}

struct foyer_router *foyer_router_check(lua_State *L, int idx)
{
    if (!has_metatable(L, idx, ROUTER_MT)) return NULL;
    return ((struct router_ud *)lua_touserdata(L, idx))->rt;
}

static struct rt_ruleset *document(lua_State *L, int idx)
{
    return ((struct doc_ud *)lua_touserdata(L, idx))->rs;
}

/* ---- router.new ------------------------------------------------------------------- */

/* "file:line" of the Lua code calling the running C function. */
static void caller_where(lua_State *L, char *out, size_t len)
{
    luaL_where(L, 1);
    snprintf(out, len, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    size_t n = strlen(out);
    if (n >= 2 && out[n - 2] == ':' && out[n - 1] == ' ') out[n - 2] = '\0';
}

/* routes = { route, ... } compiled into cc->rs, or a document (*doc). */
static int compile_routes(lua_State *L, int idx, struct rt_cc *cc,
                          struct foyer_pool *pool, struct rt_ruleset **doc)
{
    if (rt_lua_is_document(L, idx)) {
        *doc = document(L, idx);
        return 0;
    }
    size_t mark = rt_path_key(cc, "routes");
    if (!rt_lua_is_list(L, idx)) { /* converted for the type in the message */
        struct json_value v;
        if (rt_lua_to_json(L, idx, pool, &v, 0) != 0)
            return rt_fail(cc, NULL, "out of memory");
        return rt_want_list(cc, &v);
    }
    size_t n = lua_objlen(L, idx);
    for (size_t i = 0; i < n; i++) {
        struct json_value v;
        lua_rawgeti(L, idx, (int)i + 1);
        int r = rt_lua_to_json(L, lua_gettop(L), pool, &v, 0);
        size_t im = rt_path_index(cc, i);
        if (r != 0) r = rt_fail(cc, NULL, "out of memory");
        if (r == 0) r = rt_compile_route(cc, &v);
        lua_pop(L, 1);
        if (r != 0) return -1;
        rt_path_pop(cc, im);
        foyer_pool_reset(pool);
    }
    rt_path_pop(cc, mark);
    return 0;
}

/* One field of the router.new table (key and value on the stack top). */
static int compile_field(lua_State *L, struct rt_cc *cc, struct foyer_pool *pool,
                         struct rt_ruleset **doc)
{
    size_t len;
    struct json_value v;
    if (lua_type(L, -2) != LUA_TSTRING)
        return rt_fail(cc, NULL, "router.new: the table's fields must be named");
    const char *key = lua_tolstring(L, -2, &len);
    if (len == 6 && memcmp(key, "routes", 6) == 0)
        return compile_routes(L, lua_gettop(L), cc, pool, doc);
    if (rt_lua_to_json(L, lua_gettop(L), pool, &v, 0) != 0)
        return rt_fail(cc, NULL, "out of memory");
    int r = rt_compile_setting(cc, key, len, &v);
    foyer_pool_reset(pool);
    return r;
}

/* The table at index 1 into own (settings, and routes unless they are a
 * document, which *doc then receives). */
static int compile_table(lua_State *L, struct rt_ruleset *own, struct rt_ruleset **doc,
                         char *err, size_t errlen)
{
    struct rt_cc cc;
    struct foyer_pool *pool = foyer_pool_create(TREE_BLOCK);
    rt_cc_init(&cc, own, NULL, err, errlen);
    if (pool == NULL) return rt_fail(&cc, NULL, "out of memory");
    int r = 0;
    lua_pushnil(L);
    while (r == 0 && lua_next(L, 1) != 0) {
        r = compile_field(L, &cc, pool, doc);
        lua_pop(L, r == 0 ? 1 : 2);
    }
    foyer_pool_destroy(pool);
    return r;
}

static struct foyer_router *new_from_table(lua_State *L, char *err, size_t errlen)
{
    char where[256];
    struct rt_ruleset *doc = NULL;
    struct foyer_router *rt = NULL;
    caller_where(L, where, sizeof where);
    struct rt_ruleset *own = rt_ruleset_new(where);
    if (own == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (compile_table(L, own, &doc, err, errlen) == 0) {
        rt_ruleset_seal(own);
        rt = doc ? rt_router_build(doc, own, err, errlen)
                 : rt_router_build(own, NULL, err, errlen);
    }
    rt_ruleset_unref(own);
    return rt;
}

/* An empty box (its __gc copes with NULL) pushed before anything is built,
 * so that nothing built can leak if pushing it fails. */
static void *new_box(lua_State *L, const char *mt)
{
    void **box = lua_newuserdata(L, sizeof(void *));
    *box = NULL;
    luaL_getmetatable(L, mt);
    lua_setmetatable(L, -2);
    return box;
}

static int l_new(lua_State *L)
{
    char err[1024];
    lua_settop(L, 1);
    int is_doc = rt_lua_is_document(L, 1);
    if (!is_doc && lua_type(L, 1) != LUA_TTABLE)
        return luaL_error(
            L, "router.new: expected a table or a router.load document, got %s",
            luaL_typename(L, 1));
    struct router_ud *ud = new_box(L, ROUTER_MT);
    ud->rt = is_doc ? rt_router_build(document(L, 1), NULL, err, sizeof err)
                    : new_from_table(L, err, sizeof err);
    if (ud->rt == NULL) return luaL_error(L, "%s", err);
    return 1;
}

/* ---- router.load ------------------------------------------------------------------ */

/* A relative name is taken from the directory of the calling chunk's file. */
static const char *resolve(lua_State *L, const char *name, char *buf, size_t len)
{
    lua_Debug ar;
    if (name[0] == '/' || !lua_getstack(L, 1, &ar) || !lua_getinfo(L, "S", &ar) ||
        ar.source == NULL || ar.source[0] != '@')
        return name;
    const char *src = ar.source + 1, *slash = strrchr(src, '/');
    if (slash == NULL) return name;
    snprintf(buf, len, "%.*s/%s", (int)(slash - src), src, name);
    return buf;
}

static int l_load(lua_State *L)
{
    char err[1024], buf[4096];
    const char *path = resolve(L, luaL_checkstring(L, 1), buf, sizeof buf);
    struct doc_ud *ud = new_box(L, DOC_MT);
    ud->rs = rt_load_file(path, err, sizeof err);
    if (ud->rs == NULL) return luaL_error(L, "router.load: %s", err);
    return 1;
}

/* ---- methods ---------------------------------------------------------------------- */

static struct foyer_router *check_router(lua_State *L, int idx)
{
    struct foyer_router *rt = foyer_router_check(L, idx);
    if (rt == NULL) luaL_typerror(L, idx, "foyer.router");
    return rt;
}

static int l_match(lua_State *L)
{
    struct foyer_router *rt = check_router(L, 1);
    struct foyer_request *r = foyer_lua_request(L, 2);
    struct foyer_route_decision d;
    struct rt_pick pick;
    rt_decide(rt, r, &d, &pick);
    rt_push_decision(L, rt, &d, &pick);
    return 1;
}

static int l_router_gc(lua_State *L)
{
    struct router_ud *ud = lua_touserdata(L, 1);
    rt_router_free(ud->rt);
    ud->rt = NULL;
    return 0;
}

static int l_router_tostring(lua_State *L)
{
    const struct foyer_router *rt = check_router(L, 1);
    lua_pushfstring(
        L, "foyer.router (%s): %d routes, %d rules, %d listeners, %d host names",
        rt->semantics == RT_INGRESS ? "ingress" : "gateway", (int)rt->rs->nroutes,
        (int)rt->rs->nrules, (int)rt->nlisteners, (int)rt->nhosts);
    return 1;
}

static int l_doc_gc(lua_State *L)
{
    struct doc_ud *ud = lua_touserdata(L, 1);
    rt_ruleset_unref(ud->rs);
    ud->rs = NULL;
    return 0;
}

static int l_doc_tostring(lua_State *L)
{
    const struct rt_ruleset *rs = document(L, 1);
    lua_pushfstring(L, "foyer.router document (%s): %d routes, %d rules", rs->file,
                    (int)rs->nroutes, (int)rs->nrules);
    return 1;
}

/* ---- the module ------------------------------------------------------------------- */

static void make_metatables(lua_State *L)
{
    if (luaL_newmetatable(L, ROUTER_MT)) {
        lua_newtable(L);
        lua_pushcfunction(L, l_match);
        lua_setfield(L, -2, "match");
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_match);
        lua_setfield(L, -2, "__call");
        lua_pushcfunction(L, l_router_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_router_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, ROUTER_MT);
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    if (luaL_newmetatable(L, DOC_MT)) {
        lua_pushcfunction(L, l_doc_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_doc_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, DOC_MT);
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
}

struct foyer_router **rt_lua_new_router_box(lua_State *L)
{
    make_metatables(L); /* the file may never have required foyer.router */
    struct router_ud *ud = new_box(L, ROUTER_MT);
    return &ud->rt;
}

int luaopen_foyer_router(lua_State *L)
{
    make_metatables(L);
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, l_new);
    lua_setfield(L, -2, "new");
    lua_pushcfunction(L, l_load);
    lua_setfield(L, -2, "load");
    return 1;
}

void foyer_router_open(lua_State *L)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, luaopen_foyer_router);
    lua_setfield(L, -2, "foyer.router");
    lua_pop(L, 2);
}
