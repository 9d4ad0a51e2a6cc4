/* The plugin's settings: `plugin "lb" { ... }` gives defaults, each
 * `service "x" { ... }` may override them with the same keys:
 *
 *   lb           = "weighted" | "round_robin" | "least_conn" | "p2c_ewma"
 *                  | "maglev" | "ring_hash" | "random"
 *   hash         = "client_ip" | "key" | "header:NAME" | "cookie:NAME"
 *   hash_balance = 1.25            (bounded load, maglev/ring_hash; false: off)
 *   retries      = 2               (further endpoints after a failed attempt)
 *   health_check = { path, host, interval, timeout, rise, fall, expect } | false
 *   passive      = { failures, eject, max_eject, on_5xx } | false
 *
 * Every value is checked here and an unknown key inside our tables is an
 * error that names the keys we know: a typo must not silently disable a
 * health check. (Unknown keys directly in a service block are the core's
 * business: other plugins may own them.) */
#include "lb.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct parse {
    const struct foyer_api *api;
    struct lb_settings *s;
    char *err;
    size_t errlen;
    unsigned *handles; /* table handles taken in this configuration pass */
};

/* foyer hands a plugin at most this many table handles per call (the
 * configuration handle arena of core/plugin_api.c); config_ready reads every
 * service in one call, so many services with tables run out of them. */
#define FOYER_CONF_HANDLES 512

#define FAIL(p, ...) (snprintf((p)->err, (p)->errlen, __VA_ARGS__), -1)

void lb_settings_default(struct lb_settings *s)
{
    memset(s, 0, sizeof *s);
    s->policy = &lb_weighted; /* equal weights: plain round robin, in order */
    s->hash_from = LB_HASH_CLIENT_IP;
    s->tuning.hash_balance = 0;
    s->tuning.ewma_decay = 10; /* Linkerd's default */
    s->passive = (struct lb_passive_conf){.failures = 5, .eject = 10, .max_eject = 300};
    s->check = (struct lb_check_conf){.path = "/",
                                      .interval = 2,
                                      .timeout = 1,
                                      .rise = 2,
                                      .fall = 3,
                                      .expect_lo = 200,
                                      .expect_hi = 399};
    s->retries = -1;
}

/* ---- typed reads: a present key of the wrong type is an error ---- */

static int number(struct parse *p, const foyer_conf_t *t, const char *where,
                  const char *key, double min, double max, double *out)
{
    double d;
    if (p->api->conf_number(t, key, &d) != 0 || !isfinite(d))
        return FAIL(p, "%s%s must be a number", where, key);
    if (d < min || d > max)
        return FAIL(p, "%s%s must be between %g and %g", where, key, min, max);
    *out = d;
    return 0;
}

static int integer(struct parse *p, const foyer_conf_t *t, const char *where,
                   const char *key, int min, int max, int *out)
{
    double d;
    if (number(p, t, where, key, min, max, &d) != 0) return -1;
    if (d != floor(d)) return FAIL(p, "%s%s must be a whole number", where, key);
    *out = (int)d;
    return 0;
}

static int boolean(struct parse *p, const foyer_conf_t *t, const char *where,
                   const char *key, int *out)
{
    if (p->api->conf_bool(t, key, out) != 0)
        return FAIL(p, "%s%s must be true or false", where, key);
    return 0;
}

static const char *string(struct parse *p, const foyer_conf_t *t, const char *where,
                          const char *key)
{
    const char *v = p->api->conf_string(t, key);
    if (v == NULL) (void)FAIL(p, "%s%s must be a string", where, key);
    return v;
}

/* false / true / { ... }: 0 off, 1 on with defaults, 2 a table (*tab). */
static int switch_or_table(struct parse *p, const foyer_conf_t *t, const char *key,
                           const foyer_conf_t **tab)
{
    int on;
    if (p->api->conf_bool(t, key, &on) == 0) return on;
    *tab = p->api->conf_table(t, key);
    if (*tab != NULL) {
        if (p->handles) ++*p->handles;
        return 2;
    }
    if (p->handles && *p->handles >= FOYER_CONF_HANDLES - 1)
        return FAIL(p,
                    "%s: foyer gave the plugin no handle for it: its %d configuration "
                    "handles per call are used up (too many services with lb tables; "
                    "put common settings in plugin \"lb\" { })",
                    key, FOYER_CONF_HANDLES);
    return FAIL(p, "%s must be a table, true or false", key);
}

/* ---- lb, hash, hash_balance, retries ---- */

static int parse_lb(struct parse *p, const foyer_conf_t *t)
{
    const char *v = string(p, t, "", "lb");
    if (v == NULL) return -1;
    const struct lb_policy *pol = lb_policy_find(v);
    if (pol == NULL)
        return FAIL(p, "lb: unknown policy '%s' (one of %s)", v, lb_policy_names());
    p->s->policy = pol;
    return 0;
}

static int token_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int parse_hash(struct parse *p, const foyer_conf_t *t)
{
    const char *v = string(p, t, "", "hash");
    if (v == NULL) return -1;
    const char *name = NULL;
    if (strcmp(v, "client_ip") == 0)
        p->s->hash_from = LB_HASH_CLIENT_IP;
    else if (strcmp(v, "key") == 0)
        p->s->hash_from = LB_HASH_KEY;
    else if (strncmp(v, "header:", 7) == 0)
        p->s->hash_from = LB_HASH_HEADER, name = v + 7;
    else if (strncmp(v, "cookie:", 7) == 0)
        p->s->hash_from = LB_HASH_COOKIE, name = v + 7;
    else
        return FAIL(p, "hash: '%s' is not client_ip, key, header:NAME or cookie:NAME", v);
    if (name != NULL) {
        size_t len = strlen(name);
        if (len == 0 || len >= sizeof p->s->hash_name)
            return FAIL(p, "hash: '%s' needs a name of 1 to %zu characters", v,
                        sizeof p->s->hash_name - 1);
        for (const char *c = name; *c; c++)
            if (!token_char(*c))
                return FAIL(p, "hash: '%s': invalid character in the name", v);
        memcpy(p->s->hash_name, name, len + 1);
    }
    return 0;
}

static int parse_balance(struct parse *p, const foyer_conf_t *t)
{
    int on;
    if (p->api->conf_bool(t, "hash_balance", &on) == 0) {
        if (on) return FAIL(p, "hash_balance: give a factor (1.25 is usual) or false");
        p->s->tuning.hash_balance = 0;
        return 0;
    }
    return number(p, t, "", "hash_balance", 1.0, 100.0, &p->s->tuning.hash_balance);
}

static int parse_retries(struct parse *p, const foyer_conf_t *t)
{
    return integer(p, t, "", "retries", 0, 1000, &p->s->retries);
}

/* ---- health_check = { ... } ---- */

static int parse_expect(struct parse *p, const foyer_conf_t *t, struct lb_check_conf *c)
{
    double d;
    const char *v = p->api->conf_string(t, "expect");
    if (v != NULL) { /* "2xx" */
        if (strlen(v) != 3 || v[0] < '1' || v[0] > '5' || strcmp(v + 1, "xx") != 0)
            return FAIL(
                p, "health_check.expect: '%s' is not a status or a class like \"2xx\"",
                v);
        c->expect_lo = (v[0] - '0') * 100;
        c->expect_hi = c->expect_lo + 99;
        return 0;
    }
    if (p->api->conf_number(t, "expect", &d) != 0)
        return FAIL(p, "health_check.expect must be a status (200) or a class (\"2xx\")");
    if (d != floor(d) || d < 100 || d > 599)
        return FAIL(p, "health_check.expect: %g is not an HTTP status", d);
    c->expect_lo = c->expect_hi = (int)d;
    return 0;
}

/* A path we can put on a request line as is. */
static int parse_check_path(struct parse *p, const foyer_conf_t *t,
                            struct lb_check_conf *c)
{
    const char *v = string(p, t, "health_check.", "path");
    if (v == NULL) return -1;
    if (v[0] != '/' || strlen(v) >= sizeof c->path)
        return FAIL(p,
                    "health_check.path must start with '/' and be shorter than %zu bytes",
                    sizeof c->path);
    for (const char *s = v; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f)
            return FAIL(
                p, "health_check.path: spaces and control characters must be %%-encoded");
    snprintf(c->path, sizeof c->path, "%s", v);
    return 0;
}

static int parse_check_host(struct parse *p, const foyer_conf_t *t,
                            struct lb_check_conf *c)
{
    const char *v = string(p, t, "health_check.", "host");
    if (v == NULL) return -1;
    if (*v == '\0' || strlen(v) >= sizeof c->host || strpbrk(v, " \t\r\n/") != NULL)
        return FAIL(p, "health_check.host: '%s' is not a host name", v);
    snprintf(c->host, sizeof c->host, "%s", v);
    return 0;
}

static int check_key(struct parse *p, const foyer_conf_t *t, const char *k,
                     struct lb_check_conf *c)
{
    int n;
    const char *w = "health_check.";
    if (strcmp(k, "path") == 0) return parse_check_path(p, t, c);
    if (strcmp(k, "host") == 0) return parse_check_host(p, t, c);
    if (strcmp(k, "interval") == 0) return number(p, t, w, k, 0.01, 86400, &c->interval);
    if (strcmp(k, "timeout") == 0) return number(p, t, w, k, 0.001, 3600, &c->timeout);
    if (strcmp(k, "expect") == 0) return parse_expect(p, t, c);
    if (strcmp(k, "rise") == 0 || strcmp(k, "fall") == 0) {
        if (integer(p, t, w, k, 1, 1000, &n) != 0) return -1;
        *(k[0] == 'r' ? &c->rise : &c->fall) = (unsigned)n;
        return 0;
    }
    return FAIL(
        p,
        "health_check: unknown key '%s' (path, host, interval, timeout, rise, fall, "
        "expect)",
        k);
}

static int parse_check(struct parse *p, const foyer_conf_t *t)
{
    const foyer_conf_t *tab = NULL;
    int kind = switch_or_table(p, t, "health_check", &tab);
    if (kind < 0) return -1;
    p->s->check.enabled = kind != 0;
    if (kind != 2) return 0;
    for (const char *k = p->api->conf_next_key(tab, NULL); k;
         k = p->api->conf_next_key(tab, k))
        if (check_key(p, tab, k, &p->s->check) != 0) return -1;
    return 0;
}

/* ---- passive = { ... } ---- */

static int passive_key(struct parse *p, const foyer_conf_t *t, const char *k,
                       struct lb_passive_conf *c)
{
    int n;
    const char *w = "passive.";
    if (strcmp(k, "failures") == 0) {
        if (integer(p, t, w, k, 1, 1000000, &n) != 0) return -1;
        c->failures = (unsigned)n;
        return 0;
    }
    if (strcmp(k, "eject") == 0) return number(p, t, w, k, 0.001, 86400, &c->eject);
    if (strcmp(k, "max_eject") == 0)
        return number(p, t, w, k, 0.001, 86400, &c->max_eject);
    if (strcmp(k, "on_5xx") == 0) return boolean(p, t, w, k, &c->on_5xx);
    return FAIL(p, "passive: unknown key '%s' (failures, eject, max_eject, on_5xx)", k);
}

static int parse_passive(struct parse *p, const foyer_conf_t *t)
{
    const foyer_conf_t *tab = NULL;
    struct lb_passive_conf *c = &p->s->passive;
    int kind = switch_or_table(p, t, "passive", &tab);
    if (kind < 0) return -1;
    if (kind == 0) {
        c->failures = 0;
        return 0;
    }
    if (c->failures == 0) c->failures = 5; /* switched off by the defaults, on here */
    if (kind == 1) return 0;
    for (const char *k = p->api->conf_next_key(tab, NULL); k;
         k = p->api->conf_next_key(tab, k))
        if (passive_key(p, tab, k, c) != 0) return -1;
    if (c->max_eject < c->eject)
        return FAIL(p, "passive.max_eject (%g) is shorter than passive.eject (%g)",
                    c->max_eject, c->eject);
    return 0;
}

/* ---- the blocks ---- */

/* One of our keys; 1 when the key is not ours. */
static int parse_key(struct parse *p, const foyer_conf_t *t, const char *k)
{
    if (strcmp(k, "lb") == 0) return parse_lb(p, t);
    if (strcmp(k, "hash") == 0) return p->s->explicit_hash = 1, parse_hash(p, t);
    if (strcmp(k, "hash_balance") == 0)
        return p->s->explicit_balance = 1, parse_balance(p, t);
    if (strcmp(k, "retries") == 0) return parse_retries(p, t);
    if (strcmp(k, "health_check") == 0) return parse_check(p, t);
    if (strcmp(k, "passive") == 0) return parse_passive(p, t);
    return 1;
}

int lb_settings_plugin(const struct foyer_api *api, const foyer_conf_t *t,
                       struct lb_settings *s, char *err, size_t errlen)
{
    struct parse p = {api, s, err, errlen, NULL};
    for (const char *k = api->conf_next_key(t, NULL); k; k = api->conf_next_key(t, k)) {
        if (strcmp(k, "path") == 0) continue; /* the loader's */
        int r = parse_key(&p, t, k);
        if (r < 0) return -1;
        if (r > 0)
            return FAIL(&p,
                        "unknown setting '%s' (path, lb, hash, hash_balance, retries, "
                        "health_check, passive)",
                        k);
    }
    s->explicit_hash = s->explicit_balance = 0; /* defaults, not a service's choice */
    return 0;
}

int lb_settings_service(const struct foyer_api *api, const foyer_conf_t *t,
                        struct lb_settings *s, unsigned *handles, char *err,
                        size_t errlen)
{
    struct parse p = {api, s, err, errlen, handles};
    for (const char *k = api->conf_next_key(t, NULL); k; k = api->conf_next_key(t, k))
        if (parse_key(&p, t, k) < 0) return -1;
    if (s->explicit_hash && !s->policy->hashing)
        return FAIL(
            &p, "hash is only used by lb = \"maglev\" or \"ring_hash\" (lb is \"%s\")",
            s->policy->name);
    if (s->explicit_balance && !s->policy->hashing)
        return FAIL(&p,
                    "hash_balance is only used by lb = \"maglev\" or \"ring_hash\" (lb "
                    "is \"%s\")",
                    s->policy->name);
    return 0;
}
