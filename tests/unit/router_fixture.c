/* The foyer.router test fixture; see router_fixture.h. */
#include "router_fixture.h"
#include "lua_state.h"
#include "pool.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void add_service(struct foyer_config *c, const char *name, size_t len)
{
    struct foyer_service *s = realloc(c->services, (c->nservices + 1) * sizeof *s);
    REQUIRE(s != NULL);
    c->services = s;
    s = &c->services[c->nservices++];
    memset(s, 0, sizeof *s);
    s->name = strndup(name, len);
    s->where = strdup("test.lua:1: ");
    s->endpoints = calloc(1, sizeof *s->endpoints);
    s->nendpoints = 1;
    REQUIRE(s->name && s->where && s->endpoints);
}

void rfix_add_services(struct rfix *f, const char *services)
{
    for (const char *p = services; p && *p;) {
        size_t n = strcspn(p, " ");
        if (n && foyer_config_service(f->c, p, n) == NULL) add_service(f->c, p, n);
        p += n + (p[n] == ' ');
    }
    REQUIRE(foyer_config_index_services(f->c) == 0);
}

void rfix_init(struct rfix *f, const char *services)
{
    memset(f, 0, sizeof *f);
    f->listen_port = 80;
    f->scheme = "http";
    f->c = foyer_config_new("test.lua");
    REQUIRE(f->c != NULL);
    rfix_add_services(f, services);
    f->c->L = foyer_lua_state_new("test.lua");
    REQUIRE(f->c->L != NULL);
    foyer_router_open(f->c->L);
}

int rfix_run(struct rfix *f, const char *chunk)
{
    lua_State *L = f->c->L;
    lua_settop(L, 0);
    if (luaL_loadbuffer(L, chunk, strlen(chunk), "@test.lua") != 0 ||
        lua_pcall(L, 0, 1, 0) != 0) {
        snprintf(f->err, sizeof f->err, "%s", lua_tostring(L, -1));
        lua_settop(L, 0);
        return -1;
    }
    return 0;
}

int rfix_build(struct rfix *f, const char *services, const char *chunk)
{
    char text[16384];
    rfix_init(f, services);
    snprintf(text, sizeof text, "local router = require 'foyer.router' %s", chunk);
    if (rfix_run(f, text) != 0) return -1;
    lua_State *L = f->c->L;
    f->rt = foyer_router_check(L, -1);
    if (f->rt == NULL) {
        snprintf(f->err, sizeof f->err, "the chunk returned no router");
        return -1;
    }
    lua_setglobal(L, "the_router"); /* keeps it alive */
    return foyer_router_bind(f->rt, f->c, f->err, sizeof f->err);
}

void rfix_free(struct rfix *f)
{
    if (f->have_msg) unit_msg_free(&f->msg);
    foyer_config_unref(f->c);
    memset(f, 0, sizeof *f);
}

/* "GET a.com /x K:v" as HTTP/1.1 text (host "-": HTTP/1.0, no Host). */
static void request_text(const char *spec, char *out, size_t len)
{
    char method[32], host[300], target[2048];
    int used = 0;
    REQUIRE(sscanf(spec, "%31s %299s %2047s%n", method, host, target, &used) == 3);
    int no_host = strcmp(host, "-") == 0;
    size_t n =
        (size_t)snprintf(out, len, "%s %s HTTP/1.%d\r\n", method, target, !no_host);
    if (!no_host) n += (size_t)snprintf(out + n, len - n, "Host: %s\r\n", host);
    for (const char *p = spec + used; *p;) {
        p += strspn(p, " ");
        size_t k = strcspn(p, " ");
        const char *colon = memchr(p, ':', k);
        if (k == 0) break;
        REQUIRE(colon != NULL);
        n += (size_t)snprintf(out + n, len - n, "%.*s: %.*s\r\n", (int)(colon - p), p,
                              (int)(p + k - colon - 1), colon + 1);
        p += k;
    }
    snprintf(out + n, len - n, "\r\n");
}

const struct foyer_route_decision *rfix_route(struct rfix *f, const char *spec,
                                              struct foyer_request *r)
{
    char text[4096];
    request_text(spec, text, sizeof text);
    return rfix_route_text(f, text, r);
}

const struct foyer_route_decision *rfix_route_text(struct rfix *f, const char *text,
                                                   struct foyer_request *r)
{
    static struct foyer_route_decision d;
    static union foyer_sockaddr client;
    char esc[256];
    if (f->have_msg) unit_msg_free(&f->msg);
    f->have_msg = 1;
    int st = unit_request(&f->msg, text);
    if (!CHECKF(st == 0, "request '%s' parses (got %d)",
                unit_escape(text, strlen(text), esc, sizeof esc), st))
        return NULL;
    unit_make_request(r, &f->msg, &client, f->listen_port);
    r->scheme = f->scheme;
    foyer_router_route(f->rt, r, &d);
    return &d;
}

static size_t put(char *out, size_t len, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t put(char *out, size_t len, size_t n, const char *fmt, ...)
{
    if (n >= len) return n;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out + n, len - n, fmt, ap);
    va_end(ap);
    return k > 0 ? n + (size_t)k : n;
}

static size_t put_str(char *out, size_t len, size_t n, const char *key,
                      struct foyer_str s)
{
    if (s.p == NULL) return n;
    return put(out, len, n, " %s=%.*s", key, (int)s.len, s.p);
}

static size_t put_edits(char *out, size_t len, size_t n, const char *key,
                        struct foyer_header_edits e)
{
    static const char *const ops[] = {"set", "add", "remove"};
    for (unsigned i = 0; i < e.n; i++) {
        const struct foyer_header_edit *x = &e.v[i];
        n = put(out, len, n, "%s%s:%.*s", i ? "," : key, ops[x->op], (int)x->name.len,
                x->name.p);
        if (x->op != FOYER_HEADER_REMOVE)
            n = put(out, len, n, "=%.*s", (int)x->value.len, x->value.p);
    }
    return n;
}

void rfix_describe(const struct foyer_route_decision *d, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    if (d->redirect) {
        const struct foyer_redirect *r = d->redirect;
        n = put(out, len, n, "redirect %d", r->status);
        n = put_str(out, len, n, "scheme", r->scheme);
        n = put_str(out, len, n, "host", r->host);
        if (r->port) n = put(out, len, n, " port=%u", r->port);
        n = put_str(out, len, n, "path", r->path);
    } else if (d->respond) {
        n = put(out, len, n, "respond %d", d->respond->status);
        n = put_str(out, len, n, "body", d->respond->body);
        n = put_edits(out, len, n, " headers=", d->respond->headers);
    } else if (d->service) {
        n = put(out, len, n, "%s", d->service->name);
    }
    if (d->status) n = put(out, len, n, "%s%d", n ? " status=" : "", d->status);
    n = put_str(out, len, n, "path", d->path);
    n = put_str(out, len, n, "host", d->host);
    n = put_edits(out, len, n, " req=", d->request_headers);
    n = put_edits(out, len, n, " resp=", d->response_headers);
    if (d->mirror) n = put(out, len, n, " mirror=%s", d->mirror->name);
    if (d->timeout) n = put(out, len, n, " timeout=%g", d->timeout);
    if (d->tag) n = put(out, len, n, " tag=%s", d->tag);
}

void rfix_check(struct rfix *f, const char *spec, const char *want, const char *file,
                int line)
{
    struct foyer_request r;
    char got[1024];
    const struct foyer_route_decision *d = rfix_route(f, spec, &r);
    if (d == NULL) return;
    rfix_describe(d, got, sizeof got);
    unit_check(strcmp(got, want) == 0, file, line, false, "%s -> \"%s\" (got \"%s\")",
               spec, want, got);
}
