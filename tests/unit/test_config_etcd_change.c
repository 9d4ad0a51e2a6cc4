/* etcd changes applied in place (lua/config_etcd_change.c, lua/router_live.c):
 * a generation changed route by route must route every request exactly as a
 * generation loaded whole from the same keys. Random puts and deletes over
 * overlapping hosts (exact, wildcard, none), paths of equal precedence in
 * several routes (ties broken by id order) and services, compared after
 * every few changes; plus the message the master sends, which changes can
 * be applied in place, and a route refused alone with its key. */
#include "config.h"
#include "config_etcd.h"
#include "config_source.h"
#include "request.h"
#include "router_fixture.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEAD                                                                             \
    "listen \"127.0.0.1:8080\"\n"                                                        \
    "set { config_source = { etcd = { endpoints = { \"127.0.0.1:2379\" },\n"             \
    "  snapshot = \"/nonexistent/foyer-snapshot.json\" } } }\n"                          \
    "service \"a\" { endpoints = { \"127.0.0.1:1\" } }\n"                                \
    "service \"b\" { endpoints = { \"127.0.0.1:2\" } }\n"                                \
    "service \"c\" { endpoints = { \"127.0.0.1:3\" } }\n"

#define IDS 40

static char *model[IDS]; /* route id -> its JSON, NULL: absent */
static unsigned seed = 12345;

static unsigned rnd(unsigned n)
{
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) % n;
}

static char *random_route(void)
{
    static const char *hosts[] = {"a.com", "b.com", "*.a.com", "*.b.com", "x.a.com"};
    static const char *paths[] = {"/", "/api", "/api/v1", "/static", "/api/"};
    static const char *types[] = {"PathPrefix", "Exact"};
    static const char *svcs[] = {"a", "b", "c", "ghost"};
    char h[128] = "", buf[512];
    unsigned nh = rnd(3);
    for (unsigned i = 0; i < nh; i++)
        snprintf(h + strlen(h), sizeof h - strlen(h), "%s\"%s\"", i ? "," : "",
                 hosts[rnd(5)]);
    snprintf(buf, sizeof buf,
             "{%s%s%s\"rules\":[{\"path\":{\"type\":\"%s\",\"value\":\"%s\"},"
             "\"service\":\"%s\"},{\"path\":\"%s\",\"service\":\"%s\"}]}",
             nh ? "\"hostnames\":[" : "", h, nh ? "]," : "", types[rnd(2)], paths[rnd(5)],
             svcs[rnd(4)], paths[rnd(5)], svcs[rnd(3)]);
    return strdup(buf);
}

static char *snapshot(long long revision)
{
    size_t cap = 4096;
    for (int i = 0; i < IDS; i++)
        cap += model[i] ? strlen(model[i]) + 64 : 0;
    char *s = malloc(cap);
    int n = snprintf(s, cap, "{\"revision\":%lld,\"kvs\":[", revision), first = 1;
    for (int i = 0; i < IDS; i++)
        if (model[i] != NULL) {
            n += snprintf(s + n, cap - (size_t)n,
                          "%s{\"key\":\"/foyer/routes/%d\",\"value\":%s}",
                          first ? "" : ",", i, model[i]);
            first = 0;
        }
    snprintf(s + n, cap - (size_t)n, "]}");
    return s;
}

static struct foyer_config *load(const char *snap, char *err, size_t errlen)
{
    char path[64];
    unit_temp_file(HEAD, path, sizeof path);
    struct foyer_config *c =
        foyer_config_load_candidate(path, snap, strlen(snap), err, errlen);
    unlink(path);
    return c;
}

static void describe(struct foyer_config *c, const char *spec, char *out, size_t len)
{
    struct rfix f = {.c = c, .rt = c->router, .listen_port = 80, .scheme = "http"};
    struct foyer_request r;
    const struct foyer_route_decision *d = rfix_route(&f, spec, &r);
    if (d != NULL)
        rfix_describe(d, out, len);
    else
        snprintf(out, len, "(unparsed)");
    if (f.have_msg) unit_msg_free(&f.msg);
}

/* Every request of the grid routed alike by both generations. */
static int same_routing(struct foyer_config *live, struct foyer_config *whole, int step)
{
    static const char *hosts[] = {"a.com",   "b.com",     "x.a.com",
                                  "y.b.com", "z.y.a.com", "other.org"};
    static const char *paths[] = {"/",         "/api",      "/api/", "/api/v1",
                                  "/api/v1/x", "/static/x", "/apix", "/img"};
    for (size_t h = 0; h < sizeof hosts / sizeof *hosts; h++)
        for (size_t p = 0; p < sizeof paths / sizeof *paths; p++) {
            char spec[256], a[512], b[512];
            snprintf(spec, sizeof spec, "GET %s %s", hosts[h], paths[p]);
            describe(live, spec, a, sizeof a);
            describe(whole, spec, b, sizeof b);
            if (!CHECKF(strcmp(a, b) == 0, "step %d: %s: in place \"%s\", whole \"%s\"",
                        step, spec, a, b))
                return 0;
        }
    return 1;
}

static void change_route(struct foyer_config *c, int id, const char *json, long long rev)
{
    char key[64], err[1024];
    snprintf(key, sizeof key, "/foyer/routes/%d", id);
    struct foyer_etcd_change ch = {key, json, strlen(key), json ? strlen(json) : 0};
    CHECK_INT(foyer_config_etcd_can_change(c, &ch, 1), 1);
    int r = foyer_config_etcd_change(c, &ch, 1, rev, err, sizeof err);
    CHECKF(r == 0, "route %d changed in place (error: %s)", id, err);
}

/* From `start` routes (every third id) on, 400 random changes. */
static void random_changes(int start)
{
    char err[1024];
    for (int i = 0; i < IDS && i / 3 < start; i += 3)
        model[i] = random_route();
    char *snap = snapshot(1);
    struct foyer_config *live = load(snap, err, sizeof err);
    free(snap);
    if (!CHECKF(live != NULL, "loads (error: %s)", err)) return;
    for (int step = 1; step <= 400; step++) {
        int id = (int)rnd(IDS);
        free(model[id]);
        model[id] = rnd(4) == 0 ? NULL : random_route();
        change_route(live, id, model[id], step + 1);
        if (step % 20 != 0) continue;
        snap = snapshot(step + 1);
        struct foyer_config *whole = load(snap, err, sizeof err);
        free(snap);
        if (!CHECKF(whole != NULL, "the same keys load whole (error: %s)", err)) break;
        int same = same_routing(live, whole, step);
        foyer_config_unref(whole);
        if (!same) break;
    }
    CHECK_INT(live->etcd_revision, 401);
    foyer_config_unref(live);
    for (int i = 0; i < IDS; i++) {
        free(model[i]);
        model[i] = NULL;
    }
}

/* A service, or routes the file does not route with, need a full load; a
 * bad route is refused alone, naming its key. */
static void test_random_changes_route_as_whole(void)
{
    random_changes(14);
}

/* From none, and from one: the host index grows from its smallest size. */
static void test_random_changes_from_little(void)
{
    random_changes(0);
    random_changes(1);
}

static void test_what_changes_in_place(void)
{
    char err[1024];
    struct foyer_config *c = load("{\"revision\":1,\"kvs\":[]}", err, sizeof err);
    if (!CHECKF(c != NULL, "loads (error: %s)", err)) return;
    struct foyer_etcd_change svc = {"/foyer/services/d",
                                    "{\"endpoints\":[\"127.0.0.1:4\"]}", 17, 29};
    struct foyer_etcd_change other = {"/foyer/colour", "1", 13, 1};
    struct foyer_etcd_change route = {"/foyer/routes/7", "{\"service\":\"a\"}", 15, 15};
    struct foyer_etcd_change lb = {"/foyer/services/d",
                                   "{\"endpoints\":[\"127.0.0.1:4\"],\"lb\":\"random\"}",
                                   17, 0};
    lb.value_len = strlen(lb.value);
    struct foyer_etcd_change two[] = {route, svc}, mixed[] = {route, lb};
    CHECK_INT(foyer_config_etcd_can_change(c, &route, 1), 1);
    CHECK_INT(foyer_config_etcd_can_change(c, &other, 1), 1);
    CHECK_INT(foyer_config_etcd_can_change(c, &svc, 1), 1);
    CHECK_INT(foyer_config_etcd_can_change(c, two, 2), 1);
    CHECK_INT(foyer_config_etcd_can_change(c, mixed, 2), 0); /* one needs the full load */
    struct foyer_etcd_change bad = {"/foyer/routes/9", "{\"path\":\"nope\"}", 15, 15};
    CHECK_INT(foyer_config_etcd_check_route(&bad, err, sizeof err), -1);
    CHECKF(strstr(err, "etcd /foyer/routes/9: routes[1].path: ") == err,
           "names the key: %s", err);
    struct foyer_etcd_change unjson = {"/foyer/routes/9", "{\"path\":", 15, 8};
    CHECK_INT(foyer_config_etcd_check_route(&unjson, err, sizeof err), -1);
    CHECKF(strstr(err, "etcd /foyer/routes/9: ") == err, "names the key: %s", err);
    CHECK_INT(foyer_config_etcd_check_route(&route, err, sizeof err), 0);
    foyer_config_unref(c);

    unit_temp_file(HEAD "route(function(req) return nil end)\n", err, sizeof err);
    char e2[1024];
    c = foyer_config_load_candidate(err, "{\"revision\":1,\"kvs\":[]}", 23, e2,
                                    sizeof e2);
    unlink(err);
    if (!CHECKF(c != NULL, "loads (error: %s)", e2)) return;
    CHECK_INT(foyer_config_etcd_can_change(c, &route, 1), 0);
    foyer_config_unref(c);
}

/* A service's endpoints replaced in place: what `service` would parse, the
 * old list kept with the generation; anything else is for the full load. */
static void test_service_endpoints_in_place(void)
{
    char err[1024];
    struct foyer_config *c = load(
        "{\"revision\":1,\"kvs\":[{\"key\":\"/foyer/routes/"
        "1\",\"value\":{\"service\":\"e\"}},"
        "{\"key\":\"/foyer/services/e\",\"value\":{\"endpoints\":[\"127.0.0.1:5\"]}}]}",
        err, sizeof err);
    if (!CHECKF(c != NULL, "loads (error: %s)", err)) return;
    const char *key = "/foyer/services/e";
    struct foyer_etcd_change ok = {key,
                                   "{\"endpoints\":[\"127.0.0.1:9\","
                                   "{\"address\":\"http://127.0.0.1:10\",\"weight\":3}]}",
                                   17, 0};
    ok.value_len = strlen(ok.value);
    CHECK_INT(foyer_config_etcd_can_change(c, &ok, 1), 1);
    CHECK_INT(foyer_config_etcd_change(c, &ok, 1, 2, err, sizeof err), 0);
    const struct foyer_service *a = foyer_config_service(c, "e", 1);
    CHECKF(a->nendpoints == 2 && strcmp(a->endpoints[0].name, "127.0.0.1:9") == 0 &&
               strcmp(a->endpoints[1].name, "127.0.0.1:10") == 0 &&
               a->endpoints[1].weight == 3,
           "service e has the new endpoints");
    CHECK_INT(c->nretired, 1);
    CHECK_INT(c->etcd_revision, 2);
    char d[256];
    describe(c, "GET any.example /", d, sizeof d);
    CHECK_STR(d, "e"); /* the route still finds the same service */

    static const char *const not_in_place[] = {
        "{\"endpoints\":[]}",            /* invalid: the load says why */
        "{\"endpoints\":[\"nowhere\"]}", /* idem */
        "{\"endpoints\":[\"127.0.0.1:9\"],\"lb\":\"maglev\"}", /* a plugin's key */
        "{\"endpoints\":[\"https://127.0.0.1:9\"]}",           /* no TLS plugin bound */
        "[1,",                                                 /* not JSON */
    };
    for (size_t i = 0; i < sizeof not_in_place / sizeof *not_in_place; i++) {
        const char *v = not_in_place[i];
        struct foyer_etcd_change ch = {key, v, 17, strlen(v)};
        CHECKF(foyer_config_etcd_can_change(c, &ch, 1) == 0, "case %zu: a full load", i);
        CHECKF(foyer_config_etcd_change(c, &ch, 1, 3, err, sizeof err) == -1,
               "case %zu: refused in place", i);
    }
    /* "b" is the file's: an etcd key naming it is an error of the full load */
    struct foyer_etcd_change file_svc = {"/foyer/services/b", ok.value, 17, ok.value_len};
    CHECK_INT(foyer_config_etcd_can_change(c, &file_svc, 1), 0);
    CHECKF(a->nendpoints == 2 && c->etcd_revision == 2, "unchanged by the refusals");

    /* a route to "z" before z exists (500), then z added with it: bound */
    struct foyer_etcd_change two[] = {
        {"/foyer/routes/2", "{\"host\":\"z.example\",\"service\":\"z\"}", 15, 0},
        {"/foyer/services/z", "{\"endpoints\":[\"127.0.0.1:26\"]}", 17, 0}};
    two[0].value_len = strlen(two[0].value);
    two[1].value_len = strlen(two[1].value);
    CHECK_INT(foyer_config_etcd_change(c, two, 1, 3, err, sizeof err), 0);
    describe(c, "GET z.example /", d, sizeof d);
    CHECK_STR(d, "500");
    CHECK_INT(foyer_config_etcd_can_change(c, &two[1], 1), 1);
    CHECK_INT(foyer_config_etcd_change(c, &two[1], 1, 4, err, sizeof err), 0);
    describe(c, "GET z.example /", d, sizeof d);
    CHECK_STR(d, "z");
    describe(c, "GET any.example /", d, sizeof d);
    CHECK_STR(d, "e");
    const struct foyer_service *z = foyer_config_service(c, "z", 1);
    CHECKF(z != NULL && z->from_etcd && z->nendpoints == 1 &&
               strcmp(z->endpoints[0].name, "127.0.0.1:26") == 0 &&
               strcmp(z->where, "etcd /foyer/services/z: ") == 0,
           "z declared from etcd");
    CHECK(foyer_config_service(c, "a", 1) != NULL); /* the file's are still there */

    /* e removed: its route answers 500, as a full load without e would */
    struct foyer_etcd_change gone = {key, NULL, 17, 0};
    CHECK_INT(foyer_config_etcd_can_change(c, &gone, 1), 1);
    CHECK_INT(foyer_config_etcd_change(c, &gone, 1, 5, err, sizeof err), 0);
    CHECK(foyer_config_service(c, "e", 1) == NULL);
    describe(c, "GET any.example /", d, sizeof d);
    CHECK_STR(d, "500");
    describe(c, "GET z.example /", d, sizeof d);
    CHECK_STR(d, "z");
    CHECK_INT(c->etcd_revision, 5);
    foyer_config_unref(c);
}

/* The router's default service may not go in place (the full load refuses
 * it); its endpoints may change. */
static void test_default_service_stays(void)
{
    char err[1024], path[64];
    unit_temp_file(HEAD "route(require(\"foyer.router\").new { default = \"e\" })\n",
                   path, sizeof path);
    const char *snap = "{\"revision\":1,\"kvs\":[{\"key\":\"/foyer/services/e\","
                       "\"value\":{\"endpoints\":[\"127.0.0.1:5\"]}}]}";
    struct foyer_config *c =
        foyer_config_load_candidate(path, snap, strlen(snap), err, sizeof err);
    unlink(path);
    if (!CHECKF(c != NULL, "loads (error: %s)", err)) return;
    struct foyer_etcd_change gone = {"/foyer/services/e", NULL, 17, 0};
    CHECK_INT(foyer_config_etcd_can_change(c, &gone, 1), 0);
    struct foyer_etcd_change moved = {"/foyer/services/e",
                                      "{\"endpoints\":[\"127.0.0.1:6\"]}", 17, 0};
    moved.value_len = strlen(moved.value);
    CHECK_INT(foyer_config_etcd_can_change(c, &moved, 1), 1);
    foyer_config_unref(c);
}

static void test_message(void)
{
    struct foyer_etcd_change in[] = {{"/foyer/routes/1", "{\"a\":\"x y\\n\"}", 15, 13},
                                     {"/foyer/routes/2", NULL, 15, 0},
                                     {"/foyer/routes/3", "", 15, 0}};
    size_t len, n;
    long long base, rev;
    struct foyer_etcd_change *out;
    char *msg = foyer_change_msg_encode(in, 3, 41, 44, &len);
    if (!CHECK(msg != NULL)) return;
    CHECK_INT(foyer_change_msg_decode(msg, len, &out, &n, &base, &rev), 0);
    CHECKF(n == 3 && base == 41 && rev == 44, "header read back");
    for (size_t i = 0; i < 3 && n == 3; i++) {
        CHECKF(out[i].key_len == in[i].key_len &&
                   memcmp(out[i].key, in[i].key, in[i].key_len) == 0,
               "key %zu", i);
        CHECKF((out[i].value == NULL) == (in[i].value == NULL) &&
                   out[i].value_len == in[i].value_len &&
                   (in[i].value == NULL ||
                    memcmp(out[i].value, in[i].value, in[i].value_len) == 0),
               "value %zu", i);
    }
    free(out);
    /* every truncation and a corrupted length are refused, never read past */
    for (size_t cut = 0; cut < len; cut++)
        CHECKF(foyer_change_msg_decode(msg, cut, &out, &n, &base, &rev) == -1,
               "cut at %zu refused", cut);
    char *bad = malloc(len);
    memcpy(bad, msg, len);
    bad[strlen("foyer-change 1 41 44 3\n")] = '9';
    CHECK_INT(foyer_change_msg_decode(bad, len, &out, &n, &base, &rev), -1);
    free(bad);
    free(msg);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_random_changes_route_as_whole),
    UNIT_TEST(test_random_changes_from_little),
    UNIT_TEST(test_what_changes_in_place),
    UNIT_TEST(test_service_endpoints_in_place),
    UNIT_TEST(test_default_service_stays),
    UNIT_TEST(test_message),
};

UNIT_MAIN("config_etcd_change", tests)
