/* lua/router_lua.c, router_compile.c, router_filters.c, router_load.c: the
 * Lua face of foyer.router. Bad rules fail with the config's file:line and
 * the path to the bad value (plus the JSON file and line for router.load);
 * router.load and router.new agree; r:match returns decision values. */
#include "lua_state.h"
#include "router_fixture.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- compile errors --------------------------------------------------------------- */

/* router.new{ <fields> } on line 2 must fail with "test.lua:2: " + want. */
static void check_new_error(const char *fields, const char *want)
{
    struct rfix f;
    char chunk[4096], prefix[] = "test.lua:2: ";
    rfix_init(&f, "s");
    snprintf(chunk, sizeof chunk,
             "local router = require 'foyer.router'\nlocal r = "
             "router.new { %s }\nreturn r",
             fields);
    int rc = rfix_run(&f, chunk);
    CHECKF(rc != 0, "{ %s } is refused", fields);
    CHECKF(rc != 0 && strncmp(f.err, prefix, strlen(prefix)) == 0 &&
               strstr(f.err, want) != NULL,
           "{ %s } fails with \"%s%s\" (got \"%s\")", fields, prefix, want, f.err);
    rfix_free(&f);
}

static void test_errors(void)
{
    static const struct {
        const char *fields, *want;
    } cases[] = {
        {"routes = { { path = { type = 'Foo', value = '/' }, service = 's' } }",
         "routes[1].path.type: unknown match type 'Foo' (expected Exact, PathPrefix"},
        {"routes = { { host = 'a.com' }, { rules = { { matches = { {},\n"
         "  { path = { type = 'Bar' } } } } } } }",
         "routes[2].rules[1].matches[2].path.type: unknown match type 'Bar'"},
        {"routes = { { hots = 'a.com' } }", "routes[1]: unknown field 'hots'"},
        {"rutes = {}",
         "unknown field 'rutes' (expected semantics, default, listeners or routes)"},
        {"semantics = 'nginx'", "semantics: expected \"gateway\" or \"ingress\""},
        {"default = 42", "default: expected a service name, got a number"},
        {"routes = 'a'", "routes: expected a list, got a string"},
        {"routes = { a = {} }", "routes: expected a list, got an object"},
        {"routes = { { host = 'a b.com' } }",
         "routes[1].host: invalid character in host name"},
        {"routes = { { hostnames = { 'a.com', '*b.com' } } }",
         "routes[1].hostnames[2]: a wildcard host name reads '*.example.com'"},
        {"routes = { { hostnames = { 'a..com' } } }", "empty label in host name"},
        {"routes = { { host = 'a.com:80' } }",
         "invalid character in host name 'a.com:80'"},
        {"routes = { { host = '[::1' } }", "invalid IPv6 literal '[::1'"},
        {"routes = { { host = '' } }", "routes[1].host: empty host name"},
        {"routes = { { host = 'a', hostnames = {} } }",
         "give 'hostnames' or 'host', not both"},
        {"routes = { { path = 'x' } }", "routes[1].path: a path must start with '/'"},
        {"routes = { { path = '/a b' } }", "cannot contain spaces"},
        {"routes = { { path = { type = 'RegularExpression', value = '(' } } }",
         "routes[1].path.value: bad regular expression"},
        {"routes = { { rules = {}, path = '/' } }", "give either 'rules' or the fields"},
        {"routes = { { rules = {} } }", "routes[1].rules: empty"},
        {"routes = { { matches = {}, path = '/' } }", "give either 'matches' or path"},
        {"routes = { { { path = '/' }, service = 's' } }",
         "routes[1]: expected an object (named fields), got a table mixing list items"},
        {"routes = { { service = function() end } }",
         "routes[1].service: expected a service name, got function"},
        {"routes = { { backends = { { service = 's', weight = -1 } } } }",
         "routes[1].backends[1].weight: -1 is out of range [0, 1e+06]"},
        {"routes = { { backends = { { weight = 1 } } } }",
         "routes[1].backends[1]: a backend needs a service"},
        {"routes = { { backends = { 's' }, service = 's' } }",
         "give 'backends' or 'service', not both"},
        {"routes = { { headers = { { name = 'bad name', value = 'x' } } } }",
         "routes[1].headers[1]: header name 'bad name' is not a valid token"},
        {"routes = { { headers = { { name = 'x', value = 'y', type = 'Prefix' } } } }",
         "unknown match type 'Prefix' (expected Exact or RegularExpression)"},
        {"routes = { { queryParams = { { name = 'q' } } } }",
         "routes[1].queryParams[1]: expected { name = ..., value = ... }"},
        {"routes = { { method = 'GE T' } }", "routes[1].method: method 'GE T' is not"},
        {"routes = { { filters = { { type = 'Nope' } } } }",
         "routes[1].filters[1].type: unknown filter 'Nope'"},
        {"routes = { { filters = { { set = {} } } } }",
         "routes[1].filters[1]: a filter needs a type"},
        {"routes = { { filters = { { type = 'RequestHeaderModifier', sett = {} } } } }",
         "routes[1].filters[1]: unknown field 'sett'"},
        {"routes = { { filters = { { type = 'RequestHeaderModifier',\n"
         "  set = { ['Content-Length'] = '1' } } } } }",
         "'Content-Length' cannot be edited"},
        {"routes = { { filters = { { type = 'ResponseHeaderModifier',\n"
         "  add = { { name = 'X', value = 'a\\r\\nb' } } } } } }",
         "routes[1].filters[1].add[1]: header value contains CR, LF or NUL"},
        {"routes = { { filters = { { type = 'RequestRedirect', statusCode = 305 } } } }",
         "statusCode: expected 301, 302, 303, 307 or 308"},
        {"routes = { { filters = { { type = 'RequestRedirect', scheme = 'ftp' } } } }",
         "scheme: expected \"http\" or \"https\""},
        {"routes = { { filters = { { type = 'RequestRedirect', port = 0 } } } }",
         "port: 0 is out of range"},
        {"routes = { { filters = {\n"
         "  { type = 'RequestRedirect', hostname = '*.a.com' } } } }",
         "routes[1].filters[1].hostname: a wildcard is not a host name"},
        {"routes = { { filters = { { type = 'URLRewrite',\n"
         "  path = { type = 'ReplaceSome', value = '/' } } } } }",
         "routes[1].filters[1].path.type: expected ReplaceFullPath or "
         "ReplacePrefixMatch"},
        {"routes = { { path = { type = 'Exact', value = '/x' }, filters = {\n"
         "  { type = 'URLRewrite',\n"
         "    path = { type = 'ReplacePrefixMatch', value = '/' } } } } }",
         "ReplacePrefixMatch needs PathPrefix matches, and matches[1] is not one"},
        {"routes = { { filters = { { type = 'URLRewrite', hostname = 'a' },\n"
         "  { type = 'RequestRedirect' } } } }",
         "RequestRedirect and URLRewrite cannot be used together"},
        {"routes = { { backends = { { service = 's', filters = {\n"
         "  { type = 'RequestRedirect' } } } } } }",
         "RequestRedirect belongs on the rule, not on a backend"},
        {"routes = { { filters = { { type = 'RequestMirror' } } } }",
         "RequestMirror needs a service"},
        {"routes = { { respond = { status = 99 } } }",
         "routes[1].respond.status: 99 is out"},
        {"routes = { { timeout = 0 } }", "routes[1].timeout: 0 is out of range"},
        {"listeners = { { hostname = 'a.com' } }",
         "listeners[1]: a listener needs a name"},
        {"listeners = { { name = 'a' }, { name = 'a' } }",
         "listeners[2]: listener 'a' is declared twice"},
        {"listeners = { { name = 'a', protocol = 'UDP' } }", "expected HTTP or HTTPS"},
        {"semantics = 'ingress', listeners = { { name = 'a' } }",
         "listeners: only with semantics = \"gateway\""},
        {"listeners = { { name = 'a' } }, routes = { { listeners = { 'b' } } }",
         "routes[1].listeners[1]: no listener named 'b'"},
        {"routes = { { listeners = {} } }", "routes[1].listeners: empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_new_error(cases[i].fields, cases[i].want);
}

static void test_bad_arguments(void)
{
    struct rfix f;
    rfix_init(&f, "");
    CHECK(rfix_run(&f, "local r = require('foyer.router').new('x')") != 0);
    CHECKF(strstr(f.err, "test.lua:1: router.new: expected a table or a router.load "
                         "document, got string") != NULL,
           "a string is refused (got \"%s\")", f.err);
    CHECK(rfix_run(&f,
                   "local router = require('foyer.router')\n"
                   "local r = router.new { routes = { { service = router } } }") != 0);
    CHECKF(strstr(f.err, "routes[1].service: expected a service name") != NULL,
           "a table is not a service name (got \"%s\")", f.err);
    rfix_free(&f);
}

/* ---- shorthands ------------------------------------------------------------------- */

/* The shorthand and the full form compile to routers that decide alike. */
static void test_shorthand_equals_full_form(void)
{
    static const char *const forms[] = {
        "return router.new { routes = {\n"
        "  { host = 'A.com', path = '/x', service = 's' },\n"
        "  { host = 'b.com', rules = { { path = { type = 'Exact', value = '/e' },\n"
        "    method = 'GET', headers = { h = 'v' }, backends = { 't' } } } } } }",
        "return router.new { routes = {\n"
        "  { hostnames = { 'a.com' }, rules = { { matches = { { path = {\n"
        "      type = 'PathPrefix', value = '/x' } } },\n"
        "    backends = { { service = 's' } } } } },\n"
        "  { hostnames = { 'b.com' }, rules = { { matches = { {\n"
        "      path = { type = 'Exact', value = '/e' }, method = 'GET',\n"
        "      headers = { { name = 'h', value = 'v', type = 'Exact' } } } },\n"
        "    backends = { { service = 't', weight = 1 } } } } } } }",
    };
    for (size_t i = 0; i < 2; i++) {
        struct rfix f;
        REQUIRE(rfix_build(&f, "s t", forms[i]) == 0);
        RFIX_CHECK(&f, "GET a.com /x/y", "s");
        RFIX_CHECK(&f, "GET a.com /xy", "404");
        RFIX_CHECK(&f, "GET b.com /e", "404");
        RFIX_CHECK(&f, "GET b.com /e h:v", "t");
        RFIX_CHECK(&f, "POST b.com /e h:v", "404");
        rfix_free(&f);
    }
}

/* ---- router.load ------------------------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    REQUIRE(fp != NULL);
    fputs(text, fp);
    fclose(fp);
}

static const char routes_json[] =
    "{\n"
    "  \"semantics\": \"gateway\",\n"
    "  \"default\": \"s\",\n"
    "  \"routes\": [\n"
    "    { \"hostnames\": [\"a.com\"], \"rules\": [\n"
    "      { \"matches\": [ { \"path\": { \"type\": \"Prefix\", \"value\": \"/a\"\n"
    "        } } ],\n"
    "        \"backends\": [ { \"service\": \"t\" } ] } ] },\n"
    "    { \"host\": \"b.com\", \"path\": \"/b\", \"service\": \"t\",\n"
    "      \"filters\": [ { \"type\": \"RequestHeaderModifier\",\n"
    "                     \"set\": [ { \"name\": \"X-U\", \"value\": \"\\u00e9\" }\n"
    "                       ] } ] }\n"
    "  ]\n"
    "}\n";

/* Runs dir/config.lua = "local r = router.new(<expr>) return r" (on line 2)
 * with dir/routes.json holding json; returns rfix_run's result, and f has
 * the router, bound, when 0. */
static int load_router(struct rfix *f, const char *json, const char *expr)
{
    char dir[] = "/tmp/foyer-router-XXXXXX", json_path[128], lua_path[128], text[1024];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(json_path, sizeof json_path, "%s/routes.json", dir);
    snprintf(lua_path, sizeof lua_path, "%s/config.lua", dir);
    write_file(json_path, json);
    snprintf(
        text, sizeof text,
        "local router = require 'foyer.router'\nlocal r = router.new(%s)\nreturn r\n",
        expr);
    write_file(lua_path, text);
    rfix_init(f, "s t");
    /* a relative name is read next to the file of the code calling load */
    snprintf(text, sizeof text, "return dofile('%s')", lua_path);
    int rc = rfix_run(f, text);
    unlink(json_path);
    unlink(lua_path);
    rmdir(dir);
    if (rc == 0) {
        f->rt = foyer_router_check(f->c->L, -1);
        lua_setglobal(f->c->L, "the_router");
        REQUIRE(f->rt != NULL &&
                foyer_router_bind(f->rt, f->c, f->err, sizeof f->err) == 0);
    }
    return rc;
}

static void test_load(void)
{
    struct rfix f;
    CHECKF(load_router(&f, routes_json, "router.load('routes.json')") == 0, "loads (%s)",
           f.err);
    RFIX_CHECK(&f, "GET a.com /a/1", "t");
    RFIX_CHECK(&f, "GET a.com /b", "s"); /* the default */
    RFIX_CHECK(&f, "GET b.com /b", "t req=set:X-U=\xc3\xa9");
    rfix_free(&f);
    /* a bare list of routes, and settings from the table */
    CHECK(load_router(&f, "[ {\"host\": \"a.com\", \"service\": \"s\"} ]",
                      "{ default = 't', routes = router.load('routes.json') }") == 0);
    RFIX_CHECK(&f, "GET a.com /", "s");
    RFIX_CHECK(&f, "GET c.com /", "t");
    rfix_free(&f);
    /* the table's settings override the document's */
    CHECK(load_router(&f, routes_json,
                      "{ default = 't', semantics = 'ingress', routes = "
                      "router.load('routes.json') }") == 0);
    RFIX_CHECK(&f, "GET c.com /", "t");
    rfix_free(&f);
}

static void check_load_error(const char *json, const char *want)
{
    struct rfix f;
    char esc[80];
    int rc = load_router(&f, json, "router.load('routes.json')");
    unit_escape(json, strlen(json), esc, sizeof esc);
    CHECKF(rc != 0, "%s is refused", esc);
    CHECKF(strstr(f.err, want) != NULL, "%s fails with \"%s\" (got \"%s\")", esc, want,
           f.err);
    CHECKF(strncmp(f.err, "/tmp/foyer-router-", 18) == 0 &&
               strstr(f.err, "/config.lua:2: ") != NULL,
           "the error names the line of the call (got \"%s\")", f.err);
    rfix_free(&f);
}

static void test_load_errors(void)
{
    check_load_error("{\n  \"routes\": [\n    { \"host\": \"a.com\" },\n"
                     "    { \"path\": { \"type\": \"Foo\" } }\n  ]\n}",
                     "/routes.json:4: routes[2].path.type: unknown match type 'Foo'");
    check_load_error("{\n  \"routes\": [\n    { \"host\": \"a.com\", }\n  ]\n}",
                     "/routes.json:3:24: unexpected '}', expected a member name");
    check_load_error("{\"routes\": [ {\"host\": \"a\", \"host\": \"b\"} ]}",
                     "/routes.json:1: duplicate member name \"host\"");
    check_load_error("{\"routes\": {}}",
                     "/routes.json:1: routes: expected a list of routes");
    check_load_error("{\"default\": \"s\", \"routes\": [],\n \"routes\": []}",
                     "router.load: /tmp/foyer-router-");
    check_load_error("{\"default\": \"s\", \"routes\": [],\n \"routes\": []}",
                     "/routes.json:2: 'routes' given twice");
    check_load_error("{\"semantics\": 1}",
                     "/routes.json:1: semantics: expected \"gateway\" or \"ingress\"");
    check_load_error("42",
                     "routes.json:1: expected an object (a router config) or a list");
    check_load_error("[] []", "routes.json:1:4: unexpected '['");
    check_load_error("{\"listeners\": [{\"name\": \"l\"}],\n"
                     " \"routes\": [{\"listeners\": [\"m\"]}]}",
                     "routes.json:2: routes[1].listeners[1]: no listener named 'm'");
}

static void test_load_missing_file(void)
{
    struct rfix f;
    rfix_init(&f, "");
    CHECK(rfix_run(&f, "local r = require('foyer.router').load('/nonexistent/r.json')") !=
          0);
    CHECKF(strstr(f.err, "test.lua:1: router.load: /nonexistent/r.json: No such file") !=
               NULL,
           "a missing file is named (got \"%s\")", f.err);
    rfix_free(&f);
}

/* ---- r:match from a route function ------------------------------------------------ */

static const char config_text[] = "listen \"127.0.0.1:8080\"\n"
                                  "service \"s\" { endpoints = { \"127.0.0.1:9001\" } }\n"
                                  "route(function(req) return probe(req) end)\n";

static const char probe_text[] =
    "local router = require 'foyer.router'\n"
    "local function ser(v)\n"
    "  if type(v) == 'string' then return string.format('%q', v) end\n"
    "  if type(v) ~= 'table' then return tostring(v) end\n"
    "  local keys, out = {}, {}\n"
    "  for k in pairs(v) do keys[#keys + 1] = k end\n"
    "  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)\n"
    "  for _, k in ipairs(keys) do out[#out + 1] = tostring(k) .. '=' .. ser(v[k]) end\n"
    "  return '{' .. table.concat(out, ',') .. '}'\n"
    "end\n"
    "R = router.new { default = 'fallback', routes = {\n"
    "  { host = 'a.com', path = '/plain', service = 's' },\n"
    "  { name = 'edits', host = 'a.com', path = '/edits', service = 'nowhere',\n"
    "    filters = {\n"
    "      { type = 'RequestHeaderModifier', set = { A = '1' },\n"
    "        add = { { name = 'B', value = '2' }, { name = 'B', value = '3' } },\n"
    "        remove = { 'C' } },\n"
    "      { type = 'URLRewrite',\n"
    "        path = { type = 'ReplacePrefixMatch', value = '/new' } },\n"
    "      { type = 'RequestMirror', service = 'm' } } },\n"
    "  { host = 'a.com', path = '/go', filters = { { type = 'RequestRedirect',\n"
    "    scheme = 'https', path = { type = 'ReplaceFullPath', value = '/gone' } } } },\n"
    "  { host = 'a.com', path = '/none', backends = {} },\n"
    "}}\n"
    "N = router.new { routes = { { host = 'a.com', service = 's' } } }\n"
    "probe = function(req)\n"
    "  result = ser(R:match(req))\n"
    "  called = ser(N(req))\n"
    "  return 's'\n"
    "end\n";

static void check_match(struct foyer_config *c, const char *target, const char *want)
{
    char text[256];
    struct unit_msg m;
    struct foyer_request r;
    struct foyer_route_decision d;
    snprintf(text, sizeof text, "GET %s HTTP/1.1\r\nHost: a.com\r\n\r\n", target);
    REQUIRE(unit_request(&m, text) == 0);
    unit_make_request(&r, &m, NULL, 8080);
    foyer_lua_route(c, &r, &d);
    lua_getglobal(c->L, "result");
    const char *got = lua_tostring(c->L, -1);
    CHECKF(got && strcmp(got, want) == 0, "R:match(%s) = %s (got %s)", target, want,
           got ? got : "nothing");
    lua_pop(c->L, 1);
    lua_getglobal(c->L, "called");
    got = lua_tostring(c->L, -1);
    CHECKF(got && strcmp(got, "\"s\"") == 0, "N(req) = \"s\" (got %s)",
           got ? got : "nothing");
    lua_pop(c->L, 1);
    unit_msg_free(&m);
}

static void test_match_from_lua(void)
{
    char path[64], err[512];
    unit_temp_file(config_text, path, sizeof path);
    struct foyer_config *c = foyer_config_load(path, err, sizeof err);
    unlink(path);
    CHECKF(c != NULL, "config loads (%s)", err);
    REQUIRE(c != NULL);
    foyer_router_open(c->L); /* lua_state.c will do it (the hook) */
    if (luaL_dostring(c->L, probe_text) != 0) {
        CHECKF(0, "probe loads (%s)", lua_tostring(c->L, -1));
        foyer_config_unref(c);
        return;
    }
    check_match(c, "/plain", "\"s\"");
    check_match(c, "/elsewhere", "\"fallback\"");
    check_match(
        c, "/edits/x?q",
        "{mirror=\"m\",path=\"/new/x\",request_headers={add={B={1=\"2\",2=\"3\"}},"
        "remove={1=\"C\"},set={A=\"1\"}},service=\"nowhere\",tag=\"edits\"}");
    check_match(c, "/go/x",
                "{redirect={path=\"/gone\",port=443,scheme=\"https\",status=302}}");
    check_match(c, "/none", "{status=500}");
    foyer_config_unref(c);
}

/* An undeclared default service is a config error, named where it was set. */
static void test_unknown_default(void)
{
    struct rfix f;
    CHECK(rfix_build(&f, "s", "local r = router.new { default = 'nope' } return r") != 0);
    CHECK_STR(f.err, "test.lua:1: router default service 'nope' is not declared");
    rfix_free(&f);
}

static void test_tostring(void)
{
    struct rfix f;
    REQUIRE(
        rfix_build(
            &f, "s",
            "return router.new { listeners = { { name = 'a', hostname = 'a.com' },\n"
            "  { name = 'b' } }, routes = { { host = 'a.com', rules = {\n"
            "  { path = '/x', service = 's' }, { path = '/y', service = 's' } } } } }") ==
        0);
    REQUIRE(rfix_run(&f, "return tostring(the_router)") == 0);
    CHECK_STR(lua_tostring(f.c->L, -1),
              "foyer.router (gateway): 1 routes, 2 rules, 2 listeners, 2 host names");
    rfix_free(&f);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_errors),
    UNIT_TEST(test_bad_arguments),
    UNIT_TEST(test_shorthand_equals_full_form),
    UNIT_TEST(test_load),
    UNIT_TEST(test_load_errors),
    UNIT_TEST(test_load_missing_file),
    UNIT_TEST(test_match_from_lua),
    UNIT_TEST(test_unknown_default),
    UNIT_TEST(test_tostring),
};

UNIT_MAIN("router_lua", tests)
