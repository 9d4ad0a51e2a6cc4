/*
 * plugins/tls: TLS termination for foyer listeners (OpenSSL 3).
 *
 * The pieces, one file each:
 *   tls.c            the descriptor, the lifecycle, `plugin "tls" { }` settings
 *   listener_conf.c  a listener's `tls = { }` table, checked and copied
 *   site.c           a listener's runtime: one SSL_CTX per certificate set,
 *                    certificates grouped into sets, SNI and ALPN callbacks
 *   names.c          the SNI table: exact names and wildcards to a set
 *   conn.c           the connection transport (struct foyer_transport_ops)
 *   tickets.c        session-ticket keys in shared memory, rotated by worker 0
 *   session_cache.c  the shared session-ID cache (clients without tickets)
 *   ocsp.c           OCSP stapling from response files, re-read when changed
 *   upstream.c       TLS to upstreams: a service's `tls = { }`, one client
 *                    SSL_CTX per service, verification, session reuse
 *
 * Lifetimes. A configuration's state (struct tls_state) owns one site per TLS
 * listener. A connection holds a reference to its site, so a reload frees the
 * old state at once while connections made under it keep their SSL_CTXs,
 * names and OCSP responses until they close. Ticket keys and the session
 * cache belong to the process (shared memory, mapped once), not to a state:
 * tickets and sessions survive reloads.
 *
 * Everything runs on the worker's single thread; the shared-memory segments
 * are the only state shared with other processes (see tickets.c and
 * session_cache.c for their locking).
 */
#ifndef FOYER_TLS_H
#define FOYER_TLS_H

#include <foyer/plugin.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_PLUGIN "tls"

/* The API table, the same for every configuration (set by init). */
extern const struct foyer_api *tls_api;

#define tls_log(level, ...) tls_api->log(TLS_PLUGIN, (level), __VA_ARGS__)

/* Per-worker counters (api->counter), NULL until init. */
struct tls_counters {
    uint64_t *handshakes;          /* completed handshakes */
    uint64_t *resumed;             /* of which resumed (ticket or session cache) */
    uint64_t *failed;              /* handshakes that failed (bad client, garbage) */
    uint64_t *plaintext;           /* of which plain HTTP on the TLS port */
    uint64_t *cache_stored;        /* sessions stored in the shared cache */
    uint64_t *cache_hits;          /* sessions found there */
    uint64_t *cache_too_big;       /* sessions too large for a cache slot */
    uint64_t *upstream_handshakes; /* TLS connections made to upstreams */
    uint64_t *upstream_resumed;    /* of which resumed a session */
    uint64_t *upstream_failed;     /* that failed (verification, protocol) */
};
extern struct tls_counters tls_counters;

#define TLS_COUNT(name)                                                                  \
    do {                                                                                 \
        if (tls_counters.name) ++*tls_counters.name;                                     \
    } while (0)

/* ---- `plugin "tls" { }` (tls.c) ---- */

struct tls_settings {
    int tickets;                /* session tickets on (default) */
    double ticket_key_rotation; /* seconds a ticket key encrypts [3600] */
    double session_timeout;     /* seconds a session can be resumed [300] */
    long session_cache;         /* shared cache entries, 0: off [4096] */
    double ocsp_refresh;        /* seconds between OCSP file checks [3600] */
};

/* ---- a listener's `tls = { }` (listener_conf.c) ---- */

enum tls_verify { TLS_VERIFY_NONE = 0, TLS_VERIFY_OPTIONAL = 1, TLS_VERIFY_REQUIRED = 2 };

struct tls_cert_conf {
    char *cert; /* PEM: the certificate, then its chain */
    char *key;  /* PEM private key (the cert file when not given) */
    char *ocsp; /* DER OCSP response to staple, or NULL */
};

struct tls_listener_conf {
    char *address; /* "host:port", for messages */
    struct tls_cert_conf *certs;
    size_t ncerts;
    int min_version, max_version; /* TLS1_2_VERSION / TLS1_3_VERSION */
    char *client_ca;
    enum tls_verify verify;
    int verify_depth;
    unsigned char *alpn; /* wire format (length-prefixed names), NULL: no ALPN */
    size_t alpn_len;
    char *ciphers, *ciphersuites, *curves;
    int prefer_server_ciphers;
};

/* Reads listener i's `tls` table; 0 and *out filled (NULL when the listener
 * has no tls key), or -1 with a message naming the listener and the key. */
int tls_listener_conf_read(size_t i, struct tls_listener_conf **out, char *err,
                           size_t errlen);
void tls_listener_conf_free(struct tls_listener_conf *lc);

/* ---- the SNI table (names.c) ---- */

struct tls_name {
    char *name;   /* lower case; "*.example.com" for a wildcard */
    unsigned set; /* index into the site's sets */
};

struct tls_names {
    struct tls_name *v; /* sorted by name; one entry per name (the first set wins) */
    size_t n, cap;
};

/* Adds name (copied, lower-cased) for set unless the name is already there. */
int tls_names_add(struct tls_names *t, const char *name, unsigned set);
/* Sorts and drops duplicates (keeping the lowest set); call once after adding. */
void tls_names_finish(struct tls_names *t);
/* The set for a client's server name: an exact name, else a wildcard of its
 * parent (one label only, as RFC 6125), else -1. */
int tls_names_find(const struct tls_names *t, const char *sni);
void tls_names_free(struct tls_names *t);

/* ---- OCSP stapling (ocsp.c) ---- */

struct tls_ocsp {
    char *file;
    unsigned char *der; /* the response as stapled; NULL when unusable */
    long len;
    int64_t mtime_ns;    /* of the file when read */
    X509 *cert, *issuer; /* to check a re-read response (refs held) */
};

/* Reads file as the OCSP response for cert (issued by issuer, which may be
 * NULL when the chain does not hold it: then not checked against it). */
struct tls_ocsp *tls_ocsp_load(const char *file, X509 *cert, X509 *issuer, char *err,
                               size_t errlen);
/* Re-reads the file when it changed; keeps the old response when the new
 * one is unusable (logged). */
void tls_ocsp_refresh(struct tls_ocsp *o);
void tls_ocsp_free(struct tls_ocsp *o);
/* The status-request callback; arg is the struct tls_certset. */
int tls_ocsp_status_cb(SSL *ssl, void *arg);

/* ---- a listener's runtime (site.c) ---- */

#define TLS_MAX_KEYS                                                                     \
    4 /* key types side by side in one set: RSA, ECDSA, Ed25519, Ed448                   \
       */

struct tls_certset {
    SSL_CTX *ctx;
    int key_types[TLS_MAX_KEYS]; /* EVP_PKEY base ids, 0: unused */
    X509 *certs[TLS_MAX_KEYS];
    struct tls_ocsp *ocsp[TLS_MAX_KEYS];
    char **names; /* sorted, lower case, from the SAN (or the CN) */
    size_t nnames;
    const char *first_file; /* for messages */
};

struct tls_site {
    int refs; /* the state's + one per connection */
    struct tls_listener_conf *conf;
    struct tls_certset *sets; /* sets[0]: the default (first certificate) */
    size_t nsets;
    struct tls_names names;
    int tickets; /* TLS 1.3 tickets to issue after a handshake (conn.c): 0 or 1 */
};

/* Builds the site of a listener: reads every certificate and key, groups
 * them, makes one SSL_CTX per set. Takes lc (freed with the site, or at
 * once on failure). NULL with a message on error. */
struct tls_site *tls_site_new(struct tls_listener_conf *lc,
                              const struct tls_settings *set, char *err, size_t errlen);
void tls_site_ref(struct tls_site *s);
void tls_site_unref(struct tls_site *s);
/* Re-reads changed OCSP files. */
void tls_site_refresh_ocsp(struct tls_site *s);

/* ---- TLS to upstreams (upstream.c) ---- */

/* What connections to one service's https:// endpoints share: its client
 * SSL_CTX, the names to send and verify, and the last session of each
 * endpoint (resumed by the next connection). Reference-counted like a site. */
struct tls_upstream {
    int refs;
    char *service;
    SSL_CTX *ctx;
    char *sni;         /* server name sent, NULL: none */
    char *verify_name; /* name the certificate must hold; NULL: sni, else the IP */
    int verify;        /* verify the server's certificate (default) */
    int session_reuse;
    SSL_SESSION **sessions; /* by endpoint index */
    char **hosts;           /* by endpoint index: its IP, for IP verification */
    size_t nendpoints;
};

/* Reads service `name`'s `tls` table (NULL: defaults) and builds its
 * upstream. NULL with a message naming the key or the file. */
struct tls_upstream *tls_upstream_new(const char *name, const foyer_conf_t *conf,
                                      char *err, size_t errlen);
void tls_upstream_ref(struct tls_upstream *u);
void tls_upstream_unref(struct tls_upstream *u);
/* Sets SNI, the name to verify and a session to resume on a new SSL. */
int tls_upstream_prepare(struct tls_upstream *u, unsigned endpoint, SSL *ssl);

/* ---- the transport (conn.c) ---- */

extern const struct foyer_transport_ops tls_transport_ops;
/* A new server-side connection on fd; NULL on failure (fd untouched). */
void *tls_conn_new(struct tls_site *site, int fd);
/* A new connection to endpoint `endpoint` of up's service; NULL on failure. */
void *tls_conn_new_upstream(struct tls_upstream *up, unsigned endpoint, int fd);
/* The site of an SSL made by tls_conn_new (for callbacks). */
struct tls_site *tls_conn_site(SSL *ssl);
/* The upstream (and endpoint) of an SSL made by tls_conn_new_upstream. */
struct tls_upstream *tls_conn_upstream(SSL *ssl, unsigned *endpoint);
/* The ticket being resumed was made with an older key: a new ticket is
 * issued once the handshake is done (tickets.c tells). */
void tls_conn_ticket_renew(SSL *ssl);

/* ---- ticket keys (tickets.c) ---- */

/* Maps the shared keys (once per process) and makes the first key if no
 * process did yet. -1 with a message on failure. */
int tls_tickets_init(char *err, size_t errlen);
/* Frees what init fetched, once no configuration uses the plugin. */
void tls_tickets_release(void);
/* The rotation period and the session lifetime in force in this process. */
void tls_tickets_configure(double rotation, double lifetime);
/* Rotates when the current key is older than the period (worker 0's timer). */
void tls_tickets_maybe_rotate(void);
/* Installs the key callback on ctx. */
void tls_tickets_use(SSL_CTX *ctx);

/* ---- shared session cache (session_cache.c) ---- */

/* Maps a cache of `entries` sessions (once per size and process); -1 on failure. */
int tls_session_cache_init(long entries, char *err, size_t errlen);
/* Installs the cache callbacks on ctx (or turns caching off when entries is 0). */
void tls_session_cache_use(SSL_CTX *ctx, long entries);

/* ---- helpers ---- */

/* The first OpenSSL error as text ("" when none); clears the queue. */
const char *tls_ssl_error(char *buf, size_t len);

#endif
