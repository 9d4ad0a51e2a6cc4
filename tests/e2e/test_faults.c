/*
 * Fault injection, end to end: upstreams that die mid-response, reset before
 * answering, never answer or answer garbage; clients that reset mid-transfer;
 * a worker out of file descriptors; requests built to eat memory. Each case
 * checks both the answer the client sees and that nothing leaks afterwards
 * (the worker's open fds from /proc/PID/fd, its RSS, the backend's counters).
 *
 * Misbehaving upstreams the test backend cannot play are raw servers forked
 * from the case process (raw_start): the case is their subreaper and its
 * teardown kills them with everything else.
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define T_MS 5000 /* default deadline of one request */

/* ---- raw upstreams ---------------------------------------------------------- */

enum raw_mode {
    RAW_RESET,  /* reads the request (head and Content-Length body), then RST */
    RAW_CANNED, /* GET /r/N: writes canned[N] as is, then closes */
    RAW_MUTE,   /* accepts, never reads, never answers, never closes */
};

struct raw_backend {
    pid_t pid;
    int port;
    int count_fd; /* one byte per accepted connection */
    long accepts;
};

/* Reads a request head (and its Content-Length body) from a blocking socket
 * into buf; returns the head length, 0 on EOF or error. */
static size_t raw_read_request(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    char *end = NULL;
    while (len + 1 < cap) {
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0) return 0;
        len += (size_t)n;
        buf[len] = 0;
        if ((end = strstr(buf, "\r\n\r\n"))) break;
    }
    if (!end) return 0;
    size_t head = (size_t)(end + 4 - buf);
    const char *cl = strcasestr(buf, "\r\ncontent-length:");
    long want = cl && cl < end ? strtol(cl + 17, NULL, 10) : 0;
    long have = (long)(len - head);
    char sink[16384];
    while (have < want) {
        ssize_t n = recv(fd, sink, sizeof(sink), 0);
        if (n <= 0) break;
        have += n;
    }
    return head;
}

static __attribute__((noreturn)) void raw_serve(int lfd, int count_fd, enum raw_mode mode,
                                                const char *const *canned, size_t ncanned)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) continue;
            _exit(1);
        }
        ssize_t w = write(count_fd, "a", 1);
        (void)w;
        if (mode == RAW_MUTE)
            continue; /* the fd stays open, unread, until the process dies */
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        char buf[8192];
        size_t head = raw_read_request(fd, buf, sizeof(buf));
        if (mode == RAW_RESET) {
            struct linger lg = {1, 0}; /* close sends RST */
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
            close(fd);
            continue;
        }
        unsigned idx = 0;
        if (head && sscanf(buf, "%*s /r/%u", &idx) == 1 && idx < ncanned) {
            const char *p = canned[idx];
            size_t n = strlen(p);
            while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
                if (k <= 0) break;
                p += k;
                n -= (size_t)k;
            }
        }
        /* FIN after the bytes, then let the proxy close its side */
        shutdown(fd, SHUT_WR);
        struct timeval shorttv = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &shorttv, sizeof(shorttv));
        while (recv(fd, buf, sizeof(buf), 0) > 0)
            ;
        close(fd);
    }
}

/* Starts a raw upstream on an ephemeral port (canned: NULL-free array). */
static struct raw_backend raw_start(enum raw_mode mode, const char *const *canned,
                                    size_t ncanned)
{
    struct raw_backend rb = {.pid = -1, .port = -1, .count_fd = -1};
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    REQUIRE(lfd >= 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    REQUIRE(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    REQUIRE(listen(lfd, 512) == 0);
    REQUIRE(getsockname(lfd, (struct sockaddr *)&sa, &len) == 0);
    rb.port = ntohs(sa.sin_port);
    int p[2];
    REQUIRE(pipe2(p, O_CLOEXEC) == 0);
    fflush(NULL);
    rb.pid = fork();
    REQUIRE(rb.pid >= 0);
    if (rb.pid == 0) {
        close(p[0]);
        fcntl(p[1], F_SETFL, O_NONBLOCK);
        raw_serve(lfd, p[1], mode, canned, ncanned);
    }
    close(p[1]);
    close(lfd);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    rb.count_fd = p[0];
    return rb;
}

/* Connections the raw upstream accepted so far. */
static long raw_accepts(struct raw_backend *rb)
{
    char tmp[256];
    ssize_t n;
    while ((n = read(rb->count_fd, tmp, sizeof(tmp))) > 0)
        rb->accepts += n;
    return rb->accepts;
}

/* ---- worker observation ----------------------------------------------------- */

static pid_t worker_of(const struct e2e_foyer *f)
{
    pid_t w[4];
    int n = 0;
    for (int i = 0; i < 100 && (n = e2e_foyer_workers(f, w, 4)) < 1; i++)
        e2e_sleep_ms(20);
    REQUIREF(n == 1, "expected one foyer worker, found %d", n);
    return w[0];
}

static int fd_count(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Waits (up to timeout_ms) for the worker's fd count to fall to at most
 * limit; returns the last count seen. */
static int fd_count_settle(pid_t pid, int limit, int timeout_ms)
{
    int64_t deadline = e2e_now_ms() + timeout_ms;
    int n;
    while ((n = fd_count(pid)) > limit && e2e_now_ms() < deadline)
        e2e_sleep_ms(50);
    return n;
}

/* utime + stime of a process, in clock ticks. */
static long cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt
     * cmajflt utime stime */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
                     &st) != 2)
        return -1;
    return (long)(ut + st);
}

/* A fresh blocking socket connected to port, or -1. */
static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) return fd;
    if (fd >= 0) close(fd);
    return -1;
}

/* Closes with RST instead of FIN. */
static void reset_close(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

static void reset_conn(struct e2e_conn *c)
{
    reset_close(c->fd);
    c->fd = -1;
    e2e_conn_close(c);
}

static int status_of(int port, const char *raw)
{
    struct e2e_resp r = {0};
    int rc = e2e_request(port, raw, &r, T_MS);
    int st = rc == 1 ? r.status : -1;
    e2e_resp_free(&r);
    return st;
}

/* ---- cases -------------------------------------------------------------------- */

/* One worker: /r/... to the raw backend on raw_port, the rest to the good one;
 * warmed up by one request. Returns the worker's pid. */
static pid_t start_raw_and_good(struct e2e_foyer *f, int raw_port, int good_port)
{
    e2e_foyer_start(f,
                    "set { workers = 1 }\n"
                    "service \"raw\" { endpoints = { \"127.0.0.1:%d\" } }\n"
                    "service \"good\" { endpoints = { \"127.0.0.1:%d\" } }\n"
                    "route(function(req)\n"
                    "  if req.path:find(\"^/r/\") then return \"raw\" end\n"
                    "  return \"good\"\n"
                    "end)\n",
                    raw_port, good_port);
    pid_t w = worker_of(f);
    CHECK_INT(e2e_get(f->port, "a", "/warm", NULL, 0), 200);
    return w;
}

/* An upstream that dies mid-response: the client gets the head and part of
 * the body, then a closed connection; never a reused connection carrying
 * what is left of the stream. */
E2E_TEST(backend_closes_mid_response, 30)
{
    static char big[2][4096];
    char part[1001];
    memset(part, 'x', 1000);
    part[1000] = 0;
    snprintf(big[0], sizeof(big[0]),
             "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n%s", part);
    snprintf(
        big[1], sizeof(big[1]),
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n%s\r\n3e8\r\nxx",
        part);
    const char *const canned[] = {big[0], big[1]};
    struct raw_backend rb = raw_start(RAW_CANNED, canned, 2);
    struct e2e_backend good = e2e_backend_start("good");
    struct e2e_foyer f;
    pid_t w = start_raw_and_good(&f, rb.port, good.port);
    int fds0 = fd_count(w);

    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < 2; k++) {
            struct e2e_conn c;
            REQUIRE(e2e_conn_open(&c, f.port));
            char req[128];
            snprintf(req, sizeof(req), "GET /r/%d HTTP/1.1\r\nHost: a\r\n\r\n", k);
            REQUIRE(e2e_send_str(&c, req, T_MS));
            struct e2e_resp r = {0};
            int rc = e2e_read_response(&c, &r, T_MS);
            CHECKF(rc == -1, "truncated %s response: read_response gave %d (want -1)",
                   k ? "chunked" : "length", rc);
            CHECK_INT(r.status, 200);
            CHECKF(r.body_total >= 1000 && r.body_total < 100000,
                   "%s: %llu body bytes (1000..99999 expected)", k ? "chunked" : "length",
                   (unsigned long long)r.body_total);
            CHECKF(c.eof, "%s: the client connection was not closed after the truncation",
                   k ? "chunked" : "length");
            e2e_resp_free(&r);
            /* A second request on the same connection must get nothing back. */
            c.eof = false;
            c.pos = c.len = 0;
            e2e_send_str(&c, "GET /size/10 HTTP/1.1\r\nHost: a\r\n\r\n", 500);
            int64_t dl = e2e_now_ms() + 3000;
            while (!c.eof && e2e_now_ms() < dl)
                e2e_recv_some(&c, 0, 200);
            CHECKF(c.eof, "second request on a truncated connection: not closed");
            CHECKF(c.len == 0,
                   "second request on a truncated connection got %zu bytes: %.*s", c.len,
                   (int)(c.len < 60 ? c.len : 60), c.buf);
            e2e_conn_close(&c);
        }
    }
    /* foyer carries on, and nothing stays open. */
    CHECK_INT(e2e_get(f.port, "a", "/after", NULL, 0), 200);
    int fds1 = fd_count_settle(w, fds0 + 1, 5000);
    CHECKF(fds1 <= fds0 + 1, "worker fds %d before, %d after the truncations", fds0,
           fds1);
    CHECKF(raw_accepts(&rb) == 6, "the raw upstream saw %ld connections, want 6",
           rb.accepts);
    e2e_foyer_stop(&f, 5000);
}

/* An upstream that takes the request and resets: a GET (idempotent, no body)
 * is replayed on the next endpoint; a POST is not (502), and the upstream
 * sees it once. */
E2E_TEST(backend_reset_retry_rules, 30)
{
    struct raw_backend rb = raw_start(RAW_RESET, NULL, 0);
    struct e2e_backend good = e2e_backend_start("good");
    struct e2e_foyer f;
    e2e_foyer_start(
        &f,
        "set { workers = 1 }\n"
        "service \"mixed\" { endpoints = { \"127.0.0.1:%d\", \"127.0.0.1:%d\" } }\n"
        "service \"rst\" { endpoints = { \"127.0.0.1:%d\" } }\n"
        "route(function(req)\n"
        "  if req.path:find(\"^/only\") then return \"rst\" end\n"
        "  return \"mixed\"\n"
        "end)\n",
        rb.port, good.port, rb.port);
    /* Every GET succeeds, half of them after a reset on the first endpoint. */
    for (int i = 0; i < 6; i++) {
        char be[64];
        CHECK_INT(e2e_get(f.port, "a", "/x", be, sizeof(be)), 200);
        CHECK_STR(be, "good");
    }
    long resets = raw_accepts(&rb);
    CHECKF(resets >= 3, "the resetting endpoint saw %ld GETs of 6 (round robin: >= 3)",
           resets);
    CHECK_INT(e2e_backend_requests(good.port), 6);

    /* POSTs with a body: one that met the reset is not sent again. */
    int ok = 0, bad = 0;
    long before = raw_accepts(&rb), good_before = e2e_backend_requests(good.port);
    for (int i = 0; i < 4; i++) {
        int st =
            status_of(f.port, "POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                              "Connection: close\r\n\r\nhello");
        ok += st == 200;
        bad += st == 502;
        CHECKF(st == 200 || st == 502, "POST %d answered %d", i, st);
    }
    e2e_sleep_ms(100);
    long hit = raw_accepts(&rb) - before;
    CHECKF(bad == hit && bad >= 1,
           "%d POSTs answered 502, the resetting endpoint saw %ld", bad, hit);
    CHECKF(e2e_backend_requests(good.port) - good_before == ok,
           "the good endpoint got %ld POSTs, %d answered 200 (a retried POST?)",
           e2e_backend_requests(good.port) - good_before, ok);
    /* A body-less POST is not replayed either. */
    before = raw_accepts(&rb);
    CHECK_INT(status_of(f.port, "POST /only HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
                                "Connection: close\r\n\r\n"),
              502);
    e2e_sleep_ms(100);
    CHECK_INT(raw_accepts(&rb) - before, 1);
    /* With no other endpoint, a GET fails after one try: 502. */
    before = raw_accepts(&rb);
    CHECK_INT(e2e_get(f.port, "a", "/only", NULL, 0), 502);
    e2e_sleep_ms(100);
    CHECKF(raw_accepts(&rb) - before <= 2,
           "a GET to a lone resetting endpoint made %ld tries", rb.accepts - before);
    CHECK_INT(e2e_get(f.port, "a", "/x", NULL, 0), 200);
    e2e_foyer_stop(&f, 5000);
}

struct par_result {
    int status;
    int64_t ms;
};

/* n concurrent GETs of target on fresh connections; results in out[]. */
static void parallel_gets(int port, const char *target, int n, struct par_result *out,
                          int timeout_ms)
{
    struct e2e_conn *cs = calloc((size_t)n, sizeof(*cs));
    struct e2e_resp r = {0};
    REQUIRE(cs != NULL);
    char req[256];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
             target);
    int64_t t0 = e2e_now_ms();
    for (int i = 0; i < n; i++) {
        out[i].status = -1;
        if (e2e_conn_open(&cs[i], port)) e2e_send_str(&cs[i], req, T_MS);
    }
    for (int i = 0; i < n; i++) {
        if (cs[i].fd >= 0 && e2e_read_response(&cs[i], &r, timeout_ms) == 1)
            out[i].status = r.status;
        out[i].ms = e2e_now_ms() - t0;
        e2e_resp_free(&r);
        e2e_conn_close(&cs[i]);
    }
    free(cs);
}

/* Upstreams that accept and never answer (the backend's /silent; a raw
 * listener that never even reads): 504 at upstream_read_timeout; the pool
 * recovers and the worker's fds come back to where they were. */
E2E_TEST(silent_backend_504_pool_recovers, 40)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct raw_backend mute = raw_start(RAW_MUTE, NULL, 0);
    struct e2e_foyer f;
    e2e_foyer_start(&f,
                    "set { workers = 1, upstream_read_timeout = 1 }\n"
                    "service \"app\" { endpoints = { \"127.0.0.1:%d\" } }\n"
                    "service \"mute\" { endpoints = { \"127.0.0.1:%d\" } }\n"
                    "route(function(req)\n"
                    "  if req.path == \"/mute\" then return \"mute\" end\n"
                    "  return \"app\"\n"
                    "end)\n",
                    b.port, mute.port);
    pid_t w = worker_of(&f);
    CHECK_INT(e2e_get(f.port, "a", "/warm", NULL, 0), 200);
    int fds0 = fd_count(w);
    struct e2e_backend_stats st0, st1;
    REQUIRE(e2e_backend_stats(b.port, &st0));

    int64_t t0 = e2e_now_ms();
    CHECK_INT(e2e_get(f.port, "a", "/silent", NULL, 0), 504);
    int64_t took = e2e_now_ms() - t0;
    CHECKF(took >= 900 && took < 3500, "504 after %lld ms (upstream_read_timeout = 1 s)",
           (long long)took);
    t0 = e2e_now_ms();
    CHECK_INT(e2e_get(f.port, "a", "/mute", NULL, 0), 504);
    took = e2e_now_ms() - t0;
    CHECKF(took >= 900 && took < 3500, "504 from a mute upstream after %lld ms",
           (long long)took);

    /* Many at once: each 504 in about a second, then normal service. */
    enum { N = 40 };
    struct par_result res[N];
    for (int round = 0; round < 2; round++) {
        parallel_gets(f.port, round ? "/mute" : "/silent", N, res, 8000);
        int n504 = 0;
        int64_t worst = 0;
        for (int i = 0; i < N; i++) {
            n504 += res[i].status == 504;
            worst = res[i].ms > worst ? res[i].ms : worst;
        }
        CHECKF(n504 == N, "%s: %d of %d answered 504", round ? "/mute" : "/silent", n504,
               N);
        CHECKF(worst < 5000, "the slowest 504 took %lld ms", (long long)worst);
    }
    for (int i = 0; i < 20; i++)
        CHECK_INT(e2e_get(f.port, "a", "/size/100", NULL, 0), 200);
    int fds1 = fd_count_settle(w, fds0 + 1, 5000);
    CHECKF(fds1 <= fds0 + 1, "worker fds: %d before, %d after %d timed-out requests",
           fds0, fds1, 2 * N + 2);
    /* The timed-out upstream connections were closed, not pooled (the
     * backend sees the closes when its loop gets to them). */
    E2E_WAIT_UNTIL(e2e_backend_stats(b.port, &st1) && st1.open <= 3, T_MS);
    REQUIRE(e2e_backend_stats(b.port, &st1));
    CHECKF(st1.open <= 3, "the backend still has %ld connections open", st1.open);
    e2e_foyer_stop(&f, 5000);
}

/* Responses foyer must refuse: 502 before any byte reached the client, or a
 * cut connection once the head was sent. */
E2E_TEST(invalid_responses, 40)
{
    static const char *const canned[] = {
        /* 0 */ "HTXP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        /* 1 */ "HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok",
        /* 2 */ "garbage garbage garbage\r\n\r\n",
        /* 3 */
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
        "2\r\nok\r\n0\r\n\r\n",
        /* 4 */ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!",
        /* 5 */ "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nok",
        /* 6 */ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok",
        /* 7 */ "HTTP/1.1 200 OK\r\nNo colon here\r\nContent-Length: 2\r\n\r\nok",
        /* 8 */ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked, identity\r\n\r\nok",
        /* 9 */ "HTTP/1.1 200 OK\r\nX-Bad: a\001b\r\nContent-Length: 2\r\n\r\nok",
        /*10 */ "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
        /*11 */ "\r\n\r\n",
        /*12 */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n",
        /*13 */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
        "chunked\r\n\r\n2\r\nokXX4\r\nabcd\r\n0\r\n\r\n",
        /*14 */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nok",
        /* 15: the decoder must not resynchronise on what follows an error */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
        "chunked\r\n\r\n2\r\nokXX\r\n5\r\nhello\r\n0\r\n\r\n",
    };
    enum { N = sizeof(canned) / sizeof(canned[0]), FIRST_BODY_ERROR = 12 };
    struct raw_backend rb = raw_start(RAW_CANNED, canned, N);
    struct e2e_backend good = e2e_backend_start("good");
    struct e2e_foyer f;
    pid_t w = start_raw_and_good(&f, rb.port, good.port);
    int fds0 = fd_count(w);
    for (int i = 0; i < N; i++) {
        struct e2e_conn c;
        REQUIRE(e2e_conn_open(&c, f.port));
        char req[128];
        snprintf(req, sizeof(req), "GET /r/%d HTTP/1.1\r\nHost: a\r\n\r\n", i);
        REQUIRE(e2e_send_str(&c, req, T_MS));
        struct e2e_resp r = {0};
        int rc = e2e_read_response(&c, &r, T_MS);
        if (i < FIRST_BODY_ERROR) {
            CHECKF(rc == 1 && r.status == 502,
                   "invalid head %d: rc %d status %d (want 502)", i, rc, r.status);
        } else {
            /* the head was valid and went out: the body's error cuts the connection */
            bool cut = rc != 1 && e2e_wait_closed(&c, 3000);
            CHECKF((rc == 1 && r.status == 502) || cut,
                   "invalid body %d: rc %d status %d, connection %s", i, rc, r.status,
                   c.eof ? "closed" : "open");
            CHECKF(rc != 1 || r.status != 200,
                   "invalid chunked body %d reached the client as a complete 200 (body "
                   "\"%.40s\")",
                   i, r.body ? r.body : "");
        }
        e2e_resp_free(&r);
        e2e_conn_close(&c);
        /* and the next request is fine */
        CHECKF(e2e_get(f.port, "a", "/next", NULL, 0) == 200, "request after case %d", i);
    }
    CHECKF(raw_accepts(&rb) <= N,
           "invalid responses were retried: %ld upstream connections for %d", rb.accepts,
           (int)N);
    int fds1 = fd_count_settle(w, fds0 + 1, 5000);
    CHECKF(fds1 <= fds0 + 1, "worker fds %d before, %d after", fds0, fds1);
    e2e_foyer_stop(&f, 5000);
}

/* Clients that vanish (RST) halfway through an upload or a download: the
 * upstream connection goes with them and no fd is left behind. */
E2E_TEST(client_resets_mid_transfer, 60)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "", b.port);
    pid_t w = worker_of(&f);
    CHECK_INT(e2e_get(f.port, "a", "/warm", NULL, 0), 200);
    int fds0 = fd_count(w);
    struct e2e_backend_stats st0, st1;
    REQUIRE(e2e_backend_stats(b.port, &st0));

    enum { N = 50, BATCH = 10 };
    long reqs0 = st0.requests;
    static char chunk[65536];
    memset(chunk, 'u', sizeof(chunk));
    for (int base = 0; base < N; base += BATCH) {
        struct e2e_conn up[BATCH], down[BATCH];
        for (int i = 0; i < BATCH; i++) {
            REQUIRE(e2e_conn_open(&up[i], f.port));
            REQUIRE(e2e_send_str(&up[i],
                                 "POST /sink HTTP/1.1\r\nHost: a\r\n"
                                 "Content-Length: 100000000\r\n\r\n",
                                 T_MS));
            REQUIRE(e2e_send(&up[i], chunk, sizeof(chunk), T_MS));
            REQUIRE(e2e_conn_open(&down[i], f.port));
            REQUIRE(e2e_send_str(
                &down[i], "GET /size/100000000 HTTP/1.1\r\nHost: a\r\n\r\n", T_MS));
        }
        /* the downloads are flowing, the uploads reached the upstream */
        for (int i = 0; i < BATCH; i++) {
            size_t got = 0;
            while (got < 200000 && e2e_recv_some(&down[i], 0, T_MS)) {
                got += down[i].len - down[i].pos;
                down[i].pos = down[i].len = 0;
            }
            CHECKF(got >= 200000, "download %d: only %zu bytes", base + i, got);
        }
        CHECKF(e2e_backend_wait_requests(b.port, reqs0 + 2 * (base + BATCH), T_MS),
               "the uploads of batch %d did not all reach the upstream", base / BATCH);
        for (int i = 0; i < BATCH; i++) {
            reset_conn(&up[i]);
            reset_conn(&down[i]);
        }
    }
    int fds1 = fd_count_settle(w, fds0 + 1, 5000);
    CHECKF(fds1 <= fds0 + 1, "worker fds: %d before, %d after %d reset clients", fds0,
           fds1, 2 * N);
    /* upstream connections of the dead exchanges were closed, not pooled */
    int64_t deadline = e2e_now_ms() + 5000;
    do {
        e2e_sleep_ms(100);
        REQUIRE(e2e_backend_stats(b.port, &st1));
    } while (st1.open > st0.open + 1 && e2e_now_ms() < deadline);
    CHECKF(st1.open <= st0.open + 1, "backend connections open: %ld before, %ld after",
           st0.open, st1.open);
    CHECKF(st1.conns - st0.conns >= 2 * N,
           "the resets reached only %ld upstream connections", st1.conns - st0.conns);
    CHECK_INT(e2e_get(f.port, "a", "/size/1000", NULL, 0), 200);
    long rss = e2e_foyer_rss_kb(&f);
    e2e_log("worker RSS after %d reset transfers: %ld KiB", 2 * N, rss);
    e2e_foyer_stop(&f, 5000);
}

/* Opens n connections that each send a partial head (so that they are
 * accepted despite TCP_DEFER_ACCEPT and then held); returns how many opened. */
static int open_holders(int port, int *fds, int n)
{
    int k = 0;
    for (; k < n; k++) {
        fds[k] = connect_to(port);
        if (fds[k] < 0) break;
        if (send(fds[k], "GET / HTTP/1.1\r\n", 16, MSG_NOSIGNAL) != 16) {
            close(fds[k]);
            break;
        }
    }
    return k;
}

/* A request on an already connected socket; returns the status or -1. */
static int request_on(int fd, const char *raw, int timeout_ms)
{
    struct e2e_conn c = {0};
    struct e2e_resp r = {0};
    c.fd = fd;
    c.cap = 65536;
    c.buf = malloc(c.cap);
    int st = -1;
    if (c.buf && e2e_send_str(&c, raw, timeout_ms) &&
        e2e_read_response(&c, &r, timeout_ms) == 1)
        st = r.status;
    e2e_resp_free(&r);
    free(c.buf);
    return st;
}

/* The worker runs out of file descriptors: accepting pauses without a busy
 * loop, connections already in are served, and new ones are taken again once
 * descriptors are free, whether freed by clients leaving or by upstream
 * connections closing. */
E2E_TEST(fd_limit_accept_pause, 60)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "client_header_timeout = 30", b.port);
    pid_t w = worker_of(&f);
    CHECK_INT(e2e_get(f.port, "a", "/warm", NULL, 0), 200);
    int fds0 = fd_count(w);
    REQUIRE(fds0 > 0);
    /* Room for 40 more descriptors in the worker. */
    enum { ROOM = 40, HOLD = 80 };
    struct rlimit rl = {(rlim_t)(fds0 + ROOM), (rlim_t)(fds0 + ROOM)};
    REQUIREF(prlimit(w, RLIMIT_NOFILE, &rl, NULL) == 0, "prlimit: %s", strerror(errno));

    int hold[HOLD];
    int n = open_holders(f.port, hold, HOLD);
    REQUIREF(n == HOLD,
             "only %d of %d connections opened (the kernel backlog holds them)", n, HOLD);
    int64_t deadline = e2e_now_ms() + 5000;
    while (fd_count(w) < fds0 + ROOM && e2e_now_ms() < deadline)
        e2e_sleep_ms(20);
    CHECKF(fd_count(w) >= fds0 + ROOM - 2, "worker fds %d, limit %d", fd_count(w),
           fds0 + ROOM);
    CHECK(e2e_foyer_log_wait(&f, "accept:", T_MS));

    /* Paused, not spinning: the worker's CPU over 2 s stays small. */
    long t0 = cpu_ticks(w);
    e2e_sleep_ms(2000);
    long used = cpu_ticks(w) - t0;
    long hz = sysconf(_SC_CLK_TCK);
    CHECKF(used * 1000 / hz < 200,
           "the worker used %ld ms of CPU in 2 s while out of fds", used * 1000 / hz);

    /* A held connection finishes its request: it needs an upstream fd, which
     * is not there. It gets an answer (502/503) or a close, never a hang. */
    int64_t t = e2e_now_ms();
    int st = request_on(hold[0], "Host: a\r\nConnection: close\r\n\r\n", 8000);
    e2e_log("request of a held connection while out of fds: %d", st);
    CHECKF(st == 200 || st >= 500 || e2e_now_ms() - t < 7000,
           "a held connection's request while out of fds hung (%d)", st);
    close(hold[0]);
    hold[0] = -1;

    /* Clients leave: the backlog is taken, and a new client is served. */
    for (int i = 1; i < 61; i++) {
        close(hold[i]);
        hold[i] = -1;
    }
    t = e2e_now_ms();
    int got = -1;
    while (got != 200 && e2e_now_ms() - t < 10000) {
        got = e2e_get(f.port, "a", "/size/10", NULL, 0);
        if (got != 200) e2e_sleep_ms(100);
    }
    CHECKF(got == 200, "after clients left: no 200 within 10 s (last %d)", got);
    for (int i = 61; i < HOLD; i++)
        if (hold[i] >= 0) close(hold[i]);
    int fds1 = fd_count_settle(w, fds0 + 2, 5000);
    CHECKF(fds1 <= fds0 + 2, "worker fds %d at the start, %d after", fds0, fds1);

    /* Out of fds because of upstream connections, with the clients staying on
     * keep-alive: once the upstream connections close, accepting resumes
     * without waiting for a client to leave. */
    enum { K = ROOM / 2 - 2 };
    int ka[K];
    long reqs0 = e2e_backend_requests(b.port);
    for (int i = 0; i < K; i++) {
        ka[i] = connect_to(f.port);
        REQUIRE(ka[i] >= 0);
        const char *slow = "GET /slow/1500 HTTP/1.1\r\nHost: a\r\n"
                           "X-Backend-Response-Header: Connection: close\r\n\r\n";
        REQUIRE(send(ka[i], slow, strlen(slow), MSG_NOSIGNAL) == (ssize_t)strlen(slow));
    }
    /* the slow requests hold their upstream fds once the backend has them */
    REQUIREF(e2e_backend_wait_requests(b.port, reqs0 + K, T_MS),
             "the %d slow requests did not all reach the backend", (int)K);
    int extra[8];
    int ne = open_holders(f.port, extra, 8); /* beyond the limit: EMFILE, pause */
    REQUIRE(ne == 8);
    CHECKF(E2E_WAIT_UNTIL(fd_count(w) >= fds0 + ROOM - 2, T_MS),
           "worker fds %d, limit %d: not out of fds", fd_count(w), fds0 + ROOM);
    for (int i = 0; i < K; i++) {
        int s = request_on(ka[i], "", 8000); /* reads the slow answer; stays open */
        CHECKF(s == 200, "keep-alive client %d: slow request answered %d", i, s);
    }
    /* Upstreams closed (Connection: close): fds are free, clients still open. */
    e2e_log("worker fds after the slow answers: %d (limit %d)", fd_count(w), fds0 + ROOM);
    t = e2e_now_ms();
    int s2 = request_on(extra[ne - 1], "Host: a\r\nConnection: close\r\n\r\n", 10000);
    int64_t waited = e2e_now_ms() - t;
    CHECKF(s2 == 200 && waited < 5000,
           "a connection queued while fds ran out got %d after %lld ms, with %d fds free "
           "(accepting stays paused until a client connection closes)",
           s2, (long long)waited, fds0 + ROOM - fd_count(w));
    for (int i = 0; i < K; i++)
        close(ka[i]);
    for (int i = 0; i < ne; i++)
        close(extra[i]);
    e2e_foyer_stop(&f, 5000);
}

/* Requests built to make foyer allocate: over-long heads, too many fields,
 * bodies past max_body_bytes. Refused with 414/431/413, and the worker's RSS
 * does not grow with their number. */
E2E_TEST(memory_hungry_requests, 60)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(
        &f, "max_header_bytes = 8192, max_headers = 50, max_body_bytes = 100000", b.port);
    pid_t w = worker_of(&f);
    CHECK_INT(e2e_get(f.port, "a", "/warm", NULL, 0), 200);

    static char big_field[40000], many[8000], long_line[40000];
    snprintf(big_field, sizeof(big_field), "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
    size_t l = strlen(big_field);
    memset(big_field + l, 'b', 30000);
    strcpy(big_field + l + 30000, "\r\n\r\n");
    l = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 200; i++)
        l += (size_t)snprintf(many + l, sizeof(many) - l, "X-H%d: v\r\n", i);
    snprintf(many + l, sizeof(many) - l, "\r\n");
    l = (size_t)snprintf(long_line, sizeof(long_line), "GET /");
    memset(long_line + l, 'p', 30000);
    strcpy(long_line + l + 30000, " HTTP/1.1\r\nHost: a\r\n\r\n");
    const char *too_long_body =
        "POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n";

    CHECK_INT(status_of(f.port, big_field), 431);
    CHECK_INT(status_of(f.port, many), 431);
    CHECK_INT(status_of(f.port, long_line), 414);
    CHECK_INT(status_of(f.port, too_long_body), 413);

    /* A chunked body that grows past the limit: 413 or a cut connection. */
    {
        struct e2e_conn c;
        REQUIRE(e2e_conn_open(&c, f.port));
        REQUIRE(e2e_send_str(&c,
                             "POST /sink HTTP/1.1\r\nHost: a\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n",
                             T_MS));
        static char blk[8192 + 16];
        int hl = snprintf(blk, sizeof(blk), "2000\r\n");
        memset(blk + hl, 'c', 8192);
        memcpy(blk + hl + 8192, "\r\n", 2);
        size_t sent = 0;
        for (int i = 0; i < 40; i++) { /* 320 KiB */
            if (!e2e_send(&c, blk, (size_t)hl + 8194, 2000)) break;
            sent += 8192;
        }
        struct e2e_resp r = {0};
        int rc = e2e_read_response(&c, &r, T_MS);
        CHECKF((rc == 1 && r.status == 413) || c.eof,
               "chunked body over max_body_bytes (%zu sent): rc %d status %d", sent, rc,
               r.status);
        e2e_resp_free(&r);
        e2e_conn_close(&c);
    }

    /* Warm up the allocator with a round of each, then measure. */
    const char *kinds[] = {big_field, many, long_line, too_long_body};
    for (int i = 0; i < 20; i++)
        status_of(f.port, kinds[i % 4]);
    long rss0 = e2e_rss_kb(w);
    enum { ROUNDS = 400, PAR = 20 };
    int wrong = 0;
    for (int i = 0; i < ROUNDS; i += PAR) {
        /* PAR requests in flight at once, as a client flood would have them */
        struct e2e_conn cs[PAR];
        for (int k = 0; k < PAR; k++) {
            if (!e2e_conn_open(&cs[k], f.port)) continue;
            e2e_send_str(&cs[k], kinds[(i + k) % 4], T_MS);
        }
        for (int k = 0; k < PAR; k++) {
            struct e2e_resp r = {0};
            int want = ((i + k) % 4) == 2 ? 414 : ((i + k) % 4) == 3 ? 413 : 431;
            if (cs[k].fd < 0 || e2e_read_response(&cs[k], &r, T_MS) != 1 ||
                r.status != want)
                wrong++;
            e2e_resp_free(&r);
            e2e_conn_close(&cs[k]);
        }
    }
    CHECKF(wrong == 0, "%d of %d oversized requests not refused with the right status",
           wrong, ROUNDS);
    long rss1 = e2e_rss_kb(w);
    long limit = E2E_ASAN ? 16384 : 2048;
    e2e_log("worker RSS: %ld KiB before, %ld KiB after %d oversized requests", rss0, rss1,
            ROUNDS);
    CHECKF(rss1 - rss0 < limit, "worker RSS grew by %ld KiB over %d oversized requests",
           rss1 - rss0, ROUNDS);
    CHECK_INT(e2e_get(f.port, "a", "/size/100", NULL, 0), 200);
    e2e_foyer_stop(&f, 5000);
}

int main(void)
{
    static const struct e2e_case cases[] = {
        E2E_CASE(backend_closes_mid_response),      E2E_CASE(backend_reset_retry_rules),
        E2E_CASE(silent_backend_504_pool_recovers), E2E_CASE(invalid_responses),
        E2E_CASE(client_resets_mid_transfer),       E2E_CASE(fd_limit_accept_pause),
        E2E_CASE(memory_hungry_requests),
    };
    return e2e_run_suite("e2e-faults", cases, sizeof(cases) / sizeof(cases[0]));
}
