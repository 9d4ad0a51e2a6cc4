/* service_health("name") for scripts: the endpoints of a service with the
 * state its load-balancing plugin reports (up, checked down, ejected, in
 * flight, latency), or just their addresses when no plugin balances it. */
#include "config.h"
#include "lua_state.h"
#include "plugin_api.h"
#include "plugin_hooks.h"

#include <foyer/plugin.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

static void set_number(lua_State *L, const char *k, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

static void set_bool(lua_State *L, const char *k, int v)
{
    lua_pushboolean(L, v);
    lua_setfield(L, -2, k);
}

static void push_endpoint(lua_State *L, const struct foyer_endpoint *e,
                          const struct foyer_endpoint_state *st, int known)
{
    lua_createtable(L, 0, 9);
    lua_pushstring(L, e->name);
    lua_setfield(L, -2, "address");
    set_number(L, "weight", e->weight);
    set_bool(L, "backup", e->backup);
    set_bool(L, "up", known ? st->up : 1);
    if (!known) return;
    set_bool(L, "check_down", st->check_down);
    set_bool(L, "ejected", st->ejected);
    set_number(L, "ejected_for", st->ejected_for);
    set_number(L, "in_flight", st->in_flight);
    set_number(L, "latency", st->latency);
}

int foyer_lua_service_health(lua_State *L)
{
    size_t len;
    const char *name = luaL_checklstring(L, 1, &len);
    struct foyer_config *c = foyer_plugin_current_config();
    struct foyer_service *s = c ? foyer_config_service(c, name, len) : NULL;
    if (s == NULL) return luaL_error(L, "service_health: unknown service '%s'", name);
    struct foyer_endpoint_state *st = calloc(s->nendpoints, sizeof *st);
    if (st == NULL) return luaL_error(L, "out of memory");
    for (unsigned i = 0; i < s->nendpoints; i++) {
        st[i].size = sizeof *st;
        st[i].index = i;
        st[i].up = 1;
    }
    int known = foyer_hooks_service_health(c, name, st, s->nendpoints);
    lua_createtable(L, (int)s->nendpoints, 0);
    for (unsigned i = 0; i < s->nendpoints; i++) {
        push_endpoint(L, &s->endpoints[i], &st[i], known);
        lua_rawseti(L, -2, (int)i + 1);
    }
    free(st);
    return 1;
}
