/* The etcd snapshot merged into a generation being loaded (config_etcd.h).
 *
 * The snapshot is what the master last validated and wrote:
 *   {"revision": 42, "prefix": "/foyer/",
 *    "kvs": [{"key": "/foyer/services/a", "value": {...}}, ...]}
 * Services are declared through the file's own `service` function, so they
 * obey exactly the same rules (and plugins see their tables); routes are
 * compiled by the router compiler router.load uses, one key at a time so an
 * error names its key. Everything runs in a protected call: a Lua error
 * (out of memory, a bad service body) unwinds to one place that frees what
 * the C side holds. */
#include "config.h"
#include "config_etcd.h"
#include "etcd_keys.h"
#include "json.h"
#include "json_lua.h"
#include "pool.h"
#include "router_lua.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define POOL_BLOCK (64 * 1024)
#define SNAPSHOT_MAX (256u * 1024 * 1024)

struct etcd_route {
    const char *id, *key;
    size_t id_len, key_len;
    const struct json_value *value;
};

struct merge {
    struct foyer_config *c;
    const char *name; /* the snapshot's name in errors */
    const char *text;
    size_t len;
    char *owned; /* the file's text, when read here */
    struct foyer_pool *pool;
    struct json_parser jp;
    struct etcd_route *routes;
    size_t nroutes;
    struct rt_ruleset *rs;
};

/* ---- reading ---------------------------------------------------------------------- */

/* The snapshot file into m->owned; 1 if it does not exist, -1 on error. */
static int read_snapshot(struct merge *m, char *err, size_t errlen)
{
    /* O_NONBLOCK: a FIFO named by mistake must not hang the load */
    int fd = open(m->name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 && errno == ENOENT) return 1;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: %s", m->name, fd < 0 ? strerror(errno) : "not a file");
        if (fd >= 0) close(fd);
        return -1;
    }
    FILE *f = fdopen(fd, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", m->name, strerror(errno));
        close(fd);
        return -1;
    }
    size_t cap = 0, len = 0;
    char *buf = NULL;
    for (;;) {
        if (len == cap) {
            char *n = cap >= SNAPSHOT_MAX ? NULL : realloc(buf, cap ? cap * 2 : 65536);
            if (n == NULL) break;
            buf = n;
            cap = cap ? cap * 2 : 65536;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int bad = ferror(f) || !feof(f);
    fclose(f);
    if (bad) {
        snprintf(err, errlen, "%s: cannot read it (too large or an I/O error)", m->name);
        free(buf);
        return -1;
    }
    m->owned = buf;
    m->text = buf ? buf : "";
    m->len = len;
    return 0;
}

/* Raises "etcd KEY: message" (lua_pushfstring knows no %.*s). */
static void fail_key(lua_State *L, const char *key, size_t key_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));
static void fail_key(lua_State *L, const char *key, size_t key_len, const char *fmt, ...)
{
    char msg[1024];
    int n = snprintf(msg, sizeof msg, "etcd %.*s: ", (int)(key_len > 512 ? 512 : key_len),
                     key);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    lua_pushstring(L, msg);
    lua_error(L);
    abort(); /* lua_error does not return */
}

/* ---- services --------------------------------------------------------------------- */

static const struct foyer_service *find_service(const struct foyer_config *c,
                                                const char *name, size_t len)
{
    for (unsigned i = 0; i < c->nservices; i++)
        if (strlen(c->services[i].name) == len &&
            memcmp(c->services[i].name, name, len) == 0)
            return &c->services[i];
    return NULL;
}

/* `service "name" (value)` through the DSL's own function; the declaration's
 * "where" becomes the key, so later errors about it name the key too. */
static void add_service(lua_State *L, struct merge *m, const struct json_value *key,
                        const char *name, size_t len, const struct json_value *v)
{
    const struct foyer_service *dup = find_service(m->c, name, len);
    if (dup != NULL)
        fail_key(L, key->u.str.p, key->u.str.len,
                 "service \"%.*s\" is already declared at %s", (int)len, name,
                 dup->where);
    if (v->type != JSON_OBJECT)
        fail_key(L, key->u.str.p, key->u.str.len,
                 "expected an object {\"endpoints\": [...]}");
    lua_getfield(L, LUA_REGISTRYINDEX, "foyer.dsl.service");
    lua_pushlstring(L, name, len);
    if (lua_pcall(L, 1, 1, 0) == 0) {
        foyer_json_push(L, v);
        if (lua_pcall(L, 1, 0, 0) == 0) {
            struct foyer_service *s = &m->c->services[m->c->nservices - 1];
            char *where = malloc(key->u.str.len + 8);
            if (where == NULL) luaL_error(L, "out of memory");
            sprintf(where, "etcd %.*s: ", (int)key->u.str.len, key->u.str.p);
            free(s->where);
            s->where = where;
            s->from_etcd = 1;
            return;
        }
    }
    fail_key(L, key->u.str.p, key->u.str.len, "%s", lua_tostring(L, -1));
}

/* ---- routes ----------------------------------------------------------------------- */

static int route_order(const void *a, const void *b)
{
    const struct etcd_route *x = a, *y = b;
    return foyer_etcd_route_cmp(x->id, x->id_len, y->id, y->id_len);
}

static void add_route(lua_State *L, struct merge *m, const struct json_value *key,
                      const char *id, size_t len, const struct json_value *v)
{
    struct etcd_route *n = realloc(m->routes, (m->nroutes + 1) * sizeof *n);
    if (n == NULL) luaL_error(L, "out of memory");
    m->routes = n;
    n[m->nroutes++] = (struct etcd_route){
        .id = id,
        .id_len = len,
        .key = key->u.str.p,
        .key_len = key->u.str.len,
        .value = v,
    };
}

/* Each route compiled on its own path "routes[0]" so that an error reads
 * "etcd /foyer/routes/12: routes[0].path: ..." whatever its position. */
static void compile_routes(lua_State *L, struct merge *m)
{
    char err[1024];
    struct rt_cc cc;
    if (m->nroutes > 1) /* qsort wants a non-NULL array even for none */
        qsort(m->routes, m->nroutes, sizeof *m->routes, route_order);
    char name[300];
    snprintf(name, sizeof name, "etcd %sroutes/", m->c->settings.etcd->prefix);
    if ((m->rs = rt_ruleset_new(name)) == NULL) luaL_error(L, "out of memory");
    rt_cc_init(&cc, m->rs, NULL, err, sizeof err);
    size_t mark = rt_path_key(&cc, "routes");
    for (size_t i = 0; i < m->nroutes; i++) {
        size_t im = rt_path_index(&cc, 0);
        if (rt_compile_route(&cc, m->routes[i].value) != 0)
            fail_key(L, m->routes[i].key, m->routes[i].key_len, "%s", err);
        rt_path_pop(&cc, im);
        const char **id = RT_PUSH(m->rs, ids); /* for changes in place */
        if (id == NULL ||
            (*id = rt_strdup(m->rs, m->routes[i].id, m->routes[i].id_len)) == NULL)
            luaL_error(L, "out of memory");
    }
    rt_path_pop(&cc, mark);
    rt_ruleset_seal(m->rs);
}

/* The file declared no route(): etcd's routes are the router (none: every
 * request is a 404 until some arrive). */
static void install_router(lua_State *L, struct merge *m)
{
    char err[1024];
    struct foyer_router **slot = rt_lua_new_router_box(L);
    *slot = rt_router_build(m->rs, NULL, err, sizeof err);
    if (*slot == NULL) luaL_error(L, "%s", err);
    (*slot)->etcd = 1;
    m->c->router = *slot;
    m->c->route_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* ---- the document ----------------------------------------------------------------- */

static const struct json_value *want(lua_State *L, struct merge *m,
                                     const struct json_value *obj, const char *key,
                                     enum json_type type)
{
    const struct json_value *v = obj->type == JSON_OBJECT ? json_get(obj, key) : NULL;
    if (v == NULL || v->type != type)
        luaL_error(L, "%s:%d: expected '%s' of the right type", m->name, (int)obj->line,
                   key);
    return v;
}

static void merge_kv(lua_State *L, struct merge *m, const struct json_value *kv)
{
    const struct json_value *k = want(L, m, kv, "key", JSON_STRING);
    const struct json_value *v = json_get(kv, "value");
    if (v == NULL) luaL_error(L, "%s:%d: expected 'value'", m->name, (int)kv->line);
    const char *name;
    size_t len;
    switch (foyer_etcd_key_kind(m->c->settings.etcd->prefix, k->u.str.p, k->u.str.len,
                                &name, &len)) {
    case FOYER_ETCD_SERVICE:
        add_service(L, m, k, name, len, v);
        break;
    case FOYER_ETCD_ROUTE:
        add_route(L, m, k, name, len, v);
        break;
    default:
        break; /* the master warned when it wrote the snapshot */
    }
}

static int merge_protected(lua_State *L)
{
    struct merge *m = lua_touserdata(L, 1);
    struct json_value doc;
    json_parser_init(&m->jp, m->text, m->len, m->pool);
    if (json_parse_document(&m->jp, &doc) != 0)
        luaL_error(L, "%s:%s", m->name, m->jp.err);
    const struct json_value *rev = want(L, m, &doc, "revision", JSON_NUMBER);
    const struct json_value *kvs = want(L, m, &doc, "kvs", JSON_ARRAY);
    m->c->etcd_revision = (long long)rev->u.number;
    for (size_t i = 0; i < kvs->u.arr.n; i++)
        merge_kv(L, m, &kvs->u.arr.v[i]);
    compile_routes(L, m);
    if (m->c->route_ref == LUA_NOREF) install_router(L, m);
    return 0;
}

int foyer_config_etcd_merge(struct foyer_config *c, const char *text, size_t len,
                            char *err, size_t errlen)
{
    struct merge m = {.c = c, .text = text, .len = len};
    m.name = text != NULL ? "etcd snapshot" : c->settings.etcd->snapshot;
    if (text == NULL) {
        int r = read_snapshot(&m, err, errlen);
        if (r < 0) return -1;
        if (r > 0) { /* no snapshot yet: the file alone, plus an empty router */
            m.text = "{\"revision\":0,\"kvs\":[]}";
            m.len = strlen(m.text);
        }
        c->etcd_snapshot_found = r == 0;
    }
    int rc = -1;
    if ((m.pool = foyer_pool_create(POOL_BLOCK)) == NULL)
        snprintf(err, errlen, "%s: out of memory", m.name);
    else if (lua_cpcall(c->L, merge_protected, &m) != 0) {
        snprintf(err, errlen, "%s", lua_tostring(c->L, -1));
        lua_pop(c->L, 1);
    } else
        rc = 0;
    json_parser_free(&m.jp);
    foyer_pool_destroy(m.pool);
    rt_ruleset_unref(m.rs);
    free(m.routes);
    free(m.owned);
    return rc;
}
