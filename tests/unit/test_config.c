/* core/config.c: settings defaults, reference counting and the service
 * name index of a config generation. */
#include "config.h"
#include "unit.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>

static void test_defaults(void)
{
    struct foyer_settings s;
    memset(&s, 0xff, sizeof s);
    foyer_settings_defaults(&s);
    CHECK_INT(s.workers, 0); /* one per CPU */
    CHECK(s.client_header_timeout > 0 && s.client_body_timeout > 0);
    CHECK(s.keepalive_timeout > 0);
    CHECK(s.upstream_connect_timeout > 0 && s.upstream_read_timeout > 0);
    CHECK(s.upstream_send_timeout > 0 && s.client_send_timeout > 0);
    CHECK(s.grace_period > 0);
    CHECK(s.max_header_bytes >= 8192 && s.max_header_bytes <= 65536);
    CHECK(s.max_headers > 0);
    CHECK(s.max_body_bytes == 0); /* unlimited */
    CHECK(s.max_connections > 0 && s.keepalive_requests > 0);
    CHECK(s.access_log == NULL && s.error_log == NULL && s.lua_path == NULL);
}

static void test_new_and_refs(void)
{
    struct foyer_config *c = foyer_config_new("/etc/foyer/foyer.lua");
    REQUIRE(c != NULL);
    CHECK_STR(c->file, "/etc/foyer/foyer.lua");
    CHECK_INT(c->refs, 1);
    CHECK_INT(c->route_ref, LUA_NOREF);
    CHECK(c->L == NULL && c->nservices == 0 && c->nlistens == 0);
    CHECK_INT(c->settings.max_headers, 100);
    foyer_config_ref(c);
    foyer_config_ref(c);
    CHECK_INT(c->refs, 3);
    foyer_config_unref(c);
    foyer_config_unref(c);
    CHECK_INT(c->refs, 1); /* still alive: in-flight requests hold it */
    foyer_config_unref(c);
    foyer_config_unref(NULL);
}

/* A config with services named like name_fmt % i, as the DSL would add them. */
static struct foyer_config *with_services(unsigned n, const char *name_fmt)
{
    struct foyer_config *c = foyer_config_new("test.lua");
    REQUIRE(c != NULL);
    c->services = calloc(n ? n : 1, sizeof *c->services);
    REQUIRE(c->services != NULL);
    for (unsigned i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, name_fmt, i);
        c->services[i].name = strdup(name);
        REQUIRE(c->services[i].name != NULL);
    }
    c->nservices = n;
    REQUIRE(foyer_config_index_services(c) == 0);
    return c;
}

static struct foyer_service *lookup(struct foyer_config *c, const char *name)
{
    return foyer_config_service(c, name, strlen(name));
}

static void test_lookup_each(void)
{
    struct foyer_config *c = with_services(300, "svc-%u");
    unsigned wrong = 0;
    for (unsigned i = 0; i < 300; i++) {
        char name[64];
        snprintf(name, sizeof name, "svc-%u", i);
        if (lookup(c, name) != &c->services[i]) wrong++;
    }
    CHECK_INT(wrong, 0);
    CHECK(c->index_size >= 2 * c->nservices);
    foyer_config_unref(c);
}

static void test_lookup_misses(void)
{
    struct foyer_config *c = with_services(10, "pizza-%u");
    CHECK(lookup(c, "pizza-10") == NULL);
    CHECK(lookup(c, "pizza-") == NULL);
    CHECK(lookup(c, "pizza") == NULL);
    CHECK(lookup(c, "pizza-1x") == NULL);
    CHECK(lookup(c, "PIZZA-1") == NULL); /* names are exact */
    CHECK(lookup(c, "") == NULL);
    /* the length bounds the name: no NUL needed */
    CHECK(foyer_config_service(c, "pizza-3-and-more", 7) == &c->services[3]);
    CHECK(foyer_config_service(c, "pizza-3", 6) == NULL);
    foyer_config_unref(c);
}

static void test_empty_index(void)
{
    struct foyer_config *c = with_services(0, "%u");
    CHECK(lookup(c, "anything") == NULL);
    foyer_config_unref(c);
    c = foyer_config_new("x.lua");
    REQUIRE(c != NULL);
    CHECK(lookup(c, "anything") == NULL); /* not indexed yet */
    foyer_config_unref(c);
}

static void test_reindex(void)
{
    struct foyer_config *c = with_services(3, "s%u");
    REQUIRE(foyer_config_index_services(c) == 0);
    CHECK(lookup(c, "s2") == &c->services[2]);
    foyer_config_unref(c);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_defaults),    UNIT_TEST(test_new_and_refs),
    UNIT_TEST(test_lookup_each), UNIT_TEST(test_lookup_misses),
    UNIT_TEST(test_empty_index), UNIT_TEST(test_reindex),
};
UNIT_MAIN("config", tests)
