/* core/addr.c: config addresses ("127.0.0.1:8080", "[::1]:8080"). */
#include "addr.h"
#include "unit.h"

#include <arpa/inet.h>

/* Parses text, which must succeed, and checks its canonical form. */
static void check_good(const char *text, int family, unsigned port, const char *formatted)
{
    union foyer_sockaddr a;
    socklen_t len = 0;
    const char *err = NULL;
    if (!CHECKF(foyer_addr_parse(text, &a, &len, &err) == 0, "\"%s\" parses (error: %s)",
                text, err ? err : "none"))
        return;
    CHECKF(a.sa.sa_family == family, "\"%s\": family %d", text, family);
    socklen_t want_len = family == AF_INET6 ? sizeof a.sin6 : sizeof a.sin;
    CHECKF(len == want_len, "\"%s\": length %u (got %u)", text, want_len, len);
    unsigned got_port = ntohs(family == AF_INET6 ? a.sin6.sin6_port : a.sin.sin_port);
    CHECKF(got_port == port, "\"%s\": port %u (got %u)", text, port, got_port);
    char out[80];
    foyer_addr_format(&a, out, sizeof out);
    CHECKF(strcmp(out, formatted) == 0, "\"%s\" formats as \"%s\" (got \"%s\")", text,
           formatted, out);
}

static void test_ipv4(void)
{
    check_good("127.0.0.1:8080", AF_INET, 8080, "127.0.0.1:8080");
    check_good("0.0.0.0:1", AF_INET, 1, "0.0.0.0:1");
    check_good("10.1.2.3:65535", AF_INET, 65535, "10.1.2.3:65535");
    check_good("192.0.2.1:00080", AF_INET, 80, "192.0.2.1:80");
}

static void test_ipv4_shorthands(void)
{
    check_good("*:8080", AF_INET, 8080, "0.0.0.0:8080");
    check_good(":8080", AF_INET, 8080, "0.0.0.0:8080");
    check_good("localhost:80", AF_INET, 80, "127.0.0.1:80");
}

static void test_ipv6(void)
{
    check_good("[::1]:8080", AF_INET6, 8080, "[::1]:8080");
    check_good("[::]:443", AF_INET6, 443, "[::]:443");
    check_good("[2001:db8::a:1]:9000", AF_INET6, 9000, "[2001:db8::a:1]:9000");
    check_good("[2001:DB8:0:0:0:0:0:1]:1", AF_INET6, 1, "[2001:db8::1]:1");
}

static void test_rejected(void)
{
    static const char *const bad[] = {
        "",
        "127.0.0.1",
        "127.0.0.1:",
        "127.0.0.1:65536",
        "127.0.0.1:99999",
        "127.0.0.1:8o",
        "127.0.0.1:+80",
        "127.0.0.1:-1",
        "127.0.0.1:80 ",
        "127.0.0.1: 80",
        "256.0.0.1:80",
        "1.2.3:80",
        "example.com:80",
        "::1:80",
        "[::1]",
        "[::1]:",
        "[::1]80",
        "[::1:80",
        "[zz::1]:80",
        "[127.0.0.1]:80",
        "[::1]:123456",
        "127.0.0.1:8080x",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        union foyer_sockaddr a;
        socklen_t len;
        const char *err = NULL;
        int r = foyer_addr_parse(bad[i], &a, &len, &err);
        CHECKF(r == -1, "\"%s\" is rejected", bad[i]);
        CHECKF(r != -1 || (err != NULL && *err != '\0'), "\"%s\": rejection has a reason",
               bad[i]);
    }
}

static void test_host(void)
{
    union foyer_sockaddr a;
    socklen_t len;
    const char *err;
    char out[64];
    REQUIRE(foyer_addr_parse("192.0.2.9:5000", &a, &len, &err) == 0);
    foyer_addr_host(&a, out, sizeof out);
    CHECK_STR(out, "192.0.2.9");
    REQUIRE(foyer_addr_parse("[2001:db8::9]:5000", &a, &len, &err) == 0);
    foyer_addr_host(&a, out, sizeof out);
    CHECK_STR(out, "2001:db8::9");
    /* a v4-mapped peer (dual-stack listener) is shown as the IPv4 client it is */
    REQUIRE(foyer_addr_parse("[::ffff:192.0.2.9]:5000", &a, &len, &err) == 0);
    foyer_addr_host(&a, out, sizeof out);
    CHECK_STR(out, "192.0.2.9");
}

static void test_host_unknown_family(void)
{
    union foyer_sockaddr a;
    char out[64];
    memset(&a, 0, sizeof a);
    a.sa.sa_family = AF_UNIX;
    foyer_addr_host(&a, out, sizeof out);
    CHECK_STR(out, "-");
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_ipv4), UNIT_TEST(test_ipv4_shorthands),
    UNIT_TEST(test_ipv6), UNIT_TEST(test_rejected),
    UNIT_TEST(test_host), UNIT_TEST(test_host_unknown_family),
};
UNIT_MAIN("addr", tests)
