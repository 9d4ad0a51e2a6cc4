/* core/transport.c: the plain TCP transport (read, writev, shutdown, close),
 * exercised on a Unix socketpair: the calls are the same. */
#include "transport.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

static const struct foyer_transport *tp = &foyer_transport_tcp;

static void test_name(void)
{
    CHECK_STR(tp->name, "tcp");
    CHECK(tp->read && tp->writev && tp->shutdown && tp->close);
}

static void test_writev_one_and_many(void)
{
    int fds[2];
    unit_socketpair(fds);
    struct iovec one = {"single", 6};
    CHECK_INT(tp->writev(NULL, fds[0], &one, 1), 6);
    struct iovec many[3] = {{"a", 1}, {"bc", 2}, {"def", 3}};
    CHECK_INT(tp->writev(NULL, fds[0], many, 3), 6);
    char buf[32];
    CHECK_INT(tp->read(NULL, fds[1], buf, sizeof buf), 12);
    CHECK(memcmp(buf, "singleabcdef", 12) == 0);
    tp->close(NULL, fds[0]);
    tp->close(NULL, fds[1]);
}

static void test_read_would_block(void)
{
    int fds[2];
    char buf[8];
    unit_socketpair(fds);
    errno = 0;
    CHECK_INT(tp->read(NULL, fds[1], buf, sizeof buf), -1);
    CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
    tp->close(NULL, fds[0]);
    tp->close(NULL, fds[1]);
}

static void test_shutdown_sends_eof(void)
{
    int fds[2];
    char buf[8];
    unit_socketpair(fds);
    struct iovec v = {"last", 4};
    CHECK_INT(tp->writev(NULL, fds[0], &v, 1), 4);
    CHECK_INT(tp->shutdown(NULL, fds[0]), 0);
    CHECK_INT(tp->read(NULL, fds[1], buf, sizeof buf), 4);
    CHECK_INT(tp->read(NULL, fds[1], buf, sizeof buf), 0); /* EOF */
    /* the other direction still works */
    CHECK_INT(tp->writev(NULL, fds[1], &v, 1), 4);
    CHECK_INT(tp->read(NULL, fds[0], buf, sizeof buf), 4);
    tp->close(NULL, fds[0]);
    tp->close(NULL, fds[1]);
}

static void test_write_to_closed_peer(void)
{
    int fds[2];
    unit_socketpair(fds);
    tp->close(NULL, fds[1]);
    struct iovec v = {"x", 1};
    errno = 0;
    CHECK_INT(tp->writev(NULL, fds[0], &v, 1), -1); /* no SIGPIPE */
    CHECK_INT(errno, EPIPE);
    struct iovec two[2] = {{"x", 1}, {"y", 1}};
    errno = 0;
    CHECK_INT(tp->writev(NULL, fds[0], two, 2), -1);
    CHECK_INT(errno, EPIPE);
    tp->close(NULL, fds[0]);
}

static void test_close_releases_fd(void)
{
    int fds[2];
    unit_socketpair(fds);
    tp->close(NULL, fds[0]);
    errno = 0;
    CHECK_INT(fcntl(fds[0], F_GETFD), -1);
    CHECK_INT(errno, EBADF);
    tp->close(NULL, fds[1]);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_name),
    UNIT_TEST(test_writev_one_and_many),
    UNIT_TEST(test_read_would_block),
    UNIT_TEST(test_shutdown_sends_eof),
    UNIT_TEST(test_write_to_closed_peer),
    UNIT_TEST(test_close_releases_fd),
};
UNIT_MAIN("transport", tests)
