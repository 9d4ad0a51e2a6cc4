/*
 * foyer/plugin.h — the foyer plugin ABI.
 *
 * This is the only header a plugin includes. A plugin is a shared object that
 * exports one function, foyer_plugin_entry(), returning a descriptor. foyer
 * hands the plugin a table of functions (struct foyer_api); the plugin calls
 * the core through that table only and never links against foyer's symbols.
 *
 * Build an out-of-tree plugin with:
 *     cc -shared -fPIC $(pkg-config --cflags foyer-plugin) -o hello.so hello.c
 * and load it from the configuration:
 *     plugin "hello" { greeting = "hi" }          -- hello.so from plugin_path
 *     plugin "mine" { path = "/opt/mine.so" }
 *
 * Versioning (the ATS / Redis-modules way):
 *  - FOYER_PLUGIN_ABI_MAJOR changes when something existing changes meaning or
 *    layout. The loader refuses a plugin built for another major.
 *  - FOYER_PLUGIN_ABI_MINOR grows when something is appended (a hook at the end
 *    of struct foyer_plugin, a function at the end of struct foyer_api, an enum
 *    value at the end of an enum). Structs are append-only: nothing is ever
 *    reordered or removed within a major. A plugin built for an older minor
 *    loads: hooks beyond its descriptor's `size` are treated as absent. A plugin
 *    built for a newer minor than the running foyer is refused.
 *  - Both sides carry their struct size so each can tell what the other has.
 *
 * Threading: foyer workers are single-threaded processes; every hook runs on
 * the worker's event loop and must not block. Use api->timer_start and
 * api->io_watch for anything that waits, and FOYER_PARK + api->resume to make
 * a request wait for it.
 */
#ifndef FOYER_PLUGIN_H
#define FOYER_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FOYER_PLUGIN_MAGIC 0x52594f46u /* "FOYR" in memory on little-endian */
#define FOYER_PLUGIN_ABI_MAJOR 1
#define FOYER_PLUGIN_ABI_MINOR 1
#define FOYER_PLUGIN_ABI_VERSION ((FOYER_PLUGIN_ABI_MAJOR << 16) | FOYER_PLUGIN_ABI_MINOR)

/* The symbol every plugin exports. */
#define FOYER_PLUGIN_ENTRY_SYMBOL "foyer_plugin_entry"

/* Opaque handles. */
typedef struct foyer_request foyer_request_t; /* one request/response exchange */
typedef struct foyer_conf foyer_conf_t;       /* a configuration table (read-only) */
typedef struct foyer_timer foyer_timer_t;     /* a timer on the worker's loop */
typedef struct foyer_io foyer_io_t;           /* an fd watcher on the worker's loop */

/* What a hook tells foyer. Append-only. */
enum foyer_hook_result {
    FOYER_CONTINUE = 0, /* go on with the next plugin / phase */
    FOYER_RESPOND = 1,  /* the plugin answered (api->respond) — stop processing */
    FOYER_PARK = 2,     /* wait: the plugin calls api->resume(r) later */
    FOYER_ERROR = 3,    /* the request fails with 500; foyer logs the plugin's name */
    FOYER_SELECTED = 4  /* on_upstream_select only: *endpoint holds the choice */
};

/* Log levels for api->log. */
enum foyer_log_level_public {
    FOYER_LOG_ERROR = 0,
    FOYER_LOG_WARNING = 1,
    FOYER_LOG_NOTICE = 2,
    FOYER_LOG_TRACE = 3
};

/* The result of one upstream attempt, for on_upstream_result. */
struct foyer_upstream_result {
    uint32_t size;       /* sizeof this struct as foyer knows it */
    const char *service; /* service name */
    unsigned endpoint;   /* index into the service's endpoints */
    const char *address; /* "host:port" of that endpoint */
    int connect_error;   /* errno of a failed connect, 0 when connected */
    int status;          /* response status, 0 when none arrived */
    double latency;      /* seconds from sending the request to the response head */
    int timed_out;       /* 1 when the upstream timed out */
    int reset;           /* 1 when the connection failed after connecting (closed,
                          * reset, invalid answer) before a response head */
    int reused;          /* 1 when the attempt used a pooled keep-alive connection:
                          * its failure may be staleness, not the endpoint's fault */
};

/* The functions a plugin may call. Valid from init until fini. Append-only. */
struct foyer_api {
    uint32_t size;        /* sizeof(struct foyer_api) of the running foyer */
    uint32_t abi_version; /* FOYER_PLUGIN_ABI_VERSION of the running foyer */
    const char *foyer_version;

    /* --- logging: one line, prefixed with the plugin's name --- */
    void (*log)(const char *plugin, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* --- configuration tables (valid during init only; copy what you keep) --- */
    /* A string/number/boolean field of a table; NULL/-1 when absent or of another type.
     */
    const char *(*conf_string)(const foyer_conf_t *t, const char *key);
    int (*conf_number)(const foyer_conf_t *t, const char *key, double *out);
    int (*conf_bool)(const foyer_conf_t *t, const char *key, int *out);
    const foyer_conf_t *(*conf_table)(const foyer_conf_t *t, const char *key);
    /* Array part: length and 1-based element (a table; strings via conf_index_string). */
    size_t (*conf_len)(const foyer_conf_t *t);
    const foyer_conf_t *(*conf_index)(const foyer_conf_t *t, size_t i);
    const char *(*conf_index_string)(const foyer_conf_t *t, size_t i);
    /* Iterates the string keys of a table: returns the next key after prev (NULL to
     * start). */
    const char *(*conf_next_key)(const foyer_conf_t *t, const char *prev);

    /* --- the request (valid inside hooks for r) --- */
    const char *(*req_method)(foyer_request_t *r, size_t *len);
    const char *(*req_path)(foyer_request_t *r, size_t *len);
    const char *(*req_query)(foyer_request_t *r, size_t *len); /* NULL: none */
    const char *(*req_host)(foyer_request_t *r);               /* lower-cased, no port */
    const char *(*req_header)(foyer_request_t *r, const char *name, size_t *len);
    const struct sockaddr *(*req_client)(foyer_request_t *r);
    /* Field changes on the request sent upstream (before upstream select) and on
     * the response sent to the client (up to and including on_response_headers).
     * value NULL removes. Returns 0, or -1 when too late or invalid. */
    int (*req_set_header)(foyer_request_t *r, const char *name, const char *value);
    int (*resp_set_header)(foyer_request_t *r, const char *name, const char *value);
    int (*resp_status)(foyer_request_t *r); /* 0 before the response head */
    /* The route decision: service name (NULL if none), the hash key (NULL if none). */
    const char *(*route_service)(foyer_request_t *r);
    const char *(*route_hash_key)(foyer_request_t *r, size_t *len);
    /* The route's settings for this plugin: `plugins = { name = { ... } }`, or NULL. */
    const foyer_conf_t *(*route_plugin_conf)(foyer_request_t *r, const char *plugin);
    /* Answers the request from the plugin; the hook then returns FOYER_RESPOND. */
    int (*respond)(foyer_request_t *r, int status, const char *content_type,
                   const char *body, size_t len);
    /* Memory freed with the request. */
    void *(*alloc)(foyer_request_t *r, size_t n);
    /* One pointer of per-request storage per plugin. */
    void **(*storage)(foyer_request_t *r, const char *plugin);
    /* Continues a request a hook parked (FOYER_PARK) with the given result. */
    void (*resume)(foyer_request_t *r, int result);

    /* --- the worker's event loop (timer_stop and io_stop may be called from the
     * watcher's own callback) --- */
    foyer_timer_t *(*timer_start)(double after, double repeat, void (*cb)(void *arg),
                                  void *arg);
    void (*timer_stop)(foyer_timer_t *t); /* also frees it */
    foyer_io_t *(*io_watch)(int fd, int writable, void (*cb)(int fd, void *arg),
                            void *arg);
    void (*io_stop)(foyer_io_t *io); /* also frees it; does not close fd */
    double (*now)(void);             /* the loop's cached time, seconds */
    int (*worker_id)(void);          /* 0..workers-1; -1 in the master */
    int (*worker_count)(void);

    /* --- counters: per worker, by name; the pointer stays valid --- */
    uint64_t *(*counter)(const char *plugin, const char *name);

    /* --- services, for load balancers: during init and config_ready they
     * describe the configuration being loaded, otherwise the worker's current
     * one; copy what you keep --- */
    size_t (*service_endpoints)(const char *service);
    const char *(*service_endpoint)(const char *service, size_t i); /* "host:port" */
    const struct sockaddr *(*service_endpoint_addr)(const char *service, size_t i,
                                                    socklen_t *len);
    /* Endpoint entries may be tables: { address = "h:p", weight = 3, backup = true }. */
    unsigned (*service_endpoint_weight)(const char *service, size_t i); /* default 1 */
    int (*service_endpoint_backup)(const char *service, size_t i);      /* default 0 */
    size_t (*service_count)(void);
    const char *(*service_name)(size_t i);
    /* The whole `service "x" { ... }` table, for the keys a plugin claims in
     * service_keys. Valid during config_ready only, and only until the next
     * service_conf call: read one service at a time. */
    const foyer_conf_t *(*service_conf)(const char *service);

    /* --- shared memory, mapped alike in the master and every worker (for state
     * workers share, such as health-check results). The same (plugin, name)
     * gives the same zero-filled segment in every process of one foyer; it is
     * removed when foyer stops. NULL on failure. --- */
    void *(*shared_memory)(const char *plugin, const char *name, size_t size);

    /* --- listeners of the configuration (as services above): their count,
     * "host:port" and their `listen { }` table (valid during config_ready only,
     * and until the next listen_conf call) --- */
    size_t (*listen_count)(void);
    const char *(*listen_address)(size_t i);
    const foyer_conf_t *(*listen_conf)(size_t i);

    /* --- ABI 1.1 --- */
    /* The request-target as the client sent it (path and query, undecoded). */
    const char *(*req_target)(foyer_request_t *r, size_t *len);
    /* The i-th header field of the request as received (0-based): 0 with
     * name/value set, -1 past the last one. */
    int (*req_header_at)(foyer_request_t *r, size_t i, const char **name,
                         size_t *name_len, const char **value, size_t *value_len);
    /* From on_request_headers or on_route: read the first `max` bytes of the
     * request body (all of it when shorter) before anything is sent upstream,
     * and show them to on_request_body_held. For inspection (a WAF), as
     * nginx reads the body for ModSecurity. 0, or -1 when too late. A
     * request without a body skips on_request_body_held. */
    int (*req_hold_body)(foyer_request_t *r, size_t max);
    /* A number element of a table's array part (1-based): 0, or -1 when it is
     * not a number. */
    int (*conf_index_number)(const foyer_conf_t *t, size_t i, double *out);
    /* The request id foyer logs and returns (`set { request_id = ... }`): the
     * client's or a new one; NULL when request ids are off. */
    const char *(*req_id)(foyer_request_t *r);
};

/* A connection transport a plugin provides, e.g. TLS. foyer calls these
 * instead of reading and writing the socket. They follow read(2)/writev(2):
 * -1 with errno EAGAIN means "not now", and want() then says whether the
 * transport waits for the socket to be readable or writable. */
enum { FOYER_WANT_READ = 1, FOYER_WANT_WRITE = 2 };

struct foyer_transport_ops {
    uint32_t size; /* sizeof(struct foyer_transport_ops) the plugin was built with */
    ssize_t (*read)(void *conn, int fd, void *buf, size_t len);
    ssize_t (*writev)(void *conn, int fd, const struct iovec *iov, int iovcnt);
    int (*shutdown)(void *conn, int fd); /* no more writes (TLS close_notify) */
    void (*close)(void *conn, int fd);   /* frees conn and closes fd */
    int (*want)(void *conn);             /* FOYER_WANT_READ or FOYER_WANT_WRITE */
    /* Bytes read() can return without the socket being readable (decrypted,
     * buffered); foyer reads again before waiting for the socket. */
    size_t (*pending)(void *conn);
    /* Facts for routing, `req.tls.<key>` in Lua: "sni", "alpn", "version",
     * "cipher", "client_subject", "client_san", "client_verify", "reused"...
     * NULL when unknown. "scheme" names the request scheme ("https"); "error"
     * the reason of a failure (upstream connections). */
    const char *(*info)(void *conn, const char *key);
};

/* One endpoint as a load-balancing plugin sees it (service_health). */
struct foyer_endpoint_state {
    uint32_t size;      /* sizeof this struct as foyer knows it */
    unsigned index;     /* in the service's endpoints */
    int up;             /* takes traffic now */
    int check_down;     /* the active health check says down */
    int ejected;        /* passively ejected after failures */
    double ejected_for; /* seconds of ejection left */
    unsigned in_flight; /* requests in progress (this worker) */
    double latency;     /* the balancer's latency estimate, seconds; 0 = none */
};

/* The descriptor a plugin returns. Append-only; unused hooks are NULL. */
struct foyer_plugin {
    uint32_t magic;      /* FOYER_PLUGIN_MAGIC */
    uint16_t abi_major;  /* FOYER_PLUGIN_ABI_MAJOR the plugin was built with */
    uint16_t abi_minor;  /* FOYER_PLUGIN_ABI_MINOR the plugin was built with */
    uint32_t size;       /* sizeof(struct foyer_plugin) the plugin was built with */
    const char *name;    /* must equal the name in `plugin "name"` */
    const char *version; /* the plugin's own version, for logs */

    /* --- lifecycle --- */
    /* Called when a configuration that names the plugin is loaded (at start in the
     * master, at each reload in the master and in every worker): read conf, make
     * the state. Return 0, or -1 with a message in err (the configuration is then
     * refused, with the plugin's line). */
    int (*init)(const struct foyer_api *api, const foyer_conf_t *conf, void **state,
                char *err, size_t errlen);
    /* In each worker, once the state is in force there (timers, sockets here). */
    int (*worker_init)(void *state);
    /* The state's configuration is gone and its last request finished. */
    void (*fini)(void *state);
    /* Keys this plugin handles inside `service "x" { ... }` blocks (NULL-terminated);
     * a key no plugin claims is a configuration error. */
    const char *const *service_keys;
    /* Once the whole configuration is read (services known): check and take the
     * service settings (api->service_conf). -1 with err refuses the configuration. */
    int (*config_ready)(void *state, char *err, size_t errlen);

    /* --- hooks, in the order requests meet them --- */
    int (*on_accept)(void *state, const struct sockaddr *peer, socklen_t len);
    int (*on_client_hello)(void *state, foyer_request_t *r, const char *sni);
    int (*on_request_headers)(void *state, foyer_request_t *r);
    int (*on_request_body)(void *state, foyer_request_t *r, const char *data, size_t len);
    int (*on_route)(void *state, foyer_request_t *r);
    /* Choose the endpoint: set *endpoint (index) and return FOYER_SELECTED, or
     * FOYER_CONTINUE for foyer's round robin, or answer (e.g. 503). `tried` holds
     * the indexes already tried for this request (retries), ntried of them (the
     * first 8 at most). Request fields stay readable in every hook. */
    int (*on_upstream_select)(void *state, foyer_request_t *r, const char *service,
                              const unsigned *tried, unsigned ntried, unsigned *endpoint);
    void (*on_upstream_result)(void *state, foyer_request_t *r,
                               const struct foyer_upstream_result *res);
    int (*on_response_headers)(void *state, foyer_request_t *r);
    int (*on_response_body)(void *state, foyer_request_t *r, const char *data,
                            size_t len);
    void (*on_log)(void *state, foyer_request_t *r);

    /* Endpoint states of a service this plugin balances, for `service_health()`
     * in Lua: fills up to n entries, returns the endpoint count, or -1 when the
     * service is not this plugin's. */
    int (*service_health)(void *state, const char *service,
                          struct foyer_endpoint_state *out, size_t n);

    /* Keys this plugin handles in `listen { "addr:port", key = ... }` tables
     * (NULL-terminated), e.g. "tls". A listener naming one gets its connections
     * from this plugin's on_connection. A key no plugin claims is an error. */
    const char *const *listen_keys;
    /* A connection accepted on such a listener (index into the configuration's
     * listeners, see api->listen_*): give it a transport — set *ops and *conn
     * and return 0; ops->close then closes fd when the connection ends — or
     * return -1 and foyer closes fd. A connection may outlive the configuration
     * (and the fini of the state) that accepted it: foyer keeps the plugin's
     * code loaded until the connection closes, so conn must not depend on
     * that state. */
    int (*on_connection)(void *state, unsigned listener, int fd,
                         const struct foyer_transport_ops **ops, void **conn);

    /* --- ABI 1.1 --- */
    /* A new connection to an `https://` endpoint (index into the service's
     * endpoints), connected or still connecting: give it a transport as
     * on_connection does; foyer then reads and writes the upstream through
     * it, and keeps it in its keep-alive pool like a plain one. The first
     * loaded plugin with this hook serves every https:// endpoint. When a
     * call fails before the connection is usable, ops->info(conn, "error")
     * may say why (logged with the 502 it causes). */
    int (*on_upstream_connection)(void *state, const char *service, unsigned endpoint,
                                  int fd, const struct foyer_transport_ops **ops,
                                  void **conn);
    /* The body a plugin asked for with api->req_hold_body, decoded (no chunk
     * framing): its first len bytes, complete = 1 when that is all of it. Runs
     * after on_route, before the upstream is chosen; FOYER_RESPOND answers
     * (nothing reached an upstream), FOYER_ERROR fails with 500. */
    int (*on_request_body_held)(void *state, foyer_request_t *r, const char *data,
                                size_t len, int complete);
};

/* The entry point every plugin defines. */
const struct foyer_plugin *foyer_plugin_entry(void);

/* The entry symbol's type. */
typedef const struct foyer_plugin *(*foyer_plugin_entry_fn)(void);

/* Fills the version fields of a descriptor: FOYER_PLUGIN_DESCRIPTOR("hello", "1.0"). */
#define FOYER_PLUGIN_DESCRIPTOR(plugin_name, plugin_version)                             \
    .magic = FOYER_PLUGIN_MAGIC, .abi_major = FOYER_PLUGIN_ABI_MAJOR,                    \
    .abi_minor = FOYER_PLUGIN_ABI_MINOR, .size = sizeof(struct foyer_plugin),            \
    .name = (plugin_name), .version = (plugin_version)

#ifdef __cplusplus
}
#endif

#endif /* FOYER_PLUGIN_H */
