/* What foyer-k8s writes is checked by foyer's own router compiler (lua/router_*.c,
 * linked in): each route as it is made, so that one foyer would refuse (a header
 * name that is not a token, a path with a space, a ReplacePrefixMatch on an Exact
 * match, ...) is reported against the object it came from and left out, instead
 * of making foyer refuse the whole configuration at start; and each whole route
 * table before it is written. */
#include "k8s.h"
#include "router_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The message without the "route:1:" position inside the generated text and the
 * "routes[1]." of the one-route list, which would mean nothing to the reader of
 * the manifest. */
static const char *strip_position(const char *err, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(err, name, n) != 0 || err[n] != ':') return err;
    const char *p = err + n;
    while (*p == ':' && p[1] >= '0' && p[1] <= '9')
        for (p++; *p >= '0' && *p <= '9';)
            p++;
    if (*p == ':' && p[1] == ' ') p += 2;
    if (strncmp(p, "routes[1].", 10) == 0) p += 10;
    if (strncmp(p, "routes[1]: ", 11) == 0) p += 11;
    return p;
}

static int compiles(const char *name, const struct kn *doc, char *err, size_t errlen)
{
    size_t len;
    char *text = json_text(doc, &len);
    struct rt_ruleset *rs = rt_load_json(name, text, len, err, errlen);
    free(text);
    if (rs == NULL) return -1;
    struct foyer_router *rt = rt_router_build(rs, NULL, err, errlen);
    rt_router_free(rt);
    rt_ruleset_unref(rs);
    return rt ? 0 : -1;
}

int route_add(struct kn *routes, struct kn *route, struct at *a, const struct kn *at_node)
{
    struct kn *one = kn_new(KN_SEQ, 0);
    kn_push(one, route);
    char err[1024];
    /* listener references are checked with the whole table */
    struct kn *check = route, *listeners = kn_get(route, "listeners");
    if (listeners != NULL) {
        check = kn_new(KN_MAP, 0);
        for (size_t i = 0; i < route->n; i++)
            if (route->v[i] != listeners) kn_set(check, route->k[i], route->v[i]);
        one->v[0] = check;
    }
    if (compiles("route", one, err, sizeof err) != 0) {
        warn_at(a, at_node, "foyer's router refuses what this becomes (%s): left out",
                strip_position(err, "route"));
        return -1;
    }
    kn_push(routes, route);
    return 0;
}

int table_valid(const char *name, const struct kn *doc)
{
    char err[1024];
    if (compiles(name, doc, err, sizeof err) == 0) return 0;
    fprintf(stderr,
            "foyer-k8s: internal error: foyer's router refuses the generated %s: %s\n",
            name, err);
    return -1;
}
