/* lua/config_lua.c: the config DSL (set, listen, service, route). Good files
 * load into a generation; bad ones fail with "file:line: message". */
#include "config.h"
#include "unit.h"

#include <lauxlib.h>
#include <stdio.h>
#include <unistd.h>

#define ROUTE "route(function(req) return nil end)\n"
#define LISTEN "listen \"127.0.0.1:8080\"\n"

/* Loads text from a temporary file; path receives its name. */
static struct foyer_config *load(const char *text, char *path, size_t pathlen, char *err,
                                 size_t errlen)
{
    unit_temp_file(text, path, pathlen);
    err[0] = '\0';
    struct foyer_config *c = foyer_config_load(path, err, errlen);
    unlink(path);
    return c;
}

static struct foyer_config *load_ok(const char *text)
{
    char path[64], err[512];
    struct foyer_config *c = load(text, path, sizeof path, err, sizeof err);
    CHECKF(c != NULL, "config loads (error: %s)", err);
    return c;
}

/* The load must fail with "<file>:<line>: ..." naming fragment (line 0: an
 * error about the whole file, "<file>: ..."). */
static void check_error(const char *text, int line, const char *fragment)
{
    char path[64], err[512], prefix[96];
    struct foyer_config *c = load(text, path, sizeof path, err, sizeof err);
    if (!CHECKF(c == NULL, "config with \"%s\" is refused", fragment)) {
        foyer_config_unref(c);
        return;
    }
    if (line)
        snprintf(prefix, sizeof prefix, "%s:%d: ", path, line);
    else
        snprintf(prefix, sizeof prefix, "%s: ", path);
    CHECKF(strncmp(err, prefix, strlen(prefix)) == 0,
           "error starts with \"%s\" (got \"%s\")", prefix, err);
    CHECKF(strstr(err, fragment) != NULL, "error mentions \"%s\" (got \"%s\")", fragment,
           err);
}

/* ---- good configs ---------------------------------------------------------- */

static void test_issue_example(void)
{
    struct foyer_config *c =
        load_ok("set { workers = 2 }                          -- global settings\n"
                "listen \"127.0.0.1:8080\"\n"
                "service \"pizza-menu\" {\n"
                "  endpoints = { \"127.0.0.1:9001\", \"127.0.0.1:9002\" },\n"
                "}\n"
                "service \"pizza-offers\" { endpoints = { \"127.0.0.1:9003\" } }\n"
                "route(function(req)\n"
                "  if req.host == \"vincentpizza.com\" then\n"
                "    if req.path:find(\"^/menu/\") then return \"pizza-menu\" end\n"
                "    if req.path:find(\"^/offers/\") then return \"pizza-offers\" end\n"
                "  end\n"
                "  return nil\n"
                "end)\n");
    if (c == NULL) return;
    CHECK_INT(c->refs, 1);
    CHECK(c->L != NULL);
    CHECK(c->route_ref != LUA_NOREF);
    CHECK_INT(c->settings.workers, 2);
    CHECK_INT(c->nlistens, 1);
    CHECK_STR(c->listens[0].text, "127.0.0.1:8080");
    CHECK_INT(c->nservices, 2);
    struct foyer_service *menu = foyer_config_service(c, "pizza-menu", 10);
    struct foyer_service *offers = foyer_config_service(c, "pizza-offers", 12);
    REQUIRE(menu != NULL && offers != NULL);
    CHECK_INT(menu->nendpoints, 2);
    CHECK_STR(menu->endpoints[0].name, "127.0.0.1:9001");
    CHECK_STR(menu->endpoints[1].name, "127.0.0.1:9002");
    CHECK_INT(offers->nendpoints, 1);
    CHECK_STR(offers->endpoints[0].name, "127.0.0.1:9003");
    foyer_config_unref(c);
}

static void test_minimal_keeps_defaults(void)
{
    struct foyer_config *c = load_ok(LISTEN ROUTE);
    if (c == NULL) return;
    struct foyer_settings d;
    foyer_settings_defaults(&d);
    CHECK_INT(c->settings.workers, d.workers);
    CHECK_INT(c->settings.max_header_bytes, d.max_header_bytes);
    CHECK(c->settings.client_header_timeout == d.client_header_timeout);
    CHECK_INT(c->nservices, 0);
    foyer_config_unref(c);
}

static void test_settings(void)
{
    struct foyer_config *c = load_ok(
        "set {\n"
        "  workers = 4, client_header_timeout = 1.5, client_body_timeout = 2,\n"
        "  keepalive_timeout = 0, upstream_connect_timeout = 0.25,\n"
        "  upstream_read_timeout = 30, upstream_send_timeout = 31,\n"
        "  max_header_bytes = 16384, max_headers = 50, max_body_bytes = 1048576,\n"
        "  max_connections = 1000, keepalive_requests = 100, upstream_keepalive = 0,\n"
        "  access_log = \"/tmp/foyer-access.log\", error_log = false,\n"
        "  log_level = \"debug\", lua_path = \"/opt/foyer/?.lua\",\n"
        "}\n"
        "set { workers = 3 }  -- later calls override\n" LISTEN ROUTE);
    if (c == NULL) return;
    const struct foyer_settings *s = &c->settings;
    CHECK_INT(s->workers, 3);
    CHECK(s->client_header_timeout == 1.5);
    CHECK(s->client_body_timeout == 2);
    CHECK(s->keepalive_timeout == 0);
    CHECK(s->upstream_connect_timeout == 0.25);
    CHECK(s->upstream_read_timeout == 30 && s->upstream_send_timeout == 31);
    CHECK_INT(s->max_header_bytes, 16384);
    CHECK_INT(s->max_headers, 50);
    CHECK(s->max_body_bytes == 1048576);
    CHECK_INT(s->max_connections, 1000);
    CHECK_INT(s->keepalive_requests, 100);
    CHECK_INT(s->upstream_keepalive, 0);
    CHECK_STR(s->access_log, "/tmp/foyer-access.log");
    CHECK(s->error_log == NULL);
    CHECK_STR(s->log_level, "debug");
    CHECK_STR(s->lua_path, "/opt/foyer/?.lua");
    foyer_config_unref(c);
}

static void test_access_log_off(void)
{
    struct foyer_config *c = load_ok("set { access_log = \"/tmp/a.log\" }\n"
                                     "set { access_log = false }\n" LISTEN ROUTE);
    if (c != NULL) CHECK(c->settings.access_log == NULL);
    foyer_config_unref(c);
}

static void test_listens(void)
{
    struct foyer_config *c = load_ok("listen \"127.0.0.1:8080\"\nlisten \"[::1]:8080\"\n"
                                     "listen \"*:9090\"\n" ROUTE);
    if (c == NULL) return;
    CHECK_INT(c->nlistens, 3);
    CHECK_STR(c->listens[0].text, "127.0.0.1:8080");
    CHECK_STR(c->listens[1].text, "[::1]:8080");
    CHECK_STR(c->listens[2].text, "0.0.0.0:9090");
    CHECK_INT(c->listens[1].addr.sa.sa_family, AF_INET6);
    foyer_config_unref(c);
}

static void test_plain_lua_works(void)
{
    /* it is a Lua program: loops, locals, string functions */
    struct foyer_config *c = load_ok("local base = 9000\n"
                                     "for i = 1, 3 do\n"
                                     "  service(\"svc-\" .. i) { endpoints = { "
                                     "string.format(\"127.0.0.1:%d\", base + i) } }\n"
                                     "end\n" LISTEN ROUTE);
    if (c == NULL) return;
    CHECK_INT(c->nservices, 3);
    struct foyer_service *s = foyer_config_service(c, "svc-3", 5);
    if (CHECK(s != NULL)) CHECK_STR(s->endpoints[0].name, "127.0.0.1:9003");
    foyer_config_unref(c);
}

static void test_callable_router(void)
{
    struct foyer_config *c =
        load_ok(LISTEN "local router = setmetatable({}, {\n"
                       "  __call = function(self, req) return nil end })\n"
                       "route(router)\n");
    foyer_config_unref(c);
}

/* ---- bad configs --------------------------------------------------------- */

static void test_unknown_setting(void)
{
    check_error(LISTEN "set { workers = 2,\n  wokers = 3 }\n" ROUTE, 2, "wokers");
    check_error(LISTEN "set { [1] = 3 }\n" ROUTE, 2, "set");
}

static void test_bad_setting_values(void)
{
    check_error(LISTEN "set { workers = \"two\" }\n" ROUTE, 2, "workers");
    check_error(LISTEN "set { workers = -1 }\n" ROUTE, 2, "workers");
    check_error(LISTEN "set { max_headers = 1.5 }\n" ROUTE, 2, "max_headers");
    check_error(LISTEN "set { max_header_bytes = 10 }\n" ROUTE, 2, "max_header_bytes");
    check_error(LISTEN "set { client_header_timeout = 0 }\n" ROUTE, 2,
                "client_header_timeout");
    check_error(LISTEN "set { log_level = \"loud\" }\n" ROUTE, 2, "log_level");
    check_error(LISTEN "set { access_log = true }\n" ROUTE, 2, "access_log");
    check_error(LISTEN "set { lua_path = false }\n" ROUTE, 2, "lua_path");
    check_error(LISTEN "set \"workers\"\n" ROUTE, 2, "table");
}

static void test_bad_listen(void)
{
    check_error("\nlisten \"127.0.0.1\"\n" ROUTE, 2, "127.0.0.1");
    check_error("listen \"example.com:80\"\n" ROUTE, 1, "example.com:80");
    check_error("listen \"127.0.0.1:65536\"\n" ROUTE, 1, "port");
    check_error("listen \"[::1]8080\"\n" ROUTE, 1, "[::1]8080");
    check_error("listen \"[::zz]:8080\"\n" ROUTE, 1, "IPv6");
    check_error("listen(8080)\n" ROUTE, 1, "listen");
    check_error("listen \"127.0.0.1:80\"\nlisten \"127.0.0.1:80\"\n" ROUTE, 2, "twice");
}

static void test_missing_listen(void)
{
    check_error("service \"a\" { endpoints = { \"127.0.0.1:1\" } }\n" ROUTE, 0, "listen");
}

static void test_missing_route(void)
{
    check_error(LISTEN, 0, "route");
}

static void test_duplicate_service(void)
{
    check_error(LISTEN "service \"a\" { endpoints = { \"127.0.0.1:1\" } }\n"
                       "service \"b\" { endpoints = { \"127.0.0.1:2\" } }\n"
                       "service \"a\" { endpoints = { \"127.0.0.1:3\" } }\n" ROUTE,
                4, "\"a\"");
}

static void test_bad_services(void)
{
    check_error(LISTEN "service \"a\" { endpoints = {} }\n" ROUTE, 2, "empty");
    check_error(LISTEN "service \"a\" {}\n" ROUTE, 2, "endpoints");
    check_error(LISTEN "service \"a\" { endpoints = \"127.0.0.1:1\" }\n" ROUTE, 2,
                "endpoints");
    check_error(LISTEN "service \"a\" { endpoints = { \"nohost\" } }\n" ROUTE, 2,
                "nohost");
    check_error(LISTEN "service \"a\" { endpoints = { 9001 } }\n" ROUTE, 2, "endpoint");
    check_error(LISTEN
                "service \"a\" { endpoints = { \"127.0.0.1:1\" }, weight = 2 }\n" ROUTE,
                2, "weight");
    check_error(LISTEN "service \"\" { endpoints = { \"127.0.0.1:1\" } }\n" ROUTE, 2,
                "name");
}

static void test_route_twice(void)
{
    check_error(LISTEN ROUTE "\n" ROUTE, 4, "twice");
}

static void test_route_not_a_function(void)
{
    check_error(LISTEN "route(\"pizza\")\n", 2, "route");
}

static void test_syntax_error(void)
{
    check_error(LISTEN "\nroute(function(req) return nil)\n", 3, "expected");
    check_error("listen \"127.0.0.1:80\" )\n", 1, "");
}

static void test_runtime_error(void)
{
    check_error(LISTEN ROUTE "error(\"no pizza today\")\n", 3, "no pizza today");
    check_error(LISTEN "local x = nil\nx.y = 1\n" ROUTE, 3, "");
    check_error(LISTEN "sett { workers = 2 }\n" ROUTE, 2, "sett"); /* a typo */
}

static void test_missing_file(void)
{
    char err[512];
    struct foyer_config *c = foyer_config_load("/nonexistent/foyer.lua", err, sizeof err);
    CHECK(c == NULL);
    CHECKF(strstr(err, "/nonexistent/foyer.lua") != NULL,
           "error names the file (got \"%s\")", err);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_issue_example),
    UNIT_TEST(test_minimal_keeps_defaults),
    UNIT_TEST(test_settings),
    UNIT_TEST(test_access_log_off),
    UNIT_TEST(test_listens),
    UNIT_TEST(test_plain_lua_works),
    UNIT_TEST(test_callable_router),
    UNIT_TEST(test_unknown_setting),
    UNIT_TEST(test_bad_setting_values),
    UNIT_TEST(test_bad_listen),
    UNIT_TEST(test_missing_listen),
    UNIT_TEST(test_missing_route),
    UNIT_TEST(test_duplicate_service),
    UNIT_TEST(test_bad_services),
    UNIT_TEST(test_route_twice),
    UNIT_TEST(test_route_not_a_function),
    UNIT_TEST(test_syntax_error),
    UNIT_TEST(test_runtime_error),
    UNIT_TEST(test_missing_file),
};
UNIT_MAIN("config_lua", tests)
