# plugins/tls: TLS termination, tls.so, installed into $(pkglibdir)/plugins
# where `plugin "tls" { }` finds it by default. Like lb.so it sees the core
# only through foyer/plugin.h (core/include is its only foyer include path)
# and exports only foyer_plugin_entry; it links OpenSSL 3 itself (foyer does
# not).
tlsplugindir = $(pkglibdir)/plugins
tlsplugin_LTLIBRARIES = plugins/tls/tls.la
plugins_tls_tls_la_SOURCES = \
	plugins/tls/tls.h \
	plugins/tls/tls.c \
	plugins/tls/listener_conf.c \
	plugins/tls/site.c \
	plugins/tls/names.c \
	plugins/tls/conn.c \
	plugins/tls/tickets.c \
	plugins/tls/session_cache.c \
	plugins/tls/ocsp.c \
	plugins/tls/upstream.c
plugins_tls_tls_la_CPPFLAGS = -I$(top_srcdir)/core/include
plugins_tls_tls_la_CFLAGS = $(FOYER_CFLAGS) $(OPENSSL_CFLAGS)
plugins_tls_tls_la_LDFLAGS = -module -avoid-version -shared \
	-export-symbols-regex '^foyer_plugin_entry$$'
plugins_tls_tls_la_LIBADD = $(OPENSSL_LIBS) -lm

# bench/tls_load: the TLS client of bench/tls.sh (full handshakes, resumed
# sessions, keep-alive requests; counts resumptions).
noinst_PROGRAMS += bench/tls_load
bench_tls_load_SOURCES = bench/tls_load.c
bench_tls_load_CFLAGS = $(FOYER_CFLAGS) $(OPENSSL_CFLAGS)
bench_tls_load_LDADD = $(OPENSSL_LIBS)

EXTRA_DIST += plugins/tls/README.md
