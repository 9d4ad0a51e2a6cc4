/*
 * plugins/waf/engine.h — the WAF engine: what the plugin glue calls.
 *
 * waf_inspect() splits a request into variables (request_parts.c), checks the
 * protocol (misc.c), runs the normalisation chain (normalize.c) and the
 * detectors (detect.h) on each variable, adds custom rules, applies
 * exclusions and disabled rules, and sums an anomaly score.
 *
 * A policy is built once (at configuration time) and then only read, so one
 * policy may serve concurrent waf_inspect() calls.
 */
#ifndef FOYER_WAF_ENGINE_H
#define FOYER_WAF_ENGINE_H

#include <stddef.h>

#include "detect.h"

struct waf_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

struct waf_request_view {
    const char *method;
    size_t method_len;
    const char *target; /* raw request-target, with the query */
    size_t target_len;
    const struct waf_header *headers;
    size_t nheaders;
    const char *body; /* what was buffered (maybe a prefix) */
    size_t body_len;
    int body_truncated; /* 1 when body is only a prefix */
};

enum waf_over_limit { WAF_OVER_LIMIT_INSPECT_PREFIX, WAF_OVER_LIMIT_REJECT };

struct waf_exclusion {
    const char *path_prefix; /* NULL = any path */
    const char *arg;         /* NULL = any variable; a full variable name such as
                              * "ARGS:q" or "REQUEST_HEADERS:User-Agent", or a bare
                              * name ("q") that matches that argument, argument name,
                              * cookie or header */
    unsigned rule;           /* 0 = all rules */
};

enum waf_op { WAF_OP_CONTAINS, WAF_OP_EQUALS, WAF_OP_BEGINS_WITH, WAF_OP_REGEX };

struct waf_custom_rule {
    unsigned id;
    /* "ARGS", "ARGS:q", "ARGS_NAMES", "REQUEST_HEADERS:User-Agent",
     * "REQUEST_HEADERS", "REQUEST_COOKIES", "REQUEST_COOKIES:sid",
     * "REQUEST_COOKIES_NAMES", "FILES" (multipart file names), "REQUEST_URI" (raw
     * target), "REQUEST_PATH" (decoded, normalised), "REQUEST_METHOD",
     * "REQUEST_BODY" (raw body, whatever its type). Collection names ignore case;
     * header names too. */
    const char *variable;
    int op; /* enum waf_op; all ops are case-insensitive; WAF_OP_REGEX is POSIX
             * ERE. Values are matched after URL decoding. */
    const char *pattern;
    int score;
};

struct waf_policy; /* opaque */

/* Defaults: threshold 5, max_body 64 KiB, max_arg 4 KiB, inspect prefix, xml off. */
struct waf_policy *waf_policy_new(void);
void waf_policy_free(struct waf_policy *p);
void waf_policy_set_threshold(struct waf_policy *p, int threshold);
/* max_body: body bytes inspected; a longer body is over the limit (rejected
 * with WAF_OVER_LIMIT_REJECT, else its first max_body bytes are inspected).
 * max_args_total: the longest value given the full normalisation chain in one
 * piece (at least 64); longer values are inspected in overlapping windows of
 * that size (overlap 256 bytes, or a quarter of a small window). It bounds
 * the scratch memory: about 8 x max_args_total per request. 0 keeps the
 * current value. */
void waf_policy_set_limits(struct waf_policy *p, size_t max_body, size_t max_args_total,
                           enum waf_over_limit over);
void waf_policy_set_xml(struct waf_policy *p, int on);
int waf_policy_add_exclusion(struct waf_policy *p,
                             const struct waf_exclusion *e); /* copies */
/* Copies and compiles; -1 with a message in err on a bad variable, op or regex. */
int waf_policy_add_rule(struct waf_policy *p, const struct waf_custom_rule *r, char *err,
                        size_t errlen);
int waf_policy_disable_rule(struct waf_policy *p, unsigned id);

#define WAF_MAX_FINDINGS 16

struct waf_finding {
    unsigned rule;
    enum waf_class cls;
    int score;
    const char *reason; /* static string */
    char var[64];       /* "ARGS:q", "REQUEST_HEADERS:User-Agent", ... */
    char excerpt[96];   /* normalised, escaped printable ASCII */
};

struct waf_report {
    int score;
    int over_limit; /* body over max and policy reject */
    size_t nfindings;
    struct waf_finding findings[WAF_MAX_FINDINGS];
};

/* Inspects; fills report; returns 1 when report->score >= threshold (or
 * over_limit with reject), else 0. threshold_override > 0 replaces the
 * policy's. Returns -1 (and blocks nothing) only when memory runs out. */
int waf_inspect(const struct waf_policy *p, const struct waf_request_view *r,
                int threshold_override, struct waf_report *out);

#endif /* FOYER_WAF_ENGINE_H */
