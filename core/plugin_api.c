/* struct foyer_api: everything a plugin may do, as plain functions over the
 * core's private structures. Each checks its arguments: a plugin passing
 * nonsense gets an error return, never a crash in the core. */
#include "build-config.h"
#include "plugin_api.h"
#include "metrics.h"
#include "config.h"
#include "exchange.h"
#include "fields.h"
#include "log.h"
#include "plugin_hooks.h"
#include "pool.h"
#include "request.h"
#include "worker.h"

#include <fcntl.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- configuration tables ---- */

#define CONF_HANDLES 512
static __thread struct foyer_conf conf_arena[CONF_HANDLES];
static __thread int conf_used, conf_mark;

int foyer_conf_begin(lua_State *L)
{
    conf_used = 0;
    conf_mark = lua_gettop(L);
    return conf_mark;
}

void foyer_conf_end(lua_State *L, int mark)
{
    lua_settop(L, mark);
    conf_used = 0;
}

const foyer_conf_t *foyer_conf_make(lua_State *L, int idx)
{
    if (conf_used == CONF_HANDLES) return NULL;
    struct foyer_conf *c = &conf_arena[conf_used++];
    c->L = L;
    c->idx = idx > 0 ? idx : lua_gettop(L) + 1 + idx; /* absolute: the stack grows */
    return c;
}

/* Pushes t[key]; the caller pops. */
static int get_field(const foyer_conf_t *t, const char *key)
{
    if (t == NULL || key == NULL) return LUA_TNONE;
    lua_State *L = t->L;
    if (!lua_checkstack(L, 4)) return LUA_TNONE;
    lua_getfield(L, t->idx, key);
    return lua_type(L, -1);
}

static const char *conf_string(const foyer_conf_t *t, const char *key)
{
    int type = get_field(t, key);
    if (type == LUA_TNONE) return NULL;
    const char *s = type == LUA_TSTRING ? lua_tostring(t->L, -1) : NULL;
    lua_pop(t->L, 1); /* the table still references the string */
    return s;
}

static int conf_number(const foyer_conf_t *t, const char *key, double *out)
{
    int type = get_field(t, key);
    if (type == LUA_TNONE) return -1;
    if (type == LUA_TNUMBER && out) *out = lua_tonumber(t->L, -1);
    lua_pop(t->L, 1);
    return type == LUA_TNUMBER ? 0 : -1;
}

static int conf_bool(const foyer_conf_t *t, const char *key, int *out)
{
    int type = get_field(t, key);
    if (type == LUA_TNONE) return -1;
    if (type == LUA_TBOOLEAN && out) *out = lua_toboolean(t->L, -1);
    lua_pop(t->L, 1);
    return type == LUA_TBOOLEAN ? 0 : -1;
}

/* Sub-tables stay on the stack for the rest of the call; the arena ends it. */
static const foyer_conf_t *conf_table(const foyer_conf_t *t, const char *key)
{
    int type = get_field(t, key);
    if (type == LUA_TNONE) return NULL;
    if (type != LUA_TTABLE) {
        lua_pop(t->L, 1);
        return NULL;
    }
    return foyer_conf_make(t->L, lua_gettop(t->L));
}

static size_t conf_len(const foyer_conf_t *t)
{
    return t ? lua_objlen(t->L, t->idx) : 0;
}

static const foyer_conf_t *conf_index(const foyer_conf_t *t, size_t i)
{
    if (t == NULL || !lua_checkstack(t->L, 2)) return NULL;
    lua_rawgeti(t->L, t->idx, (int)i);
    if (!lua_istable(t->L, -1)) {
        lua_pop(t->L, 1);
        return NULL;
    }
    return foyer_conf_make(t->L, lua_gettop(t->L));
}

static const char *conf_index_string(const foyer_conf_t *t, size_t i)
{
    if (t == NULL || !lua_checkstack(t->L, 2)) return NULL;
    lua_rawgeti(t->L, t->idx, (int)i);
    const char *s = lua_type(t->L, -1) == LUA_TSTRING ? lua_tostring(t->L, -1) : NULL;
    lua_pop(t->L, 1);
    return s;
}

static int conf_index_number(const foyer_conf_t *t, size_t i, double *out)
{
    if (t == NULL || !lua_checkstack(t->L, 2)) return -1;
    lua_rawgeti(t->L, t->idx, (int)i);
    int ok = lua_type(t->L, -1) == LUA_TNUMBER;
    if (ok) *out = lua_tonumber(t->L, -1);
    lua_pop(t->L, 1);
    return ok ? 0 : -1;
}

static const char *conf_next_key(const foyer_conf_t *t, const char *prev)
{
    if (t == NULL || !lua_checkstack(t->L, 4)) return NULL;
    lua_State *L = t->L;
    if (prev)
        lua_pushstring(L, prev);
    else
        lua_pushnil(L);
    while (lua_next(L, t->idx) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -1);
            lua_pop(L, 1);
            return k;
        }
    }
    return NULL;
}

/* ---- logging ---- */

static void api_log(const char *plugin, int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt ? fmt : "", ap);
    va_end(ap);
    enum foyer_log_level lv = level <= FOYER_LOG_ERROR     ? FOYER_LOG_ERR
                              : level == FOYER_LOG_WARNING ? FOYER_LOG_WARN
                              : level == FOYER_LOG_NOTICE  ? FOYER_LOG_INFO
                                                           : FOYER_LOG_DEBUG;
    foyer_log(lv, "plugin %s: %s", plugin ? plugin : "?", msg);
}

/* ---- the request ---- */

#define X(r) ((struct foyer_exchange *)(r))

static const char *ret_str(struct foyer_str s, size_t *len)
{
    if (len) *len = s.len;
    return s.p;
}

static const char *req_method(foyer_request_t *r, size_t *len)
{
    return r ? ret_str(X(r)->req.head.method, len) : NULL;
}

static const char *req_path(foyer_request_t *r, size_t *len)
{
    return r ? ret_str(X(r)->req.info.path, len) : NULL;
}

static const char *req_query(foyer_request_t *r, size_t *len)
{
    return r ? ret_str(X(r)->req.info.query, len) : NULL;
}

static const char *req_host(foyer_request_t *r)
{
    return r ? foyer_request_host(&X(r)->req) : NULL;
}

static const char *req_header(foyer_request_t *r, const char *name, size_t *len)
{
    size_t n;
    if (r == NULL || name == NULL) return NULL;
    const char *v = foyer_request_header(&X(r)->req, name, strlen(name), &n);
    if (v && len) *len = n;
    return v;
}

static const char *req_target(foyer_request_t *r, size_t *len)
{
    return r ? ret_str(X(r)->req.head.target, len) : NULL;
}

static int req_header_at(foyer_request_t *r, size_t i, const char **name,
                         size_t *name_len, const char **value, size_t *value_len)
{
    if (r == NULL || i >= X(r)->req.head.nheaders) return -1;
    const struct foyer_http_header *h = &X(r)->req.head.headers[i];
    *name = ret_str(h->name, name_len);
    *value = ret_str(h->value, value_len);
    return 0;
}

#define FOYER_HOLD_MAX (16u << 20)

/* Too late once the upstream request is built (on_request_body_held and on). */
static int req_hold_body(foyer_request_t *r, size_t max)
{
    if (r == NULL || X(r)->up_head != NULL || X(r)->holding || max == 0) return -1;
    if (max > FOYER_HOLD_MAX) max = FOYER_HOLD_MAX; /* memory per request stays bounded */
    if (max > X(r)->hold_max) X(r)->hold_max = max;
    return 0;
}

static const char *req_id(foyer_request_t *r)
{
    return r ? X(r)->request_id.p : NULL;
}

static const struct sockaddr *req_client(foyer_request_t *r)
{
    return r ? &X(r)->req.client->sa : NULL;
}

static int valid_edit(const char *name, const char *value)
{
    if (name == NULL || *name == '\0') return 0;
    for (const char *p = name; *p; p++)
        if (*p <= ' ' || *p == ':' || *p == 0x7f) return 0;
    for (const char *p = value ? value : ""; *p; p++)
        if ((*p < ' ' && *p != '\t') || *p == 0x7f) return 0;
    return !foyer_field_is_protected((struct foyer_str){name, strlen(name)});
}

static int push_edit(struct foyer_exchange *x, struct foyer_header_edit_list *l,
                     const char *name, const char *value)
{
    if (l->n == l->cap) {
        unsigned cap = l->cap ? l->cap * 2 : 4;
        struct foyer_header_edit *v = foyer_pool_alloc(x->pool, cap * sizeof *v);
        if (v == NULL) return -1;
        if (l->n) memcpy(v, l->v, l->n * sizeof *v);
        l->v = v;
        l->cap = cap;
    }
    struct foyer_header_edit *e = &l->v[l->n];
    e->op = value ? FOYER_HEADER_SET : FOYER_HEADER_REMOVE;
    e->name.p = foyer_pool_strndup(x->pool, name, strlen(name));
    e->name.len = strlen(name);
    e->value.p = value ? foyer_pool_strndup(x->pool, value, strlen(value)) : "";
    e->value.len = value ? strlen(value) : 0;
    if (e->name.p == NULL || e->value.p == NULL) return -1;
    l->n++;
    return 0;
}

static int req_set_header(foyer_request_t *r, const char *name, const char *value)
{
    if (r == NULL || X(r)->up_head != NULL || !valid_edit(name, value)) return -1;
    return push_edit(X(r), &X(r)->plugin_req_edits, name, value);
}

static int resp_set_header(foyer_request_t *r, const char *name, const char *value)
{
    if (r == NULL || X(r)->resp_head_built || !valid_edit(name, value)) return -1;
    return push_edit(X(r), &X(r)->plugin_resp_edits, name, value);
}

/* The status the client gets: the upstream's, or foyer's own error page. */
static int resp_status(foyer_request_t *r)
{
    return r ? X(r)->status : 0;
}

static const char *route_service(foyer_request_t *r)
{
    return r && X(r)->route.service ? X(r)->route.service->name : NULL;
}

static const char *route_hash_key(foyer_request_t *r, size_t *len)
{
    return r ? ret_str(X(r)->route.hash_key, len) : NULL;
}

static const foyer_conf_t *route_plugin_conf(foyer_request_t *r, const char *plugin)
{
    return r && plugin ? foyer_plugin_route_conf(X(r), plugin) : NULL;
}

static int respond(foyer_request_t *r, int status, const char *content_type,
                   const char *body, size_t len)
{
    if (r == NULL || status < 200 || status > 599 || X(r)->resp_started) return -1;
    return foyer_plugin_respond(X(r), status, content_type, body, len);
}

static void *alloc(foyer_request_t *r, size_t n)
{
    return r ? foyer_pool_alloc(X(r)->pool, n) : NULL;
}

static void **storage(foyer_request_t *r, const char *plugin)
{
    return r && plugin ? foyer_plugin_storage(X(r), plugin) : NULL;
}

static void resume(foyer_request_t *r, int result)
{
    if (r != NULL) foyer_plugin_resume(X(r), result);
}

/* ---- the loop ---- */

struct foyer_timer {
    ev_timer w;
    void (*cb)(void *);
    void *arg;
};

struct foyer_io {
    ev_io w;
    void (*cb)(int, void *);
    void *arg;
};

static void timer_fired(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct foyer_timer *t = (struct foyer_timer *)w;
    t->cb(t->arg);
}

static foyer_timer_t *timer_start(double after, double repeat, void (*cb)(void *),
                                  void *arg)
{
    if (foyer_worker.loop == NULL || cb == NULL || after < 0 || repeat < 0) return NULL;
    struct foyer_timer *t = malloc(sizeof *t);
    if (t == NULL) return NULL;
    t->cb = cb;
    t->arg = arg;
    ev_timer_init(&t->w, timer_fired, after, repeat);
    ev_timer_start(foyer_worker.loop, &t->w);
    return t;
}

static void timer_stop(foyer_timer_t *t)
{
    if (t == NULL) return;
    ev_timer_stop(foyer_worker.loop, &t->w);
    free(t);
}

static void io_ready(struct ev_loop *loop, ev_io *w, int revents)
{
    struct foyer_io *io = (struct foyer_io *)w;
    io->cb(w->fd, io->arg);
}

static foyer_io_t *io_watch(int fd, int writable, void (*cb)(int, void *), void *arg)
{
    if (foyer_worker.loop == NULL || fd < 0 || cb == NULL) return NULL;
    struct foyer_io *io = malloc(sizeof *io);
    if (io == NULL) return NULL;
    io->cb = cb;
    io->arg = arg;
    ev_io_init(&io->w, io_ready, fd, writable ? EV_WRITE : EV_READ);
    ev_io_start(foyer_worker.loop, &io->w);
    return io;
}

static void io_stop(foyer_io_t *io)
{
    if (io == NULL) return;
    ev_io_stop(foyer_worker.loop, &io->w);
    free(io);
}

static double now(void)
{
    return foyer_worker.loop ? ev_now(foyer_worker.loop) : ev_time();
}

static int worker_id(void)
{
    return foyer_worker.loop ? foyer_worker.id : -1;
}

static int worker_count(void)
{
    return foyer_worker.nworkers;
}

/* ---- counters ---- */

struct counter {
    struct counter *next;
    uint64_t value;
    char name[];
};

static struct counter *counters;

static uint64_t *counter(const char *plugin, const char *name)
{
    char full[256];
    if (plugin == NULL || name == NULL) return NULL;
    snprintf(full, sizeof full, "%s.%s", plugin, name);
    for (struct counter *c = counters; c != NULL; c = c->next)
        if (strcmp(c->name, full) == 0) return &c->value;
    struct counter *c = calloc(1, sizeof *c + strlen(full) + 1);
    if (c == NULL) return NULL;
    strcpy(c->name, full);
    c->next = counters;
    counters = c;
    return &c->value;
}

void foyer_plugin_counters_publish(void)
{
    for (struct counter *c = counters; c != NULL; c = c->next) {
        char plugin[128];
        const char *dot = strchr(c->name, '.');
        size_t n = dot ? (size_t)(dot - c->name) : 0;
        snprintf(plugin, sizeof plugin, "%.*s", (int)n, c->name);
        foyer_metrics_publish(plugin, dot ? dot + 1 : c->name, c->value);
    }
}

/* ---- services ---- */

static struct foyer_service *service(const char *name)
{
    struct foyer_config *c = foyer_plugin_current_config();
    return c && name ? foyer_config_service(c, name, strlen(name)) : NULL;
}

static size_t service_endpoints(const char *name)
{
    struct foyer_service *s = service(name);
    return s ? s->nendpoints : 0;
}

static const char *service_endpoint(const char *name, size_t i)
{
    struct foyer_service *s = service(name);
    return s && i < s->nendpoints ? s->endpoints[i].name : NULL;
}

static const struct sockaddr *service_endpoint_addr(const char *name, size_t i,
                                                    socklen_t *len)
{
    struct foyer_service *s = service(name);
    if (s == NULL || i >= s->nendpoints) return NULL;
    if (len) *len = s->endpoints[i].addrlen;
    return &s->endpoints[i].addr.sa;
}

static unsigned service_endpoint_weight(const char *name, size_t i)
{
    struct foyer_service *s = service(name);
    return s && i < s->nendpoints ? s->endpoints[i].weight : 0;
}

static int service_endpoint_backup(const char *name, size_t i)
{
    struct foyer_service *s = service(name);
    return s && i < s->nendpoints ? s->endpoints[i].backup : 0;
}

static size_t service_count(void)
{
    struct foyer_config *c = foyer_plugin_current_config();
    return c ? c->nservices : 0;
}

static const char *service_name(size_t i)
{
    struct foyer_config *c = foyer_plugin_current_config();
    return c && i < c->nservices ? c->services[i].name : NULL;
}

/* Only while a configuration is being loaded (config_ready). Each call starts
 * the handle arena afresh, so any number of services can be read one after
 * another; handles from the previous call become invalid. */
static const foyer_conf_t *service_conf(const char *name)
{
    struct foyer_service *s = service(name);
    struct foyer_config *c = foyer_plugin_current_config();
    if (s == NULL || s->conf_ref <= 0 || c == NULL) return NULL;
    lua_settop(c->L, conf_mark);
    conf_used = 0;
    if (!lua_checkstack(c->L, 2)) return NULL;
    lua_rawgeti(c->L, LUA_REGISTRYINDEX, s->conf_ref);
    return foyer_conf_make(c->L, lua_gettop(c->L));
}

/* ---- listeners ---- */

static size_t listen_count(void)
{
    struct foyer_config *c = foyer_plugin_current_config();
    return c ? c->nlistens : 0;
}

static const char *listen_address(size_t i)
{
    struct foyer_config *c = foyer_plugin_current_config();
    return c && i < c->nlistens ? c->listens[i].text : NULL;
}

/* Like service_conf: config_ready only, one at a time. */
static const foyer_conf_t *listen_conf(size_t i)
{
    struct foyer_config *c = foyer_plugin_current_config();
    if (c == NULL || i >= c->nlistens || c->listens[i].conf_ref <= 0) return NULL;
    lua_settop(c->L, conf_mark);
    conf_used = 0;
    if (!lua_checkstack(c->L, 2)) return NULL;
    lua_rawgeti(c->L, LUA_REGISTRYINDEX, c->listens[i].conf_ref);
    return foyer_conf_make(c->L, lua_gettop(c->L));
}

/* ---- shared memory: one segment per (master, plugin, name), mapped by the
 * master and every worker alike, whenever each first asks. ---- */

struct shm_name {
    struct shm_name *next;
    char name[];
};

static struct shm_name *shm_created; /* the master unlinks these at exit */

pid_t foyer_master_pid;

static void *shared_memory(const char *plugin, const char *name, size_t size)
{
    char path[200];
    if (plugin == NULL || name == NULL || size == 0 || size > (1u << 30)) return NULL;
    snprintf(path, sizeof path, "/foyer.%d.%s.%s", (int)foyer_master_pid, plugin, name);
    for (char *p = path + 1; *p; p++)
        if (*p == '/') *p = '_';
    int fd = shm_open(path, O_RDWR | O_CREAT, 0600);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 ||
        ((size_t)st.st_size < size && ftruncate(fd, (off_t)size) != 0)) {
        close(fd);
        return NULL;
    }
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return NULL;
    if (getpid() == foyer_master_pid) {
        struct shm_name *n = malloc(sizeof *n + strlen(path) + 1);
        if (n != NULL) {
            strcpy(n->name, path);
            n->next = shm_created;
            shm_created = n;
        }
    }
    return m;
}

void foyer_plugin_shared_cleanup(void)
{
    while (shm_created != NULL) {
        struct shm_name *n = shm_created;
        shm_created = n->next;
        shm_unlink(n->name);
        free(n);
    }
}

const struct foyer_api foyer_plugin_api = {
    .size = sizeof(struct foyer_api),
    .abi_version = FOYER_PLUGIN_ABI_VERSION,
    .foyer_version = PACKAGE_VERSION,
    .log = api_log,
    .conf_string = conf_string,
    .conf_number = conf_number,
    .conf_bool = conf_bool,
    .conf_table = conf_table,
    .conf_len = conf_len,
    .conf_index = conf_index,
    .conf_index_string = conf_index_string,
    .conf_next_key = conf_next_key,
    .req_method = req_method,
    .req_path = req_path,
    .req_query = req_query,
    .req_host = req_host,
    .req_header = req_header,
    .req_client = req_client,
    .req_set_header = req_set_header,
    .resp_set_header = resp_set_header,
    .resp_status = resp_status,
    .route_service = route_service,
    .route_hash_key = route_hash_key,
    .route_plugin_conf = route_plugin_conf,
    .respond = respond,
    .alloc = alloc,
    .storage = storage,
    .resume = resume,
    .timer_start = timer_start,
    .timer_stop = timer_stop,
    .io_watch = io_watch,
    .io_stop = io_stop,
    .now = now,
    .worker_id = worker_id,
    .worker_count = worker_count,
    .counter = counter,
    .service_endpoints = service_endpoints,
    .service_endpoint = service_endpoint,
    .service_endpoint_addr = service_endpoint_addr,
    .service_endpoint_weight = service_endpoint_weight,
    .service_endpoint_backup = service_endpoint_backup,
    .service_count = service_count,
    .service_name = service_name,
    .service_conf = service_conf,
    .shared_memory = shared_memory,
    .listen_count = listen_count,
    .listen_address = listen_address,
    .listen_conf = listen_conf,
    .req_target = req_target,
    .req_header_at = req_header_at,
    .req_hold_body = req_hold_body,
    .conf_index_number = conf_index_number,
    .req_id = req_id,
};

int foyer_plugin_call_init(struct foyer_plugin_slot *s, lua_State *L, int conf_idx,
                           char *err, size_t errlen)
{
    int (*init)(const struct foyer_api *, const foyer_conf_t *, void **, char *, size_t) =
        FOYER_PLUGIN_HOOK(s->desc, init);
    if (init == NULL) return 0;
    int mark = foyer_conf_begin(L);
    const foyer_conf_t *conf = foyer_conf_make(L, conf_idx);
    err[0] = '\0';
    int rc = init(&foyer_plugin_api, conf, &s->state, err, errlen);
    foyer_conf_end(L, mark);
    if (rc != 0 && err[0] == '\0') snprintf(err, errlen, "init failed");
    return rc == 0 ? 0 : -1;
}
