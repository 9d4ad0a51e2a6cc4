/* The configuration DSL (lua/config_lua.c): the input is written to a file
 * and loaded as foyer -t would, foyer_config_parse then foyer_config_finish,
 * and freed. Plugins are not loaded (the names declared are dropped before
 * finish): dlopen of arbitrary names is not what is being tested.
 *
 * Time is bounded: foyer_config_parse turns the Lua instruction limit off for
 * the config itself (foyer_lua_limits_begin(L, 0, 0)); this program is linked
 * with --wrap=foyer_lua_limits_begin so that "no limit" becomes a small one,
 * and with --wrap=foyer_lua_state_new to take from the scripts what reaches
 * outside the process (io, dofile, loadfile, os.getenv...): a fuzzer must not
 * write files or block on stdin. */
#include "config.h"
#include "fuzz_util.h"
#include "log.h"

#include <lauxlib.h>
#include <lua.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUZZ_LUA_INSTRUCTIONS 2000000
#define FUZZ_LUA_MEMORY (64u << 20)

void __real_foyer_lua_limits_begin(lua_State *L, unsigned instructions,
                                   unsigned memory_bytes);
void __wrap_foyer_lua_limits_begin(lua_State *L, unsigned instructions,
                                   unsigned memory_bytes)
{
    if (instructions == 0) instructions = FUZZ_LUA_INSTRUCTIONS;
    if (memory_bytes == 0) memory_bytes = FUZZ_LUA_MEMORY;
    __real_foyer_lua_limits_begin(L, instructions, memory_bytes);
}

lua_State *__real_foyer_lua_state_new(const char *config_file);
lua_State *__wrap_foyer_lua_state_new(const char *config_file)
{
    lua_State *L = __real_foyer_lua_state_new(config_file);
    if (L == NULL) return NULL;
    static const char *const globals[] = {"io", "dofile", "loadfile", "print"};
    for (size_t i = 0; i < sizeof globals / sizeof *globals; i++) {
        lua_pushnil(L);
        lua_setglobal(L, globals[i]);
    }
    lua_getglobal(L, "os");
    static const char *const os_fns[] = {"getenv", "exit", "execute", "remove", "rename",
                                         "tmpname", "setlocale"};
    for (size_t i = 0; i < sizeof os_fns / sizeof *os_fns; i++) {
        lua_pushnil(L);
        lua_setfield(L, -2, os_fns[i]);
    }
    lua_pop(L, 1);
    /* package.loadlib and the C searchers would dlopen what a script names */
    lua_getglobal(L, "package");
    lua_pushnil(L);
    lua_setfield(L, -2, "loadlib");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);
    return L;
}

/* A directory of this process's own, there only while an input is loaded
 * (libFuzzer may end the process without running atexit handlers). */
static char dir[64], path[96];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    snprintf(dir, sizeof dir, "/tmp/foyer-fuzz-config-%d", (int)getpid());
    snprintf(path, sizeof path, "%s/foyer.lua", dir);
    foyer_log_level = -1; /* router warnings: not for the fuzzer's output */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) abort();
    FILE *f = fopen(path, "wb");
    if (f == NULL) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    char err[1024];
    err[0] = '\0';
    struct foyer_config *c = foyer_config_parse(path, err, sizeof err);
    unlink(path);
    rmdir(dir);
    if (c == NULL) {
        FUZZ_CHECK(err[0] != '\0');
        return 0;
    }
    if (c->npending) { /* declared plugins: not loaded here */
        free(c->pending);
        c->pending = NULL;
        c->npending = 0;
    }
    err[0] = '\0';
    if (foyer_config_finish(c, err, sizeof err) != 0) FUZZ_CHECK(err[0] != '\0');
    foyer_config_unref(c);
    return 0;
}
