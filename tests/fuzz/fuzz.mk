# The libFuzzer targets, built by clang with ASan + UBSan. A plain GNU make
# file, apart from automake's: the normal build uses gcc, and these objects
# need clang's coverage instrumentation, so the core, Lua and WAF sources are
# compiled again here into their own directory.
#
#   make -f tests/fuzz/fuzz.mk srcdir=. out=/tmp/foyer-fuzz [-j2]
#
# `make fuzz` (tests/fuzz/local.mk) calls this with configure's flags;
# tests/fuzz/run.sh calls it with pkg-config's when no build tree is given.
# The result: $(out)/fuzz_<target> for each of FUZZ_TARGETS.

srcdir ?= .
out ?= tests/fuzz/build
FUZZ_CC ?= clang

FUZZ_TARGETS = request_head chunked response_head config router waf

LUAJIT_CFLAGS ?= $(shell pkg-config --cflags luajit)
LUAJIT_LIBS ?= $(shell pkg-config --libs luajit)
OPENSSL_CFLAGS ?= $(shell pkg-config --cflags libssl libcrypto)
OPENSSL_LIBS ?= $(shell pkg-config --libs libssl libcrypto)
EV_LIBS ?= -lev
HTTP_PARSER_LIBS ?= -lhttp_parser
FUZZ_LIBS ?= -ldl -lm

SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer $(SAN) -std=gnu11 -pthread \
	-Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE
FUZZ_CPPFLAGS = -I$(out)/include -I$(srcdir)/core/include -I$(srcdir)/core \
	-I$(srcdir)/lua -I$(srcdir)/plugins/waf \
	-DFOYER_SYSCONFDIR='"/nonexistent/foyer"' \
	-DFOYER_LUADIR='"$(abspath $(srcdir))/lua"' \
	-DFOYER_PLUGINDIR='"/nonexistent/foyer/plugins"' \
	$(LUAJIT_CFLAGS) $(OPENSSL_CFLAGS)

# What core/libfoyercore.a holds (core/local.mk, lua/local.mk), less nothing:
# the archive lets each target link only the objects it reaches.
FUZZ_CORE_SOURCES = \
	core/access_log.c core/log_format.c core/notify.c core/metrics.c core/admin.c core/strbuf.c \
	core/addr.c core/buf.c core/config.c core/conn.c core/deadline.c core/fields.c \
	core/http1.c core/http_chunked.c core/http_head.c core/http_message.c \
	core/listener.c core/log.c core/mirror.c core/outq.c core/plugin_api.c \
	core/plugin_hooks.c core/plugin_loader.c core/plugin_transport.c core/pool.c \
	core/process.c core/random.c core/proxy.c core/proxy_head.c core/proxy_relay.c \
	core/proxy_hold.c core/request.c core/respond.c core/transport.c \
	core/upstream.c core/worker.c \
	core/config_source.c core/config_change_msg.c core/etcd_client.c core/etcd_keys.c core/etcd_kvset.c \
	lua/config_lua.c lua/config_etcd.c lua/config_etcd_change.c lua/config_etcd_service.c lua/config_source_lua.c \
	lua/decision_lua.c lua/health_lua.c lua/lua_state.c \
	lua/request_lua.c \
	lua/json.c lua/json_lua.c lua/router_bind.c lua/router_cc.c lua/router_compile.c \
	lua/router_decision_lua.c lua/router_filters.c lua/router_host.c \
	lua/router_index.c lua/router_live.c lua/router_load.c lua/router_lua.c lua/router_match.c \
	lua/router_ruleset.c lua/router_table.c

# plugins/waf's detection library (WAF_DETECT_SOURCES in plugins/waf/local.mk).
FUZZ_WAF_SOURCES = \
	plugins/waf/detect_util.c plugins/waf/normalize.c plugins/waf/request_parts.c \
	plugins/waf/engine.c plugins/waf/misc.c plugins/waf/sqli.c plugins/waf/xss.c \
	plugins/waf/lfi.c plugins/waf/rfi.c plugins/waf/rce.c plugins/waf/code.c \
	plugins/waf/ssti.c plugins/waf/ldap.c plugins/waf/nosql.c

CORE_OBJS = $(FUZZ_CORE_SOURCES:%.c=$(out)/obj/%.o)
WAF_OBJS = $(FUZZ_WAF_SOURCES:%.c=$(out)/obj/%.o)
LIBS_ALL = $(LUAJIT_LIBS) $(OPENSSL_LIBS) $(EV_LIBS) $(HTTP_PARSER_LIBS) $(FUZZ_LIBS)

all: $(FUZZ_TARGETS:%=$(out)/fuzz_%)

# admin.c and plugin_api.c want configure's header for PACKAGE_VERSION.
$(out)/include/build-config.h:
	@mkdir -p $(@D)
	@printf '#define PACKAGE_VERSION "fuzz"\n#define PACKAGE "foyer"\n' > $@

$(out)/obj/%.o: $(srcdir)/%.c $(out)/include/build-config.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP \
		-c $< -o $@

$(out)/libfuzzcore.a: $(CORE_OBJS)
	rm -f $@ && ar rcs $@ $^

$(out)/libfuzzwaf.a: $(WAF_OBJS)
	rm -f $@ && ar rcs $@ $^

$(out)/fuzz_%: $(out)/obj/tests/fuzz/fuzz_%.o $(out)/libfuzzcore.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(out)/libfuzzcore.a $(LIBS_ALL) -o $@

# config: the Lua state's instruction budget is forced on while a config is
# evaluated (foyer_lua_limits_begin(L, 0, 0) there means "no limit").
$(out)/fuzz_config: $(out)/obj/tests/fuzz/fuzz_config.o $(out)/libfuzzcore.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(out)/libfuzzcore.a \
		-Wl,--wrap=foyer_lua_limits_begin -Wl,--wrap=foyer_lua_state_new \
		$(LIBS_ALL) -o $@

$(out)/fuzz_waf: $(out)/obj/tests/fuzz/fuzz_waf.o $(out)/libfuzzwaf.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(out)/libfuzzwaf.a -lm -o $@

clean:
	rm -rf $(out)/obj $(out)/include $(out)/*.a $(FUZZ_TARGETS:%=$(out)/fuzz_%)

.PHONY: all clean
.SECONDARY:
.DELETE_ON_ERROR:

-include $(CORE_OBJS:.o=.d) $(WAF_OBJS:.o=.d) \
	$(FUZZ_TARGETS:%=$(out)/obj/tests/fuzz/fuzz_%.d)
