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

struct foyer_upstream_pool {
    union foyer_sockaddr addr;
    socklen_t addrlen;
    char name[64];
    struct foyer_upstream *idle;
    unsigned nidle;
    struct foyer_upstream_pool *next;
};

struct foyer_upstream {
    ev_io rio, wio;
    struct foyer_deadline timer;
    int fd;
    unsigned connected : 1; /* connect() completed */
    unsigned reused : 1;    /* came from the idle pool */
    struct foyer_upstream_pool *pool;
    struct foyer_buf *in;
    struct foyer_exchange *x;
    struct foyer_upstream *next_idle;
};

/* Returns a pooled connection or starts a new one (connected = 0 until the
 * socket is writable). NULL with errno on immediate failure. */
struct foyer_upstream *foyer_upstream_get(struct foyer_endpoint *ep);
/* Returns the connection to its pool if reusable and there is room, else closes. */
void foyer_upstream_release(struct foyer_upstream *u, int reusable, unsigned max_idle);
void foyer_upstream_close(struct foyer_upstream *u);
/* Checks a completed non-blocking connect: 0, or an errno. */
int foyer_upstream_connect_error(struct foyer_upstream *u);
/* Drops every idle connection (worker shutdown). */
void foyer_upstream_close_idle(void);

#endif
