# tests/unit: CUnit tests of the core modules, one program per source file
# (tests/unit/test_http_head.c tests core/http_head.c, test_config_lua.c tests
# lua/config_lua.c, ...). Each links the core convenience library and the
# shared helpers of unit.h, and exits non-zero when any check fails.
check_LIBRARIES = tests/unit/libunit.a
tests_unit_libunit_a_SOURCES = tests/unit/unit.h tests/unit/unit.c

UNIT_LDADD = tests/unit/libunit.a $(FOYER_CORE_LIBS) $(CUNIT_LIBS)
UNIT_TESTS = \
	tests/unit/test_addr \
	tests/unit/test_buf \
	tests/unit/test_config \
	tests/unit/test_config_lua \
	tests/unit/test_config_etcd \
	tests/unit/test_http1 \
	tests/unit/test_http_chunked \
	tests/unit/test_http_head \
	tests/unit/test_http_message \
	tests/unit/test_listener \
	tests/unit/test_log \
	tests/unit/test_lua_state \
	tests/unit/test_outq \
	tests/unit/test_pool \
	tests/unit/test_request \
	tests/unit/test_request_lua \
	tests/unit/test_transport
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

# Sources default to tests/unit/<name>.c.
tests_unit_test_addr_LDADD = $(UNIT_LDADD)
tests_unit_test_buf_LDADD = $(UNIT_LDADD)
tests_unit_test_config_LDADD = $(UNIT_LDADD)
tests_unit_test_config_lua_LDADD = $(UNIT_LDADD)
tests_unit_test_config_etcd_LDADD = $(UNIT_LDADD)
tests_unit_test_http1_LDADD = $(UNIT_LDADD)
tests_unit_test_http_chunked_LDADD = $(UNIT_LDADD)
tests_unit_test_http_head_LDADD = $(UNIT_LDADD)
tests_unit_test_http_message_LDADD = $(UNIT_LDADD)
tests_unit_test_listener_LDADD = $(UNIT_LDADD)
tests_unit_test_log_LDADD = $(UNIT_LDADD)
tests_unit_test_lua_state_LDADD = $(UNIT_LDADD)
tests_unit_test_outq_LDADD = $(UNIT_LDADD)
tests_unit_test_pool_LDADD = $(UNIT_LDADD)
tests_unit_test_request_LDADD = $(UNIT_LDADD)
tests_unit_test_request_lua_LDADD = $(UNIT_LDADD)
tests_unit_test_transport_LDADD = $(UNIT_LDADD)

# foyer.router (lua/router*.c) and its JSON reader (lua/json.c). The router
# tests share router_fixture.c; test_router_corpus reads
# ../shared/corpus/routing/cases.json and skips (77) when it is absent.
ROUTER_UNIT_TESTS = \
	tests/unit/test_json \
	tests/unit/test_router \
	tests/unit/test_router_lua \
	tests/unit/test_router_corpus \
	tests/unit/test_config_etcd_change
check_PROGRAMS += $(ROUTER_UNIT_TESTS)
TESTS += $(ROUTER_UNIT_TESTS)
ROUTER_FIXTURE = tests/unit/router_fixture.c tests/unit/router_fixture.h
tests_unit_test_json_LDADD = $(UNIT_LDADD)
tests_unit_test_router_SOURCES = tests/unit/test_router.c $(ROUTER_FIXTURE)
tests_unit_test_router_LDADD = $(UNIT_LDADD)
tests_unit_test_router_lua_SOURCES = tests/unit/test_router_lua.c $(ROUTER_FIXTURE)
tests_unit_test_router_lua_LDADD = $(UNIT_LDADD)
tests_unit_test_router_corpus_SOURCES = tests/unit/test_router_corpus.c $(ROUTER_FIXTURE)
tests_unit_test_router_corpus_LDADD = $(UNIT_LDADD)
tests_unit_test_config_etcd_change_SOURCES = tests/unit/test_config_etcd_change.c \
	$(ROUTER_FIXTURE)
tests_unit_test_config_etcd_change_LDADD = $(UNIT_LDADD)
