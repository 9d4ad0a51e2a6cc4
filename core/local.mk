# The core: a convenience library shared by the foyer binary and the unit tests.
noinst_LIBRARIES += core/libfoyercore.a
core_libfoyercore_a_SOURCES = \
	core/access_log.c core/access_log.h \
	core/log_format.c core/log_format.h \
	core/notify.c core/notify.h \
	core/metrics.c core/metrics.h \
	core/admin.c core/admin.h \
	core/strbuf.c core/strbuf.h \
	core/addr.c core/addr.h \
	core/buf.c core/buf.h \
	core/config.c core/config.h \
	core/config_source.c core/config_source.h \
	core/config_change_msg.c \
	core/etcd_client.c core/etcd_client.h \
	core/etcd_keys.c core/etcd_keys.h \
	core/etcd_kvset.c core/etcd_kvset.h \
	core/conn.c core/conn.h \
	core/deadline.c core/deadline.h \
	core/fields.c core/fields.h \
	core/http.h \
	core/http1.c \
	core/http_chunked.c \
	core/http_head.c \
	core/http_message.c \
	core/listener.c core/listener.h \
	core/log.c core/log.h \
	core/mirror.c core/mirror.h \
	core/outq.c core/outq.h \
	core/plugin_api.c core/plugin_api.h \
	core/plugin_hooks.c core/plugin_hooks.h \
	core/plugin_loader.c core/plugin_loader.h \
	core/plugin_transport.c core/plugin_transport.h \
	core/pool.c core/pool.h \
	core/process.c core/process.h \
	core/random.c core/random.h \
	core/exchange.h \
	core/proxy.c core/proxy.h \
	core/proxy_head.c \
	core/proxy_relay.c \
	core/proxy_hold.c \
	core/request.c core/request.h \
	core/respond.c core/respond.h \
	core/route.h \
	core/transport.c core/transport.h \
	core/upstream.c core/upstream.h \
	core/worker.c core/worker.h

FOYER_CORE_LIBS = core/libfoyercore.a $(LUAJIT_LIBS) $(OPENSSL_LIBS) $(EV_LIBS) \
	$(HTTP_PARSER_LIBS) $(LIBS)

# The public plugin ABI header, and pkg-config data for out-of-tree plugins.
foyerincludedir = $(includedir)/foyer
foyerinclude_HEADERS = core/include/foyer/plugin.h
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = foyer-plugin.pc

bin_PROGRAMS += foyer
foyer_SOURCES = core/main.c
foyer_LDADD = $(FOYER_CORE_LIBS)
foyer_LDFLAGS = -Wl,-E
