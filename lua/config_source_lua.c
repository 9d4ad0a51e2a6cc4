/* set { config_source = { etcd = { endpoints = {...}, prefix = "/foyer/",
 * snapshot = "...", dial_timeout = 2, retry_max = 30, keepalive = 10 } } }: parsed and
 * checked here, so that a typo is a `file:line` error at `foyer -t`. */
#include "addr.h"
#include "config.h"
#include "config_etcd.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PREFIX "/foyer/"
#define DEFAULT_SNAPSHOT "/var/lib/foyer/etcd-snapshot.json"

/* "http://host:port" or "host:port": the address part, checked. */
static void check_endpoint(lua_State *L, const char *text)
{
    union foyer_sockaddr a;
    socklen_t len;
    const char *why;
    const char *addr = strncmp(text, "http://", 7) == 0 ? text + 7 : text;
    if (strstr(addr, "://") != NULL)
        luaL_error(L,
                   "set: config_source.etcd endpoint \"%s\": only http:// is supported",
                   text);
    if (foyer_addr_parse(addr, &a, &len, &why) != 0)
        luaL_error(L, "set: config_source.etcd endpoint \"%s\": %s", text, why);
}

static void parse_endpoints(lua_State *L, struct foyer_etcd_settings *e)
{
    if (lua_type(L, -1) != LUA_TTABLE || lua_objlen(L, -1) == 0)
        luaL_error(L, "set: config_source.etcd.endpoints must be a non-empty list of "
                      "\"host:port\"");
    size_t n = lua_objlen(L, -1);
    e->endpoints = calloc(n, sizeof *e->endpoints);
    if (e->endpoints == NULL) luaL_error(L, "out of memory");
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, (int)i);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "set: config_source.etcd.endpoints[%d] must be a string",
                       (int)i);
        const char *text = lua_tostring(L, -1);
        check_endpoint(L, text);
        const char *addr = strncmp(text, "http://", 7) == 0 ? text + 7 : text;
        if ((e->endpoints[e->nendpoints] = strdup(addr)) == NULL)
            luaL_error(L, "out of memory");
        e->nendpoints++;
        lua_pop(L, 1);
    }
}

static void parse_string(lua_State *L, const char *key, char **slot)
{
    if (lua_type(L, -1) != LUA_TSTRING || lua_objlen(L, -1) == 0)
        luaL_error(L, "set: config_source.etcd.%s must be a non-empty string", key);
    free(*slot);
    if ((*slot = strdup(lua_tostring(L, -1))) == NULL) luaL_error(L, "out of memory");
}

static double parse_seconds(lua_State *L, const char *key, double min, double max)
{
    double v = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || !(v >= min && v <= max))
        luaL_error(L,
                   "set: config_source.etcd.%s must be a number of seconds in [%g, %g]",
                   key, min, max);
    return v;
}

/* One key of the etcd table (key and value on the stack top). */
static void parse_etcd_key(lua_State *L, struct foyer_etcd_settings *e)
{
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
    if (strcmp(k, "endpoints") == 0)
        parse_endpoints(L, e);
    else if (strcmp(k, "prefix") == 0)
        parse_string(L, k, &e->prefix);
    else if (strcmp(k, "snapshot") == 0)
        parse_string(L, k, &e->snapshot);
    else if (strcmp(k, "dial_timeout") == 0)
        e->dial_timeout = parse_seconds(L, k, 0.01, 600);
    else if (strcmp(k, "retry_max") == 0)
        e->retry_max = parse_seconds(L, k, 0.1, 3600);
    else if (strcmp(k, "keepalive") == 0)
        e->keepalive = lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)
                           ? 0
                           : parse_seconds(L, k, 0.05, 3600);
    else
        luaL_error(L, "set: config_source.etcd: unknown key '%s'", k);
}

static void parse_etcd(lua_State *L, struct foyer_etcd_settings *e)
{
    if (lua_type(L, -1) != LUA_TTABLE)
        luaL_error(L, "set: config_source.etcd must be a table");
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        parse_etcd_key(L, e);
        lua_pop(L, 1);
    }
    if (e->nendpoints == 0)
        luaL_error(L, "set: config_source.etcd.endpoints is required");
    if (e->prefix == NULL && (e->prefix = strdup(DEFAULT_PREFIX)) == NULL)
        luaL_error(L, "out of memory");
    if (e->snapshot == NULL && (e->snapshot = strdup(DEFAULT_SNAPSHOT)) == NULL)
        luaL_error(L, "out of memory");
}

void foyer_config_source_set(lua_State *L, struct foyer_settings *s)
{
    if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
        foyer_etcd_settings_free(s->etcd);
        s->etcd = NULL;
        return;
    }
    if (lua_type(L, -1) != LUA_TTABLE)
        luaL_error(L, "set: config_source must be a table ({ etcd = { ... } }) or false");
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
        if (strcmp(k, "etcd") != 0)
            luaL_error(L, "set: config_source: unknown source '%s' (etcd is the one)", k);
        /* Owned by the settings before parsing, so that an error frees it. */
        foyer_etcd_settings_free(s->etcd);
        s->etcd = calloc(1, sizeof *s->etcd);
        if (s->etcd == NULL) luaL_error(L, "out of memory");
        s->etcd->dial_timeout = 2;
        s->etcd->retry_max = 30;
        s->etcd->keepalive = 10;
        parse_etcd(L, s->etcd);
        lua_pop(L, 1);
    }
}
