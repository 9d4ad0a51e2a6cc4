/*
 * End-to-end tests of the `foyer.router` library (issue 3) through the real
 * binary: table-driven cases of our own (they stand alone; the shared corpus
 * is replayed by test_router_corpus), each a router configuration and the
 * requests it must route. Every case starts report backends a, b, c, d, def
 * (a default) and m (a mirror), and its own foyer.
 */
#include "harness.h"
#include "json.h"
#include "router_cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_MS 5000

static const char *const svc_names[] = {"a", "b", "c", "d", "def", "m", NULL};

struct router_case {
    const char *name;
    const char *lua; /* after the service lines and `local router = require ...` */
    struct rc_req reqs[24];
};

#define PREFIX(v) "{ path = { type = \"PathPrefix\", value = \"" v "\" } }"
#define EXACT(v) "{ path = { type = \"Exact\", value = \"" v "\" } }"
#define TO(s) "backends = { { service = \"" s "\" } }"

static const struct router_case router_cases[] = {
    {"hosts_exact_and_wildcard_gateway",
     "route(router.new {\n"
     "  semantics = \"gateway\",\n"
     "  routes = {\n"
     "    { hostnames = { \"a.example\" }, rules = { { " TO("a") " } } },\n"
     "    { hostnames = { \"*.wild.example\" }, rules = { { " TO("b") " } } },\n"
     "    { hostnames = { \"x.wild.example\" }, rules = { { " TO("c") " } } },\n"
     "    { hostnames = { \"multi.example\", \"alias.example\" }, rules = { { " TO("d") " } } },\n"
     "  },\n"
     "})\n",
     {
         {.host = "a.example", .target = "/", .status = 200, .backend = "a"},
         /* Case-insensitive, port ignored; the Host goes upstream unchanged. */
         {.host = "A.Example:8080", .target = "/x?y=1", .status = 200, .backend = "a",
          .up_target = "/x?y=1", .up_host = "A.Example:8080"},
         {.host = "one.wild.example", .target = "/", .status = 200, .backend = "b"},
         /* Gateway wildcards match one or more labels. */
         {.host = "two.levels.wild.example", .target = "/", .status = 200, .backend = "b"},
         /* Exact beats wildcard whatever the order. */
         {.host = "x.wild.example", .target = "/", .status = 200, .backend = "c"},
         {.host = "X.WILD.example:80", .target = "/", .status = 200, .backend = "c"},
         {.host = "wild.example", .target = "/", .status = 404, .backend = ""},
         {.host = "alias.example", .target = "/", .status = 200, .backend = "d"},
         {.host = "multi.example", .target = "/", .status = 200, .backend = "d"},
         {.host = "other.example", .target = "/", .status = 404, .backend = ""},
         {.host = "a.example.evil", .target = "/", .status = 404, .backend = ""},
     }},
    {"hosts_wildcard_one_label_ingress",
     "route(router.new {\n"
     "  semantics = \"ingress\",\n"
     "  routes = {\n"
     "    { hostnames = { \"*.wild.example\" }, rules = { { " TO("b") " } } },\n"
     "    { hostnames = { \"x.wild.example\" }, rules = { { " TO("c") " } } },\n"
     "  },\n"
     "})\n",
     {
         {.host = "one.wild.example", .target = "/", .status = 200, .backend = "b"},
         /* Ingress wildcards cover exactly one label. */
         {.host = "two.levels.wild.example", .target = "/", .status = 404, .backend = ""},
         {.host = "x.wild.example", .target = "/", .status = 200, .backend = "c"},
         {.host = "wild.example", .target = "/", .status = 404, .backend = ""},
     }},
    {"paths_exact_prefix_regex",
     "route(router.new {\n"
     "  semantics = \"gateway\",\n"
     "  routes = { { rules = {\n"
     "    { matches = { " EXACT("/exact") " }, " TO("a") " },\n"
     "    { matches = { " PREFIX("/pre") " }, " TO("b") " },\n"
     "    { matches = { " PREFIX("/deep/er/") " }, " TO("d") " },\n"
     "    { matches = { { path = { type = \"RegularExpression\", value = \"/re/[0-9]+\" } } },\n"
     "      " TO("c") " },\n"
     "  } } },\n"
     "})\n",
     {
         {.host = "p.example", .target = "/exact", .status = 200, .backend = "a"},
         {.host = "p.example", .target = "/exact?x=1", .status = 200, .backend = "a",
          .up_target = "/exact?x=1"},
         {.host = "p.example", .target = "/exact/", .status = 404, .backend = ""},
         {.host = "p.example", .target = "/exactly", .status = 404, .backend = ""},
         {.host = "p.example", .target = "/pre", .status = 200, .backend = "b"},
         {.host = "p.example", .target = "/pre/", .status = 200, .backend = "b"},
         {.host = "p.example", .target = "/pre/x/y?z", .status = 200, .backend = "b",
          .up_target = "/pre/x/y?z"},
         /* Element-wise: /pre does not cover /prefix. */
         {.host = "p.example", .target = "/prefix", .status = 404, .backend = ""},
         /* Case-sensitive. */
         {.host = "p.example", .target = "/PRE", .status = 404, .backend = ""},
         /* A trailing slash in the prefix still matches the bare path. */
         {.host = "p.example", .target = "/deep/er", .status = 200, .backend = "d"},
         {.host = "p.example", .target = "/deep/er/x", .status = 200, .backend = "d"},
         {.host = "p.example", .target = "/deep/err", .status = 404, .backend = ""},
         {.host = "p.example", .target = "/re/123", .status = 200, .backend = "c"},
         {.host = "p.example", .target = "/re/abc", .status = 404, .backend = ""},
         {.host = "p.example", .target = "/", .status = 404, .backend = ""},
     }},
    {"headers_query_method",
     "route(router.new {\n"
     "  semantics = \"gateway\",\n"
     "  routes = { { rules = {\n"
     "    { matches = { { headers = { { name = \"X-Env\", value = \"beta\" } } } }, " TO("a") " },\n"
     "    { matches = { { headers = { { name = \"x-version\", type = \"RegularExpression\",\n"
     "                                  value = \"^v[0-9]+$\" } } } }, " TO("b") " },\n"
     "    { matches = { { queryParams = { { name = \"debug\", value = \"1\" } } } }, " TO("c") " },\n"
     "    { matches = { { queryParams = { { name = \"id\", type = \"RegularExpression\",\n"
     "                                      value = \"^[0-9]+$\" } } } }, " TO("d") " },\n"
     "    { matches = { { method = \"DELETE\" } }, " TO("def") " },\n"
     "    { matches = { { path = { type = \"PathPrefix\", value = \"/or\" } },\n"
     "                  { headers = { { name = \"X-Or\", value = \"yes\" } } } }, " TO("m") " },\n"
     "  } } },\n"
     "})\n",
     {
         {.host = "h.example", .target = "/", .headers = "X-Env: beta\r\n", .status = 200,
          .backend = "a"},
         /* Names are case-insensitive, values are not. */
         {.host = "h.example", .target = "/", .headers = "x-ENV: beta\r\n", .status = 200,
          .backend = "a"},
         {.host = "h.example", .target = "/", .headers = "X-Env: BETA\r\n", .status = 404,
          .backend = ""},
         {.host = "h.example", .target = "/", .headers = "X-Version: v12\r\n", .status = 200,
          .backend = "b"},
         {.host = "h.example", .target = "/", .headers = "X-Version: v12x\r\n", .status = 404,
          .backend = ""},
         {.host = "h.example", .target = "/?debug=1", .status = 200, .backend = "c"},
         {.host = "h.example", .target = "/x?a=2&debug=1", .status = 200, .backend = "c"},
         {.host = "h.example", .target = "/?debug=10", .status = 404, .backend = ""},
         {.host = "h.example", .target = "/?id=42", .status = 200, .backend = "d"},
         {.host = "h.example", .target = "/?id=4a", .status = 404, .backend = ""},
         {.method = "DELETE", .host = "h.example", .target = "/", .status = 200,
          .backend = "def"},
         /* Precedence: method over headers, headers over query parameters. */
         {.method = "DELETE", .host = "h.example", .target = "/", .headers = "X-Env: beta\r\n",
          .status = 200, .backend = "def"},
         {.host = "h.example", .target = "/?debug=1", .headers = "X-Env: beta\r\n",
          .status = 200, .backend = "a"},
         /* The matches of a rule are OR-ed. */
         {.host = "h.example", .target = "/or/x", .status = 200, .backend = "m"},
         {.host = "h.example", .target = "/else", .headers = "X-Or: yes\r\n", .status = 200,
          .backend = "m"},
         {.host = "h.example", .target = "/", .status = 404, .backend = ""},
     }},
    {"precedence_gateway",
     "route(router.new {\n"
     "  semantics = \"gateway\",\n"
     "  routes = {\n"
     "    { hostnames = { \"*.p.example\" }, rules = {\n"
     "        { matches = { " PREFIX("/a/b/c") " }, " TO("d") " } } },\n"
     "    { hostnames = { \"x.p.example\" }, rules = {\n"
     "        { matches = { " PREFIX("/") " }, " TO("a") " },\n"
     "        { matches = { " PREFIX("/a") " }, " TO("b") " },\n"
     "        { matches = { " EXACT("/a") " }, " TO("c") " },\n"
     "        { matches = { { path = { type = \"PathPrefix\", value = \"/a/b\" }, method = \"POST\" } },\n"
     "          " TO("d") " },\n"
     "        { matches = { " PREFIX("/a/b") " }, " TO("def") " },\n"
     "        { matches = { { path = { type = \"PathPrefix\", value = \"/h\" },\n"
     "                        headers = { { name = \"h1\", value = \"1\" } } } }, " TO("a") " },\n"
     "        { matches = { { path = { type = \"PathPrefix\", value = \"/h\" },\n"
     "                        headers = { { name = \"h1\", value = \"1\" }, { name = \"h2\", value = \"2\" } } } },\n"
     "          " TO("b") " },\n"
     "        { matches = { { path = { type = \"PathPrefix\", value = \"/q\" },\n"
     "                        queryParams = { { name = \"q1\", value = \"1\" } } } }, " TO("a") " },\n"
     "        { matches = { { path = { type = \"PathPrefix\", value = \"/q\" },\n"
     "                        queryParams = { { name = \"q1\", value = \"1\" }, { name = \"q2\", value = \"2\" } } } },\n"
     "          " TO("b") " },\n"
     "        { matches = { " PREFIX("/t") " }, " TO("c") " } } },\n"
     "    { hostnames = { \"x.p.example\" }, rules = {\n"
     "        { matches = { " PREFIX("/t") " }, " TO("d") " } } },\n"
     "  },\n"
     "})\n",
     {
         /* The exact host's rules win over a wildcard host's longer prefix. */
         {.host = "x.p.example", .target = "/a/b/c", .status = 200, .backend = "def"},
         {.host = "y.p.example", .target = "/a/b/c/d", .status = 200, .backend = "d"},
         {.host = "y.p.example", .target = "/a", .status = 404, .backend = ""},
         /* Exact over any prefix, then the longest prefix. */
         {.host = "x.p.example", .target = "/a", .status = 200, .backend = "c"},
         {.host = "x.p.example", .target = "/a/x", .status = 200, .backend = "b"},
         {.host = "x.p.example", .target = "/ab", .status = 200, .backend = "a"},
         /* Then method, then the most header matches, the most query matches. */
         {.method = "POST", .host = "x.p.example", .target = "/a/b/z",
          .headers = "Content-Length: 0\r\n", .status = 200, .backend = "d"},
         {.host = "x.p.example", .target = "/a/b/z", .status = 200, .backend = "def"},
         {.host = "x.p.example", .target = "/h", .headers = "H1: 1\r\nH2: 2\r\n", .status = 200,
          .backend = "b"},
         {.host = "x.p.example", .target = "/h", .headers = "H1: 1\r\n", .status = 200,
          .backend = "a"},
         {.host = "x.p.example", .target = "/q?q2=2&q1=1", .status = 200, .backend = "b"},
         {.host = "x.p.example", .target = "/q?q1=1", .status = 200, .backend = "a"},
         /* A full tie goes to the route listed first. */
         {.host = "x.p.example", .target = "/t", .status = 200, .backend = "c"},
     }},
    {"precedence_ingress",
     "route(router.new {\n"
     "  semantics = \"ingress\",\n"
     "  routes = {\n"
     "    { hostnames = { \"i.example\" }, rules = {\n"
     "        { matches = { " PREFIX("/foo") " }, " TO("a") " },\n"
     "        { matches = { " PREFIX("/foo/bar") " }, " TO("b") " },\n"
     "        { matches = { " PREFIX("/same") " }, " TO("c") " },\n"
     "        { matches = { " EXACT("/same") " }, " TO("d") " } } },\n"
     "    { hostnames = { \"*.i.example\" }, rules = { { " TO("def") " } } },\n"
     "  },\n"
     "})\n",
     {
         {.host = "i.example", .target = "/foo/bar/x", .status = 200, .backend = "b"},
         {.host = "i.example", .target = "/foo/x", .status = 200, .backend = "a"},
         {.host = "i.example", .target = "/foo/barn", .status = 200, .backend = "a"},
         /* Exact beats Prefix at equal length. */
         {.host = "i.example", .target = "/same", .status = 200, .backend = "d"},
         {.host = "i.example", .target = "/same/x", .status = 200, .backend = "c"},
         {.host = "w.i.example", .target = "/anything", .status = 200, .backend = "def"},
         {.host = "a.b.i.example", .target = "/", .status = 404, .backend = ""},
         {.host = "i.example", .target = "/", .status = 404, .backend = ""},
     }},
    {"filters_header_modifiers",
     "route(router.new {\n"
     "  semantics = \"gateway\",\n"
     "  routes = { { rules = {\n"
     "    { matches = { " PREFIX("/req") " },\n"
     "      filters = { { type = \"RequestHeaderModifier\", set = { [\"X-Set\"] = \"s\" },\n"
     "                    add = { [\"X-Add\"] = \"a\" }, remove = { \"X-Remove\" } } },\n"
     "      " TO("a") " },\n"
     "    { matches = { " PREFIX("/resp") " },\n"
     "      filters = { { type = \"ResponseHeaderModifier\", set = { [\"X-RSet\"] = \"s\" },\n"
     "                    add = { [\"X-RAdd\"] = \"a\" }, remove = { \"X-RRemove\" } } },\n"
     "      " TO("b") " },\n"
     "  } } },\n"
     "})\n",
     {
         {.host = "f.example", .target = "/req",
          .headers = "x-set: old\r\nX-Add: orig\r\nX-Remove: x\r\nX-Other: o\r\n", .status = 200,
          .backend = "a", .up_headers = "X-Set=s\nX-Add=orig,a\nX-Other=o",
          .up_absent = "X-Remove"},
         {.host = "f.example", .target = "/req", .status = 200, .backend = "a",
          .up_headers = "X-Set=s\nX-Add=a"},
         {.host = "f.example", .target = "/resp",
          .headers = "X-Backend-Response-Header: X-RSet: old\r\n"
                     "X-Backend-Response-Header: X-RAdd: b\r\n"
                     "X-Backend-Response-Header: x-rremove: r\r\n"
                     "X-Backend-Response-Header: X-Kept: k\r\n",
          .status = 200, .backend = "b", .resp_headers = "X-RSet=s\nX-RAdd=b,a\nX-Kept=k",
          .resp_absent = "X-RRemove"},
     }},
    {"filters_redirect",
     "route(router.new {\n"
     "  semantics = \"gateway\",\n"
     "  routes = { { rules = {\n"
     "    { matches = { " PREFIX("/secure") " },\n"
     "      filters = { { type = \"RequestRedirect\", scheme = \"https\" } } },\n"
     "    { matches = { " PREFIX("/moved") " },\n"
     "      filters = { { type = \"RequestRedirect\", statusCode = 301, hostname = \"new.example\",\n"
     "                    path = { type = \"ReplacePrefixMatch\", value = \"/here\" } } } },\n"
     "    { matches = { " PREFIX("/full") " },\n"
     "      filters = { { type = \"RequestRedirect\",\n"
     "                    path = { type = \"ReplaceFullPath\", value = \"/elsewhere\" } } } },\n"
     "    { matches = { " PREFIX("/port") " },\n"
     "      filters = { { type = \"RequestRedirect\", scheme = \"https\", port = 8443 } } },\n"
     "    { matches = { " PREFIX("/") " }, " TO("a") " },\n"
     "  } } },\n"
     "})\n",
     {
         /* http -> https: the request's host and path, no port. */
         {.host = "r.example", .target = "/secure/x?y=1", .status = 302, .backend = "",
          .location = "https://r.example/secure/x?y=1"},
         {.host = "R.example:8080", .target = "/secure", .status = 302, .backend = "",
          .location = "https://r.example/secure"},
         {.host = "r.example", .target = "/moved/x", .status = 301, .backend = "",
          .location = "http://new.example{port}/here/x"},
         {.host = "r.example", .target = "/moved", .status = 301, .backend = "",
          .location = "http://new.example{port}/here"},
         {.host = "r.example", .target = "/full/a/b", .status = 302, .backend = "",
          .location = "http://r.example{port}/elsewhere"},
         {.host = "r.example", .target = "/port/z", .status = 302, .backend = "",
          .location = "https://r.example:8443/port/z"},
         {.host = "r.example", .target = "/securely", .status = 200, .backend = "a"},
     }},
    {"filters_url_rewrite",
     "route(router.new {\n"
     "  semantics = \"gateway\",\n"
     "  routes = { { rules = {\n"
     "    { matches = { " PREFIX("/strip") " },\n"
     "      filters = { { type = \"URLRewrite\", path = { type = \"ReplacePrefixMatch\", value = \"/\" } } },\n"
     "      " TO("a") " },\n"
     "    { matches = { " PREFIX("/v1/api") " },\n"
     "      filters = { { type = \"URLRewrite\", path = { type = \"ReplacePrefixMatch\", value = \"/api/v2\" } } },\n"
     "      " TO("b") " },\n"
     "    { matches = { " PREFIX("/full") " },\n"
     "      filters = { { type = \"URLRewrite\", hostname = \"internal.example\",\n"
     "                    path = { type = \"ReplaceFullPath\", value = \"/static/index.html\" } } },\n"
     "      " TO("c") " },\n"
     "  } } },\n"
     "})\n",
     {
         /* /strip + "/" gives "/", never "//". */
         {.host = "u.example", .target = "/strip", .status = 200, .backend = "a",
          .up_target = "/"},
         {.host = "u.example", .target = "/strip/", .status = 200, .backend = "a",
          .up_target = "/"},
         {.host = "u.example", .target = "/strip/x/y", .status = 200, .backend = "a",
          .up_target = "/x/y"},
         {.host = "u.example", .target = "/strip/x?q=1&r=%2F", .status = 200, .backend = "a",
          .up_target = "/x?q=1&r=%2F", .up_host = "u.example"},
         {.host = "u.example", .target = "/stripped", .status = 404, .backend = ""},
         {.host = "u.example", .target = "/v1/api/users", .status = 200, .backend = "b",
          .up_target = "/api/v2/users"},
         {.host = "u.example", .target = "/v1/api", .status = 200, .backend = "b",
          .up_target = "/api/v2"},
         {.host = "u.example", .target = "/full/anything?z=9", .status = 200, .backend = "c",
          .up_target = "/static/index.html?z=9", .up_host = "internal.example"},
     }},
    {"default_backend",
     "route(router.new {\n"
     "  semantics = \"gateway\",\n"
     "  default = \"def\",\n"
     "  routes = { { hostnames = { \"a.example\" }, rules = {\n"
     "    { matches = { " PREFIX("/app") " }, " TO("a") " } } } },\n"
     "})\n",
     {
         {.host = "a.example", .target = "/app/1", .status = 200, .backend = "a"},
         {.host = "a.example", .target = "/other?x", .status = 200, .backend = "def",
          .up_target = "/other?x"},
         {.host = "b.example", .target = "/app", .status = 200, .backend = "def"},
     }},
    {"no_default_is_404",
     "route(router.new {\n"
     "  semantics = \"ingress\",\n"
     "  routes = { { hostnames = { \"a.example\" }, rules = { { " TO("a") " } } } },\n"
     "})\n",
     {
         {.host = "a.example", .target = "/", .status = 200, .backend = "a"},
         {.host = "b.example", .target = "/", .status = 404, .backend = ""},
     }},
    {"invalid_backends_are_500",
     "route(router.new {\n"
     "  semantics = \"gateway\",\n"
     "  routes = { { rules = {\n"
     "    { matches = { " PREFIX("/broken") " }, backends = { { service = \"no-such-service\" } } },\n"
     "    { matches = { " PREFIX("/zero") " }, backends = { { service = \"a\", weight = 0 } } },\n"
     "    { matches = { " PREFIX("/empty") " }, backends = {} },\n"
     "    { matches = { " PREFIX("/") " }, " TO("b") " },\n"
     "  } } },\n"
     "})\n",
     {
         /* A matched rule with only invalid backends: 500, no fall-through. */
         {.host = "i.example", .target = "/broken/x", .status = 500, .backend = ""},
         {.host = "i.example", .target = "/empty", .status = 500, .backend = ""},
         /* Only weight 0: nothing can be chosen. */
         {.host = "i.example", .target = "/zero", .status = 500, .backend = ""},
         {.host = "i.example", .target = "/ok", .status = 200, .backend = "b"},
     }},
    {"shorthand_form",
     "route(router.new {\n"
     "  routes = {\n"
     "    { host = \"s.example\", path = \"/x\", service = \"a\" },\n"
     "    { host = \"s.example\", service = \"b\" },\n"
     "    { path = \"/y\", service = \"c\" },\n"
     "    { host = \"*.s.example\", service = \"d\" },\n"
     "  },\n"
     "})\n",
     {
         {.host = "s.example", .target = "/x/1", .status = 200, .backend = "a"},
         {.host = "s.example", .target = "/x", .status = 200, .backend = "a"},
         /* A path string is a PathPrefix: element-wise. */
         {.host = "s.example", .target = "/xy", .status = 200, .backend = "b"},
         {.host = "s.example", .target = "/", .status = 200, .backend = "b"},
         {.host = "other.example", .target = "/y/z", .status = 200, .backend = "c"},
         {.host = "other.example", .target = "/x", .status = 404, .backend = ""},
         {.host = "w.s.example", .target = "/", .status = 200, .backend = "d"},
     }},
    {"match_inside_route_function",
     "local r = router.new {\n"
     "  semantics = \"gateway\",\n"
     "  routes = { { hostnames = { \"m.example\" }, rules = {\n"
     "    { matches = { " PREFIX("/api") " },\n"
     "      filters = { { type = \"RequestHeaderModifier\", set = { [\"X-Via-Router\"] = \"1\" } } },\n"
     "      " TO("a") " } } } },\n"
     "}\n"
     "route(function(req)\n"
     "  if req:header(\"x-force\") == \"c\" then return \"c\" end\n"
     "  local d = r:match(req)\n"
     "  if d then return d end\n"
     "  if req.path == \"/teapot\" then return { respond = { status = 418, body = \"tea\" } } end\n"
     "  return \"def\"\n"
     "end)\n",
     {
         {.host = "m.example", .target = "/api/x", .status = 200, .backend = "a",
          .up_headers = "X-Via-Router=1"},
         {.host = "m.example", .target = "/api/x", .headers = "X-Force: c\r\n", .status = 200,
          .backend = "c", .up_absent = "X-Via-Router"},
         /* No rule matched: the function goes on (no 404 from the router). */
         {.host = "m.example", .target = "/other", .status = 200, .backend = "def"},
         {.host = "m.example", .target = "/teapot", .status = 418, .backend = ""},
         {.host = "x.example", .target = "/api", .status = 200, .backend = "def"},
     }},
    {"listener_isolation",
     "route(router.new {\n"
     "  semantics = \"gateway\",\n"
     "  listeners = {\n"
     "    { name = \"wild\", hostname = \"*.example.com\" },\n"
     "    { name = \"foo\", hostname = \"foo.example.com\" },\n"
     "    { name = \"any\" },\n"
     "  },\n"
     "  routes = {\n"
     "    { listeners = { \"wild\" }, rules = { { " TO("a") " } } },\n"
     "    { listeners = { \"foo\" }, rules = { { matches = { " PREFIX("/only") " }, " TO("b") " } } },\n"
     "    { listeners = { \"any\" }, hostnames = { \"*.org\" }, rules = { { " TO("c") " } } },\n"
     "    { hostnames = { \"bar.example.com\", \"x.net\" }, rules = {\n"
     "        { matches = { " PREFIX("/all") " }, " TO("d") " } } },\n"
     "  },\n"
     "})\n",
     {
         {.host = "bar.example.com", .target = "/", .status = 200, .backend = "a"},
         {.host = "foo.example.com", .target = "/only", .status = 200, .backend = "b"},
         /* foo.example.com sees only the routes of its own listener. */
         {.host = "foo.example.com", .target = "/", .status = 404, .backend = ""},
         {.host = "x.org", .target = "/", .status = 200, .backend = "c"},
         {.host = "example.com", .target = "/", .status = 404, .backend = ""},
         /* A route without listeners attaches to all of them, narrowed. */
         {.host = "bar.example.com", .target = "/all", .status = 200, .backend = "d"},
         {.host = "x.net", .target = "/all", .status = 200, .backend = "d"},
         {.host = "x.net", .target = "/", .status = 404, .backend = ""},
     }},
};

#define NCASES (sizeof(router_cases) / sizeof(router_cases[0]))

/* Starts the backends and a foyer running lua (after the service lines). */
static void start_with(struct rc_backends *bs, struct e2e_foyer *f, const char *lua)
{
    rc_backends_start(bs, svc_names);
    e2e_foyer_start(f,
                    "set { workers = 1 }\n%s"
                    "local router = require \"foyer.router\"\n"
                    "%s",
                    rc_services(bs), lua);
}

static void run_router_case(size_t idx)
{
    const struct router_case *rc = &router_cases[idx];
    struct rc_backends bs;
    struct e2e_foyer f;
    start_with(&bs, &f, rc->lua);
    int n = 0, bad = 0;
    for (const struct rc_req *q = rc->reqs; q->target; q++, n++) {
        char label[96];
        snprintf(label, sizeof(label), "%s #%d", rc->name, n + 1);
        bad += !rc_run(f.port, label, q);
    }
    e2e_log("%s: %d of %d requests as expected", rc->name, n - bad, n);
    e2e_foyer_stop(&f, 5000);
}

#define ROUTER_CASE(i)                                                                      \
    E2E_TEST(router_case_##i, 60) { run_router_case(i); }

ROUTER_CASE(0)
ROUTER_CASE(1)
ROUTER_CASE(2)
ROUTER_CASE(3)
ROUTER_CASE(4)
ROUTER_CASE(5)
ROUTER_CASE(6)
ROUTER_CASE(7)
ROUTER_CASE(8)
ROUTER_CASE(9)
ROUTER_CASE(10)
ROUTER_CASE(11)
ROUTER_CASE(12)
ROUTER_CASE(13)
ROUTER_CASE(14)
ROUTER_CASE(15)

static void (*const case_fns[])(void) = {
    router_case_0,  router_case_1,  router_case_2,  router_case_3,
    router_case_4,  router_case_5,  router_case_6,  router_case_7,
    router_case_8,  router_case_9,  router_case_10, router_case_11,
    router_case_12, router_case_13, router_case_14, router_case_15,
};

/* ---- cases that are not a list of requests ------------------------------------ */

/* Counts the X-Backend of n GETs on one keep-alive connection; checks, for
 * each response, that the backend's report has header `tag` equal to the
 * backend's name when tag is not NULL. */
static void sample(int port, const char *host, const char *target, int n, const char *tag,
                   int counts[6], int *other)
{
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, port));
    char req[256];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, host);
    memset(counts, 0, 6 * sizeof(int));
    *other = 0;
    for (int i = 0; i < n; i++) {
        struct e2e_resp r = {0};
        bool ok = e2e_send_str(&c, req, T_MS) && e2e_read_response(&c, &r, T_MS) == 1;
        REQUIREF(ok, "sample %d of %d: no response", i + 1, n);
        char be[64] = "";
        e2e_resp_header(&r, "x-backend", be, sizeof(be));
        int k = -1;
        for (int j = 0; j < 6; j++)
            if (strcmp(be, svc_names[j]) == 0)
                k = j;
        if (r.status == 200 && k >= 0)
            counts[k]++;
        else
            ++*other;
        if (tag && r.status == 200) {
            struct e2e_json *rep = e2e_report(&r);
            char v[128];
            const char *got = rep ? e2e_report_header(rep, tag, ",", v, sizeof(v)) : NULL;
            CHECKF(got && strcmp(got, be) == 0,
                   "per-backend filter: backend %s received %s \"%s\"", be, tag,
                   got ? got : "(absent)");
            e2e_json_free(rep);
        }
        if (r.conn_close) {
            e2e_conn_close(&c);
            REQUIRE(e2e_conn_open(&c, port));
        }
        e2e_resp_free(&r);
    }
    e2e_conn_close(&c);
}

E2E_TEST(weighted_backends_and_per_backend_filters, 120)
{
    struct rc_backends bs;
    struct e2e_foyer f;
    start_with(&bs, &f,
               "route(router.new {\n"
               "  semantics = \"gateway\",\n"
               "  routes = { { rules = {\n"
               "    { matches = { " PREFIX("/split") " },\n"
               "      backends = { { service = \"a\", weight = 3 }, { service = \"b\", weight = 1 },\n"
               "                   { service = \"c\", weight = 0 } } },\n"
               "    { matches = { " PREFIX("/tagged") " },\n"
               "      backends = {\n"
               "        { service = \"a\", weight = 1, filters = { { type = \"RequestHeaderModifier\",\n"
               "            set = { [\"X-Picked\"] = \"a\" } } } },\n"
               "        { service = \"b\", weight = 1, filters = { { type = \"RequestHeaderModifier\",\n"
               "            set = { [\"X-Picked\"] = \"b\" } } } } } },\n"
               "  } } },\n"
               "})\n");
    int counts[6], other;
    sample(f.port, "w.example", "/split", 800, NULL, counts, &other);
    e2e_log("3/1/0 split over 800: a=%d b=%d c=%d other=%d", counts[0], counts[1], counts[2],
            other);
    CHECK_INT(other, 0);
    CHECKF(counts[2] == 0, "weight 0 chosen %d times", counts[2]);
    CHECKF(counts[0] >= 520 && counts[0] <= 680, "a got %d of 800, want 600 +- 80", counts[0]);
    sample(f.port, "w.example", "/tagged", 200, "X-Picked", counts, &other);
    e2e_log("1/1 split with filters over 200: a=%d b=%d other=%d", counts[0], counts[1], other);
    CHECK_INT(other, 0);
    CHECKF(counts[0] >= 60 && counts[1] >= 60, "1/1 split gave a=%d b=%d", counts[0], counts[1]);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(request_mirror, 30)
{
    struct rc_backends bs;
    struct e2e_foyer f;
    start_with(&bs, &f,
               "route(router.new {\n"
               "  semantics = \"gateway\",\n"
               "  routes = { { rules = {\n"
               "    { matches = { " PREFIX("/mirrored") " },\n"
               "      filters = { { type = \"RequestMirror\", service = \"m\" } }, " TO("a") " },\n"
               "    { matches = { " PREFIX("/") " }, " TO("b") " },\n"
               "  } } },\n"
               "})\n");
    int mport = rc_backend_port(&bs, "m");
    struct rc_req q = {.host = "mir.example", .target = "/mirrored/x?y=1", .status = 200,
                       .backend = "a", .up_target = "/mirrored/x?y=1"};
    CHECK(rc_run(f.port, "mirror", &q));
    /* The copy arrives on its own, soon. */
    long n = 0;
    E2E_WAIT_UNTIL((n = e2e_backend_requests(mport)) >= 1, T_MS);
    CHECKF(n == 1, "the mirror received %ld requests, want 1", n);
    struct e2e_resp r = {0};
    CHECK_INT(e2e_request(mport,
                          "GET / HTTP/1.1\r\nHost: m\r\nX-Backend-Control: last\r\n"
                          "Connection: close\r\n\r\n",
                          &r, T_MS), 1);
    CHECKF(r.body && strstr(r.body, "\"target\":\"/mirrored/x?y=1\""),
           "the mirror's copy: %.300s", r.body ? r.body : "");
    e2e_resp_free(&r);
    /* Not mirrored elsewhere. */
    struct rc_req q2 = {.host = "mir.example", .target = "/plain", .status = 200, .backend = "b"};
    CHECK(rc_run(f.port, "no mirror", &q2));
    e2e_sleep_ms(200);
    CHECK_INT(e2e_backend_requests(mport), 1);
    e2e_foyer_stop(&f, 5000);
}

static const char routes_json[] =
    "{\"semantics\":\"gateway\",\"default\":\"def\",\"routes\":[{\"hostnames\":[\"j.example\"],"
    "\"rules\":[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"/api\"}}],"
    "\"filters\":[{\"type\":\"URLRewrite\",\"path\":{\"type\":\"ReplacePrefixMatch\","
    "\"value\":\"/\"}}],\"backends\":[{\"service\":\"a\",\"weight\":1}]},"
    "{\"matches\":[{\"headers\":[{\"name\":\"x-json\",\"value\":\"1\"}]}],"
    "\"backends\":[{\"service\":\"b\"}]}]}]}\n";

static const struct rc_req json_reqs[] = {
    {.host = "j.example", .target = "/api/x", .status = 200, .backend = "a", .up_target = "/x"},
    {.host = "j.example", .target = "/y", .headers = "X-Json: 1\r\n", .status = 200,
     .backend = "b"},
    {.host = "j.example", .target = "/other", .status = 200, .backend = "def"},
    {.host = "k.example", .target = "/api", .status = 200, .backend = "def"},
};

E2E_TEST(router_load_json_file, 30)
{
    const char *json = e2e_path("routes.json");
    REQUIRE(e2e_write_file(json, routes_json));
    char lua[1024];
    snprintf(lua, sizeof(lua), "route(router.new(router.load(\"%s\")))\n", json);
    struct rc_backends bs;
    struct e2e_foyer f;
    start_with(&bs, &f, lua);
    for (size_t i = 0; i < sizeof(json_reqs) / sizeof(json_reqs[0]); i++)
        rc_run(f.port, "router.load", &json_reqs[i]);
    e2e_foyer_stop(&f, 5000);
}

/* router.load("routes.json") as the issue writes it: a relative name is
 * looked up next to the configuration (like require), not in foyer's cwd. */
E2E_TEST(router_load_relative_to_config, 30)
{
    REQUIRE(e2e_write_file(e2e_path("routes.json"), routes_json));
    struct rc_backends bs;
    struct e2e_foyer f;
    start_with(&bs, &f, "route(router.new(router.load(\"routes.json\")))\n");
    for (size_t i = 0; i < sizeof(json_reqs) / sizeof(json_reqs[0]); i++)
        rc_run(f.port, "router.load relative", &json_reqs[i]);
    e2e_foyer_stop(&f, 5000);
}

/* A broken router table is a configuration error with file:line. */
E2E_TEST(router_errors_at_load, 30)
{
    static const struct {
        const char *lua;
        int line;
    } bad[] = {
        {"route(router.new { routes = { { rules = { { matches = { { path = { type = \"Fuzzy\", "
         "value = \"/\" } } }, backends = { { service = \"a\" } } } } } } })\n",
         4},
        {"route(router.new { semantics = \"nginx\", routes = {} })\n", 4},
        {"route(router.new { routes = { { rules = { { matches = { { path = { type = "
         "\"RegularExpression\", value = \"([\" } } }, backends = { { service = \"a\" } } } } } } })\n",
         4},
    };
    char *bin = (char *)e2e_env("FOYER_BIN");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char conf[2048], out[4096], want[64];
        snprintf(conf, sizeof(conf),
                 "listen \"127.0.0.1:%d\"\n"                                 /* 1 */
                 "service \"a\" { endpoints = { \"127.0.0.1:9\" } }\n"       /* 2 */
                 "local router = require \"foyer.router\"\n"                 /* 3 */
                 "%s",                                                       /* 4 */
                 e2e_free_port(), bad[i].lua);
        const char *path = e2e_path("bad.lua");
        REQUIRE(e2e_write_file(path, conf));
        char *argv[] = {bin, "-t", "-c", (char *)path, NULL};
        int rc = e2e_run(argv, out, sizeof(out), 10000);
        snprintf(want, sizeof(want), "bad.lua:%d", bad[i].line);
        CHECKF(rc == 1, "bad router table %zu: foyer -t exited %d: %s", i, rc, out);
        CHECKF(strstr(out, want) != NULL, "bad router table %zu: no %s in: %s", i, want, out);
    }
}

int main(void)
{
    static struct e2e_case cases[NCASES + 8];
    size_t n = 0;
    _Static_assert(NCASES <= sizeof(case_fns) / sizeof(case_fns[0]), "add ROUTER_CASE lines");
    for (size_t i = 0; i < NCASES; i++)
        cases[n++] = (struct e2e_case){router_cases[i].name, case_fns[i]};
    cases[n++] = (struct e2e_case)E2E_CASE(weighted_backends_and_per_backend_filters);
    cases[n++] = (struct e2e_case)E2E_CASE(request_mirror);
    cases[n++] = (struct e2e_case)E2E_CASE(router_load_json_file);
    cases[n++] = (struct e2e_case)E2E_CASE(router_load_relative_to_config);
    cases[n++] = (struct e2e_case)E2E_CASE(router_errors_at_load);
    return e2e_run_suite("e2e-router", cases, n);
}
