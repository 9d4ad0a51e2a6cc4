/* What a request is to the routing layer: its parsed head, where it came from,
 * and the per-request pool that owns every derived string. */
#ifndef FOYER_REQUEST_H
#define FOYER_REQUEST_H

#include "addr.h"
#include "http.h"
#include "route.h"

struct foyer_pool;
struct foyer_service;
struct foyer_transport;

struct foyer_request {
    struct foyer_pool *pool;
    struct foyer_http_head head;
    struct foyer_request_info info;
    const union foyer_sockaddr *client;
    const char *scheme;
    unsigned listen_port;
    const struct foyer_transport *tp; /* the client connection's, for req.tls */
    void *tp_ctx;
    const char *host_lc; /* lower-cased host name, made on first use */
};

/* Lower-cased host without port, "" when the request has none. */
const char *foyer_request_host(struct foyer_request *r);
/* All values of a field, joined with ", "; NULL when absent. */
const char *foyer_request_header(struct foyer_request *r, const char *name, size_t len,
                                 size_t *out_len);

/* Query parameter, percent- and '+'-decoded (first occurrence); NULL if absent. */
const char *foyer_request_arg(struct foyer_request *r, const char *name, size_t len,
                              size_t *out_len);
/* Cookie value from the Cookie field(s); NULL if absent. */
const char *foyer_request_cookie(struct foyer_request *r, const char *name, size_t len,
                                 size_t *out_len);
/* Percent-decodes s (and '+' as space when plus is set) into pool memory. */
char *foyer_url_decode(struct foyer_pool *pool, const char *s, size_t len, int plus,
                       size_t *out_len);

#endif
