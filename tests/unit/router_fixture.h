/*
 * Shared by the foyer.router tests (test_router*.c): a router built from Lua
 * source inside a config whose services are declared, requests written in a
 * compact form routed through it, and decisions described as one line so
 * tables of cases can say what they expect.
 */
#ifndef FOYER_ROUTER_FIXTURE_H
#define FOYER_ROUTER_FIXTURE_H

#include "config.h"
#include "route.h"
#include "router.h"
#include "unit.h"

struct rfix {
    struct foyer_config *c; /* owns the Lua state */
    struct foyer_router *rt;
    unsigned listen_port; /* for the requests routed (default 80) */
    const char *scheme;   /* default "http" */
    struct unit_msg msg;  /* the last request: decisions point into its pool */
    int have_msg;
    char err[2048];
};

/* A config declaring services (space-separated names) and a Lua state with
 * foyer.router, file name "test.lua". */
void rfix_init(struct rfix *f, const char *services);
/* Declares more services (space-separated names) in f's config. */
void rfix_add_services(struct rfix *f, const char *services);
/* Runs chunk as test.lua (its first line is line 1). 0, or -1 with the Lua
 * error in f->err. */
int rfix_run(struct rfix *f, const char *chunk);
/* rfix_init + the router that chunk returns (e.g. "return router.new{...}",
 * `router` is in scope), bound to the config. 0, or -1 with the error. */
int rfix_build(struct rfix *f, const char *services, const char *chunk);
void rfix_free(struct rfix *f);

/* Routes "METHOD host target [Name:value ...]" (host "-": an HTTP/1.0
 * request without Host) and returns r's decision; NULL if the request does
 * not parse. r stays valid until the next call. */
const struct foyer_route_decision *rfix_route(struct rfix *f, const char *spec,
                                              struct foyer_request *r);
/* The same for a request written out in HTTP/1.x. */
const struct foyer_route_decision *rfix_route_text(struct rfix *f, const char *text,
                                                   struct foyer_request *r);
/* One line: "404", "500", "svc-a path=/x host=h req=set:A=1,add:B=2,remove:C
 * resp=... mirror=m timeout=2.5 tag=t", "redirect 301 scheme=https port=443
 * path=/x", "respond 503 body=... headers=Name=value". */
void rfix_describe(const struct foyer_route_decision *d, char *out, size_t len);
/* Checks that spec is routed as want describes. */
#define RFIX_CHECK(f, spec, want) rfix_check((f), (spec), (want), __FILE__, __LINE__)
void rfix_check(struct rfix *f, const char *spec, const char *want, const char *file,
                int line);

#endif
