/* r:match(req): a router decision as the Lua value a route function returns
 * (nil, a service name, or a decision table), with services named rather
 * than bound, so a router used from a route function needs no binding. */
#include "router_lua.h"

#include <lua.h>

static void set_str(lua_State *L, const char *key, struct foyer_str s)
{
    if (s.p == NULL) return;
    lua_pushlstring(L, s.p, s.len);
    lua_setfield(L, -2, key);
}

static void set_num(lua_State *L, const char *key, double v)
{
    if (v == 0) return;
    lua_pushnumber(L, v);
    lua_setfield(L, -2, key);
}

/* Appends one edit to the set/add/remove table on top of the stack; an add
 * repeating a name makes a list of values, as decision tables allow. */
static void push_edit(lua_State *L, const struct foyer_header_edit *e)
{
    static const char *const part[] = {"set", "add", "remove"};
    lua_getfield(L, -1, part[e->op]);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, part[e->op]);
    }
    int t = lua_gettop(L);
    lua_pushlstring(L, e->name.p, e->name.len);
    if (e->op == FOYER_HEADER_REMOVE) {
        lua_rawseti(L, t, (int)lua_objlen(L, t) + 1);
        lua_settop(L, t - 1);
        return;
    }
    lua_pushvalue(L, -1);
    lua_rawget(L, t); /* what the name has so far */
    if (e->op == FOYER_HEADER_ADD && lua_type(L, -1) == LUA_TSTRING) {
        lua_createtable(L, 2, 0);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 1);
    }
    if (e->op == FOYER_HEADER_ADD && lua_type(L, -1) == LUA_TTABLE) {
        lua_pushlstring(L, e->value.p, e->value.len);
        lua_rawseti(L, -2, (int)lua_objlen(L, -2) + 1);
    } else {
        lua_pop(L, 1);
        lua_pushlstring(L, e->value.p, e->value.len);
    }
    lua_rawset(L, t);
    lua_settop(L, t - 1);
}

/* { set = { name = value }, add = { name = value }, remove = { name, ... } } */
static void set_edits(lua_State *L, const char *key, struct foyer_header_edits e)
{
    if (e.n == 0) return;
    lua_createtable(L, 0, 3);
    for (unsigned i = 0; i < e.n; i++)
        push_edit(L, &e.v[i]);
    lua_setfield(L, -2, key);
}

static void set_redirect(lua_State *L, const struct foyer_redirect *r)
{
    if (r == NULL) return;
    lua_createtable(L, 0, 5);
    set_num(L, "status", r->status);
    set_str(L, "scheme", r->scheme);
    set_str(L, "host", r->host);
    set_num(L, "port", r->port);
    set_str(L, "path", r->path);
    lua_setfield(L, -2, "redirect");
}

static void set_respond(lua_State *L, const struct foyer_respond *r)
{
    if (r == NULL) return;
    lua_createtable(L, 0, 3);
    set_num(L, "status", r->status);
    set_str(L, "body", r->body);
    if (r->headers.n > 0) {
        lua_createtable(L, 0, (int)r->headers.n);
        for (unsigned i = 0; i < r->headers.n; i++) {
            lua_pushlstring(L, r->headers.v[i].name.p, r->headers.v[i].name.len);
            lua_pushlstring(L, r->headers.v[i].value.p, r->headers.v[i].value.len);
            lua_rawset(L, -3);
        }
        lua_setfield(L, -2, "headers");
    }
    lua_setfield(L, -2, "respond");
}

static int only_a_service(const struct foyer_route_decision *d,
                          const struct rt_pick *pick)
{
    return d->status == 0 && d->redirect == NULL && d->respond == NULL &&
           d->path.p == NULL && d->host.p == NULL && d->request_headers.n == 0 &&
           d->response_headers.n == 0 && d->timeout == 0 && d->tag == NULL &&
           pick->mirror == RT_NONE;
}

void rt_push_decision(lua_State *L, const struct foyer_router *rt,
                      const struct foyer_route_decision *d, const struct rt_pick *pick)
{
    const struct rt_ruleset *rs = rt->rs;
    const char *service = pick->use_default       ? rt->default_service
                          : pick->slot != RT_NONE ? rs->services[pick->slot]
                                                  : NULL;
    if (service == NULL && d->status == 404) {
        lua_pushnil(L);
        return;
    }
    if (service != NULL && only_a_service(d, pick)) {
        lua_pushstring(L, service);
        return;
    }
    lua_createtable(L, 0, 8);
    if (service != NULL) {
        lua_pushstring(L, service);
        lua_setfield(L, -2, "service");
    }
    set_num(L, "status", d->status);
    set_str(L, "path", d->path);
    set_str(L, "host", d->host);
    set_edits(L, "request_headers", d->request_headers);
    set_edits(L, "response_headers", d->response_headers);
    set_redirect(L, d->redirect);
    set_respond(L, d->respond);
    set_num(L, "timeout", d->timeout);
    if (d->tag != NULL) {
        lua_pushstring(L, d->tag);
        lua_setfield(L, -2, "tag");
    }
    if (pick->mirror != RT_NONE) {
        lua_pushstring(L, rs->services[pick->mirror]);
        lua_setfield(L, -2, "mirror");
    }
}
