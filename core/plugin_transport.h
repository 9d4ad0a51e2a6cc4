/* Connections whose transport a plugin provides (TLS): the adapter from the
 * public struct foyer_transport_ops to the core's struct foyer_transport. */
#ifndef FOYER_PLUGIN_TRANSPORT_H
#define FOYER_PLUGIN_TRANSPORT_H

struct foyer_config;
struct foyer_transport;

/* Asks the listener's plugin for the connection's transport. Returns 0 with
 * the transport set (TCP when the listener has no plugin), or -1: fd is closed. */
int foyer_plugin_transport(struct foyer_config *c, unsigned listener, int fd,
                           const struct foyer_transport **tp, void **ctx);

/* The transport of a new connection to https:// endpoint `endpoint` of svc,
 * from the plugin the configuration bound to it. -1 when the plugin refused
 * (fd is closed then). */
struct foyer_service;
int foyer_plugin_upstream_transport(struct foyer_config *c, struct foyer_service *svc,
                                    unsigned endpoint, int fd,
                                    const struct foyer_transport **tp, void **ctx);

#endif
