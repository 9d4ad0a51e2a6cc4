/* foyer-k8s: Kubernetes manifests (Ingress, Gateway API, Service, EndpointSlice) to
 * foyer configuration pieces. Shared declarations of its files:
 *
 *   tree.c       the small tree manifests are read into and routes are built as
 *   manifest.c   YAML / JSON files (libyaml) -> objects (List, multi-document)
 *   diag.c       warnings and errors with file:line, typed field getters
 *   index.c      objects by kind, namespace and name
 *   endpoints.c  Service + EndpointSlice -> foyer services and their endpoints
 *   ingress.c    Ingress -> router routes (ingress semantics)
 *   nginx.c      the ingress-nginx annotations foyer's router can honour
 *   gateway.c    Gateway listeners, HTTPRoute parents and hostnames
 *   httproute.c  HTTPRoute rules: matches, filters, backendRefs
 *   emit.c       the output files: JSON route tables, Lua services and glue
 *   main.c       options, reading, exit status
 *
 * Everything is allocated from one arena that lives as long as the process: the
 * program reads its input, writes its output and exits. */
#ifndef FOYER_K8S_H
#define FOYER_K8S_H

#include <stddef.h>

/* ---- tree.c ---------------------------------------------------------------------- */

enum kn_type { KN_NULL, KN_BOOL, KN_NUM, KN_STR, KN_SEQ, KN_MAP };

/* A YAML/JSON value. Scalars keep their text; a map keeps its keys in order. */
struct kn {
    enum kn_type type;
    unsigned line; /* 1-based, in the object's file; 0 for built nodes */
    const char *s; /* scalar text ("80", "true", "web") */
    size_t n, cap;
    struct kn **v;   /* sequence items, map values */
    const char **k;  /* map keys */
    unsigned *kline; /* map keys' lines */
};

void *k8s_alloc(size_t n); /* zeroed; exits on out of memory */
char *k8s_strdup(const char *s);
char *k8s_strndup(const char *s, size_t n);
char *k8s_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void k8s_arena_free(void);

struct kn *kn_new(enum kn_type t, unsigned line);
struct kn *kn_string(const char *s);
struct kn *kn_number(long v);
void kn_push(struct kn *seq, struct kn *v);
/* Appends key (not checked for duplicates: the caller knows). */
void kn_set(struct kn *map, const char *key, struct kn *v);
struct kn *kn_get(const struct kn *map, const char *key); /* NULL: absent or no map */
const char *kn_text(const struct kn *n);                  /* scalar text, else NULL */
/* Where key is written in map (a node carrying only its line), for diagnostics
 * about a field whose value starts on the next line; NULL when absent. */
struct kn *kn_key(const struct kn *map, const char *key);
size_t kn_len(const struct kn *seq); /* 0 unless a sequence */
int kn_is_scalar(const struct kn *n);
/* A map with key = value (strings), for the short { name = value } forms. */
struct kn *kn_pair(const char *k1, const char *v1, const char *k2, const char *v2);

/* ---- manifest.c ------------------------------------------------------------------ */

/* One Kubernetes object of the input. */
struct obj {
    const char *file;
    const char *api, *kind, *ns, *name;
    const char *created; /* metadata.creationTimestamp or "" */
    const struct kn *root;
    unsigned line;
    size_t seq; /* position in the input */
};

struct objs {
    struct obj *v;
    size_t n, cap;
};

/* Reads file ("-": standard input) into out. A syntax error or a document that is
 * not an object is reported (file:line) and makes it return -1. */
int manifest_read(const char *file, const char *default_ns, struct objs *out);

/* ---- diag.c ---------------------------------------------------------------------- */

/* Where a diagnostic points: an object and the path of a field in it. */
struct at {
    const struct obj *o;
    char path[384];
    size_t len;
};

void at_init(struct at *a, const struct obj *o);
size_t at_key(struct at *a, const char *key); /* returns the mark to pop back to */
size_t at_index(struct at *a, size_t i);
void at_pop(struct at *a, size_t mark);

/* "file:line: Kind ns/name: path: message" (line: of n, else of the object). */
void warn_at(const struct at *a, const struct kn *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void error_at(const struct at *a, const struct kn *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void diag_file(const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
unsigned diag_warnings(void);
void diag_count_warning(void); /* for a warning printed without a place */
unsigned diag_errors(void);

/* Typed getters: NULL / 0 when absent (or null); a value of the wrong type is an
 * input error, reported at the field. */
const char *get_str(struct at *a, const struct kn *map, const char *key);
const struct kn *get_map(struct at *a, const struct kn *map, const char *key);
const struct kn *get_seq(struct at *a, const struct kn *map, const char *key);
/* 1 and *out when present and in [min, max]; 0 absent; -1 bad (reported). */
int get_int(struct at *a, const struct kn *map, const char *key, long min, long max,
            long *out);
/* Warns about every key of map not in known (NULL-terminated): not supported. */
void check_fields(struct at *a, const struct kn *map, const char *const *known);

/* ---- index.c --------------------------------------------------------------------- */

void index_build(const struct objs *all);
const struct obj *index_find(const char *kind, const char *ns, const char *name);
/* The EndpointSlices of a Service (label kubernetes.io/service-name). */
size_t index_slices(const char *ns, const char *service, const struct obj ***out);
/* Objects of a kind, sorted for Gateway API precedence: creationTimestamp, then
 * namespace/name. */
size_t index_kind(const char *kind, const struct obj ***out);

/* ---- options (main.c) ------------------------------------------------------------ */

struct opts {
    const char *outdir;
    const char *ingress_class, *gateway_class;
    const char *tls_dir;
    const char *listen_addr; /* NULL: no foyer.lua */
    const char *cluster_domain;
    const char *default_ns;
    long http_port, https_port; /* Ingress listeners */
    int strict, resolve;
};
extern struct opts opt;

/* ---- the output (emit.c) --------------------------------------------------------- */

struct svc {
    const char *name;
    const char **eps; /* "10.0.0.1:8080", "https://10.0.0.1:8443", "[::1]:80" */
    size_t n;
    const char *note; /* where the endpoints come from, a Lua comment */
    int tls;
};

struct cert {
    const char *cert, *key;
};

struct port {
    long port;
    int https, conflict;
    struct cert *certs;
    size_t ncerts;
};

struct out {
    struct kn *ing_routes;      /* ingress semantics, for HTTPS (or every request) */
    struct kn *ing_http_routes; /* the same with ssl-redirect rules: plain HTTP */
    const char *ing_default;
    int ing_used, ing_redirects;
    struct kn *gw_listeners, *gw_routes;
    int gw_used;
    struct svc *svcs;
    size_t nsvcs, capsvcs;
    struct port *ports;
    size_t nports, capports;
    const char **inputs;
    size_t ninputs;
};

/* The port entry (made on first use; a port wanted as both HTTP and HTTPS is
 * reported and keeps the first). */
struct port *out_port(struct out *o, long port, int https);
/* Adds a certificate to an HTTPS port (once). */
void out_cert(struct port *p, const char *cert, const char *key);
/* The certificate files of Secret ns/name under --tls-dir (warns when missing). */
int tls_secret_files(struct at *a, const struct kn *at_node, const char *ns,
                     const char *name, struct cert *c);
/* Warns about what the output cannot serve (an HTTPS port without certificate). */
void out_check(const struct out *o);
/* Writes the files into opt.outdir (emit.c's comment lists them); 0 or -1. */
int emit_all(const struct out *o);
/* n as JSON text (malloc'd, NUL-terminated; *len without the NUL). */
char *json_text(const struct kn *n, size_t *len);

/* ---- validate.c ------------------------------------------------------------------ */

/* Appends route to routes if foyer's router compiles it; else warns at a (the
 * object it comes from) and leaves it out: -1. */
int route_add(struct kn *routes, struct kn *route, struct at *a,
              const struct kn *at_node);
/* Does foyer's router take the whole table doc? Else says so: -1. */
int table_valid(const char *name, const struct kn *doc);

/* ---- endpoints.c ----------------------------------------------------------------- */

/* A backend: Service ns/name and its port (number, or name when number is 0). */
struct backend_ref {
    const char *ns, *name;
    long port;
    const char *port_name;
    int https; /* endpoints reached over TLS (backend-protocol: HTTPS) */
};

/* The foyer service name of a backend ("ns/name:80"), declared in o with its
 * endpoints on first use. A backend without endpoints is reported and left
 * undeclared: foyer's router answers 500 for it. */
const char *backend_service(struct out *o, struct at *a, const struct kn *at_node,
                            const struct backend_ref *b);
/* Has the service endpoints (is it declared)? */
int service_declared(const struct out *o, const char *name);

/* ---- ingress.c, nginx.c ---------------------------------------------------------- */

/* The Ingresses of the index into o: ing_routes, ing_http_routes, ing_default,
 * their backends' services and their TLS certificates. */
void ingress_translate(struct out *o);

/* The ingress-nginx annotations an Ingress carries, as far as they are honoured. */
struct ngx {
    const char *rewrite_target;
    int ssl_redirect, force_ssl_redirect;
    int canary;
    long canary_weight, canary_weight_total; /* -1: none */
    const char *canary_header, *canary_header_value;
    int backend_https;
    int use_regex;
};
void ngx_parse(struct at *a, const struct kn *annotations, struct ngx *n);
/* The router filter for rewrite-target on a path (NULL: none); may turn a capture
 * path `P(/|$)(.*)` into the prefix P (*path, *ptype updated). */
struct kn *ngx_rewrite(struct at *a, const struct kn *at_node, const struct ngx *n,
                       const char **path, const char **ptype);

/* ---- gateway.c, httproute.c ------------------------------------------------------ */

/* The Gateways and HTTPRoutes of the index into o: gw_listeners, gw_routes, the
 * backends' services, the listeners' ports and certificates. */
void gateway_translate(struct out *o);
/* The router rules of an HTTPRoute's spec.rules. */
struct kn *httproute_rules(struct out *o, struct at *a, const struct kn *rules);
/* May an object of from_kind in from_ns refer to to_kind to_ns/to_name: the same
 * namespace, or a ReferenceGrant of the input allows it. */
int reference_granted(const char *from_kind, const char *from_ns, const char *to_kind,
                      const char *to_ns, const char *to_name);

#endif
