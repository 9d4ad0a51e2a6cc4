#include "plugin_hooks.h"
#include "config.h"
#include "exchange.h"
#include "fields.h"
#include "log.h"
#include "plugin_api.h"
#include "pool.h"
#include "upstream.h"
#include "proxy.h"
#include "worker.h"

#include <lauxlib.h>
#include <lua.h>
#include <string.h>

static __thread struct foyer_config *loading; /* per thread: reloads load on their own */

struct foyer_config *foyer_plugin_current_config(void)
{
    return loading ? loading : foyer_worker.config;
}

void foyer_plugin_set_loading(struct foyer_config *c)
{
    loading = c;
}

/* Each hook call gets a fresh configuration-handle arena for route settings. */
#define CALL_HOOK(x, result, call)                                                       \
    do {                                                                                 \
        lua_State *L_ = (x)->cfg->L;                                                     \
        int mark_ = foyer_conf_begin(L_);                                                \
        result = (call);                                                                 \
        foyer_conf_end(L_, mark_);                                                       \
    } while (0)

/* Runs hook `field` of plugins from..n with the given arguments after state and r;
 * returns the first result that is not FOYER_CONTINUE. */
#define RUN_HOOKS(x, from, field, ...)                                                   \
    do {                                                                                 \
        struct foyer_config *c_ = (x)->cfg;                                              \
        for (unsigned i_ = (from); i_ < c_->nplugins; i_++) {                            \
            struct foyer_plugin_slot *s_ = &c_->plugins[i_];                             \
            if (FOYER_PLUGIN_HOOK(s_->desc, field) == NULL) continue;                    \
            int r_;                                                                      \
            CALL_HOOK(x, r_,                                                             \
                      s_->desc->field(s_->state, (foyer_request_t *)(x), __VA_ARGS__));  \
            if (r_ != FOYER_CONTINUE) {                                                  \
                (x)->park_plugin = i_;                                                   \
                if (r_ == FOYER_ERROR)                                                   \
                    foyer_err("plugin %s: " #field " failed", s_->name);                 \
                return r_;                                                               \
            }                                                                            \
        }                                                                                \
        return FOYER_CONTINUE;                                                           \
    } while (0)

int foyer_hooks_accept(struct foyer_config *c, const struct sockaddr *peer, socklen_t len)
{
    for (unsigned i = 0; i < c->nplugins; i++) {
        struct foyer_plugin_slot *s = &c->plugins[i];
        if (FOYER_PLUGIN_HOOK(s->desc, on_accept) == NULL) continue;
        int r = s->desc->on_accept(s->state, peer, len);
        if (r != FOYER_CONTINUE) return r;
    }
    return FOYER_CONTINUE;
}

typedef int (*simple_hook)(void *, foyer_request_t *);

static simple_hook get_request_headers(const struct foyer_plugin *d)
{
    return FOYER_PLUGIN_HOOK(d, on_request_headers);
}

static simple_hook get_route(const struct foyer_plugin *d)
{
    return FOYER_PLUGIN_HOOK(d, on_route);
}

static simple_hook get_response_headers(const struct foyer_plugin *d)
{
    return FOYER_PLUGIN_HOOK(d, on_response_headers);
}

/* The hooks that take only (state, r). */
static int run_simple(struct foyer_exchange *x, unsigned from,
                      simple_hook (*get)(const struct foyer_plugin *))
{
    struct foyer_config *c = x->cfg;
    for (unsigned i = from; i < c->nplugins; i++) {
        struct foyer_plugin_slot *s = &c->plugins[i];
        simple_hook fn = get(s->desc);
        if (fn == NULL) continue;
        int r;
        CALL_HOOK(x, r, fn(s->state, (foyer_request_t *)x));
        if (r != FOYER_CONTINUE) {
            x->park_plugin = i;
            if (r == FOYER_ERROR) foyer_err("plugin %s: hook failed", s->name);
            return r;
        }
    }
    return FOYER_CONTINUE;
}

int foyer_hooks_request_headers(struct foyer_exchange *x, unsigned from)
{
    return run_simple(x, from, get_request_headers);
}

int foyer_hooks_route(struct foyer_exchange *x, unsigned from)
{
    return run_simple(x, from, get_route);
}

int foyer_hooks_response_headers(struct foyer_exchange *x)
{
    return run_simple(x, 0, get_response_headers);
}

int foyer_hooks_request_body(struct foyer_exchange *x, const char *data, size_t len)
{
    RUN_HOOKS(x, 0, on_request_body, data, len);
}

int foyer_hooks_request_body_held(struct foyer_exchange *x, const char *data, size_t len,
                                  int complete)
{
    RUN_HOOKS(x, 0, on_request_body_held, data, len, complete);
}

int foyer_hooks_response_body(struct foyer_exchange *x, const char *data, size_t len)
{
    RUN_HOOKS(x, 0, on_response_body, data, len);
}

int foyer_hooks_upstream_select(struct foyer_exchange *x, unsigned *endpoint)
{
    const char *svc = x->route.service->name;
    RUN_HOOKS(x, 0, on_upstream_select, svc, x->tried, x->ntried, endpoint);
}

void foyer_hooks_upstream_result(struct foyer_exchange *x, int connect_error,
                                 int timed_out, int reset)
{
    struct foyer_config *c = x->cfg;
    if (x->ep == NULL) return;
    x->result_reported = 1;
    if (c->nplugins == 0) return;
    struct foyer_upstream_result res = {
        .size = sizeof res,
        .service = x->route.service->name,
        .endpoint = (unsigned)(x->ep - x->route.service->endpoints),
        .address = x->ep->name,
        .connect_error = connect_error,
        .status = x->rhead.status,
        .latency = x->up_sent_at > 0 ? ev_now(foyer_worker.loop) - x->up_sent_at : 0,
        .timed_out = timed_out,
        .reset = reset,
        .reused = x->u != NULL && x->u->reused,
    };
    for (unsigned i = 0; i < c->nplugins; i++) {
        struct foyer_plugin_slot *s = &c->plugins[i];
        void (*fn)(void *, foyer_request_t *, const struct foyer_upstream_result *) =
            FOYER_PLUGIN_HOOK(s->desc, on_upstream_result);
        int unused = 0;
        if (fn != NULL)
            CALL_HOOK(x, unused, (fn(s->state, (foyer_request_t *)x, &res), 0));
        (void)unused;
    }
}

int foyer_hooks_service_health(struct foyer_config *c, const char *service,
                               struct foyer_endpoint_state *st, size_t n)
{
    for (unsigned i = 0; i < c->nplugins; i++) {
        struct foyer_plugin_slot *p = &c->plugins[i];
        int (*fn)(void *, const char *, struct foyer_endpoint_state *, size_t) =
            FOYER_PLUGIN_HOOK(p->desc, service_health);
        if (fn != NULL && fn(p->state, service, st, n) >= 0) return 1;
    }
    return 0;
}

void foyer_hooks_log(struct foyer_exchange *x)
{
    struct foyer_config *c = x->cfg;
    for (unsigned i = 0; i < c->nplugins; i++) {
        struct foyer_plugin_slot *s = &c->plugins[i];
        void (*fn)(void *, foyer_request_t *) = FOYER_PLUGIN_HOOK(s->desc, on_log);
        int unused = 0;
        if (fn != NULL) CALL_HOOK(x, unused, (fn(s->state, (foyer_request_t *)x), 0));
        (void)unused;
    }
}

/* ---- services for plugin_api.c ---- */

const foyer_conf_t *foyer_plugin_route_conf(struct foyer_exchange *x, const char *plugin)
{
    if (x->route.plugins_ref <= 0) return NULL;
    lua_State *L = x->cfg->L;
    if (!lua_checkstack(L, 3)) return NULL;
    lua_rawgeti(L, LUA_REGISTRYINDEX, x->route.plugins_ref);
    lua_getfield(L, -1, plugin);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 2);
        return NULL;
    }
    return foyer_conf_make(L, lua_gettop(L)); /* popped when the hook's arena ends */
}

int foyer_plugin_respond(struct foyer_exchange *x, int status, const char *content_type,
                         const char *body, size_t len)
{
    struct foyer_respond *rs = foyer_pool_alloc(x->pool, sizeof *rs);
    struct foyer_header_edit *h = foyer_pool_alloc(x->pool, sizeof *h);
    char *copy = foyer_pool_alloc(x->pool, len + 1);
    if (rs == NULL || h == NULL || copy == NULL) return -1;
    memset(rs, 0, sizeof *rs);
    if (len) memcpy(copy, body, len);
    rs->status = status;
    rs->body = (struct foyer_str){copy, len};
    if (content_type != NULL) {
        h->op = FOYER_HEADER_SET;
        h->name = (struct foyer_str){"Content-Type", 12};
        h->value = (struct foyer_str){
            foyer_pool_strndup(x->pool, content_type, strlen(content_type)),
            strlen(content_type)};
        if (h->value.p == NULL) return -1;
        rs->headers.v = h;
        rs->headers.n = 1;
    }
    x->route.respond = rs;
    x->route.redirect = NULL;
    x->route.status = 0;
    return 0;
}

void **foyer_plugin_storage(struct foyer_exchange *x, const char *plugin)
{
    struct foyer_config *c = x->cfg;
    for (unsigned i = 0; i < c->nplugins; i++) {
        if (strcmp(c->plugins[i].name, plugin) != 0) continue;
        if (x->plugin_storage == NULL) {
            x->plugin_storage = foyer_pool_alloc(x->pool, c->nplugins * sizeof(void *));
            if (x->plugin_storage == NULL) return NULL;
            memset(x->plugin_storage, 0, c->nplugins * sizeof(void *));
        }
        return &x->plugin_storage[i];
    }
    return NULL;
}

void foyer_plugin_resume(struct foyer_exchange *x, int result)
{
    foyer_proxy_resume(x, result);
}
