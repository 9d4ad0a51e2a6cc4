/* Internals of foyer.router shared by its files (not for other modules).
 *
 * A rule set (struct rt_ruleset) is what a route list compiles to: flat arrays
 * of routes, rules, matches, backends and header conditions addressed by
 * 32-bit indexes, strings in one arena (repeated ones shared), static decision parts
 * (header edits, redirects) prebuilt. It knows nothing about semantics or
 * listeners, so router.load can compile a JSON file once and router.new can
 * index it. A router (struct foyer_router) adds the per-listener host
 * indexes, whose per-host candidate lists are sorted by precedence, and the
 * binding of service names to the config's services.
 *
 *   router_cc.c        compile context: error paths, fields, typed getters, checks
 *   router_compile.c   JSON values -> rule set (routes, rules, matches)
 *   router_filters.c   JSON values -> rule actions (filters, backends)
 *   router_ruleset.c   rule set storage: arrays, strings, service slots
 *   router_host.c      host names: validation, wildcard intersection, the index
 *   router_index.c     router = settings + rule set + per-listener indexes
 *   router_match.c     per request: listener, host, rule, backend, decision
 *   router_load.c      JSON file -> rule set, one route at a time
 *   router_bind.c      service names -> the config's services
 *   router_lua.c       the Lua module: router.new, router.load, r:match
 *   router_table.c     Lua tables -> JSON values (so one compiler serves both)
 *   router_decision_lua.c  decisions as the Lua values route functions return
 */
#ifndef FOYER_ROUTER_INT_H
#define FOYER_ROUTER_INT_H

#include "json.h"
#include "route.h"
#include "router.h"

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#define RT_NONE UINT32_MAX
#define RT_MAX_PATH 4096 /* bytes of a path or regex in a rule */

enum rt_semantics { RT_UNSET = -1, RT_GATEWAY = 0, RT_INGRESS = 1 };
enum rt_path_type { RT_EXACT, RT_PREFIX, RT_REGEX };
enum rt_protocol { RT_ANY_PROTOCOL, RT_HTTP, RT_HTTPS };

/* A header or query parameter condition. */
struct rt_kv {
    const char *name, *value;
    uint32_t name_len, value_len;
    regex_t *re; /* RegularExpression (must match the whole value); NULL: Exact */
};

/* The rarer parts of a match, kept out of struct rt_match. */
struct rt_match_extra {
    const char *method;
    uint32_t method_len;
    uint32_t kv; /* first condition in rs->kvs: headers, then query */
    uint16_t nheaders, nquery;
    regex_t *path_re; /* RT_REGEX */
};

/* One entry of a rule's matches: its parts are AND-ed. */
struct rt_match {
    const char *path; /* Prefix: the value without trailing '/' ("/" -> "") */
    uint32_t path_len;
    uint32_t rule;
    uint32_t extra;  /* index in rs->extras or RT_NONE */
    uint8_t type;    /* enum rt_path_type */
    uint8_t slashes; /* trailing slashes removed from a Prefix value */
};

/* What a rule (or a rule + one of its backends) does besides choosing a
 * service: prebuilt, pointed to by decisions. */
struct rt_action {
    struct foyer_header_edits request_headers, response_headers;
    const struct foyer_redirect *redirect; /* path NULL: unchanged or prefix */
    const struct foyer_respond *respond;
    struct foyer_str host;            /* URLRewrite hostname */
    struct foyer_str path;            /* URLRewrite full path, or prefix replacement */
    struct foyer_str redirect_prefix; /* RequestRedirect prefix replacement */
    uint32_t mirror;                  /* service slot or RT_NONE */
    double timeout;
    uint8_t rewrite_prefix;      /* path replaces the matched prefix */
    uint8_t redirect_has_prefix; /* redirect_prefix replaces the matched prefix */
};

struct rt_backend {
    uint32_t service; /* slot */
    uint32_t weight;
    const struct rt_action *action; /* rule + backend filters; NULL: the rule's */
};

struct rt_rule {
    uint32_t route; /* its position there: rule index - route.rules */
    uint32_t matches, nmatches;
    uint32_t backends, nbackends;
    uint32_t total_weight;
    const struct rt_action *action; /* NULL: no filters */
};

struct rt_route {
    const char *name;               /* NULL if unnamed */
    uint32_t hosts, nhosts;         /* rs->hosts; none = any host */
    uint32_t listeners, nlisteners; /* rs->listener_refs; none = all */
    uint32_t rules, nrules;
    uint32_t line; /* in rs->file, 0 if not from JSON */
};

struct rt_listener_def {
    const char *name;
    const char *hostname; /* NULL = any */
    uint32_t port;        /* 0 = any */
    uint8_t protocol;     /* enum rt_protocol */
};

/* Top-level settings; each may be unset so two sources can be merged. */
struct rt_settings {
    int semantics; /* enum rt_semantics */
    const char *default_service;
    int has_listeners;
    uint32_t listeners, nlisteners; /* rs->listener_defs */
};

struct rt_strmap;

struct rt_ruleset {
    unsigned refs;
    char *file;              /* the JSON file, or where router.new was called */
    struct foyer_pool *pool; /* strings, actions, edits, regexes */
    char *str_cur;
    size_t str_left;
    struct rt_route *routes;
    struct rt_rule *rules;
    struct rt_match *matches;
    struct rt_match_extra *extras;
    struct rt_kv *kvs;
    struct rt_backend *backends;
    const char **hosts; /* lower-case; "*.x" wildcard, "*" any */
    const char **listener_refs;
    const char **services; /* slot -> name */
    struct rt_listener_def *listener_defs;
    regex_t **regexes; /* to free */
    const char **ids;  /* etcd route ids, one per route (config_etcd.c), or none */
    uint32_t nroutes, nrules, nmatches, nextras, nkvs, nbackends, nhosts, nlistener_refs,
        nservices, nlistener_defs, nregexes, nids;
    uint32_t caproutes, caprules, capmatches, capextras, capkvs, capbackends, caphosts,
        caplistener_refs, capservices, caplistener_defs, capregexes, capids;
    struct rt_settings settings;
    /* while compiling only */
    struct rt_strmap *strings; /* interned strings */
    struct rt_strmap *slots;   /* service name -> slot */
};

/* ---- rule set storage (router_ruleset.c) ------------------------------------------ */

struct rt_ruleset *rt_ruleset_new(const char *file);
void rt_ruleset_ref(struct rt_ruleset *rs);
void rt_ruleset_unref(struct rt_ruleset *rs);
/* Drops the compile-time maps and spare array room once nothing more will
 * be added. */
void rt_ruleset_seal(struct rt_ruleset *rs);
/* Appends one zeroed element to an array of the rule set; NULL when out of
 * memory. Usage: RT_PUSH(rs, rules). */
void *rt_push(void **arr, uint32_t *n, uint32_t *cap, size_t size);
#define RT_PUSH(rs, f)                                                                   \
    ((__typeof__((rs)->f))rt_push((void **)&(rs)->f, &(rs)->n##f, &(rs)->cap##f,         \
                                  sizeof *(rs)->f))
/* NUL-terminated copy in the rule set's arena, shared with equal strings. */
const char *rt_intern(struct rt_ruleset *rs, const char *s, size_t len);
/* The same, not shared (for strings that are mostly unique, like hosts). */
const char *rt_strdup(struct rt_ruleset *rs, const char *s, size_t len);
/* Arena memory for static decision parts. */
void *rt_alloc(struct rt_ruleset *rs, size_t n);
/* The slot of a service name, added on first use; RT_NONE when out of memory. */
uint32_t rt_service_slot(struct rt_ruleset *rs, const char *name, size_t len);
/* A compiled regular expression kept (and freed) with the rule set; NULL with
 * a message in err when it does not compile. */
regex_t *rt_regex(struct rt_ruleset *rs, const char *pattern, size_t len, char *err,
                  size_t errlen);
/* Does the whole of s (len bytes, not NUL-terminated) match re? */
int rt_regex_full_match(const regex_t *re, const char *s, size_t len);

/* A string -> uint32 map for compile time (open addressing). */
struct rt_strmap *rt_strmap_new(void);
void rt_strmap_free(struct rt_strmap *m);
/* The value of key, or RT_NONE. */
uint32_t rt_strmap_get(const struct rt_strmap *m, const char *key, size_t len);
/* Stores key (which must outlive the map) -> value; -1 when out of memory. */
int rt_strmap_put(struct rt_strmap *m, const char *key, size_t len, uint32_t value);
/* The stored key equal to key, or NULL. */
const char *rt_strmap_key(const struct rt_strmap *m, const char *key, size_t len);

/* ---- compiling (router_compile.c, router_filters.c) ------------------------------- */

#define RT_PATH_MAX 32

/* Compile context: where errors are reported and the path to the value
 * being compiled ("routes[3].rules[1].matches[2].path.type"), kept as a
 * stack of parts and written out only for an error. */
struct rt_cc {
    struct rt_ruleset *rs;
    const char *file; /* prefix "file:line: " for values with a line */
    struct {
        const char *key; /* NULL: an index */
        size_t index;
    } path[RT_PATH_MAX];
    size_t plen;
    char *err;
    size_t errlen;
};

void rt_cc_init(struct rt_cc *cc, struct rt_ruleset *rs, const char *file, char *err,
                size_t errlen);
/* Records the error "[file:line: ]path: message"; returns -1. */
int rt_fail(struct rt_cc *cc, const struct json_value *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with key appended to the path (for a field of the current value). */
int rt_fail_at(struct rt_cc *cc, const char *key, const struct json_value *at,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Path building: each returns the length to restore with rt_path_pop. */
size_t rt_path_key(struct rt_cc *cc, const char *key);
size_t rt_path_index(struct rt_cc *cc, size_t i); /* shown 1-based */
void rt_path_pop(struct rt_cc *cc, size_t mark);

/* "a string", "a list", ... for messages. */
const char *rt_type_name(const struct json_value *v);
#define RT_KEYS_MAX 24

/* The field names an object may have (NULL-terminated), and a small hash
 * of them made on first use: picking fields costs one probe per member. */
struct rt_keys {
    const char *names[RT_KEYS_MAX + 1];
    uint8_t slot[64]; /* hash -> index + 1; 0: empty */
    int ready;
};
#define RT_KEYS(...)                                                                     \
    {                                                                                    \
        .names = { __VA_ARGS__ }                                                         \
    }

/* Picks, in one pass, the members of obj named in keys into field[i] (NULL
 * when absent or null). obj must be an object (an empty list, an empty Lua
 * table, counts as one) without other members. 0 or -1. */
int rt_fields(struct rt_cc *cc, const struct json_value *obj, struct rt_keys *keys,
              const struct json_value **field);
int rt_want_list(struct rt_cc *cc, const struct json_value *v);
/* Typed fields: v is the field (NULL: absent, 0 is returned and out left
 * alone), key its name for messages. 1 when right, -1 when wrong. */
int rt_string(struct rt_cc *cc, const char *key, const struct json_value *v,
              struct foyer_str *out);
int rt_number(struct rt_cc *cc, const char *key, const struct json_value *v, double min,
              double max, int whole, double *out);
/* Checks a header (field) name: an RFC 9110 token. 0 or -1 with a message. */
int rt_check_token(struct rt_cc *cc, const struct json_value *at, struct foyer_str s,
                   const char *what);
/* Checks a service name: 1-255 bytes, no NUL, as `service "name"` takes. */
int rt_check_service_name(struct rt_cc *cc, const struct json_value *v);
/* Checks a path written in a rule or filter: starts with '/', no spaces,
 * control characters, '?' or '#', at most RT_MAX_PATH bytes. */
int rt_check_path(struct rt_cc *cc, const struct json_value *at, struct foyer_str s);
/* Checks a value sent in a header field: no CR, LF or NUL. */
int rt_check_field_value(struct rt_cc *cc, const struct json_value *at,
                         struct foyer_str s, const char *what);

/* The fields of a rule, in this order; a route's fields are these followed
 * by RT_ROUTE_KEYS (a route without 'rules' is one rule written inline).
 * path, method, headers and queryParams are also a match's fields, in the
 * same order, so a rule written with them is its own single match. */
enum rt_rule_field {
    RT_F_PATH,
    RT_F_METHOD,
    RT_F_HEADERS,
    RT_F_QUERY,
    RT_F_MATCHES,
    RT_F_FILTERS,
    RT_F_BACKENDS,
    RT_F_SERVICE,
    RT_F_RESPOND,
    RT_F_TIMEOUT,
    RT_RULE_FIELDS
};
#define RT_RULE_KEYS                                                                     \
    "path", "method", "headers", "queryParams", "matches", "filters", "backends",        \
        "service", "respond", "timeout"

/* One top-level setting (semantics, default, listeners) into rs->settings. */
int rt_compile_setting(struct rt_cc *cc, const char *key, size_t key_len,
                       const struct json_value *v);
/* One route entry (full or one-rule shorthand), appended to the rule set. */
int rt_compile_route(struct rt_cc *cc, const struct json_value *v);
/* A rule's filters, response, timeout and backends (with their filters),
 * from its fields f (at: the rule, for messages); fills rule->action and the
 * backends. The rule's matches are compiled already; rule points into
 * rs->rules, which must not grow meanwhile. */
int rt_compile_actions(struct rt_cc *cc, const struct json_value *at,
                       const struct json_value *const *f, struct rt_rule *rule);

/* ---- JSON files (router_load.c) --------------------------------------------------- */

/* A rule set from a JSON text (name: for messages) or file; NULL with
 * "file:line[:column]: message" in err. */
struct rt_ruleset *rt_load_json(const char *name, const char *text, size_t len, char *err,
                                size_t errlen);
struct rt_ruleset *rt_load_file(const char *path, char *err, size_t errlen);

/* ---- host names (router_host.c) --------------------------------------------------- */

/* Lower-cases and checks a host name as written in a config: "a.com",
 * "*.a.com" or "*". Returns the interned name, NULL with a message. */
const char *rt_host_name(struct rt_cc *cc, const struct json_value *at,
                         struct foyer_str s);
int rt_host_is_wildcard(const char *h);
/* Does pattern (exact, "*.x" or "*") match the host name h? multi: a
 * wildcard spans one or more labels (gateway) or exactly one (ingress). */
int rt_host_matches(const char *pattern, const char *h, size_t hlen, int multi);
/* The hostname a route hostname keeps under a listener hostname (Gateway API
 * intersection): the route's, the listener's, or NULL when disjoint. */
const char *rt_host_intersect(const char *route_host, const char *listener_host);

/* A candidate match of a host entry: what matching needs of a rt_match,
 * copied so that an entry's candidates sit next to its name in memory. */
struct rt_cand {
    const char *path;
    uint16_t path_len; /* paths are at most RT_MAX_PATH bytes */
    uint8_t type;      /* enum rt_path_type */
    uint8_t slashes;
    uint32_t rule;
    uint32_t extra;   /* index in rs->extras or RT_NONE */
    uint32_t service; /* a plain rule's one backend (slot); RT_NONE: see the rule */
};

/* An entry of the index: this header, the name (NUL-terminated, padded to
 * 8 bytes), then the candidates sorted by precedence. */
struct rt_host_entry {
    uint32_t hash;
    uint32_t len;
    uint32_t ncands;
    uint32_t unused;
};

static inline const char *rt_entry_name(const struct rt_host_entry *e)
{
    return (const char *)(e + 1);
}

static inline const struct rt_cand *rt_entry_cands(const struct rt_host_entry *e)
{
    return (const struct rt_cand *)((const char *)(e + 1) + ((e->len + 8) & ~(size_t)7));
}

struct rt_host_slot {
    uint32_t hash;
    uint32_t at; /* entry offset in the blob (8-byte words); RT_NONE: empty */
};

struct rt_host_build; /* names being collected (router_host.c) */

/* Host name -> entry: exact names and "*.suffix" wildcards in one table,
 * the catch-all ("*") apart. */
struct rt_host_index {
    uint64_t *blob; /* the entries, one after the other */
    struct rt_host_slot *slots;
    uint32_t mask;
    uint32_t nentries;
    uint32_t any; /* offset of the catch-all entry, or RT_NONE */
    int has_wildcards;
    struct rt_host_build *build;
    size_t words, capwords; /* of the blob: used, allocated */
    size_t dead_words;      /* entries replaced in place (rt_host_index_set) */
};

/* Building an index: rt_host_index_begin with an upper bound of the names,
 * rt_host_index_add per name (returns its number, the same for the same
 * name; RT_NONE when out of memory), then rt_host_index_layout, where entry
 * e gets first[e + 1] - first[e] candidates, candidate i made by
 * make(ctx, i, &cand) for i in first[e] .. first[e + 1]. */
int rt_host_index_begin(struct rt_host_index *ix, uint32_t max_names);
uint32_t rt_host_index_add(struct rt_host_index *ix, const char *name);
uint32_t rt_host_index_names(const struct rt_host_index *ix); /* added so far */
int rt_host_index_layout(struct rt_host_index *ix, const uint32_t *first,
                         void (*make)(void *ctx, uint32_t i, struct rt_cand *out),
                         void *ctx);
void rt_host_index_free(struct rt_host_index *ix);
/* After layout: entry `name` gets the candidates cands[0..n) instead of what
 * it had (a new name is added). The new entry goes at the end of the blob;
 * the old one stays there, unreferenced, until the index is built anew.
 * 0, or -1 when out of memory (the index is unchanged). */
int rt_host_index_set(struct rt_host_index *ix, const char *name,
                      const struct rt_cand *cands, uint32_t n);
/* The entry chain for host (lower case, no port): the exact entry, then the
 * wildcard entries from the longest suffix, then the catch-all; at most max
 * entries are written to out. Returns how many. */
unsigned rt_host_lookup(const struct rt_host_index *ix, const char *host, size_t len,
                        int multi, const struct rt_host_entry **out, unsigned max);

/* ---- the router (router_index.c) -------------------------------------------------- */

struct rt_listener {
    const struct rt_listener_def *def; /* NULL: the implicit catch-all listener */
    struct rt_host_index index;
};

struct foyer_router {
    struct rt_ruleset *rs;          /* routes */
    struct rt_ruleset *settings_rs; /* where the settings live (may be rs) */
    int semantics;
    const char *default_service;
    const char *default_where; /* where it was set, for messages */
    struct rt_listener *listeners;
    unsigned nlisteners;
    uint32_t nhosts; /* host entries over all listeners, for tostring */
    /* binding (foyer_router_bind) */
    struct foyer_service **svc; /* per slot */
    uint32_t nsvc;              /* slots bound */
    struct foyer_service *default_svc;
    /* etcd's routes, changed in place (router_live.c) */
    int etcd;             /* built from rs->ids, no listeners: rt_router_change works */
    struct rt_live *live; /* made on the first change */
};

/* Builds a router from routes (rs) and settings (own, overriding those of
 * rs where set; may be NULL). Takes references. NULL with a message in err. */
struct foyer_router *rt_router_build(struct rt_ruleset *rs, struct rt_ruleset *own,
                                     char *err, size_t errlen);
void rt_router_free(struct foyer_router *rt);

/* Candidate matches of one host entry: sorts c[0..n) (match indexes) by
 * precedence, stably (scratch and orig hold n each), and makes the entry's
 * candidate i from match c[i]. */
void rt_sort_candidates(const struct rt_ruleset *rs, uint32_t *c, uint32_t n,
                        int semantics, uint64_t *scratch, uint32_t *orig);
void rt_cand_of(const struct rt_ruleset *rs, uint32_t match, struct rt_cand *out);

/* ---- changing etcd routes in place (router_live.c) -------------------------------- */

struct rt_live;

/* Route `id` (an etcd route key's id) becomes v, or goes when v is NULL: it
 * is compiled onto the end of the rule set and only the host entries it
 * leaves or joins are laid out again; its new service names are bound
 * against c. For rt->etcd routers only. What was replaced stays allocated
 * (requests in flight may point into it) until the next full load. 0, or -1
 * with "routes[1]...: message" in err (the router is then as before, or
 * missing only this route's change). */
int rt_router_change(struct foyer_router *rt, struct foyer_config *c, const char *id,
                     size_t id_len, const struct json_value *v, char *err,
                     size_t errlen);
/* Has enough been replaced in place that a full load should compact it? */
int rt_router_wants_rebuild(const struct foyer_router *rt);
void rt_live_free(struct rt_live *live);

/* ---- matching (router_match.c) ---------------------------------------------------- */

/* What a decision was made from, for callers that need names rather than
 * bound services (r:match). */
struct rt_pick {
    uint32_t slot;   /* chosen service slot, RT_NONE if none */
    uint32_t mirror; /* mirror slot, RT_NONE if none */
    int use_default; /* no rule matched and the default applies */
};

/* The decision for r without resolving services: d->service stays NULL, and
 * pick says which slot (or the default) to use. */
void rt_decide(const struct foyer_router *rt, struct foyer_request *r,
               struct foyer_route_decision *d, struct rt_pick *pick);

#endif
