/*
 * E2E harness: reading the JSON reports of foyer-test-backend --report, and
 * comparing field values the way HTTP defines them (a list value may arrive
 * as one line or several).
 */
#include "harness.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct e2e_json *e2e_report(const struct e2e_resp *r)
{
    char ct[128];
    if (r->status != 200 || !r->body || !e2e_resp_header(r, "content-type", ct, sizeof(ct)) ||
        !e2e_contains_ci(ct, "application/json") || e2e_head_count(r->head, "x-backend") == 0)
        return NULL;
    char err[256];
    struct e2e_json *j = e2e_json_parse(r->body, r->body_len, err, sizeof(err));
    if (!j)
        e2e_log("unparsable backend report (%s): %.200s", err, r->body);
    else if (!e2e_json_str(j, "service")) {
        e2e_json_free(j);
        j = NULL;
    }
    return j;
}

const char *e2e_report_str(const struct e2e_json *rep, const char *key)
{
    return e2e_json_str(rep, key);
}

/* Appends s to out (bounded), separated by sep when out is not empty. */
static void append(char *out, size_t len, bool *first, const char *sep, const char *s, size_t n)
{
    size_t used = strlen(out);
    if (!*first)
        used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s", sep);
    *first = false;
    if (used < len)
        snprintf(out + used, len - used, "%.*s", (int)n, s);
}

const char *e2e_report_header(const struct e2e_json *rep, const char *name, const char *sep,
                              char *out, size_t len)
{
    const struct e2e_json *fields = e2e_json_get(rep, "fields");
    bool first = true;
    out[0] = 0;
    for (size_t i = 0; i < e2e_json_len(fields); i++) {
        const struct e2e_json *f = e2e_json_at(fields, i);
        const struct e2e_json *n = e2e_json_at(f, 0), *v = e2e_json_at(f, 1);
        if (e2e_json_is(n, EJ_STR) && e2e_json_is(v, EJ_STR) && strcasecmp(n->str, name) == 0)
            append(out, len, &first, sep, v->str, v->len);
    }
    return first ? NULL : out;
}

int e2e_report_count(const struct e2e_json *rep, const char *name)
{
    const struct e2e_json *fields = e2e_json_get(rep, "fields");
    int n = 0;
    for (size_t i = 0; i < e2e_json_len(fields); i++) {
        const struct e2e_json *nm = e2e_json_at(e2e_json_at(fields, i), 0);
        n += e2e_json_is(nm, EJ_STR) && strcasecmp(nm->str, name) == 0;
    }
    return n;
}

const char *e2e_resp_header_all(const struct e2e_resp *r, const char *name, const char *sep,
                                char *out, size_t len)
{
    size_t nl = strlen(name);
    bool first = true;
    out[0] = 0;
    const char *line = strstr(r->head, "\r\n");
    while (line && line[2] != '\r' && line[2]) {
        line += 2;
        const char *end = strstr(line, "\r\n");
        if (!end)
            break;
        if ((size_t)(end - line) > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1, *ve = end;
            while (*v == ' ' || *v == '\t')
                v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            append(out, len, &first, sep, v, (size_t)(ve - v));
        }
        line = end;
    }
    return first ? NULL : out;
}

char *e2e_norm_list(char *v)
{
    if (!v)
        return v;
    char *o = v;
    const char *p = v;
    bool first = true;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *s = p;
        while (*p && *p != ',')
            p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (!first)
            *o++ = ',';
        first = false;
        memmove(o, s, (size_t)(e - s));
        o += e - s;
        if (*p == ',')
            p++;
    }
    *o = 0;
    return v;
}
