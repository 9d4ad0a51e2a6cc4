/* Internals of the etcd changes applied in place (config_etcd_change.c,
 * config_etcd_service.c); not for other modules. */
#ifndef FOYER_CONFIG_ETCD_INT_H
#define FOYER_CONFIG_ETCD_INT_H

#include "config.h"
#include "config_source.h"

#include <stddef.h>
#include <stdint.h>

/* One service key of a change, made ready before anything is touched. */
struct svc_step {
    struct foyer_service *s;  /* the service replaced or removed; NULL: added */
    struct foyer_service tmp; /* the new one: endpoints, conf_ref (name, where: added) */
    int remove;
};

struct svc_plan {
    struct svc_step *steps;
    uint32_t nsteps, capsteps;
};

/* Plans the service key ch (name: the service) on c: 0 when it can be
 * applied in place (its body parsed), 1 when not (no plugin may keep state
 * about services, the file's services and the router's default stay, the
 * body must be valid plain endpoints): then the full load decides, and says
 * why if it refuses. Drop the plan either way. */
int svc_plan_add(struct svc_plan *p, struct foyer_config *c,
                 const struct foyer_etcd_change *ch, const char *name, size_t len);
/* Applies a plan: endpoint lists replaced, the services array rebuilt when
 * services come or go (routers bound again). -1 when out of memory halfway:
 * c must then be loaded anew. */
int svc_plan_commit(struct svc_plan *p, struct foyer_config *c);
void svc_plan_drop(struct svc_plan *p, struct foyer_config *c);

#endif
