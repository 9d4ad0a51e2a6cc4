/* plugins/lb/health_active.c: rise/fall counting, the status line, the
 * request; and real checks over loopback on a small fake of the worker's
 * loop (the api->timer_start / io_watch a plugin gets), against a server in
 * this process that answers a chosen status, refuses, or never answers. */
#include "lb.h"
#include "test_lb_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- the pure parts ---- */

static void rise_and_fall(void)
{
    struct lb_check_conf c = {.rise = 2, .fall = 3};
    struct lb_check_count n = {0};
    int down = 0;
    CHECK_INT(lb_check_count(&n, &c, down, 0), LB_CHECK_SAME);
    CHECK_INT(lb_check_count(&n, &c, down, 0), LB_CHECK_SAME);
    CHECK_INT(lb_check_count(&n, &c, down, 1), LB_CHECK_SAME); /* breaks the run */
    CHECK_INT(lb_check_count(&n, &c, down, 0), LB_CHECK_SAME);
    CHECK_INT(lb_check_count(&n, &c, down, 0), LB_CHECK_SAME);
    CHECK_INT(lb_check_count(&n, &c, down, 0), LB_CHECK_DOWN);
    down = 1;
    CHECK_INT(lb_check_count(&n, &c, down, 0), LB_CHECK_SAME);
    CHECK_INT(lb_check_count(&n, &c, down, 1), LB_CHECK_SAME);
    CHECK_INT(lb_check_count(&n, &c, down, 1), LB_CHECK_UP);
}

static void status_line(void)
{
    CHECK_INT(lb_check_status("HTTP/1.1 200 OK\r\n", 17), 200);
    CHECK_INT(lb_check_status("HTTP/1.0 503 x", 14), 503);
    CHECK_INT(lb_check_status("HTTP/1.1 20", 11), 0);
    CHECK_INT(lb_check_status("HTT", 3), 0);
    CHECK_INT(lb_check_status("", 0), 0);
    CHECK_INT(lb_check_status("SSH-2.0-OpenSSH", 15), -1);
    CHECK_INT(lb_check_status("HTTP/1.1 2x0 OK", 15), -1);
    CHECK_INT(lb_check_status("HTTP/1.1 099 OK", 15), -1);
    CHECK_INT(lb_check_status("HTTP/2 200 OK", 13), -1);
}

static void request(void)
{
    struct lb_check_conf c = {.path = "/health?full=1"};
    char buf[600];
    size_t n = lb_check_request(buf, sizeof buf, &c, "app");
    CHECK(n == strlen(buf));
    CHECK(strncmp(buf, "GET /health?full=1 HTTP/1.1\r\nHost: app\r\n", 40) == 0);
    CHECK(strstr(buf, "Connection: close\r\n\r\n") != NULL);
    snprintf(c.host, sizeof c.host, "status.example");
    lb_check_request(buf, sizeof buf, &c, "app");
    CHECK(strstr(buf, "\r\nHost: status.example\r\n") != NULL);
    CHECK_INT(lb_check_request(buf, 20, &c, "app"), 0);
}

/* ---- a fake worker loop ---- */

struct foyer_timer {
    double at;
    void (*cb)(void *);
    void *arg;
    int live;
};

struct foyer_io {
    int fd, writable;
    void (*cb)(int, void *);
    void *arg;
    int live;
};

#define MAXW 32
static struct foyer_timer timers[MAXW];
static struct foyer_io ios[MAXW];
static char logged[4096];

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static foyer_timer_t *f_timer_start(double after, double repeat, void (*cb)(void *), void *arg)
{
    for (int i = 0; i < MAXW; i++)
        if (!timers[i].live) {
            timers[i] = (struct foyer_timer){mono() + after, cb, arg, 1};
            return &timers[i];
        }
    return NULL;
}

static void f_timer_stop(foyer_timer_t *t)
{
    t->live = 0;
}

static foyer_io_t *f_io_watch(int fd, int writable, void (*cb)(int, void *), void *arg)
{
    for (int i = 0; i < MAXW; i++)
        if (!ios[i].live) {
            ios[i] = (struct foyer_io){fd, writable, cb, arg, 1};
            return &ios[i];
        }
    return NULL;
}

static void f_io_stop(foyer_io_t *io)
{
    io->live = 0;
}

static double f_now(void)
{
    return mono();
}

static void f_log(const char *plugin, int level, const char *fmt, ...)
{
    va_list ap;
    size_t used = strlen(logged);
    va_start(ap, fmt);
    vsnprintf(logged + used, sizeof logged - used, fmt, ap);
    va_end(ap);
    used = strlen(logged);
    if (used + 1 < sizeof logged) strcat(logged, "\n");
}

static const struct foyer_api api = {
    .size = sizeof api,
    .log = f_log,
    .timer_start = f_timer_start,
    .timer_stop = f_timer_stop,
    .io_watch = f_io_watch,
    .io_stop = f_io_stop,
    .now = f_now,
};

/* ---- the checked server: answers `status` to each connection (0: never
 * accepts, so connections hang in the backlog) ---- */

static int server_fd = -1, server_status;

static int server_open(int status)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    server_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CU_ASSERT_FATAL(bind(server_fd, (struct sockaddr *)&a, sizeof a) == 0);
    CU_ASSERT_FATAL(listen(server_fd, 16) == 0);
    getsockname(server_fd, (struct sockaddr *)&a, &len);
    server_status = status;
    return ntohs(a.sin_port);
}

static void server_serve(void)
{
    int c = accept(server_fd, NULL, NULL);
    if (c < 0) return;
    char buf[1024], resp[128];
    ssize_t n = recv(c, buf, sizeof buf, 0); /* the check's request: one small write */
    int len = snprintf(resp, sizeof resp, "HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n",
                       server_status);
    if (n > 0) (void)!send(c, resp, (size_t)len, MSG_NOSIGNAL);
    close(c);
}

/* Runs the fake loop for `seconds`. */
static void run_for(double seconds)
{
    double end = mono() + seconds;
    while (mono() < end) {
        struct pollfd pf[MAXW + 1];
        int map[MAXW + 1], n = 0;
        double wake = end;
        for (int i = 0; i < MAXW; i++) {
            if (timers[i].live && timers[i].at < wake) wake = timers[i].at;
            if (!ios[i].live) continue;
            pf[n] = (struct pollfd){ios[i].fd, ios[i].writable ? POLLOUT : POLLIN, 0};
            map[n++] = i;
        }
        if (server_fd >= 0 && server_status) {
            pf[n] = (struct pollfd){server_fd, POLLIN, 0};
            map[n++] = -1;
        }
        double wait = wake - mono();
        poll(pf, (nfds_t)n, wait > 0 ? (int)(wait * 1000) + 1 : 0);
        for (int k = 0; k < n; k++) {
            if (!pf[k].revents) continue;
            if (map[k] < 0) server_serve();
            else if (ios[map[k]].live) ios[map[k]].cb(ios[map[k]].fd, ios[map[k]].arg);
        }
        for (int i = 0; i < MAXW; i++)
            if (timers[i].live && timers[i].at <= mono()) timers[i].cb(timers[i].arg);
    }
}

struct checked {
    struct lb_service svc;
    struct lb_endpoint ep;
    struct lb_probe *probe;
};

/* Runs the fake loop until the endpoint is down (or up), for max_seconds at
 * most: the checks are real and take real time, which a loaded machine
 * stretches; a fixed run would race it. */
static bool run_until(struct checked *c, bool down, double max_seconds)
{
    double end = mono() + max_seconds;
    while (!!lb_slot_down(c->ep.health) != down && mono() < end)
        run_for(0.01);
    return !!lb_slot_down(c->ep.health) == down;
}

static void check_start_mode(struct checked *c, int port, int expect, unsigned rise,
                             unsigned fall, int standby)
{
    memset(c, 0, sizeof *c);
    memset(timers, 0, sizeof timers);
    memset(ios, 0, sizeof ios);
    logged[0] = 0;
    struct sockaddr_in *a = (struct sockaddr_in *)&c->ep.addr;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->ep.addrlen = sizeof *a;
    c->ep.name = "127.0.0.1:test";
    c->ep.health = &c->ep.local;
    c->svc.name = "app";
    c->svc.set.check = (struct lb_check_conf){.enabled = 1, .path = "/health", .interval = 0.05,
                                              .timeout = 0.1, .rise = rise, .fall = fall,
                                              .expect_lo = expect, .expect_hi = expect};
    c->probe = lb_probe_start(&api, &c->svc, &c->ep, 42, standby);
    CU_ASSERT_FATAL(c->probe != NULL);
}

static void check_start(struct checked *c, int port, int expect, unsigned rise, unsigned fall)
{
    check_start_mode(c, port, expect, rise, fall, 0);
}

static void check_stop(struct checked *c)
{
    lb_probe_stop(c->probe);
    if (server_fd >= 0) close(server_fd);
    server_fd = -1;
    for (int i = 0; i < MAXW; i++) {
        CHECKF(!timers[i].live, "timer %d left running", i);
        CHECKF(!ios[i].live, "watcher %d left running", i);
    }
}

static void healthy_stays_up(void)
{
    struct checked c;
    check_start(&c, server_open(200), 200, 1, 1);
    run_for(0.5);
    CHECK(!lb_slot_down(c.ep.health));
    CHECKF(logged[0] == 0, "logged: %s", logged);
    check_stop(&c);
}

static void wrong_status_goes_down_then_up(void)
{
    struct checked c;
    check_start(&c, server_open(503), 200, 2, 2);
    CHECK(run_until(&c, true, 5));
    CHECKF(strstr(logged, "endpoint 127.0.0.1:test is down (health check: status 503, "
                          "expected 200; 2 failures in a row)") != NULL,
           "logged: %s", logged);
    server_status = 200;
    CHECK(run_until(&c, false, 5));
    CHECKF(strstr(logged, "is up (health check passed 2 times in a row)") != NULL, "logged: %s",
           logged);
    check_stop(&c);
}

static void refused_goes_down(void)
{
    struct checked c;
    int port = server_open(200);
    close(server_fd); /* nobody listens there now */
    server_fd = -1;
    check_start(&c, port, 200, 1, 1);
    CHECK(run_until(&c, true, 5));
    CHECKF(strstr(logged, "connect: Connection refused") != NULL, "logged: %s", logged);
    check_stop(&c);
}

/* Accepted by the kernel, never answered: the check's timeout decides. */
static void silent_goes_down(void)
{
    struct checked c;
    check_start(&c, server_open(0), 200, 1, 1);
    CHECK(run_until(&c, true, 5));
    CHECKF(strstr(logged, "no answer within 0.1 s") != NULL, "logged: %s", logged);
    check_stop(&c);
}

/* Standby: nothing while the checking worker keeps publishing results; it
 * takes over (and says so) once they stop: 3 intervals + timeout + 1 s. */
static void standby_takes_over(void)
{
    struct checked c;
    check_start_mode(&c, server_open(503), 200, 1, 1, 1);
    for (int i = 0; i < 16; i++) { /* 1.6 s of another worker's fresh results */
        lb_slot_checked(c.ep.health, mono());
        run_for(0.1);
    }
    CHECK(!lb_slot_down(c.ep.health));
    CHECKF(logged[0] == 0, "logged: %s", logged);
    /* silence: it takes over (after about 1.3 s), checks, finds the 503 */
    CHECK(run_until(&c, true, 6));
    CHECKF(strstr(logged, "no health check result for 1 s from the checking worker; this "
                          "worker checks it from now on") != NULL, "logged: %s", logged);
    check_stop(&c);
}

static const struct lb_test tests[] = {
    LB_TEST(rise_and_fall),
    LB_TEST(status_line),
    LB_TEST(request),
    LB_TEST(healthy_stays_up),
    LB_TEST(wrong_status_goes_down_then_up),
    LB_TEST(refused_goes_down),
    LB_TEST(silent_goes_down),
    LB_TEST(standby_takes_over),
};
LB_TEST_MAIN("lb active health", tests)
