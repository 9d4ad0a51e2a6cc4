/* foyer.router: declarative routing rules (the shape of Gateway API
 * HTTPRoute, or Ingress semantics) compiled into a C matcher.
 *
 * From Lua:
 *   local router = require "foyer.router"
 *   local r = router.new { semantics = "gateway", default = "web",
 *                          listeners = {...}, routes = {...} }
 *   local r = router.new(router.load("routes.json"))       -- same shape, JSON
 *   local r = router.new { default = "web", routes = router.load("routes.json") }
 *   route(r)                     -- the config's router: matched in C, no Lua
 *   route(function(req) ... return r:match(req) end)      -- or mixed with code
 *
 * The full reference of the route shape, the shorthands and the precedence
 * rules is lua/router.md.
 *
 * Per request the router does no Lua call and allocates nothing in the
 * common case: host lookup is a hash probe per candidate name (exact, then
 * one per wildcard suffix), each host's candidate matches are pre-sorted by
 * precedence, and decisions point into the compiled rules. Only strings
 * computed per request (a path whose matched prefix is replaced) come from
 * the request pool.
 *
 * Lifetime: a router is a Lua userdata of the config's Lua state and lives as
 * long as something references it (the config's route reference does).
 */
#ifndef FOYER_ROUTER_H
#define FOYER_ROUTER_H

#include <stddef.h>
#include <stdint.h>

struct lua_State;
struct foyer_config;
struct foyer_request;
struct foyer_route_decision;
struct foyer_router;

/* Registers package.preload["foyer.router"] in L. */
void foyer_router_open(struct lua_State *L);
/* The module table (what require returns); pushes it. */
int luaopen_foyer_router(struct lua_State *L);

/* The router at stack index idx, or NULL if that value is not one. */
struct foyer_router *foyer_router_check(struct lua_State *L, int idx);

/* Resolves the service names of every rule (and the default) against c.
 * A rule naming an undeclared service is not an error: requests that would
 * go there get 500 (Gateway API), and one warning per such service says
 * which rules use it. An undeclared default service is an error: -1 with
 * "config.lua:12: router default service 'x' is not declared" in err (the
 * position of the router.new call, or the JSON file that set it). Call it
 * once the config's services are indexed (foyer_config_index_services). */
int foyer_router_bind(struct foyer_router *rt, struct foyer_config *c, char *err,
                      size_t errlen);

/* Fills d (cleared first) for r: the service to proxy to plus rewrites,
 * header edits, mirror, timeout and tag; or a redirect, a direct response,
 * or status 404 (nothing matched, no default) / 500 (the matched rule has no
 * usable backend). Strings point into the router or into r->pool. The
 * router must be bound (else every service is unknown: 500). */
void foyer_router_route(struct foyer_router *rt, struct foyer_request *r,
                        struct foyer_route_decision *d);

/* Seeds the weighted backend choice (tests); otherwise seeded per process
 * on first use. */
void foyer_router_seed(uint64_t seed);

#endif
