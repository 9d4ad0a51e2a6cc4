/* TLS to upstreams: the `tls = { }` table of a service with https:// endpoints.
 *
 *   service "api" {
 *     endpoints = { "https://10.0.0.5:443", "https://10.0.0.6" },
 *     tls = {
 *       ca = "/etc/foyer/upstream-ca.pem", -- trust anchors (default: the system's)
 *       verify = true,                     -- check the certificate (default)
 *       sni = "api.internal",              -- server name sent (default: none)
 *       verify_name = "api.internal",      -- name the certificate must hold
 *                                          -- (default: sni, else the endpoint IP)
 *       client_cert = "client.pem", client_key = "client.key", -- mTLS
 *       min_version = "TLSv1.2", max_version = "TLSv1.3",
 *       ciphers = "...", ciphersuites = "...",
 *       session_reuse = true,              -- resume the endpoint's last session
 *     },
 *   }
 *
 * One client SSL_CTX per service, built when the configuration loads (a bad
 * file refuses it, naming the service). Verification failures end the
 * connection during the handshake: conn.c logs the reason as a warning and
 * the core answers 502. Sessions are kept per endpoint (the last one each),
 * so reconnecting to an endpoint resumes instead of a full handshake, as
 * nginx's proxy_ssl_session_reuse does. */
#include "tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const upstream_keys[] = {"ca",           "verify",        "sni",
                                            "verify_name",  "client_cert",   "client_key",
                                            "min_version",  "max_version",   "ciphers",
                                            "ciphersuites", "session_reuse", NULL};

/* The string keys of t all known: 0, else -1 naming the first stranger. */
static int check_keys(const foyer_conf_t *t, const char *svc, char *err, size_t errlen)
{
    for (const char *k = tls_api->conf_next_key(t, NULL); k;
         k = tls_api->conf_next_key(t, k)) {
        const char *const *p = upstream_keys;
        while (*p && strcmp(*p, k) != 0)
            p++;
        if (*p) continue;
        snprintf(err, errlen,
                 "service \"%s\": tls: unknown key '%s' (known: ca, verify, sni, "
                 "verify_name, client_cert, client_key, min_version, max_version, "
                 "ciphers, ciphersuites, session_reuse)",
                 svc, k);
        return -1;
    }
    return 0;
}

static int has(const foyer_conf_t *t, const char *key)
{
    for (const char *k = tls_api->conf_next_key(t, NULL); k;
         k = tls_api->conf_next_key(t, k))
        if (strcmp(k, key) == 0) return 1;
    return 0;
}

/* A non-empty string setting (NULL when absent); -1 when of another type. */
static int string_of(const foyer_conf_t *t, const char *key, const char **out,
                     const char *svc, char *err, size_t errlen)
{
    *out = t ? tls_api->conf_string(t, key) : NULL;
    if ((*out == NULL && t && has(t, key)) || (*out && **out == '\0')) {
        snprintf(err, errlen, "service \"%s\": tls.%s must be a non-empty string", svc,
                 key);
        return -1;
    }
    return 0;
}

static int bool_of(const foyer_conf_t *t, const char *key, int *out, const char *svc,
                   char *err, size_t errlen)
{
    if (t == NULL || !has(t, key)) return 0;
    if (tls_api->conf_bool(t, key, out) == 0) return 0;
    snprintf(err, errlen, "service \"%s\": tls.%s must be true or false", svc, key);
    return -1;
}

static int version_of(const char *v)
{
    if (strcmp(v, "TLSv1.2") == 0) return TLS1_2_VERSION;
    if (strcmp(v, "TLSv1.3") == 0) return TLS1_3_VERSION;
    return 0;
}

static int fail_ssl(const char *svc, const char *what, const char *file, char *err,
                    size_t errlen)
{
    char why[256];
    snprintf(err, errlen, "service \"%s\": tls.%s \"%s\": %s", svc, what, file,
             tls_ssl_error(why, sizeof why));
    return -1;
}

static int set_versions(SSL_CTX *ctx, const foyer_conf_t *t, const char *svc, char *err,
                        size_t errlen)
{
    const char *min, *max;
    if (string_of(t, "min_version", &min, svc, err, errlen) != 0 ||
        string_of(t, "max_version", &max, svc, err, errlen) != 0)
        return -1;
    int lo = min ? version_of(min) : TLS1_2_VERSION;
    int hi = max ? version_of(max) : TLS1_3_VERSION;
    if (lo == 0 || hi == 0 || lo > hi) {
        snprintf(err, errlen,
                 "service \"%s\": tls.min_version/max_version must be \"TLSv1.2\" or "
                 "\"TLSv1.3\", min <= max",
                 svc);
        return -1;
    }
    SSL_CTX_set_min_proto_version(ctx, lo);
    SSL_CTX_set_max_proto_version(ctx, hi);
    return 0;
}

static int set_ciphers(SSL_CTX *ctx, const foyer_conf_t *t, const char *svc, char *err,
                       size_t errlen)
{
    const char *ciphers, *suites;
    if (string_of(t, "ciphers", &ciphers, svc, err, errlen) != 0 ||
        string_of(t, "ciphersuites", &suites, svc, err, errlen) != 0)
        return -1;
    if (ciphers && !SSL_CTX_set_cipher_list(ctx, ciphers))
        return fail_ssl(svc, "ciphers", ciphers, err, errlen);
    if (suites && !SSL_CTX_set_ciphersuites(ctx, suites))
        return fail_ssl(svc, "ciphersuites", suites, err, errlen);
    return 0;
}

/* Trust anchors: the configured file, else the system's store. */
static int set_trust(SSL_CTX *ctx, const char *ca, int verify, const char *svc, char *err,
                     size_t errlen)
{
    if (ca && !SSL_CTX_load_verify_locations(ctx, ca, NULL))
        return fail_ssl(svc, "ca", ca, err, errlen);
    if (ca == NULL && verify && !SSL_CTX_set_default_verify_paths(ctx))
        return fail_ssl(svc, "ca", "(system default)", err, errlen);
    SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    return 0;
}

static int set_client_cert(SSL_CTX *ctx, const foyer_conf_t *t, const char *svc,
                           char *err, size_t errlen)
{
    const char *cert, *key;
    if (string_of(t, "client_cert", &cert, svc, err, errlen) != 0 ||
        string_of(t, "client_key", &key, svc, err, errlen) != 0)
        return -1;
    if (cert == NULL && key == NULL) return 0;
    if (cert == NULL) {
        snprintf(err, errlen, "service \"%s\": tls.client_key needs tls.client_cert",
                 svc);
        return -1;
    }
    if (!SSL_CTX_use_certificate_chain_file(ctx, cert))
        return fail_ssl(svc, "client_cert", cert, err, errlen);
    if (!SSL_CTX_use_PrivateKey_file(ctx, key ? key : cert, SSL_FILETYPE_PEM))
        return fail_ssl(svc, "client_key", key ? key : cert, err, errlen);
    if (!SSL_CTX_check_private_key(ctx))
        return fail_ssl(svc, "client_key", key ? key : cert, err, errlen);
    return 0;
}

/* OpenSSL hands over each new session (TLS 1.3: after the handshake, with
 * the server's ticket): it becomes the endpoint's session to resume. */
static int new_session(SSL *ssl, SSL_SESSION *sess)
{
    unsigned endpoint;
    struct tls_upstream *u = tls_conn_upstream(ssl, &endpoint);
    if (u == NULL || endpoint >= u->nendpoints || !u->session_reuse) return 0;
    if (u->sessions[endpoint]) SSL_SESSION_free(u->sessions[endpoint]);
    u->sessions[endpoint] = sess;
    return 1; /* the reference is ours */
}

/* Each endpoint's numeric host, for certificates naming IP addresses. */
static int read_endpoints(struct tls_upstream *u)
{
    u->nendpoints = tls_api->service_endpoints(u->service);
    u->sessions = calloc(u->nendpoints ? u->nendpoints : 1, sizeof *u->sessions);
    u->hosts = calloc(u->nendpoints ? u->nendpoints : 1, sizeof *u->hosts);
    if (u->sessions == NULL || u->hosts == NULL) return -1;
    for (size_t i = 0; i < u->nendpoints; i++) {
        const char *a = tls_api->service_endpoint(u->service, i);
        if (a == NULL) continue;
        const char *colon = strrchr(a, ':');
        size_t len = colon ? (size_t)(colon - a) : strlen(a);
        if (len >= 2 && a[0] == '[') a++, len -= 2;
        if ((u->hosts[i] = strndup(a, len)) == NULL) return -1;
    }
    return 0;
}

static int configure(struct tls_upstream *u, const foyer_conf_t *t, char *err,
                     size_t errlen)
{
    const char *svc = u->service, *ca, *sni, *vname;
    u->verify = u->session_reuse = 1;
    if ((t && check_keys(t, svc, err, errlen) != 0) ||
        string_of(t, "ca", &ca, svc, err, errlen) != 0 ||
        string_of(t, "sni", &sni, svc, err, errlen) != 0 ||
        string_of(t, "verify_name", &vname, svc, err, errlen) != 0 ||
        bool_of(t, "verify", &u->verify, svc, err, errlen) != 0 ||
        bool_of(t, "session_reuse", &u->session_reuse, svc, err, errlen) != 0)
        return -1;
    if ((sni && (u->sni = strdup(sni)) == NULL) ||
        (vname && (u->verify_name = strdup(vname)) == NULL) || read_endpoints(u) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    u->ctx = SSL_CTX_new(TLS_client_method());
    if (u->ctx == NULL) return fail_ssl(svc, "ctx", "-", err, errlen);
    SSL_CTX_set_mode(u->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(u->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_session_cache_mode(u->ctx, SSL_SESS_CACHE_CLIENT |
                                               SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(u->ctx, new_session);
    if (set_versions(u->ctx, t, svc, err, errlen) != 0 ||
        set_ciphers(u->ctx, t, svc, err, errlen) != 0 ||
        set_trust(u->ctx, ca, u->verify, svc, err, errlen) != 0 ||
        set_client_cert(u->ctx, t, svc, err, errlen) != 0)
        return -1;
    return 0;
}

struct tls_upstream *tls_upstream_new(const char *name, const foyer_conf_t *conf,
                                      char *err, size_t errlen)
{
    struct tls_upstream *u = calloc(1, sizeof *u);
    if (u == NULL || (u->service = strdup(name)) == NULL) {
        free(u);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    u->refs = 1;
    if (configure(u, conf, err, errlen) != 0) {
        tls_upstream_unref(u);
        return NULL;
    }
    return u;
}

void tls_upstream_ref(struct tls_upstream *u)
{
    u->refs++;
}

void tls_upstream_unref(struct tls_upstream *u)
{
    if (u == NULL || --u->refs > 0) return;
    for (size_t i = 0; i < u->nendpoints; i++) {
        if (u->sessions && u->sessions[i]) SSL_SESSION_free(u->sessions[i]);
        if (u->hosts) free(u->hosts[i]);
    }
    free(u->sessions);
    free(u->hosts);
    SSL_CTX_free(u->ctx);
    free(u->sni);
    free(u->verify_name);
    free(u->service);
    free(u);
}

int tls_upstream_prepare(struct tls_upstream *u, unsigned endpoint, SSL *ssl)
{
    if (u->sni && !SSL_set_tlsext_host_name(ssl, u->sni)) return -1;
    const char *name = u->verify_name ? u->verify_name : u->sni;
    if (u->verify && name && !SSL_set1_host(ssl, name)) return -1;
    if (u->verify && name == NULL && endpoint < u->nendpoints && u->hosts[endpoint] &&
        !X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), u->hosts[endpoint]))
        return -1;
    if (u->session_reuse && endpoint < u->nendpoints && u->sessions[endpoint] &&
        !SSL_set_session(ssl, u->sessions[endpoint]))
        ERR_clear_error(); /* a session we cannot use: a full handshake then */
    return 0;
}
