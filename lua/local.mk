# Lua: the config DSL, the worker's LuaJIT state and the request bindings.
core_libfoyercore_a_SOURCES += \
	lua/config_lua.c \
	lua/config_etcd.c lua/config_etcd.h lua/config_etcd_int.h \
	lua/config_etcd_change.c lua/config_etcd_service.c \
	lua/config_source_lua.c \
	lua/decision_lua.c lua/decision_lua.h \
	lua/health_lua.c \
	lua/lua_state.c lua/lua_state.h \
	lua/request_lua.c

# foyer.router: declarative routes compiled into a C matcher (lua/router.h),
# with its own strict JSON reader for router.load.
core_libfoyercore_a_SOURCES += \
	lua/json.c lua/json.h \
	lua/json_lua.c lua/json_lua.h \
	lua/router.h lua/router_int.h lua/router_lua.h \
	lua/router_bind.c \
	lua/router_cc.c \
	lua/router_compile.c \
	lua/router_decision_lua.c \
	lua/router_filters.c \
	lua/router_host.c \
	lua/router_index.c \
	lua/router_live.c \
	lua/router_load.c \
	lua/router_lua.c \
	lua/router_match.c \
	lua/router_ruleset.c \
	lua/router_table.c

# bench/routes_scale.sh's program: compile time, memory and per-request cost
# of foyer.router at 100k hosts (built with the tests: make check, or
# make bench/router_scale).
check_PROGRAMS += bench/router_scale
bench_router_scale_LDADD = $(FOYER_CORE_LIBS)
EXTRA_DIST += lua/router.md
