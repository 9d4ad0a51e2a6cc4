#include "lua_state.h"
#include "log.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

#ifndef FOYER_LUADIR
#define FOYER_LUADIR "/usr/share/foyer/lua"
#endif

/* Functions a routing script must not reach: they end or block the worker. */
static void remove_unsafe(lua_State *L)
{
    static const char *const os_fns[] = {"exit", "execute", "remove", "rename", "tmpname"};
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

lua_State *foyer_lua_state_new(const char *config_file)
{
    lua_State *L = luaL_newstate();
    if (L == NULL) return NULL;
    luaL_openlibs(L);
    remove_unsafe(L);
    default_path(L, config_file);
    return L;
}
