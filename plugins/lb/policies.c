/* The policies by name, for the configuration. */
#include "policy.h"

#include <string.h>

static const struct lb_policy *const all[] = {
    &lb_round_robin, &lb_weighted,  &lb_least_conn, &lb_p2c_ewma,
    &lb_maglev,      &lb_ring_hash, &lb_random,
};

const struct lb_policy *lb_policy_find(const char *name)
{
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (strcmp(all[i]->name, name) == 0) return all[i];
    return NULL;
}

const char *lb_policy_names(void)
{
    return "round_robin, weighted, least_conn, p2c_ewma, maglev, ring_hash, random";
}
