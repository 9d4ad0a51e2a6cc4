/* core/outq.c: queued byte ranges flushed through a transport. Real sockets
 * (a Unix socketpair through foyer_transport_tcp), so short writes and a full
 * socket happen for real. */
#include "outq.h"
#include "transport.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

struct pair {
    int w, r; /* the queue writes to w; the test reads from r */
};

static void pair_open(struct pair *p, int sndbuf)
{
    int fds[2];
    unit_socketpair(fds);
    p->w = fds[0];
    p->r = fds[1];
    if (sndbuf) setsockopt(p->w, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
}

static void pair_close(struct pair *p)
{
    if (p->w >= 0) close(p->w);
    if (p->r >= 0) close(p->r);
}

/* Reads what is waiting on r (up to cap - *len bytes) into out. */
static void drain(int fd, char *out, size_t cap, size_t *len)
{
    ssize_t n;
    while (*len < cap && (n = read(fd, out + *len, cap - *len)) > 0)
        *len += (size_t)n;
}

static int flush(struct foyer_outq *q, const struct pair *p, size_t *written)
{
    return foyer_outq_flush(q, &foyer_transport_tcp, NULL, p->w, written);
}

static void test_init_is_empty(void)
{
    struct foyer_outq q;
    foyer_outq_init(&q);
    CHECK(foyer_outq_empty(&q));
    CHECK_INT(q.bytes, 0);
    CHECK(foyer_outq_has_room(&q));
}

static void test_add_and_flush(void)
{
    struct pair p;
    struct foyer_outq q;
    pair_open(&p, 0);
    foyer_outq_init(&q);
    foyer_outq_add(&q, "HTTP/1.1 200 OK\r\n", 17);
    foyer_outq_add(&q, "", 0); /* ignored */
    foyer_outq_add(&q, "Content-Length: 2\r\n\r\n", 21);
    foyer_outq_add(&q, "hi", 2);
    CHECK_INT(q.n, 3);
    CHECK_INT(q.bytes, 40);
    CHECK(!foyer_outq_empty(&q));
    size_t written = 0;
    CHECK_INT(flush(&q, &p, &written), 0);
    CHECK_INT(written, 40);
    CHECK(foyer_outq_empty(&q));
    CHECK_INT(q.bytes, 0);
    char got[64];
    size_t len = 0;
    drain(p.r, got, sizeof got, &len);
    CHECK(len == 40 &&
          memcmp(got, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", 40) == 0);
    pair_close(&p);
}

static void test_flush_empty(void)
{
    struct pair p;
    struct foyer_outq q;
    pair_open(&p, 0);
    foyer_outq_init(&q);
    size_t written = 0;
    CHECK_INT(flush(&q, &p, &written), 0);
    CHECK_INT(written, 0);
    CHECK_INT(foyer_outq_flush(&q, &foyer_transport_tcp, NULL, p.w, NULL), 0);
    pair_close(&p);
}

static void test_add_chunk(void)
{
    static char big[300];
    struct pair p;
    struct foyer_outq q;
    memset(big, 'b', sizeof big);
    pair_open(&p, 0);
    foyer_outq_init(&q);
    foyer_outq_add_chunk(&q, "hello", 5);
    foyer_outq_add_chunk(&q, "", 0); /* an empty chunk would end the body: ignored */
    foyer_outq_add_chunk(&q, big, 255);
    CHECK_INT(q.nlines, 2);
    CHECK_INT(q.bytes, 3 + 5 + 2 + 4 + 255 + 2);
    foyer_outq_add(&q, "0\r\n\r\n", 5);
    CHECK_INT(flush(&q, &p, NULL), 0);
    char got[400], want[400];
    size_t len = 0;
    drain(p.r, got, sizeof got, &len);
    int n = snprintf(want, sizeof want, "5\r\nhello\r\nff\r\n%.255s\r\n0\r\n\r\n", big);
    CHECK(len == (size_t)n && memcmp(got, want, len) == 0);
    pair_close(&p);
}

static void test_has_room(void)
{
    struct foyer_outq q;
    foyer_outq_init(&q);
    int chunks = 0;
    while (foyer_outq_has_room(&q)) {
        foyer_outq_add_chunk(&q, "x", 1);
        REQUIRE(++chunks <= FOYER_OUTQ_MAX);
    }
    CHECKF(chunks >= 8, "room for several chunks (got %d)", chunks);
    CHECK(q.first + q.n <= FOYER_OUTQ_MAX);
    /* plain ranges use the same slots */
    foyer_outq_init(&q);
    for (int i = 0; i < FOYER_OUTQ_MAX - 2; i++)
        foyer_outq_add(&q, "y", 1);
    CHECK(!foyer_outq_has_room(&q));
}

static void test_refill_after_flush(void)
{
    struct pair p;
    struct foyer_outq q;
    pair_open(&p, 0);
    foyer_outq_init(&q);
    for (int round = 0; round < 3; round++) {
        int chunks = 0;
        while (foyer_outq_has_room(&q)) {
            foyer_outq_add_chunk(&q, "abc", 3);
            chunks++;
        }
        CHECK(chunks > 0);
        CHECK_INT(flush(&q, &p, NULL), 0);
        CHECK(foyer_outq_empty(&q) && foyer_outq_has_room(&q));
        char sink[4096];
        size_t len = 0;
        drain(p.r, sink, sizeof sink, &len);
        CHECK_INT(len, (size_t)chunks * 8);
    }
    pair_close(&p);
}

/* A queue bigger than the socket takes: flush reports a full socket, keeps
 * the rest in order, and finishes once the reader has drained. */
static void test_backpressure_keeps_order(void)
{
    enum { PART = 64 * 1024, PARTS = 16 };
    static char src[PART * PARTS], got[PART * PARTS];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (char)(i * 7 + i / 251);
    struct pair p;
    struct foyer_outq q;
    pair_open(&p, 4096);
    foyer_outq_init(&q);
    for (int i = 0; i < PARTS; i++)
        foyer_outq_add(&q, src + (size_t)i * PART, PART);
    size_t written = 0, len = 0;
    int r, fulls = 0;
    while ((r = flush(&q, &p, &written)) == 1) {
        fulls++;
        CHECK_INT(q.bytes, sizeof src - written);
        drain(p.r, got, sizeof got, &len);
        REQUIRE(fulls < 100000);
    }
    CHECK_INT(r, 0);
    CHECK(fulls > 0);
    CHECK_INT(written, sizeof src);
    drain(p.r, got, sizeof got, &len);
    CHECK_INT(len, sizeof src);
    CHECK(memcmp(got, src, sizeof src) == 0);
    pair_close(&p);
}

static void test_peer_gone(void)
{
    struct pair p;
    struct foyer_outq q;
    pair_open(&p, 0);
    close(p.r);
    p.r = -1;
    foyer_outq_init(&q);
    foyer_outq_add(&q, "lost", 4);
    errno = 0;
    CHECK_INT(flush(&q, &p, NULL), -1); /* EPIPE, and no SIGPIPE kills the test */
    CHECK_INT(errno, EPIPE);
    CHECK(!foyer_outq_empty(&q));
    pair_close(&p);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_init_is_empty),
    UNIT_TEST(test_add_and_flush),
    UNIT_TEST(test_flush_empty),
    UNIT_TEST(test_add_chunk),
    UNIT_TEST(test_has_room),
    UNIT_TEST(test_refill_after_flush),
    UNIT_TEST(test_backpressure_keeps_order),
    UNIT_TEST(test_peer_gone),
};
UNIT_MAIN("outq", tests)
