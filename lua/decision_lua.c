/* A route function's answer, as a Lua value, turned into the C decision the
 * proxy consumes. Everything is checked here, once: a typo in a key, a header
 * value with a line break or an unknown service becomes a 500 with a clear
 * log line rather than a surprising request upstream. */
#include "decision_lua.h"
#include "config.h"
#include "pool.h"
#include "random.h"
#include "request.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>

struct conv {
    lua_State *L;
    struct foyer_config *c;
    struct foyer_request *r;
    struct foyer_route_decision *d;
    char *err;
    size_t errlen;
};

static int failf(struct conv *cv, const char *fmt, const char *a, const char *b)
{
    snprintf(cv->err, cv->errlen, fmt, a, b);
    return -1;
}

/* Copies the string at idx into the request pool. */
static int pool_string(struct conv *cv, int idx, const char *what, struct foyer_str *out)
{
    if (lua_type(cv->L, idx) != LUA_TSTRING && lua_type(cv->L, idx) != LUA_TNUMBER)
        return failf(cv, "%s must be a string%s", what, "");
    size_t len;
    lua_pushvalue(cv->L, idx); /* a number is converted on the copy, never in place */
    const char *s = lua_tolstring(cv->L, -1, &len);
    char *copy = foyer_pool_strndup(cv->r->pool, s, len);
    lua_pop(cv->L, 1);
    if (copy == NULL) return failf(cv, "out of memory%s%s", "", "");
    out->p = copy;
    out->len = len;
    return 0;
}

static int is_token(const char *s, size_t len)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (len == 0) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
              (ch >= 'A' && ch <= 'Z') || (ch != 0 && strchr(extra, ch) != NULL)))
            return 0;
    }
    return 1;
}

/* Field values may not carry line breaks or NULs: that would be header injection. */
static int is_field_value(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) return 0;
    }
    return 1;
}

static struct foyer_service *service_named(struct conv *cv, int idx, const char *what)
{
    size_t len;
    if (lua_type(cv->L, idx) != LUA_TSTRING) {
        failf(cv, "%s must be a service name%s", what, "");
        return NULL;
    }
    const char *name = lua_tolstring(cv->L, idx, &len);
    struct foyer_service *s = foyer_config_service(cv->c, name, len);
    if (s == NULL) failf(cv, "%s: unknown service '%s'", what, name);
    return s;
}

/* ---- header edits: { set = {name = value}, add = {name = value | {values}},
 *      remove = {names} } ---- */

struct edits_builder {
    struct foyer_header_edit *v;
    unsigned n, cap;
};

static int edit_push(struct conv *cv, struct edits_builder *b, enum foyer_header_op op,
                     int name_idx, int value_idx, const char *what)
{
    if (b->n == b->cap) {
        unsigned cap = b->cap ? b->cap * 2 : 8;
        struct foyer_header_edit *nv = foyer_pool_alloc(cv->r->pool, cap * sizeof *nv);
        if (nv == NULL) return failf(cv, "out of memory%s%s", "", "");
        if (b->n) memcpy(nv, b->v, b->n * sizeof *nv);
        b->v = nv;
        b->cap = cap;
    }
    struct foyer_header_edit *e = &b->v[b->n];
    memset(e, 0, sizeof *e);
    e->op = op;
    if (pool_string(cv, name_idx, what, &e->name) != 0) return -1;
    if (!is_token(e->name.p, e->name.len))
        return failf(cv, "%s: '%s' is not a valid field name", what, e->name.p);
    if (value_idx != 0) {
        if (pool_string(cv, value_idx, what, &e->value) != 0) return -1;
        if (!is_field_value(e->value.p, e->value.len))
            return failf(cv, "%s: the value of '%s' contains a control character", what,
                         e->name.p);
    }
    b->n++;
    return 0;
}

static int edits_map(struct conv *cv, struct edits_builder *b, int t,
                     enum foyer_header_op op, const char *what)
{
    lua_State *L = cv->L;
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        int rc = 0;
        if (op == FOYER_HEADER_ADD && lua_type(L, -1) == LUA_TTABLE) {
            int list = lua_gettop(L);
            for (int i = 1; rc == 0; i++) {
                lua_rawgeti(L, list, i);
                if (lua_isnil(L, -1)) {
                    lua_pop(L, 1);
                    break;
                }
                rc = edit_push(cv, b, op, list - 1, lua_gettop(L), what);
                lua_pop(L, 1);
            }
        } else {
            rc = edit_push(cv, b, op, lua_gettop(L) - 1, lua_gettop(L), what);
        }
        if (rc != 0) {
            lua_pop(L, 2);
            return -1;
        }
        lua_pop(L, 1);
    }
    return 0;
}

static int edits_remove(struct conv *cv, struct edits_builder *b, int t, const char *what)
{
    lua_State *L = cv->L;
    for (int i = 1;; i++) {
        lua_rawgeti(L, t, i);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            return 0;
        }
        int rc = edit_push(cv, b, FOYER_HEADER_REMOVE, lua_gettop(L), 0, what);
        lua_pop(L, 1);
        if (rc != 0) return -1;
    }
}

static int header_edits(struct conv *cv, int t, const char *what,
                        struct foyer_header_edits *out)
{
    lua_State *L = cv->L;
    if (lua_type(L, t) != LUA_TTABLE) return failf(cv, "%s must be a table%s", what, "");
    struct edits_builder b = {0};
    static const char *const parts[] = {"remove", "set", "add"};
    static const enum foyer_header_op ops[] = {FOYER_HEADER_REMOVE, FOYER_HEADER_SET,
                                               FOYER_HEADER_ADD};
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
        int known = 0;
        for (int i = 0; i < 3; i++)
            known |= strcmp(k, parts[i]) == 0;
        lua_pop(L, 1);
        if (!known) {
            lua_pop(L, 1);
            return failf(cv, "%s: unknown key '%s' (set, add or remove)", what, k);
        }
    }
    for (int i = 0; i < 3; i++) {
        lua_getfield(L, t, parts[i]);
        int sub = lua_gettop(L), rc = 0;
        if (lua_type(L, sub) == LUA_TTABLE)
            rc = ops[i] == FOYER_HEADER_REMOVE ? edits_remove(cv, &b, sub, what)
                                               : edits_map(cv, &b, sub, ops[i], what);
        else if (!lua_isnil(L, sub))
            rc = failf(cv, "%s.%s must be a table", what, parts[i]);
        lua_pop(L, 1);
        if (rc != 0) return -1;
    }
    out->v = b.v;
    out->n = b.n;
    return 0;
}

/* ---- weighted backends: { {service = "a", weight = 90}, ... } ---- */

static int pick_backend(struct conv *cv, int t)
{
    lua_State *L = cv->L;
    if (lua_type(L, t) != LUA_TTABLE)
        return failf(cv, "backends must be a list%s%s", "", "");
    double total = 0;
    int n = (int)lua_objlen(L, t);
    for (int pass = 0; pass < 2; pass++) {
        double target =
            pass ? (double)(foyer_random() >> 11) / 9007199254740992.0 * total : 0;
        double acc = 0;
        for (int i = 1; i <= n; i++) {
            lua_rawgeti(L, t, i);
            int e = lua_gettop(L);
            if (!lua_istable(L, e)) {
                lua_pop(L, 1);
                return failf(
                    cv, "backends[%s] must be a table {service = ..., weight = ...}%s",
                    "", "");
            }
            lua_getfield(L, e, "weight");
            double w = lua_isnil(L, -1) ? 1 : lua_tonumber(L, -1);
            lua_getfield(L, e, "service");
            struct foyer_service *s =
                lua_type(L, -1) == LUA_TSTRING
                    ? foyer_config_service(cv->c, lua_tostring(L, -1), lua_objlen(L, -1))
                    : NULL;
            lua_pop(L, 3);
            if (s == NULL || !(w > 0)) continue; /* invalid or weight 0: never chosen */
            acc += w;
            if (pass && target < acc) {
                cv->d->service = s;
                return 0;
            }
        }
        total = acc;
        if (total <= 0)
            return failf(cv, "backends: no valid backend with a weight above 0%s%s", "",
                         "");
    }
    return failf(cv, "backends: no backend chosen%s%s", "", "");
}

/* ---- redirect and respond ---- */

static int number_field(struct conv *cv, int t, const char *key, double *out)
{
    lua_getfield(cv->L, t, key);
    int type = lua_type(cv->L, -1);
    if (type == LUA_TNUMBER) *out = lua_tonumber(cv->L, -1);
    lua_pop(cv->L, 1);
    if (type != LUA_TNUMBER && type != LUA_TNIL)
        return failf(cv, "'%s' must be a number%s", key, "");
    return 0;
}

static int string_field(struct conv *cv, int t, const char *key, struct foyer_str *out)
{
    lua_getfield(cv->L, t, key);
    int rc = lua_isnil(cv->L, -1) ? 0 : pool_string(cv, lua_gettop(cv->L), key, out);
    lua_pop(cv->L, 1);
    return rc;
}

static int redirect(struct conv *cv, int t)
{
    if (lua_type(cv->L, t) != LUA_TTABLE)
        return failf(cv, "redirect must be a table%s%s", "", "");
    struct foyer_redirect *rd = foyer_pool_alloc(cv->r->pool, sizeof *rd);
    if (rd == NULL) return failf(cv, "out of memory%s%s", "", "");
    memset(rd, 0, sizeof *rd);
    double status = 302, port = 0;
    if (number_field(cv, t, "status", &status) || number_field(cv, t, "port", &port) ||
        string_field(cv, t, "scheme", &rd->scheme) ||
        string_field(cv, t, "host", &rd->host) || string_field(cv, t, "path", &rd->path))
        return -1;
    int st = (int)status;
    if (st != 301 && st != 302 && st != 303 && st != 307 && st != 308)
        return failf(cv, "redirect.status must be 301, 302, 303, 307 or 308%s%s", "", "");
    if (port < 0 || port > 65535)
        return failf(cv, "redirect.port is out of range%s%s", "", "");
    if (rd->scheme.p && !FOYER_STR_EQ_CI(rd->scheme, "http") &&
        !FOYER_STR_EQ_CI(rd->scheme, "https"))
        return failf(cv, "redirect.scheme must be http or https%s%s", "", "");
    if (!is_field_value(rd->host.p ? rd->host.p : "", rd->host.len) ||
        !is_field_value(rd->path.p ? rd->path.p : "", rd->path.len))
        return failf(cv, "redirect: control character in host or path%s%s", "", "");
    rd->status = st;
    rd->port = (unsigned)port;
    cv->d->redirect = rd;
    return 0;
}

static int respond(struct conv *cv, int t)
{
    if (lua_type(cv->L, t) != LUA_TTABLE)
        return failf(cv, "respond must be a table%s%s", "", "");
    struct foyer_respond *rs = foyer_pool_alloc(cv->r->pool, sizeof *rs);
    if (rs == NULL) return failf(cv, "out of memory%s%s", "", "");
    memset(rs, 0, sizeof *rs);
    double status = 200;
    if (number_field(cv, t, "status", &status) || string_field(cv, t, "body", &rs->body))
        return -1;
    if (status < 200 || status > 599)
        return failf(cv, "respond.status must be between 200 and 599%s%s", "", "");
    rs->status = (int)status;
    lua_getfield(cv->L, t, "headers");
    int h = lua_gettop(cv->L), rc = 0;
    if (lua_type(cv->L, h) == LUA_TTABLE) {
        struct edits_builder b = {0};
        rc = edits_map(cv, &b, h, FOYER_HEADER_ADD, "respond.headers");
        rs->headers.v = b.v;
        rs->headers.n = b.n;
    } else if (!lua_isnil(cv->L, h)) {
        rc = failf(cv, "respond.headers must be a table%s%s", "", "");
    }
    lua_pop(cv->L, 1);
    cv->d->respond = rs;
    return rc;
}

/* ---- the decision table ---- */

static int path_value(struct conv *cv, int idx)
{
    if (pool_string(cv, idx, "path", &cv->d->path) != 0) return -1;
    if (cv->d->path.len == 0 || cv->d->path.p[0] != '/' ||
        memchr(cv->d->path.p, '?', cv->d->path.len) != NULL ||
        !is_field_value(cv->d->path.p, cv->d->path.len) ||
        memchr(cv->d->path.p, ' ', cv->d->path.len) != NULL)
        return failf(
            cv,
            "path must start with '/' and hold no query, space or control character%s%s",
            "", "");
    return 0;
}

static int host_value(struct conv *cv, int idx)
{
    if (pool_string(cv, idx, "host", &cv->d->host) != 0) return -1;
    struct foyer_str h = cv->d->host;
    if (h.len == 0 || !is_field_value(h.p, h.len) || memchr(h.p, ' ', h.len) ||
        memchr(h.p, ',', h.len))
        return failf(cv, "host is not a valid host name%s%s", "", "");
    return 0;
}

static int apply_key(struct conv *cv, const char *k, int v)
{
    lua_State *L = cv->L;
    struct foyer_route_decision *d = cv->d;
    if (strcmp(k, "service") == 0)
        return (d->service = service_named(cv, v, "service")) ? 0 : -1;
    if (strcmp(k, "backends") == 0) return pick_backend(cv, v);
    if (strcmp(k, "path") == 0) return path_value(cv, v);
    if (strcmp(k, "host") == 0) return host_value(cv, v);
    if (strcmp(k, "request_headers") == 0)
        return header_edits(cv, v, "request_headers", &d->request_headers);
    if (strcmp(k, "response_headers") == 0)
        return header_edits(cv, v, "response_headers", &d->response_headers);
    if (strcmp(k, "redirect") == 0) return redirect(cv, v);
    if (strcmp(k, "respond") == 0) return respond(cv, v);
    if (strcmp(k, "hash_key") == 0) return pool_string(cv, v, "hash_key", &d->hash_key);
    if (strcmp(k, "mirror") == 0)
        return (d->mirror = service_named(cv, v, "mirror")) ? 0 : -1;
    if (strcmp(k, "plugins") == 0) { /* per-route plugin settings, read by plugins */
        if (lua_type(L, v) != LUA_TTABLE)
            return failf(cv, "plugins must be a table%s%s", "", "");
        lua_pushvalue(L, v);
        d->plugins_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        return 0;
    }
    if (strcmp(k, "tag") == 0) {
        struct foyer_str t;
        if (pool_string(cv, v, "tag", &t) != 0) return -1;
        d->tag = t.p;
        return 0;
    }
    if (strcmp(k, "timeout") == 0 || strcmp(k, "status") == 0) {
        if (lua_type(L, v) != LUA_TNUMBER)
            return failf(cv, "'%s' must be a number%s", k, "");
        double n = lua_tonumber(L, v);
        if (k[0] == 't' && !(n > 0 && n <= 86400))
            return failf(cv, "timeout must be in (0, 86400] seconds%s%s", "", "");
        if (k[0] == 's' && !(n >= 400 && n <= 599))
            return failf(cv, "status must be an error status (400-599)%s%s", "", "");
        if (k[0] == 't')
            d->timeout = n;
        else
            d->status = (int)n;
        return 0;
    }
    return failf(cv, "unknown key '%s' in the route decision%s", k, "");
}

static int from_table(struct conv *cv, int t)
{
    lua_State *L = cv->L;
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            return failf(cv, "route decision keys must be names%s%s", "", "");
        }
        int rc = apply_key(cv, lua_tostring(L, -2), lua_gettop(L));
        lua_pop(L, 1);
        if (rc != 0) {
            lua_pop(L, 1);
            return -1;
        }
    }
    struct foyer_route_decision *d = cv->d;
    if (!d->service && !d->redirect && !d->respond && !d->status) d->status = 404;
    return 0;
}

int foyer_lua_decision(lua_State *L, int idx, struct foyer_config *c,
                       struct foyer_request *r, struct foyer_route_decision *d, char *err,
                       size_t errlen)
{
    struct conv cv = {L, c, r, d, err, errlen};
    int t = lua_gettop(L);
    lua_pushvalue(L, idx);
    int rc;
    switch (lua_type(L, -1)) {
    case LUA_TNIL:
        d->status = 404;
        rc = 0;
        break;
    case LUA_TSTRING:
        rc = (d->service = service_named(&cv, lua_gettop(L), "route")) ? 0 : -1;
        break;
    case LUA_TTABLE:
        rc = from_table(&cv, lua_gettop(L));
        break;
    default:
        rc = failf(&cv, "route returned a %s (expected a service name, nil or a table)",
                   luaL_typename(L, -1), "");
    }
    lua_settop(L, t);
    return rc;
}
