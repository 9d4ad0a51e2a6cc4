/*
 * The examples under examples/ run as documented: each example's own
 * foyer.lua, with its fixed ports (8080, demo backends 9001...) rewritten to
 * ephemeral ones, against real backends, checked against its README. Also:
 * every original config passes `foyer -t`, every run.sh is valid sh and
 * starts the backends the config expects.
 */
#include "harness.h"
#include "json.h"
#include "router_cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T_MS 5000
#define MAX_NAMES 8

struct example {
    const char *dir;
    const char *names[MAX_NAMES]; /* backends on 9001, 9002, ... (run.sh order) */
};

static const struct example pizza = {"pizza", {"pizza-menu", "pizza-offers", "pizza-web"}};
static const struct example vhost = {
    "virtual-hosting",
    {"pizza-site", "pasta-site", "blogs", "api-v1", "api-v2", "parking"}};
static const struct example canary = {"canary", {"shop-stable", "shop-canary"}};
static const struct example rewrite = {"rewrite-redirect", {"api", "static", "blog"}};

static char *example_file(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/examples/%s/%s", e2e_env("FOYER_SRCDIR"), dir, file);
    char *text = e2e_read_file(path);
    REQUIREF(text != NULL, "cannot read %s", path);
    return text;
}

/* Rewrites the example's fixed addresses to the test's ports. */
static char *rewrite_ports(char *conf, const char *dir, int port, const struct rc_backends *bs)
{
    REQUIREF(strstr(conf, "\"127.0.0.1:8080\""), "%s/foyer.lua does not listen on 8080", dir);
    char from[64], to[64];
    snprintf(to, sizeof(to), "\"127.0.0.1:%d\"", port);
    conf = e2e_replace(conf, "\"127.0.0.1:8080\"", to);
    for (int i = 0; i < bs->n; i++) {
        snprintf(from, sizeof(from), "\"127.0.0.1:%d\"", 9001 + i);
        REQUIREF(strstr(conf, from), "%s/foyer.lua has no endpoint %s for %s", dir, from,
                 bs->names[i]);
        snprintf(to, sizeof(to), "\"127.0.0.1:%d\"", bs->b[i].port);
        conf = e2e_replace(conf, from, to);
    }
    /* Nothing may still point at a fixed port. */
    REQUIREF(!strstr(conf, "127.0.0.1:80\"") && !strstr(conf, "127.0.0.1:90"),
             "%s/foyer.lua has addresses the test did not rewrite", dir);
    return conf;
}

/* Starts the example's backends (report mode) and foyer on its config. */
static void start_example(const struct example *ex, struct rc_backends *bs, struct e2e_foyer *f)
{
    const char *names[MAX_NAMES + 1] = {0};
    for (int i = 0; i < MAX_NAMES && ex->names[i]; i++)
        names[i] = ex->names[i];
    rc_backends_start(bs, names);
    int port = e2e_free_port();
    char *conf = rewrite_ports(example_file(ex->dir, "foyer.lua"), ex->dir, port, bs);
    e2e_foyer_start_conf(f, "foyer.lua", port, conf, NULL);
    free(conf);
}

static int run_reqs(int port, const char *label, const struct rc_req *reqs, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        char l[96];
        snprintf(l, sizeof(l), "%s #%zu", label, i + 1);
        bad += !rc_run(port, l, &reqs[i]);
    }
    return bad;
}

#define NREQ(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the examples -------------------------------------------------------------- */

static const struct rc_req pizza_reqs[] = {
    {.host = "vincentpizza.com", .target = "/menu/margherita", .status = 200,
     .backend = "pizza-menu", .up_target = "/menu/margherita"},
    {.host = "vincentpizza.com", .target = "/menu", .status = 200, .backend = "pizza-menu"},
    {.host = "vincentpizza.com", .target = "/offers/today", .status = 200,
     .backend = "pizza-offers", .up_target = "/offers/today"},
    {.host = "vincentpizza.com", .target = "/offers", .status = 200, .backend = "pizza-offers"},
    {.host = "VincentPizza.com:8080", .target = "/menu/x", .status = 200,
     .backend = "pizza-menu", .up_host = "VincentPizza.com:8080"},
    {.host = "vincentpizza.com", .target = "/drinks/", .status = 404, .backend = ""},
    {.host = "vincentpizza.com", .target = "/menuitems", .status = 404, .backend = ""},
    {.host = "order.pizza.example", .target = "/cart", .status = 200, .backend = "pizza-web",
     .up_target = "/cart"},
    {.host = "www.pizza.example", .target = "/", .status = 200, .backend = "pizza-web"},
    {.host = "pizza.example", .target = "/", .status = 404, .backend = ""},
    {.host = "elsewhere.example", .target = "/menu/", .status = 404, .backend = ""},
};

E2E_TEST(example_pizza, 60)
{
    struct rc_backends bs;
    struct e2e_foyer f;
    start_example(&pizza, &bs, &f);
    run_reqs(f.port, "pizza", pizza_reqs, NREQ(pizza_reqs));
    e2e_foyer_stop(&f, 5000);
}

/* The README's "same routes with foyer.router" block routes the same way. */
E2E_TEST(example_pizza_readme_router, 60)
{
    char *readme = example_file("pizza", "README.md");
    char *start = strstr(readme, "```lua\n");
    REQUIREF(start, "pizza/README.md has no ```lua block");
    start += 7;
    char *end = strstr(start, "```");
    REQUIRE(end);
    *end = 0;
    static const char *const names[] = {"pizza-menu", "pizza-offers", "pizza-web", NULL};
    struct rc_backends bs;
    rc_backends_start(&bs, names);
    struct e2e_foyer f;
    e2e_foyer_start(&f, "set { workers = 1 }\n%s%s", rc_services(&bs), start);
    free(readme);
    /* The table's rows (not the code's corner cases: /menuitems is a 404 for
     * both only because PathPrefix is element-wise). */
    run_reqs(f.port, "pizza README router", pizza_reqs, NREQ(pizza_reqs));
    e2e_foyer_stop(&f, 5000);
}

static const struct rc_req vhost_reqs[] = {
    {.host = "pizza.example", .target = "/", .status = 200, .backend = "pizza-site"},
    {.host = "www.pizza.example", .target = "/menu", .status = 200, .backend = "pizza-site",
     .up_target = "/menu"},
    {.host = "PIZZA.example:8080", .target = "/", .status = 200, .backend = "pizza-site"},
    {.host = "pasta.example", .target = "/", .status = 200, .backend = "pasta-site"},
    {.host = "alice.blog.example", .target = "/post/1", .status = 200, .backend = "blogs",
     .up_target = "/post/1", .up_host = "alice.blog.example"},
    {.host = "bob.blog.example", .target = "/", .status = 200, .backend = "blogs"},
    {.host = "x.alice.blog.example", .target = "/", .status = 200, .backend = "blogs"},
    {.host = "blog.example", .target = "/", .status = 200, .backend = "parking"},
    {.host = "api.example", .target = "/v1/users", .status = 200, .backend = "api-v1",
     .up_target = "/v1/users"},
    {.host = "api.example", .target = "/v1", .status = 200, .backend = "api-v1"},
    {.host = "api.example", .target = "/v2/users?page=3", .status = 200, .backend = "api-v2",
     .up_target = "/v2/users?page=3"},
    {.host = "api.example", .target = "/v1beta", .status = 200, .backend = "parking"},
    {.host = "api.example", .target = "/", .status = 200, .backend = "parking"},
    {.host = "unknown.example", .target = "/", .status = 200, .backend = "parking"},
};

E2E_TEST(example_virtual_hosting, 60)
{
    struct rc_backends bs;
    struct e2e_foyer f;
    start_example(&vhost, &bs, &f);
    run_reqs(f.port, "virtual-hosting", vhost_reqs, NREQ(vhost_reqs));
    e2e_foyer_stop(&f, 5000);
}

static const struct rc_req canary_reqs[] = {
    {.host = "shop.example", .target = "/", .headers = "x-canary: always\r\n", .status = 200,
     .backend = "shop-canary"},
    {.host = "shop.example", .target = "/cart", .headers = "X-Canary: always\r\n", .status = 200,
     .backend = "shop-canary", .up_target = "/cart"},
    {.host = "shop.example", .target = "/", .headers = "x-canary: never\r\n", .status = 200,
     .backend = "shop-stable"},
    {.host = "shop.example", .target = "/", .headers = "Cookie: canary=1\r\n", .status = 200,
     .backend = "shop-canary"},
    {.host = "shop.example", .target = "/", .headers = "Cookie: theme=dark; canary=1\r\n",
     .status = 200, .backend = "shop-canary"},
    {.host = "other.example", .target = "/", .status = 404, .backend = ""},
    {.host = "other.example", .target = "/", .headers = "x-canary: always\r\n", .status = 404,
     .backend = ""},
};

E2E_TEST(example_canary, 120)
{
    struct rc_backends bs;
    struct e2e_foyer f;
    start_example(&canary, &bs, &f);
    /* The overrides hold every time, not just on average. */
    for (int round = 0; round < 10; round++)
        if (run_reqs(f.port, "canary", canary_reqs, NREQ(canary_reqs)))
            break;
    /* The split, over 1000 requests on one keep-alive connection: the
     * canary's share has a standard deviation under 1 %, so 10 +- 4 %. */
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, f.port));
    int stable = 0, can = 0, other = 0;
    for (int i = 0; i < 1000; i++) {
        struct e2e_resp r = {0};
        const char *req = i % 2 ? "GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n"
                                : "GET / HTTP/1.1\r\nHost: shop.example\r\nCookie: canary=0\r\n\r\n";
        REQUIREF(e2e_send_str(&c, req, T_MS) && e2e_read_response(&c, &r, T_MS) == 1,
                 "request %d of the split: no answer", i + 1);
        char be[64] = "";
        e2e_resp_header(&r, "x-backend", be, sizeof(be));
        if (r.status == 200 && !strcmp(be, "shop-stable"))
            stable++;
        else if (r.status == 200 && !strcmp(be, "shop-canary"))
            can++;
        else
            other++;
        if (r.conn_close) {
            e2e_conn_close(&c);
            REQUIRE(e2e_conn_open(&c, f.port));
        }
        e2e_resp_free(&r);
    }
    e2e_conn_close(&c);
    e2e_log("canary split over 1000: stable %d, canary %d, other %d", stable, can, other);
    CHECK_INT(other, 0);
    CHECKF(can >= 60 && can <= 140, "the canary got %d of 1000 requests, want 100 +- 40", can);
    e2e_foyer_stop(&f, 5000);
}

E2E_TEST(example_rewrite_redirect, 60)
{
    struct rc_backends bs;
    struct e2e_foyer f;
    start_example(&rewrite, &bs, &f);
    char loc_www[128], loc_blog[128];
    snprintf(loc_www, sizeof(loc_www), "http://www.example.com:%d/pricing", f.port);
    snprintf(loc_blog, sizeof(loc_blog), "http://www.example.com:%d/blog/2019/post", f.port);
    const struct rc_req reqs[] = {
        {.host = "secure.example", .target = "/account?tab=1", .status = 301, .backend = "",
         .location = "https://secure.example/account?tab=1"},
        {.host = "secure.example", .target = "/", .status = 301, .backend = "",
         .location = "https://secure.example/"},
        {.host = "example.com", .target = "/pricing", .status = 301, .backend = "",
         .location = loc_www},
        {.host = "www.example.com", .target = "/api/users?page=2", .status = 200,
         .backend = "api", .up_target = "/users?page=2", .up_host = "www.example.com"},
        {.host = "www.example.com", .target = "/api", .status = 200, .backend = "api",
         .up_target = "/"},
        {.host = "www.example.com", .target = "/api/", .status = 200, .backend = "api",
         .up_target = "/"},
        {.host = "www.example.com", .target = "/apix", .status = 404, .backend = ""},
        {.host = "www.example.com", .target = "/assets/logo.png", .status = 200,
         .backend = "static", .up_target = "/static/logo.png"},
        {.host = "www.example.com", .target = "/old-blog/2019/post", .status = 301,
         .backend = "", .location = loc_blog},
        {.host = "www.example.com", .target = "/blog/2019/post", .status = 200,
         .backend = "blog", .up_target = "/blog/2019/post"},
        {.host = "www.example.com", .target = "/other", .status = 404, .backend = ""},
    };
    run_reqs(f.port, "rewrite-redirect", reqs, NREQ(reqs));
    for (int i = 0; i < bs.n; i++) /* a redirect never reaches a backend */
        if (!strcmp(bs.names[i], "blog"))
            CHECK_INT(e2e_backend_requests(bs.b[i].port), 1);
    e2e_foyer_stop(&f, 5000);
}

/* Every example: `foyer -t` accepts the config as shipped, run.sh is valid
 * sh and starts the backends the config expects, and a README exists. */
E2E_TEST(examples_as_shipped, 60)
{
    static const struct example *const all[] = {&pizza, &vhost, &canary, &rewrite};
    char *bin = (char *)e2e_env("FOYER_BIN");
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        const char *dir = all[i]->dir;
        char conf[4096], runsh[4096], out[4096];
        snprintf(conf, sizeof(conf), "%s/examples/%s/foyer.lua", e2e_env("FOYER_SRCDIR"), dir);
        snprintf(runsh, sizeof(runsh), "%s/examples/%s/run.sh", e2e_env("FOYER_SRCDIR"), dir);
        char *t[] = {bin, "-t", "-c", conf, NULL};
        int rc = e2e_run(t, out, sizeof(out), 10000);
        CHECKF(rc == 0, "foyer -t -c %s exited %d: %s", conf, rc, out);
        char *sh[] = {"/bin/sh", "-n", runsh, NULL};
        rc = e2e_run(sh, out, sizeof(out), 10000);
        CHECKF(rc == 0, "sh -n %s: %s", runsh, out);
        CHECKF(access(runsh, X_OK) == 0, "%s is not executable", runsh);
        char *script = example_file(dir, "run.sh");
        char want[512] = "for name in";
        for (int k = 0; k < MAX_NAMES && all[i]->names[k]; k++)
            snprintf(want + strlen(want), sizeof(want) - strlen(want), " %s", all[i]->names[k]);
        strcat(want, ";");
        CHECKF(strstr(script, want) != NULL, "%s/run.sh does not start \"%s\"", dir, want + 12);
        CHECKF(strstr(script, "foyer-test-backend") != NULL, "%s/run.sh has no demo backends",
               dir);
        free(script);
        free(example_file(dir, "README.md"));
    }
}

int main(void)
{
    static const struct e2e_case cases[] = {
        E2E_CASE(examples_as_shipped),
        E2E_CASE(example_pizza),
        E2E_CASE(example_pizza_readme_router),
        E2E_CASE(example_virtual_hosting),
        E2E_CASE(example_canary),
        E2E_CASE(example_rewrite_redirect),
    };
    return e2e_run_suite("e2e-examples", cases, sizeof(cases) / sizeof(cases[0]));
}
