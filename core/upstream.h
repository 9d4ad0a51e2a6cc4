/* Connections to endpoints: a per-worker pool of idle keep-alive connections
 * per endpoint address, and non-blocking connects. */
#ifndef FOYER_UPSTREAM_H
#define FOYER_UPSTREAM_H

#include "addr.h"
#include "deadline.h"

#include <ev.h>

struct foyer_buf;
struct foyer_endpoint;
struct foyer_exchange;

struct foyer_transport;

struct foyer_upstream_pool {
    union foyer_sockaddr addr;
    socklen_t addrlen;
    char *tls_service; /* TLS connections are the service's own (its TLS
                        * settings); NULL for plain ones */
    char name[64];
    struct foyer_upstream *idle;
    unsigned nidle;
    struct foyer_upstream_pool *next;
};

struct foyer_upstream {
    ev_io rio, wio;
    struct foyer_deadline timer;
    int fd;
    const struct foyer_transport *tp; /* TCP, or a plugin's (TLS) */
    void *tp_ctx;
    unsigned connected : 1;        /* connect() completed */
    unsigned read_wants_write : 1; /* the transport reads on when writable (TLS) */
    unsigned write_wants_read : 1; /* ... writes on when readable */
    unsigned reused : 1;           /* came from the idle pool */
    struct foyer_upstream_pool *pool;
    struct foyer_buf *in;
    struct foyer_exchange *x;
    struct foyer_upstream *next_idle;
};

/* Returns a pooled connection or starts a new one (connected = 0 until the
 * socket is writable). tls_service names the service of a TLS endpoint: its
 * connections are pooled apart and a new one needs foyer_upstream_set_transport.
 * NULL with errno on immediate failure. */
struct foyer_upstream *foyer_upstream_get(struct foyer_endpoint *ep,
                                          const char *tls_service);
/* Gives a new connection its transport: 0, or -1 when the plugin refused (u
 * is freed, its fd closed). */
int foyer_upstream_set_transport(struct foyer_upstream *u, int rc,
                                 const struct foyer_transport *tp, void *ctx);
/* Reads through the connection's transport (read(2) terms); asks for the
 * right readiness when the transport waits (TLS). */
ssize_t foyer_upstream_read(struct foyer_upstream *u, void *buf, size_t len);
/* Returns the connection to its pool if reusable and there is room, else closes. */
void foyer_upstream_release(struct foyer_upstream *u, int reusable, unsigned max_idle);
void foyer_upstream_close(struct foyer_upstream *u);
/* Checks a completed non-blocking connect: 0, or an errno. */
int foyer_upstream_connect_error(struct foyer_upstream *u);
/* Drops every idle connection (worker shutdown), or only the TLS ones (a
 * reload: new TLS settings apply to every connection made from now on). */
void foyer_upstream_close_idle(void);
void foyer_upstream_close_idle_tls(void);

#endif
