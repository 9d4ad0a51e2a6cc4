# tests/e2e: end-to-end tests. Each program starts the real foyer and real
# backends (tests/helpers/foyer-test-backend) on 127.0.0.1 ephemeral ports;
# each test case runs in its own process with a timeout (harness.c).
# test_robustness and test_router_corpus exit 77 (SKIP) when ../shared is
# absent.
E2E_HARNESS = tests/e2e/harness.h tests/e2e/harness.c tests/e2e/harness_http.c \
	tests/e2e/harness_report.c tests/e2e/json.h tests/e2e/json.c
E2E_TESTS = \
	tests/e2e/test_config \
	tests/e2e/test_proxy \
	tests/e2e/test_smuggling \
	tests/e2e/test_bodies \
	tests/e2e/test_robustness \
	tests/e2e/test_route_decisions \
	tests/e2e/test_router \
	tests/e2e/test_router_corpus \
	tests/e2e/test_reload \
	tests/e2e/test_examples \
	tests/e2e/test_operations
check_PROGRAMS += $(E2E_TESTS)
TESTS += $(E2E_TESTS)

tests_e2e_test_config_SOURCES = tests/e2e/test_config.c $(E2E_HARNESS)
tests_e2e_test_config_LDADD = $(CUNIT_LIBS) -lm
tests_e2e_test_proxy_SOURCES = tests/e2e/test_proxy.c $(E2E_HARNESS)
tests_e2e_test_proxy_LDADD = $(CUNIT_LIBS) -lm
tests_e2e_test_smuggling_SOURCES = tests/e2e/test_smuggling.c $(E2E_HARNESS)
tests_e2e_test_smuggling_LDADD = $(CUNIT_LIBS) -lm
tests_e2e_test_bodies_SOURCES = tests/e2e/test_bodies.c $(E2E_HARNESS)
tests_e2e_test_bodies_LDADD = $(CUNIT_LIBS) -lm
tests_e2e_test_robustness_SOURCES = tests/e2e/test_robustness.c $(E2E_HARNESS)
tests_e2e_test_robustness_LDADD = $(CUNIT_LIBS) -lm
tests_e2e_test_route_decisions_SOURCES = tests/e2e/test_route_decisions.c $(E2E_HARNESS)
tests_e2e_test_route_decisions_LDADD = $(CUNIT_LIBS) -lm
tests_e2e_test_router_SOURCES = tests/e2e/test_router.c tests/e2e/router_cases.h \
	tests/e2e/router_cases.c $(E2E_HARNESS)
tests_e2e_test_router_LDADD = $(CUNIT_LIBS) -lm
tests_e2e_test_router_corpus_SOURCES = tests/e2e/test_router_corpus.c \
	tests/e2e/corpus_check.h tests/e2e/corpus_check.c $(E2E_HARNESS)
tests_e2e_test_router_corpus_LDADD = $(CUNIT_LIBS) -lm
tests_e2e_test_reload_SOURCES = tests/e2e/test_reload.c $(E2E_HARNESS)
tests_e2e_test_reload_CFLAGS = $(AM_CFLAGS) -pthread
tests_e2e_test_reload_LDADD = $(CUNIT_LIBS) -lm -lpthread
tests_e2e_test_examples_SOURCES = tests/e2e/test_examples.c tests/e2e/router_cases.h \
	tests/e2e/router_cases.c $(E2E_HARNESS)
tests_e2e_test_examples_LDADD = $(CUNIT_LIBS) -lm
tests_e2e_test_operations_SOURCES = tests/e2e/test_operations.c $(E2E_HARNESS)
tests_e2e_test_operations_LDADD = $(CUNIT_LIBS) -lm

# Hardening (issue 8): upstream and client faults, slow and idle clients.
E2E_HARDENING_TESTS = tests/e2e/test_faults tests/e2e/test_slow_clients
check_PROGRAMS += $(E2E_HARDENING_TESTS)
TESTS += $(E2E_HARDENING_TESTS)
tests_e2e_test_faults_SOURCES = tests/e2e/test_faults.c $(E2E_HARNESS)
tests_e2e_test_faults_LDADD = $(CUNIT_LIBS) -lm
tests_e2e_test_slow_clients_SOURCES = tests/e2e/test_slow_clients.c $(E2E_HARNESS)
tests_e2e_test_slow_clients_CFLAGS = $(AM_CFLAGS) -pthread
tests_e2e_test_slow_clients_LDADD = $(CUNIT_LIBS) -lm -lpthread

# Live configuration from etcd (issue 9): a real etcd (Debian etcd-server) on
# ephemeral ports; exits 77 (SKIP) without the etcd binary unless $CI is set.
check_PROGRAMS += tests/e2e/test_etcd
TESTS += tests/e2e/test_etcd
tests_e2e_test_etcd_SOURCES = tests/e2e/test_etcd.c $(E2E_HARNESS)
tests_e2e_test_etcd_CFLAGS = $(AM_CFLAGS) -pthread
tests_e2e_test_etcd_LDADD = $(CUNIT_LIBS) -lm -lpthread
