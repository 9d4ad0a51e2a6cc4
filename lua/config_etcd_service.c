/* etcd's services changed in place (config_etcd_int.h): a new endpoint list,
 * a service added, a service removed.
 *
 * Only when no loaded plugin keeps state about services (a load balancer's
 * tables, health checks, plugin keys in service bodies): theirs is rebuilt
 * by the full load. A body is parsed exactly as `service` parses it. Nothing
 * a request in flight may point to is freed: a replaced endpoint list, the
 * services array when it is rebuilt (to add or remove), a removed service's
 * strings all go to the generation's retired list, freed with it. */
#include "config.h"
#include "config_etcd.h"
#include "config_etcd_int.h"
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

#define POOL_BLOCK (16 * 1024)

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

static int retire(struct foyer_config *c, void *p)
{
    void **r = realloc(c->retired, (c->nretired + 1) * sizeof *r);
    if (r == NULL) return -1;
    c->retired = r;
    r[c->nretired++] = p;
    return 0;
}

/* ---- a body ----------------------------------------------------------------------- */

struct body_call {
    const struct json_value *v;
    struct foyer_service *tmp;
};

static int body_protected(lua_State *L)
{
    struct body_call *b = lua_touserdata(L, 1);
    foyer_json_push(L, b->v);
    foyer_config_service_body(L, b->tmp);
    b->tmp->conf_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* A plain body: an object whose only member is "endpoints". */
static int endpoints_only(const struct json_value *v)
{
    return v->type == JSON_OBJECT && v->u.obj.n == 1 && v->u.obj.m[0].key_len == 9 &&
           memcmp(v->u.obj.m[0].key, "endpoints", 9) == 0;
}

static void body_drop(struct foyer_config *c, struct foyer_service *tmp)
{
    free(tmp->endpoints);
    if (tmp->conf_ref > 0) luaL_unref(c->L, LUA_REGISTRYINDEX, tmp->conf_ref);
    tmp->endpoints = NULL;
    tmp->conf_ref = 0;
}

/* ch's body parsed into tmp (name set): 0, or 1 when not for a change in
 * place (not JSON, not a plain body, invalid, https: the full load says). */
static int parse_body(struct foyer_config *c, const struct foyer_etcd_change *ch,
                      struct foyer_service *tmp)
{
    struct foyer_pool *pool = foyer_pool_create(POOL_BLOCK);
    struct json_parser jp;
    struct json_value v;
    int r = 1;
    json_parser_init(&jp, ch->value, ch->value_len, pool);
    if (pool != NULL && json_parse_document(&jp, &v) == 0 && endpoints_only(&v)) {
        struct body_call b = {&v, tmp};
        if (lua_cpcall(c->L, body_protected, &b) == 0)
            r = 0;
        else
            lua_pop(c->L, 1);
    }
    json_parser_free(&jp);
    if (pool != NULL) foyer_pool_destroy(pool);
    for (unsigned j = 0; r == 0 && j < tmp->nendpoints; j++)
        r = tmp->endpoints[j].tls; /* TLS upstreams are bound by the full load */
    if (r != 0) body_drop(c, tmp);
    return r;
}

/* ---- planning --------------------------------------------------------------------- */

int svc_plan_add(struct svc_plan *p, struct foyer_config *c,
                 const struct foyer_etcd_change *ch, const char *name, size_t len)
{
    if (plugins_keep_service_state(c)) return 1;
    struct foyer_service *s = foyer_config_service(c, name, len);
    if (s != NULL && !s->from_etcd) return 1; /* the file's: refused by the full load */
    const struct foyer_router *rt = c->router;
    if (s != NULL && ch->value == NULL && rt != NULL && rt->default_service != NULL &&
        strcmp(rt->default_service, s->name) == 0)
        return 1; /* the default may not go: refused by the full load */
    struct svc_step *st =
        rt_push((void **)&p->steps, &p->nsteps, &p->capsteps, sizeof *p->steps);
    if (st == NULL) return 1;
    st->s = s;
    st->remove = ch->value == NULL;
    if (st->remove) return s == NULL; /* removing what is not there: the full load */
    st->tmp.name = strndup(name, len);
    st->tmp.where = malloc(ch->key_len + 8);
    if (st->tmp.name == NULL || st->tmp.where == NULL) return 1;
    sprintf(st->tmp.where, "etcd %.*s: ", (int)ch->key_len, ch->key);
    return parse_body(c, ch, &st->tmp);
}

void svc_plan_drop(struct svc_plan *p, struct foyer_config *c)
{
    for (uint32_t i = 0; i < p->nsteps; i++) {
        body_drop(c, &p->steps[i].tmp);
        free(p->steps[i].tmp.name);
        free(p->steps[i].tmp.where);
    }
    free(p->steps);
    memset(p, 0, sizeof *p);
}

/* ---- committing ------------------------------------------------------------------- */

/* s takes the new endpoints; its old list stays with c. */
static int replace(struct foyer_config *c, struct foyer_service *s, struct svc_step *st)
{
    if (retire(c, s->endpoints) != 0) return -1;
    s->endpoints = st->tmp.endpoints;
    s->nendpoints = st->tmp.nendpoints;
    s->rr = 0;
    luaL_unref(c->L, LUA_REGISTRYINDEX, s->conf_ref);
    s->conf_ref = st->tmp.conf_ref;
    st->tmp.endpoints = NULL;
    st->tmp.conf_ref = 0;
    return 0;
}

static int removed(const struct svc_plan *p, const struct foyer_service *s)
{
    for (uint32_t i = 0; i < p->nsteps; i++)
        if (p->steps[i].remove && p->steps[i].s == s) return 1;
    return 0;
}

/* A new services array: the survivors, then the added. The old one, and what
 * the removed owned, are retired. */
static int rebuild_array(struct foyer_config *c, struct svc_plan *p)
{
    struct foyer_service *v = calloc(c->nservices + p->nsteps + 1, sizeof *v);
    unsigned n = 0;
    if (v == NULL || retire(c, c->services) != 0) {
        free(v);
        return -1;
    }
    for (unsigned i = 0; i < c->nservices; i++) {
        struct foyer_service *s = &c->services[i];
        if (!removed(p, s)) {
            v[n++] = *s;
            continue;
        }
        luaL_unref(c->L, LUA_REGISTRYINDEX, s->conf_ref);
        if (retire(c, s->name) || retire(c, s->where) || retire(c, s->endpoints))
            return -1;
    }
    for (uint32_t i = 0; i < p->nsteps; i++) {
        struct svc_step *st = &p->steps[i];
        if (st->s != NULL) continue;
        v[n] = st->tmp;
        v[n].tls_plugin = -1;
        v[n++].from_etcd = 1;
        memset(&st->tmp, 0, sizeof st->tmp); /* owned by the array now */
    }
    c->services = v;
    c->nservices = n;
    return 0;
}

/* Routers hold service pointers: bound again against the new array. */
static void rebind(struct foyer_config *c)
{
    struct foyer_router *rt = c->router;
    if (rt == NULL) return;
    for (uint32_t s = 0; s < rt->nsvc; s++)
        rt->svc[s] =
            foyer_config_service(c, rt->rs->services[s], strlen(rt->rs->services[s]));
    if (rt->default_service != NULL)
        rt->default_svc =
            foyer_config_service(c, rt->default_service, strlen(rt->default_service));
}

int svc_plan_commit(struct svc_plan *p, struct foyer_config *c)
{
    int reshape = 0; /* services come or go: a new array */
    for (uint32_t i = 0; i < p->nsteps; i++) {
        struct svc_step *st = &p->steps[i];
        reshape |= st->remove || st->s == NULL;
        if (!st->remove && st->s != NULL && replace(c, st->s, st) != 0) return -1;
    }
    if (!reshape) return 0;
    if (rebuild_array(c, p) != 0 || foyer_config_index_services(c) != 0) return -1;
    rebind(c);
    return 0;
}
