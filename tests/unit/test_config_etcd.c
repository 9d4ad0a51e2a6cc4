/* Live configuration from etcd, without etcd: the config_source setting
 * (lua/config_source_lua.c), the key layout (core/etcd_keys.c), base64
 * (core/etcd_client.c) and the snapshot merged into a generation
 * (lua/config_etcd.c), valid and refused with the key at fault. */
#include "config.h"
#include "etcd_client.h"
#include "etcd_keys.h"
#include "router.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEAD                                                                             \
    "listen \"127.0.0.1:8080\"\n"                                                        \
    "set { config_source = { etcd = { endpoints = { \"127.0.0.1:2379\" },\n"             \
    "  snapshot = \"/nonexistent/foyer-snapshot.json\" } } }\n"

/* Loads text with the snapshot given as text (NULL: the settings' file). */
static struct foyer_config *load(const char *text, const char *snapshot, char *err,
                                 size_t errlen)
{
    char path[64];
    unit_temp_file(text, path, sizeof path);
    err[0] = '\0';
    struct foyer_config *c =
        snapshot
            ? foyer_config_load_candidate(path, snapshot, strlen(snapshot), err, errlen)
            : foyer_config_load(path, err, errlen);
    unlink(path);
    return c;
}

static void check_refused(const char *text, const char *snapshot, const char *fragment)
{
    char err[1024];
    struct foyer_config *c = load(text, snapshot, err, sizeof err);
    CHECKF(c == NULL && strstr(err, fragment) != NULL, "refused with \"%s\" (got \"%s\")",
           fragment, err);
    if (c) foyer_config_unref(c);
}

static void test_base64(void)
{
    static const char *const cases[][2] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"/foyer/", "L2ZveWVyLw=="},
        {"/foyer0", "L2ZveWVyMA=="},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char enc[64];
        unsigned char dec[64];
        etcd_base64_encode((const unsigned char *)cases[i][0], strlen(cases[i][0]), enc);
        CHECK_STR(enc, cases[i][1]);
        long n = etcd_base64_decode(enc, strlen(enc), dec);
        CHECKF(n == (long)strlen(cases[i][0]) && memcmp(dec, cases[i][0], (size_t)n) == 0,
               "\"%s\" decodes back", cases[i][1]);
    }
    unsigned char dec[8];
    CHECK_INT(etcd_base64_decode("a$==", 4, dec), -1);
}

static void test_keys(void)
{
    const char *name;
    size_t len;
    CHECK_INT(foyer_etcd_key_kind("/foyer/", "/foyer/services/web", 19, &name, &len),
              FOYER_ETCD_SERVICE);
    CHECKF(len == 3 && memcmp(name, "web", 3) == 0, "service name");
    CHECK_INT(foyer_etcd_key_kind("/foyer/", "/foyer/routes/12", 16, &name, &len),
              FOYER_ETCD_ROUTE);
    CHECK_INT(foyer_etcd_key_kind("/foyer/", "/foyer/routes/", 14, &name, &len),
              FOYER_ETCD_OTHER);
    CHECK_INT(foyer_etcd_key_kind("/foyer/", "/foyer/routes/a/b", 17, &name, &len),
              FOYER_ETCD_OTHER);
    CHECK_INT(foyer_etcd_key_kind("/foyer/", "/other/routes/1", 15, &name, &len),
              FOYER_ETCD_OTHER);
    CHECK(foyer_etcd_route_cmp("2", 1, "12", 2) < 0);
    CHECK(foyer_etcd_route_cmp("7", 1, "12", 2) < 0);
    CHECK(foyer_etcd_route_cmp("007", 3, "7", 1) < 0); /* equal numbers: by bytes */
    CHECK(foyer_etcd_route_cmp("7", 1, "7", 1) == 0);
    CHECK(foyer_etcd_route_cmp("a", 1, "b", 1) < 0);
    CHECK(foyer_etcd_route_cmp("10", 2, "9a", 2) < 0); /* not both numbers: bytes */
}

static void test_setting_errors(void)
{
    check_refused("set { config_source = { etcd = { endpoint = { \"x:1\" } } } }\n", NULL,
                  ":1: set: config_source.etcd: unknown key 'endpoint'");
    check_refused("set { config_source = { zookeeper = {} } }\n", NULL,
                  ":1: set: config_source: unknown source 'zookeeper'");
    check_refused("set { config_source = { etcd = { prefix = \"/x/\" } } }\n", NULL,
                  "config_source.etcd.endpoints is required");
    check_refused("set { config_source = { etcd = { endpoints = { \"nohost\" } } } }\n",
                  NULL, "config_source.etcd endpoint \"nohost\"");
    check_refused("set { config_source = { etcd = { endpoints = { \"127.0.0.1:1\" },\n"
                  "  dial_timeout = -1 } } }\n",
                  NULL, "dial_timeout must be a number of seconds");
    check_refused("set { config_source = { etcd = { endpoints = { \"127.0.0.1:1\" },\n"
                  "  keepalive = \"often\" } } }\n",
                  NULL,
                  ":1: set: config_source.etcd.keepalive must be a number of seconds");
    char err[1024];
    struct foyer_config *c =
        load("listen \"127.0.0.1:8080\"\n"
             "set { config_source = { etcd = { endpoints = { \"127.0.0.1:1\" },\n"
             "  snapshot = \"/nonexistent/s.json\", keepalive = false } } }\n",
             NULL, err, sizeof err);
    if (CHECKF(c != NULL, "keepalive = false loads (error: %s)", err)) {
        CHECK(c->settings.etcd->keepalive == 0);
        foyer_config_unref(c);
    }
}

/* No snapshot file and no route(): an empty router (every request a 404). */
static void test_no_snapshot(void)
{
    char err[1024];
    struct foyer_config *c = load(HEAD, NULL, err, sizeof err);
    REQUIRE(c != NULL);
    CHECK(c->router != NULL);
    CHECK_INT(c->etcd_revision, 0);
    CHECK_INT(c->etcd_snapshot_found, 0);
    CHECK_STR(c->settings.etcd->prefix, "/foyer/");
    CHECK(c->settings.etcd->dial_timeout == 2 && c->settings.etcd->retry_max == 30 &&
          c->settings.etcd->keepalive == 10);
    foyer_config_unref(c);
}

static void test_merge(void)
{
    char err[1024];
    const char *snap =
        "{\"revision\":42,\"prefix\":\"/foyer/\",\"kvs\":[\n"
        "{\"key\":\"/foyer/routes/"
        "1\",\"value\":{\"host\":\"a.example\",\"service\":\"web\"}},\n"
        "{\"key\":\"/foyer/services/web\",\"value\":{\"endpoints\":[\"127.0.0.1:9001\",\n"
        "  {\"address\":\"127.0.0.1:9002\",\"weight\":3,\"backup\":true}]}},\n"
        "{\"key\":\"/foyer/elsewhere\",\"value\":1}]}";
    struct foyer_config *c =
        load(HEAD "service \"file\" { endpoints = { \"127.0.0.1:9\" } }\n", snap, err,
             sizeof err);
    if (!CHECKF(c != NULL, "loads (error: %s)", err)) return;
    CHECK_INT(c->etcd_revision, 42);
    CHECK_INT(c->nservices, 2);
    struct foyer_service *s = foyer_config_service(c, "web", 3);
    if (CHECK(s != NULL)) {
        CHECK_INT(s->nendpoints, 2);
        CHECK_INT(s->endpoints[1].weight, 3);
        CHECK_INT(s->endpoints[1].backup, 1);
        CHECK_STR(s->where, "etcd /foyer/services/web: ");
    }
    CHECK(c->router != NULL);
    foyer_config_unref(c);
}

static void test_merge_refused(void)
{
    check_refused(HEAD "service \"web\" { endpoints = { \"127.0.0.1:9\" } }\n",
                  "{\"revision\":1,\"kvs\":[{\"key\":\"/foyer/services/web\","
                  "\"value\":{\"endpoints\":[\"127.0.0.1:1\"]}}]}",
                  "etcd /foyer/services/web: service \"web\" is already declared at ");
    check_refused(HEAD,
                  "{\"revision\":1,\"kvs\":[{\"key\":\"/foyer/routes/12\","
                  "\"value\":{\"path\":\"nope\",\"service\":\"x\"}}]}",
                  "etcd /foyer/routes/12: routes[1].path: ");
    check_refused(HEAD,
                  "{\"revision\":1,\"kvs\":[{\"key\":\"/foyer/services/x\","
                  "\"value\":{\"endpoints\":[]}}]}",
                  "etcd /foyer/services/x: service \"x\": endpoints is empty");
    check_refused(HEAD,
                  "{\"revision\":1,\"kvs\":[{\"key\":\"/foyer/services/x\","
                  "\"value\":{\"endpoints\":[\"127.0.0.1:1\"],\"colour\":1}}]}",
                  "etcd /foyer/services/x: service \"x\": unknown key 'colour'");
    check_refused(HEAD, "{\"revision\":1,\"kvs\":[", "etcd snapshot:1:");
}

/* With a route() of its own, the file decides; etcd's routes are still checked. */
static void test_file_route_wins(void)
{
    char err[1024];
    const char *snap = "{\"revision\":3,\"kvs\":[{\"key\":\"/foyer/routes/1\","
                       "\"value\":{\"service\":\"web\"}}]}";
    struct foyer_config *c =
        load(HEAD "route(function(req) return nil end)\n", snap, err, sizeof err);
    if (!CHECKF(c != NULL, "loads (error: %s)", err)) return;
    CHECK(c->router == NULL);
    foyer_config_unref(c);
}

/* The snapshot read from its file; a directory is refused. */
static void test_snapshot_file(void)
{
    char snap[64], text[512], err[1024];
    unit_temp_file("{\"revision\":7,\"kvs\":[{\"key\":\"/foyer/services/s\","
                   "\"value\":{\"endpoints\":[\"127.0.0.1:1\"]}}]}",
                   snap, sizeof snap);
    snprintf(text, sizeof text,
             "listen \"127.0.0.1:8080\"\n"
             "set { config_source = { etcd = { endpoints = { \"127.0.0.1:2379\" },\n"
             "  snapshot = \"%s\" } } }\n",
             snap);
    struct foyer_config *c = load(text, NULL, err, sizeof err);
    unlink(snap);
    if (!CHECKF(c != NULL, "loads (error: %s)", err)) return;
    CHECK_INT(c->etcd_revision, 7);
    CHECK_INT(c->etcd_snapshot_found, 1);
    CHECK(foyer_config_service(c, "s", 1) != NULL);
    foyer_config_unref(c);
    check_refused("listen \"127.0.0.1:8080\"\n"
                  "set { config_source = { etcd = { endpoints = { \"127.0.0.1:2379\" },\n"
                  "  snapshot = \"/\" } } }\n",
                  NULL, "/: not a file");
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_snapshot_file), UNIT_TEST(test_base64),
    UNIT_TEST(test_keys),          UNIT_TEST(test_setting_errors),
    UNIT_TEST(test_no_snapshot),   UNIT_TEST(test_merge),
    UNIT_TEST(test_merge_refused), UNIT_TEST(test_file_route_wins),
};

UNIT_MAIN("config_etcd", tests)
