/*
 * Large bodies through foyer with bounded memory: 100 MiB up (Content-Length
 * and chunked), 100 MiB down (Content-Length and chunked), and a slow reader.
 * foyer must stream with backpressure: its workers' RSS is sampled during
 * each transfer and may grow by a bounded amount only, far less than the
 * body, so a proxy that buffers whole bodies fails.
 */
#include "harness.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define BIG (100ULL * 1024 * 1024)
#define RSS_GROWTH_MAX_KB (64 * 1024)
#define SLOW_BODY (20ULL * 1024 * 1024)
#define SLOW_GROWTH_MAX_KB (8 * 1024)
#define SAMPLE_EVERY (2ULL * 1024 * 1024)

struct rss_watch {
    const struct e2e_foyer *f;
    long base_kb, max_kb;
    uint64_t next_sample;
    int slow_sleep_ms; /* slow reader: pause after every read */
};

static void rss_start(struct rss_watch *w, const struct e2e_foyer *f)
{
    memset(w, 0, sizeof(*w));
    w->f = f;
    w->base_kb = w->max_kb = e2e_foyer_rss_kb(f);
}

static void rss_sample(struct rss_watch *w)
{
    long kb = e2e_foyer_rss_kb(w->f);
    if (kb > w->max_kb)
        w->max_kb = kb;
}

/* Progress callback of e2e_read_response: samples RSS, maybe sleeps. */
static void on_progress(void *arg, uint64_t bytes)
{
    struct rss_watch *w = arg;
    if (bytes >= w->next_sample) {
        rss_sample(w);
        w->next_sample = bytes + SAMPLE_EVERY;
    }
    if (w->slow_sleep_ms)
        e2e_sleep_ms(w->slow_sleep_ms);
}

static void rss_check(const struct rss_watch *w, long limit_kb, const char *what)
{
    long growth = w->max_kb - w->base_kb;
    pid_t workers[64];
    int nw = e2e_children(w->f->pid, workers, 64);
    e2e_log("%s: foyer RSS (%d worker(s)) %ld KiB -> max %ld KiB (+%ld KiB)", what, nw,
            w->base_kb, w->max_kb, growth);
    CHECKF(w->base_kb > 0, "%s: could not read foyer's RSS", what);
    CHECKF(growth < limit_kb, "%s: foyer RSS grew by %ld KiB (limit %ld KiB)", what, growth,
           limit_kb);
}

/* Starts backend + foyer and warms foyer up so the baseline RSS is steady. */
static void setup(struct e2e_foyer *f, struct e2e_backend *b)
{
    *b = e2e_backend_start("app");
    e2e_foyer_start_simple(f, "", b->port);
    for (int i = 0; i < 3; i++)
        CHECK_INT(e2e_get(f->port, "a.example", "/size/65536", NULL, 0), 200);
}

/* Deterministic incompressible bytes. */
static void fill_block(char *p, size_t n, uint64_t *state)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t x = *state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *state = x;
        memcpy(p + i, &x, 8);
    }
}

/* Uploads BIG bytes to /sink, chunked or with a length, checks the digest. */
static void upload(bool chunked)
{
    struct e2e_backend b;
    struct e2e_foyer f;
    setup(&f, &b);
    struct rss_watch w;
    rss_start(&w, &f);
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, f.port));
    char head[256];
    if (chunked)
        snprintf(head, sizeof(head),
                 "POST /sink HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    else
        snprintf(head, sizeof(head), "PUT /sink HTTP/1.1\r\nHost: a\r\nContent-Length: %llu\r\n\r\n",
                 (unsigned long long)BIG);
    REQUIRE(e2e_send_str(&c, head, 5000));
    static char block[65536 + 16];
    uint64_t state = 88172645463325252ULL, h = E2E_FNV_INIT;
    for (uint64_t sent = 0; sent < BIG; sent += 65536) {
        size_t off = 0, len = 65536;
        if (chunked) { /* "10000\r\n" + data + "\r\n" */
            memcpy(block, "10000\r\n", 7);
            off = 7;
        }
        fill_block(block + off, 65536, &state);
        h = e2e_fnv1a(h, block + off, 65536);
        if (chunked) {
            memcpy(block + off + len, "\r\n", 2);
            len += 2;
        }
        REQUIREF(e2e_send(&c, block, off + len, 20000), "upload stalled at %llu bytes",
                 (unsigned long long)sent);
        if (sent % SAMPLE_EVERY == 0)
            rss_sample(&w);
    }
    if (chunked)
        REQUIRE(e2e_send_str(&c, "0\r\n\r\n", 5000));
    struct e2e_resp r = {0};
    REQUIRE(e2e_read_response(&c, &r, 30000) == 1);
    CHECK_INT(r.status, 200);
    char want[80];
    snprintf(want, sizeof(want), "bytes=%llu sha=%016llx\n", (unsigned long long)BIG,
             (unsigned long long)h);
    CHECK_STR(r.body, want);
    rss_check(&w, RSS_GROWTH_MAX_KB, chunked ? "chunked upload" : "upload");
    e2e_resp_free(&r);
    e2e_conn_close(&c);
    e2e_foyer_stop(&f, 5000);
}

/* Downloads from target, expecting n pattern bytes. */
static void download(const char *target, uint64_t n, int slow_ms, long limit_kb, int rcvbuf)
{
    struct e2e_backend b;
    struct e2e_foyer f;
    setup(&f, &b);
    struct rss_watch w;
    rss_start(&w, &f);
    w.slow_sleep_ms = slow_ms;
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, f.port));
    if (rcvbuf) /* a small window makes the slowness reach foyer quickly */
        setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    char req[256];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", target);
    REQUIRE(e2e_send_str(&c, req, 5000));
    struct e2e_resp r = {.progress = on_progress, .progress_arg = &w, .body_keep = 1,
                         .recv_max = slow_ms ? 64 * 1024 : 0};
    REQUIREF(e2e_read_response(&c, &r, 100000) == 1, "download of %s failed after %llu bytes",
             target, (unsigned long long)r.body_total);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.body_total, n);
    CHECKF(r.body_fnv == e2e_pattern_fnv(n), "body of %s corrupted", target);
    rss_check(&w, limit_kb, target);
    e2e_resp_free(&r);
    e2e_conn_close(&c);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(upload_100mib_length, 180)
{
    upload(false);
}

E2E_TEST(upload_100mib_chunked, 180)
{
    upload(true);
}

E2E_TEST(download_100mib_length, 180)
{
    download("/size/104857600", BIG, 0, RSS_GROWTH_MAX_KB, 0);
}

E2E_TEST(download_100mib_chunked, 180)
{
    download("/chunked/104857600", BIG, 0, RSS_GROWTH_MAX_KB, 0);
}

/* 20 MiB read at about 6 MB/s through a small receive window, from a backend
 * that could send it in milliseconds: foyer has to push back on the backend
 * instead of holding the difference. */
E2E_TEST(slow_reader, 120)
{
    download("/size/20971520", SLOW_BODY, 10, SLOW_GROWTH_MAX_KB, 16384);
}

int main(void)
{
    static const struct e2e_case cases[] = {
        E2E_CASE(upload_100mib_length),   E2E_CASE(upload_100mib_chunked),
        E2E_CASE(download_100mib_length), E2E_CASE(download_100mib_chunked),
        E2E_CASE(slow_reader),
    };
    return e2e_run_suite("e2e-bodies", cases, sizeof(cases) / sizeof(cases[0]));
}
