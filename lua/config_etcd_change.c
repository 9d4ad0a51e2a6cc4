/* An etcd change applied to a running generation in place (config_etcd.h).
 *
 * What can change in place: etcd's routes, when the router is the one they
 * make (router_live.c recompiles one route at a time), and the endpoint
 * list of a service the generation has, when no plugin keeps state about
 * services (a load balancer's tables, health checks, service keys). The rest
 * (a service added or removed, plugin settings, routes while the file routes
 * by itself) goes through a full load. A route is checked alone exactly as
 * the merge compiles it, a service body exactly as `service` parses it, so a
 * key refused here would be refused there too. */
#include "config.h"
#include "config_etcd.h"
#include "etcd_keys.h"
#include "json.h"
#include "json_lua.h"
#include "plugin_api.h"
#include "plugin_loader.h"
#include "pool.h"
#include "router_int.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETIRED_MAX 256 /* endpoint lists replaced before a full load reclaims them */
#define POOL_BLOCK (16 * 1024)

static enum foyer_etcd_key kind(const struct foyer_config *c,
                                const struct foyer_etcd_change *ch, const char **id,
                                size_t *id_len)
{
    return foyer_etcd_key_kind(c->settings.etcd->prefix, ch->key, ch->key_len, id,
                               id_len);
}

/* The value as JSON, parsed into pool: 0, or -1 with "etcd KEY: message". */
static int parse(const struct foyer_etcd_change *ch, struct foyer_pool *pool,
                 struct json_parser *jp, struct json_value *v, char *err, size_t errlen)
{
    json_parser_init(jp, ch->value, ch->value_len, pool);
    if (json_parse_document(jp, v) == 0) return 0;
    snprintf(err, errlen, "etcd %.*s: %s", (int)ch->key_len, ch->key, jp->err);
    return -1;
}

static int fail_key(const struct foyer_etcd_change *ch, const char *msg, char *err,
                    size_t errlen)
{
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", msg); /* msg may be err itself */
    snprintf(err, errlen, "etcd %.*s: %s", (int)(ch->key_len > 512 ? 512 : ch->key_len),
             ch->key, copy);
    return -1;
}

/* ---- services ---------------------------------------------------------------------- */

static int plugins_keep_service_state(const struct foyer_config *c)
{
    for (unsigned i = 0; i < c->nplugins; i++) {
        const struct foyer_plugin *d = c->plugins[i].desc;
        if (FOYER_PLUGIN_HOOK(d, on_upstream_select) ||
            FOYER_PLUGIN_HOOK(d, service_health) || FOYER_PLUGIN_HOOK(d, service_keys))
            return 1;
    }
    return 0;
}

struct body {
    const struct json_value *v;
    struct foyer_service tmp; /* what the body makes */
    int ref;                  /* the body's table, for the service's conf_ref */
};

static int body_protected(lua_State *L)
{
    struct body *b = lua_touserdata(L, 1);
    foyer_json_push(L, b->v);
    foyer_config_service_body(L, &b->tmp);
    b->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* A plain body: an object whose only member is "endpoints". */
static int endpoints_only(const struct json_value *v)
{
    return v->type == JSON_OBJECT && v->u.obj.n == 1 && v->u.obj.m[0].key_len == 9 &&
           memcmp(v->u.obj.m[0].key, "endpoints", 9) == 0;
}

/* The endpoints ch's body gives service s, in b: 0; 1 when not a change in
 * place (not a plain body, https without a TLS plugin bound, not JSON or
 * invalid: the full load says why). */
static int service_body(struct foyer_config *c, const struct foyer_service *s,
                        const struct foyer_etcd_change *ch, struct body *b)
{
    struct foyer_pool *pool = foyer_pool_create(POOL_BLOCK);
    struct json_parser jp;
    struct json_value v;
    char err[1024];
    int r = 1;
    memset(b, 0, sizeof *b);
    b->tmp.name = s->name; /* for messages */
    json_parser_init(&jp, "", 0, NULL);
    if (pool != NULL && parse(ch, pool, &jp, &v, err, sizeof err) == 0 &&
        endpoints_only(&v)) {
        b->v = &v;
        if (lua_cpcall(c->L, body_protected, b) == 0)
            r = 0;
        else
            lua_pop(c->L, 1);
    }
    json_parser_free(&jp);
    if (pool != NULL) foyer_pool_destroy(pool);
    for (unsigned j = 0; r == 0 && j < b->tmp.nendpoints; j++)
        if (b->tmp.endpoints[j].tls && s->tls_plugin < 0) r = 1;
    if (r != 0) {
        free(b->tmp.endpoints);
        if (b->ref > 0) luaL_unref(c->L, LUA_REGISTRYINDEX, b->ref);
    }
    return r;
}

static void body_drop(struct foyer_config *c, struct body *b)
{
    free(b->tmp.endpoints);
    luaL_unref(c->L, LUA_REGISTRYINDEX, b->ref);
}

/* s takes b's endpoints; its old list stays with c until c goes. */
static int body_install(struct foyer_config *c, struct foyer_service *s, struct body *b)
{
    struct foyer_endpoint **r = realloc(c->retired, (c->nretired + 1) * sizeof *r);
    if (r == NULL) return -1;
    c->retired = r;
    r[c->nretired++] = s->endpoints;
    s->endpoints = b->tmp.endpoints;
    s->nendpoints = b->tmp.nendpoints;
    s->rr = 0;
    luaL_unref(c->L, LUA_REGISTRYINDEX, s->conf_ref);
    s->conf_ref = b->ref;
    return 0;
}

/* The service a change of key kind FOYER_ETCD_SERVICE can replace in place. */
static struct foyer_service *service_in_place(const struct foyer_config *c,
                                              const struct foyer_etcd_change *ch,
                                              const char *name, size_t len)
{
    if (ch->value == NULL || plugins_keep_service_state(c)) return NULL;
    struct foyer_service *s = foyer_config_service(c, name, len);
    return s != NULL && s->from_etcd ? s : NULL; /* the file's own: refused in full */
}

/* ---- what changes in place ----------------------------------------------------------
 */

int foyer_config_etcd_can_change(struct foyer_config *c,
                                 const struct foyer_etcd_change *ch, size_t n)
{
    const char *id;
    size_t id_len;
    if (c->settings.etcd == NULL || c->nretired >= RETIRED_MAX) return 0;
    if (c->router != NULL && rt_router_wants_rebuild(c->router)) return 0;
    for (size_t i = 0; i < n; i++) {
        enum foyer_etcd_key k = kind(c, &ch[i], &id, &id_len);
        if (k == FOYER_ETCD_ROUTE && (c->router == NULL || !c->router->etcd)) return 0;
        if (k != FOYER_ETCD_SERVICE) continue;
        struct foyer_service *s = service_in_place(c, &ch[i], id, id_len);
        struct body b;
        if (s == NULL || service_body(c, s, &ch[i], &b) != 0) return 0;
        body_drop(c, &b);
    }
    return 1;
}

int foyer_config_etcd_check_route(const struct foyer_etcd_change *ch, char *err,
                                  size_t errlen)
{
    struct foyer_pool *pool = foyer_pool_create(POOL_BLOCK);
    struct rt_ruleset *rs = rt_ruleset_new("etcd");
    struct json_parser jp;
    struct json_value v;
    int r = -1;
    json_parser_init(&jp, "", 0, NULL);
    if (pool == NULL || rs == NULL) {
        fail_key(ch, "out of memory", err, errlen);
    } else if (parse(ch, pool, &jp, &v, err, errlen) == 0) {
        struct rt_cc cc;
        rt_cc_init(&cc, rs, NULL, err, errlen);
        size_t mark = rt_path_key(&cc, "routes");
        rt_path_index(&cc, 0);
        r = rt_compile_route(&cc, &v);
        rt_path_pop(&cc, mark);
        if (r != 0) fail_key(ch, err, err, errlen);
    }
    json_parser_free(&jp);
    rt_ruleset_unref(rs);
    if (pool != NULL) foyer_pool_destroy(pool);
    return r;
}

static int change_route(struct foyer_config *c, const struct foyer_etcd_change *ch,
                        const char *id, size_t id_len, char *err, size_t errlen)
{
    if (ch->value == NULL)
        return rt_router_change(c->router, c, id, id_len, NULL, err, errlen) == 0
                   ? 0
                   : fail_key(ch, err, err, errlen);
    struct foyer_pool *pool = foyer_pool_create(POOL_BLOCK);
    struct json_parser jp;
    struct json_value v;
    int r = -1;
    json_parser_init(&jp, "", 0, NULL);
    if (pool == NULL)
        fail_key(ch, "out of memory", err, errlen);
    else if (parse(ch, pool, &jp, &v, err, errlen) == 0 &&
             (r = rt_router_change(c->router, c, id, id_len, &v, err, errlen)) != 0)
        fail_key(ch, err, err, errlen);
    json_parser_free(&jp);
    if (pool != NULL) foyer_pool_destroy(pool);
    return r;
}

/* Services first made (so a failure changes nothing), then routes, then the
 * services installed. */
int foyer_config_etcd_change(struct foyer_config *c, const struct foyer_etcd_change *ch,
                             size_t n, long long revision, char *err, size_t errlen)
{
    const char *id;
    size_t id_len;
    int r = 0;
    if (!foyer_config_etcd_can_change(c, ch, n)) {
        snprintf(err, errlen, "not a change foyer makes in place");
        return -1;
    }
    struct body *b = calloc(n + 1, sizeof *b);
    struct foyer_service **s = calloc(n + 1, sizeof *s);
    for (size_t i = 0; i < n && b != NULL && s != NULL && r == 0; i++)
        if (kind(c, &ch[i], &id, &id_len) == FOYER_ETCD_SERVICE &&
            ((s[i] = service_in_place(c, &ch[i], id, id_len)) == NULL ||
             service_body(c, s[i], &ch[i], &b[i]) != 0))
            r = fail_key(&ch[i], "changed meanwhile", err, errlen), s[i] = NULL;
    if (b == NULL || s == NULL) r = -1, snprintf(err, errlen, "out of memory");
    for (size_t i = 0; i < n && r == 0; i++)
        if (kind(c, &ch[i], &id, &id_len) == FOYER_ETCD_ROUTE)
            r = change_route(c, &ch[i], id, id_len, err, errlen);
    for (size_t i = 0; i < n && s != NULL; i++) {
        if (s[i] == NULL) continue;
        if (r == 0 && body_install(c, s[i], &b[i]) != 0)
            r = -1, snprintf(err, errlen, "out of memory");
        else if (r != 0)
            body_drop(c, &b[i]);
    }
    free(b);
    free(s);
    if (r == 0) c->etcd_revision = revision;
    return r;
}
