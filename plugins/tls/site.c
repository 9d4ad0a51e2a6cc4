/* A TLS listener's runtime. Its certificates are grouped into sets: entries
 * with the same names (SAN, or CN without SAN) and different key types (RSA,
 * ECDSA, ...) share one SSL_CTX, where OpenSSL picks the key the client's
 * signature algorithms and ciphers allow; every other entry gets its own.
 * One SSL_CTX per set, made here once per configuration, never per
 * connection: a connection starts on sets[0] (the first certificate, the
 * default) and moves to the set its SNI names (SSL_set_SSL_CTX, which only
 * swaps certificates: every SSL_CTX of a site has the same settings). */
#include "tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One `certificates` entry, read. */
struct loaded {
    const struct tls_cert_conf *conf;
    X509 *cert;
    STACK_OF(X509) * chain;
    EVP_PKEY *key;
    int type;
    char **names;
    size_t nnames;
};

const char *tls_ssl_error(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    buf[0] = '\0';
    if (e != 0) {
        const char *reason = ERR_reason_error_string(e);
        if (reason)
            snprintf(buf, len, "%s", reason);
        else
            ERR_error_string_n(e, buf, len);
    }
    ERR_clear_error();
    return buf;
}

static const char *key_type_name(int type)
{
    switch (type) {
    case EVP_PKEY_RSA:
        return "RSA";
    case EVP_PKEY_RSA_PSS:
        return "RSA-PSS";
    case EVP_PKEY_EC:
        return "ECDSA";
    case EVP_PKEY_ED25519:
        return "Ed25519";
    case EVP_PKEY_ED448:
        return "Ed448";
    default:
        return NULL;
    }
}

static BIO *open_file(const char *path, const char *what, const char *addr, char *err,
                      size_t errlen)
{
    errno = 0;
    BIO *b = BIO_new_file(path, "r");
    if (b == NULL) {
        int e = errno ? errno : EIO;
        ERR_clear_error();
        snprintf(err, errlen, "listen \"%s\": %s file %s: cannot read: %s", addr, what,
                 path, strerror(e));
    }
    return b;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    *(int *)u = 1;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int push_name(struct loaded *l, const unsigned char *p, int len)
{
    if (len <= 0 || len > 255 || memchr(p, '\0', (size_t)len) != NULL) return 0;
    char **v = realloc(l->names, (l->nnames + 1) * sizeof *v);
    if (v == NULL) return -1;
    l->names = v;
    char *s = malloc((size_t)len + 1);
    if (s == NULL) return -1;
    for (int i = 0; i < len; i++)
        s[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
    s[len] = '\0';
    l->names[l->nnames++] = s;
    return 0;
}

/* DNS names of the SAN; the subject's CNs when it has none (as browsers did). */
static int read_names(struct loaded *l)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(l->cert, NID_subject_alt_name, NULL, NULL);
    int rc = 0;
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && rc == 0; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS)
            rc = push_name(l, ASN1_STRING_get0_data(g->d.dNSName),
                           ASN1_STRING_length(g->d.dNSName));
    }
    GENERAL_NAMES_free(gens);
    if (rc == 0 && l->nnames == 0) {
        const X509_NAME *subj = X509_get_subject_name(l->cert);
        for (int i = -1;
             rc == 0 && (i = X509_NAME_get_index_by_NID(subj, NID_commonName, i)) >= 0;) {
            unsigned char *utf8 = NULL;
            int len = ASN1_STRING_to_UTF8(
                &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)));
            if (len > 0) rc = push_name(l, utf8, len);
            OPENSSL_free(utf8);
        }
    }
    ERR_clear_error();
    if (rc == 0 && l->nnames > 1) qsort(l->names, l->nnames, sizeof *l->names, cmp_names);
    return rc;
}

static int load_entry(const struct tls_cert_conf *c, struct loaded *l, const char *addr,
                      char *err, size_t errlen)
{
    l->conf = c;
    BIO *b = open_file(c->cert, "certificate", addr, err, errlen);
    if (b == NULL) return -1;
    l->cert = PEM_read_bio_X509_AUX(b, NULL, NULL, NULL);
    l->chain = sk_X509_new_null();
    X509 *extra;
    while (l->cert && l->chain &&
           (extra = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
        if (!sk_X509_push(l->chain, extra)) X509_free(extra);
    BIO_free(b);
    ERR_clear_error(); /* the end of the file reads as "no start line" */
    if (l->cert == NULL) {
        snprintf(err, errlen,
                 "listen \"%s\": certificate file %s: no PEM certificate in it", addr,
                 c->cert);
        return -1;
    }
    if ((b = open_file(c->key, "key", addr, err, errlen)) == NULL) return -1;
    int encrypted = 0;
    l->key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, &encrypted);
    BIO_free(b);
    ERR_clear_error();
    if (l->key == NULL) {
        snprintf(err, errlen, "listen \"%s\": key file %s: %s", addr, c->key,
                 encrypted ? "the key is encrypted (foyer cannot ask for a pass phrase)"
                           : "no PEM private key in it");
        return -1;
    }
    l->type = EVP_PKEY_get_base_id(l->key);
    if (key_type_name(l->type) == NULL) {
        snprintf(err, errlen, "listen \"%s\": key file %s: unsupported key type", addr,
                 c->key);
        return -1;
    }
    if (X509_check_private_key(l->cert, l->key) != 1) {
        ERR_clear_error();
        snprintf(err, errlen,
                 "listen \"%s\": key file %s does not match certificate file %s", addr,
                 c->key, c->cert);
        return -1;
    }
    if (read_names(l) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (tls_api->worker_id() < 0) { /* warnings once, from the master */
        if (X509_cmp_current_time(X509_get0_notAfter(l->cert)) < 0)
            tls_log(FOYER_LOG_WARNING, "listen \"%s\": certificate file %s has expired",
                    addr, c->cert);
        if (l->nnames == 0)
            tls_log(
                FOYER_LOG_WARNING,
                "listen \"%s\": certificate file %s names no host (no DNS SAN, no CN): "
                "only chosen as the default",
                addr, c->cert);
    }
    return 0;
}

static void loaded_free(struct loaded *l)
{
    X509_free(l->cert);
    sk_X509_pop_free(l->chain, X509_free);
    EVP_PKEY_free(l->key);
    for (size_t i = 0; i < l->nnames; i++)
        free(l->names[i]);
    free(l->names);
}

static int same_names(const struct loaded *a, const struct tls_certset *s)
{
    if (a->nnames != s->nnames) return 0;
    for (size_t i = 0; i < a->nnames; i++)
        if (strcmp(a->names[i], s->names[i]) != 0) return 0;
    return 1;
}

/* ---- callbacks ---- */

static int sni_cb(SSL *ssl, int *alert, void *arg)
{
    struct tls_site *site = tls_conn_site(ssl);
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (site == NULL || name == NULL) return SSL_TLSEXT_ERR_OK;
    int set = tls_names_find(&site->names, name);
    if (set > 0 && site->sets[set].ctx != SSL_get_SSL_CTX(ssl) &&
        SSL_set_SSL_CTX(ssl, site->sets[set].ctx) == NULL) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    return SSL_TLSEXT_ERR_OK;
}

/* The client's ALPN list holds none of ours: refuse, as nginx does (RFC 7301 3.2). */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    struct tls_site *site = tls_conn_site(ssl);
    if (site == NULL || site->conf->alpn == NULL) return SSL_TLSEXT_ERR_NOACK;
    unsigned char *sel;
    if (SSL_select_next_proto(&sel, outlen, site->conf->alpn,
                              (unsigned)site->conf->alpn_len, in,
                              inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* TLS 1.3: every suite is an AEAD with forward secrecy, so which one wins is
 * a matter of cost only. The server's order (AES-128-GCM-SHA256 first: its
 * transcript and key schedule hash with SHA-256, which CPUs accelerate, not
 * SHA-384, and its digest contexts are half the size) wins, unless the
 * client puts ChaCha20 first (no AES hardware there). TLS 1.2 keeps the
 * client's order unless prefer_server_ciphers says otherwise. */
static int offers_tls13(const unsigned char *p, size_t len)
{
    if (len < 1 || p[0] != len - 1) return 0;
    for (size_t i = 1; i + 1 < len; i += 2)
        if (p[i] == 0x03 && p[i + 1] == 0x04) return 1;
    return 0;
}

static int client_hello_cb(SSL *ssl, int *alert, void *arg)
{
    const unsigned char *p;
    size_t len;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &p, &len) &&
        offers_tls13(p, len))
        SSL_set_options(ssl, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA);
    return SSL_CLIENT_HELLO_SUCCESS;
}

/* verify_client = "optional": the handshake goes on whatever the chain;
 * routing sees the verdict (req.tls.client_verify = "FAILED:<reason>"). */
static int verify_optional(int ok, X509_STORE_CTX *x)
{
    return 1;
}

/* ---- contexts ---- */

/* Settings that make sessions of one listener and policy resumable only
 * there: the session-ID context is a hash of the address and the policy. */
static int set_sid_ctx(SSL_CTX *ctx, const struct tls_listener_conf *lc)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char text[1024];
    int n = snprintf(text, sizeof text, "foyer-tls|%s|%d|%s", lc->address,
                     (int)lc->verify, lc->client_ca ? lc->client_ca : "");
    if (!EVP_Digest(text, (size_t)n, md, &mdlen, EVP_sha256(), NULL)) return 0;
    if (mdlen > SSL_MAX_SID_CTX_LENGTH) mdlen = SSL_MAX_SID_CTX_LENGTH;
    return SSL_CTX_set_session_id_context(ctx, md, mdlen);
}

struct client_ca {
    X509_STORE *store;
    STACK_OF(X509_NAME) * names;
};

static int load_client_ca(const struct tls_listener_conf *lc, struct client_ca *ca,
                          char *err, size_t errlen)
{
    BIO *b = open_file(lc->client_ca, "client_ca", lc->address, err, errlen);
    if (b == NULL) return -1;
    BIO_free(b);
    ca->store = X509_STORE_new();
    ca->names = SSL_load_client_CA_file(lc->client_ca);
    if (ca->store == NULL || !X509_STORE_load_file(ca->store, lc->client_ca) ||
        ca->names == NULL || sk_X509_NAME_num(ca->names) == 0) {
        char why[256];
        tls_ssl_error(why, sizeof why);
        snprintf(err, errlen,
                 "listen \"%s\": client_ca file %s: no PEM certificate in it%s%s%s",
                 lc->address, lc->client_ca, why[0] ? " (" : "", why, why[0] ? ")" : "");
        return -1;
    }
    return 0;
}

static SSL_CTX *make_ctx(const struct tls_listener_conf *lc,
                         const struct tls_settings *set, const struct client_ca *ca,
                         char *err, size_t errlen)
{
    char why[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        snprintf(err, errlen, "listen \"%s\": SSL_CTX_new: %s", lc->address,
                 tls_ssl_error(why, sizeof why));
        return NULL;
    }
    uint64_t opts =
        SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION;
    if (lc->prefer_server_ciphers) opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
    if (!set->tickets) opts |= SSL_OP_NO_TICKET;
    SSL_CTX_set_options(ctx, opts);
    /* idle connections give their 16 KiB record buffers back; writes are
     * retried from a buffer that may have moved (conn.c coalesces) */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* without a client_ca the certificate store is empty: OpenSSL's search
     * of it for a chain, once per handshake, could only find nothing */
    if (lc->client_ca == NULL) SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
    SSL_CTX_set_read_ahead(ctx, 1); /* one read(2) per record, not two */
    const char *bad = NULL;
    if (!SSL_CTX_set_min_proto_version(ctx, lc->min_version) ||
        !SSL_CTX_set_max_proto_version(ctx, lc->max_version))
        bad = "min_version/max_version";
    else if (!SSL_CTX_set_cipher_list(ctx, lc->ciphers))
        bad = "ciphers";
    else if (!SSL_CTX_set_ciphersuites(ctx, lc->ciphersuites))
        bad = "ciphersuites";
    else if (!SSL_CTX_set1_groups_list(ctx, lc->curves))
        bad = "curves";
    if (bad != NULL) {
        snprintf(err, errlen, "listen \"%s\": tls.%s: %s", lc->address, bad,
                 tls_ssl_error(why, sizeof why));
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_dh_auto(ctx, 1);
    /* TLS 1.3: none issued by OpenSSL at the end of the handshake, where it
     * would cost a write(2) of its own: conn.c asks for one per handshake
     * (site->tickets), sent with the first response */
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_timeout(ctx, (long)set->session_timeout);
    tls_session_cache_use(ctx, set->session_cache);
    if (set->tickets) tls_tickets_use(ctx);
    SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
    if (!lc->prefer_server_ciphers && lc->max_version >= TLS1_3_VERSION)
        SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, NULL);
    if (lc->alpn) SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
    if (lc->verify != TLS_VERIFY_NONE) {
        int mode = SSL_VERIFY_PEER;
        if (lc->verify == TLS_VERIFY_REQUIRED) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(ctx, mode,
                           lc->verify == TLS_VERIFY_OPTIONAL ? verify_optional : NULL);
        SSL_CTX_set_verify_depth(ctx, lc->verify_depth);
        SSL_CTX_set1_cert_store(ctx, ca->store);
        STACK_OF(X509_NAME) *names = SSL_dup_CA_list(ca->names);
        if (names) SSL_CTX_set_client_CA_list(ctx, names);
    }
    if (!set_sid_ctx(ctx, lc)) {
        snprintf(err, errlen, "listen \"%s\": session id context: %s", lc->address,
                 tls_ssl_error(why, sizeof why));
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static X509 *issuer_in(STACK_OF(X509) * chain, X509 *cert)
{
    for (int i = 0; i < sk_X509_num(chain); i++)
        if (X509_check_issued(sk_X509_value(chain, i), cert) == X509_V_OK)
            return sk_X509_value(chain, i);
    return NULL;
}

/* Puts entry l into set s (a key type it lacks). */
static int add_to_set(struct tls_certset *s, struct loaded *l, const char *addr,
                      char *err, size_t errlen)
{
    int k = 0;
    while (k < TLS_MAX_KEYS && s->key_types[k] != 0)
        k++;
    if (k == TLS_MAX_KEYS) {
        snprintf(err, errlen,
                 "listen \"%s\": certificate file %s: too many keys for one name set",
                 addr, l->conf->cert);
        return -1;
    }
    char why[256];
    if (!SSL_CTX_use_certificate(s->ctx, l->cert) ||
        !SSL_CTX_use_PrivateKey(s->ctx, l->key)) {
        snprintf(err, errlen, "listen \"%s\": certificate file %s: %s", addr,
                 l->conf->cert, tls_ssl_error(why, sizeof why));
        return -1;
    }
    /* the chain goes with the key just set (SSL_CTX_use_certificate made it current) */
    for (int i = 0; i < sk_X509_num(l->chain); i++)
        if (!SSL_CTX_add1_chain_cert(s->ctx, sk_X509_value(l->chain, i))) {
            snprintf(err, errlen, "listen \"%s\": certificate file %s: chain: %s", addr,
                     l->conf->cert, tls_ssl_error(why, sizeof why));
            return -1;
        }
    if (l->conf->ocsp) {
        s->ocsp[k] = tls_ocsp_load(l->conf->ocsp, l->cert, issuer_in(l->chain, l->cert),
                                   err, errlen);
        if (s->ocsp[k] == NULL) {
            char inner[512];
            snprintf(inner, sizeof inner, "%s", err);
            snprintf(err, errlen, "listen \"%s\": %s", addr, inner);
            return -1;
        }
        SSL_CTX_set_tlsext_status_cb(s->ctx, tls_ocsp_status_cb);
        SSL_CTX_set_tlsext_status_arg(s->ctx, s);
    }
    X509_up_ref(l->cert);
    s->certs[k] = l->cert;
    s->key_types[k] = l->type;
    if (s->first_file == NULL) s->first_file = l->conf->cert;
    return 0;
}

/* The set entry l joins: one with the same names lacking its key type, or a new one. */
static int place(struct tls_site *site, struct loaded *l, size_t idx,
                 const struct tls_settings *set, const struct client_ca *ca, char *err,
                 size_t errlen)
{
    const struct tls_listener_conf *lc = site->conf;
    for (size_t i = 0; i < site->nsets; i++) {
        struct tls_certset *s = &site->sets[i];
        if (!same_names(l, s)) continue;
        int clash = 0;
        for (int k = 0; k < TLS_MAX_KEYS; k++)
            clash |= s->key_types[k] == l->type;
        if (clash) {
            snprintf(err, errlen,
                     "listen \"%s\": certificates %s and %s have the same names and both "
                     "%s keys: "
                     "only one of them could ever be chosen",
                     lc->address, s->first_file, l->conf->cert, key_type_name(l->type));
            return -1;
        }
        return add_to_set(s, l, lc->address, err, errlen);
    }
    struct tls_certset *s = &site->sets[site->nsets];
    memset(s, 0, sizeof *s);
    if ((s->ctx = make_ctx(lc, set, ca, err, errlen)) == NULL) return -1;
    site->nsets++;
    /* the names move to the set */
    s->names = l->names;
    s->nnames = l->nnames;
    l->names = NULL;
    l->nnames = 0;
    (void)idx;
    return add_to_set(s, l, lc->address, err, errlen);
}

static void site_free(struct tls_site *site)
{
    for (size_t i = 0; i < site->nsets; i++) {
        struct tls_certset *s = &site->sets[i];
        SSL_CTX_free(s->ctx);
        for (int k = 0; k < TLS_MAX_KEYS; k++) {
            X509_free(s->certs[k]);
            tls_ocsp_free(s->ocsp[k]);
        }
        for (size_t j = 0; j < s->nnames; j++)
            free(s->names[j]);
        free(s->names);
    }
    free(site->sets);
    tls_names_free(&site->names);
    tls_listener_conf_free(site->conf);
    free(site);
}

struct tls_site *tls_site_new(struct tls_listener_conf *lc,
                              const struct tls_settings *set, char *err, size_t errlen)
{
    struct tls_site *site = calloc(1, sizeof *site);
    struct loaded *l = calloc(lc->ncerts, sizeof *l);
    struct client_ca ca = {NULL, NULL};
    int rc = -1;
    if (site == NULL || l == NULL ||
        (site->sets = calloc(lc->ncerts, sizeof *site->sets)) == NULL) {
        snprintf(err, errlen, "out of memory");
        free(site ? site->sets : NULL);
        free(site);
        free(l);
        tls_listener_conf_free(lc);
        return NULL;
    }
    site->refs = 1;
    site->conf = lc;
    /* none when nothing could ever resume it */
    site->tickets = set->tickets || set->session_cache > 0 ? 1 : 0;
    if (lc->client_ca && load_client_ca(lc, &ca, err, errlen) != 0) goto out;
    for (size_t i = 0; i < lc->ncerts; i++)
        if (load_entry(&lc->certs[i], &l[i], lc->address, err, errlen) != 0) goto out;
    for (size_t i = 0; i < lc->ncerts; i++)
        if (place(site, &l[i], i, set, &ca, err, errlen) != 0) goto out;
    for (size_t i = 0; i < site->nsets; i++)
        for (size_t j = 0; j < site->sets[i].nnames; j++)
            if (tls_names_add(&site->names, site->sets[i].names[j], (unsigned)i) != 0) {
                snprintf(err, errlen, "out of memory");
                goto out;
            }
    tls_names_finish(&site->names);
    rc = 0;
out:
    for (size_t i = 0; i < lc->ncerts; i++)
        loaded_free(&l[i]);
    free(l);
    X509_STORE_free(ca.store);
    sk_X509_NAME_pop_free(ca.names, X509_NAME_free);
    ERR_clear_error();
    if (rc != 0) {
        site_free(site);
        return NULL;
    }
    return site;
}

void tls_site_ref(struct tls_site *s)
{
    s->refs++;
}

void tls_site_unref(struct tls_site *s)
{
    if (s != NULL && --s->refs == 0) site_free(s);
}

void tls_site_refresh_ocsp(struct tls_site *site)
{
    for (size_t i = 0; i < site->nsets; i++)
        for (int k = 0; k < TLS_MAX_KEYS; k++)
            if (site->sets[i].ocsp[k]) tls_ocsp_refresh(site->sets[i].ocsp[k]);
}
