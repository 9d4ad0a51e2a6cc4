/* lua/request_lua.c: foyer_lua_route and the `req` object a route function
 * sees. Requests are real heads run through the proxy's own parsing; the
 * decisions are checked, and so is what the error log says about failures. */
#include "config.h"
#include "log.h"
#include "lua_state.h"
#include "unit.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <unistd.h>

static const char config_text[] =
    "listen \"127.0.0.1:8080\"\n"
    "service \"pizza-menu\" { endpoints = { \"127.0.0.1:9001\", \"127.0.0.1:9002\" } }\n"
    "service \"pizza-offers\" { endpoints = { \"127.0.0.1:9003\" } }\n"
    "route(function(req)\n"
    "  if probe then return probe(req) end\n"
    "  if req.host == \"vincentpizza.com\" then\n"
    "    if req.path:find(\"^/menu/\") then return \"pizza-menu\" end\n"
    "    if req.path:find(\"^/offers/\") then return \"pizza-offers\" end\n"
    "  end\n"
    "  if req.path == \"/boom\" then error(\"kaboom\") end\n"
    "  if req.path == \"/ghost\" then return \"no-such-service\" end\n"
    "  if req.path == \"/number\" then return 42 end\n"
    "  if req.path == \"/table\" then return { service = \"pizza-offers\" } end\n"
    "  if req.path == \"/empty-table\" then return {} end\n"
    "  if req.path == \"/write\" then req.method = \"POST\" end\n"
    "  if req.path == \"/keep\" then kept = req return nil end\n"
    "  if req.path == \"/use-kept\" then return kept.method end\n"
    "  return nil\n"
    "end)\n";

static char config_path[64];
static char log_path[64];

static struct foyer_config *setup(void)
{
    char err[512];
    unit_temp_file(config_text, config_path, sizeof config_path);
    struct foyer_config *c = foyer_config_load(config_path, err, sizeof err);
    CHECKF(c != NULL, "config loads (%s)", err);
    REQUIRE(c != NULL);
    return c;
}

static void teardown(struct foyer_config *c)
{
    foyer_config_unref(c);
    unlink(config_path);
}

static void client_addr(union foyer_sockaddr *a, const char *text)
{
    socklen_t len;
    const char *err;
    REQUIRE(foyer_addr_parse(text, a, &len, &err) == 0);
}

/* Routes a request from client (NULL: 192.0.2.7) arriving on port 8080. */
static void route_from(struct foyer_config *c, const char *text, const char *client,
                       struct foyer_route_decision *d)
{
    union foyer_sockaddr peer;
    struct unit_msg m;
    struct foyer_request r;
    client_addr(&peer, client ? client : "192.0.2.7:5555");
    int st = unit_request(&m, text);
    CHECKF(st == 0, "request accepted (got %d)", st);
    unit_make_request(&r, &m, &peer, 8080);
    foyer_lua_route(c, &r, d);
    unit_msg_free(&m);
}

static void route(struct foyer_config *c, const char *text,
                  struct foyer_route_decision *d)
{
    route_from(c, text, NULL, d);
}

/* "GET <target> HTTP/1.1" for vincentpizza.com */
static void route_target(struct foyer_config *c, const char *target,
                         struct foyer_route_decision *d)
{
    char text[512];
    snprintf(text, sizeof text, "GET %s HTTP/1.1\r\nHost: vincentpizza.com\r\n\r\n",
             target);
    route(c, text, d);
}

static void check_service(struct foyer_config *c, const struct foyer_route_decision *d,
                          const char *name)
{
    struct foyer_service *want = foyer_config_service(c, name, strlen(name));
    CHECKF(d->status == 0, "routed to %s (status %d)", name, d->status);
    CHECKF(d->service == want, "routed to %s (got %s)", name,
           d->service ? d->service->name : "none");
}

/* Evaluates a Lua expression with `req` in scope, for a request from client;
 * out receives tostring() of it, or "<nil>". */
static void eval_from(struct foyer_config *c, const char *text, const char *client,
                      const char *expr, char *out, size_t outlen)
{
    char chunk[512];
    struct foyer_route_decision d;
    lua_State *L = c->L;
    snprintf(chunk, sizeof chunk,
             "probe = function(req) local v = (%s); result = v == nil and '<nil>' or "
             "tostring(v) end",
             expr);
    REQUIRE(luaL_dostring(L, chunk) == 0);
    lua_pushnil(L);
    lua_setglobal(L, "result");
    route_from(c, text, client, &d);
    lua_getglobal(L, "result");
    snprintf(out, outlen, "%s",
             lua_isstring(L, -1) ? lua_tostring(L, -1) : "<probe failed>");
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_setglobal(L, "probe");
}

static void check_eval(struct foyer_config *c, const char *text, const char *expr,
                       const char *want)
{
    char got[256];
    eval_from(c, text, NULL, expr, got, sizeof got);
    CHECKF(strcmp(got, want) == 0, "%s == \"%s\" (got \"%s\")", expr, want, got);
}

/* ---- the error log ---------------------------------------------------------- */

/* Sends the error log to a file for the rest of the run. */
static void capture_log(void)
{
    if (log_path[0] != '\0') return;
    unit_temp_file("", log_path, sizeof log_path);
    REQUIRE(foyer_log_open_error(log_path) == 0);
}

static void check_log_mentions(const char *what)
{
    static char text[65536];
    unit_read_file(log_path, text, sizeof text);
    CHECKF(strstr(text, what) != NULL, "the error log mentions \"%s\"", what);
}

/* "file:line" of the first config line containing needle. */
static void config_where(const char *needle, char *out, size_t outlen)
{
    const char *at = strstr(config_text, needle);
    REQUIRE(at != NULL);
    int line = 1;
    for (const char *p = config_text; p < at; p++)
        line += *p == '\n';
    snprintf(out, outlen, "%s:%d:", config_path, line);
}

/* ---- decisions ---------------------------------------------------------- */

static void test_routes_by_host_and_path(void)
{
    struct foyer_config *c = setup();
    struct foyer_route_decision d;
    route_target(c, "/menu/margherita", &d);
    check_service(c, &d, "pizza-menu");
    route_target(c, "/offers/today?x=1", &d);
    check_service(c, &d, "pizza-offers");
    route(c, "GET /menu/ HTTP/1.1\r\nHost: VincentPizza.COM:8080\r\n\r\n", &d);
    check_service(c, &d, "pizza-menu");
    route(c, "GET /menu/ HTTP/1.1\r\nHost: vincentpizza.com.\r\n\r\n", &d);
    check_service(c, &d, "pizza-menu");
    route(c, "GET http://vincentpizza.com/offers/ HTTP/1.1\r\nHost: elsewhere\r\n\r\n",
          &d);
    check_service(c, &d, "pizza-offers");
    teardown(c);
}

static void test_nil_is_404(void)
{
    struct foyer_config *c = setup();
    struct foyer_route_decision d;
    route(c, "GET /menu/ HTTP/1.1\r\nHost: other.example\r\n\r\n", &d);
    CHECK_INT(d.status, 404);
    CHECK(d.service == NULL);
    route_target(c, "/drinks/", &d);
    CHECK_INT(d.status, 404);
    route_target(c, "/empty-table", &d);
    CHECK_INT(d.status, 404);
    teardown(c);
}

static void test_table_result(void)
{
    struct foyer_config *c = setup();
    struct foyer_route_decision d;
    route_target(c, "/table", &d);
    check_service(c, &d, "pizza-offers");
    teardown(c);
}

static void test_error_is_500_and_logged(void)
{
    struct foyer_config *c = setup();
    struct foyer_route_decision d;
    char where[128];
    capture_log();
    route_target(c, "/boom", &d);
    CHECK_INT(d.status, 500);
    CHECK(d.service == NULL);
    config_where("error(\"kaboom\")", where, sizeof where);
    check_log_mentions(where);
    check_log_mentions("kaboom");
    check_log_mentions("GET /boom");
    teardown(c);
}

static void test_unknown_service_is_500_and_logged(void)
{
    struct foyer_config *c = setup();
    struct foyer_route_decision d;
    capture_log();
    route_target(c, "/ghost", &d);
    CHECK_INT(d.status, 500);
    CHECK(d.service == NULL);
    check_log_mentions("no-such-service");
    check_log_mentions(config_path);
    check_log_mentions("GET /ghost");
    teardown(c);
}

static void test_other_results_are_500(void)
{
    struct foyer_config *c = setup();
    struct foyer_route_decision d;
    capture_log();
    route_target(c, "/number", &d);
    CHECK_INT(d.status, 500);
    check_log_mentions("GET /number");
    teardown(c);
}

static void test_req_is_read_only(void)
{
    struct foyer_config *c = setup();
    struct foyer_route_decision d;
    capture_log();
    route_target(c, "/write", &d);
    CHECK_INT(d.status, 500);
    teardown(c);
}

static void test_req_not_usable_after_route(void)
{
    struct foyer_config *c = setup();
    struct foyer_route_decision d;
    capture_log();
    route_target(c, "/keep", &d);
    CHECK_INT(d.status, 404);
    route_target(c, "/use-kept", &d); /* the old req is no longer a request */
    CHECK_INT(d.status, 500);
    teardown(c);
}

static void test_stack_is_balanced(void)
{
    struct foyer_config *c = setup();
    struct foyer_route_decision d;
    static const char *const targets[] = {"/menu/", "/boom",    "/ghost", "/number",
                                          "/table", "/nothing", "/write"};
    capture_log();
    int top = lua_gettop(c->L);
    for (int round = 0; round < 50; round++)
        for (size_t i = 0; i < sizeof targets / sizeof *targets; i++)
            route_target(c, targets[i], &d);
    CHECK_INT(lua_gettop(c->L), top);
    teardown(c);
}

/* ---- the req object ------------------------------------------------------- */

static void test_req_fields(void)
{
    struct foyer_config *c = setup();
    static const char text[] =
        "POST /menu/Pizza?size=L&x HTTP/1.1\r\nHost: VincentPizza.com:8081\r\n"
        "Content-Length: 0\r\n\r\n";
    check_eval(c, text, "req.method", "POST");
    check_eval(c, text, "req.target", "/menu/Pizza?size=L&x");
    check_eval(c, text, "req.path", "/menu/Pizza");
    check_eval(c, text, "req.query", "size=L&x");
    check_eval(c, text, "req.host", "vincentpizza.com");
    check_eval(c, text, "req.port", "8081");
    check_eval(c, text, "req.scheme", "http");
    check_eval(c, text, "req.client_ip", "192.0.2.7");
    check_eval(c, text, "req.no_such_field", "<nil>");
    check_eval(c, text, "type(req.header)", "function");
    teardown(c);
}

static void test_req_query_absent_or_empty(void)
{
    struct foyer_config *c = setup();
    check_eval(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", "req.query", "<nil>");
    check_eval(c, "GET /a? HTTP/1.1\r\nHost: x\r\n\r\n", "req.query", "");
    teardown(c);
}

static void test_req_port_defaults_to_listener(void)
{
    struct foyer_config *c = setup();
    check_eval(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "req.port", "8080");
    teardown(c);
}

static void test_req_host_absent(void)
{
    struct foyer_config *c = setup();
    check_eval(c, "GET / HTTP/1.0\r\n\r\n", "req.host", "");
    teardown(c);
}

static void test_req_method_unknown_token(void)
{
    struct foyer_config *c = setup();
    static const char text[] =
        "BREW /pot?milk HTTP/1.1\r\nHost: tea.example\r\nX-Sugar: 2\r\n\r\n";
    check_eval(c, text, "req.method", "BREW");
    check_eval(c, text, "req.target", "/pot?milk");
    check_eval(c, text, "req:header('x-sugar')", "2");
    teardown(c);
}

static void test_req_client_ipv6(void)
{
    struct foyer_config *c = setup();
    char got[128];
    eval_from(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "[2001:db8::7]:5555",
              "req.client_ip", got, sizeof got);
    CHECK_STR(got, "2001:db8::7");
    eval_from(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "[::ffff:192.0.2.8]:5555",
              "req.client_ip", got, sizeof got);
    CHECK_STR(got, "192.0.2.8");
    teardown(c);
}

static void test_req_header(void)
{
    struct foyer_config *c = setup();
    static const char text[] = "GET / HTTP/1.1\r\nHost: x\r\nX-Pizza: Margherita\r\n"
                               "Accept: a\r\naccept: b\r\n\r\n";
    check_eval(c, text, "req:header('X-Pizza')", "Margherita");
    check_eval(c, text, "req:header('x-pizza')", "Margherita");
    check_eval(c, text, "req:header('X-PIZZA')", "Margherita");
    check_eval(c, text, "req:header('X-Pasta')", "<nil>");
    check_eval(c, text, "req:header('Accept')", "a, b");
    check_eval(c, text, "req:header('host')", "x");
    teardown(c);
}

static void test_req_header_bad_argument(void)
{
    struct foyer_config *c = setup();
    struct foyer_route_decision d;
    capture_log();
    REQUIRE(luaL_dostring(c->L, "probe = function(req) return req:header({}) end") == 0);
    route(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &d);
    CHECK_INT(d.status, 500);
    REQUIRE(luaL_dostring(c->L, "probe = function(req) return req.header('X') end") == 0);
    route(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &d);
    CHECK_INT(d.status, 500);
    teardown(c);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_routes_by_host_and_path),
    UNIT_TEST(test_nil_is_404),
    UNIT_TEST(test_table_result),
    UNIT_TEST(test_error_is_500_and_logged),
    UNIT_TEST(test_unknown_service_is_500_and_logged),
    UNIT_TEST(test_other_results_are_500),
    UNIT_TEST(test_req_is_read_only),
    UNIT_TEST(test_req_not_usable_after_route),
    UNIT_TEST(test_stack_is_balanced),
    UNIT_TEST(test_req_fields),
    UNIT_TEST(test_req_query_absent_or_empty),
    UNIT_TEST(test_req_port_defaults_to_listener),
    UNIT_TEST(test_req_host_absent),
    UNIT_TEST(test_req_method_unknown_token),
    UNIT_TEST(test_req_client_ipv6),
    UNIT_TEST(test_req_header),
    UNIT_TEST(test_req_header_bad_argument),
};

int main(void)
{
    int rc = unit_run("request_lua", tests, sizeof tests / sizeof *tests);
    if (log_path[0] != '\0') unlink(log_path);
    return rc;
}
