/* The config file is a Lua chunk with four declarations: set, listen, service
 * and route. Each is a C function that records into the generation being
 * built and raises "file:line: message" on bad input. */
#include "config.h"
#include "config_etcd.h"
#include "log_format.h"
#include "lua_state.h"
#include "router.h"
#include "plugin_api.h"
#include "plugin_hooks.h"
#include "plugin_loader.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct foyer_config *building(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

enum setting_type { S_INT, S_SECONDS, S_BYTES, S_PATH_OR_FALSE, S_STRING };

struct setting {
    const char *key;
    enum setting_type type;
    size_t offset;
    double min, max;
};

#define OFF(f) offsetof(struct foyer_settings, f)
static const struct setting settings_table[] = {
    {"workers", S_INT, OFF(workers), 0, 1024},
    {"client_header_timeout", S_SECONDS, OFF(client_header_timeout), 0.001, 86400},
    {"client_body_timeout", S_SECONDS, OFF(client_body_timeout), 0.001, 86400},
    {"keepalive_timeout", S_SECONDS, OFF(keepalive_timeout), 0, 86400},
    {"upstream_connect_timeout", S_SECONDS, OFF(upstream_connect_timeout), 0.001, 86400},
    {"upstream_read_timeout", S_SECONDS, OFF(upstream_read_timeout), 0.001, 86400},
    {"upstream_send_timeout", S_SECONDS, OFF(upstream_send_timeout), 0.001, 86400},
    {"client_send_timeout", S_SECONDS, OFF(client_send_timeout), 0.001, 86400},
    {"tunnel_idle_timeout", S_SECONDS, OFF(tunnel_idle_timeout), 0.001, 604800},
    {"grace_period", S_SECONDS, OFF(grace_period), 0, 86400},
    {"max_header_bytes", S_INT, OFF(max_header_bytes), 1024, 65536},
    {"max_headers", S_INT, OFF(max_headers), 1, 1000},
    {"max_body_bytes", S_BYTES, OFF(max_body_bytes), 0, 1e18},
    {"max_connections", S_INT, OFF(max_connections), 1, 1000000},
    {"keepalive_requests", S_INT, OFF(keepalive_requests), 1, 1e9},
    {"upstream_keepalive", S_INT, OFF(upstream_keepalive), 0, 100000},
    {"access_log", S_PATH_OR_FALSE, OFF(access_log), 0, 0},
    {"access_log_format", S_STRING, OFF(access_log_format), 0, 0},
    {"request_id", S_PATH_OR_FALSE, OFF(request_id), 0, 0},
    {"admin", S_PATH_OR_FALSE, OFF(admin), 0, 0},
    {"error_log", S_PATH_OR_FALSE, OFF(error_log), 0, 0},
    {"lua_path", S_STRING, OFF(lua_path), 0, 0},
    {"log_level", S_STRING, OFF(log_level), 0, 0},
    {"pid_file", S_STRING, OFF(pid_file), 0, 0},
    {"plugin_path", S_STRING, OFF(plugin_path), 0, 0},
    {"lua_instruction_limit", S_INT, OFF(lua_instruction_limit), 0, 4e9},
    {"lua_memory_limit", S_INT, OFF(lua_memory_limit), 0, 4e9},
};
#undef OFF

static const struct setting *find_setting(const char *key)
{
    for (size_t i = 0; i < sizeof settings_table / sizeof *settings_table; i++)
        if (strcmp(settings_table[i].key, key) == 0) return &settings_table[i];
    return NULL;
}

static void apply_number(lua_State *L, const struct setting *st, char *field)
{
    if (lua_type(L, -1) != LUA_TNUMBER)
        luaL_error(L, "set: '%s' must be a number", st->key);
    double v = lua_tonumber(L, -1);
    if (!(v >= st->min && v <= st->max))
        luaL_error(L, "set: '%s' = %g is out of range [%g, %g]", st->key, v, st->min,
                   st->max);
    if (st->type != S_SECONDS && v != floor(v))
        luaL_error(L, "set: '%s' must be a whole number", st->key);
    if (st->type == S_SECONDS)
        *(double *)field = v;
    else if (st->type == S_BYTES)
        *(uint64_t *)field = (uint64_t)v;
    else if (strcmp(st->key, "workers") == 0)
        *(int *)field = (int)v;
    else
        *(unsigned *)field = (unsigned)v;
}

/* Values that must make sense, refused with the `set` line. */
static void check_string_setting(lua_State *L, const char *key, const char *v)
{
    char err[512];
    if (strcmp(key, "access_log_format") == 0) {
        struct foyer_log_format *f = foyer_log_format_compile(v, err, sizeof err);
        if (f == NULL) luaL_error(L, "set: %s", err);
        foyer_log_format_free(f);
    } else if (strcmp(key, "request_id") == 0) {
        for (const char *p = v; *p || p == v; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
                luaL_error(L, "set: request_id must be a header name, or false");
    } else if (strcmp(key, "admin") == 0) {
        union foyer_sockaddr a;
        socklen_t len;
        const char *why;
        if (foyer_addr_parse(v, &a, &len, &why) != 0)
            luaL_error(L, "set: admin \"%s\": %s", v, why);
    }
}

static void apply_string(lua_State *L, const struct setting *st, char *field)
{
    char **slot = (char **)field;
    int t = lua_type(L, -1);
    if (st->type == S_PATH_OR_FALSE && t == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
        free(*slot);
        *slot = NULL;
        return;
    }
    if (t != LUA_TSTRING)
        luaL_error(L, "set: '%s' must be a string%s", st->key,
                   st->type == S_PATH_OR_FALSE ? " or false" : "");
    if (strcmp(st->key, "log_level") == 0) {
        const char *v = lua_tostring(L, -1);
        if (strcmp(v, "error") && strcmp(v, "warn") && strcmp(v, "info") &&
            strcmp(v, "debug"))
            luaL_error(L, "set: log_level must be error, warn, info or debug");
    }
    check_string_setting(L, st->key, lua_tostring(L, -1));
    free(*slot);
    *slot = strdup(lua_tostring(L, -1));
    if (*slot == NULL) luaL_error(L, "out of memory");
    if (strcmp(st->key, "lua_path") == 0) foyer_lua_state_apply_path(L, *slot);
}

static int l_set(lua_State *L)
{
    struct foyer_config *c = building(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING)
            return luaL_error(L, "set: keys must be names");
        const char *key = lua_tostring(L, -2);
        if (strcmp(key, "config_source") == 0) {
            foyer_config_source_set(L, &c->settings);
            lua_pop(L, 1);
            continue;
        }
        const struct setting *st = find_setting(key);
        if (st == NULL) return luaL_error(L, "set: unknown setting '%s'", key);
        char *field = (char *)&c->settings + st->offset;
        if (st->type == S_PATH_OR_FALSE || st->type == S_STRING)
            apply_string(L, st, field);
        else
            apply_number(L, st, field);
        if (strcmp(key, "request_id") == 0) /* false turns it off; a name back on */
            c->settings.request_id_off = c->settings.request_id == NULL;
        lua_pop(L, 1);
    }
    return 0;
}

/* listen "addr:port", or listen { "addr:port", key = ... } where the keys
 * belong to a plugin (tls = { ... }), checked once plugins are loaded. */
static int l_listen(lua_State *L)
{
    struct foyer_config *c = building(L);
    int is_table = lua_type(L, 1) == LUA_TTABLE;
    if (is_table)
        lua_rawgeti(L, 1, 1);
    else
        lua_pushvalue(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(
            L, "listen: expects \"address:port\" or { \"address:port\", ... }");
    const char *text = lua_tostring(L, -1);
    struct foyer_listen ls;
    const char *err;
    memset(&ls, 0, sizeof ls);
    ls.plugin = -1;
    if (foyer_addr_parse(text, &ls.addr, &ls.addrlen, &err) != 0)
        return luaL_error(L, "listen \"%s\": %s", text, err);
    for (unsigned i = 0; i < c->nlistens; i++)
        if (c->listens[i].addrlen == ls.addrlen &&
            memcmp(&c->listens[i].addr, &ls.addr, ls.addrlen) == 0)
            return luaL_error(L, "listen \"%s\": declared twice", text);
    foyer_addr_format(&ls.addr, ls.text, sizeof ls.text);
    struct foyer_listen *n = realloc(c->listens, (c->nlistens + 1) * sizeof *n);
    if (n == NULL) return luaL_error(L, "out of memory");
    c->listens = n;
    luaL_where(L, 1);
    ls.where = strdup(lua_tostring(L, -1));
    if (ls.where == NULL) return luaL_error(L, "out of memory");
    if (is_table) {
        lua_pushvalue(L, 1);
        ls.conf_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    c->listens[c->nlistens++] = ls;
    return 0;
}

/* "address:port", "http://address:port" or "https://address[:port]" (TLS
 * through a plugin, port 443 by default). */
static void parse_endpoint_url(lua_State *L, struct foyer_service *s,
                               struct foyer_endpoint *e, const char *text)
{
    const char *err, *addr = text;
    char withport[80];
    if (strncmp(text, "https://", 8) == 0) {
        e->tls = 1;
        addr = text + 8;
    } else if (strncmp(text, "http://", 7) == 0) {
        addr = text + 7;
    } else if (strstr(text, "://") != NULL) {
        luaL_error(L, "service \"%s\": endpoint \"%s\": the scheme must be http or https",
                   s->name, text);
    }
    size_t len = strlen(addr);
    if (len > 0 && addr[len - 1] == '/') len--; /* "https://10.0.0.5:443/" */
    int has_port =
        len > 0 && (addr[0] == '[' ? memchr(addr, ']', len) != NULL &&
                                         ((const char *)memchr(addr, ']', len))[1] == ':'
                                   : memchr(addr, ':', len) != NULL);
    if (len + 8 > sizeof withport)
        luaL_error(L, "service \"%s\": endpoint \"%s\": too long", s->name, text);
    snprintf(withport, sizeof withport, "%.*s%s", (int)len, addr,
             has_port ? ""
             : e->tls ? ":443"
                      : ":80");
    if (addr == text) snprintf(withport, sizeof withport, "%s", text); /* port required */
    if (foyer_addr_parse(withport, &e->addr, &e->addrlen, &err) != 0)
        luaL_error(L, "service \"%s\": endpoint \"%s\": %s", s->name, text, err);
    foyer_addr_format(&e->addr, e->name, sizeof e->name);
}

/* An endpoint entry: "address:port" or { address = , weight = , backup = }. */
static void parse_endpoint(lua_State *L, struct foyer_service *s,
                           struct foyer_endpoint *e, int i)
{
    const char *text;
    e->weight = 1;
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_getfield(L, -1, "weight");
        if (!lua_isnil(L, -1) && (!lua_isnumber(L, -1) || lua_tonumber(L, -1) < 0 ||
                                  lua_tonumber(L, -1) > 1e6))
            luaL_error(L, "service \"%s\": endpoint %d: weight must be 0-1000000",
                       s->name, i);
        if (!lua_isnil(L, -1)) e->weight = (unsigned)lua_tonumber(L, -1);
        lua_getfield(L, -2, "backup");
        e->backup = lua_toboolean(L, -1);
        lua_getfield(L, -3, "address");
        text = lua_tostring(L, -1);
        lua_pop(L, 3);
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
            const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
            if (strcmp(k, "address") && strcmp(k, "weight") && strcmp(k, "backup"))
                luaL_error(L, "service \"%s\": endpoint %d: unknown key '%s'", s->name, i,
                           k);
            lua_pop(L, 1);
        }
    } else {
        text = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    }
    if (text == NULL)
        luaL_error(L,
                   "service \"%s\": endpoint %d must be \"address:port\" or a table with "
                   "address",
                   s->name, i);
    parse_endpoint_url(L, s, e, text);
}

static void parse_endpoints(lua_State *L, struct foyer_service *s)
{
    if (lua_type(L, -1) != LUA_TTABLE)
        luaL_error(L, "service \"%s\": endpoints must be a list of \"address:port\"",
                   s->name);
    size_t n = lua_objlen(L, -1);
    if (n == 0) luaL_error(L, "service \"%s\": endpoints is empty", s->name);
    s->endpoints = calloc(n, sizeof *s->endpoints);
    if (s->endpoints == NULL) luaL_error(L, "out of memory");
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, (int)i);
        parse_endpoint(L, s, &s->endpoints[s->nendpoints], (int)i);
        s->nendpoints++;
        lua_pop(L, 1);
    }
}

void foyer_config_service_body(lua_State *L, struct foyer_service *s)
{
    lua_getfield(L, -1, "endpoints");
    parse_endpoints(L, s);
    lua_pop(L, 1);
}

/* service "name" { endpoints = {...}, ... }: the call with the name declares
 * the service (remembering where, for errors) and returns this closure, which
 * takes the body table. Keys other than endpoints belong to plugins (checked
 * once all plugins are known); the table is kept for them. */
static int l_service_body(lua_State *L)
{
    struct foyer_config *c = building(L);
    const char *name = lua_tostring(L, lua_upvalueindex(2));
    luaL_checktype(L, 1, LUA_TTABLE);
    struct foyer_service *s = NULL;
    for (unsigned i = 0; i < c->nservices && s == NULL; i++)
        if (strcmp(c->services[i].name, name) == 0) s = &c->services[i];
    if (s == NULL || s->nendpoints != 0)
        return luaL_error(L, "service \"%s\": body given twice", name);
    lua_settop(L, 1);
    foyer_config_service_body(L, s);
    s->conf_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

static int l_service(lua_State *L)
{
    struct foyer_config *c = building(L);
    size_t len;
    const char *name = luaL_checklstring(L, 1, &len);
    if (len == 0 || len > 255) return luaL_error(L, "service: name must be 1-255 bytes");
    for (unsigned i = 0; i < c->nservices; i++)
        if (strcmp(c->services[i].name, name) == 0)
            return luaL_error(L, "service \"%s\": declared twice", name);
    struct foyer_service *ns = realloc(c->services, (c->nservices + 1) * sizeof *ns);
    if (ns == NULL) return luaL_error(L, "out of memory");
    c->services = ns;
    struct foyer_service *s = &c->services[c->nservices];
    memset(s, 0, sizeof *s);
    luaL_where(L, 1);
    s->name = strdup(name);
    s->where = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    c->nservices++; /* owned by the config from here on, even if parsing fails */
    if (s->name == NULL || s->where == NULL) return luaL_error(L, "out of memory");
    lua_pushlightuserdata(L, c);
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, l_service_body, 2);
    return 1;
}

/* plugin "name" { settings... }: remembered in order, and loaded (name.so or
 * `path`, then its init with the table) once the whole file is read, so that
 * settings such as plugin_path may come anywhere. A refusal is reported at
 * this line. */
struct foyer_pending_plugin {
    char name[64];
    char where[256];
    int conf_ref;
};

static int l_plugin_body(lua_State *L)
{
    struct foyer_config *c = building(L);
    const char *name = lua_tostring(L, lua_upvalueindex(2));
    luaL_checktype(L, 1, LUA_TTABLE);
    struct foyer_pending_plugin *n = realloc(c->pending, (c->npending + 1) * sizeof *n);
    if (n == NULL) return luaL_error(L, "out of memory");
    c->pending = n;
    struct foyer_pending_plugin *p = &c->pending[c->npending++];
    snprintf(p->name, sizeof p->name, "%s", name);
    luaL_where(L, 1);
    snprintf(p->where, sizeof p->where, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    lua_pushvalue(L, 1);
    p->conf_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

static int load_pending_plugins(struct foyer_config *c, char *err, size_t errlen)
{
    lua_State *L = c->L;
    struct foyer_pending_plugin *pending = c->pending;
    char why[1024];
    int rc = 0;
    for (unsigned i = 0; i < c->npending && rc == 0; i++) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, pending[i].conf_ref);
        foyer_plugin_set_loading(c);
        rc = foyer_plugin_load(c, L, pending[i].name, lua_gettop(L), pending[i].where,
                               why, sizeof why);
        foyer_plugin_set_loading(NULL);
        lua_settop(L, 0);
        if (rc != 0) snprintf(err, errlen, "%s%s", pending[i].where, why);
    }
    for (unsigned i = 0; i < c->npending; i++)
        luaL_unref(L, LUA_REGISTRYINDEX, pending[i].conf_ref);
    free(c->pending);
    c->pending = NULL;
    c->npending = 0;
    return rc;
}

static int l_plugin(lua_State *L)
{
    struct foyer_config *c = building(L);
    const char *name = luaL_checkstring(L, 1);
    if (strlen(name) >= sizeof c->pending->name)
        return luaL_error(L, "plugin: name too long");
    for (unsigned i = 0; i < c->npending; i++)
        if (strcmp(c->pending[i].name, name) == 0)
            return luaL_error(L, "plugin \"%s\": declared twice", name);
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-'))
            return luaL_error(L, "plugin \"%s\": names use a-z, 0-9, _ and -", name);
    if (*name == '\0') return luaL_error(L, "plugin: empty name");
    lua_pushlightuserdata(L, c);
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, l_plugin_body, 2);
    return 1;
}

static int l_route(lua_State *L)
{
    struct foyer_config *c = building(L);
    if (!lua_isfunction(L, 1) && !luaL_getmetafield(L, 1, "__call"))
        return luaL_error(L, "route: expects a function (or a callable router)");
    if (c->route_ref != LUA_NOREF) return luaL_error(L, "route: declared twice");
    lua_settop(L, 1);
    c->router = foyer_router_check(L, 1); /* NULL for a function */
    c->route_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

static void register_dsl(lua_State *L, struct foyer_config *c)
{
    static const luaL_Reg fns[] = {{"set", l_set},
                                   {"listen", l_listen},
                                   {"service", l_service},
                                   {"route", l_route},
                                   {"plugin", l_plugin}};
    for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
        lua_pushlightuserdata(L, c);
        lua_pushcclosure(L, fns[i].func, 1);
        lua_setglobal(L, fns[i].name);
    }
    /* Kept where the file cannot shadow it: etcd's services are declared
     * through the same function (config_etcd.c). */
    lua_getglobal(L, "service");
    lua_setfield(L, LUA_REGISTRYINDEX, "foyer.dsl.service");
}

/* A key of a service block must be `endpoints` or claimed by a loaded plugin. */
static int key_claimed(struct foyer_config *c, const char *key)
{
    if (strcmp(key, "endpoints") == 0) return 1;
    for (unsigned i = 0; i < c->nplugins; i++) {
        const char *const *keys = FOYER_PLUGIN_HOOK(c->plugins[i].desc, service_keys);
        for (; keys != NULL && *keys != NULL; keys++)
            if (strcmp(*keys, key) == 0) return 1;
    }
    return 0;
}

static int check_service_keys(struct foyer_config *c, char *err, size_t errlen)
{
    lua_State *L = c->L;
    for (unsigned i = 0; i < c->nservices; i++) {
        struct foyer_service *s = &c->services[i];
        lua_rawgeti(L, LUA_REGISTRYINDEX, s->conf_ref);
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
            const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
            if (!key_claimed(c, k)) {
                snprintf(err, errlen, "%sservice \"%s\": unknown key '%s'%s", s->where,
                         s->name, k, c->nplugins ? " (no loaded plugin handles it)" : "");
                lua_settop(L, 0);
                return -1;
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    return 0;
}

/* The plugin claiming `key` in a listen table, or -1. */
static int listen_key_owner(struct foyer_config *c, const char *key)
{
    for (unsigned i = 0; i < c->nplugins; i++) {
        const char *const *keys = FOYER_PLUGIN_HOOK(c->plugins[i].desc, listen_keys);
        for (; keys != NULL && *keys != NULL; keys++)
            if (strcmp(*keys, key) == 0) return (int)i;
    }
    return -1;
}

/* listen { "addr", tls = {...} }: each key needs its plugin; one plugin per
 * listener gives its connections their transport. */
static int check_listen_keys(struct foyer_config *c, char *err, size_t errlen)
{
    lua_State *L = c->L;
    for (unsigned i = 0; i < c->nlistens; i++) {
        struct foyer_listen *ls = &c->listens[i];
        if (ls->conf_ref <= 0) continue;
        lua_rawgeti(L, LUA_REGISTRYINDEX, ls->conf_ref);
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
            lua_pop(L, 1);
            if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) == 1) continue;
            const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
            int owner = listen_key_owner(c, k);
            if (owner < 0 || (ls->plugin >= 0 && ls->plugin != owner)) {
                snprintf(
                    err, errlen, "%slisten \"%s\": '%s' %s", ls->where, ls->text, k,
                    owner < 0
                        ? "needs a plugin that handles it (is plugin \"tls\" { } loaded?)"
                        : "belongs to another plugin than the other keys");
                lua_settop(L, 0);
                return -1;
            }
            ls->plugin = owner;
        }
        lua_pop(L, 1);
    }
    return 0;
}

/* Every plugin sees the finished configuration and may still refuse it. */
static int plugins_ready(struct foyer_config *c, char *err, size_t errlen)
{
    for (unsigned i = 0; i < c->nplugins; i++) {
        struct foyer_plugin_slot *p = &c->plugins[i];
        int (*ready)(void *, char *, size_t) = FOYER_PLUGIN_HOOK(p->desc, config_ready);
        if (ready == NULL) continue;
        char why[512] = "";
        int mark = foyer_conf_begin(c->L);
        foyer_plugin_set_loading(c);
        int rc = ready(p->state, why, sizeof why);
        foyer_plugin_set_loading(NULL);
        foyer_conf_end(c->L, mark);
        if (rc != 0) {
            snprintf(err, errlen, "%splugin \"%s\": %s", p->where, p->name,
                     why[0] ? why : "refused the configuration");
            return -1;
        }
    }
    return 0;
}

/* What the file itself must say: no plugin is involved, so this part may
 * run on a loader thread. */
static int check_parsed(struct foyer_config *c, char *err, size_t errlen)
{
    for (unsigned i = 0; i < c->nservices; i++) {
        struct foyer_service *s = &c->services[i];
        if (s->nendpoints > 0) continue;
        snprintf(
            err, errlen,
            "%sservice \"%s\" has no body: write service \"%s\" { endpoints = { ... } }",
            s->where, s->name, s->name);
        return -1;
    }
    const char *fmt =
        c->settings.access_log_format ? c->settings.access_log_format : "foyer";
    if ((c->log_format = foyer_log_format_compile(fmt, err, errlen)) == NULL) return -1;
    if (foyer_config_index_services(c) != 0) {
        snprintf(err, errlen, "%s: out of memory", c->file);
        return -1;
    }
    if (c->router != NULL && foyer_router_bind(c->router, c, err, errlen) != 0) return -1;
    return 0;
}

/* https:// endpoints need a plugin making TLS connections to upstreams (the
 * first loaded one with on_upstream_connection). */
static int bind_upstream_tls(struct foyer_config *c, char *err, size_t errlen)
{
    int owner = -1;
    for (unsigned i = 0; i < c->nplugins && owner < 0; i++)
        if (FOYER_PLUGIN_HOOK(c->plugins[i].desc, on_upstream_connection) != NULL)
            owner = (int)i;
    for (unsigned i = 0; i < c->nservices; i++) {
        struct foyer_service *s = &c->services[i];
        s->tls_plugin = -1;
        for (unsigned j = 0; j < s->nendpoints; j++) {
            if (!s->endpoints[j].tls) continue;
            if (owner < 0) {
                snprintf(
                    err, errlen,
                    "%sservice \"%s\": endpoint https://%s needs a plugin making TLS "
                    "connections (is plugin \"tls\" { } loaded?)",
                    s->where, s->name, s->endpoints[j].name);
                return -1;
            }
            s->tls_plugin = owner;
        }
    }
    return 0;
}

int foyer_config_finish(struct foyer_config *c, char *err, size_t errlen)
{
    if (load_pending_plugins(c, err, errlen) != 0) return -1;
    if (check_service_keys(c, err, errlen) != 0) return -1; /* errors with a line first */
    if (check_listen_keys(c, err, errlen) != 0) return -1;
    if (bind_upstream_tls(c, err, errlen) != 0) return -1;
    if (c->nlistens == 0) {
        snprintf(err, errlen, "%s: no listen declared", c->file);
        return -1;
    }
    if (c->route_ref == LUA_NOREF) {
        snprintf(err, errlen, "%s: no route declared", c->file);
        return -1;
    }
    return plugins_ready(c, err, errlen);
}

/* snapshot: the etcd snapshot's text, NULL to read the snapshot file. */
static struct foyer_config *parse_with(const char *file, const char *snapshot,
                                       size_t snapshot_len, char *err, size_t errlen)
{
    struct foyer_config *c = foyer_config_new(file);
    if (c == NULL) {
        snprintf(err, errlen, "%s: out of memory", file);
        return NULL;
    }
    c->L = foyer_lua_state_new(file);
    if (c->L == NULL) {
        snprintf(err, errlen, "%s: cannot create a Lua state", file);
        foyer_config_unref(c);
        return NULL;
    }
    lua_State *L = c->L;
    register_dsl(L, c);
    foyer_lua_limits_begin(L, 0, 0); /* the config itself may be large */
    foyer_plugin_set_loading(c);
    int failed = luaL_loadfile(L, file) != 0 || lua_pcall(L, 0, 0, 0) != 0;
    foyer_plugin_set_loading(NULL);
    if (failed) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1));
        foyer_config_unref(c);
        return NULL;
    }
    if (c->settings.etcd != NULL &&
        foyer_config_etcd_merge(c, snapshot, snapshot_len, err, errlen) != 0) {
        foyer_config_unref(c);
        return NULL;
    }
    if (check_parsed(c, err, errlen) != 0) {
        foyer_config_unref(c);
        return NULL;
    }
    lua_gc(L, LUA_GCCOLLECT, 0); /* what evaluating the file left behind */
    return c;
}

struct foyer_config *foyer_config_parse(const char *file, char *err, size_t errlen)
{
    return parse_with(file, NULL, 0, err, errlen);
}

struct foyer_config *foyer_config_load_candidate(const char *file, const char *snapshot,
                                                 size_t len, char *err, size_t errlen)
{
    struct foyer_config *c = parse_with(file, snapshot, len, err, errlen);
    if (c != NULL && foyer_config_finish(c, err, errlen) != 0) {
        foyer_config_unref(c);
        return NULL;
    }
    return c;
}

struct foyer_config *foyer_config_load(const char *file, char *err, size_t errlen)
{
    struct foyer_config *c = foyer_config_parse(file, err, errlen);
    if (c != NULL && foyer_config_finish(c, err, errlen) != 0) {
        foyer_config_unref(c);
        return NULL;
    }
    return c;
}
