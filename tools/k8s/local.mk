# tools/k8s: foyer-k8s, Kubernetes manifests (Ingress, Gateway API, Service,
# EndpointSlice) to foyer configuration pieces (man/foyer-k8s.1). It reads YAML
# and JSON with libyaml and checks what it writes with foyer's own router
# compiler (lua/router_*.c, from the core library).
bin_PROGRAMS += foyer-k8s
foyer_k8s_SOURCES = \
	tools/k8s/k8s.h \
	tools/k8s/main.c \
	tools/k8s/tree.c \
	tools/k8s/manifest.c \
	tools/k8s/diag.c \
	tools/k8s/index.c \
	tools/k8s/endpoints.c \
	tools/k8s/ingress.c \
	tools/k8s/nginx.c \
	tools/k8s/gateway.c \
	tools/k8s/httproute.c \
	tools/k8s/validate.c \
	tools/k8s/emit.c
foyer_k8s_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS)
foyer_k8s_LDADD = $(FOYER_CORE_LIBS) $(YAML_LIBS)
dist_man1_MANS = man/foyer-k8s.1
EXTRA_DIST += tools/k8s/README.md
