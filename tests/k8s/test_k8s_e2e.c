/*
 * foyer-k8s end to end: the sample manifests of tests/k8s/samples/ (ports of the
 * test backends written in as @name@) go through the real foyer-k8s; its
 * diagnostics and files are checked, then the real foyer runs the configuration
 * it wrote (foyer.lua, --listen 127.0.0.1) in front of report backends, and real
 * requests must be routed as the manifests say.
 */
#include "k8s_test.h"
#include "router_cases.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUT_MAX 65536

/* ---- samples --------------------------------------------------------------------- */

/* An @key@ outside comments. */
static bool placeholder_left(const char *text)
{
    for (const char *line = text; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *p = line + strspn(line, " ");
        const char *at = strchr(p, '@'), *end = strchr(p, '\n');
        if (*p != '#' && at && (!end || at < end)) return true;
    }
    return false;
}

/* tests/k8s/samples/NAME into the temporary directory, each "@key@" of subst
 * (key, value pairs, NULL-terminated) replaced. */
static void sample(const char *name, const char *const *subst)
{
    char src[PATH_MAX];
    snprintf(src, sizeof(src), "%s/tests/k8s/samples/%s", e2e_env("FOYER_SRCDIR"), name);
    char *text = e2e_read_file(src);
    REQUIREF(text != NULL, "cannot read %s", src);
    for (; subst && subst[0]; subst += 2) {
        char key[128];
        snprintf(key, sizeof(key), "@%s@", subst[0]);
        text = e2e_replace(text, key, subst[1]);
    }
    REQUIREF(!placeholder_left(text), "%s: a placeholder is left", name);
    REQUIRE(e2e_write_file(e2e_path(name), text));
    free(text);
}

/* The backends' names and ports as sample substitutions (static buffers). */
static const char *const *ports_of(const struct rc_backends *bs, const char *extra_key,
                                   const char *extra_value)
{
    static const char *subst[2 * RC_MAX_BACKENDS + 8];
    static char ports[RC_MAX_BACKENDS][16];
    int n = 0;
    for (int i = 0; i < bs->n; i++) {
        snprintf(ports[i], sizeof(ports[i]), "%d", bs->b[i].port);
        subst[n++] = bs->names[i];
        subst[n++] = ports[i];
    }
    if (extra_key) {
        subst[n++] = extra_key;
        subst[n++] = extra_value;
    }
    subst[n] = NULL;
    return subst;
}

static char *port_text(int port)
{
    static char bufs[4][16];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, 16, "%d", port);
    return b;
}

static bool out_has(const char *file, const char *needle)
{
    char *text = k8s_read("out", file);
    bool found = text && strstr(text, needle);
    if (!found)
        e2e_log("out/%s lacks \"%s\":\n%s", file, needle, text ? text : "(no file)");
    free(text);
    return found;
}

static bool exists(const char *rel)
{
    return access(e2e_path(rel), F_OK) == 0;
}

/* How many of n GETs of target reached backend want. */
static int count_backend(int port, const char *host, const char *target, const char *want,
                         int n)
{
    int hits = 0;
    for (int i = 0; i < n; i++) {
        struct e2e_resp r = {0};
        char b[128] = "";
        if (e2e_http(port, "GET", host, target, NULL, &r, 5000) == 1)
            e2e_resp_header(&r, "x-backend", b, sizeof(b));
        hits += strcmp(b, want) == 0;
        e2e_resp_free(&r);
    }
    return hits;
}

static void run_reqs(int port, const char *label, const struct rc_req *reqs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char l[128];
        snprintf(l, sizeof(l), "%s #%zu %s%s", label, i + 1,
                 reqs[i].host ? reqs[i].host : "", reqs[i].target);
        rc_run(port, l, &reqs[i]);
    }
}

/* ---- Ingress --------------------------------------------------------------------- */

static const struct rc_req ingress_reqs[] = {
    {.host = "shop.example", .target = "/cart", .status = 200, .backend = "cart"},
    {.host = "shop.example",
     .target = "/cart/items?x=1",
     .status = 200,
     .backend = "cart",
     .up_target = "/cart/items?x=1",
     .up_host = "shop.example"},
    {.host = "shop.example", .target = "/cartoon", .status = 200, .backend = "fallback"},
    {.host = "shop.example", .target = "/checkout", .status = 200, .backend = "checkout"},
    {.host = "shop.example",
     .target = "/checkout/x",
     .status = 200,
     .backend = "fallback"},
    {.host = "shop.example", .target = "/static/app.js", .status = 200, .backend = "web"},
    {.host = "eu.shop.example", .target = "/anything", .status = 200, .backend = "web"},
    {.host = "a.b.shop.example", .target = "/", .status = 200, .backend = "fallback"},
    {.host = "anyhost.example", .target = "/health", .status = 200, .backend = "cart"},
    {.host = "other.example", .target = "/", .status = 200, .backend = "fallback"},
};

E2E_TEST(ingress_routing, 60)
{
    static const char *const names[] = {"cart", "checkout", "web", "fallback", NULL};
    struct rc_backends bs;
    rc_backends_start(&bs, names);
    sample("ingress.yaml", ports_of(&bs, NULL, NULL));
    int port = e2e_free_port();
    char out[OUT_MAX];
    int rc = k8s_run(out, sizeof(out), "-o", "out", "--listen", "127.0.0.1",
                     "--no-resolve", "--ingress-class", "foyer", "--http-port",
                     port_text(port), "ingress.yaml", NULL);
    CHECK_INT(rc, 0);
    CHECKF(out[0] == '\0', "no diagnostics expected, got: %s", out);
    /* the not-ready endpoint and the other class's Ingress are not there */
    CHECK(!out_has("k8s-services.lua", "127.0.0.2"));
    CHECK(out_has("k8s-ingress.json", "\"default\": \"shop/fallback:"));
    CHECK(out_has("k8s-services.lua", "service \"shop/checkout:8080\""));
    CHECK(out_has("k8s-services.lua", "clusterIP of Service shop/fallback"));
    CHECK(!out_has("k8s-ingress.json", "other.example"));
    CHECK(!exists("out/k8s-gateway.json"));
    struct e2e_foyer f;
    k8s_foyer_start(&f, "out", port, "set { workers = 1 }");
    run_reqs(port, "ingress", ingress_reqs, sizeof(ingress_reqs) / sizeof(*ingress_reqs));
}

static const struct rc_req annotation_reqs[] = {
    /* rewrite-target: / replaces the whole path, the query stays */
    {.host = "rewrite.example",
     .target = "/old/page?q=1",
     .status = 200,
     .backend = "web",
     .up_target = "/?q=1"},
    /* /api(/|$)(.*) -> /$2 */
    {.host = "strip.example",
     .target = "/api/v1/items",
     .status = 200,
     .backend = "api",
     .up_target = "/v1/items"},
    {.host = "strip.example",
     .target = "/api",
     .status = 200,
     .backend = "api",
     .up_target = "/"},
    {.host = "strip.example", .target = "/apix", .status = 404},
    /* ssl-redirect for the tls hosts only; force-ssl-redirect without TLS */
    {.host = "secure.example",
     .target = "/a?b=1",
     .status = 308,
     .location = "https://secure.example/a?b=1"},
    {.host = "plain.example", .target = "/a", .status = 200, .backend = "web"},
    {.host = "forced.example",
     .target = "/x",
     .status = 308,
     .location = "https://forced.example/x"},
    /* canary-by-header: always / never / the weight for the rest */
    {.host = "canary.example",
     .target = "/",
     .headers = "X-Canary: always\r\n",
     .status = 200,
     .backend = "preview"},
    {.host = "canary.example",
     .target = "/",
     .headers = "X-Canary: never\r\n",
     .status = 200,
     .backend = "stable"},
    /* canary-by-header-value */
    {.host = "beta.example",
     .target = "/",
     .headers = "X-Beta: yes\r\n",
     .status = 200,
     .backend = "preview"},
    {.host = "beta.example",
     .target = "/",
     .headers = "X-Beta: no\r\n",
     .status = 200,
     .backend = "stable"},
    {.host = "beta.example", .target = "/", .status = 200, .backend = "stable"},
};

E2E_TEST(ingress_annotations, 60)
{
    static const char *const names[] = {"web", "api", "stable", "preview", NULL};
    struct rc_backends bs;
    rc_backends_start(&bs, names);
    sample("annotations.yaml", ports_of(&bs, NULL, NULL));
    int port = e2e_free_port();
    char out[OUT_MAX];
    int rc =
        k8s_run(out, sizeof(out), "-o", "out", "--listen", "127.0.0.1", "--no-resolve",
                "--http-port", port_text(port), "annotations.yaml", NULL);
    CHECK_INT(rc, 0);
    CHECK(
        strstr(out,
               "annotations.yaml:11: Ingress demo/rewrite: metadata.annotations."
               "nginx.ingress.kubernetes.io/proxy-body-size: annotation not supported") !=
        NULL);
    CHECK(strstr(out, "Secret demo/secure-tls: no --tls-dir given") != NULL);
    CHECK(strstr(out, "use-regex") == NULL); /* the capture form is translated */
    CHECK(exists("out/k8s-ingress-http.json"));
    struct e2e_foyer f;
    k8s_foyer_start(&f, "out", port, "set { workers = 1 }");
    run_reqs(port, "annotations", annotation_reqs,
             sizeof(annotation_reqs) / sizeof(*annotation_reqs));
    int n = 1000, preview = count_backend(port, "canary.example", "/", "preview", n);
    e2e_log("canary-weight 30: %d of %d to preview", preview, n);
    CHECKF(preview > 0.25 * n && preview < 0.35 * n, "canary share %d/%d, want 30%%",
           preview, n);
}

/* ---- TLS
 * ------------------------------------------------------------------------------- */

static void make_cert(const char *dir, const char *cn)
{
    char subj[128], crt[PATH_MAX], key[PATH_MAX], out[4096];
    REQUIRE(mkdir(e2e_path("tls"), 0755) == 0 || exists("tls"));
    REQUIRE(mkdir(e2e_path("tls/secure"), 0755) == 0 || exists("tls/secure"));
    REQUIRE(mkdir(e2e_path(dir), 0755) == 0);
    snprintf(subj, sizeof(subj), "/CN=%s", cn);
    snprintf(crt, sizeof(crt), "%s/tls.crt", e2e_path(dir));
    snprintf(key, sizeof(key), "%s/tls.key", e2e_path(dir));
    char san[160];
    snprintf(san, sizeof(san), "subjectAltName=DNS:%s", cn);
    char cmd[4 * PATH_MAX];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout '%s' -out '%s' -subj '%s' -addext '%s' -days 2",
             key, crt, subj, san);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    REQUIREF(e2e_run(argv, out, sizeof(out), 30000) == 0, "openssl: %s", out);
}

/* An HTTPS origin: openssl s_server -www answers every GET with a status page. */
static int https_origin(const char *dir)
{
    int port = e2e_free_port();
    char accept[64], crt[PATH_MAX], key[PATH_MAX];
    snprintf(accept, sizeof(accept), "127.0.0.1:%d", port);
    snprintf(crt, sizeof(crt), "%s/tls.crt", e2e_path(dir));
    snprintf(key, sizeof(key), "%s/tls.key", e2e_path(dir));
    char cmd[4 * PATH_MAX];
    snprintf(cmd, sizeof(cmd),
             "exec openssl s_server -quiet -www -accept %s -cert '%s' -key '%s'", accept,
             crt, key);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL}; /* exec: the pid is openssl's */
    e2e_spawn(argv, -1, -1);
    for (int i = 0; i < 250; i++) {
        struct e2e_conn c;
        if (e2e_conn_open(&c, port)) {
            e2e_conn_close(&c);
            return port;
        }
        e2e_sleep_ms(20);
    }
    REQUIREF(false, "openssl s_server did not start");
    return -1;
}

static void check_https_get(int port, const char *host, const char *want_backend)
{
    char resolve[160], url[160], out[OUT_MAX];
    snprintf(resolve, sizeof(resolve), "%s:%d:127.0.0.1", host, port);
    snprintf(url, sizeof(url), "https://%s:%d/hello", host, port);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "curl -sk -i --max-time 5 --resolve '%s' '%s'", resolve,
             url);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    int rc = e2e_run(argv, out, sizeof(out), 10000);
    CHECKF(rc == 0 && strstr(out, " 200 ") && e2e_contains_ci(out, want_backend),
           "curl %s: exit %d:\n%.600s", url, rc, out);
}

E2E_TEST(ingress_tls, 90)
{
    static const char *const names[] = {"web", NULL};
    struct rc_backends bs;
    rc_backends_start(&bs, names);
    make_cert("tls/secure/site-tls", "site.example");
    int origin = https_origin("tls/secure/site-tls");
    sample("tls.yaml", ports_of(&bs, "tls-api", port_text(origin)));
    int http = e2e_free_port(), https = e2e_free_port();
    char out[OUT_MAX];
    int rc = k8s_run(out, sizeof(out), "-o", "out", "--listen", "127.0.0.1",
                     "--no-resolve", "--tls-dir", "tls", "--http-port", port_text(http),
                     "--https-port", port_text(https), "tls.yaml", NULL);
    CHECK_INT(rc, 0);
    CHECK(out_has("foyer.lua", "plugin \"tls\" { }"));
    CHECK(out_has("k8s.lua", "/tls/secure/site-tls/tls.crt"));
    CHECK(out_has("k8s-services.lua", "\"https://127.0.0.1:"));
    CHECK(out_has("k8s-services.lua", "tls = { verify = false }"));
    char prelude[PATH_MAX + 64], dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", e2e_plugin_so("tls"));
    *strrchr(dir, '/') = '\0';
    snprintf(prelude, sizeof(prelude), "set { workers = 1, plugin_path = \"%s\" }", dir);
    struct e2e_foyer f;
    k8s_foyer_start(&f, "out", http, prelude);
    check_https_get(https, "site.example", "x-backend: web");
    char location[128];
    snprintf(location, sizeof(location), "https://site.example:%d/hello", https);
    struct rc_req reqs[] = {
        {.host = "site.example", .target = "/hello", .status = 308, .location = location},
        {.host = "up.example", .target = "/", .status = 200},
    };
    run_reqs(http, "tls", reqs, 2);
    struct e2e_resp r = {0};
    CHECK_INT(e2e_http(http, "GET", "up.example", "/", NULL, &r, 5000), 1);
    CHECKF(r.body && strstr(r.body, "<HTML>"), "the HTTPS origin's page, got: %.200s",
           r.body ? r.body : "");
    e2e_resp_free(&r);
}

/* ---- Gateway API
 * ------------------------------------------------------------------------- */

static const struct rc_req gateway_reqs[] = {
    {.host = "www.example.com", .target = "/shop/cart", .status = 200, .backend = "shop"},
    {.host = "www.example.com",
     .target = "/about",
     .headers = "X-Drop: 1\r\nX-Extra: 0\r\n",
     .status = 200,
     .backend = "web",
     .up_headers = "x-from=foyer-k8s\nx-extra=0,1",
     .up_absent = "x-drop"},
    {.method = "GET",
     .host = "www.example.com",
     .target = "/old/page",
     .status = 301,
     .location = "http://www.example.com{port}/new/page"},
    {.host = "www.example.com",
     .target = "/v1/items",
     .status = 200,
     .backend = "web",
     .up_target = "/items",
     .up_host = "internal.example"},
    {.host = "www.example.com",
     .target = "/",
     .headers = "X-Version: 2\r\n",
     .status = 200,
     .backend = "web-v2"},
    {.host = "www.example.com", .target = "/?v=2", .status = 200, .backend = "web-v2"},
    {.method = "POST",
     .host = "www.example.com",
     .target = "/form",
     .status = 200,
     .backend = "submit"},
    {.host = "www.example.com", .target = "/", .status = 200, .backend = "web"},
    {.host = "api.example.com", .target = "/anything", .status = 200, .backend = "api"},
    {.host = "other.example.com", .target = "/", .status = 404},
};

E2E_TEST(gateway_routing, 60)
{
    static const char *const names[] = {"shop", "web", "web-v2", "api", "submit", NULL};
    struct rc_backends bs;
    rc_backends_start(&bs, names);
    int l1 = e2e_free_port(), l2 = e2e_free_port();
    const char *const *subst = ports_of(&bs, "L1", port_text(l1));
    const char *all[2 * RC_MAX_BACKENDS + 8];
    int n = 0;
    for (; subst[n]; n++)
        all[n] = subst[n];
    all[n++] = "L2";
    all[n++] = port_text(l2);
    all[n] = NULL;
    sample("gateway.yaml", all);
    char out[OUT_MAX];
    int rc = k8s_run(out, sizeof(out), "-o", "out", "--listen", "127.0.0.1",
                     "--no-resolve", "gateway.yaml", NULL);
    CHECK_INT(rc, 0);
    CHECK(strstr(out, "gateway.yaml:137: HTTPRoute gw/split: spec.rules[0].timeouts: not "
                      "supported") != NULL);
    CHECK(strstr(out, "HTTPRoute gw/stray: spec: attached to no listener: left out") !=
          NULL);
    CHECK(out_has("k8s-gateway.json", "\"name\": \"gw/public/api\""));
    CHECK(!exists("out/k8s-ingress.json"));
    struct e2e_foyer f;
    k8s_foyer_start(&f, "out", l1, "set { workers = 1 }");
    run_reqs(l1, "gateway", gateway_reqs, sizeof(gateway_reqs) / sizeof(*gateway_reqs));
    /* the site route is on the web listener only (sectionName), not on port L2's */
    CHECK_INT(count_backend(l2, "www.example.com", "/shop/x", "shop", 20), 0);
    int total = 800, v2 = count_backend(l2, "any.host", "/", "web-v2", total);
    e2e_log("weights 3:1 on the port listener: %d of %d to web-v2", v2, total);
    CHECKF(v2 > 0.19 * total && v2 < 0.31 * total, "web-v2 share %d/%d, want 25%%", v2,
           total);
}

/* Both APIs in one input: Gateway API routes first, what they leave (no listener
 * on the port, or a host no listener takes) to the Ingress rules; plain HTTP
 * Ingress requests through the redirecting table. */
E2E_TEST(gateway_and_ingress, 60)
{
    static const char *const names[] = {"shop",   "web",    "web-v2",  "api",
                                        "submit", "stable", "preview", NULL};
    struct rc_backends bs;
    rc_backends_start(&bs, names);
    int l1 = e2e_free_port(), l2 = e2e_free_port(), http = e2e_free_port();
    const char *const *subst = ports_of(&bs, "L1", port_text(l1));
    const char *all[2 * RC_MAX_BACKENDS + 8];
    int n = 0;
    for (; subst[n]; n++)
        all[n] = subst[n];
    all[n++] = "L2";
    all[n++] = port_text(l2);
    all[n] = NULL;
    sample("gateway.yaml", all);
    sample("annotations.yaml", all);
    char out[OUT_MAX];
    CHECK_INT(k8s_run(out, sizeof(out), "-o", "out", "--listen", "127.0.0.1",
                      "--no-resolve", "--http-port", port_text(http), "gateway.yaml",
                      "annotations.yaml", NULL),
              0);
    CHECK(out_has("k8s.lua", "local d = gateway(req)"));
    struct e2e_foyer f;
    k8s_foyer_start(&f, "out", http, "set { workers = 1 }");
    struct rc_req on_http[] = {
        {.host = "rewrite.example",
         .target = "/old/x",
         .status = 200,
         .backend = "web",
         .up_target = "/"},
        {.host = "secure.example",
         .target = "/",
         .status = 308,
         .location = "https://secure.example/"},
        {.host = "www.example.com", .target = "/shop/x", .status = 404},
    };
    run_reqs(http, "ingress port", on_http, sizeof(on_http) / sizeof(*on_http));
    struct rc_req on_l1[] = {
        {.host = "www.example.com",
         .target = "/shop/x",
         .status = 200,
         .backend = "shop"},
        {.host = "rewrite.example",
         .target = "/old/x",
         .status = 200,
         .backend = "web",
         .up_target = "/"},
    };
    run_reqs(l1, "gateway port", on_l1, sizeof(on_l1) / sizeof(*on_l1));
}

/* ---- input forms
 * ---------------------------------------------------------------------------- */

/* A YAML List, a kubectl JSON List (escapes, named port), and a stream, together. */
E2E_TEST(lists_json_and_streams, 60)
{
    static const char *const names[] = {"docs", "blog",     "cart", "checkout",
                                        "web",  "fallback", NULL};
    struct rc_backends bs;
    rc_backends_start(&bs, names);
    const char *const *subst = ports_of(&bs, NULL, NULL);
    sample("list.yaml", subst);
    sample("list.json", subst);
    sample("ingress.yaml", subst);
    int port = e2e_free_port();
    char out[OUT_MAX];
    int rc = k8s_run(out, sizeof(out), "-o", "out", "--listen", "127.0.0.1",
                     "--no-resolve", "--ingress-class", "foyer", "--http-port",
                     port_text(port), "list.yaml", "list.json", "ingress.yaml", NULL);
    CHECK_INT(rc, 0);
    CHECK(out_has("k8s-services.lua", "service \"lists/blog:8080\""));
    CHECK(out_has("k8s-ingress.json", "\"value\": \"/posts\""));
    struct e2e_foyer f;
    k8s_foyer_start(&f, "out", port, "set { workers = 1 }");
    struct rc_req reqs[] = {
        {.host = "docs.example", .target = "/guide", .status = 200, .backend = "docs"},
        {.host = "blog.example", .target = "/posts/1", .status = 200, .backend = "blog"},
        {.host = "blog.example", .target = "/", .status = 200, .backend = "fallback"},
        {.host = "shop.example", .target = "/cart", .status = 200, .backend = "cart"},
    };
    run_reqs(port, "lists", reqs, sizeof(reqs) / sizeof(*reqs));
}

/* Standard input gives what the file gives. */
E2E_TEST(stdin_input, 60)
{
    static const char *const names[] = {"blog", NULL};
    struct rc_backends bs;
    rc_backends_start(&bs, names);
    sample("list.json", ports_of(&bs, NULL, NULL));
    char cmd[PATH_MAX * 2], out[OUT_MAX];
    snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' -o from-stdin --no-resolve < list.json",
             e2e_tmpdir(), k8s_bin());
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    CHECK_INT(e2e_run(argv, out, sizeof(out), 30000), 0);
    CHECK_INT(k8s_run(out, sizeof(out), "-o", "out", "--no-resolve", "list.json", NULL),
              0);
    char *a = k8s_read("from-stdin", "k8s-ingress.json"),
         *b = k8s_read("out", "k8s-ingress.json");
    CHECKF(a && b && strcmp(a, b) == 0, "stdin and file differ:\n%s\n%s", a, b);
    char *s = k8s_read("from-stdin", "k8s-services.lua");
    CHECK(s && strstr(s, "<stdin>"));
    /* an object given twice is read once, and said so */
    CHECK_INT(k8s_run(out, sizeof(out), "-o", "twice", "--no-resolve", "list.json",
                      "list.json", NULL),
              0);
    CHECK(strstr(out,
                 "list.json:4: Ingress lists/blog: given twice: the first one is used"));
    char *c = k8s_read("twice", "k8s-ingress.json");
    CHECKF(b && c && strcmp(b, c) == 0, "a repeated file changed the table:\n%s", c);
    free(c);
    free(a);
    free(b);
    free(s);
}

/* ---- errors and warnings
 * ------------------------------------------------------------------- */

static void check_input_error(const char *file, const char *want)
{
    char out[OUT_MAX];
    sample(file, NULL);
    int rc = k8s_run(out, sizeof(out), "-o", "out", "--no-resolve", file, NULL);
    CHECK_INT(rc, 2);
    CHECKF(strstr(out, want) != NULL, "%s: want \"%s\" in:\n%s", file, want, out);
    CHECK(strstr(out, "nothing written") != NULL);
    CHECK(!exists("out/k8s.lua"));
}

E2E_TEST(malformed_input, 30)
{
    check_input_error("bad.yaml",
                      "bad.yaml:6: error: did not find expected ',' or ']' (column 5), "
                      "in a flow sequence started at line 5");
    check_input_error("bad.json",
                      "bad.json:8: error: did not find expected ',' or '}' (column 1), "
                      "in a flow mapping started at line 1");
    check_input_error("notobject.yaml",
                      "notobject.yaml:6: error: not a Kubernetes object");
    /* a failed run leaves an earlier output as it was */
    static const char *const names[] = {"blog", NULL};
    struct rc_backends bs;
    rc_backends_start(&bs, names);
    sample("list.json", ports_of(&bs, NULL, NULL));
    char out[OUT_MAX];
    CHECK_INT(k8s_run(out, sizeof(out), "-o", "out", "--no-resolve", "list.json", NULL),
              0);
    char *before = k8s_read("out", "k8s-ingress.json");
    CHECK_INT(k8s_run(out, sizeof(out), "-o", "out", "--no-resolve", "list.json",
                      "bad.yaml", NULL),
              2);
    char *after = k8s_read("out", "k8s-ingress.json");
    CHECK(before && after && strcmp(before, after) == 0);
    free(before);
    free(after);
    CHECK_INT(k8s_run(out, sizeof(out), "no-such-file.yaml", NULL), 2);
    CHECK(strstr(out, "no-such-file.yaml: error: No such file") != NULL);
}

E2E_TEST(unsupported_reported, 60)
{
    static const char *const names[] = {"web", NULL};
    struct rc_backends bs;
    rc_backends_start(&bs, names);
    sample("unsupported.yaml", ports_of(&bs, NULL, NULL));
    char out[OUT_MAX];
    CHECK_INT(k8s_run(out, sizeof(out), "-o", "strict", "--strict", "--no-resolve",
                      "unsupported.yaml", NULL),
              1);
    CHECK(!exists("strict/k8s.lua"));
    int port = e2e_free_port();
    CHECK_INT(k8s_run(out, sizeof(out), "-o", "out", "--listen", "127.0.0.1",
                      "--no-resolve", "--http-port", port_text(port), "unsupported.yaml",
                      NULL),
              0);
    static const char *const want[] = {
        "unsupported.yaml:8: Ingress misc/odd: "
        "metadata.annotations.nginx.ingress.kubernetes."
        "io/auth-url: annotation not supported (ignored)",
        "unsupported.yaml:17: Ingress misc/odd: "
        "spec.rules[0].http.paths[0].backend.resource: "
        "resource backends are not supported",
        "unsupported.yaml:28: Ingress misc/odd: spec.rules[0].http.paths[2]: foyer's "
        "router "
        "refuses what this becomes (rules[1].matches[1].path.value: a path cannot "
        "contain "
        "spaces",
        "unsupported.yaml:35: Ingress misc/odd: spec.rules[0].sparkle: not supported "
        "(ignored)",
        "unsupported.yaml:37: ConfigMap misc/settings: not used by foyer-k8s (ignored)",
        NULL};
    for (const char *const *w = want; *w; w++)
        CHECKF(strstr(out, *w) != NULL, "want \"%s\" in:\n%s", *w, out);
    struct e2e_foyer f;
    k8s_foyer_start(&f, "out", port, "set { workers = 1 }");
    struct rc_req reqs[] = {
        {.host = "odd.example", .target = "/", .status = 500}, /* the resource backend */
        {.host = "odd.example", .target = "/web", .status = 200, .backend = "web"},
    };
    run_reqs(port, "unsupported", reqs, 2);
}

E2E_TEST(endpoints_without_slices, 60)
{
    static const char *const names[] = {"ext", NULL};
    struct rc_backends bs;
    rc_backends_start(&bs, names);
    sample("dns.yaml", ports_of(&bs, NULL, NULL));
    sample("missing.yaml", NULL);
    int port = e2e_free_port();
    char out[OUT_MAX];
    CHECK_INT(k8s_run(out, sizeof(out), "-o", "out", "--listen", "127.0.0.1",
                      "--http-port", port_text(port), "dns.yaml", NULL),
              0);
    CHECK(strstr(out, "no Gateway in the input: HTTPRoutes attach to every listener") !=
          NULL);
    CHECK(out_has("k8s-services.lua", "DNS name localhost, resolved by foyer-k8s"));
    struct e2e_foyer f;
    k8s_foyer_start(&f, "out", port, "set { workers = 1 }");
    struct rc_req ok = {
        .host = "whatever.example", .target = "/x", .status = 200, .backend = "ext"};
    rc_run(port, "ExternalName", &ok);
    e2e_foyer_stop(&f, 5000);

    CHECK_INT(k8s_run(out, sizeof(out), "-o", "gone", "--listen", "127.0.0.1",
                      "--no-resolve", "--http-port", port_text(port), "missing.yaml",
                      NULL),
              0);
    CHECK(strstr(out,
                 "nowhere.misc.svc.cluster.local:80 would be resolved with DNS, which "
                 "--no-resolve forbids") != NULL);
    CHECK(strstr(out, "defaultBackend: it has no endpoints: not used") != NULL);
    k8s_foyer_start(&f, "gone", port, "set { workers = 1 }");
    struct rc_req gone[] = {
        {.host = "gone.example", .target = "/", .status = 500},
        {.host = "elsewhere.example", .target = "/", .status = 404},
    };
    run_reqs(port, "missing", gone, 2);
}

int main(void)
{
    static const struct e2e_case cases[] = {
        E2E_CASE(ingress_routing),      E2E_CASE(ingress_annotations),
        E2E_CASE(ingress_tls),          E2E_CASE(gateway_routing),
        E2E_CASE(gateway_and_ingress),  E2E_CASE(lists_json_and_streams),
        E2E_CASE(stdin_input),          E2E_CASE(malformed_input),
        E2E_CASE(unsupported_reported), E2E_CASE(endpoints_without_slices),
    };
    return e2e_run_suite("foyer-k8s", cases, sizeof(cases) / sizeof(*cases));
}
