/*
 * Table-driven routing checks shared by the router and example tests: a
 * request, and what must come of it (status, which backend, what the backend
 * received, the Location, response fields). Backends run in --report mode.
 */
#ifndef FOYER_E2E_ROUTER_CASES_H
#define FOYER_E2E_ROUTER_CASES_H

#include "harness.h"

#include <stdbool.h>

struct rc_req {
    const char *method;  /* NULL: GET */
    const char *host;    /* Host field; NULL: none */
    const char *target;  /* request-target, sent byte for byte */
    const char *headers; /* extra field lines, each "Name: value\r\n"; may be NULL */
    int status;
    /* The service that must answer (its X-Backend); "" = none (foyer answers
     * itself); NULL = not checked. */
    const char *backend;
    /* What that backend must have received (NULL = not checked). */
    const char *up_target;
    const char *up_host;
    const char *up_headers; /* "name=value\n..." (list values compared item by item) */
    const char *up_absent;  /* "name\n..." */
    /* Location of a redirect; "{port}" in it matches ":digits" or nothing. */
    const char *location;
    const char *resp_headers; /* "name=value\n..." on the client's response */
    const char *resp_absent;  /* "name\n..." */
};

/* Sends req to 127.0.0.1:port and checks everything it specifies; failures
 * are CHECK failures prefixed with label. Returns true if all matched. */
bool rc_run(int port, const char *label, const struct rc_req *req);

/* Report backends, one per service name. */
#define RC_MAX_BACKENDS 16
struct rc_backends {
    int n;
    const char *names[RC_MAX_BACKENDS];
    struct e2e_backend b[RC_MAX_BACKENDS];
};
/* Starts a report backend per name (NULL-terminated list). */
void rc_backends_start(struct rc_backends *bs, const char *const *names);
/* The `service "NAME" { endpoints = { ... } }` lines (static buffer). */
const char *rc_services(const struct rc_backends *bs);
/* Port of the backend of a service, -1 if unknown. */
int rc_backend_port(const struct rc_backends *bs, const char *name);

/* Does got match want, where "{port}" in want matches ":digits" or nothing? */
bool rc_location_matches(const char *got, const char *want);

#endif
