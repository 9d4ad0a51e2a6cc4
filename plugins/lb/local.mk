# plugins/lb: the load-balancing plugin, lb.so, installed into
# $(pkglibdir)/plugins where `plugin "lb" { }` finds it by default. It sees
# the core only through foyer/plugin.h: core/include is its only include
# path, and only foyer_plugin_entry is exported (no symbol of the plugin can
# be interposed by foyer's own, which foyer exports with -Wl,-E).
LB_POLICY_SOURCES = \
	plugins/lb/policy.h \
	plugins/lb/policies.c \
	plugins/lb/hash.c \
	plugins/lb/round_robin.c \
	plugins/lb/weighted.c \
	plugins/lb/least_conn.c \
	plugins/lb/p2c_ewma.c \
	plugins/lb/maglev.c \
	plugins/lb/ring_hash.c \
	plugins/lb/random.c
LB_HEALTH_SOURCES = \
	plugins/lb/health.h \
	plugins/lb/health_passive.c \
	plugins/lb/health_shared.c

lbplugindir = $(pkglibdir)/plugins
lbplugin_LTLIBRARIES = plugins/lb/lb.la
plugins_lb_lb_la_SOURCES = \
	plugins/lb/lb.h \
	plugins/lb/lb.c \
	plugins/lb/conf.c \
	plugins/lb/service.c \
	plugins/lb/health_active.c \
	$(LB_POLICY_SOURCES) \
	$(LB_HEALTH_SOURCES)
plugins_lb_lb_la_CPPFLAGS = -I$(top_srcdir)/core/include
plugins_lb_lb_la_CFLAGS = $(FOYER_CFLAGS)
plugins_lb_lb_la_LDFLAGS = -module -avoid-version -shared \
	-export-symbols-regex '^foyer_plugin_entry$$'
plugins_lb_lb_la_LIBADD = -lm

# bench/lb_pick: the cost of one pick per policy (bench/lb.sh runs it).
noinst_PROGRAMS += bench/lb_pick
bench_lb_pick_SOURCES = bench/lb_pick.c $(LB_POLICY_SOURCES)
bench_lb_pick_CPPFLAGS = -I$(top_srcdir)/plugins/lb
bench_lb_pick_LDADD = -lm

EXTRA_DIST += plugins/README.md
