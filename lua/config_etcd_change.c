/* An etcd change applied to a running generation in place (config_etcd.h).
 *
 * What can change in place: etcd's routes, when the router is the one they
 * make (router_live.c recompiles one route at a time), and etcd's services
 * when no plugin keeps state about them (config_etcd_service.c). The rest
 * (plugin settings, the file's own services, routes while the file routes by
 * itself) goes through a full load. A route is checked alone exactly as the
 * merge compiles it, a service body exactly as `service` parses it, so a key
 * refused here would be refused there too. */
#include "config.h"
#include "config_etcd.h"
#include "config_etcd_int.h"
#include "etcd_keys.h"
#include "json.h"
#include "pool.h"
#include "router_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETIRED_MAX 256 /* things replaced in place before a full load reclaims them */
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

/* ---- what changes in place --------------------------------------------------------- */

/* The service keys of ch planned into p: 0, or 1 when one cannot be applied
 * in place. */
static int plan_services(struct foyer_config *c, const struct foyer_etcd_change *ch,
                         size_t n, struct svc_plan *p)
{
    const char *name;
    size_t len;
    for (size_t i = 0; i < n; i++)
        if (kind(c, &ch[i], &name, &len) == FOYER_ETCD_SERVICE &&
            svc_plan_add(p, c, &ch[i], name, len) != 0)
            return 1;
    return 0;
}

static int routes_in_place(const struct foyer_config *c,
                           const struct foyer_etcd_change *ch, size_t n)
{
    const char *id;
    size_t id_len;
    for (size_t i = 0; i < n; i++)
        if (kind(c, &ch[i], &id, &id_len) == FOYER_ETCD_ROUTE &&
            (c->router == NULL || !c->router->etcd))
            return 0;
    return 1;
}

/* Can c take ch in place? Then p holds its services, ready. */
static int plan(struct foyer_config *c, const struct foyer_etcd_change *ch, size_t n,
                struct svc_plan *p)
{
    return c->settings.etcd != NULL && c->nretired < RETIRED_MAX &&
           !(c->router != NULL && rt_router_wants_rebuild(c->router)) &&
           routes_in_place(c, ch, n) && plan_services(c, ch, n, p) == 0;
}

int foyer_config_etcd_can_change(struct foyer_config *c,
                                 const struct foyer_etcd_change *ch, size_t n)
{
    struct svc_plan p = {0};
    int r = plan(c, ch, n, &p);
    svc_plan_drop(&p, c);
    return r;
}

/* ch's value parsed (its own pool), then given to fn; an error of either
 * names the key. */
static int with_value(const struct foyer_etcd_change *ch,
                      int (*fn)(void *arg, const struct json_value *v, char *err,
                                size_t errlen),
                      void *arg, char *err, size_t errlen)
{
    struct foyer_pool *pool = foyer_pool_create(POOL_BLOCK);
    struct json_parser jp;
    struct json_value v;
    int r = -1;
    json_parser_init(&jp, "", 0, NULL);
    if (pool == NULL)
        fail_key(ch, "out of memory", err, errlen);
    else if (parse(ch, pool, &jp, &v, err, errlen) == 0 &&
             (r = fn(arg, &v, err, errlen)) != 0)
        fail_key(ch, err, err, errlen);
    json_parser_free(&jp);
    if (pool != NULL) foyer_pool_destroy(pool);
    return r;
}

/* v compiled as "routes[1]" into rs, as the merge compiles each key. */
static int compile_alone(void *rs, const struct json_value *v, char *err, size_t errlen)
{
    struct rt_cc cc;
    rt_cc_init(&cc, rs, NULL, err, errlen);
    size_t mark = rt_path_key(&cc, "routes");
    rt_path_index(&cc, 0);
    int r = rt_compile_route(&cc, v);
    rt_path_pop(&cc, mark);
    return r;
}

int foyer_config_etcd_check_route(const struct foyer_etcd_change *ch, char *err,
                                  size_t errlen)
{
    struct rt_ruleset *rs = rt_ruleset_new("etcd");
    if (rs == NULL) return fail_key(ch, "out of memory", err, errlen);
    int r = with_value(ch, compile_alone, rs, err, errlen);
    rt_ruleset_unref(rs);
    return r;
}

struct route_change {
    struct foyer_config *c;
    const char *id;
    size_t id_len;
};

static int change_to(void *arg, const struct json_value *v, char *err, size_t errlen)
{
    struct route_change *rc = arg;
    return rt_router_change(rc->c->router, rc->c, rc->id, rc->id_len, v, err, errlen);
}

static int change_route(struct foyer_config *c, const struct foyer_etcd_change *ch,
                        const char *id, size_t id_len, char *err, size_t errlen)
{
    struct route_change rc = {c, id, id_len};
    if (ch->value != NULL) return with_value(ch, change_to, &rc, err, errlen);
    return change_to(&rc, NULL, err, errlen) == 0 ? 0 : fail_key(ch, err, err, errlen);
}

/* Services first made ready (so that a refusal changes nothing), then the
 * routes, then the services committed. */
int foyer_config_etcd_change(struct foyer_config *c, const struct foyer_etcd_change *ch,
                             size_t n, long long revision, char *err, size_t errlen)
{
    const char *id;
    size_t id_len;
    struct svc_plan p = {0};
    int r = 0;
    if (!plan(c, ch, n, &p)) {
        svc_plan_drop(&p, c);
        snprintf(err, errlen, "not a change foyer makes in place");
        return -1;
    }
    for (size_t i = 0; i < n && r == 0; i++)
        if (kind(c, &ch[i], &id, &id_len) == FOYER_ETCD_ROUTE)
            r = change_route(c, &ch[i], id, id_len, err, errlen);
    if (r == 0 && svc_plan_commit(&p, c) != 0) {
        snprintf(err, errlen, "out of memory");
        r = -1;
    }
    svc_plan_drop(&p, c);
    if (r == 0) c->etcd_revision = revision;
    return r;
}
