# plugins/waf: the web application firewall, waf.so, installed into
# $(pkglibdir)/plugins. The detection library (normalisers, request parts,
# detectors, the scoring engine) is plain C with no foyer dependency: it is a
# convenience library linked into waf.so, the unit tests of tests/waf and
# the offline evaluator tests/waf/waf_eval. Only waf.c sees foyer/plugin.h.
WAF_DETECT_SOURCES = \
	plugins/waf/detect.h \
	plugins/waf/detect_util.h plugins/waf/detect_util.c \
	plugins/waf/normalize.h plugins/waf/normalize.c \
	plugins/waf/request_parts.h plugins/waf/request_parts.c \
	plugins/waf/engine.h plugins/waf/engine.c \
	plugins/waf/misc.h plugins/waf/misc.c \
	plugins/waf/sqli_tokens.h plugins/waf/sqli.c \
	plugins/waf/xss.c \
	plugins/waf/lfi.c \
	plugins/waf/rfi.c \
	plugins/waf/rce.c \
	plugins/waf/code.c \
	plugins/waf/ssti.c \
	plugins/waf/ldap.c \
	plugins/waf/nosql.c

noinst_LTLIBRARIES += plugins/waf/libwafdetect.la
plugins_waf_libwafdetect_la_SOURCES = $(WAF_DETECT_SOURCES)
plugins_waf_libwafdetect_la_CFLAGS = $(FOYER_CFLAGS)

wafplugindir = $(pkglibdir)/plugins
wafplugin_LTLIBRARIES = plugins/waf/waf.la
plugins_waf_waf_la_SOURCES = plugins/waf/waf.c
plugins_waf_waf_la_CPPFLAGS = -I$(top_srcdir)/core/include
plugins_waf_waf_la_CFLAGS = $(FOYER_CFLAGS)
plugins_waf_waf_la_LDFLAGS = -module -avoid-version -shared \
	-export-symbols-regex '^foyer_plugin_entry$$'
plugins_waf_waf_la_LIBADD = plugins/waf/libwafdetect.la -lm

EXTRA_DIST += plugins/waf/README.md
