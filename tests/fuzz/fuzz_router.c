/* foyer.router (lua/router_*.c, lua/json.c) from a router.load document to
 * a decision, without Lua in between: rt_load_json (what router.load runs
 * on the file's bytes), rt_router_build (router.new of that document),
 * foyer_router_bind against a config declaring the services, then
 * foyer_router_route and rt_decide for requests that went through the
 * proxy's own head pipeline (core/http_head.c, http1.c, http_message.c).
 *
 * Input: byte 0 = control (bit 0: leave every other service undeclared;
 * bit 1: the listener is https; bits 2-4: the listener's port), then the
 * JSON document up to the first NUL byte, then up to 8 requests separated by
 * NUL bytes, each written "METHOD TARGET HOST" ("-" for no Host: HTTP/1.0)
 * followed by "Name: value" lines.
 *
 * Invariants: no crash or leak; a document either loads or says why; a
 * decision is exactly one of service / redirect / respond / status, its
 * strings readable, its redirect and response statuses valid. */
#include "config.h"
#include "fuzz_util.h"
#include "log.h"
#include "pool.h"
#include "request.h"
#include "router_int.h"

#define MAX_REQUESTS 8

static void touch(const char *p, size_t len)
{
    volatile unsigned sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += (unsigned char)p[i];
    (void)sum;
}

static void touch_str(struct foyer_str s)
{
    if (s.p != NULL) touch(s.p, s.len);
}

static void touch_edits(struct foyer_header_edits e)
{
    for (unsigned i = 0; i < e.n; i++) {
        FUZZ_CHECK(e.v[i].op <= FOYER_HEADER_REMOVE);
        touch_str(e.v[i].name);
        FUZZ_CHECK(e.v[i].name.len > 0);
        touch_str(e.v[i].value);
        FUZZ_CHECK(memchr(e.v[i].value.p ? e.v[i].value.p : "", '\n', e.v[i].value.len) ==
                   NULL);
    }
}

static void check_decision(const struct foyer_route_decision *d)
{
    int kinds = (d->service != NULL) + (d->redirect != NULL) + (d->respond != NULL) +
                (d->service == NULL && d->redirect == NULL && d->respond == NULL);
    FUZZ_CHECK(kinds == 1);
    if (d->service == NULL && d->redirect == NULL && d->respond == NULL)
        FUZZ_CHECK(d->status >= 400 && d->status <= 599);
    if (d->service) touch(d->service->name, strlen(d->service->name));
    if (d->redirect) {
        int st = d->redirect->status;
        FUZZ_CHECK(st == 301 || st == 302 || st == 303 || st == 307 || st == 308);
        touch_str(d->redirect->scheme);
        touch_str(d->redirect->host);
        touch_str(d->redirect->path);
        FUZZ_CHECK(d->redirect->port <= 65535);
    }
    if (d->respond) {
        FUZZ_CHECK(d->respond->status >= 100 && d->respond->status <= 999);
        touch_str(d->respond->body);
        touch_edits(d->respond->headers);
    }
    touch_str(d->path);
    touch_str(d->host);
    touch_str(d->hash_key);
    touch_edits(d->request_headers);
    touch_edits(d->response_headers);
    if (d->tag) touch(d->tag, strlen(d->tag));
    if (d->mirror) touch(d->mirror->name, strlen(d->mirror->name));
    FUZZ_CHECK(d->timeout >= 0);
}

static int declare(struct foyer_config *c, const char *name)
{
    if (foyer_config_service(c, name, strlen(name)) != NULL) return 0;
    struct foyer_service *s = realloc(c->services, (c->nservices + 1) * sizeof *s);
    if (s == NULL) return -1;
    c->services = s;
    s = &c->services[c->nservices++];
    memset(s, 0, sizeof *s);
    s->name = strdup(name);
    s->where = strdup("fuzz.lua:1: ");
    s->endpoints = calloc(1, sizeof *s->endpoints);
    s->nendpoints = 1;
    s->tls_plugin = -1;
    return s->name && s->where && s->endpoints ? 0 : -1;
}

/* "METHOD TARGET HOST\nName: value\n..." as HTTP/1.x text, NUL-terminated. */
static char *request_text(const char *spec, size_t len, size_t *out_len)
{
    char *out = malloc(2 * len + 64), *p = out;
    FUZZ_CHECK(out != NULL);
    const char *eol = memchr(spec, '\n', len), *end = spec + len;
    const char *first_end = eol ? eol : end;
    const char *sp1 = memchr(spec, ' ', (size_t)(first_end - spec));
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(first_end - sp1 - 1)) : NULL;
    if (sp2 == NULL) {
        free(out);
        return NULL;
    }
    int no_host = first_end - sp2 - 1 == 1 && sp2[1] == '-';
    p += sprintf(p, "%.*s HTTP/1.%d\r\n", (int)(sp2 - spec), spec, !no_host);
    if (!no_host) p += sprintf(p, "Host: %.*s\r\n", (int)(first_end - sp2 - 1), sp2 + 1);
    for (const char *l = eol ? eol + 1 : end; l < end;) {
        const char *le = memchr(l, '\n', (size_t)(end - l));
        if (le == NULL) le = end;
        memcpy(p, l, (size_t)(le - l));
        p += le - l;
        p += sprintf(p, "\r\n");
        l = le + 1;
    }
    p += sprintf(p, "\r\n");
    *out_len = (size_t)(p - out);
    return out;
}

/* The proxy's head pipeline; 0 with r filled (its pool owns what it points to). */
static int make_request(const char *text, size_t len, struct foyer_request *r,
                        struct foyer_pool *pool)
{
    static const struct foyer_head_limits lim = {32768, 100};
    struct foyer_head_scan s;
    size_t head_len;
    memset(r, 0, sizeof *r);
    foyer_head_scan_init(&s, 1);
    if (foyer_head_scan(&s, text, len, &lim, &head_len) != 0) return -1;
    r->pool = pool;
    r->head.is_request = 1;
    if (foyer_http1_parse_head(&r->head, text + s.first, head_len - s.first, s.lines,
                               pool) != 0)
        return -1;
    return foyer_request_analyze(&r->head, &r->info) == 0 ? 0 : -1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    foyer_log_level = -1; /* undeclared services are warned about: expected here */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t ctl = data[0];
    const char *in = (const char *)data + 1, *end = (const char *)data + size;
    const char *nul = memchr(in, '\0', (size_t)(end - in));
    size_t json_len = (size_t)((nul ? nul : end) - in);

    char err[1024];
    char *json = fuzz_copy(in, json_len);
    struct rt_ruleset *rs = rt_load_json("fuzz.json", json, json_len, err, sizeof err);
    free(json);
    if (rs == NULL) {
        FUZZ_CHECK(err[0] != '\0');
        return 0;
    }
    struct foyer_router *rt = rt_router_build(rs, NULL, err, sizeof err);
    rt_ruleset_unref(rs);
    if (rt == NULL) {
        FUZZ_CHECK(err[0] != '\0');
        return 0;
    }

    struct foyer_config *c = foyer_config_new("fuzz.lua");
    FUZZ_CHECK(c != NULL);
    int ok = 0;
    for (uint32_t s = 0; s < rt->rs->nservices && ok == 0; s++)
        if (!(ctl & 1) || s % 2 == 0) ok = declare(c, rt->rs->services[s]);
    if (rt->default_service != NULL && ok == 0) ok = declare(c, rt->default_service);
    FUZZ_CHECK(ok == 0 && foyer_config_index_services(c) == 0);
    FUZZ_CHECK(foyer_router_bind(rt, c, err, sizeof err) == 0);

    static const unsigned ports[] = {80, 443, 8080, 8443, 1, 65535, 81, 9000};
    foyer_router_seed(1); /* weighted choices replay */
    const char *spec = nul ? nul + 1 : end;
    for (int i = 0; i < MAX_REQUESTS && spec < end; i++) {
        const char *next = memchr(spec, '\0', (size_t)(end - spec));
        size_t spec_len = (size_t)((next ? next : end) - spec), text_len;
        char *text = request_text(spec, spec_len, &text_len);
        spec = next ? next + 1 : end;
        if (text == NULL) continue;
        char *exact = fuzz_copy(text, text_len);
        free(text);
        struct foyer_pool *pool = foyer_pool_create(4096);
        FUZZ_CHECK(pool != NULL);
        struct foyer_request r;
        static const union foyer_sockaddr client;
        if (make_request(exact, text_len, &r, pool) == 0) {
            r.client = &client;
            r.scheme = ctl & 2 ? "https" : "http";
            r.listen_port = ports[(ctl >> 2) & 7];
            struct foyer_route_decision d;
            foyer_router_route(rt, &r, &d);
            check_decision(&d);
            struct rt_pick pick;
            rt_decide(rt, &r, &d, &pick);
            FUZZ_CHECK(pick.slot == RT_NONE || pick.slot < rt->rs->nservices);
        }
        foyer_pool_destroy(pool);
        free(exact);
    }
    rt_router_free(rt);
    foyer_config_unref(c);
    return 0;
}
