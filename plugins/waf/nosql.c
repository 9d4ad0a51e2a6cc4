/*
 * plugins/waf/nosql.c — NoSQL (MongoDB) and ORM query injection (rules 942900+).
 *
 * A query language reaches an application through argument names and JSON keys:
 * "user[$ne]=x" and {"user": {"$gt": ""}} turn an equality into an operator.
 * Server-side JavaScript ($where, mapReduce) is injected with string break-outs
 * ("';return true;//"). ORM filter syntax in argument names (Django's
 * "user__password__startswith") walks relations to leak columns.
 *
 *   942900  MongoDB query operator in a name or key ([$ne], "$gt":, $or: [)
 *   942910  $where / server-side JavaScript
 *   942920  string break-out into JavaScript (';return ...)
 *   942930  JavaScript busy loop (do { } while (...)) used for timing
 *   942950  ORM relation traversal with a lookup in an argument name
 */
#include "detect.h"
#include "detect_util.h"

#include <string.h>

static const char *const mongo_ops[] = {
    "ne",         "eq",      "gt",     "gte",      "lt",   "lte", "in",  "nin",
    "regex",      "where",   "exists", "or",       "and",  "not", "nor", "elemmatch",
    "size",       "type",    "expr",   "function", "text", "mod", "all", "accumulator",
    "jsonschema", "comment", "lookup", "options",  NULL};

/* s[i] == '$': 1 when an operator name follows, and *len is its length. */
static int mongo_op(const char *s, size_t n, size_t i, size_t *len)
{
    size_t l = 0;
    while (i + 1 + l < n && waf_is_alpha((unsigned char)s[i + 1 + l]))
        l++;
    *len = l + 1;
    return l && waf_in_list_ci(s + i + 1, l, mongo_ops);
}

static const char *const orm_lookups[] = {
    "startswith",   "istartswith", "endswith", "iendswith", "contains",
    "icontains",    "regex",       "iregex",   "exact",     "iexact",
    "in",           "gt",          "gte",      "lt",        "lte",
    "contained_by", "has_key",     "has_keys", "overlap",   "isnull",
    "range",        NULL};

static const char *const orm_sensitive[] = {
    "password", "passwd", "secret", "token",  "hash",  "username", "is_superuser",
    "is_staff", "roles",  "role",   "groups", "email", "api_key",  NULL};

/* Django-style "a__b__lookup": relation traversal or a sensitive column with a
 * lookup operator. */
static int orm_traversal(const char *s, size_t n)
{
    size_t segs = 0, start = 0, last_start = 0, last_len = 0;
    int sensitive = 0;
    for (size_t i = 0; i <= n; i++) {
        int end = i == n || (i + 1 < n && s[i] == '_' && s[i + 1] == '_');
        if (i < n && !end && !(waf_is_word((unsigned char)s[i]))) return 0;
        if (!end) continue;
        size_t l = i - start;
        if (l == 0) return 0;
        if (waf_in_list_ci(s + start, l, orm_sensitive)) sensitive = 1;
        segs++;
        last_start = start;
        last_len = l;
        start = i + 2;
        i++;
    }
    if (segs < 2 || !waf_in_list_ci(s + last_start, last_len, orm_lookups)) return 0;
    return segs >= 4 || sensitive;
}

/* The bytes the rules of the value loop start on. */
static const unsigned char rule_start[256] = {
    ['$'] = 1, ['\''] = 1, ['"'] = 1, ['d'] = 1, ['t'] = 1};

int waf_detect_nosql(const char *s, size_t n, enum waf_place place, struct waf_hit *hit)
{
    if (!s || n < 3) return 0;
    size_t len;
    if (place == WAF_PLACE_ARG_NAME) {
        if (s[0] == '$' && mongo_op(s, n, 0, &len) && len == n)
            return waf_hit_set(hit, 942900, WAF_NOSQL, 5, "MongoDB operator key", 0, len);
        if (orm_traversal(s, n))
            return waf_hit_set(hit, 942950, WAF_NOSQL, 5, "ORM lookup traversal", 0, n);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!rule_start[c]) continue;
        if (c == '$' && mongo_op(s, n, i, &len)) {
            if (waf_starts_ci(s, n, i, "$where"))
                return waf_hit_set(hit, 942910, WAF_NOSQL, 5, "MongoDB $where", i, 6);
            /* [$op] in a name, "$op": / $op: in a JSON-ish value */
            int bracket = i > 0 && s[i - 1] == '[' && i + len < n && s[i + len] == ']';
            size_t j = i + len;
            if (j < n && (s[j] == '"' || s[j] == '\'')) j++;
            j = waf_skip_space(s, n, j);
            int keyed = j < n && s[j] == ':' &&
                        (i == 0 || s[i - 1] == '"' || s[i - 1] == '\'' ||
                         s[i - 1] == '{' || s[i - 1] == ' ' || s[i - 1] == ',');
            if (bracket || keyed)
                return waf_hit_set(hit, 942900, WAF_NOSQL, 5, "MongoDB query operator", i,
                                   len);
        }
        if ((c == '\'' || c == '"') && i + 1 < n) {
            size_t j = waf_skip_space(s, n, i + 1);
            if (j < n && s[j] == ';') {
                j = waf_skip_space(s, n, j + 1);
                if (waf_word_at(s, n, j, "return") || waf_word_at(s, n, j, "sleep") ||
                    waf_word_at(s, n, j, "while") || waf_word_at(s, n, j, "var"))
                    return waf_hit_set(hit, 942920, WAF_NOSQL, 5,
                                       "string break-out into JavaScript", i, j - i);
            }
        }
        if (c == 'd' && waf_word_at(s, n, i, "do")) {
            size_t j = waf_skip_space(s, n, i + 2);
            if (j < n && s[j] == '{') {
                const char *close = memchr(s + j, '}', n - j);
                if (close) {
                    size_t k = waf_skip_space(s, n, (size_t)(close - s) + 1);
                    if (waf_word_at(s, n, k, "while"))
                        return waf_hit_set(hit, 942930, WAF_NOSQL, 5,
                                           "JavaScript busy loop", i, k + 5 - i);
                }
            }
        }
        if (c == 't' && waf_starts_ci(s, n, i, "this.") &&
            (i == 0 || !waf_is_word((unsigned char)s[i - 1]))) {
            size_t j = i + 5, l = waf_word_len(s, n, j);
            if (l && j + l + 1 < n && s[j + l] == '.' &&
                (waf_starts_ci(s, n, j + l + 1, "match(") ||
                 waf_starts_ci(s, n, j + l + 1, "length")))
                return waf_hit_set(hit, 942910, WAF_NOSQL, 5, "server-side JavaScript", i,
                                   j + l - i);
        }
        if (c == 'd' && waf_starts_ci(s, n, i, "db.") &&
            (i == 0 || !waf_is_word((unsigned char)s[i - 1]))) {
            size_t j = i + 3, l = waf_word_len(s, n, j);
            if (l && j + l < n && (s[j + l] == '.' || s[j + l] == '('))
                return waf_hit_set(hit, 942910, WAF_NOSQL, 5, "MongoDB shell call", i,
                                   3 + l);
        }
    }
    return 0;
}
