/* Binding a router to a config: service names (per slot) resolved to the
 * config's services once, so routing a request never looks a name up. */
#include "config.h"
#include "log.h"
#include "router_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct slot_use {
    uint32_t first_rule, last_rule; /* RT_NONE: unused */
    uint32_t rules;                 /* how many rules use it */
    int as_backend;                 /* else only as a mirror */
};

static void note_use(struct slot_use *u, uint32_t slot, uint32_t rule, int backend)
{
    if (slot == RT_NONE) return;
    u[slot].as_backend |= backend;
    if (u[slot].last_rule == rule) return;
    if (u[slot].first_rule == RT_NONE) u[slot].first_rule = rule;
    u[slot].last_rule = rule;
    u[slot].rules++;
}

/* Which rules use each slot (as a backend or a mirror). */
static void find_uses(const struct rt_ruleset *rs, struct slot_use *u)
{
    for (uint32_t s = 0; s < rs->nservices; s++)
        u[s] = (struct slot_use){RT_NONE, RT_NONE, 0, 0};
    for (uint32_t r = 0; r < rs->nrules; r++) {
        const struct rt_rule *rule = &rs->rules[r];
        if (rule->action != NULL) note_use(u, rule->action->mirror, r, 0);
        for (uint32_t b = rule->backends; b < rule->backends + rule->nbackends; b++) {
            note_use(u, rs->backends[b].service, r, 1);
            if (rs->backends[b].action) note_use(u, rs->backends[b].action->mirror, r, 0);
        }
    }
}

/* "file:line: routes[3] (name) rules[2]" for a rule. */
static void rule_where(const struct rt_ruleset *rs, uint32_t r, char *out, size_t len)
{
    const struct rt_rule *rule = &rs->rules[r];
    const struct rt_route *route = &rs->routes[rule->route];
    int n = route->line ? snprintf(out, len, "%s:%u: ", rs->file, route->line)
                        : snprintf(out, len, "%s%s", rs->file, rs->file[0] ? ": " : "");
    if (n < 0 || (size_t)n >= len) return;
    snprintf(out + n, len - (size_t)n, "routes[%u]%s%s%s.rules[%u]", rule->route + 1,
             route->name ? " ('" : "", route->name ? route->name : "",
             route->name ? "')" : "", r - route->rules + 1);
}

static void warn_unknown(const struct rt_ruleset *rs, struct foyer_service **svc)
{
    struct slot_use *u = malloc((rs->nservices + 1) * sizeof *u);
    if (u == NULL) return;
    find_uses(rs, u);
    for (uint32_t s = 0; s < rs->nservices; s++) {
        if (svc[s] != NULL || u[s].first_rule == RT_NONE) continue;
        char where[512];
        rule_where(rs, u[s].first_rule, where, sizeof where);
        foyer_warn("%s: service '%s' is not declared: %s (used by %u rule%s)", where,
                   rs->services[s],
                   u[s].as_backend ? "requests routed to it get 500"
                                   : "copies mirrored to it are not sent",
                   u[s].rules, u[s].rules > 1 ? "s" : "");
    }
    free(u);
}

int foyer_router_bind(struct foyer_router *rt, struct foyer_config *c, char *err,
                      size_t errlen)
{
    const struct rt_ruleset *rs = rt->rs;
    struct foyer_service *def = NULL;
    if (rt->default_service != NULL) {
        def = foyer_config_service(c, rt->default_service, strlen(rt->default_service));
        if (def == NULL) {
            snprintf(err, errlen, "%s%srouter default service '%s' is not declared",
                     rt->default_where, rt->default_where[0] ? ": " : "",
                     rt->default_service);
            return -1;
        }
    }
    struct foyer_service **svc = calloc(rs->nservices + 1, sizeof *svc);
    if (svc == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int unknown = 0;
    for (uint32_t s = 0; s < rs->nservices; s++) {
        svc[s] = foyer_config_service(c, rs->services[s], strlen(rs->services[s]));
        unknown |= svc[s] == NULL;
    }
    if (unknown) warn_unknown(rs, svc);
    free(rt->svc);
    rt->svc = svc;
    rt->nsvc = rs->nservices;
    rt->default_svc = def;
    return 0;
}
