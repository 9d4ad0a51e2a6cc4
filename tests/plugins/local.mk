# tests/plugins: the plugin ABI end to end. `make check` builds these plugins
# as real shared objects (libtool modules, never installed: -rpath /nowhere)
# against foyer/plugin.h alone (-I core/include, none of the core's headers),
# then test_plugins runs foyer with them:
#   hello      examples/plugins/hello/hello.c, the out-of-tree example
#   allhooks   every hook and every call of struct foyer_api (allhooks.c)
#   old        a descriptor of an older, smaller size (old.c)
#   major minor nosym magic misnamed nulldesc tiny initfail
#              broken.c built once per BROKEN_* variant: what the loader refuses
# foyer loads them from tests/plugins/.libs/NAME.so.
PLUGIN_TEST_CPPFLAGS = -I$(top_srcdir)/core/include
PLUGIN_TEST_CFLAGS = $(FOYER_CFLAGS)
PLUGIN_TEST_LDFLAGS = -module -avoid-version -shared -rpath /nowhere

PLUGIN_TEST_BROKEN = \
	tests/plugins/major.la \
	tests/plugins/minor.la \
	tests/plugins/nosym.la \
	tests/plugins/magic.la \
	tests/plugins/misnamed.la \
	tests/plugins/nulldesc.la \
	tests/plugins/tiny.la \
	tests/plugins/initfail.la
check_LTLIBRARIES += \
	tests/plugins/hello.la \
	tests/plugins/allhooks.la \
	tests/plugins/old.la \
	$(PLUGIN_TEST_BROKEN)

tests_plugins_hello_la_SOURCES = examples/plugins/hello/hello.c
tests_plugins_hello_la_CPPFLAGS = $(PLUGIN_TEST_CPPFLAGS)
tests_plugins_hello_la_CFLAGS = $(PLUGIN_TEST_CFLAGS)
tests_plugins_hello_la_LDFLAGS = $(PLUGIN_TEST_LDFLAGS)

tests_plugins_allhooks_la_SOURCES = tests/plugins/allhooks.c
tests_plugins_allhooks_la_CPPFLAGS = $(PLUGIN_TEST_CPPFLAGS)
tests_plugins_allhooks_la_CFLAGS = $(PLUGIN_TEST_CFLAGS)
tests_plugins_allhooks_la_LDFLAGS = $(PLUGIN_TEST_LDFLAGS)

tests_plugins_old_la_SOURCES = tests/plugins/old.c
tests_plugins_old_la_CPPFLAGS = $(PLUGIN_TEST_CPPFLAGS)
tests_plugins_old_la_CFLAGS = $(PLUGIN_TEST_CFLAGS)
tests_plugins_old_la_LDFLAGS = $(PLUGIN_TEST_LDFLAGS)

tests_plugins_major_la_SOURCES = tests/plugins/broken.c
tests_plugins_major_la_CPPFLAGS = $(PLUGIN_TEST_CPPFLAGS) -DBROKEN_MAJOR
tests_plugins_major_la_CFLAGS = $(PLUGIN_TEST_CFLAGS)
tests_plugins_major_la_LDFLAGS = $(PLUGIN_TEST_LDFLAGS)
tests_plugins_minor_la_SOURCES = tests/plugins/broken.c
tests_plugins_minor_la_CPPFLAGS = $(PLUGIN_TEST_CPPFLAGS) -DBROKEN_MINOR
tests_plugins_minor_la_CFLAGS = $(PLUGIN_TEST_CFLAGS)
tests_plugins_minor_la_LDFLAGS = $(PLUGIN_TEST_LDFLAGS)
tests_plugins_nosym_la_SOURCES = tests/plugins/broken.c
tests_plugins_nosym_la_CPPFLAGS = $(PLUGIN_TEST_CPPFLAGS) -DBROKEN_NOSYM
tests_plugins_nosym_la_CFLAGS = $(PLUGIN_TEST_CFLAGS)
tests_plugins_nosym_la_LDFLAGS = $(PLUGIN_TEST_LDFLAGS)
tests_plugins_magic_la_SOURCES = tests/plugins/broken.c
tests_plugins_magic_la_CPPFLAGS = $(PLUGIN_TEST_CPPFLAGS) -DBROKEN_MAGIC
tests_plugins_magic_la_CFLAGS = $(PLUGIN_TEST_CFLAGS)
tests_plugins_magic_la_LDFLAGS = $(PLUGIN_TEST_LDFLAGS)
tests_plugins_misnamed_la_SOURCES = tests/plugins/broken.c
tests_plugins_misnamed_la_CPPFLAGS = $(PLUGIN_TEST_CPPFLAGS) -DBROKEN_NAME
tests_plugins_misnamed_la_CFLAGS = $(PLUGIN_TEST_CFLAGS)
tests_plugins_misnamed_la_LDFLAGS = $(PLUGIN_TEST_LDFLAGS)
tests_plugins_nulldesc_la_SOURCES = tests/plugins/broken.c
tests_plugins_nulldesc_la_CPPFLAGS = $(PLUGIN_TEST_CPPFLAGS) -DBROKEN_NULL
tests_plugins_nulldesc_la_CFLAGS = $(PLUGIN_TEST_CFLAGS)
tests_plugins_nulldesc_la_LDFLAGS = $(PLUGIN_TEST_LDFLAGS)
tests_plugins_tiny_la_SOURCES = tests/plugins/broken.c
tests_plugins_tiny_la_CPPFLAGS = $(PLUGIN_TEST_CPPFLAGS) -DBROKEN_TINY
tests_plugins_tiny_la_CFLAGS = $(PLUGIN_TEST_CFLAGS)
tests_plugins_tiny_la_LDFLAGS = $(PLUGIN_TEST_LDFLAGS)
tests_plugins_initfail_la_SOURCES = tests/plugins/broken.c
tests_plugins_initfail_la_CPPFLAGS = $(PLUGIN_TEST_CPPFLAGS) -DBROKEN_INIT
tests_plugins_initfail_la_CFLAGS = $(PLUGIN_TEST_CFLAGS)
tests_plugins_initfail_la_LDFLAGS = $(PLUGIN_TEST_LDFLAGS)

# The test program: the e2e harness (tests/e2e/local.mk's E2E_HARNESS) plus
# the cases. It finds the plugins next to $FOYER_BIN, in tests/plugins/.libs,
# and the example's sources under $FOYER_SRCDIR for the out-of-tree build.
PLUGIN_TESTS = tests/plugins/test_plugins
check_PROGRAMS += $(PLUGIN_TESTS)
TESTS += $(PLUGIN_TESTS)
tests_plugins_test_plugins_SOURCES = tests/plugins/test_plugins.c $(E2E_HARNESS)
tests_plugins_test_plugins_LDADD = $(CUNIT_LIBS) -lm

# ---- plugins/lb -------------------------------------------------------------
# Unit tests: one program per file of plugins/lb, linked with that file
# directly (no plugin loading, no core), with CUnit and test_lb_util.c.
# test_lb_e2e runs the real foyer with the built lb.so and real backends.
LB_TEST_UTIL = tests/plugins/test_lb_util.h tests/plugins/test_lb_util.c
LB_TEST_CPPFLAGS = -I$(top_srcdir)/plugins/lb -I$(top_srcdir)/core/include
LB_UNIT_TESTS = \
	tests/plugins/test_lb_round_robin \
	tests/plugins/test_lb_weighted \
	tests/plugins/test_lb_least_conn \
	tests/plugins/test_lb_p2c_ewma \
	tests/plugins/test_lb_maglev \
	tests/plugins/test_lb_ring_hash \
	tests/plugins/test_lb_random \
	tests/plugins/test_lb_health_passive \
	tests/plugins/test_lb_health_active
check_PROGRAMS += $(LB_UNIT_TESTS) tests/plugins/test_lb_e2e
TESTS += $(LB_UNIT_TESTS) tests/plugins/test_lb_e2e

tests_plugins_test_lb_round_robin_SOURCES = tests/plugins/test_lb_round_robin.c \
	plugins/lb/round_robin.c plugins/lb/hash.c $(LB_TEST_UTIL)
tests_plugins_test_lb_round_robin_CPPFLAGS = $(LB_TEST_CPPFLAGS)
tests_plugins_test_lb_round_robin_LDADD = $(CUNIT_LIBS)
tests_plugins_test_lb_weighted_SOURCES = tests/plugins/test_lb_weighted.c \
	plugins/lb/weighted.c plugins/lb/hash.c $(LB_TEST_UTIL)
tests_plugins_test_lb_weighted_CPPFLAGS = $(LB_TEST_CPPFLAGS)
tests_plugins_test_lb_weighted_LDADD = $(CUNIT_LIBS)
tests_plugins_test_lb_least_conn_SOURCES = tests/plugins/test_lb_least_conn.c \
	plugins/lb/least_conn.c plugins/lb/weighted.c plugins/lb/hash.c $(LB_TEST_UTIL)
tests_plugins_test_lb_least_conn_CPPFLAGS = $(LB_TEST_CPPFLAGS)
tests_plugins_test_lb_least_conn_LDADD = $(CUNIT_LIBS)
tests_plugins_test_lb_p2c_ewma_SOURCES = tests/plugins/test_lb_p2c_ewma.c \
	plugins/lb/p2c_ewma.c plugins/lb/hash.c $(LB_TEST_UTIL)
tests_plugins_test_lb_p2c_ewma_CPPFLAGS = $(LB_TEST_CPPFLAGS)
tests_plugins_test_lb_p2c_ewma_LDADD = $(CUNIT_LIBS) -lm
tests_plugins_test_lb_maglev_SOURCES = tests/plugins/test_lb_maglev.c \
	plugins/lb/maglev.c plugins/lb/hash.c $(LB_TEST_UTIL)
tests_plugins_test_lb_maglev_CPPFLAGS = $(LB_TEST_CPPFLAGS)
tests_plugins_test_lb_maglev_LDADD = $(CUNIT_LIBS)
tests_plugins_test_lb_ring_hash_SOURCES = tests/plugins/test_lb_ring_hash.c \
	plugins/lb/ring_hash.c plugins/lb/hash.c $(LB_TEST_UTIL)
tests_plugins_test_lb_ring_hash_CPPFLAGS = $(LB_TEST_CPPFLAGS)
tests_plugins_test_lb_ring_hash_LDADD = $(CUNIT_LIBS)
tests_plugins_test_lb_random_SOURCES = tests/plugins/test_lb_random.c \
	plugins/lb/random.c plugins/lb/hash.c $(LB_TEST_UTIL)
tests_plugins_test_lb_random_CPPFLAGS = $(LB_TEST_CPPFLAGS)
tests_plugins_test_lb_random_LDADD = $(CUNIT_LIBS)
tests_plugins_test_lb_health_passive_SOURCES = tests/plugins/test_lb_health_passive.c \
	plugins/lb/health_passive.c plugins/lb/hash.c $(LB_TEST_UTIL)
tests_plugins_test_lb_health_passive_CPPFLAGS = $(LB_TEST_CPPFLAGS)
tests_plugins_test_lb_health_passive_LDADD = $(CUNIT_LIBS)
tests_plugins_test_lb_health_active_SOURCES = tests/plugins/test_lb_health_active.c \
	plugins/lb/health_active.c plugins/lb/health_shared.c plugins/lb/hash.c $(LB_TEST_UTIL)
tests_plugins_test_lb_health_active_CPPFLAGS = $(LB_TEST_CPPFLAGS)
tests_plugins_test_lb_health_active_LDADD = $(CUNIT_LIBS)

# The e2e harness (tests/e2e/local.mk's E2E_HARNESS); the plugin is found
# beside $FOYER_BIN as plugins/lb/.libs/lb.so.
tests_plugins_test_lb_e2e_SOURCES = tests/plugins/test_lb_e2e.c $(E2E_HARNESS)
tests_plugins_test_lb_e2e_LDADD = $(CUNIT_LIBS) -lm

# ---- plugins/tls ------------------------------------------------------------
# test_tls_names: plugins/tls/names.c alone (the SNI table). test_tls_e2e: the
# real foyer with the built tls.so, certificates made at test time by
# tls_certs.sh with the openssl command, TLS clients from OpenSSL's API,
# `openssl s_client` and curl; tls.so is found beside $FOYER_BIN as
# plugins/tls/.libs/tls.so. test_tls_upstream: https:// endpoints, a foyer
# proxying to another foyer terminating TLS.
TLS_TESTS = tests/plugins/test_tls_names tests/plugins/test_tls_e2e \
	tests/plugins/test_tls_upstream
check_PROGRAMS += $(TLS_TESTS)
TESTS += $(TLS_TESTS)
EXTRA_DIST += tests/plugins/tls_certs.sh

tests_plugins_test_tls_names_SOURCES = tests/plugins/test_tls_names.c plugins/tls/names.c
tests_plugins_test_tls_names_CPPFLAGS = -I$(top_srcdir)/plugins/tls -I$(top_srcdir)/core/include
tests_plugins_test_tls_names_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_plugins_test_tls_names_LDADD = $(CUNIT_LIBS)

tests_plugins_test_tls_e2e_SOURCES = tests/plugins/test_tls_e2e.c $(E2E_HARNESS)
tests_plugins_test_tls_e2e_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_plugins_test_tls_e2e_LDADD = $(CUNIT_LIBS) $(OPENSSL_LIBS) -lm

# test_admin: the admin listener (metrics, status) with lb.so's health.
check_PROGRAMS += tests/plugins/test_admin
TESTS += tests/plugins/test_admin
tests_plugins_test_admin_SOURCES = tests/plugins/test_admin.c $(E2E_HARNESS)
tests_plugins_test_admin_LDADD = $(CUNIT_LIBS) -lm

tests_plugins_test_tls_upstream_SOURCES = tests/plugins/test_tls_upstream.c $(E2E_HARNESS)
tests_plugins_test_tls_upstream_LDADD = $(CUNIT_LIBS) -lm

# test_reload_hardening (issue 8): 50 reloads under load with a listener
# added and removed and the TLS certificate swapped (tls.so, certificates
# from tls_certs.sh), no fd or memory growth; stopping under load.
check_PROGRAMS += tests/plugins/test_reload_hardening
TESTS += tests/plugins/test_reload_hardening
tests_plugins_test_reload_hardening_SOURCES = tests/plugins/test_reload_hardening.c $(E2E_HARNESS)
tests_plugins_test_reload_hardening_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) -pthread
tests_plugins_test_reload_hardening_LDADD = $(CUNIT_LIBS) $(OPENSSL_LIBS) -lm -lpthread
