# tests/helpers: foyer-test-backend, the origin server of the e2e tests and
# the benchmarks. check_PROGRAMS so `make check` builds it, noinst_PROGRAMS so
# plain `make` does too (bench/ uses it without running the tests).
noinst_PROGRAMS += tests/helpers/foyer-test-backend
check_PROGRAMS += tests/helpers/foyer-test-backend
tests_helpers_foyer_test_backend_SOURCES = \
	tests/helpers/backend.h \
	tests/helpers/backend.c \
	tests/helpers/backend_conn.c \
	tests/helpers/backend_endpoints.c \
	tests/helpers/backend_parse.c
tests_helpers_foyer_test_backend_LDADD = $(EV_LIBS) $(OPENSSL_LIBS)
