/* An exchange: one request proxied to one upstream connection and its response
 * streamed back, in phases: request headers, route, upstream select, upstream
 * result, response headers, body, log. Upgraded connections become a tunnel. */
#ifndef FOYER_PROXY_H
#define FOYER_PROXY_H

#include <stddef.h>

struct foyer_conn;
struct foyer_exchange;

/* Starts an exchange for the head of head_len bytes at the start of c->in. */
void foyer_proxy_start(struct foyer_conn *c, size_t head_len);
/* The client connection's watchers and timer while an exchange owns it. */
void foyer_proxy_client_io(struct foyer_exchange *x, int revents);
void foyer_proxy_client_timeout(struct foyer_exchange *x);
/* The client connection is going away: drop the exchange and its upstream. */
void foyer_proxy_abort(struct foyer_exchange *x);
/* A plugin's api->resume(r, result) for a parked exchange. */
void foyer_proxy_resume(struct foyer_exchange *x, int result);
/* Stop-after-this-response, for a worker shutting down. */
void foyer_proxy_close_after(struct foyer_exchange *x);

#endif
