/* Table-driven routing checks (see router_cases.h). */
#include "router_cases.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rc_backends_start(struct rc_backends *bs, const char *const *names)
{
    memset(bs, 0, sizeof(*bs));
    for (; *names && bs->n < RC_MAX_BACKENDS; names++) {
        bs->names[bs->n] = *names;
        bs->b[bs->n] = e2e_backend_start_report(*names);
        bs->n++;
    }
}

const char *rc_services(const struct rc_backends *bs)
{
    static char out[4096];
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < bs->n; i++)
        len += (size_t)snprintf(out + len, sizeof(out) - len,
                                "service \"%s\" { endpoints = { \"127.0.0.1:%d\" } }\n",
                                bs->names[i], bs->b[i].port);
    return out;
}

int rc_backend_port(const struct rc_backends *bs, const char *name)
{
    for (int i = 0; i < bs->n; i++)
        if (strcmp(bs->names[i], name) == 0)
            return bs->b[i].port;
    return -1;
}

bool rc_location_matches(const char *got, const char *want)
{
    const char *ph = strstr(want, "{port}");
    if (!ph)
        return strcmp(got, want) == 0;
    size_t pre = (size_t)(ph - want);
    if (strncmp(got, want, pre) != 0)
        return false;
    const char *g = got + pre;
    if (*g == ':') {
        g++;
        if (*g < '0' || *g > '9')
            return false;
        while (*g >= '0' && *g <= '9')
            g++;
    }
    return rc_location_matches(g, ph + 6);
}

/* Iterates "name=value\n" (or "name\n") lines: copies each into name/value. */
static const char *next_spec(const char *p, char *name, size_t nlen, char *value, size_t vlen)
{
    if (!p || !*p)
        return NULL;
    const char *end = strchr(p, '\n');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    const char *eq = memchr(p, '=', len);
    size_t kl = eq ? (size_t)(eq - p) : len;
    snprintf(name, nlen, "%.*s", (int)kl, p);
    if (eq)
        snprintf(value, vlen, "%.*s", (int)(len - kl - 1), eq + 1);
    else if (vlen)
        value[0] = 0;
    return end ? end + 1 : p + len;
}

bool rc_run(int port, const char *label, const struct rc_req *q)
{
    const char *method = q->method ? q->method : "GET";
    struct e2e_resp r = {0};
    int rc = e2e_http(port, method, q->host, q->target, q->headers, &r, 5000);
    if (rc != 1) {
        CHECKF(false, "%s: %s %s (Host %s): no valid response", label, method, q->target,
               q->host ? q->host : "-");
        e2e_resp_free(&r);
        return false;
    }
    bool ok = true;
    char be[128] = "";
    e2e_resp_header(&r, "x-backend", be, sizeof(be));
    ok &= CHECKF(r.status == q->status, "%s: %s %s (Host %s): status %d, want %d (backend \"%s\")",
                 label, method, q->target, q->host ? q->host : "-", r.status, q->status, be);
    if (q->backend)
        ok &= CHECKF(strcmp(be, q->backend) == 0, "%s: %s %s (Host %s): answered by \"%s\", want \"%s\"",
                     label, method, q->target, q->host ? q->host : "-", be, q->backend);
    char v[2048], name[256], want[1024];
    if (q->up_target || q->up_host || q->up_headers || q->up_absent) {
        struct e2e_json *rep = e2e_report(&r);
        if (!rep) {
            ok &= CHECKF(false, "%s: %s %s: no backend report to check what the backend received",
                         label, method, q->target);
        } else {
            const char *t = e2e_report_str(rep, "target"), *h = e2e_report_str(rep, "host");
            if (q->up_target)
                ok &= CHECKF(t && strcmp(t, q->up_target) == 0,
                             "%s: %s %s: backend received target \"%s\", want \"%s\"", label,
                             method, q->target, t ? t : "(null)", q->up_target);
            if (q->up_host)
                ok &= CHECKF(h && strcmp(h, q->up_host) == 0,
                             "%s: %s %s: backend received Host \"%s\", want \"%s\"", label, method,
                             q->target, h ? h : "(none)", q->up_host);
            for (const char *p = q->up_headers;
                 (p = next_spec(p, name, sizeof(name), want, sizeof(want)));) {
                const char *got = e2e_report_header(rep, name, ",", v, sizeof(v));
                e2e_norm_list((char *)got);
                e2e_norm_list(want);
                ok &= CHECKF(got && strcmp(got, want) == 0,
                             "%s: %s %s: backend received %s \"%s\", want \"%s\"", label, method,
                             q->target, name, got ? got : "(absent)", want);
            }
            for (const char *p = q->up_absent;
                 (p = next_spec(p, name, sizeof(name), want, sizeof(want)));)
                ok &= CHECKF(e2e_report_count(rep, name) == 0,
                             "%s: %s %s: backend received %s, which must be absent", label, method,
                             q->target, name);
            e2e_json_free(rep);
        }
    }
    if (q->location) {
        const char *loc = e2e_resp_header(&r, "location", v, sizeof(v));
        ok &= CHECKF(loc && rc_location_matches(loc, q->location),
                     "%s: %s %s: Location \"%s\", want \"%s\"", label, method, q->target,
                     loc ? loc : "(none)", q->location);
    }
    for (const char *p = q->resp_headers;
         (p = next_spec(p, name, sizeof(name), want, sizeof(want)));) {
        const char *got = e2e_resp_header_all(&r, name, ",", v, sizeof(v));
        e2e_norm_list((char *)got);
        e2e_norm_list(want);
        ok &= CHECKF(got && strcmp(got, want) == 0, "%s: %s %s: response %s \"%s\", want \"%s\"",
                     label, method, q->target, name, got ? got : "(absent)", want);
    }
    for (const char *p = q->resp_absent;
         (p = next_spec(p, name, sizeof(name), want, sizeof(want)));)
        ok &= CHECKF(e2e_head_count(r.head, name) == 0,
                     "%s: %s %s: response has %s, which must be absent", label, method, q->target,
                     name);
    e2e_resp_free(&r);
    return ok;
}
