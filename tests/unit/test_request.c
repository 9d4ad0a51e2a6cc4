/* core/request.c: the request as the routing layer reads it. */
#include "request.h"
#include "unit.h"

static union foyer_sockaddr client;

/* Parses text (which must be accepted) into r; free m afterwards. */
static int make(struct unit_msg *m, struct foyer_request *r, const char *text)
{
    int st = unit_request(m, text);
    unit_make_request(r, m, &client, 80);
    return CHECKF(st == 0, "request accepted (got %d)", st);
}

static const char *header(struct foyer_request *r, const char *name, size_t *len)
{
    return foyer_request_header(r, name, strlen(name), len);
}

static void test_header_single(void)
{
    struct unit_msg m;
    struct foyer_request r;
    if (make(&m, &r, "GET / HTTP/1.1\r\nHost: a\r\nX-Token: abc def\r\n\r\n")) {
        size_t len = 0;
        const char *v = header(&r, "X-Token", &len);
        CHECK(v != NULL && len == 7 && memcmp(v, "abc def", 7) == 0);
        CHECK(v == m.head.headers[1].value.p); /* no copy for a single field */
        v = header(&r, "x-token", &len);
        CHECK(v != NULL && len == 7);
        v = header(&r, "X-TOKEN", &len);
        CHECK(v != NULL && len == 7);
        CHECK(header(&r, "X-Tok", &len) == NULL);
        CHECK(header(&r, "X-Token-2", &len) == NULL);
        CHECK(header(&r, "Absent", &len) == NULL);
    }
    unit_msg_free(&m);
}

static void test_header_repeated_joined(void)
{
    struct unit_msg m;
    struct foyer_request r;
    if (make(&m, &r,
             "GET / HTTP/1.1\r\nAccept: text/html\r\nHost: a\r\naccept: text/plain\r\n"
             "X: 1\r\nACCEPT:  */*;q=0.1 \r\n\r\n")) {
        size_t len = 0;
        const char *v = header(&r, "Accept", &len);
        CHECK_FSTR(((struct foyer_str){v, len}), "text/html, text/plain, */*;q=0.1");
        v = header(&r, "x", &len);
        CHECK_FSTR(((struct foyer_str){v, len}), "1");
    }
    unit_msg_free(&m);
}

static void test_header_empty_value(void)
{
    struct unit_msg m;
    struct foyer_request r;
    if (make(&m, &r, "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n")) {
        size_t len = 99;
        const char *v = header(&r, "X-Empty", &len);
        CHECK(v != NULL); /* present, though empty: not the same as absent */
        CHECK_INT(len, 0);
    }
    unit_msg_free(&m);
}

static void check_host(const char *text, const char *want)
{
    struct unit_msg m;
    struct foyer_request r;
    if (make(&m, &r, text)) {
        const char *h = foyer_request_host(&r);
        CHECK_STR(h, want);
        CHECK(foyer_request_host(&r) == h); /* made once */
    }
    unit_msg_free(&m);
}

static void test_host(void)
{
    check_host("GET / HTTP/1.1\r\nHost: vincentpizza.com\r\n\r\n", "vincentpizza.com");
    check_host("GET / HTTP/1.1\r\nHost: VincentPizza.COM\r\n\r\n", "vincentpizza.com");
    check_host("GET / HTTP/1.1\r\nHost: vincentpizza.com:8080\r\n\r\n",
               "vincentpizza.com");
    check_host("GET / HTTP/1.1\r\nHost: vincentpizza.com.\r\n\r\n", "vincentpizza.com");
    check_host("GET / HTTP/1.1\r\nHost: VincentPizza.com.:8080\r\n\r\n",
               "vincentpizza.com");
    check_host("GET / HTTP/1.1\r\nHost: [2001:DB8::1]:8080\r\n\r\n", "[2001:db8::1]");
    check_host("GET / HTTP/1.1\r\nHost: 192.0.2.1\r\n\r\n", "192.0.2.1");
    check_host("GET http://Menu.Example:81/x HTTP/1.1\r\nHost: other\r\n\r\n",
               "menu.example");
    check_host("GET / HTTP/1.0\r\n\r\n", "");
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_header_single),
    UNIT_TEST(test_header_repeated_joined),
    UNIT_TEST(test_header_empty_value),
    UNIT_TEST(test_host),
};
UNIT_MAIN("request", tests)
