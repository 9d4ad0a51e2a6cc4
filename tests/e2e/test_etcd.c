/*
 * End-to-end tests of live configuration from etcd (issue 9, first stage): a
 * real etcd (the `etcd` binary; $FOYER_ETCD overrides the path) on 127.0.0.1
 * ephemeral ports with a temporary data directory, keys written through its
 * HTTP/JSON gateway, real foyer instances following it:
 *   - two instances serve a new route and a new endpoint within a second,
 *     stop serving removed ones, and report the same etcd revision;
 *   - a client sending all along sees no failed request across 20 changes;
 *   - an invalid key (bad route, bad JSON, a clash with the file) is refused
 *     and logged with its key, keeps its last good value while the previous
 *     routes keep serving, and other keys' changes still apply;
 *   - etcd killed and restarted: foyer serves throughout and then picks up a
 *     change made after the restart;
 *   - etcd down at start: the snapshot serves; without one, foyer refuses to
 *     start with a clear message;
 *   - a watch canceled for compaction (a scripted etcd: a real one cannot be
 *     made to do it on demand) makes foyer resynchronise with a full range.
 * Without an etcd binary the program exits 77 (SKIP), unless $CI is set: in
 * CI a missing etcd is a failure.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define T_MS 10000
#define APPLY_MS (E2E_ASAN ? 3000 : 1000) /* "within a second" (sanitizers: slower) */

static char etcd_bin[4096];

/* $FOYER_ETCD, else `etcd` in $PATH; false if there is none. */
static bool find_etcd(void)
{
    const char *env = getenv("FOYER_ETCD");
    if (env && *env) {
        snprintf(etcd_bin, sizeof etcd_bin, "%s", env);
        return access(etcd_bin, X_OK) == 0;
    }
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s", path ? path : "/usr/bin:/bin");
    for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(etcd_bin, sizeof etcd_bin, "%s/etcd", d);
        if (access(etcd_bin, X_OK) == 0) return true;
    }
    return false;
}

/* ---- etcd ------------------------------------------------------------------------ */

struct etcd {
    pid_t pid;
    int port, peer;
};

static bool etcd_healthy(int port)
{
    struct e2e_resp r = {0};
    bool ok = e2e_http(port, "GET", "127.0.0.1", "/health", NULL, &r, 1000) == 1 &&
              r.status == 200 && r.body && strstr(r.body, "true");
    e2e_resp_free(&r);
    return ok;
}

/* Starts etcd (again, on the same ports and data, when e->port is set) and
 * waits for /health. */
static void etcd_start(struct etcd *e)
{
    if (e->port == 0) {
        e->port = e2e_free_port();
        e->peer = e2e_free_port();
    }
    char client[64], peer[64], cluster[96];
    snprintf(client, sizeof client, "http://127.0.0.1:%d", e->port);
    snprintf(peer, sizeof peer, "http://127.0.0.1:%d", e->peer);
    snprintf(cluster, sizeof cluster, "default=%s", peer);
    char *argv[] = {etcd_bin,
                    "--data-dir",
                    (char *)e2e_path("etcd-data"),
                    "--listen-client-urls",
                    client,
                    "--advertise-client-urls",
                    client,
                    "--listen-peer-urls",
                    peer,
                    "--initial-advertise-peer-urls",
                    peer,
                    "--initial-cluster",
                    cluster,
                    NULL};
    int log = open(e2e_path("etcd.log"), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    REQUIRE(log >= 0);
    e->pid = e2e_spawn(argv, log, log);
    close(log);
    REQUIREF(E2E_WAIT_UNTIL(etcd_healthy(e->port), 20000), "etcd on port %d not healthy",
             e->port);
}

static void base64(const char *in, char *out)
{
    static const char t[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = strlen(in), i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 |
                     (unsigned char)in[i + 2];
        *out++ = t[v >> 18], *out++ = t[(v >> 12) & 63];
        *out++ = t[(v >> 6) & 63], *out++ = t[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned char)in[i] << 16 |
                     (i + 1 < len ? (unsigned char)in[i + 1] << 8 : 0);
        *out++ = t[v >> 18], *out++ = t[(v >> 12) & 63];
        *out++ = i + 1 < len ? t[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
    *out = '\0';
}

/* POST path with a JSON body to etcd's gateway; the etcd revision after it. */
static long long etcd_post(const struct etcd *e, const char *path, const char *body)
{
    char raw[16384];
    snprintf(raw, sizeof raw,
             "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
             path, strlen(body), body);
    struct e2e_resp r = {0};
    int rc = e2e_request(e->port, raw, &r, T_MS);
    REQUIREF(rc == 1 && r.status == 200, "etcd %s: %d %s", path, r.status,
             r.body ? r.body : "");
    const char *rev = strstr(r.body, "\"revision\":\"");
    long long n = rev ? atoll(rev + 12) : 0;
    e2e_resp_free(&r);
    return n;
}

static long long etcd_put(const struct etcd *e, const char *key, const char *value)
{
    char k[512], v[8192], body[9000];
    base64(key, k);
    base64(value, v);
    snprintf(body, sizeof body, "{\"key\":\"%s\",\"value\":\"%s\"}", k, v);
    return etcd_post(e, "/v3/kv/put", body);
}

static long long etcd_del(const struct etcd *e, const char *key)
{
    char k[512], body[600];
    base64(key, k);
    snprintf(body, sizeof body, "{\"key\":\"%s\"}", k);
    return etcd_post(e, "/v3/kv/deleterange", body);
}

static void put_service(const struct etcd *e, const char *name, const int *ports, int n)
{
    char key[128], value[512];
    int len = snprintf(value, sizeof value, "{\"endpoints\":[");
    for (int i = 0; i < n; i++)
        len += snprintf(value + len, sizeof value - (size_t)len, "%s\"127.0.0.1:%d\"",
                        i ? "," : "", ports[i]);
    snprintf(value + len, sizeof value - (size_t)len, "]}");
    snprintf(key, sizeof key, "/foyer/services/%s", name);
    etcd_put(e, key, value);
}

static long long put_route(const struct etcd *e, const char *id, const char *host,
                           const char *service)
{
    char key[128], value[512];
    snprintf(key, sizeof key, "/foyer/routes/%s", id);
    snprintf(value, sizeof value, "{\"host\":\"%s\",\"service\":\"%s\"}", host, service);
    return etcd_put(e, key, value);
}

/* etcd started, with service "app" on a and route 1 (a.example) to it: the
 * revision of the route. */
static long long etcd_with_app(struct etcd *e, const struct e2e_backend *a)
{
    etcd_start(e);
    put_service(e, "app", &a->port, 1);
    return put_route(e, "1", "a.example", "app");
}

/* ---- foyer ----------------------------------------------------------------------- */

static const char *etcd_extra = ""; /* more of the etcd table, e.g. ", keepalive = 1" */

/* A foyer following e with admin on admin_port; extra Lua after the set. */
static void foyer_follow(struct e2e_foyer *f, const char *name, const struct etcd *e,
                         int admin_port, const char *extra)
{
    char text[4096], snap[512];
    int port = e2e_free_port();
    snprintf(snap, sizeof snap, "%s", e2e_path(name));
    strcat(snap, ".snapshot.json");
    snprintf(text, sizeof text,
             "listen \"127.0.0.1:%d\"\n"
             "set { workers = 2, admin = \"127.0.0.1:%d\",\n"
             "      config_source = { etcd = { endpoints = { \"127.0.0.1:%d\" },\n"
             "        prefix = \"/foyer/\", snapshot = \"%s\", dial_timeout = 0.5,\n"
             "        retry_max = 1%s } } }\n%s",
             port, admin_port, e->port, snap, etcd_extra, extra ? extra : "");
    e2e_foyer_start_conf(f, name, port, text, NULL);
}

/* Which backend answers host on a new connection ("" when none). */
static const char *backend_of(int port, const char *host, char *be, size_t len)
{
    if (e2e_get(port, host, "/x", be, len) != 200) snprintf(be, len, "%s", "");
    return be;
}

static int status_of(int port, const char *host)
{
    return e2e_get(port, host, "/x", NULL, 0);
}

/* The first number named `field` in foyer's /status (-1 if none). */
static long long status_number(int admin, const char *field)
{
    struct e2e_resp r = {0};
    char key[64];
    long long v = -1;
    snprintf(key, sizeof key, "\"%s\":", field);
    if (e2e_http(admin, "GET", "127.0.0.1", "/status", NULL, &r, T_MS) == 1 && r.body) {
        const char *p = strstr(r.body, key);
        if (p) v = atoll(p + strlen(key));
    }
    e2e_resp_free(&r);
    return v;
}

/* The etcd revision in foyer's /status (-1 if none). */
static long long status_revision(int admin)
{
    return status_number(admin, "etcd_revision");
}

/* How many workers /status shows at etcd revision rev. */
static int workers_at(int admin, long long rev)
{
    struct e2e_resp r = {0};
    char needle[64];
    int n = 0;
    snprintf(needle, sizeof needle, "\"etcd_revision\":%lld,\"connections\"", rev);
    if (e2e_http(admin, "GET", "127.0.0.1", "/status", NULL, &r, T_MS) == 1 && r.body)
        for (const char *p = strstr(r.body, needle); p; p = strstr(p + 1, needle))
            n++;
    e2e_resp_free(&r);
    return n;
}

/* Milliseconds until cond holds, -1 after timeout_ms. */
#define MS_UNTIL(cond, timeout_ms)                                                       \
    ({                                                                                   \
        int64_t t0_ = e2e_now_ms(), ms_ = -1;                                            \
        while (e2e_now_ms() - t0_ <= (timeout_ms)) {                                     \
            if (cond) {                                                                  \
                ms_ = e2e_now_ms() - t0_;                                                \
                break;                                                                   \
            }                                                                            \
            e2e_sleep_ms(5);                                                             \
        }                                                                                \
        ms_;                                                                             \
    })

static bool serves(int port, const char *host, const char *want)
{
    char be[64];
    return strcmp(backend_of(port, host, be, sizeof be), want) == 0;
}

/* ---- cases ----------------------------------------------------------------------- */

E2E_TEST(two_instances_follow_changes, 90)
{
    struct etcd e = {0};
    struct e2e_backend a = e2e_backend_start("a"), b = e2e_backend_start("b"),
                       c = e2e_backend_start("c");
    etcd_with_app(&e, &a);
    struct e2e_foyer f1, f2;
    int admin1 = e2e_free_port(), admin2 = e2e_free_port();
    foyer_follow(&f1, "one.lua", &e, admin1, NULL);
    foyer_follow(&f2, "two.lua", &e, admin2, NULL);
    CHECK(serves(f1.port, "a.example", "a"));
    CHECK(serves(f2.port, "a.example", "a"));
    CHECK_INT(status_of(f1.port, "b.example"), 404);

    /* a new service and route */
    put_service(&e, "bee", &b.port, 1);
    int64_t t0 = e2e_now_ms();
    put_route(&e, "2", "b.example", "bee");
    long ms1 = MS_UNTIL(serves(f1.port, "b.example", "b"), 5000);
    long ms2 = MS_UNTIL(serves(f2.port, "b.example", "b"), 5000);
    long took = (long)(e2e_now_ms() - t0);
    e2e_log("new route served after %ld / %ld ms (both by %ld ms)", ms1, ms2, took);
    CHECKF(ms1 >= 0 && ms2 >= 0 && took <= APPLY_MS, "new route: %ld ms", took);

    /* a new endpoint */
    int ac[] = {a.port, c.port};
    t0 = e2e_now_ms();
    put_service(&e, "app", ac, 2);
    ms1 = MS_UNTIL(serves(f1.port, "a.example", "c"), 5000);
    ms2 = MS_UNTIL(serves(f2.port, "a.example", "c"), 5000);
    took = (long)(e2e_now_ms() - t0);
    CHECKF(ms1 >= 0 && ms2 >= 0 && took <= APPLY_MS, "new endpoint: %ld ms", took);

    /* a removed endpoint and a removed route */
    t0 = e2e_now_ms();
    put_service(&e, "app", &c.port, 1);
    long long rev = etcd_del(&e, "/foyer/routes/2");
    ms1 = MS_UNTIL(status_of(f1.port, "b.example") == 404, 5000);
    ms2 = MS_UNTIL(status_of(f2.port, "b.example") == 404, 5000);
    took = (long)(e2e_now_ms() - t0);
    CHECKF(ms1 >= 0 && ms2 >= 0 && took <= APPLY_MS, "removed route: %ld ms", took);
    int only_c = 0;
    for (int i = 0; i < 20; i++) {
        only_c += serves(f1.port, "a.example", "c");
        only_c += serves(f2.port, "a.example", "c");
    }
    CHECK_INT(only_c, 40);

    /* both on the same revision, the one etcd is at */
    CHECK(E2E_WAIT_UNTIL(workers_at(admin1, rev) == 2 && workers_at(admin2, rev) == 2,
                         5000));
    e2e_log("etcd revision %lld; foyers at %lld and %lld", rev, status_revision(admin1),
            status_revision(admin2));
    char applied[96];
    snprintf(applied, sizeof applied, "etcd revision %lld applied in place", rev);
    CHECK(e2e_foyer_log_wait(&f1, applied, 1000));
    CHECK(e2e_foyer_log_wait(&f2, applied, 1000));
    CHECK(e2e_foyer_log_wait(&f2, "configuration changed in place (etcd revision", 1000));
    CHECK_INT(e2e_foyer_stop(&f1, T_MS), 0);
    CHECK_INT(e2e_foyer_stop(&f2, T_MS), 0);
}

struct load {
    int port;
    atomic_int stop;
    atomic_long ok, failed;
};

static void *keep_sending(void *arg)
{
    struct load *l = arg;
    while (!atomic_load(&l->stop)) {
        char be[64];
        if (e2e_get(l->port, "a.example", "/x", be, sizeof be) == 200)
            atomic_fetch_add(&l->ok, 1);
        else
            atomic_fetch_add(&l->failed, 1);
    }
    return NULL;
}

E2E_TEST(no_failed_requests_during_changes, 120)
{
    struct etcd e = {0};
    struct e2e_backend a = e2e_backend_start("a"), b = e2e_backend_start("b");
    etcd_with_app(&e, &a);
    struct e2e_foyer f;
    int admin = e2e_free_port();
    foyer_follow(&f, "foyer.lua", &e, admin, NULL);
    REQUIRE(serves(f.port, "a.example", "a"));
    struct load l = {.port = f.port};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, keep_sending, &l) == 0);
    long long rev = 0;
    int ab[] = {a.port, b.port};
    for (int i = 0; i < 20; i++) {
        char id[16], host[64];
        snprintf(id, sizeof id, "%d", 100 + i);
        snprintf(host, sizeof host, "h%d.example", i);
        put_service(&e, "app", i % 2 ? &a.port : ab, i % 2 ? 1 : 2);
        rev = put_route(&e, id, host, "app");
        e2e_sleep_ms(100);
    }
    CHECK(E2E_WAIT_UNTIL(status_revision(admin) == rev, 5000));
    e2e_sleep_ms(200);
    atomic_store(&l.stop, 1);
    pthread_join(t, NULL);
    e2e_log("%ld requests answered, %ld failed, across 20 changes", atomic_load(&l.ok),
            atomic_load(&l.failed));
    CHECK_INT(atomic_load(&l.failed), 0);
    CHECK(atomic_load(&l.ok) > 50);
    CHECK_INT(status_of(f.port, "h19.example"), 200);
    CHECK_INT(e2e_foyer_stop(&f, T_MS), 0);
}

/* Routes added, replaced (exact and wildcard hosts) and deleted, a service's
 * endpoints, a service added and one removed: each applied in place in every
 * process, served within a second, and no reload at all (still generation
 * 1, no worker reloaded). */
E2E_TEST(changes_in_place_without_reload, 90)
{
    struct etcd e = {0};
    etcd_start(&e);
    struct e2e_backend a = e2e_backend_start("a"), b = e2e_backend_start("b"),
                       c = e2e_backend_start("c");
    put_service(&e, "app", &a.port, 1);
    put_service(&e, "bee", &b.port, 1);
    put_route(&e, "1", "a.example", "app");
    struct e2e_foyer f;
    int admin = e2e_free_port();
    foyer_follow(&f, "inplace.lua", &e, admin, NULL);
    CHECK(serves(f.port, "a.example", "a"));

    int64_t t0 = e2e_now_ms();
    put_route(&e, "2", "b.example", "bee");
    put_route(&e, "3", "*.w.example", "app");
    CHECK(E2E_WAIT_UNTIL(serves(f.port, "b.example", "b") &&
                             serves(f.port, "x.w.example", "a"),
                         APPLY_MS));
    put_route(&e, "1", "a.example", "bee"); /* replaced */
    etcd_del(&e, "/foyer/routes/2");
    CHECK(E2E_WAIT_UNTIL(serves(f.port, "a.example", "b") &&
                             status_of(f.port, "b.example") == 404,
                         APPLY_MS));
    int ac[] = {c.port};
    long long rev = 0;
    put_service(&e, "app", ac, 1); /* a new endpoint list */
    rev = etcd_put(&e, "/foyer/ignored", "x");
    CHECK(E2E_WAIT_UNTIL(serves(f.port, "x.w.example", "c"), APPLY_MS));
    e2e_log("five changes served by %lld ms", (long long)(e2e_now_ms() - t0));
    int right = 0; /* every worker (new connections land on either) */
    for (int i = 0; i < 20; i++)
        right += serves(f.port, "a.example", "b") && serves(f.port, "x.w.example", "c") &&
                 status_of(f.port, "b.example") == 404;
    CHECK_INT(right, 20);
    CHECK(E2E_WAIT_UNTIL(status_revision(admin) == rev, 5000));
    CHECK_INT(status_number(admin, "generation"), 1);
    CHECK(e2e_foyer_log_wait(&f, "applied in place: 1 key changed", 1000));
    CHECK(e2e_foyer_log_wait(&f, "worker 1: configuration changed in place", 1000));
    CHECK(!e2e_foyer_log_wait(&f, "configuration reloaded", 0));

    put_service(&e, "cee", &c.port, 1); /* a new service, and a route to it */
    put_route(&e, "4", "c.example", "cee");
    CHECK(E2E_WAIT_UNTIL(serves(f.port, "c.example", "c"), APPLY_MS));
    rev = etcd_del(&e, "/foyer/services/bee"); /* a.example's service: gone, 500 */
    CHECK(E2E_WAIT_UNTIL(status_of(f.port, "a.example") == 500, APPLY_MS));
    CHECK(serves(f.port, "c.example", "c") && serves(f.port, "x.w.example", "c"));
    CHECK(E2E_WAIT_UNTIL(workers_at(admin, rev) == 2, 5000)); /* both workers */
    CHECK_INT(status_number(admin, "generation"), 1);
    CHECK(!e2e_foyer_log_wait(&f, "configuration reloaded", 0));
    CHECK_INT(e2e_foyer_stop(&f, T_MS), 0);
}

/* With a load balancer keeping state per service, a new endpoint list goes
 * through the reload (its tables are rebuilt there); routes still change in
 * place. */
E2E_TEST(balanced_service_change_reloads, 90)
{
    struct etcd e = {0};
    struct e2e_backend a = e2e_backend_start("a"), b = e2e_backend_start("b");
    etcd_with_app(&e, &a);
    char extra[1024];
    snprintf(extra, sizeof extra, "plugin \"lb\" { path = \"%s\" }\n",
             e2e_plugin_so("lb"));
    struct e2e_foyer f;
    int admin = e2e_free_port();
    foyer_follow(&f, "lb.lua", &e, admin, extra);
    CHECK(serves(f.port, "a.example", "a"));
    put_route(&e, "2", "b.example", "app");
    CHECK(E2E_WAIT_UNTIL(serves(f.port, "b.example", "a"), APPLY_MS));
    CHECK(e2e_foyer_log_wait(&f, "worker 0: configuration changed in place", 1000));
    put_service(&e, "app", &b.port, 1);
    CHECK(E2E_WAIT_UNTIL(serves(f.port, "a.example", "b"), APPLY_MS));
    CHECK(e2e_foyer_log_wait(&f, "configuration reloaded (generation 2", 1000));
    int right = 0;
    for (int i = 0; i < 20; i++)
        right += serves(f.port, "a.example", "b");
    CHECK_INT(right, 20);
    CHECK_INT(e2e_foyer_stop(&f, T_MS), 0);
}

E2E_TEST(invalid_key_refused_previous_serves, 90)
{
    struct etcd e = {0};
    struct e2e_backend a = e2e_backend_start("a"), b = e2e_backend_start("b");
    etcd_with_app(&e, &a);
    struct e2e_foyer f;
    int admin = e2e_free_port();
    char extra[128];
    snprintf(extra, sizeof extra,
             "service \"local\" { endpoints = { \"127.0.0.1:%d\" } }\n", b.port);
    foyer_follow(&f, "foyer.lua", &e, admin, extra);
    REQUIRE(serves(f.port, "a.example", "a"));
    long long good = status_revision(admin);
    CHECK(good > 0);

    /* a route the router refuses: logged with its key, nothing applied */
    etcd_put(&e, "/foyer/routes/12",
             "{\"host\":\"c.example\",\"path\":\"nope\",\"service\":\"app\"}");
    CHECK(e2e_foyer_log_wait(&f, "etcd /foyer/routes/12: routes[1].path: ", 5000));
    CHECK(e2e_foyer_log_wait(&f, "this key refused", 100));
    CHECK(serves(f.port, "a.example", "a"));
    CHECK_INT(status_of(f.port, "c.example"), 404);
    CHECK_INT(status_revision(admin), good);

    /* while it stays invalid, other changes still apply */
    long long rev = put_route(&e, "3", "d.example", "app");
    CHECK(E2E_WAIT_UNTIL(serves(f.port, "d.example", "a"), 5000));
    CHECK(E2E_WAIT_UNTIL(status_revision(admin) == rev, 5000));
    CHECK_INT(status_of(f.port, "c.example"), 404);

    /* a value that is not JSON, on a service that exists: it keeps its endpoints */
    etcd_put(&e, "/foyer/services/app", "{\"endpoints\": [");
    CHECK(e2e_foyer_log_wait(&f, "etcd /foyer/services/app: 1:", 5000));
    CHECK(serves(f.port, "a.example", "a"));
    CHECK(serves(f.port, "d.example", "a"));

    /* a service the file declares already */
    put_service(&e, "local", &a.port, 1);
    CHECK(e2e_foyer_log_wait(
        &f, "etcd /foyer/services/local: service \"local\" is already declared at",
        5000));
    CHECK(serves(f.port, "a.example", "a"));

    /* every key fixed: everything applies */
    etcd_del(&e, "/foyer/services/local");
    put_service(&e, "app", &b.port, 1);
    put_route(&e, "12", "c.example", "app");
    CHECK(E2E_WAIT_UNTIL(serves(f.port, "c.example", "b"), 5000));
    CHECK(serves(f.port, "a.example", "b"));
    CHECK_INT(e2e_foyer_stop(&f, T_MS), 0);
}

E2E_TEST(etcd_restart_mid_run, 120)
{
    struct etcd e = {0};
    struct e2e_backend a = e2e_backend_start("a");
    etcd_with_app(&e, &a);
    struct e2e_foyer f;
    foyer_follow(&f, "foyer.lua", &e, e2e_free_port(), NULL);
    REQUIRE(serves(f.port, "a.example", "a"));
    kill(e.pid, SIGKILL);
    e2e_wait(e.pid, T_MS);
    CHECK(e2e_foyer_log_wait(&f, "next try in", 5000));
    int ok = 0;
    for (int i = 0; i < 30; i++, e2e_sleep_ms(50))
        ok += serves(f.port, "a.example", "a");
    CHECK_INT(ok, 30);
    etcd_start(&e);
    put_route(&e, "2", "b.example", "app");
    long ms = MS_UNTIL(serves(f.port, "b.example", "a"), 10000);
    e2e_log("change after the restart served after %ld ms", ms);
    CHECK(ms >= 0);
    CHECK(serves(f.port, "a.example", "a"));
    CHECK_INT(e2e_foyer_stop(&f, T_MS), 0);
}

/* etcd frozen (SIGSTOP: its sockets stay open, nothing answers, as in a
 * partition): the keepalive check times out, foyer keeps serving and
 * reconnects; once etcd is back, changes flow again. */
E2E_TEST(etcd_frozen_then_back, 90)
{
    struct etcd e = {0};
    struct e2e_backend a = e2e_backend_start("a");
    etcd_with_app(&e, &a);
    struct e2e_foyer f;
    etcd_extra = ", keepalive = 0.2";
    foyer_follow(&f, "foyer.lua", &e, e2e_free_port(), NULL);
    etcd_extra = "";
    REQUIRE(serves(f.port, "a.example", "a"));
    kill(e.pid, SIGSTOP);
    CHECK(e2e_foyer_log_wait(&f, "keepalive check failed", 5000));
    int ok = 0;
    for (int i = 0; i < 20; i++, e2e_sleep_ms(50))
        ok += serves(f.port, "a.example", "a");
    CHECK_INT(ok, 20);
    kill(e.pid, SIGCONT);
    put_route(&e, "2", "b.example", "app");
    long ms = MS_UNTIL(serves(f.port, "b.example", "a"), 10000);
    e2e_log("change after etcd came back served after %ld ms", ms);
    CHECK(ms >= 0);
    CHECK_INT(e2e_foyer_stop(&f, T_MS), 0);
}

E2E_TEST(start_from_snapshot_when_etcd_down, 90)
{
    struct etcd e = {0};
    struct e2e_backend a = e2e_backend_start("a");
    etcd_with_app(&e, &a);
    /* a service name the snapshot must escape: a quote and a backslash */
    put_service(&e, "we\"i\\rd", &a.port, 1);
    long long rev = etcd_put(&e, "/foyer/routes/2",
                             "{\"host\":\"q.example\",\"service\":\"we\\\"i\\\\rd\"}");
    struct e2e_foyer f;
    int admin = e2e_free_port();
    foyer_follow(&f, "foyer.lua", &e, admin, NULL);
    REQUIRE(serves(f.port, "a.example", "a"));
    CHECK(serves(f.port, "q.example", "a"));
    CHECK_INT(e2e_foyer_stop(&f, T_MS), 0);
    char *snap = e2e_read_file(e2e_path("foyer.lua.snapshot.json"));
    CHECKF(snap && strstr(snap, "/foyer/routes/1"), "snapshot: %s", snap ? snap : "none");
    free(snap);
    kill(e.pid, SIGKILL);
    e2e_wait(e.pid, T_MS);

    char *text = e2e_read_file(f.conf);
    REQUIRE(text);
    struct e2e_foyer g;
    e2e_foyer_start_conf(&g, "again.lua", f.port, text, NULL);
    free(text);
    CHECK(e2e_foyer_log_wait(&g, "starting from the snapshot", 5000));
    CHECK(serves(g.port, "a.example", "a"));
    CHECK(serves(g.port, "q.example", "a")); /* the escaped name read back */
    CHECK_INT(status_revision(admin), rev);
    CHECK_INT(e2e_foyer_stop(&g, T_MS), 0);
}

E2E_TEST(refuse_start_without_etcd_or_snapshot, 60)
{
    char conf[1024], out[8192];
    int port = e2e_free_port(), dead = e2e_free_port();
    snprintf(conf, sizeof conf,
             "listen \"127.0.0.1:%d\"\n"
             "set { config_source = { etcd = { endpoints = { \"127.0.0.1:%d\" },\n"
             "      snapshot = \"%s\", dial_timeout = 0.5 } } }\n",
             port, dead, e2e_path("none.json"));
    REQUIRE(e2e_write_file(e2e_path("foyer.lua"), conf));
    char *argv[] = {(char *)e2e_env("FOYER_BIN"), "-c", (char *)e2e_path("foyer.lua"),
                    NULL};
    int64_t t0 = e2e_now_ms();
    int rc = e2e_run(argv, out, sizeof out, 20000);
    e2e_log("exit %d after %lld ms: %s", rc, (long long)(e2e_now_ms() - t0), out);
    CHECK(rc != 0 && rc != -1);
    CHECK(strstr(out, "no snapshot at") && strstr(out, "refusing to start"));
    CHECK(strstr(out, "Connection refused"));
    CHECK_INT(status_of(port, "a.example"), -1); /* it never listened */
}

/* ---- a scripted etcd, for what a real one will not do on demand ---------------- */

/* Ranges answer revision 5 (service app, route 1) the first time, then 9 (route
 * 2 too); the first watch is created then canceled with compact_revision 7,
 * as etcd does when the start revision was compacted away; every watch stream
 * then stays open and quiet. */
struct fake_etcd {
    int fd, port, backend;
    int silent; /* the first watch is not canceled either: it just stays quiet */
    atomic_int ranges, watches, probes;
};

static void send_all(int c, const char *p)
{
    for (size_t n = strlen(p); n > 0;) {
        ssize_t k = send(c, p, n, MSG_NOSIGNAL);
        if (k <= 0) return;
        p += k, n -= (size_t)k;
    }
}

static void send_chunk(int c, const char *line)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%zx\r\n%s\n\r\n", strlen(line) + 1, line);
    send_all(c, buf);
}

static void fake_range(struct fake_etcd *fe, int c)
{
    int n = atomic_fetch_add(&fe->ranges, 1);
    char k[3][64], v[3][160], val[96], body[2048], out[2600];
    snprintf(val, sizeof val, "{\"endpoints\":[\"127.0.0.1:%d\"]}", fe->backend);
    base64("/foyer/services/app", k[0]);
    base64(val, v[0]);
    base64("/foyer/routes/1", k[1]);
    base64("{\"host\":\"a.example\",\"service\":\"app\"}", v[1]);
    base64("/foyer/routes/2", k[2]);
    base64("{\"host\":\"b.example\",\"service\":\"app\"}", v[2]);
    int len = snprintf(body, sizeof body, "{\"header\":{\"revision\":\"%d\"},\"kvs\":[",
                       n == 0 ? 5 : 9);
    for (int i = 0; i < (n == 0 ? 2 : 3); i++)
        len += snprintf(body + len, sizeof body - (size_t)len,
                        "%s{\"key\":\"%s\",\"value\":\"%s\"}", i ? "," : "", k[i], v[i]);
    snprintf(body + len, sizeof body - (size_t)len, "]}");
    snprintf(
        out, sizeof out,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
        "Connection: close\r\n\r\n%s",
        strlen(body), body);
    send_all(c, out);
    close(c);
}

static void fake_watch(struct fake_etcd *fe, int c)
{
    int n = atomic_fetch_add(&fe->watches, 1);
    send_all(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n");
    send_chunk(c, "{\"result\":{\"header\":{\"revision\":\"5\"},\"created\":true}}");
    if (n > 0 || fe->silent) return; /* stays open, quiet */
    send_chunk(c, "{\"result\":{\"header\":{\"revision\":\"9\"},\"canceled\":true,"
                  "\"compact_revision\":\"7\"}}");
    /* left open: only reading the cancellation may make foyer resynchronise */
}

/* foyer's keepalive check (the newest key by modification, and the count):
 * etcd has route 2 at revision 8, which the quiet watch never delivers. */
static void fake_probe(struct fake_etcd *fe, int c)
{
    char k[64], body[512], out[1024];
    atomic_fetch_add(&fe->probes, 1);
    base64("/foyer/routes/2", k);
    snprintf(body, sizeof body,
             "{\"header\":{\"revision\":\"9\"},\"kvs\":[{\"key\":\"%s\","
             "\"mod_revision\":\"8\"}],\"count\":\"3\"}",
             k);
    snprintf(out, sizeof out,
             "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
             strlen(body), body);
    send_all(c, out);
    close(c);
}

static void *fake_serve(void *arg)
{
    struct fake_etcd *fe = arg;
    for (;;) {
        int c = accept(fe->fd, NULL, NULL);
        if (c < 0) return NULL;
        char req[8192];
        size_t len = 0;
        const char *end = NULL;
        while (len < sizeof req - 1) { /* the head, and the body it announces */
            ssize_t k = recv(c, req + len, sizeof req - 1 - len, 0);
            if (k <= 0) break;
            req[len += (size_t)k] = '\0';
            const char *cl = strcasestr(req, "content-length:");
            if ((end = strstr(req, "\r\n\r\n")) && cl &&
                len >= (size_t)(end + 4 - req) + (size_t)atoi(cl + 15))
                break;
        }
        if (strncmp(req, "POST /v3/kv/range ", 18) == 0 && strstr(req, "sort_target"))
            fake_probe(fe, c);
        else if (strncmp(req, "POST /v3/kv/range ", 18) == 0)
            fake_range(fe, c);
        else if (strncmp(req, "POST /v3/watch ", 15) == 0)
            fake_watch(fe, c);
        else
            close(c);
    }
}

/* fe listening on an ephemeral port of 127.0.0.1, served by a thread. */
static bool fake_start(struct fake_etcd *fe)
{
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(0x7f000001)};
    socklen_t sl = sizeof sin;
    pthread_t t;
    fe->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fe->fd < 0 || bind(fe->fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
        listen(fe->fd, 16) != 0 || getsockname(fe->fd, (struct sockaddr *)&sin, &sl) != 0)
        return false;
    fe->port = ntohs(sin.sin_port);
    return pthread_create(&t, NULL, fake_serve, fe) == 0;
}

E2E_TEST(watch_canceled_by_compaction_resyncs, 60)
{
    struct e2e_backend a = e2e_backend_start("a");
    static struct fake_etcd fe;
    fe.backend = a.port;
    REQUIRE(fake_start(&fe));
    struct etcd e = {.port = fe.port};
    struct e2e_foyer f;
    int admin = e2e_free_port();
    foyer_follow(&f, "foyer.lua", &e, admin, NULL);
    CHECK(e2e_foyer_log_wait(&f, "history compacted at revision 7; full resync", 5000));
    CHECK(E2E_WAIT_UNTIL(serves(f.port, "b.example", "a"), 5000));
    CHECK(serves(f.port, "a.example", "a"));
    CHECK(atomic_load(&fe.ranges) >= 2);
    CHECK(E2E_WAIT_UNTIL(status_revision(admin) == 9, 5000));
    CHECK_INT(e2e_foyer_stop(&f, T_MS), 0);
}

/* A watch that stays open and silent (a partition dropping packets, a stuck
 * proxy): the keepalive check finds etcd has a newer change than the watch
 * delivered, and foyer resynchronises. */
E2E_TEST(silent_watch_found_by_keepalive, 60)
{
    struct e2e_backend a = e2e_backend_start("a");
    static struct fake_etcd fe;
    fe.backend = a.port;
    fe.silent = 1;
    REQUIRE(fake_start(&fe));
    struct etcd e = {.port = fe.port};
    struct e2e_foyer f;
    int admin = e2e_free_port();
    etcd_extra = ", keepalive = 0.2";
    foyer_follow(&f, "foyer.lua", &e, admin, NULL);
    etcd_extra = "";
    CHECK(serves(f.port, "a.example", "a"));
    CHECK_INT(status_of(f.port, "b.example"), 404);
    CHECK(e2e_foyer_log_wait(&f, "the watch stopped following (at revision 5", 5000));
    CHECK(E2E_WAIT_UNTIL(serves(f.port, "b.example", "a"), 5000));
    CHECK(E2E_WAIT_UNTIL(status_revision(admin) == 9, 5000));
    CHECK(atomic_load(&fe.probes) >= 2 && atomic_load(&fe.ranges) >= 2);
    CHECK_INT(e2e_foyer_stop(&f, T_MS), 0);
}

int main(void)
{
    if (!find_etcd()) {
        if (getenv("CI") != NULL) {
            fprintf(stderr,
                    "test_etcd: no etcd binary (apt-get install etcd-server), and "
                    "CI is set: failing\n");
            return 1;
        }
        fprintf(stderr, "test_etcd: SKIP: no etcd binary in PATH (apt-get install "
                        "etcd-server, or set FOYER_ETCD)\n");
        return 77;
    }
    static const struct e2e_case cases[] = {
        E2E_CASE(two_instances_follow_changes),
        E2E_CASE(no_failed_requests_during_changes),
        E2E_CASE(changes_in_place_without_reload),
        E2E_CASE(balanced_service_change_reloads),
        E2E_CASE(invalid_key_refused_previous_serves),
        E2E_CASE(etcd_restart_mid_run),
        E2E_CASE(etcd_frozen_then_back),
        E2E_CASE(start_from_snapshot_when_etcd_down),
        E2E_CASE(refuse_start_without_etcd_or_snapshot),
        E2E_CASE(watch_canceled_by_compaction_resyncs),
        E2E_CASE(silent_watch_found_by_keepalive),
    };
    return e2e_run_suite("etcd", cases, sizeof cases / sizeof *cases);
}
