/* Converts a route function's result (service name, nil or decision table)
 * into a struct foyer_route_decision. */
#ifndef FOYER_DECISION_LUA_H
#define FOYER_DECISION_LUA_H

#include <stddef.h>

struct lua_State;
struct foyer_config;
struct foyer_request;
struct foyer_route_decision;

/* 0 on success; -1 with a message (no position) in err. */
int foyer_lua_decision(struct lua_State *L, int idx, struct foyer_config *c,
                       struct foyer_request *r, struct foyer_route_decision *d, char *err,
                       size_t errlen);

#endif
