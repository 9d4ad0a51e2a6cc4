/* What a request is to the routing layer: its parsed head, where it came from,
 * and the per-request pool that owns every derived string. */
#ifndef FOYER_REQUEST_H
#define FOYER_REQUEST_H

#include "addr.h"
#include "http.h"

struct foyer_pool;
struct foyer_service;

struct foyer_request {
    struct foyer_pool *pool;
    struct foyer_http_head head;
    struct foyer_request_info info;
    const union foyer_sockaddr *client;
    const char *scheme;
    unsigned listen_port;
    const char *host_lc; /* lower-cased host name, made on first use */
};

/* The route decision: the routing issue extends it (rewrites, header changes,
 * redirect/respond, timeouts, hash key); the proxy consumes it. */
struct foyer_route_decision {
    struct foyer_service *service;
    int status; /* nonzero: answer with this status instead of proxying */
    const char *tag;
};

/* Lower-cased host without port, "" when the request has none. */
const char *foyer_request_host(struct foyer_request *r);
/* All values of a field, joined with ", "; NULL when absent. */
const char *foyer_request_header(struct foyer_request *r, const char *name, size_t len,
                                 size_t *out_len);

#endif
