/* A listener's `tls = { ... }` table:
 *
 *   listen { "0.0.0.0:443", tls = {
 *       certificates = { { cert = "rsa.pem", key = "rsa.key" },
 *                        { cert = "ecdsa.pem", key = "ecdsa.key", ocsp = "ecdsa.ocsp" },
 *                        "combined.pem" },          -- certificate and key in one file
 *       min_version = "TLSv1.2", max_version = "TLSv1.3",
 *       client_ca = "ca.pem", verify_client = "optional", verify_depth = 3,
 *       alpn = { "http/1.1" },
 *       ciphers = "...", ciphersuites = "...", curves = "X25519:prime256v1",
 *       prefer_server_ciphers = false,
 *   } }
 *
 * Every key and value is checked here; the files are read by site.c. */
#include "tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Mozilla's "intermediate" configuration (version 5.7). */
#define FOYER_TLS12_CIPHERS                                                              \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                         \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                         \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                         \
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"
#define FOYER_TLS13_SUITES                                                               \
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
#define FOYER_TLS_CURVES "X25519:prime256v1:secp384r1"

static const char *const listener_keys[] = {"certificates",
                                            "min_version",
                                            "max_version",
                                            "client_ca",
                                            "verify_client",
                                            "verify_depth",
                                            "alpn",
                                            "ciphers",
                                            "ciphersuites",
                                            "curves",
                                            "prefer_server_ciphers",
                                            NULL};

static const char *const cert_keys[] = {"cert", "key", "ocsp", NULL};

static int known(const char *const *keys, const char *k)
{
    for (; *keys; keys++)
        if (strcmp(*keys, k) == 0) return 1;
    return 0;
}

static void list_keys(const char *const *keys, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (; *keys && used < len; keys++)
        used += (size_t)snprintf(out + used, len - used, "%s%s", used ? ", " : "", *keys);
}

/* Refuses keys outside `keys` (string keys) in t. */
static int check_keys(const foyer_conf_t *t, const char *const *keys, const char *what,
                      const char *addr, char *err, size_t errlen)
{
    for (const char *k = tls_api->conf_next_key(t, NULL); k;
         k = tls_api->conf_next_key(t, k)) {
        if (known(keys, k)) continue;
        char names[256];
        list_keys(keys, names, sizeof names);
        snprintf(err, errlen, "listen \"%s\": %s: unknown key '%s' (known: %s)", addr,
                 what, k, names);
        return -1;
    }
    return 0;
}

static int version_of(const char *v)
{
    if (strcmp(v, "TLSv1.2") == 0) return TLS1_2_VERSION;
    if (strcmp(v, "TLSv1.3") == 0) return TLS1_3_VERSION;
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int present(const foyer_conf_t *t, const char *key);

/* A string setting: 0 and *out (a copy of the value, or of def when absent),
 * -1 when present as something else or empty. */
static int string_key(const foyer_conf_t *t, const char *key, const char *def, char **out,
                      const char *addr, char *err, size_t errlen)
{
    const char *v = tls_api->conf_string(t, key);
    if ((v == NULL && present(t, key)) || (v != NULL && *v == '\0')) {
        snprintf(err, errlen, "listen \"%s\": tls.%s must be a non-empty string", addr,
                 key);
        return -1;
    }
    *out = dup_or_null(v ? v : def);
    return (v || def) && *out == NULL ? -1 : 0;
}

static int present(const foyer_conf_t *t, const char *key)
{
    for (const char *k = tls_api->conf_next_key(t, NULL); k;
         k = tls_api->conf_next_key(t, k))
        if (strcmp(k, key) == 0) return 1;
    return 0;
}

static int read_cert(const foyer_conf_t *list, size_t i, struct tls_cert_conf *c,
                     const char *addr, char *err, size_t errlen)
{
    const char *file = tls_api->conf_index_string(list, i);
    if (file != NULL) { /* "combined.pem": certificate and key in one file */
        c->cert = strdup(file);
        c->key = strdup(file);
        return c->cert && c->key ? 0 : -1;
    }
    const foyer_conf_t *e = tls_api->conf_index(list, i);
    if (e == NULL) {
        snprintf(err, errlen,
                 "listen \"%s\": tls.certificates[%zu] must be { cert = \"file\", key = "
                 "\"file\" } "
                 "or \"file\"",
                 addr, i);
        return -1;
    }
    char what[64];
    snprintf(what, sizeof what, "tls.certificates[%zu]", i);
    if (check_keys(e, cert_keys, what, addr, err, errlen) != 0) return -1;
    const char *cert = tls_api->conf_string(e, "cert");
    const char *key = tls_api->conf_string(e, "key");
    const char *ocsp = tls_api->conf_string(e, "ocsp");
    if (cert == NULL || *cert == '\0') {
        snprintf(err, errlen, "listen \"%s\": %s needs cert = \"file\" (a string)", addr,
                 what);
        return -1;
    }
    if ((key == NULL && present(e, "key")) || (key && *key == '\0')) {
        snprintf(err, errlen, "listen \"%s\": %s.key must be a file name", addr, what);
        return -1;
    }
    if ((ocsp == NULL && present(e, "ocsp")) || (ocsp && *ocsp == '\0')) {
        snprintf(err, errlen, "listen \"%s\": %s.ocsp must be a file name", addr, what);
        return -1;
    }
    c->cert = strdup(cert);
    c->key = strdup(key ? key : cert);
    c->ocsp = dup_or_null(ocsp);
    return c->cert && c->key && (!ocsp || c->ocsp) ? 0 : -1;
}

static int read_certificates(const foyer_conf_t *tls, struct tls_listener_conf *lc,
                             char *err, size_t errlen)
{
    const foyer_conf_t *list = tls_api->conf_table(tls, "certificates");
    if (list == NULL) {
        snprintf(err, errlen,
                 "listen \"%s\": tls needs certificates = { { cert = \"file\", key = "
                 "\"file\" }, ... }",
                 lc->address);
        return -1;
    }
    size_t n = tls_api->conf_len(list);
    if (n == 0 || tls_api->conf_next_key(list, NULL) != NULL) {
        snprintf(err, errlen,
                 "listen \"%s\": tls.certificates must be a list: "
                 "certificates = { { cert = \"file\", key = \"file\" }, ... }",
                 lc->address);
        return -1;
    }
    lc->certs = calloc(n, sizeof *lc->certs);
    if (lc->certs == NULL) return -1;
    lc->ncerts = n;
    for (size_t i = 1; i <= n; i++)
        if (read_cert(list, i, &lc->certs[i - 1], lc->address, err, errlen) != 0)
            return -1;
    return 0;
}

static int read_versions(const foyer_conf_t *tls, struct tls_listener_conf *lc, char *err,
                         size_t errlen)
{
    static const char *const keys[] = {"min_version", "max_version"};
    int *out[] = {&lc->min_version, &lc->max_version};
    lc->min_version = TLS1_2_VERSION;
    lc->max_version = TLS1_3_VERSION;
    for (int k = 0; k < 2; k++) {
        if (!present(tls, keys[k])) continue;
        const char *v = tls_api->conf_string(tls, keys[k]);
        int ver = v ? version_of(v) : 0;
        if (ver == 0) {
            snprintf(err, errlen,
                     "listen \"%s\": tls.%s must be \"TLSv1.2\" or \"TLSv1.3\"%s%s%s",
                     lc->address, keys[k], v ? " (not \"" : "", v ? v : "",
                     v ? "\")" : "");
            return -1;
        }
        *out[k] = ver;
    }
    if (lc->max_version < lc->min_version) {
        snprintf(err, errlen, "listen \"%s\": tls.max_version is below tls.min_version",
                 lc->address);
        return -1;
    }
    return 0;
}

static int read_verify(const foyer_conf_t *tls, struct tls_listener_conf *lc, char *err,
                       size_t errlen)
{
    if (string_key(tls, "client_ca", NULL, &lc->client_ca, lc->address, err, errlen) != 0)
        return -1;
    /* a CA given and no verify_client: the operator wants certificates checked */
    lc->verify = lc->client_ca ? TLS_VERIFY_REQUIRED : TLS_VERIFY_NONE;
    if (present(tls, "verify_client")) {
        const char *v = tls_api->conf_string(tls, "verify_client");
        if (v && strcmp(v, "none") == 0)
            lc->verify = TLS_VERIFY_NONE;
        else if (v && strcmp(v, "optional") == 0)
            lc->verify = TLS_VERIFY_OPTIONAL;
        else if (v && strcmp(v, "required") == 0)
            lc->verify = TLS_VERIFY_REQUIRED;
        else {
            snprintf(err, errlen,
                     "listen \"%s\": tls.verify_client must be \"none\", \"optional\" or "
                     "\"required\"%s%s%s",
                     lc->address, v ? " (not \"" : "", v ? v : "", v ? "\")" : "");
            return -1;
        }
    }
    if (lc->verify != TLS_VERIFY_NONE && lc->client_ca == NULL) {
        snprintf(err, errlen,
                 "listen \"%s\": tls.verify_client needs client_ca = \"file\" (the CA "
                 "certificates "
                 "client certificates are checked against)",
                 lc->address);
        return -1;
    }
    lc->verify_depth = 5;
    if (present(tls, "verify_depth")) {
        double d;
        if (tls_api->conf_number(tls, "verify_depth", &d) != 0 || d < 1 || d > 16 ||
            d != (int)d) {
            snprintf(err, errlen,
                     "listen \"%s\": tls.verify_depth must be a whole number 1-16",
                     lc->address);
            return -1;
        }
        lc->verify_depth = (int)d;
    }
    return 0;
}

/* alpn = { "http/1.1" } (the default), or {} / false for no ALPN. */
static int read_alpn(const foyer_conf_t *tls, struct tls_listener_conf *lc, char *err,
                     size_t errlen)
{
    static const char *const supported[] = {"http/1.1", "http/1.0", NULL};
    static const unsigned char http11[] = "\x08http/1.1";
    if (!present(tls, "alpn")) {
        lc->alpn = malloc(sizeof http11 - 1);
        if (lc->alpn == NULL) return -1;
        memcpy(lc->alpn, http11, sizeof http11 - 1);
        lc->alpn_len = sizeof http11 - 1;
        return 0;
    }
    int off;
    if (tls_api->conf_bool(tls, "alpn", &off) == 0 && !off) return 0;
    const foyer_conf_t *list = tls_api->conf_table(tls, "alpn");
    if (list == NULL || tls_api->conf_next_key(list, NULL) != NULL) {
        snprintf(err, errlen,
                 "listen \"%s\": tls.alpn must be a list such as { \"http/1.1\" }",
                 lc->address);
        return -1;
    }
    size_t n = tls_api->conf_len(list), used = 0;
    lc->alpn = malloc(n * 9 + 1);
    if (lc->alpn == NULL) return -1;
    for (size_t i = 1; i <= n; i++) {
        const char *p = tls_api->conf_index_string(list, i);
        if (p == NULL || !known(supported, p)) {
            snprintf(
                err, errlen,
                "listen \"%s\": tls.alpn: %s%s%s (foyer speaks HTTP/1.x: \"http/1.1\", "
                "\"http/1.0\")",
                lc->address, p ? "unsupported protocol \"" : "entries must be strings",
                p ? p : "", p ? "\"" : "");
            return -1;
        }
        lc->alpn[used++] = (unsigned char)strlen(p);
        memcpy(lc->alpn + used, p, strlen(p));
        used += strlen(p);
    }
    lc->alpn_len = used;
    if (used == 0) {
        free(lc->alpn);
        lc->alpn = NULL;
    }
    return 0;
}

static int read_crypto(const foyer_conf_t *tls, struct tls_listener_conf *lc, char *err,
                       size_t errlen)
{
    if (string_key(tls, "ciphers", FOYER_TLS12_CIPHERS, &lc->ciphers, lc->address, err,
                   errlen) != 0 ||
        string_key(tls, "ciphersuites", FOYER_TLS13_SUITES, &lc->ciphersuites,
                   lc->address, err, errlen) != 0 ||
        string_key(tls, "curves", FOYER_TLS_CURVES, &lc->curves, lc->address, err,
                   errlen) != 0)
        return -1;
    if (present(tls, "prefer_server_ciphers") &&
        tls_api->conf_bool(tls, "prefer_server_ciphers", &lc->prefer_server_ciphers) !=
            0) {
        snprintf(err, errlen,
                 "listen \"%s\": tls.prefer_server_ciphers must be true or false",
                 lc->address);
        return -1;
    }
    return 0;
}

int tls_listener_conf_read(size_t i, struct tls_listener_conf **out, char *err,
                           size_t errlen)
{
    *out = NULL;
    const foyer_conf_t *t = tls_api->listen_conf(i);
    const char *addr = tls_api->listen_address(i);
    if (t == NULL || !present(t, "tls")) return 0;
    const foyer_conf_t *tls = tls_api->conf_table(t, "tls");
    if (tls == NULL) {
        snprintf(err, errlen,
                 "listen \"%s\": tls must be a table: tls = { certificates = { { cert = "
                 "\"file\", "
                 "key = \"file\" } } }",
                 addr);
        return -1;
    }
    if (check_keys(tls, listener_keys, "tls", addr, err, errlen) != 0) return -1;
    struct tls_listener_conf *lc = calloc(1, sizeof *lc);
    if (lc == NULL || (lc->address = strdup(addr ? addr : "?")) == NULL) {
        free(lc);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    err[0] = '\0';
    if (read_certificates(tls, lc, err, errlen) != 0 ||
        read_versions(tls, lc, err, errlen) != 0 ||
        read_verify(tls, lc, err, errlen) != 0 || read_alpn(tls, lc, err, errlen) != 0 ||
        read_crypto(tls, lc, err, errlen) != 0) {
        if (err[0] == '\0') snprintf(err, errlen, "out of memory");
        tls_listener_conf_free(lc);
        return -1;
    }
    *out = lc;
    return 0;
}

void tls_listener_conf_free(struct tls_listener_conf *lc)
{
    if (lc == NULL) return;
    for (size_t i = 0; i < lc->ncerts; i++) {
        free(lc->certs[i].cert);
        free(lc->certs[i].key);
        free(lc->certs[i].ocsp);
    }
    free(lc->certs);
    free(lc->address);
    free(lc->client_ca);
    free(lc->alpn);
    free(lc->ciphers);
    free(lc->ciphersuites);
    free(lc->curves);
    free(lc);
}
