#include "plugin_transport.h"
#include "config.h"
#include "log.h"
#include "plugin_api.h"
#include "transport.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

/* A connection can outlive the configuration that loaded its plugin (a reload
 * dropping `plugin "tls"` while connections are open): each holds its own
 * reference to the shared object, so the code stays mapped until it closes. */
struct wrapped {
    const struct foyer_transport_ops *ops;
    void *conn;
    void *library;
};

#define W(ctx) ((struct wrapped *)(ctx))
/* An op of the plugin's table, or NULL when beyond the size it was built with. */
#define OP(ops, field)                                                                   \
    ((ops)->size >= offsetof(struct foyer_transport_ops, field) + sizeof((ops)->field)   \
         ? (ops)->field                                                                  \
         : NULL)

static ssize_t p_read(void *ctx, int fd, void *buf, size_t len)
{
    return W(ctx)->ops->read(W(ctx)->conn, fd, buf, len);
}

static ssize_t p_writev(void *ctx, int fd, const struct iovec *iov, int iovcnt)
{
    return W(ctx)->ops->writev(W(ctx)->conn, fd, iov, iovcnt);
}

static int p_shutdown(void *ctx, int fd)
{
    int (*fn)(void *, int) = OP(W(ctx)->ops, shutdown);
    return fn ? fn(W(ctx)->conn, fd) : 0;
}

static void p_close(void *ctx, int fd)
{
    void *library = W(ctx)->library;
    W(ctx)->ops->close(W(ctx)->conn, fd);
    free(ctx);
    if (library != NULL) dlclose(library);
}

static int p_want(void *ctx)
{
    int (*fn)(void *) = OP(W(ctx)->ops, want);
    return fn ? fn(W(ctx)->conn) : FOYER_WANT_READ;
}

static size_t p_pending(void *ctx)
{
    size_t (*fn)(void *) = OP(W(ctx)->ops, pending);
    return fn ? fn(W(ctx)->conn) : 0;
}

static const char *p_info(void *ctx, const char *key)
{
    const char *(*fn)(void *, const char *) = OP(W(ctx)->ops, info);
    return fn ? fn(W(ctx)->conn, key) : NULL;
}

static const struct foyer_transport plugin_transport = {
    .name = "plugin",
    .read = p_read,
    .writev = p_writev,
    .shutdown = p_shutdown,
    .close = p_close,
    .want = p_want,
    .pending = p_pending,
    .info = p_info,
};

/* Takes the transport a plugin gave (or refused: -1, fd closed). */
static int wrap(struct foyer_plugin_slot *s, int rc, struct wrapped *w, int fd,
                const struct foyer_transport **tp, void **ctx)
{
    if (rc != 0 || w->ops == NULL || w->ops->read == NULL || w->ops->writev == NULL ||
        w->ops->close == NULL) {
        free(w);
        close(fd);
        return -1;
    }
    w->library = dlopen(s->path, RTLD_NOW | RTLD_NOLOAD); /* one more reference */
    *tp = &plugin_transport;
    *ctx = w;
    return 0;
}

int foyer_plugin_transport(struct foyer_config *c, unsigned listener, int fd,
                           const struct foyer_transport **tp, void **ctx)
{
    *tp = &foyer_transport_tcp;
    *ctx = NULL;
    if (listener >= c->nlistens || c->listens[listener].plugin < 0) return 0;
    struct foyer_plugin_slot *s = &c->plugins[c->listens[listener].plugin];
    int (*fn)(void *, unsigned, int, const struct foyer_transport_ops **, void **) =
        FOYER_PLUGIN_HOOK(s->desc, on_connection);
    struct wrapped *w = calloc(1, sizeof *w);
    if (fn == NULL)
        foyer_err("plugin %s: no on_connection for listener %s", s->name,
                  c->listens[listener].text);
    int rc = fn && w ? fn(s->state, listener, fd, &w->ops, &w->conn) : -1;
    return wrap(s, rc, w, fd, tp, ctx);
}

int foyer_plugin_upstream_transport(struct foyer_config *c, struct foyer_service *svc,
                                    unsigned endpoint, int fd,
                                    const struct foyer_transport **tp, void **ctx)
{
    if (svc->tls_plugin < 0 || (unsigned)svc->tls_plugin >= c->nplugins) {
        close(fd);
        return -1;
    }
    struct foyer_plugin_slot *s = &c->plugins[svc->tls_plugin];
    int (*fn)(void *, const char *, unsigned, int, const struct foyer_transport_ops **,
              void **) = FOYER_PLUGIN_HOOK(s->desc, on_upstream_connection);
    struct wrapped *w = calloc(1, sizeof *w);
    int rc = fn && w ? fn(s->state, svc->name, endpoint, fd, &w->ops, &w->conn) : -1;
    return wrap(s, rc, w, fd, tp, ctx);
}
