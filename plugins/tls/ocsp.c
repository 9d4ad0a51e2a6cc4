/* OCSP stapling from response files (DER, as `openssl ocsp -respout` writes
 * them, fetched by whatever the operator runs from cron). A response is
 * checked when read: successful, for this certificate (when its issuer is in
 * the chain), and current; one that fails keeps the previous one in place.
 * Each worker looks at the files' modification times every ocsp_refresh
 * seconds and re-reads the ones that changed. */
#include "tls.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define OCSP_MAX_BYTES (1 << 20)

static int64_t mtime_of(const char *file)
{
    struct stat st;
    if (stat(file, &st) != 0) return -1;
    return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

/* Reads and checks file: 0 with *der and *len, or -1 with a reason; -2 when
 * the file is a response but not one to staple now (out of date, revoked,
 * about another certificate), which a later refresh may mend. */
static int read_response(const char *file, X509 *cert, X509 *issuer, unsigned char **der,
                         long *len, char *err, size_t errlen)
{
    FILE *f = fopen(file, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "ocsp file %s: cannot read: %m", file);
        return -1;
    }
    unsigned char *buf = malloc(OCSP_MAX_BYTES);
    size_t n = buf ? fread(buf, 1, OCSP_MAX_BYTES, f) : 0;
    fclose(f);
    if (buf == NULL || n == 0 || n == OCSP_MAX_BYTES) {
        snprintf(err, errlen, "ocsp file %s: %s", file,
                 buf == NULL ? "out of memory"
                 : n == 0    ? "empty"
                             : "larger than 1 MiB");
        free(buf);
        return -1;
    }
    const unsigned char *p = buf;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)n);
    OCSP_BASICRESP *basic = resp ? OCSP_response_get1_basic(resp) : NULL;
    const char *why = NULL;
    int rc = -1;
    if (resp == NULL)
        why = "not a DER OCSP response";
    else if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
        why = "the responder did not answer \"successful\"";
    else if (basic == NULL)
        why = "no basic response in it";
    if (why == NULL && issuer != NULL) {
        rc = -2;
        OCSP_CERTID *id = OCSP_cert_to_id(NULL, cert, issuer);
        int status = -1, reason;
        ASN1_GENERALIZEDTIME *thisupd = NULL, *nextupd = NULL;
        if (id == NULL ||
            !OCSP_resp_find_status(basic, id, &status, &reason, NULL, &thisupd, &nextupd))
            why = "it is not about this certificate";
        else if (status == V_OCSP_CERTSTATUS_REVOKED)
            why = "it says the certificate is revoked";
        else if (!OCSP_check_validity(thisupd, nextupd, 300, -1))
            why = "it is out of date (nextUpdate has passed)";
        OCSP_CERTID_free(id);
    }
    OCSP_BASICRESP_free(basic);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
    if (why != NULL) {
        snprintf(err, errlen, "ocsp file %s: %s", file, why);
        free(buf);
        return rc;
    }
    *der = buf;
    *len = (long)n;
    return 0;
}

struct tls_ocsp *tls_ocsp_load(const char *file, X509 *cert, X509 *issuer, char *err,
                               size_t errlen)
{
    struct tls_ocsp *o = calloc(1, sizeof *o);
    if (o == NULL || (o->file = strdup(file)) == NULL) {
        free(o);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    o->mtime_ns = mtime_of(file);
    int rc = read_response(file, cert, issuer, &o->der, &o->len, err, errlen);
    if (rc == -1) { /* not an OCSP response at all: a configuration error */
        tls_ocsp_free(o);
        return NULL;
    }
    if (rc == -2 && tls_api->worker_id() < 0) /* stapled once the file is right */
        tls_log(FOYER_LOG_WARNING, "%s: nothing stapled until it is replaced", err);
    X509_up_ref(cert);
    o->cert = cert;
    if (issuer) X509_up_ref(issuer);
    o->issuer = issuer;
    return o;
}

void tls_ocsp_refresh(struct tls_ocsp *o)
{
    int64_t m = mtime_of(o->file);
    if (m == o->mtime_ns) return;
    char err[512];
    unsigned char *der;
    long len;
    o->mtime_ns = m;
    if (read_response(o->file, o->cert, o->issuer, &der, &len, err, sizeof err) != 0) {
        if (tls_api->worker_id() <= 0)
            tls_log(FOYER_LOG_WARNING, "%s: the previous response stays stapled", err);
        return;
    }
    free(o->der);
    o->der = der;
    o->len = len;
    if (tls_api->worker_id() <= 0)
        tls_log(FOYER_LOG_NOTICE, "ocsp file %s re-read", o->file);
}

void tls_ocsp_free(struct tls_ocsp *o)
{
    if (o == NULL) return;
    free(o->file);
    free(o->der);
    X509_free(o->cert);
    X509_free(o->issuer);
    free(o);
}

/* Called when a client asks for stapling, once the certificate is chosen. */
int tls_ocsp_status_cb(SSL *ssl, void *arg)
{
    const struct tls_certset *s = arg;
    X509 *cert = SSL_get_certificate(ssl);
    for (int k = 0; k < TLS_MAX_KEYS; k++) {
        const struct tls_ocsp *o = s->ocsp[k];
        if (s->certs[k] != cert || o == NULL || o->der == NULL) continue;
        unsigned char *copy =
            OPENSSL_memdup(o->der, (size_t)o->len); /* OpenSSL frees it */
        if (copy == NULL || !SSL_set_tlsext_status_ocsp_resp(ssl, copy, o->len)) {
            OPENSSL_free(copy);
            return SSL_TLSEXT_ERR_NOACK;
        }
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;
}
