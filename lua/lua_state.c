#include "lua_state.h"
#include "log.h"
#include "router.h"

#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

#ifndef FOYER_LUADIR
#define FOYER_LUADIR "/usr/share/foyer/lua"
#endif

/* Ways out of the sandbox and past the limits: C code (ffi, package.loadlib,
 * C modules on package.cpath), the debug library (it can clear the
 * instruction-limit hook), the jit library (compiled code runs no hooks)
 * and precompiled bytecode (a crafted chunk can corrupt LuaJIT's memory):
 * gone, and the loaders take source text only. */
static const char sandbox_lua[] =
    "local raw_load, raw_loadfile, G = load, loadfile, _G\n"
    "local function text_only(chunk, name, env)\n"
    "  if env == nil then return raw_load(chunk, name, 't') end\n"
    "  return raw_load(chunk, name, 't', env)\n"
    "end\n"
    "G.load = function(c, n, m, e) return text_only(c, n, e) end\n"
    "G.loadstring = function(s, n) return text_only(s, n) end\n"
    "G.loadfile = function(f, m, e)\n"
    "  if e == nil then return raw_loadfile(f, 't') end\n"
    "  return raw_loadfile(f, 't', e)\n"
    "end\n"
    "G.dofile = function(f) return assert(G.loadfile(f))() end\n"
    "package.loadlib, package.cpath = nil, ''\n"
    "for _, m in ipairs({ 'ffi', 'debug', 'jit' }) do\n"
    "  package.preload[m], package.loaded[m], _G[m] = nil, nil, nil\n"
    "end\n"
    "table.remove(package.loaders, 4)\n"
    "table.remove(package.loaders, 3)\n";

static int remove_escapes(lua_State *L)
{
    if (luaL_loadbuffer(L, sandbox_lua, sizeof sandbox_lua - 1, "=sandbox") == 0 &&
        lua_pcall(L, 0, 0, 0) == 0)
        return 0;
    foyer_err("lua sandbox: %s", lua_tostring(L, -1));
    return -1;
}

/* Functions a routing script must not reach: they end or block the worker. */
static int remove_unsafe(lua_State *L)
{
    static const char *const os_fns[] = {"exit", "execute", "remove", "rename",
                                         "tmpname"};
    static const char *const io_fns[] = {"popen", "read", "stdin", "lines"};
    lua_getglobal(L, "os");
    for (size_t i = 0; i < sizeof os_fns / sizeof *os_fns; i++) {
        lua_pushnil(L);
        lua_setfield(L, -2, os_fns[i]);
    }
    lua_pop(L, 1);
    lua_getglobal(L, "io");
    for (size_t i = 0; i < sizeof io_fns / sizeof *io_fns; i++) {
        lua_pushnil(L);
        lua_setfield(L, -2, io_fns[i]);
    }
    lua_pop(L, 1);
    return remove_escapes(L);
}

void foyer_lua_state_apply_path(lua_State *L, const char *path)
{
    if (path == NULL || *path == '\0') return;
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s;%s", path, lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 2);
}

/* The config's own directory and foyer's Lua library directory come first. */
static void default_path(lua_State *L, const char *config_file)
{
    char dir[1024];
    const char *slash = strrchr(config_file, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - config_file), config_file);
    char path[4096];
    snprintf(path, sizeof path, "%s/?.lua;%s/?.lua;%s/?/init.lua", dir, FOYER_LUADIR,
             FOYER_LUADIR);
    foyer_lua_state_apply_path(L, path);
}

/* ---- limits: a route call may run so many instructions and the state may
 * hold so much memory; past either the call fails (500) and the worker goes on.
 * The count hook is how Lua lets a host interrupt a script, and LuaJIT only
 * runs hooks in its interpreter: a JIT-compiled `while true do end` would
 * never be stopped, so the JIT is off for these states. Routing scripts are
 * short; the heavy lifting (foyer.router) is C. */

#define HOOK_EVERY 1000

static __thread unsigned long budget_left; /* hook periods left in the current call */
static __thread size_t memory_limit_kb;

/* Raises msg with the script position that was running ("file:line: msg"). */
static int raise_here(lua_State *L, const char *msg)
{
    lua_Debug ar;
    if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0)
        lua_pushfstring(L, "%s:%d: %s", ar.short_src, ar.currentline, msg);
    else
        lua_pushstring(L, msg);
    return lua_error(L);
}

static void limits_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    if (memory_limit_kb && (size_t)lua_gc(L, LUA_GCCOUNT, 0) > memory_limit_kb) {
        lua_gc(L, LUA_GCCOLLECT, 0);
        if ((size_t)lua_gc(L, LUA_GCCOUNT, 0) > memory_limit_kb)
            raise_here(L, "Lua memory limit exceeded (lua_memory_limit)");
    }
    if (budget_left == 0) return; /* no limit, or outside a route call */
    if (--budget_left == 0) {
        budget_left = 1; /* keep failing if the script catches the error */
        raise_here(L,
                   "instruction limit exceeded (lua_instruction_limit): runaway script?");
    }
}

void foyer_lua_limits_begin(lua_State *L, unsigned instructions, unsigned memory_bytes)
{
    budget_left = instructions ? instructions / HOOK_EVERY + 1 : 0;
    memory_limit_kb = memory_bytes / 1024;
    (void)L;
}

void foyer_lua_limits_end(lua_State *L)
{
    budget_left = 0;
    if (memory_limit_kb && (size_t)lua_gc(L, LUA_GCCOUNT, 0) > memory_limit_kb)
        lua_gc(L, LUA_GCCOLLECT, 0);
}

/* string.rep is the one standard function that makes a huge string from a
 * small call, out of the hook's sight: cap it. */
static int capped_rep(lua_State *L)
{
    size_t len;
    luaL_checklstring(L, 1, &len);
    lua_Number n = luaL_checknumber(L, 2);
    size_t sep = 0;
    if (lua_gettop(L) >= 3) luaL_checklstring(L, 3, &sep);
    if (n > 0 && (double)(len + sep) * n > 16.0 * 1024 * 1024)
        return luaL_error(L, "string.rep: result over 16 MiB");
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static void cap_string_rep(lua_State *L)
{
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "rep");
    lua_pushcclosure(L, capped_rep, 1);
    lua_setfield(L, -2, "rep");
    lua_pop(L, 1);
}

lua_State *foyer_lua_state_new(const char *config_file)
{
    lua_State *L = luaL_newstate();
    if (L == NULL) return NULL;
    luaL_openlibs(L);
    foyer_router_open(L);
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    if (remove_unsafe(L) != 0) { /* no state rather than an open one */
        lua_close(L);
        return NULL;
    }
    cap_string_rep(L);
    default_path(L, config_file);
    lua_register(L, "service_health", foyer_lua_service_health);
    lua_sethook(L, limits_hook, LUA_MASKCOUNT, HOOK_EVERY);
    return L;
}
