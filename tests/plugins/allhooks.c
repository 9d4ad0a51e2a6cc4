/*
 * allhooks: a test plugin that uses every hook and every call of struct
 * foyer_api, so that tests/plugins/test_plugins.c can observe each of them
 * through real HTTP requests. It is built against foyer/plugin.h only.
 *
 *   plugin "allhooks" {
 *     path = ".../allhooks.so",
 *     tag = "gen1",                           -- X-All-Tag, both ways; fini logs it
 *     park_ms = 150,                          -- how long /park waits
 *     verbose = true,                         -- log every upstream result
 *     deny_path = "/forbidden",               -- 403 from on_request_headers
 *     deny_clients = { "127.0.0.2" },         -- on_accept refuses these addresses
 *     add = { { name = "X-A", value = "1" } },-- request fields added
 *     nested = { inner = { deep = "v" } },    -- conf_table twice
 *     extra = { k1 = 1, k2 = true },          -- walked with conf_next_key
 *   }
 *   service "x" { endpoints = {...}, allhooks_endpoint = 2 }   -- service_keys
 *   route(... plugins = { allhooks = { label = "l", endpoint = 1 } })
 *
 * Paths it acts on (anything else is proxied with the fields below added):
 *   deny_path         403 "denied by allhooks" from on_request_headers
 *   /park...          parked in on_request_headers, resumed by a timer (park_ms)
 *   /park/MS...       the same, for MS milliseconds
 *   /parkio...        parked, resumed by an io_watch on a pipe
 *   /parkdeny...      parked, then answered 401 from the timer
 *   X-Park: MS|io|deny   the same on any path; "error" resumes with FOYER_ERROR;
 *                        "route:MS" parks in on_route instead
 *   /fail/headers     FOYER_ERROR from on_request_headers
 *   /fail/route       FOYER_ERROR from on_route
 *   /fail/select      FOYER_ERROR from on_upstream_select
 *   /fail/response    FOYER_ERROR from on_response_headers
 *   /answer/select    503 answered from on_upstream_select
 *   /answer/route     418 answered from on_route
 *   X-Hold: N         on_route asks for the first N body bytes
 *                     (api->req_hold_body); on_request_body_held answers 403
 *                     "held body denied" when they contain DENY-ME
 *
 * Request fields sent upstream: X-All-Tag, X-All-Seen (what the request
 * getters returned), X-All-Worker, X-All-Resumed (after a park), X-All-Label,
 * X-All-Service, X-All-Hash, X-All-Endpoints, the `add` list; X-Remove-Me is
 * removed. Response fields: X-All-Tag, X-All-Conf (what init read),
 * X-All-Status, X-All-Result (on_upstream_result), X-All-Select,
 * X-All-Req-Bytes (on_request_body), X-All-Count (a counter), X-All-Ticks
 * (a repeating timer), X-All-Parked-Ms, X-All-Api (return codes of calls that
 * must fail), X-All-Held ("len=N complete=C fnv=H" of a held body, "-"),
 * X-All-Target (req_target), X-All-Nheaders (req_header_at) and
 * X-All-Numbers (conf_index_number over `numbers`), X-All-Req-Id (req_id);
 * X-Backend-Secret is removed. on_log logs one line per request
 * with the response body bytes, fini logs "allhooks: fini tag=... worker=N".
 */
#include <foyer/plugin.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NAME "allhooks"
#define MAX_DENY 8
#define MAX_ADD 8
#define MAX_SVC 8
#define MAX_WAIT 64

struct svc_pick {
    char name[64];
    int endpoint; /* -1: none */
};

struct state {
    const struct foyer_api *api;
    char tag[64];
    char deny_path[128];
    double park_ms;
    int verbose;
    char deny[MAX_DENY][64];
    int ndeny;
    char add_name[MAX_ADD][64], add_value[MAX_ADD][128];
    int nadd;
    char conf_summary[512];
    char numbers[128]; /* `numbers = { ... }` read with conf_index_number */
    struct svc_pick svc[MAX_SVC];
    int nsvc;
    /* per worker */
    int worker_ready;
    uint64_t *requests, *refused;
    foyer_timer_t *tick;
    uint64_t ticks;
    int pipe_fd[2];
    foyer_io_t *io;
    foyer_request_t *io_waiting[MAX_WAIT];
    int nwaiting;
};

/* What one request carries between hooks (api->alloc'd, in api->storage). */
struct req {
    struct state *st;
    foyer_request_t *r;
    foyer_timer_t *timer;
    double parked_at, parked_for;
    int resumed;
    int deny_later;
    int fail_later;     /* resume with FOYER_ERROR */
    double route_park;  /* park in on_route instead, this many ms */
    uint64_t req_bytes, resp_bytes;
    int selected;  /* endpoint index chosen, -1 none */
    unsigned ntried;
    char result[256];
    int results;
    int late_resp_set; /* resp_set_header from a body hook */
    char path[128];
    char held[96]; /* what on_request_body_held saw */
    char target[128];
    int nheaders;
};

static struct req *get_req(const struct foyer_api *api, foyer_request_t *r)
{
    void **slot = api->storage(r, NAME);
    return slot ? *slot : NULL;
}

static int sort_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int init(const struct foyer_api *api, const foyer_conf_t *conf, void **statep, char *err,
                size_t errlen)
{
    static const char *const known[] = {"path",         "tag", "park_ms", "verbose",
                                        "deny_path",    "deny_clients", "add",  "nested",
                                        "extra",        "numbers",      NULL};
    for (const char *k = api->conf_next_key(conf, NULL); k; k = api->conf_next_key(conf, k)) {
        int ok = 0;
        for (int i = 0; known[i]; i++) ok |= strcmp(known[i], k) == 0;
        if (!ok) {
            snprintf(err, errlen, "unknown setting '%s'", k);
            return -1;
        }
    }
    struct state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    st->api = api;
    st->pipe_fd[0] = st->pipe_fd[1] = -1;
    const char *tag = api->conf_string(conf, "tag");
    snprintf(st->tag, sizeof st->tag, "%s", tag ? tag : "none");
    const char *dp = api->conf_string(conf, "deny_path");
    snprintf(st->deny_path, sizeof st->deny_path, "%s", dp ? dp : "");
    st->park_ms = 100;
    if (api->conf_number(conf, "park_ms", &st->park_ms) != 0 &&
        api->conf_string(conf, "park_ms") != NULL) {
        snprintf(err, errlen, "park_ms must be a number");
        free(st);
        return -1;
    }
    api->conf_bool(conf, "verbose", &st->verbose);

    /* An array of strings. */
    const foyer_conf_t *deny = api->conf_table(conf, "deny_clients");
    size_t ndeny = deny ? api->conf_len(deny) : 0;
    for (size_t i = 1; i <= ndeny && st->ndeny < MAX_DENY; i++) {
        const char *a = api->conf_index_string(deny, i);
        if (a == NULL) {
            snprintf(err, errlen, "deny_clients[%zu] is not a string", i);
            free(st);
            return -1;
        }
        snprintf(st->deny[st->ndeny++], sizeof st->deny[0], "%s", a);
    }
    /* An array of tables. */
    const foyer_conf_t *add = api->conf_table(conf, "add");
    size_t nadd = add ? api->conf_len(add) : 0;
    for (size_t i = 1; i <= nadd && st->nadd < MAX_ADD; i++) {
        const foyer_conf_t *e = api->conf_index(add, i);
        const char *n = e ? api->conf_string(e, "name") : NULL;
        const char *v = e ? api->conf_string(e, "value") : NULL;
        if (n == NULL || v == NULL) {
            snprintf(err, errlen, "add[%zu] needs name and value", i);
            free(st);
            return -1;
        }
        snprintf(st->add_name[st->nadd], sizeof st->add_name[0], "%s", n);
        snprintf(st->add_value[st->nadd++], sizeof st->add_value[0], "%s", v);
    }
    /* Nested tables. */
    const foyer_conf_t *nested = api->conf_table(conf, "nested");
    const foyer_conf_t *inner = nested ? api->conf_table(nested, "inner") : NULL;
    const char *deep = inner ? api->conf_string(inner, "deep") : NULL;
    /* The keys of a table, walked. */
    const foyer_conf_t *extra = api->conf_table(conf, "extra");
    const char *keys[32];
    size_t nkeys = 0;
    for (const char *k = extra ? api->conf_next_key(extra, NULL) : NULL; k && nkeys < 32;
         k = api->conf_next_key(extra, k))
        keys[nkeys++] = k;
    qsort(keys, nkeys, sizeof keys[0], sort_cmp);
    char klist[256] = "";
    for (size_t i = 0; i < nkeys; i++) {
        double d;
        int b;
        char one[80];
        if (api->conf_number(extra, keys[i], &d) == 0) snprintf(one, sizeof one, "%s:%g", keys[i], d);
        else if (api->conf_bool(extra, keys[i], &b) == 0)
            snprintf(one, sizeof one, "%s:%s", keys[i], b ? "true" : "false");
        else if (api->conf_string(extra, keys[i]))
            snprintf(one, sizeof one, "%s:'%s'", keys[i], api->conf_string(extra, keys[i]));
        else snprintf(one, sizeof one, "%s:?", keys[i]);
        size_t l = strlen(klist);
        snprintf(klist + l, sizeof klist - l, "%s%s", i ? "," : "", one);
    }
    /* Absent and mistyped fields. */
    int absent_ok = api->conf_string(conf, "nope") == NULL &&
                    api->conf_number(conf, "tag", NULL) == -1 &&
                    api->conf_table(conf, "tag") == NULL && api->conf_bool(conf, "tag", NULL) == -1;
    snprintf(st->conf_summary, sizeof st->conf_summary,
             "tag=%s park_ms=%g verbose=%d deny=%d add=%d deep=%s extra=%s absent=%d", st->tag,
             st->park_ms, st->verbose, st->ndeny, st->nadd, deep ? deep : "-", klist, absent_ok);
    const foyer_conf_t *nums = api->conf_table(conf, "numbers");
    snprintf(st->numbers, sizeof st->numbers, "-");
    for (size_t i = 1, n = nums ? api->conf_len(nums) : 0; i <= n; i++) {
        double d = 0;
        int got = api->conf_index_number(nums, i, &d);
        size_t l = i == 1 ? 0 : strlen(st->numbers);
        snprintf(st->numbers + l, sizeof st->numbers - l, "%s%s", i > 1 ? "," : "",
                 got == 0 ? "" : "x");
        l = strlen(st->numbers);
        if (got == 0) snprintf(st->numbers + l, sizeof st->numbers - l, "%g", d);
    }
    *statep = st;
    api->log(NAME, FOYER_LOG_NOTICE, "init tag=%s worker=%d", st->tag, api->worker_id());
    return 0;
}

static const char *const service_keys[] = {"allhooks_endpoint", NULL};

static int config_ready(void *state, char *err, size_t errlen)
{
    struct state *st = state;
    const struct foyer_api *api = st->api;
    st->nsvc = 0;
    for (size_t i = 0; i < api->service_count() && st->nsvc < MAX_SVC; i++) {
        const char *name = api->service_name(i);
        const foyer_conf_t *sc = api->service_conf(name);
        double ep;
        if (sc == NULL || api->conf_number(sc, "allhooks_endpoint", &ep) != 0) continue;
        size_t n = api->service_endpoints(name);
        if (ep < 0 || ep >= (double)n) {
            snprintf(err, errlen, "service \"%s\": allhooks_endpoint %g is out of range (%zu endpoints)",
                     name, ep, n);
            return -1;
        }
        struct svc_pick *p = &st->svc[st->nsvc++];
        snprintf(p->name, sizeof p->name, "%s", name);
        p->endpoint = (int)ep;
    }
    return 0;
}

static void tick(void *arg)
{
    ((struct state *)arg)->ticks++;
}

static void pipe_readable(int fd, void *arg)
{
    struct state *st = arg;
    char b[64];
    while (read(fd, b, sizeof b) > 0) {
    }
    int n = st->nwaiting;
    foyer_request_t *w[MAX_WAIT];
    memcpy(w, st->io_waiting, (size_t)n * sizeof w[0]);
    st->nwaiting = 0;
    for (int i = 0; i < n; i++) {
        struct req *q = get_req(st->api, w[i]);
        if (q == NULL) continue;
        q->resumed = 1;
        q->parked_for = st->api->now() - q->parked_at;
        st->api->resume(w[i], FOYER_CONTINUE);
    }
}

static int worker_init(void *state)
{
    struct state *st = state;
    const struct foyer_api *api = st->api;
    st->requests = api->counter(NAME, "requests");
    st->refused = api->counter(NAME, "refused");
    st->tick = api->timer_start(0.02, 0.02, tick, st);
    if (pipe(st->pipe_fd) != 0) return -1;
    fcntl(st->pipe_fd[0], F_SETFL, O_NONBLOCK);
    fcntl(st->pipe_fd[1], F_SETFL, O_NONBLOCK);
    st->io = api->io_watch(st->pipe_fd[0], 0, pipe_readable, st);
    st->worker_ready = 1;
    api->log(NAME, FOYER_LOG_NOTICE, "worker_init tag=%s worker=%d/%d", st->tag,
             api->worker_id(), api->worker_count());
    return st->requests && st->refused && st->tick && st->io ? 0 : -1;
}

static void fini(void *state)
{
    struct state *st = state;
    const struct foyer_api *api = st->api;
    if (st->tick) api->timer_stop(st->tick);
    if (st->io) api->io_stop(st->io);
    if (st->pipe_fd[0] >= 0) close(st->pipe_fd[0]);
    if (st->pipe_fd[1] >= 0) close(st->pipe_fd[1]);
    api->log(NAME, FOYER_LOG_WARNING, "fini tag=%s worker=%d", st->tag, api->worker_id());
    free(st);
}

static int on_accept(void *state, const struct sockaddr *peer, socklen_t len)
{
    struct state *st = state;
    char a[INET6_ADDRSTRLEN] = "";
    if (peer->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
        inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, a, sizeof a);
    else if (peer->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, a, sizeof a);
    for (int i = 0; i < st->ndeny; i++)
        if (strcmp(a, st->deny[i]) == 0) {
            if (st->refused) (*st->refused)++;
            st->api->log(NAME, FOYER_LOG_WARNING, "refused client %s", a);
            return FOYER_ERROR;
        }
    return FOYER_CONTINUE;
}

/* Never called by a foyer without TLS listeners; here for completeness. */
static int on_client_hello(void *state, foyer_request_t *r, const char *sni)
{
    struct state *st = state;
    st->api->log(NAME, FOYER_LOG_NOTICE, "client hello sni=%s", sni ? sni : "-");
    return FOYER_CONTINUE;
}

static int path_is(const char *p, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(p, want, len) == 0;
}

static int path_starts(const char *p, size_t len, const char *prefix)
{
    return len >= strlen(prefix) && memcmp(p, prefix, strlen(prefix)) == 0;
}

static void park_done(void *arg)
{
    struct req *q = arg;
    const struct foyer_api *api = q->st->api;
    api->timer_stop(q->timer);
    q->timer = NULL;
    q->resumed = 1;
    q->parked_for = api->now() - q->parked_at;
    if (q->fail_later) {
        api->resume(q->r, FOYER_ERROR);
        return;
    }
    if (q->deny_later) {
        static const char body[] = "denied after a wait\n";
        api->respond(q->r, 401, "text/plain", body, sizeof body - 1);
        api->resume(q->r, FOYER_RESPOND);
        return;
    }
    api->resume(q->r, FOYER_CONTINUE);
}

static int on_request_headers(void *state, foyer_request_t *r)
{
    struct state *st = state;
    const struct foyer_api *api = st->api;
    if (st->requests) (*st->requests)++;
    size_t plen, mlen, qlen = 0, hlen = 0;
    const char *path = api->req_path(r, &plen);
    const char *method = api->req_method(r, &mlen);
    const char *query = api->req_query(r, &qlen);
    const char *test = api->req_header(r, "x-test", &hlen);
    const char *host = api->req_host(r);

    void **slot = api->storage(r, NAME);
    if (slot == NULL) return FOYER_ERROR;
    struct req *q = api->alloc(r, sizeof *q);
    if (q == NULL) return FOYER_ERROR;
    memset(q, 0, sizeof *q);
    q->st = st;
    q->r = r;
    q->selected = -1;
    snprintf(q->path, sizeof q->path, "%.*s", (int)plen, path);
    *slot = q;

    if (st->deny_path[0] && path_is(path, plen, st->deny_path)) {
        static const char body[] = "denied by allhooks\n";
        api->respond(r, 403, "text/plain", body, sizeof body - 1);
        return FOYER_RESPOND;
    }
    if (path_is(path, plen, "/fail/headers")) return FOYER_ERROR;

    /* What the getters return, for the backend to echo. */
    char client[INET6_ADDRSTRLEN] = "?";
    const struct sockaddr *sa = api->req_client(r);
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, client, sizeof client);
    char seen[512];
    snprintf(seen, sizeof seen, "method=%.*s path=%.*s query=%.*s host=%s client=%s x-test=%.*s",
             (int)mlen, method, (int)plen, path, query ? (int)qlen : 1, query ? query : "-",
             host ? host : "-", client, test ? (int)hlen : 1, test ? test : "-");
    char worker[32];
    snprintf(worker, sizeof worker, "%d/%d", api->worker_id(), api->worker_count());
    int rc = 0;
    rc |= api->req_set_header(r, "X-All-Tag", st->tag);
    rc |= api->req_set_header(r, "X-All-Seen", seen);
    rc |= api->req_set_header(r, "X-All-Worker", worker);
    rc |= api->req_set_header(r, "X-Remove-Me", NULL);
    for (int i = 0; i < st->nadd; i++) rc |= api->req_set_header(r, st->add_name[i], st->add_value[i]);
    if (rc != 0) return FOYER_ERROR;

    /* Parking: by path, or by an X-Park field (MS, "io" or "deny") so that
     * any backend path can be used. */
    size_t xlen = 0;
    const char *xpark = api->req_header(r, "x-park", &xlen);
    char how[32] = "";
    if (xpark) snprintf(how, sizeof how, "%.*s", (int)xlen, xpark);
    else if (path_starts(path, plen, "/parkio")) snprintf(how, sizeof how, "io");
    else if (path_starts(path, plen, "/parkdeny")) snprintf(how, sizeof how, "deny");
    else if (path_starts(path, plen, "/park/")) snprintf(how, sizeof how, "%s", q->path + 6);
    else if (path_starts(path, plen, "/park")) snprintf(how, sizeof how, "%g", st->park_ms);
    if (how[0] == '\0') return FOYER_CONTINUE;
    if (strncmp(how, "route:", 6) == 0) { /* X-Park: route:MS parks in on_route */
        q->route_park = atof(how + 6);
        return FOYER_CONTINUE;
    }
    q->parked_at = api->now();
    if (strcmp(how, "io") == 0) {
        if (st->nwaiting == MAX_WAIT || st->pipe_fd[1] < 0) return FOYER_ERROR;
        st->io_waiting[st->nwaiting++] = r;
        if (write(st->pipe_fd[1], "x", 1) != 1 && errno != EAGAIN) return FOYER_ERROR;
        return FOYER_PARK;
    }
    double ms = st->park_ms;
    if (strcmp(how, "deny") == 0) q->deny_later = 1;
    else if (strcmp(how, "error") == 0) q->fail_later = 1;
    else ms = atof(how);
    q->timer = api->timer_start(ms / 1000.0, 0, park_done, q);
    return q->timer ? FOYER_PARK : FOYER_ERROR;
    return FOYER_CONTINUE;
}

static int on_request_body(void *state, foyer_request_t *r, const char *data, size_t len)
{
    struct req *q = get_req(((struct state *)state)->api, r);
    if (q) q->req_bytes += len;
    return FOYER_CONTINUE;
}

/* X-Hold: N asks for the body first; the target and the header count are
 * recorded for the response. */
static int hold_and_look(const struct foyer_api *api, foyer_request_t *r, struct req *q)
{
    size_t len, nlen, vlen;
    const char *t = api->req_target(r, &len), *name, *value;
    snprintf(q->target, sizeof q->target, "%.*s", t ? (int)len : 1, t ? t : "-");
    while (api->req_header_at(r, (size_t)q->nheaders, &name, &nlen, &value, &vlen) == 0)
        q->nheaders++;
    const char *hold = api->req_header(r, "x-hold", &len);
    if (hold == NULL) return 0;
    return api->req_hold_body(r, (size_t)strtoul(hold, NULL, 10));
}

static int on_request_body_held(void *state, foyer_request_t *r, const char *data,
                                size_t len, int complete)
{
    struct state *st = state;
    struct req *q = get_req(st->api, r);
    if (q == NULL) return FOYER_ERROR;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)data[i]) * 0x100000001b3ULL;
    snprintf(q->held, sizeof q->held, "len=%zu complete=%d fnv=%016llx", len, complete,
             (unsigned long long)h);
    if (memmem(data, len, "DENY-ME", 7) != NULL) {
        st->api->respond(r, 403, "text/plain", "held body denied\n", 17);
        return FOYER_RESPOND;
    }
    return FOYER_CONTINUE;
}

static int on_route(void *state, foyer_request_t *r)
{
    struct state *st = state;
    const struct foyer_api *api = st->api;
    struct req *q = get_req(api, r);
    if (q == NULL) return FOYER_ERROR;
    if (hold_and_look(api, r, q) != 0) return FOYER_ERROR;
    if (strcmp(q->path, "/fail/route") == 0) return FOYER_ERROR;
    if (strcmp(q->path, "/answer/route") == 0) {
        api->respond(r, 418, "text/plain", "teapot\n", 7);
        return FOYER_RESPOND;
    }
    if (q->resumed) api->req_set_header(r, "X-All-Resumed", "yes");
    const foyer_conf_t *rc = api->route_plugin_conf(r, NAME);
    const char *label = rc ? api->conf_string(rc, "label") : NULL;
    api->req_set_header(r, "X-All-Label", label ? label : "-");
    const char *svc = api->route_service(r);
    api->req_set_header(r, "X-All-Service", svc ? svc : "-");
    size_t hk_len = 0;
    const char *hk = api->route_hash_key(r, &hk_len);
    char hash[128];
    snprintf(hash, sizeof hash, "%.*s", hk ? (int)hk_len : 1, hk ? hk : "-");
    api->req_set_header(r, "X-All-Hash", hash);
    if (svc != NULL) {
        char eps[512] = "";
        size_t n = api->service_endpoints(svc);
        for (size_t i = 0; i < n; i++) {
            socklen_t alen = 0;
            const struct sockaddr *sa = api->service_endpoint_addr(svc, i, &alen);
            int port = sa && sa->sa_family == AF_INET
                           ? ntohs(((const struct sockaddr_in *)sa)->sin_port)
                           : -1;
            size_t l = strlen(eps);
            snprintf(eps + l, sizeof eps - l, "%s%s|%d|w%u|b%d", i ? "," : "",
                     api->service_endpoint(svc, i), port, api->service_endpoint_weight(svc, i),
                     api->service_endpoint_backup(svc, i));
        }
        api->req_set_header(r, "X-All-Endpoints", eps);
    }
    /* Parked last: a resume goes on with the next plugin, not this hook. */
    if (q->route_park > 0) {
        q->parked_at = api->now();
        q->timer = api->timer_start(q->route_park / 1000.0, 0, park_done, q);
        return q->timer ? FOYER_PARK : FOYER_ERROR;
    }
    return FOYER_CONTINUE;
}

static int on_upstream_select(void *state, foyer_request_t *r, const char *service,
                              const unsigned *tried, unsigned ntried, unsigned *endpoint)
{
    struct state *st = state;
    const struct foyer_api *api = st->api;
    struct req *q = get_req(api, r);
    if (q == NULL) return FOYER_ERROR;
    q->ntried = ntried;
    if (strcmp(q->path, "/fail/select") == 0) return FOYER_ERROR;
    if (strcmp(q->path, "/answer/select") == 0) {
        api->respond(r, 503, "text/plain", "no endpoint for you\n", 20);
        return FOYER_RESPOND;
    }
    int want = -1;
    const foyer_conf_t *rc = api->route_plugin_conf(r, NAME);
    double d;
    if (rc && api->conf_number(rc, "endpoint", &d) == 0) want = (int)d;
    for (int i = 0; want < 0 && i < st->nsvc; i++)
        if (strcmp(st->svc[i].name, service) == 0) want = st->svc[i].endpoint;
    /* On a retry, the next endpoint after the ones tried. */
    if (want >= 0 && ntried > 0) {
        size_t n = api->service_endpoints(service);
        for (unsigned i = 0; i < ntried; i++)
            if (tried[i] == (unsigned)want) want = (int)((tried[ntried - 1] + 1) % n);
    }
    if (want < 0) return FOYER_CONTINUE;
    q->selected = want;
    *endpoint = (unsigned)want;
    return FOYER_SELECTED;
}

static void on_upstream_result(void *state, foyer_request_t *r,
                               const struct foyer_upstream_result *res)
{
    struct state *st = state;
    struct req *q = get_req(st->api, r);
    if (q == NULL) return;
    q->results++;
    snprintf(q->result, sizeof q->result,
             "service=%s endpoint=%u address=%s status=%d err=%d timeout=%d latency_ms=%d",
             res->service, res->endpoint, res->address, res->status, res->connect_error,
             res->timed_out, (int)(res->latency * 1000));
    if (st->verbose) st->api->log(NAME, FOYER_LOG_NOTICE, "result %s %s", q->path, q->result);
}

static int on_response_headers(void *state, foyer_request_t *r)
{
    struct state *st = state;
    const struct foyer_api *api = st->api;
    struct req *q = get_req(api, r);
    if (q == NULL) return FOYER_ERROR;
    if (strcmp(q->path, "/fail/response") == 0) return FOYER_ERROR;
    char v[64];
    int rc = 0;
    rc |= api->resp_set_header(r, "X-All-Tag", st->tag);
    rc |= api->resp_set_header(r, "X-All-Conf", st->conf_summary);
    snprintf(v, sizeof v, "%d", api->resp_status(r));
    rc |= api->resp_set_header(r, "X-All-Status", v);
    rc |= api->resp_set_header(r, "X-All-Result", q->result[0] ? q->result : "-");
    snprintf(v, sizeof v, "%d tried=%u", q->selected, q->ntried);
    rc |= api->resp_set_header(r, "X-All-Select", v);
    snprintf(v, sizeof v, "%llu", (unsigned long long)q->req_bytes);
    rc |= api->resp_set_header(r, "X-All-Req-Bytes", v);
    snprintf(v, sizeof v, "%llu", (unsigned long long)(st->requests ? *st->requests : 0));
    rc |= api->resp_set_header(r, "X-All-Count", v);
    snprintf(v, sizeof v, "%llu", (unsigned long long)st->ticks);
    rc |= api->resp_set_header(r, "X-All-Ticks", v);
    snprintf(v, sizeof v, "%d", q->resumed ? (int)(q->parked_for * 1000) : -1);
    rc |= api->resp_set_header(r, "X-All-Parked-Ms", v);
    rc |= api->resp_set_header(r, "X-Backend-Secret", NULL);
    rc |= api->resp_set_header(r, "X-All-Held", q->held[0] ? q->held : "-");
    rc |= api->resp_set_header(r, "X-All-Target", q->target[0] ? q->target : "-");
    snprintf(v, sizeof v, "%d", q->nheaders);
    rc |= api->resp_set_header(r, "X-All-Nheaders", v);
    rc |= api->resp_set_header(r, "X-All-Numbers", st->numbers);
    rc |= api->resp_set_header(r, "X-All-Req-Id", api->req_id(r) ? api->req_id(r) : "-");
    if (rc != 0) return FOYER_ERROR;
    /* Calls that must fail here (too late, invalid or protected) — but respond(),
     * which may still replace the upstream's answer from this hook. */
    snprintf(v, sizeof v, "%d,%d,%d,%d,%d,%d,%d,%d", api->req_hold_body(r, 10),
             api->req_set_header(r, "X-Too-Late", "1"),
             api->respond(r, 200, "text/plain", "x", 1),
             api->resp_set_header(r, "Content-Length", "1"),
             api->resp_set_header(r, "Bad Name", "1"),
             api->resp_set_header(r, "X-Bad-Value", "a\r\nb"),
             api->storage(r, "no-such-plugin") == NULL ? -1 : 0,
             api->respond(NULL, 200, NULL, NULL, 0));
    api->resp_set_header(r, "X-All-Api", v);
    return FOYER_CONTINUE;
}

static int on_response_body(void *state, foyer_request_t *r, const char *data, size_t len)
{
    struct state *st = state;
    struct req *q = get_req(st->api, r);
    if (q == NULL) return FOYER_CONTINUE;
    if (q->resp_bytes == 0 && len > 0)
        q->late_resp_set = st->api->resp_set_header(r, "X-After-Head", "1");
    q->resp_bytes += len;
    return FOYER_CONTINUE;
}

static void on_log(void *state, foyer_request_t *r)
{
    struct state *st = state;
    const struct foyer_api *api = st->api;
    struct req *q = get_req(api, r);
    const foyer_conf_t *rc = api->route_plugin_conf(r, NAME);
    const char *label = rc ? api->conf_string(rc, "label") : NULL;
    api->log(NAME, FOYER_LOG_NOTICE,
             "log path=%s status=%d req_bytes=%llu resp_bytes=%llu late_set=%d results=%d "
             "label=%s tag=%s",
             q ? q->path : "?", api->resp_status(r), q ? (unsigned long long)q->req_bytes : 0ULL,
             q ? (unsigned long long)q->resp_bytes : 0ULL, q ? q->late_resp_set : 0,
             q ? q->results : 0, label ? label : "-", st->tag);
}

static const struct foyer_plugin allhooks = {
    FOYER_PLUGIN_DESCRIPTOR(NAME, "0.1"),
    .init = init,
    .worker_init = worker_init,
    .fini = fini,
    .service_keys = service_keys,
    .config_ready = config_ready,
    .on_accept = on_accept,
    .on_client_hello = on_client_hello,
    .on_request_headers = on_request_headers,
    .on_request_body = on_request_body,
    .on_route = on_route,
    .on_upstream_select = on_upstream_select,
    .on_upstream_result = on_upstream_result,
    .on_response_headers = on_response_headers,
    .on_response_body = on_response_body,
    .on_log = on_log,
    .on_request_body_held = on_request_body_held,
};

const struct foyer_plugin *foyer_plugin_entry(void)
{
    return &allhooks;
}
