/* The connection transport over OpenSSL: foyer reads and writes through
 * these ops as through read(2)/writev(2).
 *
 * The handshake needs no call of its own: the first read (SSL_read on a
 * server SSL in accept state) drives it, WANT_READ/WANT_WRITE become EAGAIN
 * plus want(), and foyer waits on the socket accordingly. Anything that is
 * not TLS (plain HTTP on the port, garbage, a failed client certificate)
 * makes read fail: foyer closes the connection, the reason is logged at
 * debug level and counted (tls.failed, tls.plaintext).
 *
 * Writes: each SSL_write carries one record of at most 16 KiB. Small iovecs
 * (a response head, chunk lines) are copied into one record with what
 * follows; a large one is written in place. When a write would block,
 * OpenSSL holds the encrypted record and must be called again with the same
 * bytes: the next writev starts where this one stopped (foyer's queue keeps
 * them), so the retry rebuilds exactly `retry_len` bytes.
 *
 * The socket is reached through a BIO of our own (a socket BIO otherwise)
 * that can hold back what OpenSSL writes while it is in a post-handshake
 * exchange: the TLS 1.3 session ticket, asked for when the handshake is
 * done, leaves with the first response in one write(2) instead of one of
 * its own. Held bytes always go out with the next record, and a write that
 * cannot send them reports WANT_WRITE, so OpenSSL comes back for them. */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define TLS_RECORD 16384

/* HOLD: writes made while OpenSSL is in a post-handshake exchange wait for
 * the next record (see above) */
enum { HS_DONE = 1, FATAL = 2, SHUT_SENT = 4, PEER_EOF = 8, HOLD = 16, RENEW = 32 };

#define HOLD_MAX 4096 /* a ticket is about 300 bytes */

enum { INFO_SUBJECT, INFO_SAN, INFO_VERIFY, INFO_ALPN, INFO_N };

struct tls_conn {
    SSL *ssl;
    struct tls_site *site;   /* a client's connection to a listener, or */
    struct tls_upstream *up; /* foyer's connection to an upstream */
    unsigned endpoint;       /* (upstream) the endpoint index, for its sessions */
    int fd;                  /* (client) the socket, for our BIO */
    char *error;             /* why the connection failed, once it did */
    char **info;             /* INFO_N strings made on demand, freed at close */
    unsigned char *held;     /* (client) bytes OpenSSL wrote, not yet sent */
    uint16_t retry_len;      /* a write to repeat with exactly this many bytes */
    uint16_t held_len;
    uint8_t want; /* FOYER_WANT_READ / FOYER_WANT_WRITE */
    uint8_t flags;
};

static unsigned char coalesce[TLS_RECORD]; /* one thread per worker */

/* ---- the socket BIO of client connections ---- */

static BIO_METHOD *sock_method; /* made once per process, never freed */
static int sock_type;

/* Keeps n more bytes back; -1 when they are too many (then sent at once). */
static int hold(struct tls_conn *c, const void *in, size_t n)
{
    if (c->held_len + n > HOLD_MAX) return -1;
    unsigned char *p = realloc(c->held, c->held_len + n);
    if (p == NULL) return -1;
    memcpy(p + c->held_len, in, n);
    c->held = p;
    c->held_len = (uint16_t)(c->held_len + n);
    return 0;
}

/* Sends the held bytes, then in[0..n): the count of in's bytes sent, or -1
 * (a retry flag set when the socket is full: held bytes still unsent keep
 * in back, OpenSSL writes it again). */
static int send_with_held(BIO *b, struct tls_conn *c, const void *in, size_t n)
{
    struct iovec iov[2] = {{c->held, c->held_len}, {(void *)in, n}};
    int first = c->held_len ? 0 : 1;
    ssize_t w = writev(c->fd, iov + first, 2 - first);
    if (w < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            BIO_set_retry_write(b);
        return -1;
    }
    if ((size_t)w < c->held_len) {
        memmove(c->held, c->held + w, c->held_len - (size_t)w);
        c->held_len = (uint16_t)(c->held_len - (size_t)w);
        BIO_set_retry_write(b);
        return -1;
    }
    w -= c->held_len;
    free(c->held);
    c->held = NULL;
    c->held_len = 0;
    c->flags &= (uint8_t)~HOLD; /* the ticket is out: later writes go at once */
    if (w == 0 && n > 0) {
        BIO_set_retry_write(b);
        return -1;
    }
    return (int)w;
}

static int sock_write(BIO *b, const char *in, int len)
{
    struct tls_conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if ((c->flags & HOLD) && SSL_in_init(c->ssl) && hold(c, in, (size_t)len) == 0)
        return len;
    return send_with_held(b, c, in, (size_t)len);
}

static int sock_read(BIO *b, char *out, int len)
{
    struct tls_conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n = read(c->fd, out, (size_t)len);
    if (n > 0) return (int)n;
    if (n == 0)
        BIO_set_flags(b, BIO_FLAGS_IN_EOF);
    else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        BIO_set_retry_read(b);
    return (int)n;
}

static long sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    struct tls_conn *c = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH: /* OpenSSL's, after a handshake message */
        if (c->held_len == 0 || ((c->flags & HOLD) && SSL_in_init(c->ssl))) return 1;
        BIO_clear_retry_flags(b);
        return send_with_held(b, c, NULL, 0) == 0 ? 1 : 0;
    case BIO_CTRL_EOF: /* SSL_OP_IGNORE_UNEXPECTED_EOF asks */
        return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    case BIO_C_GET_FD:
        if (ptr != NULL) *(int *)ptr = c->fd;
        return c->fd;
    case BIO_CTRL_DUP:
        return 1;
    default:
        return 0;
    }
}

static int sock_method_init(void)
{
    if (sock_method != NULL) return 0;
    int type = BIO_get_new_index();
    BIO_METHOD *m = type > 0
                        ? BIO_meth_new(type | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                       "foyer socket")
                        : NULL;
    if (m == NULL || !BIO_meth_set_write(m, sock_write) ||
        !BIO_meth_set_read(m, sock_read) || !BIO_meth_set_ctrl(m, sock_ctrl)) {
        BIO_meth_free(m);
        return -1;
    }
    sock_type = type | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR;
    sock_method = m;
    return 0;
}

/* The BIO also leads from the SSL to the connection (no ex_data per SSL). */
static int set_sock(SSL *ssl, struct tls_conn *c, int fd)
{
    BIO *b = sock_method_init() == 0 ? BIO_new(sock_method) : NULL;
    if (b == NULL) return 0;
    c->fd = fd;
    BIO_set_data(b, c);
    BIO_set_init(b, 1);
    SSL_set_bio(ssl, b, b);
    return 1;
}

static struct tls_conn *conn_of(SSL *ssl)
{
    BIO *b = SSL_get_rbio(ssl);
    if (b != NULL && sock_type != 0 && BIO_method_type(b) == sock_type)
        return BIO_get_data(b);
    return SSL_get_app_data(ssl); /* an upstream connection */
}

void *tls_conn_new(struct tls_site *site, int fd)
{
    struct tls_conn *c = calloc(1, sizeof *c);
    SSL *ssl = c ? SSL_new(site->sets[0].ctx) : NULL;
    if (ssl == NULL || !set_sock(ssl, c, fd)) {
        char why[256];
        tls_log(FOYER_LOG_ERROR, "listen \"%s\": cannot make a TLS connection: %s",
                site->conf->address, tls_ssl_error(why, sizeof why));
        SSL_free(ssl);
        free(c);
        return NULL;
    }
    SSL_set_accept_state(ssl);
    c->ssl = ssl;
    c->site = site;
    c->want = FOYER_WANT_READ;
    tls_site_ref(site);
    return c;
}

void *tls_conn_new_upstream(struct tls_upstream *up, unsigned endpoint, int fd)
{
    struct tls_conn *c = calloc(1, sizeof *c);
    SSL *ssl = c ? SSL_new(up->ctx) : NULL;
    if (ssl == NULL || !SSL_set_fd(ssl, fd) ||
        tls_upstream_prepare(up, endpoint, ssl) != 0) {
        char why[256];
        tls_log(FOYER_LOG_ERROR, "service \"%s\": cannot make a TLS connection: %s",
                up->service, tls_ssl_error(why, sizeof why));
        SSL_free(ssl);
        free(c);
        return NULL;
    }
    SSL_set_connect_state(ssl);
    SSL_set_app_data(ssl, c);
    c->ssl = ssl;
    c->up = up;
    c->endpoint = endpoint;
    c->want = FOYER_WANT_WRITE; /* the client speaks first */
    tls_upstream_ref(up);
    return c;
}

struct tls_site *tls_conn_site(SSL *ssl)
{
    struct tls_conn *c = conn_of(ssl);
    return c ? c->site : NULL;
}

struct tls_upstream *tls_conn_upstream(SSL *ssl, unsigned *endpoint)
{
    struct tls_conn *c = conn_of(ssl);
    if (c == NULL) return NULL;
    *endpoint = c->endpoint;
    return c->up;
}

static void peer_text(int fd, char *out, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
            port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
            port = ntohs(a->sin6_port);
        }
    }
    snprintf(out, len, ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip, port);
}

/* An upstream's failure is the operator's business: a warning naming the
 * service and the endpoint, and the reason kept for the core's 502. */
static void upstream_failure(struct tls_conn *c, int fd, const char *why, int handshake)
{
    char peer[64];
    peer_text(fd, peer, sizeof peer);
    TLS_COUNT(upstream_failed);
    free(c->error);
    size_t len = strlen(why) + 32;
    if ((c->error = malloc(len)) != NULL)
        snprintf(c->error, len, "TLS %s: %s", handshake ? "handshake" : "connection",
                 why);
    tls_log(FOYER_LOG_WARNING, "upstream %s (service \"%s\"): TLS %s failed: %s", peer,
            c->up->service, handshake ? "handshake" : "connection", why);
}

/* A fatal error: counted, logged at debug level with the peer and the reason. */
static void log_failure(struct tls_conn *c, int fd, int sys_errno)
{
    unsigned long e = ERR_peek_error();
    int reason = ERR_GET_REASON(e);
    int plaintext = e != 0 && ERR_GET_LIB(e) == ERR_LIB_SSL &&
                    (reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST);
    int handshake = !(c->flags & HS_DONE);
    if (handshake && c->site) {
        TLS_COUNT(failed);
        if (plaintext) TLS_COUNT(plaintext);
    }
    char why[256], peer[64];
    if (e != 0) {
        const char *r = ERR_reason_error_string(e);
        snprintf(why, sizeof why, "%s", r ? r : "error");
        if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED &&
            SSL_get_verify_result(c->ssl) != X509_V_OK)
            snprintf(why + strlen(why), sizeof why - strlen(why), " (%s)",
                     X509_verify_cert_error_string(SSL_get_verify_result(c->ssl)));
    } else if (sys_errno != 0) {
        snprintf(why, sizeof why, "%s", strerror(sys_errno));
    } else {
        snprintf(why, sizeof why, "connection closed");
    }
    ERR_clear_error();
    if (c->up != NULL) {
        upstream_failure(c, fd, why, handshake);
        return;
    }
    peer_text(fd, peer, sizeof peer);
    tls_log(FOYER_LOG_TRACE, "%s from %s on %s failed: %s%s",
            handshake ? "handshake" : "connection", peer, c->site->conf->address, why,
            plaintext ? " (plain HTTP sent to a TLS port: connection closed)" : "");
}

static void handshake_done(struct tls_conn *c)
{
    c->flags |= HS_DONE;
    if (c->up != NULL) {
        TLS_COUNT(upstream_handshakes);
        if (SSL_session_reused(c->ssl)) TLS_COUNT(upstream_resumed);
        return;
    }
    TLS_COUNT(handshakes);
    if (SSL_session_reused(c->ssl)) TLS_COUNT(resumed);
    /* the TLS 1.3 ticket goes with the first response (the SSL_CTX issues
     * none by itself): after a full handshake, or a resumption by a ticket
     * of an older key (as OpenSSL would) */
    if (c->site->tickets && SSL_version(c->ssl) == TLS1_3_VERSION &&
        (!SSL_session_reused(c->ssl) || (c->flags & RENEW)) &&
        SSL_new_session_ticket(c->ssl))
        c->flags |= HOLD;
}

void tls_conn_ticket_renew(SSL *ssl)
{
    struct tls_conn *c = conn_of(ssl);
    if (c != NULL) c->flags |= RENEW;
}

/* Writing the ticket made OpenSSL set up a 16 KiB read buffer that nothing
 * empties (RELEASE_BUFFERS frees it after a read): an idle connection would
 * keep it. Given back unless it holds input not yet read. */
static void ticket_sent(struct tls_conn *c)
{
    if (!SSL_has_pending(c->ssl)) SSL_free_buffers(c->ssl);
}

/* Turns a failed SSL call into read(2)/writev(2) terms. */
static ssize_t io_result(struct tls_conn *c, int fd, int ret)
{
    int sys_errno = errno;
    switch (SSL_get_error(c->ssl, ret)) {
    case SSL_ERROR_WANT_READ:
        c->want = FOYER_WANT_READ;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        c->want = FOYER_WANT_WRITE;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN: /* close_notify, or EOF (SSL_OP_IGNORE_UNEXPECTED_EOF) */
        c->flags |= PEER_EOF;
        if (!(c->flags & HS_DONE)) {
            log_failure(c, fd, 0);
            c->flags |= FATAL;
        }
        return 0;
    case SSL_ERROR_SYSCALL:
        c->flags |= FATAL;
        if (!(c->flags & HS_DONE) || ERR_peek_error() != 0) log_failure(c, fd, sys_errno);
        ERR_clear_error();
        errno = sys_errno != 0 && sys_errno != EAGAIN ? sys_errno : ECONNRESET;
        return -1;
    default: /* SSL_ERROR_SSL: a protocol error; OpenSSL sent its alert */
        c->flags |= FATAL;
        log_failure(c, fd, 0);
        errno = EPROTO;
        return -1;
    }
}

static ssize_t tls_read(void *conn, int fd, void *buf, size_t len)
{
    struct tls_conn *c = conn;
    size_t n;
    if (c->flags & FATAL) {
        errno = EPROTO;
        return -1;
    }
    int r = SSL_read_ex(c->ssl, buf, len, &n);
    if (!(c->flags & HS_DONE) && SSL_is_init_finished(c->ssl)) handshake_done(c);
    if (r == 1) return (ssize_t)n;
    return io_result(c, fd, r);
}

static ssize_t tls_writev(void *conn, int fd, const struct iovec *iov, int iovcnt)
{
    struct tls_conn *c = conn;
    size_t total = 0, off = 0;
    int i = 0;
    if (c->flags & FATAL) {
        errno = EPIPE;
        return -1;
    }
    while (i < iovcnt && iov[i].iov_len == 0)
        i++;
    while (i < iovcnt) {
        size_t want = c->retry_len ? c->retry_len : TLS_RECORD;
        size_t here = iov[i].iov_len - off, len = 0;
        const void *p;
        if (here >= want || i + 1 == iovcnt) { /* in place */
            p = (const char *)iov[i].iov_base + off;
            len = here < want ? here : want;
        } else { /* small pieces: one record */
            for (int j = i; j < iovcnt && len < want;) {
                size_t o = j == i ? off : 0, k = iov[j].iov_len - o;
                if (k > want - len) k = want - len;
                memcpy(coalesce + len, (const char *)iov[j].iov_base + o, k);
                len += k;
                j++;
            }
            p = coalesce;
        }
        size_t w = 0;
        uint8_t ticket_due = c->flags & HOLD;
        int r = SSL_write_ex(c->ssl, p, len, &w);
        if (r != 1) {
            int sys_errno = errno;
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                c->retry_len = (uint16_t)len;
                c->want = e == SSL_ERROR_WANT_WRITE ? FOYER_WANT_WRITE : FOYER_WANT_READ;
                if (total > 0) return (ssize_t)total;
                errno = EAGAIN;
                return -1;
            }
            if (total > 0) { /* report what went; the error comes with the next call */
                ERR_clear_error();
                c->flags |= FATAL;
                return (ssize_t)total;
            }
            errno = sys_errno;
            return io_result(c, fd, r) == 0 ? (errno = EPIPE, -1) : -1;
        }
        c->retry_len = 0;
        if (ticket_due && !(c->flags & HOLD)) ticket_sent(c);
        if (!(c->flags & HS_DONE)) handshake_done(c); /* a client's handshake */
        total += w;
        /* advance over w bytes */
        while (w > 0 && i < iovcnt) {
            size_t k = iov[i].iov_len - off;
            if (w < k) {
                off += w;
                w = 0;
            } else {
                w -= k;
                i++;
                off = 0;
            }
        }
        while (i < iovcnt && iov[i].iov_len == 0)
            i++;
    }
    return (ssize_t)total;
}

/* A ticket still due (no read or write since the handshake) would make
 * SSL_shutdown refuse ("shutdown while in init"): it is written (held) first,
 * and leaves with the close_notify. */
static int send_close_notify(struct tls_conn *c)
{
    if (SSL_in_init(c->ssl) && SSL_do_handshake(c->ssl) != 1) return -1;
    return SSL_shutdown(c->ssl) < 0 ? -1 : 0;
}

/* close_notify, best effort (a full socket loses it), then FIN. */
static int tls_shutdown(void *conn, int fd)
{
    struct tls_conn *c = conn;
    if ((c->flags & (HS_DONE | FATAL | SHUT_SENT)) == HS_DONE) {
        c->flags |= SHUT_SENT;
        if (send_close_notify(c) != 0) ERR_clear_error();
    }
    return shutdown(fd, SHUT_WR);
}

static void tls_close(void *conn, int fd)
{
    struct tls_conn *c = conn;
    if ((c->flags & (HS_DONE | FATAL | SHUT_SENT | PEER_EOF)) == HS_DONE &&
        send_close_notify(c) != 0)
        ERR_clear_error();
    /* OpenSSL spoils the session of a connection that did not shut down
     * cleanly; an upstream closing an idle connection is no reason */
    if (c->up != NULL && (c->flags & (HS_DONE | FATAL)) == HS_DONE)
        SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(c->ssl);
    close(fd);
    if (c->info) {
        for (int i = 0; i < INFO_N; i++)
            free(c->info[i]);
        free(c->info);
    }
    free(c->error);
    free(c->held);
    if (c->site) tls_site_unref(c->site);
    if (c->up) tls_upstream_unref(c->up);
    free(c);
}

static int tls_want(void *conn)
{
    return ((struct tls_conn *)conn)->want;
}

/* Decrypted bytes, or (read-ahead) undecrypted ones already off the socket. */
static size_t tls_pending(void *conn)
{
    struct tls_conn *c = conn;
    int n = SSL_pending(c->ssl);
    if (n > 0) return (size_t)n;
    return SSL_has_pending(c->ssl) ? 1 : 0;
}

/* ---- facts for routing ---- */

static char *bio_string(BIO *b)
{
    char *data;
    long len = BIO_get_mem_data(b, &data);
    char *s = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (s) {
        memcpy(s, data, (size_t)len);
        s[len] = '\0';
    }
    BIO_free(b);
    return s;
}

static char *client_subject(X509 *peer)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL) return NULL;
    X509_NAME_print_ex(b, X509_get_subject_name(peer), 0,
                       XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    return bio_string(b);
}

/* "DNS:a.example, email:x@example, URI:spiffe://..., IP:10.0.0.1" */
static char *client_san(X509 *peer)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(peer, NID_subject_alt_name, NULL, NULL);
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL) {
        GENERAL_NAMES_free(gens);
        return NULL;
    }
    int n = 0;
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        const char *type = NULL;
        const ASN1_STRING *s = NULL;
        switch (g->type) {
        case GEN_DNS:
            type = "DNS", s = g->d.dNSName;
            break;
        case GEN_EMAIL:
            type = "email", s = g->d.rfc822Name;
            break;
        case GEN_URI:
            type = "URI", s = g->d.uniformResourceIdentifier;
            break;
        case GEN_IPADD: {
            char ip[INET6_ADDRSTRLEN];
            int len = ASN1_STRING_length(g->d.iPAddress);
            const unsigned char *p = ASN1_STRING_get0_data(g->d.iPAddress);
            if ((len == 4 && inet_ntop(AF_INET, p, ip, sizeof ip)) ||
                (len == 16 && inet_ntop(AF_INET6, p, ip, sizeof ip)))
                BIO_printf(b, "%sIP:%s", n++ ? ", " : "", ip);
            continue;
        }
        default:
            continue;
        }
        BIO_printf(b, "%s%s:%.*s", n++ ? ", " : "", type, ASN1_STRING_length(s),
                   (const char *)ASN1_STRING_get0_data(s));
    }
    GENERAL_NAMES_free(gens);
    ERR_clear_error();
    return bio_string(b);
}

static char *client_verify(struct tls_conn *c, X509 *peer)
{
    if (peer == NULL) return strdup("NONE");
    long r = SSL_get_verify_result(c->ssl);
    if (r == X509_V_OK) return strdup("SUCCESS");
    const char *why = X509_verify_cert_error_string(r);
    char *s = malloc(strlen(why) + 8);
    if (s) sprintf(s, "FAILED:%s", why);
    return s;
}

static char *alpn_text(struct tls_conn *c)
{
    const unsigned char *p;
    unsigned int len;
    SSL_get0_alpn_selected(c->ssl, &p, &len);
    if (len == 0) return NULL;
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, p, len);
        s[len] = '\0';
    }
    return s;
}

static const char *cached(struct tls_conn *c, int slot)
{
    if (c->info == NULL && (c->info = calloc(INFO_N, sizeof *c->info)) == NULL)
        return NULL;
    if (c->info[slot] != NULL) return c->info[slot];
    X509 *peer = slot == INFO_ALPN ? NULL : SSL_get0_peer_certificate(c->ssl);
    switch (slot) {
    case INFO_SUBJECT:
        c->info[slot] = peer ? client_subject(peer) : NULL;
        break;
    case INFO_SAN:
        c->info[slot] = peer ? client_san(peer) : NULL;
        break;
    case INFO_VERIFY:
        c->info[slot] = client_verify(c, peer);
        break;
    case INFO_ALPN:
        c->info[slot] = alpn_text(c);
        break;
    }
    return c->info[slot];
}

static const char *tls_info(void *conn, const char *key)
{
    struct tls_conn *c = conn;
    if (strcmp(key, "scheme") == 0) return "https";
    if (strcmp(key, "error") == 0) return c->error;
    if (!(c->flags & HS_DONE)) return NULL;
    switch (key[0]) {
    case 's':
        if (strcmp(key, "sni") == 0)
            return SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
        break;
    case 'v':
        if (strcmp(key, "version") == 0) return SSL_get_version(c->ssl);
        break;
    case 'c':
        if (strcmp(key, "cipher") == 0) return SSL_get_cipher_name(c->ssl);
        if (strcmp(key, "client_subject") == 0) return cached(c, INFO_SUBJECT);
        if (strcmp(key, "client_san") == 0) return cached(c, INFO_SAN);
        if (strcmp(key, "client_verify") == 0) return cached(c, INFO_VERIFY);
        break;
    case 'a':
        if (strcmp(key, "alpn") == 0) return cached(c, INFO_ALPN);
        break;
    case 'r':
        if (strcmp(key, "reused") == 0) return SSL_session_reused(c->ssl) ? "true" : NULL;
        break;
    }
    return NULL;
}

const struct foyer_transport_ops tls_transport_ops = {
    .size = sizeof(struct foyer_transport_ops),
    .read = tls_read,
    .writev = tls_writev,
    .shutdown = tls_shutdown,
    .close = tls_close,
    .want = tls_want,
    .pending = tls_pending,
    .info = tls_info,
};
