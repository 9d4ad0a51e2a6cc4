/* An etcd change applied to a running generation in place (config_etcd.h).
 *
 * What can change in place is what etcd's routes make: the router built
 * from them (router_live.c changes one route at a time). Anything else a
 * change touches (a service, whose endpoints plugins keep state about, or
 * routes when the file routes by itself) goes through a full load. A route
 * is checked alone exactly as the merge compiles it, so a key refused here
 * would be refused there too, with the same message. */
#include "config.h"
#include "config_etcd.h"
#include "etcd_keys.h"
#include "json.h"
#include "pool.h"
#include "router_int.h"

#include <stdio.h>
#include <string.h>

#define POOL_BLOCK (16 * 1024)

static enum foyer_etcd_key kind(const struct foyer_config *c,
                                const struct foyer_etcd_change *ch, const char **id,
                                size_t *id_len)
{
    return foyer_etcd_key_kind(c->settings.etcd->prefix, ch->key, ch->key_len, id,
                               id_len);
}

int foyer_config_etcd_can_change(const struct foyer_config *c,
                                 const struct foyer_etcd_change *ch, size_t n)
{
    const char *id;
    size_t id_len;
    if (c->settings.etcd == NULL || c->router == NULL || !c->router->etcd) return 0;
    if (rt_router_wants_rebuild(c->router)) return 0; /* time to reclaim memory */
    for (size_t i = 0; i < n; i++)
        if (kind(c, &ch[i], &id, &id_len) == FOYER_ETCD_SERVICE) return 0;
    return 1;
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

int foyer_config_etcd_change(struct foyer_config *c, const struct foyer_etcd_change *ch,
                             size_t n, long long revision, char *err, size_t errlen)
{
    const char *id;
    size_t id_len;
    if (!foyer_config_etcd_can_change(c, ch, n)) {
        snprintf(err, errlen, "not a change of etcd routes alone");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (kind(c, &ch[i], &id, &id_len) == FOYER_ETCD_ROUTE &&
            change_route(c, &ch[i], id, id_len, err, errlen) != 0)
            return -1;
    c->etcd_revision = revision;
    return 0;
}
