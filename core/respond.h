/* Responses foyer makes itself: error pages, redirects and the route
 * decision's `respond`. Built in one piece in pool memory. */
#ifndef FOYER_RESPOND_H
#define FOYER_RESPOND_H

#include "http.h"
#include "route.h"

struct foyer_pool;
struct foyer_request;

struct foyer_local_response {
    int status;
    struct foyer_str location;                /* p NULL: none */
    struct foyer_str body;                    /* p NULL: "<status> <reason>\n" */
    const struct foyer_header_edits *headers; /* extra fields, may be NULL */
    int keep_alive;
    int head_only; /* HEAD request: no body bytes */
};

/* Returns the whole response (head and body) or NULL without memory. */
char *foyer_respond_build(struct foyer_pool *pool, const struct foyer_local_response *lr,
                          size_t *len);

/* The Location of a redirect decision for request r, in pool memory. */
struct foyer_str foyer_redirect_location(struct foyer_pool *pool,
                                         const struct foyer_redirect *rd,
                                         struct foyer_request *r);

#endif
