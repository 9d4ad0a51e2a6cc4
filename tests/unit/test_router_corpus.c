/* lua/router*.c against ../shared/corpus/routing/cases.json (Ingress and
 * Gateway API conformance cases), at the decision level: each group's config
 * is translated into a router.new table (the Lua adapter below), each
 * request is parsed as the proxy would and routed with foyer_router_route,
 * and the decision is compared with `expect`: status, backend, what the
 * backend would receive (path, Host, headers after the edits), redirect
 * parts, response header edits, weighted distributions, mirrors.
 *
 * Prints one line per case (PASS, FAIL with the reasons, SKIP with the
 * reason) and a summary. Exits 77 (skipped) when the corpus is absent.
 * FOYER_SHARED names the shared directory (make check sets it). */
#include "json.h"
#include "json_lua.h"
#include "pool.h"
#include "router_fixture.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- corpus config -> router.new table -------------------------------------------- */

/* Called with the group; returns the router.new table and the names of the
 * services to declare. Defines listen_port(request). Gateway listeners of
 * distinct gateways (addresses) are told apart by port: +10000 per gateway. */
static const char adapter[] =
    "local group = ...\n"
    "local cfg = group.config\n"
    "local out = { semantics = group.api, default = cfg.default_backend, routes = {} }\n"
    "local services, seen = {}, {}\n"
    "local function use(name)\n"
    "  if name and not seen[name] then\n"
    "    seen[name] = true\n"
    "    services[#services + 1] = name\n"
    "  end\n"
    "end\n"
    "use(cfg.default_backend)\n"
    "local filter_types = {\n"
    "  request_header_modifier = 'RequestHeaderModifier',\n"
    "  response_header_modifier = 'ResponseHeaderModifier',\n"
    "  request_redirect = 'RequestRedirect', url_rewrite = 'URLRewrite',\n"
    "  request_mirror = 'RequestMirror' }\n"
    "local function filters(list)\n"
    "  if not list then return nil end\n"
    "  local res = {}\n"
    "  for i, f in ipairs(list) do\n"
    "    local t = {}\n"
    "    for k, v in pairs(f) do t[k == 'status' and 'statusCode' or k] = v end\n"
    "    t.type = filter_types[f.type] or f.type\n"
    "    if t.type == 'RequestMirror' then use(f.service) end\n"
    "    res[i] = t\n"
    "  end\n"
    "  return res\n"
    "end\n"
    "local function backends(list)\n"
    "  local res = {}\n"
    "  for i, b in ipairs(list or {}) do\n"
    "    local name = b.service\n"
    "    if b.invalid then name = 'invalid-backend-' .. i else use(name) end\n"
    "    res[i] = { service = name, weight = b.weight, filters = filters(b.filters) }\n"
    "  end\n"
    "  return res\n"
    "end\n"
    "local function matches(list)\n"
    "  local res = {}\n"
    "  for i, m in ipairs(list or {}) do\n"
    "    res[i] = { path = m.path, headers = m.headers, queryParams = m.query,\n"
    "               method = m.method }\n"
    "  end\n"
    "  return res\n"
    "end\n"
    "local gateways, ngateways, names = {}, 0, {}\n"
    "if cfg.listeners then\n"
    "  out.listeners = {}\n"
    "  for i, l in ipairs(cfg.listeners) do\n"
    "    local gw = l.gateway or ''\n"
    "    if gateways[gw] == nil then\n"
    "      gateways[gw] = ngateways\n"
    "      ngateways = ngateways + 1\n"
    "    end\n"
    "    local port = l.port or (l.protocol == 'HTTPS' and 443 or 80)\n"
    "    out.listeners[i] = { name = l.name, hostname = l.hostname,\n"
    "      protocol = l.protocol, port = port + 10000 * gateways[gw] }\n"
    "    names[l.name] = true\n"
    "  end\n"
    "end\n"
    "for _, r in ipairs(cfg.routes) do\n"
    "  local attach\n"
    "  if r.listeners then\n" /* a parent that does not exist: not attached */
    "    attach = {}\n"
    "    for _, n in ipairs(r.listeners) do\n"
    "      if names[n] then attach[#attach + 1] = n end\n"
    "    end\n"
    "  end\n"
    "  local ours = not r.ingress_class or r.ingress_class == cfg.proxy_ingress_class\n"
    "  if ours and (not attach or #attach > 0) and #r.rules > 0 then\n"
    "    local rules = {}\n"
    "    for j, rule in ipairs(r.rules) do\n"
    "      rules[j] = { matches = matches(rule.matches),\n"
    "                   filters = filters(rule.filters),\n"
    "                   backends = backends(rule.backends) }\n"
    "    end\n"
    "    out.routes[#out.routes + 1] = { name = r.id, hostnames = r.hostnames,\n"
    "                                    listeners = attach, rules = rules }\n"
    "  end\n"
    "end\n"
    "function listen_port(req)\n"
    "  local base = req.port or (req.scheme == 'https' and 443 or 80)\n"
    "  return base + 10000 * (req.gateway and gateways[req.gateway] or 0)\n"
    "end\n"
    "return out, table.concat(services, ' ')\n";

/* Builds group's router into f (bound); 0, or -1 with the error in f->err. */
static int build_group(struct rfix *f, const struct json_value *group)
{
    lua_State *L;
    rfix_init(f, "");
    L = f->c->L;
    if (luaL_loadbuffer(L, adapter, sizeof adapter - 1, "=adapter") != 0) goto lua_error;
    foyer_json_push(L, group);
    if (lua_pcall(L, 1, 2, 0) != 0) goto lua_error;
    rfix_add_services(f, lua_tostring(L, -1));
    lua_pop(L, 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "foyer.router");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "new");
    lua_pushvalue(L, -3);
    if (lua_pcall(L, 1, 1, 0) != 0) goto lua_error;
    f->rt = foyer_router_check(L, -1);
    lua_setglobal(L, "the_router");
    lua_settop(L, 0);
    return foyer_router_bind(f->rt, f->c, f->err, sizeof f->err);
lua_error:
    snprintf(f->err, sizeof f->err, "%s", lua_tostring(L, -1));
    lua_settop(L, 0);
    return -1;
}

/* ---- verdicts --------------------------------------------------------------------- */

struct verdict {
    char fail[1024];
    char note[256]; /* what was not checked, and why */
};

static void add(char *buf, size_t len, const char *fmt, va_list ap)
{
    size_t n = strlen(buf);
    if (n > 0 && n + 2 < len) {
        memcpy(buf + n, "; ", 3);
        n += 2;
    }
    if (n < len) vsnprintf(buf + n, len - n, fmt, ap);
}

__attribute__((format(printf, 2, 3))) static void vfail(struct verdict *v,
                                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(v->fail, sizeof v->fail, fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 2, 3))) static void vnote(struct verdict *v,
                                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(v->note, sizeof v->note, fmt, ap);
    va_end(ap);
}

/* ---- JSON helpers ----------------------------------------------------------------- */

static const char *str(const struct json_value *obj, const char *key, char *buf,
                       size_t len)
{
    const struct json_value *v = obj ? json_get(obj, key) : NULL;
    if (v == NULL || v->type != JSON_STRING) return NULL;
    snprintf(buf, len, "%.*s", (int)v->u.str.len, v->u.str.p);
    return buf;
}

static int num(const struct json_value *obj, const char *key, int dflt)
{
    const struct json_value *v = obj ? json_get(obj, key) : NULL;
    return v != NULL && v->type == JSON_NUMBER ? (int)v->u.number : dflt;
}

static int default_port(const char *scheme)
{
    return strcmp(scheme, "https") == 0 ? 443 : 80;
}

/* ---- header fields as the backend (or client) would see them ---------------------- */

struct fields {
    unsigned n;
    struct {
        char name[128], value[512];
    } f[64];
};

static void fields_from(struct fields *fs, const struct json_value *obj)
{
    fs->n = 0;
    for (size_t i = 0; obj != NULL && i < obj->u.obj.n && fs->n < 64; i++) {
        const struct json_member *m = &obj->u.obj.m[i];
        snprintf(fs->f[fs->n].name, 128, "%.*s", (int)m->key_len, m->key);
        snprintf(fs->f[fs->n].value, 512, "%.*s", (int)m->value.u.str.len,
                 m->value.u.str.p);
        fs->n++;
    }
}

static void fields_remove(struct fields *fs, struct foyer_str name)
{
    unsigned k = 0;
    for (unsigned i = 0; i < fs->n; i++)
        if (!foyer_str_eq_ci(name, fs->f[i].name, strlen(fs->f[i].name)))
            fs->f[k++] = fs->f[i];
    fs->n = k;
}

/* The edits in order: set replaces, add appends, remove drops. */
static void fields_apply(struct fields *fs, struct foyer_header_edits e)
{
    for (unsigned i = 0; i < e.n; i++) {
        const struct foyer_header_edit *x = &e.v[i];
        if (x->op != FOYER_HEADER_ADD) fields_remove(fs, x->name);
        if (x->op == FOYER_HEADER_REMOVE || fs->n == 64) continue;
        snprintf(fs->f[fs->n].name, 128, "%.*s", (int)x->name.len, x->name.p);
        snprintf(fs->f[fs->n].value, 512, "%.*s", (int)x->value.len, x->value.p);
        fs->n++;
    }
}

/* All values of name joined with ","; NULL when absent. */
static const char *fields_get(const struct fields *fs, const char *name, char *buf,
                              size_t len)
{
    size_t n = 0;
    int found = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < fs->n; i++) {
        if (strcasecmp(fs->f[i].name, name) != 0) continue;
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", found++ ? "," : "",
                              fs->f[i].value);
    }
    return found ? buf : NULL;
}

/* Checks expected fields (name -> joined value) and absent ones. */
static void check_fields(struct verdict *v, const char *what, const struct fields *fs,
                         const struct json_value *want, const struct json_value *absent)
{
    char buf[1024], wbuf[512];
    for (size_t i = 0; want != NULL && i < want->u.obj.n; i++) {
        const struct json_member *m = &want->u.obj.m[i];
        snprintf(wbuf, sizeof wbuf, "%.*s", (int)m->value.u.str.len, m->value.u.str.p);
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)m->key_len, m->key);
        const char *got = fields_get(fs, name, buf, sizeof buf);
        if (got == NULL || strcmp(got, wbuf) != 0)
            vfail(v, "%s %s: '%s', want '%s'", what, name, got ? got : "(absent)", wbuf);
    }
    for (size_t i = 0; absent != NULL && i < absent->u.arr.n; i++) {
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)absent->u.arr.v[i].u.str.len,
                 absent->u.arr.v[i].u.str.p);
        if (fields_get(fs, name, buf, sizeof buf) != NULL)
            vfail(v, "%s %s present ('%s'), want absent", what, name, buf);
    }
}

/* ---- one request ------------------------------------------------------------------ */

/* The request as HTTP/1.1 text; a null host is the proxy's own address. */
static void request_text(const struct json_value *rq, char *out, size_t len)
{
    char method[32], path[1024], host[256];
    const struct json_value *hs = json_get(rq, "headers");
    size_t n = (size_t)snprintf(out, len, "%s %s HTTP/1.1\r\nHost: %s\r\n",
                                str(rq, "method", method, sizeof method),
                                str(rq, "path", path, sizeof path),
                                str(rq, "host", host, sizeof host) ? host : "192.0.2.10");
    for (size_t i = 0; hs != NULL && i < hs->u.obj.n; i++) {
        const struct json_member *m = &hs->u.obj.m[i];
        n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%.*s: %.*s\r\n",
                              (int)m->key_len, m->key, (int)m->value.u.str.len,
                              m->value.u.str.p);
    }
    snprintf(out + n, n < len ? len - n : 0, "\r\n");
}

static int client_status(const struct foyer_route_decision *d)
{
    if (d->redirect) return d->redirect->status;
    if (d->respond) return d->respond->status;
    if (d->status) return d->status;
    return d->service ? 200 : 0;
}

static void check_backend_request(struct verdict *v, const struct foyer_route_decision *d,
                                  const struct foyer_request *r,
                                  const struct json_value *rq,
                                  const struct json_value *want)
{
    char buf[1024], got[1024], hostbuf[256];
    struct foyer_str path = d->path.p ? d->path : r->info.path, q = r->info.query;
    snprintf(got, sizeof got, "%.*s%s%.*s", (int)path.len, path.p, q.p ? "?" : "",
             q.p ? (int)q.len : 0, q.p ? q.p : "");
    if (str(want, "path", buf, sizeof buf) && strcmp(buf, got) != 0)
        vfail(v, "upstream path '%s', want '%s'", got, buf);
    const char *host = d->host.p ? NULL : str(rq, "host", hostbuf, sizeof hostbuf);
    if (d->host.p) snprintf(hostbuf, sizeof hostbuf, "%.*s", (int)d->host.len, d->host.p);
    host = d->host.p ? hostbuf : host;
    if (str(want, "host", buf, sizeof buf) && (host == NULL || strcmp(buf, host) != 0))
        vfail(v, "upstream Host '%s', want '%s'", host ? host : "(proxy address)", buf);
    if (str(want, "method", buf, sizeof buf) &&
        !foyer_str_eq_ci(r->head.method, buf, strlen(buf)))
        vfail(v, "method changed");
    struct fields fs;
    fields_from(&fs, json_get(rq, "headers"));
    fields_apply(&fs, d->request_headers);
    check_fields(v, "upstream header", &fs, json_get(want, "headers"),
                 json_get(want, "absent_headers"));
}

static void check_redirect(struct verdict *v, const struct foyer_route_decision *d,
                           const struct foyer_request *r, const struct json_value *rq,
                           const struct json_value *want)
{
    char scheme[16], host[256], wbuf[512], got[512];
    const struct foyer_redirect *rd = d->redirect;
    if (rd == NULL) {
        vfail(v, "no redirect");
        return;
    }
    const char *req_scheme = str(rq, "scheme", scheme, sizeof scheme);
    /* the hostname of the request's Host field */
    const char *req_host = str(rq, "host", host, sizeof host) ? host : "192.0.2.10";
    host[strcspn(host, ":")] = '\0';
    snprintf(got, sizeof got, "%.*s", (int)rd->scheme.len,
             rd->scheme.p ? rd->scheme.p : "");
    const char *eff_scheme = rd->scheme.p ? got : req_scheme;
    if (str(want, "scheme", wbuf, sizeof wbuf) && strcmp(wbuf, eff_scheme) != 0)
        vfail(v, "Location scheme '%s', want '%s'", eff_scheme, wbuf);
    char eff_host[256];
    snprintf(eff_host, sizeof eff_host, "%.*s",
             rd->host.p ? (int)rd->host.len : (int)strlen(req_host),
             rd->host.p ? rd->host.p : req_host);
    const char *want_host = str(want, "host", wbuf, sizeof wbuf) ? wbuf : req_host;
    if (strcmp(eff_host, want_host) != 0)
        vfail(v, "Location host '%s', want '%s'", eff_host, want_host);
    int real_port = num(rq, "port", default_port(req_scheme));
    int port = rd->port                              ? (int)rd->port
               : strcmp(eff_scheme, req_scheme) == 0 ? real_port
                                                     : default_port(eff_scheme);
    int want_port = num(want, "port", default_port(eff_scheme));
    if (port != want_port) vfail(v, "Location port %d, want %d", port, want_port);
    struct foyer_str path = rd->path.p ? rd->path : r->info.path;
    if (str(want, "path", wbuf, sizeof wbuf) &&
        !(path.len == strlen(wbuf) && memcmp(path.p, wbuf, path.len) == 0))
        vfail(v, "Location path '%.*s', want '%s'", (int)path.len, path.p, wbuf);
}

static void check_mirror(struct verdict *v, const struct foyer_route_decision *d,
                         const struct json_value *want)
{
    const char *got = d->mirror ? d->mirror->name : NULL;
    if (want->u.arr.n == 0) {
        if (got) vfail(v, "mirrored to %s, want none", got);
        return;
    }
    const struct json_value *first = &want->u.arr.v[0];
    if (got == NULL || strlen(got) != first->u.str.len ||
        memcmp(got, first->u.str.p, first->u.str.len))
        vfail(v, "mirror %s, want %.*s", got ? got : "none", (int)first->u.str.len,
              first->u.str.p);
    if (want->u.arr.n > 1) vnote(v, "further mirrors (a decision carries one)");
}

static void check_one(struct verdict *v, const struct foyer_route_decision *d,
                      const struct foyer_request *r, const struct json_value *rq,
                      const struct json_value *ex)
{
    char buf[256];
    int status = client_status(d), want = num(ex, "status", 200);
    const char *got = d->service ? d->service->name : NULL;
    if (status != want) vfail(v, "status %d, want %d", status, want);
    if (str(ex, "backend", buf, sizeof buf) && (got == NULL || strcmp(got, buf) != 0))
        vfail(v, "backend %s, want %s", got ? got : "none", buf);
    if (str(ex, "backend_not", buf, sizeof buf) && got && strcmp(got, buf) == 0)
        vfail(v, "backend %s, which must not get it", got);
    if (json_get(ex, "backend_request") && d->service)
        check_backend_request(v, d, r, rq, json_get(ex, "backend_request"));
    if (json_get(ex, "redirect")) check_redirect(v, d, r, rq, json_get(ex, "redirect"));
    if (json_get(ex, "response_headers") || json_get(ex, "response_absent_headers")) {
        struct fields fs;
        fields_from(&fs, json_get(rq, "backend_response_headers"));
        fields_apply(&fs, d->response_headers);
        check_fields(v, "response header", &fs, json_get(ex, "response_headers"),
                     json_get(ex, "response_absent_headers"));
    }
    if (json_get(ex, "mirrored_to")) check_mirror(v, d, json_get(ex, "mirrored_to"));
    if (json_get(ex, "location")) vnote(v, "exact Location string");
    if (json_get(ex, "tls")) vnote(v, "TLS certificate (outside the router)");
}

/* The header an invariant "backend_request.headers['X'] ... == name of the
 * receiving backend" talks about, or NULL. */
static const char *invariant_header(const struct json_value *ex, char *buf, size_t len)
{
    char text[512];
    if (!str(ex, "invariant", text, sizeof text)) return NULL;
    const char *a = strstr(text, "headers['"), *b = a ? strstr(a + 9, "']") : NULL;
    if (b == NULL || strstr(b, "== name of the receiving backend") == NULL) return NULL;
    snprintf(buf, len, "%.*s", (int)(b - a - 9), a + 9);
    return buf;
}

/* Many decisions: the weighted split and per-sample invariants. The split is
 * checked over 20 times the samples the case asks for, so the tolerance
 * meant for real traffic is not a coin toss here. */
static void check_samples(struct verdict *v, struct rfix *f, const char *text,
                          const struct json_value *rq, const struct json_value *ex)
{
    const struct json_value *dist = json_get(ex, "distribution"),
                            *one_of = json_get(ex, "backend_one_of");
    char hname[128], buf[512];
    const char *inv = invariant_header(ex, hname, sizeof hname);
    unsigned n = (unsigned)num(ex, "samples", 100) * 20, counts[16] = {0}, other = 0;
    if (json_get(ex, "invariant") && inv == NULL) vnote(v, "unrecognised invariant");
    foyer_router_seed(12345);
    for (unsigned i = 0; i < n && v->fail[0] == '\0'; i++) {
        struct foyer_request r;
        const struct foyer_route_decision *d = rfix_route_text(f, text, &r);
        if (d == NULL) {
            vfail(v, "request does not parse");
            return;
        }
        const char *got = d->service ? d->service->name : "(none)";
        int found = 0;
        if (client_status(d) != num(ex, "status", 200))
            vfail(v, "status %d", client_status(d));
        for (size_t k = 0; dist && k < dist->u.obj.n && k < 16; k++)
            if (strlen(got) == dist->u.obj.m[k].key_len &&
                !memcmp(got, dist->u.obj.m[k].key, strlen(got)))
                counts[k]++, found = 1;
        other += dist && !found;
        for (size_t k = 0; one_of && k < one_of->u.arr.n; k++)
            found |= strlen(got) == one_of->u.arr.v[k].u.str.len &&
                     !memcmp(got, one_of->u.arr.v[k].u.str.p, strlen(got));
        if (one_of && !found) vfail(v, "backend %s is not one of the expected", got);
        if (inv) {
            struct fields fs;
            fields_from(&fs, json_get(rq, "headers"));
            fields_apply(&fs, d->request_headers);
            const char *h = fields_get(&fs, hname, buf, sizeof buf);
            if (h == NULL || strcmp(h, got) != 0)
                vfail(v, "header %s '%s' at backend %s", hname, h ? h : "(absent)", got);
        }
    }
    double tol = json_get(ex, "tolerance") ? json_get(ex, "tolerance")->u.number : 0.05;
    for (size_t k = 0; dist && k < dist->u.obj.n && k < 16; k++) {
        double share = (double)counts[k] / n, want = dist->u.obj.m[k].value.u.number;
        if (share < want - tol || share > want + tol)
            vfail(v, "%.*s got %.3f of %u requests, want %.2f",
                  (int)dist->u.obj.m[k].key_len, dist->u.obj.m[k].key, share, n, want);
    }
    if (other) vfail(v, "%u requests went to backends outside the distribution", other);
}

struct tally {
    unsigned pass, fail, skip;
};

static void report(const char *id, const struct verdict *v, struct tally *t)
{
    if (v->fail[0]) {
        printf("  FAIL %s: %s\n", id, v->fail);
        t->fail++;
    } else {
        printf("  PASS %s%s%s%s\n", id, v->note[0] ? " (not checked: " : "", v->note,
               v->note[0] ? ")" : "");
        t->pass++;
    }
}

static void run_case(struct rfix *f, const struct json_value *c, struct tally *t)
{
    char id[128], text[8192];
    struct verdict v = {"", ""};
    const struct json_value *rq = json_get(c, "request"), *ex = json_get(c, "expect");
    str(c, "id", id, sizeof id);
    request_text(rq, text, sizeof text);
    lua_State *L = f->c->L;
    lua_getglobal(L, "listen_port");
    foyer_json_push(L, rq);
    lua_call(L, 1, 1);
    f->listen_port = (unsigned)lua_tointeger(L, -1);
    lua_pop(L, 1);
    f->scheme =
        strcmp(str(rq, "scheme", (char[8]){0}, 8), "https") == 0 ? "https" : "http";
    if (json_get(ex, "samples")) {
        check_samples(&v, f, text, rq, ex);
    } else {
        struct foyer_request r;
        const struct foyer_route_decision *d = rfix_route_text(f, text, &r);
        if (d == NULL)
            vfail(&v, "request does not parse");
        else
            check_one(&v, d, &r, rq, ex);
    }
    report(id, &v, t);
}

static void run_group(const struct json_value *g, struct tally *portable,
                      struct tally *other)
{
    char id[128], profile[64];
    const struct json_value *reqs = json_get(g, "requests");
    str(g, "id", id, sizeof id);
    if (!str(g, "profile", profile, sizeof profile) || strcmp(profile, "portable") != 0) {
        printf("group %s: SKIP %zu cases: profile '%s' (ingress-nginx's own use-regex\n"
               "  and rewrite-target annotation quirks are not emulated)\n",
               id, reqs->u.arr.n, profile);
        other->skip += (unsigned)reqs->u.arr.n;
        return;
    }
    struct rfix f;
    printf("group %s\n", id);
    if (build_group(&f, g) != 0) {
        printf("  FAIL all %zu cases: the router does not build: %s\n", reqs->u.arr.n,
               f.err);
        portable->fail += (unsigned)reqs->u.arr.n;
        rfix_free(&f);
        return;
    }
    for (size_t i = 0; i < reqs->u.arr.n; i++)
        run_case(&f, &reqs->u.arr.v[i], portable);
    rfix_free(&f);
}

/* ---- the corpus file -------------------------------------------------------------- */

static char corpus_path[1024];

static int corpus_present(void)
{
    const char *shared = getenv("FOYER_SHARED");
    snprintf(corpus_path, sizeof corpus_path, "%s/corpus/routing/cases.json",
             shared && *shared ? shared : "../shared");
    return access(corpus_path, R_OK) == 0;
}

static void test_corpus(void)
{
    static char text[4 << 20];
    long len = unit_read_file(corpus_path, text, sizeof text);
    REQUIRE(len > 0);
    struct foyer_pool *pool = foyer_pool_create(64 * 1024);
    struct json_parser jp;
    struct json_value root;
    json_parser_init(&jp, text, (size_t)len, pool);
    CHECKF(json_parse_document(&jp, &root) == 0, "%s parses (%s)", corpus_path, jp.err);
    const struct json_value *groups = json_get(&root, "groups");
    REQUIRE(groups != NULL && groups->type == JSON_ARRAY);
    struct tally portable = {0, 0, 0}, other = {0, 0, 0};
    for (size_t i = 0; i < groups->u.arr.n; i++)
        run_group(&groups->u.arr.v[i], &portable, &other);
    printf("\ncorpus %s: %zu groups; portable cases: %u passed, %u failed; other\n"
           "  profiles: %u skipped\n",
           corpus_path, groups->u.arr.n, portable.pass, portable.fail, other.skip);
    CHECKF(portable.fail == 0, "every portable case passes (%u fail)", portable.fail);
    json_parser_free(&jp);
    foyer_pool_destroy(pool);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_corpus),
};

int main(void)
{
    if (!corpus_present()) {
        printf("SKIP: %s is absent (set FOYER_SHARED to the shared directory)\n",
               corpus_path);
        return 77;
    }
    return unit_run("router_corpus", tests, sizeof tests / sizeof *tests);
}
