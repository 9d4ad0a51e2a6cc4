/* core/listener.c: opening listening sockets (the accept loop itself is
 * covered end to end in tests/e2e). */
#include "config.h"
#include "listener.h"
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <unistd.h>

static void listen_at(struct foyer_listen *l, const char *text)
{
    const char *err;
    memset(l, 0, sizeof *l);
    REQUIRE(foyer_addr_parse(text, &l->addr, &l->addrlen, &err) == 0);
    foyer_addr_format(&l->addr, l->text, sizeof l->text);
}

static int sockopt(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof v;
    if (getsockopt(fd, level, name, &v, &len) != 0) return -1;
    return v;
}

static unsigned bound_port(int fd)
{
    union foyer_sockaddr a;
    socklen_t len = sizeof a;
    REQUIRE(getsockname(fd, &a.sa, &len) == 0);
    return ntohs(a.sa.sa_family == AF_INET6 ? a.sin6.sin6_port : a.sin.sin_port);
}

static void test_open_ipv4(void)
{
    struct foyer_listen l;
    char err[256] = "";
    listen_at(&l, "127.0.0.1:0");
    int fd = foyer_listener_open(&l, err, sizeof err);
    if (!CHECKF(fd >= 0, "listening (error: %s)", err)) return;
    CHECK_INT(sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
    CHECK_INT(sockopt(fd, SOL_SOCKET, SO_REUSEPORT), 1);
    CHECK(sockopt(fd, IPPROTO_TCP, TCP_NODELAY) > 0);
    CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
    CHECK(bound_port(fd) > 0);
    close(fd);
}

static void test_reuseport_shares_a_port(void)
{
    /* one socket per worker on the same address */
    struct foyer_listen l;
    char err[256] = "", text[64];
    listen_at(&l, "127.0.0.1:0");
    int a = foyer_listener_open(&l, err, sizeof err);
    REQUIRE(a >= 0);
    snprintf(text, sizeof text, "127.0.0.1:%u", bound_port(a));
    listen_at(&l, text);
    int b = foyer_listener_open(&l, err, sizeof err);
    CHECKF(b >= 0, "second socket on %s (error: %s)", text, err);
    if (b >= 0) close(b);
    close(a);
}

static void test_open_ipv6_only(void)
{
    struct foyer_listen l;
    char err[256] = "";
    listen_at(&l, "[::1]:0");
    int fd = foyer_listener_open(&l, err, sizeof err);
    if (fd < 0) {
        CHECKF(strstr(err, "[::1]:0") != NULL,
               "no IPv6 here, and the error says where (%s)", err);
        return;
    }
    CHECK_INT(sockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY), 1);
    close(fd);
}

static void test_bind_error_names_address(void)
{
    struct foyer_listen l;
    char err[256] = "";
    listen_at(&l, "192.0.2.1:8080"); /* TEST-NET-1: not an address of this host */
    int fd = foyer_listener_open(&l, err, sizeof err);
    CHECK_INT(fd, -1);
    CHECKF(strstr(err, "192.0.2.1:8080") != NULL, "error names the address (got \"%s\")",
           err);
    if (fd >= 0) close(fd);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_open_ipv4),
    UNIT_TEST(test_reuseport_shares_a_port),
    UNIT_TEST(test_open_ipv6_only),
    UNIT_TEST(test_bind_error_names_address),
};
UNIT_MAIN("listener", tests)
