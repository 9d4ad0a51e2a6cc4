/*
 * A routing-corpus group ($FOYER_SHARED/corpus/routing/cases.json) as the
 * Kubernetes objects a cluster would hold for it: Ingresses (api "ingress") or
 * Gateways and HTTPRoutes (api "gateway"), plus a Service and an EndpointSlice
 * (127.0.0.1, the test backend's port) per service the group names.
 *
 * Mapping: objects live in namespace "corpus"; corpus routes keep their order
 * through creationTimestamp; a corpus listener is listener lN of Gateway gM
 * (one Gateway per corpus `gateway`), its port the real port chosen for its
 * (gateway, port) instance; an invalid backend names a Service that does not
 * exist; a default backend is an Ingress with only spec.defaultBackend.
 */
#ifndef FOYER_K8S_CORPUS_MANIFEST_H
#define FOYER_K8S_CORPUS_MANIFEST_H

#include "corpus_check.h"

#define MAX_INST 8
#define MAX_LIS 32

/* Listeners grouped by (gateway, corpus port): each group gets a real port. */
struct plan_inst {
    char gateway[128];
    int cport, port;
    bool http; /* has a plain HTTP listener (foyer listens there) */
};

struct plan_listener {
    const struct e2e_json *l;
    int inst, gw;
};

struct plan {
    int ninst, nl, ngw;
    struct plan_inst inst[MAX_INST];
    struct plan_listener lis[MAX_LIS];
    char gws[MAX_INST][128];
};

/* Plans the group's instances (picking free ports). */
void plan_group(const struct e2e_json *group, struct plan *p);

/* The group's objects (an array), NULL with why when manifests cannot say what
 * the group does (headers matched by an Ingress, ...). */
struct e2e_json *group_manifests(const struct e2e_json *group, const struct plan *p,
                                 const struct svcs *s, char *why, size_t len);

/* Why the group cannot be written as manifests, or NULL (no ports needed). */
const char *group_inexpressible(const struct e2e_json *group, char *why, size_t len);

#endif
