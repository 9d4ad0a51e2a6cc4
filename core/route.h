/* The route decision: what the routing layer (a Lua route function or the
 * compiled router) tells the proxy to do with one request. Strings live in the
 * request's pool or in the config generation the exchange holds a reference
 * to, so they outlive the decision. A str with p == NULL means "unchanged". */
#ifndef FOYER_ROUTE_H
#define FOYER_ROUTE_H

#include "http.h"

struct foyer_service;

enum foyer_header_op { FOYER_HEADER_SET, FOYER_HEADER_ADD, FOYER_HEADER_REMOVE };

/* set replaces every field of that name, add appends one more, remove drops all;
 * applied in order. Names compare case-insensitively. */
struct foyer_header_edit {
    enum foyer_header_op op;
    struct foyer_str name, value;
};

struct foyer_header_edits {
    const struct foyer_header_edit *v;
    unsigned n;
};

/* Location = scheme://host[:port]path[?query]; each part defaults to the
 * request's; a port equal to the scheme's default is omitted. */
struct foyer_redirect {
    int status; /* 301, 302, 303, 307 or 308 */
    struct foyer_str scheme, host, path;
    unsigned port; /* 0: the request's port if the scheme is unchanged, else default */
};

/* A response made by the proxy itself. */
struct foyer_respond {
    int status;
    struct foyer_str body;
    struct foyer_header_edits headers; /* set and add only */
};

struct foyer_route_decision {
    struct foyer_service *service; /* where to proxy; NULL when answering locally */
    int status;                    /* nonzero: the proxy's own error page (404, 500...) */
    const struct foyer_redirect *redirect;
    const struct foyer_respond *respond;
    struct foyer_str path; /* path sent upstream, query kept */
    struct foyer_str host; /* Host sent upstream */
    struct foyer_header_edits request_headers, response_headers;
    double timeout; /* upstream read timeout for this request, 0 = the setting */
    struct foyer_str hash_key;    /* for hashing load balancers */
    const char *tag;              /* shown in the access log */
    struct foyer_service *mirror; /* gets a fire-and-forget copy of the request */
    int plugins_ref; /* Lua registry ref of `plugins = { name = {...} }`, 0 = none */
};

#endif
