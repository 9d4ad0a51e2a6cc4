/* Access-log formats compiled to a list of literals and fields; a line is
 * written field by field with the format's escaping: nginx's (`"`, `\`,
 * control and non-ASCII bytes as \xHH) for text formats, JSON's for json. */
#include "log_format.h"
#include "conn.h"
#include "request.h"
#include "transport.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum field {
    F_LITERAL,
    F_CLIENT,
    F_REMOTE_USER,
    F_TIME_LOCAL,
    F_TIME_ISO,
    F_REQUEST,
    F_METHOD,
    F_TARGET,
    F_PROTOCOL,
    F_STATUS,
    F_BYTES,
    F_BODY_BYTES,
    F_DURATION,
    F_UPSTREAM_TIME,
    F_HOST,
    F_SERVICE,
    F_ENDPOINT,
    F_TAG,
    F_TLS_VERSION,
    F_REQUEST_ID,
    F_SCHEME,
    F_HEADER /* $http_<name> */
};

static const struct {
    const char *name;
    enum field f;
} names[] = {
    {"client", F_CLIENT},
    {"remote_addr", F_CLIENT},
    {"remote_user", F_REMOTE_USER},
    {"time_local", F_TIME_LOCAL},
    {"time_iso8601", F_TIME_ISO},
    {"request", F_REQUEST},
    {"method", F_METHOD},
    {"target", F_TARGET},
    {"protocol", F_PROTOCOL},
    {"status", F_STATUS},
    {"bytes", F_BYTES},
    {"body_bytes", F_BODY_BYTES},
    {"duration", F_DURATION},
    {"upstream_time", F_UPSTREAM_TIME},
    {"host", F_HOST},
    {"service", F_SERVICE},
    {"endpoint", F_ENDPOINT},
    {"tag", F_TAG},
    {"tls_version", F_TLS_VERSION},
    {"request_id", F_REQUEST_ID},
    {"scheme", F_SCHEME},
};

const char foyer_log_fields[] =
    "client, remote_user, time_local, time_iso8601, request, method, target, protocol, "
    "status, bytes, body_bytes, duration, upstream_time, host, service, endpoint, tag, "
    "tls_version, request_id, scheme, http_<header>";

struct item {
    enum field f;
    char *text; /* a literal, or the header name of $http_<name> */
    size_t len;
};

struct foyer_log_format {
    int json;
    struct item *items;
    size_t n;
};

#define FOYER_FORMAT_TEXT                                                                \
    "$client [$time_local] \"$request\" $status $bytes $duration \"$host\" $service "    \
    "$endpoint $tag"
#define COMBINED_TEXT                                                                    \
    "$client - $remote_user [$time_local] \"$request\" $status $body_bytes "             \
    "\"$http_referer\" \"$http_user_agent\""
/* json: keys and the fields they hold, in order. */
static const char *const json_keys[] = {
    "time",     "client",     "method",      "target",        "protocol", "status",
    "bytes",    "body_bytes", "duration",    "upstream_time", "host",     "service",
    "endpoint", "tag",        "tls_version", "request_id",    "referer",  "user_agent"};
static const char *const json_fields[] = {
    "time_iso8601", "client",       "method",         "target",   "protocol",
    "status",       "bytes",        "body_bytes",     "duration", "upstream_time",
    "host",         "service",      "endpoint",       "tag",      "tls_version",
    "request_id",   "http_referer", "http_user_agent"};

static int add(struct foyer_log_format *fmt, enum field f, const char *text, size_t len)
{
    struct item *v = realloc(fmt->items, (fmt->n + 1) * sizeof *v);
    if (v == NULL) return -1;
    fmt->items = v;
    char *copy = text ? strndup(text, len) : NULL;
    if (text && copy == NULL) return -1;
    v[fmt->n++] = (struct item){f, copy, len};
    return 0;
}

static int name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '_';
}

/* One $name: a field, or -1 with a message. */
static int add_field(struct foyer_log_format *fmt, const char *name, size_t len,
                     char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strlen(names[i].name) == len && memcmp(names[i].name, name, len) == 0)
            return add(fmt, names[i].f, NULL, 0);
    if (len > 5 && memcmp(name, "http_", 5) == 0) { /* $http_user_agent: User-Agent */
        char h[128];
        size_t n = len - 5 < sizeof h ? len - 5 : sizeof h - 1;
        for (size_t i = 0; i < n; i++)
            h[i] = name[5 + i] == '_' ? '-' : name[5 + i];
        return add(fmt, F_HEADER, h, n);
    }
    snprintf(err, errlen, "access_log_format: unknown field $%.*s (known: %s)", (int)len,
             name, foyer_log_fields);
    return -1;
}

static int compile_template(struct foyer_log_format *fmt, const char *s, char *err,
                            size_t errlen)
{
    while (*s) {
        const char *dollar = strchr(s, '$');
        size_t lit = dollar ? (size_t)(dollar - s) : strlen(s);
        if (lit && add(fmt, F_LITERAL, s, lit) != 0) goto oom;
        if (dollar == NULL) break;
        const char *name = dollar + 1, *end = name;
        int braced = *name == '{';
        if (braced) name++, end++;
        while (name_char(*end))
            end++;
        if (end == name || (braced && *end != '}')) {
            snprintf(err, errlen, "access_log_format: '$' must start a field name");
            return -1;
        }
        if (add_field(fmt, name, (size_t)(end - name), err, errlen) != 0) return -1;
        s = end + braced;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int compile_json(struct foyer_log_format *fmt, char *err, size_t errlen)
{
    fmt->json = 1;
    for (size_t i = 0; i < sizeof json_keys / sizeof *json_keys; i++) {
        char lit[48];
        int n = snprintf(lit, sizeof lit, "%s\"%s\":", i ? "," : "{", json_keys[i]);
        if (add(fmt, F_LITERAL, lit, (size_t)n) != 0 ||
            add_field(fmt, json_fields[i], strlen(json_fields[i]), err, errlen) != 0)
            return -1;
    }
    return add(fmt, F_LITERAL, "}", 1);
}

struct foyer_log_format *foyer_log_format_compile(const char *spec, char *err,
                                                  size_t errlen)
{
    struct foyer_log_format *fmt = calloc(1, sizeof *fmt);
    if (fmt == NULL) return NULL;
    int rc;
    if (strcmp(spec, "json") == 0)
        rc = compile_json(fmt, err, errlen);
    else if (strcmp(spec, "combined") == 0)
        rc = compile_template(fmt, COMBINED_TEXT, err, errlen);
    else if (strcmp(spec, "foyer") == 0)
        rc = compile_template(fmt, FOYER_FORMAT_TEXT, err, errlen);
    else if (strchr(spec, '$') != NULL)
        rc = compile_template(fmt, spec, err, errlen);
    else {
        snprintf(
            err, errlen,
            "access_log_format must be \"foyer\", \"combined\", \"json\" or a template "
            "with $fields");
        rc = -1;
    }
    if (rc != 0) {
        foyer_log_format_free(fmt);
        return NULL;
    }
    return fmt;
}

void foyer_log_format_free(struct foyer_log_format *f)
{
    if (f == NULL) return;
    for (size_t i = 0; i < f->n; i++)
        free(f->items[i].text);
    free(f->items);
    free(f);
}

/* ---- writing a line ---- */

struct out {
    char *p;
    size_t len, cap; /* cap keeps room for the newline */
    int json;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (n > o->cap - o->len) n = o->cap - o->len;
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

/* A value: escaped the format's way; NULL is "-" (json: null). */
static void put_value(struct out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    if (s == NULL) {
        put(o, o->json ? "null" : "-", o->json ? 4 : 1);
        return;
    }
    if (o->json) put(o, "\"", 1);
    for (size_t i = 0; i < n && o->len < o->cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        int plain = ch >= 0x20 && ch != '"' && ch != '\\' && (o->json || ch < 0x7f);
        if (plain) {
            o->p[o->len++] = (char)ch;
        } else if (o->json && (ch == '"' || ch == '\\')) {
            char esc[2] = {'\\', (char)ch};
            put(o, esc, 2);
        } else if (o->json) {
            char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
            put(o, esc, 6);
        } else {
            char esc[4] = {'\\', 'x', hex[ch >> 4], hex[ch & 15]};
            put(o, esc, 4);
        }
    }
    if (o->json) put(o, "\"", 1);
}

static void put_cstr(struct out *o, const char *s)
{
    put_value(o, s, s ? strlen(s) : 0);
}

static void put_number(struct out *o, const char *fmt, double v)
{
    char b[48];
    int n = snprintf(b, sizeof b, fmt, v);
    put(o, b, (size_t)n);
}

/* Times are formatted once a second. */
static const char *time_text(int iso)
{
    static time_t cached[2] = {-1, -1};
    static char text[2][40];
    time_t now = (time_t)ev_now(foyer_worker.loop);
    if (now != cached[iso]) {
        struct tm tm;
        localtime_r(&now, &tm);
        long off = tm.tm_gmtoff / 60;
        char sign = off < 0 ? '-' : '+';
        off = off < 0 ? -off : off;
        size_t n = strftime(text[iso], sizeof text[iso],
                            iso ? "%Y-%m-%dT%H:%M:%S" : "%d/%b/%Y:%H:%M:%S ", &tm);
        snprintf(text[iso] + n, sizeof text[iso] - n,
                 iso ? "%c%02ld:%02ld" : "%c%02ld%02ld", sign, off / 60, off % 60);
        cached[iso] = now;
    }
    return text[iso];
}

static void put_request_line(struct out *o, const struct foyer_http_head *h, int part)
{
    size_t ml = h->method.len > 64 ? 64 : h->method.len;
    size_t tl = h->target.len > 2048 ? 2048 : h->target.len;
    const char *proto = h->version >= 11 ? "HTTP/1.1" : "HTTP/1.0";
    if (h->method.p == NULL) {
        put_value(o, NULL, 0);
        return;
    }
    if (part == F_METHOD) {
        put_value(o, h->method.p, ml);
    } else if (part == F_TARGET) {
        put_value(o, h->target.p, tl);
    } else if (part == F_PROTOCOL) {
        put_cstr(o, proto);
    } else { /* the request line, escaped as one value */
        char line[2200];
        int n = snprintf(line, sizeof line, "%.*s %.*s %s", (int)ml, h->method.p, (int)tl,
                         h->target.p, proto);
        put_value(o, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
}

static void put_header(struct out *o, struct foyer_request *r, const struct item *it)
{
    size_t n = 0;
    const char *v =
        r->head.method.p ? foyer_request_header(r, it->text, it->len, &n) : NULL;
    put_value(o, v, n);
}

static void put_field(struct out *o, const struct item *it,
                      const struct foyer_log_entry *e)
{
    char ip[64];
    switch (it->f) {
    case F_LITERAL:
        put(o, it->text, it->len);
        break;
    case F_CLIENT:
        foyer_addr_host(&e->c->peer, ip, sizeof ip);
        put_cstr(o, ip);
        break;
    case F_REMOTE_USER:
        put_value(o, NULL, 0);
        break;
    case F_TIME_LOCAL:
        put_cstr(o, time_text(0));
        break;
    case F_TIME_ISO:
        put_cstr(o, time_text(1));
        break;
    case F_REQUEST:
    case F_METHOD:
    case F_TARGET:
    case F_PROTOCOL:
        put_request_line(o, &e->r->head, it->f);
        break;
    case F_STATUS:
        put_number(o, "%.0f", e->status);
        break;
    case F_BYTES:
        put_number(o, "%.0f", (double)e->bytes);
        break;
    case F_BODY_BYTES:
        put_number(o, "%.0f", (double)e->body_bytes);
        break;
    case F_DURATION:
        put_number(o, "%.3f", e->duration < 0 ? 0 : e->duration);
        break;
    case F_UPSTREAM_TIME:
        if (e->upstream_time < 0)
            put_value(o, NULL, 0);
        else
            put_number(o, "%.3f", e->upstream_time);
        break;
    case F_HOST:
        put_cstr(o, e->r->head.method.p ? foyer_request_host(e->r) : NULL);
        break;
    case F_SERVICE:
        put_cstr(o, e->service);
        break;
    case F_ENDPOINT:
        put_cstr(o, e->endpoint);
        break;
    case F_TAG:
        put_cstr(o, e->tag);
        break;
    case F_TLS_VERSION:
        put_cstr(o, e->c->tp->info ? e->c->tp->info(e->c->tp_ctx, "version") : NULL);
        break;
    case F_REQUEST_ID:
        put_cstr(o, e->request_id);
        break;
    case F_SCHEME:
        put_cstr(o, e->c->scheme ? e->c->scheme : "http");
        break;
    case F_HEADER:
        put_header(o, e->r, it);
        break;
    }
}

size_t foyer_log_format_line(const struct foyer_log_format *f,
                             const struct foyer_log_entry *e, char *out, size_t len)
{
    struct out o = {out, 0, len - 2, f->json};
    for (size_t i = 0; i < f->n; i++)
        put_field(&o, &f->items[i], e);
    out[o.len++] = '\n';
    out[o.len] = '\0';
    return o.len;
}
