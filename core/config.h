/* A configuration generation: settings, listeners, services and the Lua state
 * holding the route function. Immutable once loaded and reference-counted, so a
 * reload can swap generations while in-flight requests keep the one they
 * started with. */
#ifndef FOYER_CONFIG_H
#define FOYER_CONFIG_H

#include "addr.h"

#include <stdint.h>

struct lua_State;
struct foyer_pending_plugin;
struct foyer_router;
struct foyer_upstream_pool;
struct foyer_log_format;

/* set { config_source = { etcd = { ... } } }: services and routes also come
 * from etcd (core/config_source.c follows it; lua/config_etcd.c merges the
 * snapshot it writes). */
struct foyer_etcd_settings {
    char **endpoints; /* "host:port" */
    unsigned nendpoints;
    char *prefix;        /* "/foyer/" */
    char *snapshot;      /* the last good etcd state, a JSON file */
    double dial_timeout; /* seconds: connect and the first answer */
    double retry_max;    /* seconds: the reconnect backoff's cap */
    double keepalive;    /* seconds between checks that the watch follows; 0 off */
};

struct foyer_settings {
    int workers; /* 0 = one per CPU */
    double client_header_timeout;
    double client_body_timeout;
    double keepalive_timeout;
    double upstream_connect_timeout;
    double upstream_read_timeout;
    double upstream_send_timeout;
    double client_send_timeout;
    double tunnel_idle_timeout;
    double grace_period;
    unsigned max_header_bytes;
    unsigned max_headers;
    uint64_t max_body_bytes;  /* 0 = unlimited */
    unsigned max_connections; /* per worker */
    unsigned keepalive_requests;
    unsigned upstream_keepalive; /* idle connections kept per endpoint */
    char *access_log;            /* NULL = off */
    char *access_log_format;     /* "foyer", "combined", "json" or a template */
    char *request_id;            /* the request-id header name, NULL: the default */
    int request_id_off;          /* request_id = false */
    char *admin;                 /* the admin listener's address, NULL = off */
    char *error_log;             /* NULL = stderr */
    char *lua_path;
    char *log_level;
    char *pid_file;
    char *plugin_path;
    unsigned lua_instruction_limit;   /* per route call, 0 = none */
    unsigned lua_memory_limit;        /* bytes per Lua state, 0 = none */
    struct foyer_etcd_settings *etcd; /* NULL: everything from the file */
};

struct foyer_endpoint {
    union foyer_sockaddr addr;
    socklen_t addrlen;
    char name[64];
    unsigned weight;                  /* for load-balancing plugins; default 1 */
    int backup;                       /* used only when no primary is left */
    int tls;                          /* "https://": a plugin's transport (TLS) */
    struct foyer_upstream_pool *pool; /* per worker, found by address (and service
                                       * for TLS) */
};

struct foyer_service {
    char *name;
    char *where; /* "file:line:" of the declaration */
    struct foyer_endpoint *endpoints;
    unsigned nendpoints;
    unsigned rr;    /* round-robin cursor (per worker: each has its own copy) */
    int conf_ref;   /* the service's Lua table, for plugins */
    int tls_plugin; /* plugin making its https:// connections, -1 when none */
    int from_etcd;  /* declared by an etcd key, not by the file */
};

/* A plugin as one configuration generation uses it. */
struct foyer_plugin_slot {
    char *name;
    char *path;   /* the .so file */
    char *where;  /* "file:line:" of the declaration */
    void *handle; /* dlopen */
    const struct foyer_plugin *desc;
    void *state;      /* the plugin's own, from init */
    int worker_ready; /* worker_init ran in this process */
};

struct foyer_listen {
    union foyer_sockaddr addr;
    socklen_t addrlen;
    char text[80];
    char *where;  /* "file:line:" */
    int conf_ref; /* the `listen { }` table, 0 for the plain string form */
    int plugin;   /* index of the plugin giving its connections a transport, -1 none */
};

struct foyer_config {
    unsigned refs;
    char *file;
    struct foyer_settings settings;
    struct foyer_listen *listens;
    unsigned nlistens;
    struct foyer_service *services;
    unsigned nservices;
    unsigned *service_index; /* open addressing over services, size index_size */
    unsigned index_size;
    struct foyer_plugin_slot *plugins; /* in the configured order */
    unsigned nplugins;
    struct foyer_pending_plugin *pending; /* declared, loaded by foyer_config_finish */
    unsigned npending;
    struct lua_State *L;
    int route_ref;
    struct foyer_router *router; /* the route when it is a foyer.router: matched in C */
    struct foyer_log_format *log_format; /* the access log's, compiled */
    unsigned generation;                 /* 1 for the first configuration, +1 a reload */
    long long etcd_revision;             /* of the etcd snapshot merged in, 0 when none */
    int etcd_snapshot_found; /* the snapshot file existed when this was loaded */
    /* what etcd changes in place replaced (endpoint lists, a services array,
     * a removed service's strings: config_etcd_service.c): exchanges in
     * flight may still point into them, so they go with c */
    void **retired;
    unsigned nretired;
};

void foyer_settings_defaults(struct foyer_settings *s);
/* The request-id header name in force, NULL when off. */
const char *foyer_settings_request_id(const struct foyer_settings *s);
struct foyer_config *foyer_config_new(const char *file);
void foyer_config_ref(struct foyer_config *c);
void foyer_config_unref(struct foyer_config *c);
/* Builds the name index once all services are declared. */
int foyer_config_index_services(struct foyer_config *c);
struct foyer_service *foyer_config_service(const struct foyer_config *c, const char *name,
                                           size_t len);

/* Log level and error log destination from the settings. */
void foyer_config_apply_logging(const struct foyer_settings *s);

/* Loads a config file (lua/config_lua.c). NULL on error, with a
 * "file:line: message" text in err. */
struct foyer_config *foyer_config_load(const char *file, char *err, size_t errlen);
/* The same in two steps: parse (the Lua file, services, the router — safe on
 * a loader thread) then finish (plugins and the checks needing them — on the
 * worker's thread). finish leaves c to the caller to free on error. */
struct foyer_config *foyer_config_parse(const char *file, char *err, size_t errlen);
int foyer_config_finish(struct foyer_config *c, char *err, size_t errlen);
/* foyer_config_load with the etcd snapshot given as text instead of read from
 * the snapshot file: how the master validates a change before writing it. */
struct foyer_config *foyer_config_load_candidate(const char *file, const char *snapshot,
                                                 size_t len, char *err, size_t errlen);
/* Frees the etcd settings (NULL is fine). */
void foyer_etcd_settings_free(struct foyer_etcd_settings *e);

#endif
