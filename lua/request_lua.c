/* The `req` object routing scripts see. One userdata per Lua state is reused
 * for every request, and each field is made only when the script reads it, so
 * an accessor the script never touches costs nothing. */
#include "metrics.h"
#include "config.h"
#include "decision_lua.h"
#include "log.h"
#include "lua_state.h"
#include "router.h"
#include "request.h"
#include "transport.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>

#define REQ_MT "foyer.request"
#define REQ_BOX "foyer.request.box"

struct req_box {
    struct foyer_request *r;
};

static struct foyer_request *check_req(lua_State *L)
{
    struct req_box *b = luaL_checkudata(L, 1, REQ_MT);
    if (b->r == NULL) luaL_error(L, "req is only valid while its route function runs");
    return b->r;
}

static void push_str(lua_State *L, struct foyer_str s)
{
    if (s.p == NULL)
        lua_pushnil(L);
    else
        lua_pushlstring(L, s.p, s.len);
}

/* req:headers(): a new table, lower-cased name -> value (repeats joined with ", "). */
static int req_headers(lua_State *L)
{
    struct foyer_request *r = check_req(L);
    struct foyer_http_head *h = &r->head;
    lua_createtable(L, 0, (int)h->nheaders);
    for (unsigned i = 0; i < h->nheaders; i++) {
        char name[256];
        size_t n =
            h->headers[i].name.len < sizeof name ? h->headers[i].name.len : sizeof name;
        for (size_t j = 0; j < n; j++) {
            char ch = h->headers[i].name.p[j];
            name[j] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
        }
        lua_pushlstring(L, name, n);
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushlstring(L, h->headers[i].value.p, h->headers[i].value.len);
        } else {
            lua_pushliteral(L, ", ");
            lua_pushlstring(L, h->headers[i].value.p, h->headers[i].value.len);
            lua_concat(L, 3);
        }
        lua_rawset(L, -3);
    }
    return 1;
}

static int push_lookup(lua_State *L, const char *(*fn)(struct foyer_request *,
                                                       const char *, size_t, size_t *))
{
    struct foyer_request *r = check_req(L);
    size_t len, vlen;
    const char *name = luaL_checklstring(L, 2, &len);
    const char *v = fn(r, name, len, &vlen);
    if (v == NULL)
        lua_pushnil(L);
    else
        lua_pushlstring(L, v, vlen);
    return 1;
}

static int req_header(lua_State *L)
{
    return push_lookup(L, foyer_request_header);
}

static int req_arg(lua_State *L)
{
    return push_lookup(L, foyer_request_arg);
}

static int req_cookie(lua_State *L)
{
    return push_lookup(L, foyer_request_cookie);
}

/* req.tls: what the connection's TLS layer tells, as a plain table (a copy:
 * it stays safe if a script keeps it), or nil on plain HTTP. */
static int push_tls(lua_State *L, struct foyer_request *r)
{
    static const char *const keys[] = {"sni",
                                       "alpn",
                                       "version",
                                       "cipher",
                                       "client_subject",
                                       "client_issuer",
                                       "client_san",
                                       "client_serial",
                                       "client_verify",
                                       "client_fingerprint",
                                       "client_cert",
                                       "reused",
                                       NULL};
    if (r->tp == NULL || r->tp->info == NULL) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 8);
    for (const char *const *k = keys; *k; k++) {
        const char *v = r->tp->info(r->tp_ctx, *k);
        if (v == NULL) continue;
        lua_pushstring(L, v);
        lua_setfield(L, -2, *k);
    }
    return 1;
}

static void push_client_ip(lua_State *L, struct foyer_request *r)
{
    char ip[64];
    foyer_addr_host(r->client, ip, sizeof ip);
    lua_pushstring(L, ip);
}

static int push_port(lua_State *L, struct foyer_request *r)
{
    unsigned port = r->info.port;
    if (port == 0) port = r->listen_port;
    lua_pushinteger(L, (lua_Integer)port);
    return 1;
}

static int req_index(lua_State *L)
{
    struct foyer_request *r = check_req(L);
    size_t len;
    const char *k = luaL_checklstring(L, 2, &len);
    switch (k[0]) {
    case 'c':
        if (strcmp(k, "client_ip") == 0) return push_client_ip(L, r), 1;
        break;
    case 'h':
        if (strcmp(k, "host") == 0) return lua_pushstring(L, foyer_request_host(r)), 1;
        break;
    case 'm':
        if (strcmp(k, "method") == 0) return push_str(L, r->head.method), 1;
        break;
    case 'p':
        if (strcmp(k, "path") == 0) return push_str(L, r->info.path), 1;
        if (strcmp(k, "port") == 0) return push_port(L, r);
        break;
    case 'q':
        if (strcmp(k, "query") == 0) return push_str(L, r->info.query), 1;
        break;
    case 's':
        if (strcmp(k, "scheme") == 0) return lua_pushstring(L, r->scheme), 1;
        break;
    case 't':
        if (strcmp(k, "target") == 0) return push_str(L, r->head.target), 1;
        if (strcmp(k, "tls") == 0) return push_tls(L, r);
        break;
    }
    lua_pushvalue(L, 2); /* methods: header, headers, arg, cookie */
    lua_rawget(L, lua_upvalueindex(1));
    return 1;
}

static int req_newindex(lua_State *L)
{
    return luaL_error(L, "req is read-only; return a decision instead");
}

static struct req_box *get_box(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, REQ_BOX);
    if (!lua_isnil(L, -1)) return lua_touserdata(L, -1);
    lua_pop(L, 1);
    struct req_box *b = lua_newuserdata(L, sizeof *b);
    b->r = NULL;
    if (luaL_newmetatable(L, REQ_MT)) {
        static const luaL_Reg methods[] = {{"header", req_header},
                                           {"headers", req_headers},
                                           {"arg", req_arg},
                                           {"cookie", req_cookie},
                                           {NULL, NULL}};
        lua_newtable(L);
        for (const luaL_Reg *m = methods; m->name; m++) {
            lua_pushcfunction(L, m->func);
            lua_setfield(L, -2, m->name);
        }
        lua_pushcclosure(L, req_index, 1);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, req_newindex);
        lua_setfield(L, -2, "__newindex");
        lua_pushliteral(L, "foyer.request");
        lua_setfield(L, -2, "__metatable");
    }
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, REQ_BOX);
    return b;
}

/* "file:line" where the route function was defined, for errors that have no
 * position of their own (an unknown service name). */
static void route_where(lua_State *L, int fn_index, char *out, size_t outlen)
{
    lua_Debug ar;
    lua_pushvalue(L, fn_index);
    if (lua_isfunction(L, -1) && lua_getinfo(L, ">S", &ar))
        snprintf(out, outlen, "%s:%d", ar.short_src, ar.linedefined);
    else {
        lua_pop(L, 1);
        snprintf(out, outlen, "route");
    }
}

static void fail(struct foyer_route_decision *d, struct foyer_request *r, const char *msg)
{
    foyer_metrics_lua_error();
    foyer_err("route error: %s (request: %.*s %.*s)", msg, (int)r->head.method.len,
              r->head.method.p, (int)r->head.target.len, r->head.target.p);
    d->status = 500;
}

struct convert_args {
    struct foyer_config *c;
    struct foyer_request *r;
    struct foyer_route_decision *d;
    char *err;
    size_t errlen;
    int rc;
};

/* Reading a script's table can raise Lua errors (metamethods, odd keys):
 * the conversion runs protected, like the script itself. */
static int convert_protected(lua_State *L)
{
    struct convert_args *a = lua_touserdata(L, 2);
    a->rc = foyer_lua_decision(L, 1, a->c, a->r, a->d, a->err, a->errlen);
    return 0;
}

static void use_result(lua_State *L, struct foyer_config *c, struct foyer_request *r,
                       struct foyer_route_decision *d, int fn_index)
{
    char err[512], where[512], msg[1200];
    struct convert_args a = {c, r, d, err, sizeof err, 0};
    if (lua_type(L, -1) != LUA_TTABLE) {
        a.rc = foyer_lua_decision(L, -1, c, r, d, err, sizeof err);
    } else {
        lua_pushcfunction(L, convert_protected);
        lua_pushvalue(L, -2);
        lua_pushlightuserdata(L, &a);
        if (lua_pcall(L, 2, 0, 0) != 0) {
            snprintf(err, sizeof err, "bad route decision: %s", lua_tostring(L, -1));
            lua_pop(L, 1);
            a.rc = -1;
        }
    }
    if (a.rc == 0) return;
    if (d->plugins_ref > 0) luaL_unref(L, LUA_REGISTRYINDEX, d->plugins_ref);
    route_where(L, fn_index, where, sizeof where);
    snprintf(msg, sizeof msg, "%s: %s", where, err);
    memset(d, 0, sizeof *d);
    fail(d, r, msg);
}

struct foyer_request *foyer_lua_request(lua_State *L, int idx)
{
    struct req_box *b = luaL_checkudata(L, idx, REQ_MT);
    if (b->r == NULL) luaL_error(L, "req is only valid while its route function runs");
    return b->r;
}

void foyer_lua_route(struct foyer_config *c, struct foyer_request *r,
                     struct foyer_route_decision *d)
{
    if (c->router != NULL) { /* a foyer.router: matched in C, no Lua call */
        memset(d, 0, sizeof *d);
        foyer_router_route(c->router, r, d);
        return;
    }
    lua_State *L = c->L;
    int top = lua_gettop(L);
    memset(d, 0, sizeof *d);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->route_ref);
    int fn_index = lua_gettop(L);
    lua_pushvalue(L, fn_index);
    struct req_box *b = get_box(L);
    b->r = r;
    foyer_lua_limits_begin(L, c->settings.lua_instruction_limit,
                           c->settings.lua_memory_limit);
    int rc = lua_pcall(L, 1, 1, 0);
    foyer_lua_limits_end(L);
    if (rc != 0) {
        const char *msg = lua_tostring(L, -1);
        fail(d, r, msg ? msg : "(error object is not a string)");
    } else {
        use_result(L, c, r, d, fn_index);
    }
    b->r = NULL;
    lua_settop(L, top);
}
