/* Calling plugin hooks at each phase of an exchange, in the configured
 * order, and the per-request services plugins get (storage, answers,
 * resuming a parked request). */
#ifndef FOYER_PLUGIN_HOOKS_H
#define FOYER_PLUGIN_HOOKS_H

#include <foyer/plugin.h>
#include <stddef.h>

struct foyer_config;
struct foyer_exchange;

/* The configuration plugins see: the one being loaded, else the worker's. */
struct foyer_config *foyer_plugin_current_config(void);
void foyer_plugin_set_loading(struct foyer_config *c);

/* Hooks that may stop the exchange return an enum foyer_hook_result; `from` is
 * the first plugin to call (resuming after a park). x->park_plugin is set to
 * the plugin that did not continue. */
int foyer_hooks_accept(struct foyer_config *c, const struct sockaddr *peer,
                       socklen_t len);
int foyer_hooks_request_headers(struct foyer_exchange *x, unsigned from);
int foyer_hooks_route(struct foyer_exchange *x, unsigned from);
int foyer_hooks_request_body(struct foyer_exchange *x, const char *data, size_t len);
int foyer_hooks_request_body_held(struct foyer_exchange *x, const char *data, size_t len,
                                  int complete);
int foyer_hooks_upstream_select(struct foyer_exchange *x, unsigned *endpoint);
void foyer_hooks_upstream_result(struct foyer_exchange *x, int connect_error,
                                 int timed_out, int reset);
int foyer_hooks_response_headers(struct foyer_exchange *x);
int foyer_hooks_response_body(struct foyer_exchange *x, const char *data, size_t len);
void foyer_hooks_log(struct foyer_exchange *x);
/* The endpoint states of a service from the first plugin balancing it: 1
 * with st filled (n entries at most), 0 when no plugin balances it. */
int foyer_hooks_service_health(struct foyer_config *c, const char *service,
                               struct foyer_endpoint_state *st, size_t n);

/* For plugin_api.c. */
const foyer_conf_t *foyer_plugin_route_conf(struct foyer_exchange *x, const char *plugin);
int foyer_plugin_respond(struct foyer_exchange *x, int status, const char *content_type,
                         const char *body, size_t len);
void **foyer_plugin_storage(struct foyer_exchange *x, const char *plugin);
void foyer_plugin_resume(struct foyer_exchange *x, int result);

#endif
