/*
 * End-to-end tests of the load-balancing plugin (plugins/lb): the real foyer
 * loading the built lb.so, in front of real backends (foyer-test-backend,
 * whose answers carry X-Backend: NAME), through real sockets.
 *
 * Distribution per policy over real traffic, hash stability when an endpoint
 * leaves, passive ejection and recovery with a backend stopped and restarted,
 * active checks marking an endpoint down before any client request fails
 * (and run by one worker only), backups used only when the primaries are
 * down, 503 when everything is down, the retry budget, configuration errors.
 *
 * lb.so is found next to $FOYER_BIN: plugins/lb/.libs/lb.so (libtool's
 * build location), else plugins/lb/lb.so.
 */
#include "../e2e/harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define T_MS 5000
#define MAXB 8

/* ---- helpers ------------------------------------------------------------ */

/* "{ \"127.0.0.1:P0\", ... }" with optional per-endpoint extras ("weight = 2"). */
static const char *endpoints(const int *ports, int n, const char *const *extra)
{
    static char buf[2048];
    size_t used = (size_t)snprintf(buf, sizeof buf, "{ ");
    for (int i = 0; i < n; i++) {
        if (extra && extra[i] && *extra[i])
            used += (size_t)snprintf(buf + used, sizeof buf - used,
                                     "{ address = \"127.0.0.1:%d\", %s }, ", ports[i], extra[i]);
        else
            used += (size_t)snprintf(buf + used, sizeof buf - used, "\"127.0.0.1:%d\", ", ports[i]);
    }
    snprintf(buf + used, sizeof buf - used, "}");
    return buf;
}

/* foyer with lb.so and one service "app" (every request routed there, the
 * X-Key request field as the route's hash_key). `settings` are the
 * service's lb keys, `set` extra global settings. */
static void start(struct e2e_foyer *f, int workers, const char *set, const int *ports, int n,
                  const char *const *extra, const char *settings)
{
    e2e_foyer_start(f,
                    "set { workers = %d, upstream_connect_timeout = 1, upstream_read_timeout = 3%s%s }\n"
                    "plugin \"lb\" { path = \"%s\" }\n"
                    "service \"app\" { endpoints = %s, %s }\n"
                    "route(function(req)\n"
                    "  return { service = \"app\", hash_key = req:header(\"x-key\") }\n"
                    "end)\n",
                    workers, *set ? ", " : "", set, e2e_plugin_so("lb"), endpoints(ports, n, extra), settings);
}

static int start_backends(struct e2e_backend *b, int *ports, int n)
{
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "b%d", i);
        b[i] = e2e_backend_start(name);
        ports[i] = b[i].port;
    }
    return n;
}

/* A backend again on a port it had (the last --listen wins). */
static struct e2e_backend restart_backend(int i, int port)
{
    char name[16], addr[32];
    snprintf(name, sizeof name, "b%d", i);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    const char *const extra[] = {"--listen", addr, NULL};
    return e2e_backend_start_args(name, extra);
}

/* One GET on an open keep-alive connection (reopened when closed); the
 * status, and the index of the backend that answered in *who (-1: none). */
static int get(struct e2e_conn *c, int port, const char *extra_headers, int *who)
{
    char req[512], be[64];
    struct e2e_resp r = {0};
    *who = -1;
    if (c->fd < 0 && !e2e_conn_open(c, port)) return -1;
    snprintf(req, sizeof req, "GET /x HTTP/1.1\r\nHost: app\r\n%s\r\n",
             extra_headers ? extra_headers : "");
    int rc = e2e_send_str(c, req, T_MS) ? e2e_read_response(c, &r, T_MS) : -1;
    int status = rc == 1 ? r.status : -1;
    if (rc == 1 && e2e_resp_header(&r, "X-Backend", be, sizeof be) && be[0] == 'b')
        *who = atoi(be + 1);
    if (rc != 1 || r.conn_close) {
        e2e_conn_close(c);
        c->fd = -1;
    }
    e2e_resp_free(&r);
    return status;
}

/* n requests, counted per backend; every one must be a 200. */
static void tally(int port, int n, const char *extra_headers, int *count)
{
    struct e2e_conn c = {.fd = -1};
    int bad = 0;
    for (int k = 0; k < n; k++) {
        int who, st = get(&c, port, extra_headers, &who);
        if (st != 200 || who < 0 || who >= MAXB) bad++;
        else count[who]++;
    }
    if (c.fd >= 0) e2e_conn_close(&c);
    CHECKF(bad == 0, "%d of %d requests failed", bad, n);
}

/* The backend answering one request carrying `header_line` (e.g. "X-User: 7"). */
static int backend_for(int port, const char *header_line)
{
    struct e2e_conn c = {.fd = -1};
    char h[256];
    int who;
    snprintf(h, sizeof h, "%s\r\n", header_line);
    int st = get(&c, port, h, &who);
    if (c.fd >= 0) e2e_conn_close(&c);
    CHECKF(st == 200, "%s: status %d", header_line, st);
    return who;
}

/* A listening socket that never accepts: connections complete in the
 * kernel's backlog and are never answered (a hung server). */
static int blackhole(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 64) == 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A slow origin: answers every request after delay_ms, keep-alive, one
 * process per connection (forked from a listener process we kill at the end). */
static void slow_serve(int c, int delay_ms)
{
    char buf[4096];
    size_t have = 0;
    static const char resp[] = "HTTP/1.1 200 OK\r\nX-Backend: b7\r\nContent-Length: 5\r\n\r\nslow\n";
    for (;;) {
        ssize_t n = recv(c, buf + have, sizeof buf - have - 1, 0);
        if (n <= 0) _exit(0);
        have += (size_t)n;
        buf[have] = 0;
        char *end;
        while ((end = strstr(buf, "\r\n\r\n")) != NULL) { /* GETs without bodies */
            e2e_sleep_ms(delay_ms);
            if (send(c, resp, sizeof resp - 1, MSG_NOSIGNAL) < 0) _exit(0);
            size_t used = (size_t)(end + 4 - buf);
            memmove(buf, end + 4, have - used + 1);
            have -= used;
        }
        if (have == sizeof buf - 1) _exit(0);
    }
}

static pid_t slow_backend(int *port, int delay_ms)
{
    int fd = blackhole(port);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        signal(SIGCHLD, SIG_IGN); /* connection processes reap themselves */
        for (;;) {
            int c = accept(fd, NULL, NULL);
            if (c < 0) continue;
            if (fork() == 0) slow_serve(c, delay_ms);
            close(c);
        }
    }
    close(fd);
    return pid;
}

static char *needle(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *needle(const char *fmt, ...)
{
    static char buf[4][256];
    static int next;
    char *b = buf[next++ % 4];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, 256, fmt, ap);
    va_end(ap);
    return b;
}

/* ---- distribution per policy ---------------------------------------------- */

E2E_TEST(round_robin_exact, 60)
{
    struct e2e_backend b[4];
    int ports[4], count[MAXB] = {0};
    struct e2e_foyer f;
    start_backends(b, ports, 4);
    start(&f, 1, "", ports, 4, NULL, "lb = \"round_robin\"");
    tally(f.port, 400, NULL, count);
    for (int i = 0; i < 4; i++) CHECKF(count[i] == 100, "b%d: %d of 400", i, count[i]);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
}

E2E_TEST(weighted_exact, 60)
{
    static const char *const w[] = {"weight = 1", "weight = 2", "weight = 3", "weight = 4"};
    struct e2e_backend b[4];
    int ports[4], count[MAXB] = {0};
    struct e2e_foyer f;
    start_backends(b, ports, 4);
    start(&f, 1, "", ports, 4, w, "lb = \"weighted\"");
    tally(f.port, 1000, NULL, count);
    for (int i = 0; i < 4; i++)
        CHECKF(count[i] == 100 * (i + 1), "b%d (weight %d): %d of 1000", i, i + 1, count[i]);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
}

/* Sequential requests tie on in-flight counts: the weights decide, exactly.
 * A request in progress on one endpoint sends the next ones elsewhere. */
E2E_TEST(least_conn, 60)
{
    static const char *const w[] = {"weight = 1", "weight = 3"};
    struct e2e_backend b[2];
    int ports[2], count[MAXB] = {0};
    struct e2e_foyer f;
    start_backends(b, ports, 2);
    start(&f, 1, "", ports, 2, w, "lb = \"least_conn\"");
    tally(f.port, 400, NULL, count);
    CHECKF(count[0] == 100 && count[1] == 300, "b0 %d, b1 %d of 400", count[0], count[1]);

    struct e2e_conn slow;
    REQUIRE(e2e_conn_open(&slow, f.port));
    REQUIRE(e2e_send_str(&slow, "GET /slow/1500 HTTP/1.1\r\nHost: app\r\n\r\n", T_MS));
    /* it is in progress once a backend has it (400 before it) */
    REQUIREF(
        E2E_WAIT_UNTIL(
            e2e_backend_requests(ports[0]) + e2e_backend_requests(ports[1]) >= 401, T_MS),
        "the slow request did not reach a backend");
    int during[MAXB] = {0};
    tally(f.port, 30, NULL, during);
    struct e2e_resp r = {0};
    char be[16] = "";
    REQUIRE(e2e_read_response(&slow, &r, T_MS) == 1);
    e2e_resp_header(&r, "X-Backend", be, sizeof be);
    int busy = atoi(be + 1);
    e2e_resp_free(&r);
    e2e_conn_close(&slow);
    /* b1 (weight 3) with one in flight is 1/3 loaded, b0 idle is 0: all to b0
     * if b1 is busy; if b0 is busy, b1 takes them until it holds 3. Sequential
     * requests never hold more than one, so none goes to the busy one. */
    CHECKF(during[busy] == 0, "busy b%d got %d of 30 while its request ran", busy, during[busy]);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
}

E2E_TEST(random_spread, 60)
{
    struct e2e_backend b[4];
    int ports[4], count[MAXB] = {0};
    struct e2e_foyer f;
    start_backends(b, ports, 4);
    start(&f, 1, "", ports, 4, NULL, "lb = \"random\"");
    tally(f.port, 1000, NULL, count);
    /* binomial(1000, 1/4): sigma 13.7; 70 is over 5 sigma */
    for (int i = 0; i < 4; i++) CHECKF(count[i] > 180 && count[i] < 320, "b%d: %d of 1000", i, count[i]);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
}

/* p2c_ewma: three fast origins and one answering after 40 ms. The slow one
 * is drawn, but loses against any fast one it is compared with. */
E2E_TEST(p2c_avoids_slow, 60)
{
    struct e2e_backend b[3];
    int ports[4], count[MAXB] = {0};
    struct e2e_foyer f;
    start_backends(b, ports, 3);
    pid_t slow = slow_backend(&ports[3], 40);
    start(&f, 1, "", ports, 4, NULL, "lb = \"p2c_ewma\"");
    int64_t t0 = e2e_now_ms();
    tally(f.port, 400, NULL, count);
    e2e_log("p2c: b0 %d b1 %d b2 %d slow %d in %lld ms", count[0], count[1], count[2], count[7],
            (long long)(e2e_now_ms() - t0));
    /* round robin would give it 100; a loaded machine delays the fast ones too */
    CHECKF(count[7] <= 20, "the slow endpoint got %d of 400", count[7]);
    for (int i = 0; i < 3; i++) CHECKF(count[i] >= 40, "b%d: %d of 400", i, count[i]);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
    kill(slow, SIGKILL);
    waitpid(slow, NULL, 0);
}

/* ---- consistent hashing --------------------------------------------------- */

#define USERS 200

/* Keys stay on their endpoint while it is up; when one leaves, only its
 * keys move, and every request is still answered. */
static void hash_stability(const char *policy)
{
    struct e2e_backend b[5];
    int ports[5], before[USERS], moved = 0, foreign = 0, spread[MAXB] = {0};
    struct e2e_foyer f;
    char settings[128], h[64];
    start_backends(b, ports, 5);
    snprintf(settings, sizeof settings, "lb = \"%s\", hash = \"header:x-user\"", policy);
    start(&f, 1, "", ports, 5, NULL, settings);
    for (int u = 0; u < USERS; u++) {
        snprintf(h, sizeof h, "X-User: user-%d", u);
        before[u] = backend_for(f.port, h);
        if (before[u] >= 0) spread[before[u]]++;
    }
    for (int i = 0; i < 5; i++) CHECKF(spread[i] >= 15, "%s: b%d has %d of %d users", policy, i, spread[i], USERS);
    for (int u = 0; u < USERS; u += 7) { /* the same key again: the same endpoint */
        snprintf(h, sizeof h, "X-User: user-%d", u);
        CHECK_INT(backend_for(f.port, h), before[u]);
    }
    e2e_stop(b[2].pid, 2000);
    for (int u = 0; u < USERS; u++) {
        snprintf(h, sizeof h, "X-User: user-%d", u);
        int now = backend_for(f.port, h);
        CHECK(now != 2);
        if (before[u] == 2) moved++;
        else foreign += now != before[u];
    }
    e2e_log("%s: %d keys moved with b2, %d others moved", policy, moved, foreign);
    CHECKF(foreign == 0, "%s: %d keys of the other endpoints moved", policy, foreign);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
}

E2E_TEST(maglev_stability, 90)
{
    hash_stability("maglev");
}

E2E_TEST(ring_hash_stability, 90)
{
    hash_stability("ring_hash");
}

/* The other key sources: a cookie, the route's hash_key, the client address. */
E2E_TEST(hash_sources, 60)
{
    struct e2e_backend b[4];
    int ports[4], count[MAXB] = {0};
    struct e2e_foyer f;
    start_backends(b, ports, 4);
    start(&f, 1, "", ports, 4, NULL, "lb = \"maglev\", hash = \"cookie:sid\"");
    int first = backend_for(f.port, "Cookie: a=1; sid=abc; z=2");
    for (int k = 0; k < 10; k++) CHECK_INT(backend_for(f.port, "Cookie: sid=abc"), first);
    int seen = 0;
    for (int k = 0; k < 40; k++) {
        char h[64];
        snprintf(h, sizeof h, "Cookie: theme=dark; sid=s%d", k);
        int who = backend_for(f.port, h);
        if (who >= 0 && !count[who]++) seen++;
    }
    CHECKF(seen >= 3, "40 sessions on %d endpoints", seen);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);

    start(&f, 1, "", ports, 4, NULL, "lb = \"ring_hash\", hash = \"key\"");
    first = backend_for(f.port, "X-Key: tenant-42");
    for (int k = 0; k < 10; k++) CHECK_INT(backend_for(f.port, "X-Key: tenant-42"), first);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);

    start(&f, 1, "", ports, 4, NULL, "lb = \"maglev\", hash = \"client_ip\"");
    int mine[MAXB] = {0};
    tally(f.port, 20, NULL, mine); /* every request from 127.0.0.1 */
    int used = 0;
    for (int i = 0; i < 4; i++) used += mine[i] > 0;
    CHECK_INT(used, 1);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
}

/* ---- health ------------------------------------------------------------------ */

/* Passive: a stopped backend is ejected after 2 failed connects (the
 * requests themselves are retried on the other one), comes back through
 * its trial request once restarted. */
E2E_TEST(passive_ejection_and_recovery, 60)
{
    struct e2e_backend b[2];
    int ports[2], count[MAXB] = {0};
    struct e2e_foyer f;
    start_backends(b, ports, 2);
    start(&f, 1, "", ports, 2, NULL,
          "lb = \"round_robin\", passive = { failures = 2, eject = 1, max_eject = 8 }");
    tally(f.port, 10, NULL, count);
    CHECK(count[0] == 5 && count[1] == 5);
    e2e_stop(b[1].pid, 2000);
    memset(count, 0, sizeof count);
    tally(f.port, 20, NULL, count); /* none fails: connect errors are retried */
    CHECK_INT(count[0], 20);
    CHECK(e2e_foyer_log_wait(
        &f, needle("endpoint 127.0.0.1:%d ejected for 1 s", ports[1]), T_MS));
    b[1] = restart_backend(1, ports[1]);
    e2e_sleep_ms(2000); /* well past the 1 s ejection: the next pick is its trial */
    memset(count, 0, sizeof count);
    tally(f.port, 20, NULL, count);
    CHECKF(count[1] >= 9, "b1 got %d of 20 after its return", count[1]);
    CHECK(e2e_foyer_log_wait(
        &f, needle("endpoint 127.0.0.1:%d is back in service", ports[1]), T_MS));
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
}

/* Passive: a failed trial ejects again, for twice as long. */
E2E_TEST(passive_backoff, 60)
{
    struct e2e_backend b[2];
    int ports[2], count[MAXB] = {0};
    struct e2e_foyer f;
    start_backends(b, ports, 2);
    start(&f, 1, "", ports, 2, NULL, "lb = \"round_robin\", passive = { failures = 1, eject = 0.5 }");
    e2e_stop(b[1].pid, 2000);
    tally(f.port, 4, NULL, count);
    CHECK(
        e2e_foyer_log_wait(&f, needle("127.0.0.1:%d ejected for 0.5 s", ports[1]), T_MS));
    e2e_sleep_ms(1000); /* past the 0.5 s (longer is fine: no request meanwhile) */
    tally(f.port, 4, NULL, count); /* the trial fails: ejected for 1 s */
    CHECK(e2e_foyer_log_wait(
        &f, needle("127.0.0.1:%d ejected for 1 s (its trial request failed", ports[1]),
        T_MS));
    CHECK_INT(count[0], 8);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
}

/* Active: a hung endpoint (accepts, never answers) is marked down by the
 * checks before any client request is sent to it, so none waits for the
 * read timeout. Two workers, one of which checks: the verdict reaches both,
 * and the origin sees one worker's checks, not two. */
E2E_TEST(active_check_before_any_failure, 60)
{
    struct e2e_backend b[2];
    int ports[2], count[MAXB] = {0};
    struct e2e_foyer f;
    b[0] = e2e_backend_start("b0");
    ports[0] = b[0].port;
    int hole = blackhole(&ports[1]);
    start(&f, 2, "", ports, 2, NULL,
          "lb = \"round_robin\", passive = false, "
          "health_check = { path = \"/health\", interval = 0.2, timeout = 0.3, rise = 1, fall = 1 }");
    REQUIRE(e2e_foyer_log_wait(
        &f,
        needle("endpoint 127.0.0.1:%d is down (health check: no answer within 0.3 s",
               ports[1]),
        T_MS));
    /* A request sent to the hung endpoint (the kernel completes the connect)
     * would wait for the 3 s read timeout: none may take that long. */
    int64_t slowest = 0;
    for (int k = 0; k < 40; k++) { /* fresh connections: both workers */
        struct e2e_conn c = {.fd = -1};
        int64_t t0 = e2e_now_ms();
        int who, st = get(&c, f.port, "Connection: close\r\n", &who);
        int64_t took = e2e_now_ms() - t0;
        slowest = took > slowest ? took : slowest;
        if (c.fd >= 0) e2e_conn_close(&c);
        CHECKF(st == 200 && who == 0, "request %d: status %d from b%d", k, st, who);
        if (who >= 0) count[who]++;
    }
    CHECKF(slowest < 2000, "a request took %lld ms: it waited for the hung endpoint",
           (long long)slowest);

    /* One checker: about 3 s / 0.2 s = 15 checks reach b0 in 3 s, not 30.
     * The checks run every 0.18..0.22 s (jitter) plus their own time, so
     * one checker makes at most one per 0.18 s of the time measured. */
    int64_t t0 = e2e_now_ms();
    long r0 = e2e_backend_requests(ports[0]);
    e2e_sleep_ms(3000);
    long checks = e2e_backend_requests(ports[0]) - r0;
    int64_t span = e2e_now_ms() - t0;
    CHECKF(checks >= 6 && checks <= span / 180 + 2,
           "%ld checks in %lld ms at a 0.2 s interval", checks, (long long)span);
    char *log = e2e_read_file(f.errlog); /* worker 1 stood by: it never had to take over */
    CHECKF(log && !strstr(log, "checks it from now on"), "a standby worker took over:\n%s", log);
    free(log);

    /* It comes back: a real backend on that port, marked up by the checks. */
    close(hole);
    b[1] = restart_backend(1, ports[1]);
    REQUIRE(
        e2e_foyer_log_wait(&f, needle("endpoint 127.0.0.1:%d is up", ports[1]), T_MS));
    memset(count, 0, sizeof count);
    tally(f.port, 20, NULL, count);
    CHECKF(count[1] >= 8, "b1 got %d of 20 once up", count[1]);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
}

/* Backups take no traffic while a primary is up, all of it when none is. */
E2E_TEST(backup_only_when_primaries_down, 60)
{
    static const char *const extra[] = {"", "", "backup = true"};
    struct e2e_backend b[3];
    int ports[3], count[MAXB] = {0};
    struct e2e_foyer f;
    start_backends(b, ports, 3);
    start(&f, 1, "", ports, 3, extra,
          "health_check = { interval = 0.2, timeout = 0.5, rise = 1, fall = 1 }");
    tally(f.port, 60, NULL, count);
    CHECKF(count[2] == 0 && count[0] == 30 && count[1] == 30, "b0 %d b1 %d backup %d", count[0],
           count[1], count[2]);
    e2e_stop(b[0].pid, 2000);
    REQUIRE(
        e2e_foyer_log_wait(&f, needle("endpoint 127.0.0.1:%d is down", ports[0]), T_MS));
    memset(count, 0, sizeof count);
    tally(f.port, 20, NULL, count);
    CHECKF(count[1] == 20, "one primary left: b1 %d backup %d", count[1], count[2]);
    e2e_stop(b[1].pid, 2000);
    REQUIRE(
        e2e_foyer_log_wait(&f, needle("endpoint 127.0.0.1:%d is down", ports[1]), T_MS));
    memset(count, 0, sizeof count);
    tally(f.port, 20, NULL, count);
    CHECK_INT(count[2], 20);
    b[0] = restart_backend(0, ports[0]);
    REQUIRE(
        e2e_foyer_log_wait(&f, needle("endpoint 127.0.0.1:%d is up", ports[0]), T_MS));
    memset(count, 0, sizeof count);
    tally(f.port, 20, NULL, count);
    CHECKF(count[0] == 20, "a primary is back: b0 %d backup %d", count[0], count[2]);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
}

/* Nothing healthy: 503 at once, without trying anything. */
E2E_TEST(all_down_503, 60)
{
    struct e2e_backend b[2];
    int ports[2];
    struct e2e_foyer f;
    struct e2e_resp r = {0};
    start_backends(b, ports, 2);
    start(&f, 1, "", ports, 2, NULL, "health_check = { interval = 0.2, timeout = 0.5, fall = 1 }");
    e2e_stop(b[0].pid, 2000);
    e2e_stop(b[1].pid, 2000);
    REQUIRE(
        e2e_foyer_log_wait(&f, needle("endpoint 127.0.0.1:%d is down", ports[0]), T_MS));
    REQUIRE(
        e2e_foyer_log_wait(&f, needle("endpoint 127.0.0.1:%d is down", ports[1]), T_MS));
    CHECK_INT(e2e_http(f.port, "GET", "app", "/x", NULL, &r, T_MS), 1);
    CHECK_INT(r.status, 503);
    CHECK_STR(r.body, "no healthy endpoint\n");
    e2e_resp_free(&r);
    CHECK(e2e_foyer_log_wait(
        &f, "service app: no healthy endpoint (all 2 down or ejected)", T_MS));
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);

    /* Passive only: the first request finds both refusing (502), which ejects
     * them; a 503 follows at once. (Today foyer reports a refused connect
     * that shows up as readable to no plugin, and does not ask the plugin
     * again after the last endpoint: that last failure is only seen at the
     * next request, so the 503 may come one request later.) */
    start(&f, 1, "", ports, 2, NULL, "passive = { failures = 1, eject = 30 }");
    CHECK_INT(e2e_http(f.port, "GET", "app", "/x", NULL, &r, T_MS), 1);
    CHECK_INT(r.status, 502);
    e2e_resp_free(&r);
    int status = 0, tries = 0;
    while (status != 503 && tries++ < 2) {
        CHECK_INT(e2e_http(f.port, "GET", "app", "/x", NULL, &r, T_MS), 1);
        status = r.status;
        e2e_resp_free(&r);
    }
    CHECKF(status == 503, "no 503 after %d more requests (last %d)", tries, status);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
}

/* retries = 0: a refused connect is not retried elsewhere. */
E2E_TEST(retry_budget, 60)
{
    struct e2e_backend b[2];
    int ports[2], ok = 0, failed = 0;
    struct e2e_foyer f;
    start_backends(b, ports, 2);
    e2e_stop(b[1].pid, 2000);
    start(&f, 1, "", ports, 2, NULL, "lb = \"round_robin\", passive = false, retries = 0");
    for (int k = 0; k < 10; k++) {
        struct e2e_resp r = {0};
        CHECK_INT(e2e_http(f.port, "GET", "app", "/x", NULL, &r, T_MS), 1);
        ok += r.status == 200;
        failed += r.status == 502;
        e2e_resp_free(&r);
    }
    CHECKF(ok == 5 && failed == 5, "%d answered, %d failed of 10", ok, failed);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);

    start(&f, 1, "", ports, 2, NULL, "lb = \"round_robin\", passive = false");
    int count[MAXB] = {0};
    tally(f.port, 10, NULL, count); /* the default: every endpoint once */
    CHECK_INT(count[0], 10);
    CHECK_INT(e2e_foyer_stop(&f, 5000), 0);
}

/* ---- configuration ------------------------------------------------------------- */

/* `foyer -t` on a configuration with these lb settings: exit code, output. */
static int check_conf(const char *plugin_settings, const char *service_settings, char *out,
                      size_t len)
{
    char text[2048];
    snprintf(text, sizeof text,
             "listen \"127.0.0.1:1\"\n"
             "plugin \"lb\" { path = \"%s\"%s%s }\n"
             "service \"app\" { endpoints = { \"127.0.0.1:2\", { address = \"127.0.0.1:3\", weight = 2 } }%s%s }\n"
             "route(function(req) return \"app\" end)\n",
             e2e_plugin_so("lb"), *plugin_settings ? ", " : "", plugin_settings,
             *service_settings ? ", " : "", service_settings);
    const char *path = e2e_path("check.lua");
    REQUIRE(e2e_write_file(path, text));
    char *argv[] = {(char *)e2e_env("FOYER_BIN"), "-t", "-c", (char *)path, NULL};
    return e2e_run(argv, out, len, 5000);
}

E2E_TEST(config_errors, 60)
{
    static const struct {
        const char *plugin, *service, *message;
    } bad[] = {
        {"", "lb = \"fastest\"", "lb: unknown policy 'fastest' (one of round_robin, weighted"},
        {"", "lb = 3", "lb must be a string"},
        {"", "lb = \"round_robin\"", "ignores weights"},
        {"", "hash = \"header:x-user\"", "hash is only used by lb = \"maglev\" or \"ring_hash\""},
        {"", "lb = \"maglev\", hash = \"body\"", "hash: 'body' is not client_ip, key, header:NAME or cookie:NAME"},
        {"", "lb = \"maglev\", hash = \"header:\"", "needs a name"},
        {"", "lb = \"maglev\", hash_balance = 0.5", "hash_balance must be between 1 and 100"},
        {"", "health_check = { pth = \"/\" }", "health_check: unknown key 'pth' (path, host"},
        {"", "health_check = { path = \"health\" }", "health_check.path must start with '/'"},
        {"", "health_check = { interval = \"2s\" }", "health_check.interval must be a number"},
        {"", "health_check = { rise = 1.5 }", "health_check.rise must be a whole number"},
        {"", "health_check = { expect = \"2yz\" }", "health_check.expect: '2yz'"},
        {"", "health_check = { expect = 99 }", "not an HTTP status"},
        {"", "health_check = \"yes\"", "health_check must be a table, true or false"},
        {"", "passive = { failures = 0 }", "passive.failures must be between 1 and"},
        {"", "passive = { eject = 10, max_eject = 5 }", "passive.max_eject (5) is shorter"},
        {"", "passive = { on_5xx = 1 }", "passive.on_5xx must be true or false"},
        {"", "passive = { fails = 3 }", "passive: unknown key 'fails'"},
        {"", "retries = -1", "retries must be between 0 and"},
        {"", "lb_policy = \"maglev\"", "unknown key 'lb_policy'"},
        {"lb = \"fastest\"", "", "unknown policy 'fastest'"},
        {"foo = 1", "", "unknown setting 'foo'"},
    };
    char out[4096];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = check_conf(bad[i].plugin, bad[i].service, out, sizeof out);
        CHECKF(rc == 1 && strstr(out, bad[i].message) != NULL,
               "plugin { %s } service { %s }: exit %d, said: %s (wanted: %s)", bad[i].plugin,
               bad[i].service, rc, out, bad[i].message);
    }
    static const struct {
        const char *plugin, *service;
    } good[] = {
        {"", ""},
        {"lb = \"least_conn\", passive = false", "lb = \"p2c_ewma\""},
        {"health_check = { path = \"/health\" }", "health_check = false"},
        {"", "lb = \"maglev\", hash = \"cookie:sid\", hash_balance = 1.25"},
        {"", "lb = \"ring_hash\", hash = \"key\", retries = 1"},
        {"", "health_check = { path = \"/h\", host = \"app.internal\", interval = 5, "
             "timeout = 2, rise = 3, fall = 2, expect = \"2xx\" }, "
             "passive = { failures = 3, eject = 5, max_eject = 60, on_5xx = true }"},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        int rc = check_conf(good[i].plugin, good[i].service, out, sizeof out);
        CHECKF(rc == 0, "plugin { %s } service { %s }: exit %d, said: %s", good[i].plugin,
               good[i].service, rc, out);
    }
}

int main(void)
{
    static const struct e2e_case cases[] = {
        E2E_CASE(round_robin_exact),
        E2E_CASE(weighted_exact),
        E2E_CASE(least_conn),
        E2E_CASE(random_spread),
        E2E_CASE(p2c_avoids_slow),
        E2E_CASE(maglev_stability),
        E2E_CASE(ring_hash_stability),
        E2E_CASE(hash_sources),
        E2E_CASE(passive_ejection_and_recovery),
        E2E_CASE(passive_backoff),
        E2E_CASE(active_check_before_any_failure),
        E2E_CASE(backup_only_when_primaries_down),
        E2E_CASE(all_down_503),
        E2E_CASE(retry_budget),
        E2E_CASE(config_errors),
    };
    return e2e_run_suite("lb plugin end to end", cases, sizeof cases / sizeof *cases);
}
