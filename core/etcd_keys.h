/* The etcd key layout foyer reads under its prefix:
 *   <prefix>services/<name>  {"endpoints": ["127.0.0.1:8001", ...]} (a service body)
 *   <prefix>routes/<id>      one route of the router.load shape; ids ordered
 *                            numerically when both are digits, else bytewise
 * Any other key under the prefix is ignored (with a warning from the master). */
#ifndef FOYER_ETCD_KEYS_H
#define FOYER_ETCD_KEYS_H

#include <stddef.h>

enum foyer_etcd_key { FOYER_ETCD_OTHER, FOYER_ETCD_SERVICE, FOYER_ETCD_ROUTE };

/* What key (len bytes) is under prefix; *name / *name_len: the service name or
 * route id (1-255 bytes, no '/'). */
enum foyer_etcd_key foyer_etcd_key_kind(const char *prefix, const char *key, size_t len,
                                        const char **name, size_t *name_len);

/* Route order: <0, 0, >0 as strcmp, on two ids. */
int foyer_etcd_route_cmp(const char *a, size_t alen, const char *b, size_t blen);

#endif
