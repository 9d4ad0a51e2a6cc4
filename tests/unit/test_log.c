/* core/log.c: the error log (level-prefixed lines journald understands) and
 * the buffered access log. Both are pointed at temporary files. */
#include "log.h"
#include "unit.h"

#include <stdio.h>
#include <unistd.h>

static char text[256 * 1024];

static void read_log(const char *path)
{
    CHECK(unit_read_file(path, text, sizeof text) >= 0);
}

static void test_error_log_lines(void)
{
    char path[64], want[128];
    unit_temp_file("", path, sizeof path);
    REQUIRE(foyer_log_open_error(path) == 0);
    foyer_log_level = FOYER_LOG_INFO;
    foyer_err("pizza %d burnt", 3);
    foyer_warn("oven hot");
    foyer_info("open");
    foyer_debug("not shown at info level");
    read_log(path);
    snprintf(want, sizeof want, "<3>foyer[%d]: error: pizza 3 burnt\n", (int)getpid());
    CHECKF(strstr(text, want) != NULL, "log has \"%s\" (got \"%s\")", want, text);
    snprintf(want, sizeof want, "<4>foyer[%d]: warn: oven hot\n", (int)getpid());
    CHECKF(strstr(text, want) != NULL, "log has \"%s\"", want);
    snprintf(want, sizeof want, "<6>foyer[%d]: info: open\n", (int)getpid());
    CHECKF(strstr(text, want) != NULL, "log has \"%s\"", want);
    CHECK(strstr(text, "not shown") == NULL);

    foyer_log_level = FOYER_LOG_DEBUG;
    foyer_debug("now shown");
    foyer_log_level = FOYER_LOG_ERR;
    foyer_warn("quiet");
    foyer_log_level = FOYER_LOG_INFO;
    read_log(path);
    CHECK(strstr(text, "<7>") != NULL && strstr(text, "debug: now shown\n") != NULL);
    CHECK(strstr(text, "quiet") == NULL);
    unlink(path);
}

static void test_error_log_long_line(void)
{
    static char big[5000];
    char path[64];
    memset(big, 'x', sizeof big - 1);
    unit_temp_file("", path, sizeof path);
    REQUIRE(foyer_log_open_error(path) == 0);
    foyer_err("%s", big);
    foyer_err("after");
    long n = unit_read_file(path, text, sizeof text);
    char *nl = strchr(text, '\n');
    CHECK(n > 0 && nl != NULL);
    CHECKF(nl != NULL && nl - text < 2048, "one line, truncated (length %ld)",
           nl ? (long)(nl - text) : -1L);
    CHECK(nl != NULL && strstr(nl + 1, "error: after\n") != NULL);
    unlink(path);
}

static void test_error_log_bad_path(void)
{
    char path[64];
    unit_temp_file("", path, sizeof path);
    REQUIRE(foyer_log_open_error(path) == 0);
    CHECK_INT(foyer_log_open_error("/nonexistent/dir/error.log"), -1);
    read_log(path); /* the failure is reported where errors still go */
    CHECK(strstr(text, "/nonexistent/dir/error.log") != NULL);
    CHECK_INT(foyer_log_open_error(NULL), 0);
    CHECK_INT(foyer_log_open_error("stderr"), 0);
    unlink(path);
}

static void test_access_log_buffered(void)
{
    char path[64];
    unit_temp_file("", path, sizeof path);
    CHECK(!foyer_access_enabled());
    foyer_access_write("dropped\n", 8); /* off: nothing happens */
    REQUIRE(foyer_access_open(path) == 0);
    CHECK(foyer_access_enabled());
    foyer_access_write("line one\n", 9);
    foyer_access_write("line two\n", 9);
    read_log(path);
    CHECK_STR(text, ""); /* still buffered: no write per request */
    foyer_access_flush();
    read_log(path);
    CHECK_STR(text, "line one\nline two\n");
    foyer_access_write("line three\n", 11);
    foyer_access_close();
    CHECK(!foyer_access_enabled());
    read_log(path);
    CHECK_STR(text, "line one\nline two\nline three\n");
    foyer_access_close(); /* twice is fine */
    unlink(path);
}

static void test_access_log_fills_and_flushes(void)
{
    char path[64], line[101];
    unit_temp_file("", path, sizeof path);
    REQUIRE(foyer_access_open(path) == 0);
    memset(line, 'a', 99);
    line[99] = '\n';
    for (int i = 0; i < 2000; i++)
        foyer_access_write(line, 100); /* 200000 bytes */
    long n = unit_read_file(path, text, sizeof text);
    CHECKF(n > 0 && n < 200000 && n % 100 == 0,
           "whole lines flushed as the buffer filled "
           "(%ld bytes)",
           n);
    foyer_access_close();
    n = unit_read_file(path, text, sizeof text);
    CHECK_INT(n, 200000);
    unlink(path);
}

static void test_access_log_open_null_and_bad(void)
{
    CHECK_INT(foyer_access_open(NULL), 0);
    CHECK(!foyer_access_enabled());
    CHECK_INT(foyer_access_open("/nonexistent/dir/access.log"), -1);
    CHECK(!foyer_access_enabled());
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_error_log_lines),
    UNIT_TEST(test_error_log_long_line),
    UNIT_TEST(test_error_log_bad_path),
    UNIT_TEST(test_access_log_buffered),
    UNIT_TEST(test_access_log_fills_and_flushes),
    UNIT_TEST(test_access_log_open_null_and_bad),
};
UNIT_MAIN("log", tests)
