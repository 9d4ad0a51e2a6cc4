# tests/k8s: foyer-k8s (tools/k8s) end to end. Each program runs the real
# foyer-k8s on manifests, then the real foyer on what it wrote, with real
# backends (tests/helpers/foyer-test-backend) on 127.0.0.1; each case in its own
# process (the e2e harness, tests/e2e/harness.h).
#   test_k8s_manifest  manifest.c: YAML and JSON through libyaml (unit, CUnit)
#   test_k8s_e2e       sample manifests in tests/k8s/samples/ -> routing checked
#   test_k8s_corpus    ../shared/corpus/routing/cases.json as manifests (77 when absent)
K8S_TEST_CPPFLAGS = -I$(top_srcdir)/tests/e2e -I$(top_srcdir)/tools/k8s $(AM_CPPFLAGS)
K8S_TEST_HELPERS = tests/k8s/k8s_test.h tests/k8s/k8s_test.c $(E2E_HARNESS)
K8S_TESTS = \
	tests/k8s/test_k8s_manifest \
	tests/k8s/test_k8s_e2e \
	tests/k8s/test_k8s_corpus
check_PROGRAMS += $(K8S_TESTS)
TESTS += $(K8S_TESTS)

tests_k8s_test_k8s_manifest_SOURCES = tests/k8s/test_k8s_manifest.c \
	tools/k8s/k8s.h tools/k8s/manifest.c tools/k8s/tree.c tools/k8s/diag.c
tests_k8s_test_k8s_manifest_CPPFLAGS = $(K8S_TEST_CPPFLAGS)
tests_k8s_test_k8s_manifest_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS)
tests_k8s_test_k8s_manifest_LDADD = $(CUNIT_LIBS) $(YAML_LIBS)

tests_k8s_test_k8s_e2e_SOURCES = tests/k8s/test_k8s_e2e.c \
	tests/e2e/router_cases.h tests/e2e/router_cases.c $(K8S_TEST_HELPERS)
tests_k8s_test_k8s_e2e_CPPFLAGS = $(K8S_TEST_CPPFLAGS)
tests_k8s_test_k8s_e2e_LDADD = $(CUNIT_LIBS) -lm

tests_k8s_test_k8s_corpus_SOURCES = tests/k8s/test_k8s_corpus.c \
	tests/e2e/corpus_check.h tests/e2e/corpus_check.c \
	tests/k8s/corpus_manifest.h tests/k8s/corpus_manifest.c $(K8S_TEST_HELPERS)
tests_k8s_test_k8s_corpus_CPPFLAGS = $(K8S_TEST_CPPFLAGS)
tests_k8s_test_k8s_corpus_LDADD = $(CUNIT_LIBS) -lm

EXTRA_DIST += \
	tests/k8s/samples/annotations.yaml \
	tests/k8s/samples/bad.json \
	tests/k8s/samples/bad.yaml \
	tests/k8s/samples/dns.yaml \
	tests/k8s/samples/gateway.yaml \
	tests/k8s/samples/ingress.yaml \
	tests/k8s/samples/list.json \
	tests/k8s/samples/list.yaml \
	tests/k8s/samples/missing.yaml \
	tests/k8s/samples/notobject.yaml \
	tests/k8s/samples/tls.yaml \
	tests/k8s/samples/unsupported.yaml
