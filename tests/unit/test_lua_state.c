/* lua/lua_state.c: a worker's LuaJIT state: the standard libraries without
 * what could end or block the process, and a module path that starts at the
 * config's directory. */
#include "lua_state.h"
#include "unit.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Evaluates a Lua expression; out receives tostring() of it. */
static void eval(lua_State *L, const char *expr, char *out, size_t outlen)
{
    char chunk[512];
    snprintf(chunk, sizeof chunk, "return tostring(%s)", expr);
    if (luaL_dostring(L, chunk) != 0) {
        snprintf(out, outlen, "error: %s", lua_tostring(L, -1));
    } else {
        snprintf(out, outlen, "%s", lua_tostring(L, -1));
    }
    lua_pop(L, 1);
}

static void check_eval(lua_State *L, const char *expr, const char *want)
{
    char got[1024];
    eval(L, expr, got, sizeof got);
    CHECKF(strcmp(got, want) == 0, "%s == \"%s\" (got \"%s\")", expr, want, got);
}

static void test_unsafe_functions_removed(void)
{
    lua_State *L = foyer_lua_state_new("/etc/foyer/foyer.lua");
    REQUIRE(L != NULL);
    static const char *const gone[] = {"os.exit",   "os.execute", "os.remove",
                                       "os.rename", "os.tmpname", "io.popen",
                                       "io.read",   "io.stdin",   "io.lines"};
    for (size_t i = 0; i < sizeof gone / sizeof *gone; i++)
        check_eval(L, gone[i], "nil");
    lua_close(L);
}

/* No C code, no hook removal, no JIT, no bytecode: the ways past the sandbox
 * and the instruction limit are closed. */
static void test_sandbox_escapes_closed(void)
{
    lua_State *L = foyer_lua_state_new("/etc/foyer/foyer.lua");
    REQUIRE(L != NULL);
    static const char *const gone[] = {"ffi",
                                       "debug",
                                       "jit",
                                       "package.loadlib",
                                       "package.loaded.ffi",
                                       "package.preload.ffi",
                                       "package.loaded.debug",
                                       "package.loaded.jit"};
    for (size_t i = 0; i < sizeof gone / sizeof *gone; i++)
        check_eval(L, gone[i], "nil");
    check_eval(L, "tostring(pcall(require, 'ffi'))", "false");
    check_eval(L, "package.cpath", "");
    check_eval(L, "#package.loaders", "2");
    /* bytecode is refused by every loader */
    check_eval(L, "select(2, load(string.dump(function() return 1 end)))",
               "attempt to load chunk with wrong mode");
    check_eval(L, "tostring(loadstring(string.dump(function() end)))", "nil");
    lua_close(L);
}

static void test_standard_libraries_present(void)
{
    lua_State *L = foyer_lua_state_new("/etc/foyer/foyer.lua");
    REQUIRE(L != NULL);
    check_eval(L, "string.format('%d-%s', 7, 'x')", "7-x");
    check_eval(L, "('/menu/x'):find('^/menu/') ~= nil", "true");
    check_eval(L, "table.concat({'a', 'b'}, ',')", "a,b");
    check_eval(L, "math.max(1, 5)", "5");
    check_eval(L, "type(os.time())", "number");
    check_eval(L, "type(require)", "function");
    check_eval(L, "type(load('return 1 + 1'))", "function");
    lua_close(L);
}

static void test_path_starts_at_config_dir(void)
{
    char want[512], got[1024];
    lua_State *L = foyer_lua_state_new("/srv/site/foyer.lua");
    REQUIRE(L != NULL);
    eval(L, "package.path", got, sizeof got);
    CHECKF(strncmp(got, "/srv/site/?.lua;", 16) == 0,
           "package.path starts with the config "
           "directory (got \"%s\")",
           got);
    snprintf(want, sizeof want, "%s/?.lua", FOYER_LUADIR);
    CHECKF(strstr(got, want) != NULL, "package.path has %s (got \"%s\")", want, got);
    lua_close(L);

    L = foyer_lua_state_new("foyer.lua"); /* relative: the current directory */
    REQUIRE(L != NULL);
    eval(L, "package.path", got, sizeof got);
    CHECKF(strncmp(got, "./?.lua;", 8) == 0, "package.path starts with ./ (got \"%s\")",
           got);
    lua_close(L);
}

static void test_apply_path(void)
{
    char before[1024], after[1024];
    lua_State *L = foyer_lua_state_new("/etc/foyer/foyer.lua");
    REQUIRE(L != NULL);
    eval(L, "package.path", before, sizeof before);
    foyer_lua_state_apply_path(L, NULL);
    foyer_lua_state_apply_path(L, "");
    eval(L, "package.path", after, sizeof after);
    CHECK_STR(after, before);
    foyer_lua_state_apply_path(L, "/opt/a/?.lua;/opt/b/?.lua");
    eval(L, "package.path", after, sizeof after);
    CHECKF(strncmp(after, "/opt/a/?.lua;/opt/b/?.lua;", 26) == 0 &&
               strcmp(after + 26, before) == 0,
           "path prepended (got \"%s\")", after);
    CHECK_INT(lua_gettop(L), 0);
    lua_close(L);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void remove_file(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

static void test_require_from_config_dir(void)
{
    char dir[] = "/tmp/foyer-unit-XXXXXX", config[600];
    REQUIRE(mkdtemp(dir) != NULL);
    write_file(dir, "pizzeria.lua", "return { name = 'vincent' }\n");
    snprintf(config, sizeof config, "%s/foyer.lua", dir);
    lua_State *L = foyer_lua_state_new(config);
    REQUIRE(L != NULL);
    check_eval(L, "require('pizzeria').name", "vincent");
    lua_close(L);
    remove_file(dir, "pizzeria.lua");
    rmdir(dir);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_unsafe_functions_removed),
    UNIT_TEST(test_sandbox_escapes_closed),
    UNIT_TEST(test_standard_libraries_present),
    UNIT_TEST(test_path_starts_at_config_dir),
    UNIT_TEST(test_apply_path),
    UNIT_TEST(test_require_from_config_dir),
};
UNIT_MAIN("lua_state", tests)
