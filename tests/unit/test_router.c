/* lua/router_match.c, router_index.c, router_host.c: what the compiled router
 * decides. Each table routes requests through a router built from Lua and
 * compares the whole decision, described as one line. */
#include "log.h"
#include "router_fixture.h"

#include <stdio.h>
#include <unistd.h>

struct rcase {
    const char *request; /* "METHOD host target [Name:value ...]" */
    const char *want;    /* rfix_describe's line */
};

static void run_cases(const char *services, const char *chunk, const struct rcase *cases,
                      size_t n)
{
    struct rfix f;
    int built = rfix_build(&f, services, chunk);
    CHECKF(built == 0, "router builds (%s)", f.err);
    for (size_t i = 0; built == 0 && i < n; i++)
        RFIX_CHECK(&f, cases[i].request, cases[i].want);
    rfix_free(&f);
}
#define RUN_CASES(services, chunk, cases)                                                \
    run_cases(services, chunk, cases, sizeof cases / sizeof *cases)

/* ---- Gateway API precedence ------------------------------------------------------- */

static const char gateway_routes[] =
    "return router.new { default = 'fallback', routes = {\n"
    "  { host = 'a.com', path = '/', service = 'a-root' },\n"
    "  { hostnames = { 'a.com' }, rules = {\n"
    "    { matches = { { path = { type = 'Exact', value = '/exact' } } },\n"
    "      service = 'a-exact' },\n"
    "    { path = '/api', service = 'a-api' },\n"
    "    { path = '/api/v2/', service = 'a-api-v2' },\n"
    "    { path = '/api', method = 'POST', service = 'a-api-post' },\n"
    "    { path = '/api', headers = { { name = 'x-beta', value = '1' } },\n"
    "      service = 'a-beta' },\n"
    "    { path = '/api', headers = { ['x-beta'] = '1', ['X-Gamma'] = '1' },\n"
    "      service = 'a-beta-gamma' },\n"
    "    { path = '/api', queryParams = { { name = 'v', value = '2' } },\n"
    "      service = 'a-q' },\n"
    "    { path = { type = 'RegularExpression', value = '/re/[0-9]+' },\n"
    "      service = 'a-re' },\n"
    "    { path = { type = 'RegularExpression', value = '/alt|/alt/longer' },\n"
    "      service = 'a-re' },\n"
    "    { headers = { { name = 'x-re', value = 'ab+|c',\n"
    "                    type = 'RegularExpression' } },\n"
    "      path = '/hre', service = 'a-hre' },\n"
    "  } },\n"
    "  { host = '*.a.com', service = 'wild-a' },\n"
    "  { host = '*.b.a.com', service = 'wild-b-a' },\n"
    "  { host = 'c.com', path = '/c', service = 'c' },\n"
    "  { path = '/any', service = 'any' },\n"
    "  { path = '/api', service = 'api-second' },\n"
    "  { host = '[::1]', service = 'c' },\n"
    "}}";

static const char gateway_services[] =
    "a-root a-exact a-api a-api-v2 a-api-post a-beta a-beta-gamma a-q a-re a-hre wild-a "
    "wild-b-a c any api-second fallback";

static void test_gateway_precedence(void)
{
    static const struct rcase cases[] = {
        {"GET a.com /", "a-root"},
        {"GET a.com /exact", "a-exact"},
        {"GET a.com /exact/", "a-root"}, /* Exact is exact */
        {"GET a.com /api", "a-api"},     /* no method/header/query to add */
        {"GET a.com /api/", "a-api"},
        {"GET a.com /apix", "a-root"},              /* element-wise prefix */
        {"POST a.com /api", "a-api-post"},          /* method */
        {"POST a.com /api x-beta:1", "a-api-post"}, /* method beats headers */
        {"GET a.com /api x-beta:1", "a-beta"},
        {"GET a.com /api X-BETA:1 x-gamma:1", "a-beta-gamma"}, /* most headers */
        {"GET a.com /api x-beta:2", "a-api"},
        {"GET a.com /api?v=2", "a-q"},
        {"GET a.com /api?v=2 x-beta:1", "a-beta"}, /* headers beat query */
        {"GET a.com /api?v=3", "a-api"},
        {"POST a.com /api/v2/x x-beta:1", "a-api-v2"}, /* longer prefix first */
        {"GET a.com /api/v2", "a-api-v2"},             /* '/api/v2/' = '/api/v2' */
        {"GET a.com /re/123", "a-re"},
        {"GET a.com /re/123a", "a-root"},  /* regexes match whole paths */
        {"GET a.com /alt/longer", "a-re"}, /* whichever alternative covers it */
        {"GET a.com /hre x-re:abbb", "a-hre"},
        {"GET a.com /hre x-re:c", "a-hre"},
        {"GET a.com /hre x-re:abc", "a-root"},
        {"GET A.Com:8080 /api", "a-api"}, /* case and port do not matter */
        {"GET a.com. /exact", "a-exact"}, /* nor a trailing dot */
        {"GET x.a.com /", "wild-a"},
        {"GET b.a.com /", "wild-a"},       /* *.b.a.com needs one more label */
        {"GET x.b.a.com /", "wild-b-a"},   /* the longest wildcard */
        {"GET y.x.b.a.com /", "wild-b-a"}, /* one or more labels */
        {"GET a.com /any", "a-root"},      /* a host's rules before catch-alls */
        {"GET c.com /c/d", "c"},
        {"GET c.com /any", "any"}, /* ...then the catch-all routes */
        {"GET c.com /api", "api-second"},
        {"GET other.com /any/x", "any"},
        {"GET other.com /nothing", "fallback"},
        {"GET - /any", "any"}, /* no Host at all */
        {"GET - /", "fallback"},
        {"GET [::1]:8080 /x", "c"}, /* an IPv6 literal */
    };
    RUN_CASES(gateway_services, gateway_routes, cases);
}

/* Equal precedence: the older route, then the earlier rule, wins. */
static void test_gateway_ties(void)
{
    static const struct rcase cases[] = {
        {"GET t.com /x", "first"},
        {"GET t.com /x h:1", "first"},
        {"GET t.com /y h:1", "second"},
    };
    RUN_CASES("first second third",
              "return router.new { routes = {\n"
              "  { host = 't.com', rules = {\n"
              "    { path = '/x', service = 'first' },\n"
              "    { path = '/x', service = 'second' } } },\n"
              "  { host = 't.com', rules = {\n"
              "    { path = '/x', service = 'third' },\n"
              "    { path = '/y', headers = { h = '1' }, service = 'second' },\n"
              "    { path = '/y', headers = { h = '1' }, service = 'third' } } },\n"
              "}}",
              cases);
}

/* ---- Ingress semantics ------------------------------------------------------------ */

static void test_ingress_precedence(void)
{
    static const struct rcase cases[] = {
        {"GET foo.com /foo", "exact-foo"}, /* equal length: Exact beats Prefix */
        {"GET foo.com /foo/", "prefix-foo"},
        {"GET foo.com /foo/x", "prefix-foo"},
        {"GET foo.com /foox", "root"},
        {"GET foo.com /bar", "bar-slash"}, /* '/bar/' is longer as written */
        {"GET foo.com /bar/x", "bar-slash"},
        {"GET foo.com /impl/x", "impl"}, /* ImplementationSpecific = Prefix */
        {"GET x.foo.com /", "wild"},
        {"GET y.x.foo.com /", "404"}, /* a wildcard covers exactly one label */
        {"GET foo.com.evil /foo", "404"},
        {"GET other.com /", "404"},
    };
    RUN_CASES("exact-foo prefix-foo bar bar-slash impl wild root",
              "return router.new { semantics = 'ingress', routes = {\n"
              "  { host = 'foo.com', rules = {\n"
              "    { matches = { { path = { type = 'Prefix', value = '/' } } },\n"
              "      service = 'root' },\n"
              "    { matches = { { path = { type = 'Prefix', value = '/foo' } } },\n"
              "      service = 'prefix-foo' },\n"
              "    { matches = { { path = { type = 'Exact', value = '/foo' } } },\n"
              "      service = 'exact-foo' },\n"
              "    { path = '/bar', service = 'bar' },\n"
              "    { path = '/bar/', service = 'bar-slash' },\n"
              "    { path = { type = 'ImplementationSpecific', value = '/impl' },\n"
              "      service = 'impl' } } },\n"
              "  { host = '*.foo.com', service = 'wild' },\n"
              "}}",
              cases);
}

/* ---- filters and decisions -------------------------------------------------------- */

static const char filter_routes[] =
    "local r = router.new { routes = { { name = 'f', host = 'f.com', rules = {\n"
    "  { path = '/set', service = 's', filters = { { type = 'RequestHeaderModifier',\n"
    "      set = { { name = 'X-Set', value = '1' } }, add = { ['X-Add'] = '2' },\n"
    "      remove = { 'X-Rm' } } } },\n"
    "  { path = '/resp', service = 's', filters = { { type = 'ResponseHeaderModifier',\n"
    "      set = { ['X-R'] = 'r' } } } },\n"
    "  { path = '/strip', service = 's', filters = { { type = 'URLRewrite',\n"
    "      path = { type = 'ReplacePrefixMatch', value = '/' } } } },\n"
    "  { path = '/pre/', service = 's', filters = { { type = 'URLRewrite',\n"
    "      hostname = 'Up.Example',\n"
    "      path = { type = 'ReplacePrefixMatch', value = '/new/' } } } },\n"
    "  { path = '/full', service = 's', filters = { { type = 'URLRewrite',\n"
    "      path = { type = 'ReplaceFullPath', value = '/f' } } } },\n"
    "  { path = '/redir', filters = { { type = 'RequestRedirect', scheme = 'https',\n"
    "      statusCode = 301 } } },\n"
    "  { path = '/redir-prefix', filters = { { type = 'RequestRedirect',\n"
    "      hostname = 'r.com', port = 8443,\n"
    "      path = { type = 'ReplacePrefixMatch', value = '/x' } } } },\n"
    "  { path = '/redir-full', filters = { { type = 'RequestRedirect',\n"
    "      path = { type = 'ReplaceFullPath', value = '/elsewhere' } } } },\n"
    "  { path = '/mirror', service = 's', filters = { { type = 'RequestMirror',\n"
    "      service = 'm' } } },\n"
    "  { path = '/weights', backends = { { service = 'w1', weight = 0 }, 'w2' } },\n"
    "  { path = '/zero', backends = { { service = 'w1', weight = 0 } } },\n"
    "  { path = '/none', backends = {} },\n"
    "  { path = '/ghost', service = 'ghost' },\n"
    "  { path = '/mirror-ghost', service = 's', filters = { { type = 'RequestMirror',\n"
    "      service = 'ghost-mirror' } } },\n"
    "  { path = '/respond', respond = { status = 503, body = 'down',\n"
    "      headers = { ['Retry-After'] = '5' } } },\n"
    "  { path = '/timeout', timeout = 2.5, service = 's' },\n"
    "  { path = '/be',\n"
    "    filters = { { type = 'RequestHeaderModifier', set = { ['X-Rule'] = 'r' } } },\n"
    "    backends = { { service = 'b1', filters = {\n"
    "      { type = 'RequestHeaderModifier', add = { ['X-Be'] = 'b' } },\n"
    "      { type = 'URLRewrite',\n"
    "        path = { type = 'ReplaceFullPath', value = '/be' } } } } } },\n"
    "} } } } return r";

static void test_filters(void)
{
    static const struct rcase cases[] = {
        {"GET f.com /set", "s req=set:X-Set=1,add:X-Add=2,remove:X-Rm tag=f"},
        {"GET f.com /resp", "s resp=set:X-R=r tag=f"},
        {"GET f.com /strip", "s path=/ tag=f"},
        {"GET f.com /strip/", "s path=/ tag=f"},
        {"GET f.com /strip/x/y?q=1", "s path=/x/y tag=f"},
        {"GET f.com /pre", "s path=/new host=up.example tag=f"},
        {"GET f.com /pre/a/b", "s path=/new/a/b host=up.example tag=f"},
        {"GET f.com /full/x", "s path=/f tag=f"},
        {"GET f.com /redir/a", "redirect 301 scheme=https port=443 tag=f"},
        {"GET f.com /redir-prefix/a?b",
         "redirect 302 host=r.com port=8443 path=/x/a tag=f"},
        {"GET f.com /redir-prefix", "redirect 302 host=r.com port=8443 path=/x tag=f"},
        {"GET f.com /redir-full/a", "redirect 302 path=/elsewhere tag=f"},
        {"GET f.com /mirror", "s mirror=m tag=f"},
        {"GET f.com /mirror-ghost", "s tag=f"}, /* an undeclared mirror is skipped */
        {"GET f.com /weights", "w2 tag=f"},     /* weight 0 is never chosen */
        {"GET f.com /zero", "500 tag=f"},
        {"GET f.com /none", "500 tag=f"},
        {"GET f.com /ghost", "500 tag=f"}, /* undeclared service: 500 */
        {"GET f.com /respond", "respond 503 body=down headers=set:Retry-After=5 tag=f"},
        {"GET f.com /timeout", "s timeout=2.5 tag=f"},
        {"GET f.com /be", "b1 path=/be req=set:X-Rule=r,add:X-Be=b tag=f"},
        {"GET f.com /nothing", "404"},
    };
    char log_path[64];
    unit_temp_file("", log_path, sizeof log_path);
    REQUIRE(foyer_log_open_error(log_path) == 0);
    RUN_CASES("s m w1 w2 b1", filter_routes, cases);
    static char text[8192];
    unit_read_file(log_path, text, sizeof text);
    CHECKF(strstr(text,
                  "test.lua:1: routes[1] ('f').rules[13]: service 'ghost' is not "
                  "declared: requests routed to it get 500 (used by 1 rule)") != NULL,
           "the log names the rule using an undeclared service (got \"%s\")", text);
    CHECKF(strstr(text, "'ghost-mirror' is not declared: copies mirrored to it are not "
                        "sent") != NULL,
           "the log names an undeclared mirror (got \"%s\")", text);
    foyer_log_open_error(NULL);
    unlink(log_path);
}

/* Per-backend filters follow the backend the weights picked. */
static void test_weights(void)
{
    struct rfix f;
    struct foyer_request r;
    unsigned a = 0, b = 0;
    int built = rfix_build(
        &f, "a b",
        "return router.new { routes = { { backends = {\n"
        "  { service = 'a', weight = 70, filters = {\n"
        "    { type = 'RequestHeaderModifier', set = { Backend = 'a' } } } },\n"
        "  { service = 'b', weight = 30, filters = {\n"
        "    { type = 'RequestHeaderModifier', set = { Backend = 'b' } } } } } } } }");
    REQUIRE(built == 0);
    foyer_router_seed(42);
    for (int i = 0; i < 10000; i++) {
        const struct foyer_route_decision *d = rfix_route(&f, "GET w.com /", &r);
        REQUIRE(d != NULL && d->service != NULL && d->request_headers.n == 1);
        int is_a = strcmp(d->service->name, "a") == 0;
        a += is_a;
        b += !is_a;
        CHECK(d->request_headers.v[0].value.p[0] == d->service->name[0]);
    }
    CHECKF(a > 6800 && a < 7200, "70%% to a (got %u of 10000)", a);
    CHECKF(b > 2800 && b < 3200, "30%% to b (got %u of 10000)", b);
    rfix_free(&f);
}

/* Gateway API: an unknown backend keeps its share, which gets 500. */
static void test_weights_with_invalid_backend(void)
{
    struct rfix f;
    struct foyer_request r;
    unsigned errors = 0;
    REQUIRE(rfix_build(&f, "a",
                       "return router.new { routes = { { backends = {\n"
                       "  { service = 'a', weight = 1 },\n"
                       "  { service = 'gone', weight = 1 } } } } }") == 0);
    for (int i = 0; i < 4000; i++) {
        const struct foyer_route_decision *d = rfix_route(&f, "GET w.com /", &r);
        errors += d->status == 500;
    }
    CHECKF(errors > 1800 && errors < 2200, "half get 500 (got %u of 4000)", errors);
    rfix_free(&f);
}

/* ---- listeners -------------------------------------------------------------------- */

static void test_listeners(void)
{
    static const struct rcase plain[] = {
        {"GET foo.bar.com /", "exact"},    /* exact listener beats *.bar.com */
        {"GET baz.bar.com /", "narrowed"}, /* route *.com narrowed to *.bar.com */
        {"GET x.y.bar.com /x", "xy"},      {"GET x.y.bar.com /", "narrowed"},
        {"GET bar.com /", "404"}, /* listener 'any': no route for it */
        {"GET other.com /", "other"},      {"GET nowhere.org /", "everywhere"},
        {"GET secure.com /", "404"}, /* the TLS listener is not on :80 */
    };
    static const char chunk[] =
        "return router.new { listeners = {\n"
        "    { name = 'exact', hostname = 'foo.bar.com' },\n"
        "    { name = 'wild', hostname = '*.bar.com' },\n"
        "    { name = 'any' },\n"
        "    { name = 'tls', hostname = 'secure.com', port = 443,\n"
        "      protocol = 'HTTPS' } },\n"
        "  routes = {\n"
        "    { listeners = { 'exact' }, service = 'exact' },\n"
        "    { listeners = { 'wild' }, hostnames = { '*.com' }, service = 'narrowed' },\n"
        "    { listeners = { 'wild' }, hostnames = { 'x.y.bar.com' }, path = '/x',\n"
        "      service = 'xy' },\n"
        "    { listeners = { 'any' }, hostnames = { 'other.com' }, service = 'other' },\n"
        "    { listeners = { 'tls' }, service = 'secure' },\n"
        "    { hostnames = { 'nowhere.org' }, service = 'everywhere' },\n"
        "  } }";
    static const char services[] = "exact narrowed xy other secure everywhere";
    RUN_CASES(services, chunk, plain);
    struct rfix f;
    REQUIRE(rfix_build(&f, services, chunk) == 0);
    f.listen_port = 443;
    f.scheme = "https";
    RFIX_CHECK(&f, "GET secure.com /", "secure");
    RFIX_CHECK(&f, "GET SECURE.com:443 /x", "secure");
    f.scheme = "http"; /* plain HTTP on 443: not the HTTPS listener */
    RFIX_CHECK(&f, "GET secure.com /", "404");
    rfix_free(&f);
}

/* A request sees the routes of its listener only; unmatched there, the
 * default; no listener for its host: 404. */
static void test_listener_isolation(void)
{
    static const struct rcase cases[] = {
        {"GET a.example.com /", "a"},
        {"GET b.example.com /", "catch-all"}, /* not a's routes */
        {"GET c.other.com /", "404"},         /* no listener at all */
    };
    RUN_CASES("a catch-all",
              "return router.new { default = 'catch-all',\n"
              "  listeners = { { name = 'a', hostname = 'a.example.com' },\n"
              "                { name = 'b', hostname = 'b.example.com' } },\n"
              "  routes = { { service = 'a', listeners = { 'a' } },\n"
              "             { hostnames = { 'a.example.com' }, path = '/x',\n"
              "               service = 'a' } } }",
              cases);
}

/* ---- scale ------------------------------------------------------------------------ */

/* Many hosts built in Lua: every one routes to its own rules. */
static void test_many_hosts(void)
{
    struct rfix f;
    struct foyer_request r;
    char spec[128], want[64], got[256];
    REQUIRE(
        rfix_build(
            &f, "s0 s1 s2",
            "local routes = {}\n"
            "for i = 1, 20000 do routes[i] = { hostnames = { 'h' .. i .. '.example' },\n"
            "  rules = { { path = '/a', service = 's' .. (i % 3) },\n"
            "            { path = '/b', service = 's' .. ((i + 1) % 3) } } } end\n"
            "return router.new { routes = routes }") == 0);
    for (int i = 1; i <= 20000; i += 997) {
        snprintf(spec, sizeof spec, "GET h%d.example /b/x", i);
        snprintf(want, sizeof want, "s%d", (i + 1) % 3);
        const struct foyer_route_decision *d = rfix_route(&f, spec, &r);
        rfix_describe(d, got, sizeof got);
        CHECKF(strcmp(got, want) == 0, "%s -> %s (got %s)", spec, want, got);
    }
    RFIX_CHECK(&f, "GET h20001.example /a", "404");
    rfix_free(&f);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_gateway_precedence),
    UNIT_TEST(test_gateway_ties),
    UNIT_TEST(test_ingress_precedence),
    UNIT_TEST(test_filters),
    UNIT_TEST(test_weights),
    UNIT_TEST(test_weights_with_invalid_backend),
    UNIT_TEST(test_listeners),
    UNIT_TEST(test_listener_isolation),
    UNIT_TEST(test_many_hosts),
};

UNIT_MAIN("router", tests)
