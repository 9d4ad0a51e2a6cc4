# tests/waf: the WAF. One CUnit program per module of the detection library
# (tests/waf/test_waf_sqli.c tests plugins/waf/sqli.c, ...), linked with the
# library alone; test_waf_e2e drives waf.so in the real foyer; test_waf_corpus
# replays ../shared's labelled corpus through foyer with waf.so and checks the
# detection and false-positive rates (skipped without ../shared). waf_eval is
# the offline evaluator (python3 tests/waf/corpus_feed.py | tests/waf/waf_eval).
WAF_UNIT_TESTS = \
	tests/waf/test_waf_normalize \
	tests/waf/test_waf_request_parts \
	tests/waf/test_waf_engine \
	tests/waf/test_waf_misc \
	tests/waf/test_waf_sqli \
	tests/waf/test_waf_xss \
	tests/waf/test_waf_lfi \
	tests/waf/test_waf_rfi \
	tests/waf/test_waf_rce \
	tests/waf/test_waf_code \
	tests/waf/test_waf_ssti \
	tests/waf/test_waf_ldap \
	tests/waf/test_waf_nosql
check_PROGRAMS += $(WAF_UNIT_TESTS) tests/waf/test_waf_e2e
TESTS += $(WAF_UNIT_TESTS) tests/waf/test_waf_e2e tests/waf/test_waf_corpus.sh
noinst_PROGRAMS += tests/waf/waf_eval
EXTRA_DIST += tests/waf/test_waf_corpus.sh tests/waf/corpus_replay.py tests/waf/corpus_feed.py \
	tests/waf/detector_test.h tests/waf/random_phrase.h tests/waf/bench/get_browser.http tests/waf/bench/json_order.http

WAF_TEST_LDADD = plugins/waf/libwafdetect.la $(CUNIT_LIBS)

tests_waf_test_waf_normalize_CPPFLAGS = -I$(top_srcdir)/plugins/waf
tests_waf_test_waf_normalize_LDADD = $(WAF_TEST_LDADD)
tests_waf_test_waf_request_parts_CPPFLAGS = -I$(top_srcdir)/plugins/waf
tests_waf_test_waf_request_parts_LDADD = $(WAF_TEST_LDADD)
tests_waf_test_waf_engine_CPPFLAGS = -I$(top_srcdir)/plugins/waf
tests_waf_test_waf_engine_LDADD = $(WAF_TEST_LDADD)
tests_waf_test_waf_misc_CPPFLAGS = -I$(top_srcdir)/plugins/waf
tests_waf_test_waf_misc_LDADD = $(WAF_TEST_LDADD)
tests_waf_test_waf_sqli_CPPFLAGS = -I$(top_srcdir)/plugins/waf
tests_waf_test_waf_sqli_LDADD = $(WAF_TEST_LDADD)
tests_waf_test_waf_xss_CPPFLAGS = -I$(top_srcdir)/plugins/waf
tests_waf_test_waf_xss_LDADD = $(WAF_TEST_LDADD)
tests_waf_test_waf_lfi_CPPFLAGS = -I$(top_srcdir)/plugins/waf
tests_waf_test_waf_lfi_LDADD = $(WAF_TEST_LDADD)
tests_waf_test_waf_rfi_CPPFLAGS = -I$(top_srcdir)/plugins/waf
tests_waf_test_waf_rfi_LDADD = $(WAF_TEST_LDADD)
tests_waf_test_waf_rce_CPPFLAGS = -I$(top_srcdir)/plugins/waf
tests_waf_test_waf_rce_LDADD = $(WAF_TEST_LDADD)
tests_waf_test_waf_code_CPPFLAGS = -I$(top_srcdir)/plugins/waf
tests_waf_test_waf_code_LDADD = $(WAF_TEST_LDADD)
tests_waf_test_waf_ssti_CPPFLAGS = -I$(top_srcdir)/plugins/waf
tests_waf_test_waf_ssti_LDADD = $(WAF_TEST_LDADD)
tests_waf_test_waf_ldap_CPPFLAGS = -I$(top_srcdir)/plugins/waf
tests_waf_test_waf_ldap_LDADD = $(WAF_TEST_LDADD)
tests_waf_test_waf_nosql_CPPFLAGS = -I$(top_srcdir)/plugins/waf
tests_waf_test_waf_nosql_LDADD = $(WAF_TEST_LDADD)

tests_waf_waf_eval_CPPFLAGS = -I$(top_srcdir)/plugins/waf
tests_waf_waf_eval_LDADD = plugins/waf/libwafdetect.la

tests_waf_test_waf_e2e_SOURCES = tests/waf/test_waf_e2e.c $(E2E_HARNESS)
tests_waf_test_waf_e2e_LDADD = $(CUNIT_LIBS) -lm
