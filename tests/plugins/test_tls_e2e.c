/*
 * End-to-end tests of the TLS plugin (plugins/tls): the real foyer loading
 * the built tls.so, real backends, real TLS clients — OpenSSL's API here
 * (a small blocking client), the `openssl s_client` command and curl.
 *
 * Certificates are made at start by tls_certs.sh with the openssl
 * command (a CA, RSA and ECDSA server certificates for exact and wildcard
 * names, a default one, client certificates, an OCSP response) into a
 * directory removed at the end.
 *
 * SNI (exact, wildcard, default), ECDSA or RSA by the client's offer, TLS 1.2
 * and 1.3, resumption by tickets and by the shared session cache across
 * workers (and after key rotations), ALPN, mTLS required and optional with
 * req.tls seen by the route function, plain HTTP and garbage on the TLS port,
 * handshake timeouts, a reload swapping a certificate under an open
 * keep-alive connection, 1 MiB up and down, curl, OCSP stapling, and the
 * configuration errors.
 *
 * tls.so is found next to $FOYER_BIN: plugins/tls/.libs/tls.so.
 */
#include "../e2e/harness.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define T_MS 5000

static char certs[512]; /* made by main() */

/* ---- files and foyer ----------------------------------------------------- */

/* A command's full path from $PATH (e2e_run execs without searching). */
static char *tool(const char *name)
{
    static char bufs[4][PATH_MAX];
    static int next;
    char *b = bufs[next++ % 4];
    const char *path = getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(b, PATH_MAX, "%.*s/%s", (int)n, path, name);
        if (n > 0 && access(b, X_OK) == 0) return b;
        path += n + (path[n] == ':');
    }
    REQUIREF(false, "%s not found in PATH", name);
    return NULL;
}

/* certs/NAME; the same pointer for the same name, valid to the end. */
static const char *cf(const char *name)
{
    static struct {
        char name[64], path[600];
    } v[64];
    static int n;
    for (int i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0) return v[i].path;
    REQUIRE(n < 64 && strlen(name) < sizeof v[0].name);
    snprintf(v[n].name, sizeof v[n].name, "%s", name);
    snprintf(v[n].path, sizeof v[n].path, "%s/%.60s", certs, name);
    return v[n++].path;
}

/* The route of every test: /tlsinfo answers what req.tls says; anything
 * else goes to the backend "app", with the client certificate's subject and
 * verdict forwarded in request fields. */
static const char *const ROUTE =
    "route(function(req)\n"
    "  local t = req.tls\n"
    "  if req.path == '/tlsinfo' then\n"
    "    local function f(k) return t and t[k] and tostring(t[k]) or '-' end\n"
    "    return { respond = { status = 200, body = 'scheme=' .. req.scheme ..\n"
    "      '|version=' .. f('version') .. '|cipher=' .. f('cipher') .. '|sni=' .. f('sni') ..\n"
    "      '|alpn=' .. f('alpn') .. '|subject=' .. f('client_subject') .. '|san=' ..\n"
    "      f('client_san') .. '|verify=' .. f('client_verify') .. '|reused=' .. f('reused') ..\n"
    "      '|\\n' } }\n"
    "  end\n"
    "  if t and t.client_subject and t.client_subject:find('CN=client one', 1, true) and\n"
    "     req.path == '/who' then\n"
    "    return { respond = { status = 200, body = 'hello client one\\n' } }\n"
    "  end\n"
    "  if t and t.client_subject then\n"
    "    return { service = 'app', request_headers = { set = {\n"
    "      ['X-Client-Subject'] = t.client_subject, ['X-Client-Verify'] = t.client_verify } } }\n"
    "  end\n"
    "  return 'app'\n"
    "end)\n";

struct tfoyer {
    struct e2e_foyer f;
    int tls_port;
};

/* foyer with tls.so: a plain listener (f.port), a TLS one (tls_port) with
 * the given tls table body, a backend service "app", ROUTE. */
static void start(struct tfoyer *t, int workers, const char *plugin_settings, const char *tls,
                  int backend_port, const char *set_extra)
{
    t->tls_port = e2e_free_port();
    e2e_foyer_start(&t->f,
                    "set { workers = %d, log_level = 'debug'%s%s }\n"
                    "plugin 'tls' { path = '%s'%s%s }\n"
                    "listen { '127.0.0.1:%d', tls = { %s } }\n"
                    "service 'app' { endpoints = { '127.0.0.1:%d' } }\n"
                    "%s",
                    workers, *set_extra ? ", " : "", set_extra, e2e_plugin_so("tls"),
                    *plugin_settings ? ", " : "", plugin_settings, t->tls_port, tls, backend_port,
                    ROUTE);
}

/* The usual TLS table: default, RSA + ECDSA for www.example.test, wildcard. */
static const char *std_certs(void)
{
    static char buf[2048];
    snprintf(buf, sizeof buf,
             "certificates = { { cert = '%s', key = '%s' }, { cert = '%s', key = '%s' },"
             " { cert = '%s', key = '%s' }, { cert = '%s', key = '%s' } }",
             cf("default.pem"), cf("default.key"), cf("www-rsa.pem"), cf("www-rsa.key"),
             cf("www-ec.pem"), cf("www-ec.key"), cf("wild.pem"), cf("wild.key"));
    return buf;
}

/* ---- a small blocking TLS client ------------------------------------------ */

struct topts {
    const char *sni;
    bool verify;               /* against the test CA (and sni as the host name) */
    const char *cert, *key;    /* client certificate */
    int min_version, max_version;
    const char *sigalgs;       /* e.g. "ECDSA+SHA256" */
    const char *ciphers;       /* TLS 1.2 cipher list */
    const unsigned char *alpn; /* wire format */
    size_t alpn_len;
    const unsigned char *session; /* DER session to offer */
    int session_len;
    bool no_ticket; /* the client refuses tickets (session-ID resumption) */
};

struct tconn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    char err[256];
    unsigned char session[8192]; /* the latest session (DER) the server gave */
    int session_len;
};

static int tc_index = -1;

static int keep_session(SSL *ssl, SSL_SESSION *sess)
{
    struct tconn *c = SSL_get_ex_data(ssl, tc_index);
    int len = i2d_SSL_SESSION(sess, NULL);
    if (c && SSL_SESSION_is_resumable(sess) && len > 0 && len <= (int)sizeof c->session) {
        unsigned char *p = c->session;
        c->session_len = i2d_SSL_SESSION(sess, &p);
    }
    return 0;
}

static void tc_close(struct tconn *c)
{
    if (c->ssl) {
        SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(c->ssl);
    }
    if (c->ctx) SSL_CTX_free(c->ctx);
    if (c->fd >= 0) close(c->fd);
    c->ssl = NULL;
    c->ctx = NULL;
    c->fd = -1;
    ERR_clear_error();
}

static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {T_MS / 1000, 0};
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Connects and handshakes; false with c->err on failure (c stays closable). */
static bool tc_open(struct tconn *c, int port, const struct topts *o)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    if (tc_index < 0) tc_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (o->min_version) SSL_CTX_set_min_proto_version(c->ctx, o->min_version);
    if (o->max_version) SSL_CTX_set_max_proto_version(c->ctx, o->max_version);
    if (o->sigalgs) REQUIRE(SSL_CTX_set1_sigalgs_list(c->ctx, o->sigalgs));
    if (o->ciphers) REQUIRE(SSL_CTX_set_cipher_list(c->ctx, o->ciphers));
    if (o->alpn) SSL_CTX_set_alpn_protos(c->ctx, o->alpn, (unsigned)o->alpn_len);
    if (o->no_ticket) SSL_CTX_set_options(c->ctx, SSL_OP_NO_TICKET);
    if (o->cert) {
        REQUIRE(SSL_CTX_use_certificate_chain_file(c->ctx, o->cert) == 1);
        REQUIRE(SSL_CTX_use_PrivateKey_file(c->ctx, o->key, SSL_FILETYPE_PEM) == 1);
    }
    if (o->verify) {
        REQUIRE(SSL_CTX_load_verify_locations(c->ctx, cf("ca.pem"), NULL) == 1);
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    }
    SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c->ctx, keep_session);
    c->fd = raw_connect(port);
    if (c->fd < 0) {
        snprintf(c->err, sizeof c->err, "connect: %s", strerror(errno));
        return false;
    }
    c->ssl = SSL_new(c->ctx);
    SSL_set_ex_data(c->ssl, tc_index, c);
    SSL_set_fd(c->ssl, c->fd);
    if (o->sni) SSL_set_tlsext_host_name(c->ssl, o->sni);
    if (o->verify && o->sni) SSL_set1_host(c->ssl, o->sni);
    if (o->session_len > 0) {
        const unsigned char *p = o->session;
        SSL_SESSION *s = d2i_SSL_SESSION(NULL, &p, o->session_len);
        REQUIRE(s != NULL);
        SSL_set_session(c->ssl, s);
        SSL_SESSION_free(s);
    }
    if (SSL_connect(c->ssl) != 1) {
        unsigned long e = ERR_peek_last_error();
        snprintf(c->err, sizeof c->err, "handshake: %s",
                 e ? ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "error"
                   : "connection closed");
        ERR_clear_error();
        return false;
    }
    return true;
}

static bool tc_send(struct tconn *c, const void *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        size_t w;
        if (SSL_write_ex(c->ssl, (const char *)p + done, n - done, &w) != 1) {
            ERR_clear_error();
            return false;
        }
        done += w;
    }
    return true;
}

struct tresp {
    int status;
    char head[8192];
    char body[8192]; /* the first bytes */
    uint64_t total, fnv;
    bool close;
};

/* Reads one response framed by Content-Length (or by the close). 1, 0 when
 * closed before any byte, -1 on error. */
static int tc_response(struct tconn *c, struct tresp *r)
{
    char buf[16384];
    size_t have = 0;
    long long need = -1;
    memset(r, 0, sizeof *r);
    r->fnv = E2E_FNV_INIT;
    size_t head_len = 0;
    for (;;) {
        size_t n;
        if (SSL_read_ex(c->ssl, buf, sizeof buf, &n) != 1) {
            int e = SSL_get_error(c->ssl, 0);
            ERR_clear_error();
            if (head_len > 0 && need < 0) return 1; /* framed by the close */
            return have == 0 && (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL) ? 0 : -1;
        }
        size_t off = 0;
        if (head_len == 0) {
            size_t before = have;
            size_t k = n < sizeof r->head - 1 - have ? n : sizeof r->head - 1 - have;
            memcpy(r->head + have, buf, k);
            have += k;
            r->head[have] = '\0';
            char *end = strstr(r->head, "\r\n\r\n");
            if (end == NULL) {
                if (have == sizeof r->head - 1) return -1; /* a head too large */
                continue;
            }
            head_len = (size_t)(end + 4 - r->head);
            off = head_len - before;
            r->head[head_len] = '\0';
            r->status = atoi(r->head + 9);
            char v[64];
            if (e2e_head_field(r->head, "Content-Length", v, sizeof v)) need = atoll(v);
            if (e2e_head_field(r->head, "Connection", v, sizeof v) && !strcasecmp(v, "close"))
                r->close = true;
        }
        size_t body = n - off;
        if (r->total < sizeof r->body - 1) {
            size_t k = body < sizeof r->body - 1 - r->total ? body : sizeof r->body - 1 - r->total;
            memcpy(r->body + r->total, buf + off, k);
        }
        r->fnv = e2e_fnv1a(r->fnv, buf + off, body);
        r->total += body;
        if (need >= 0 && (long long)r->total >= need) return 1;
    }
}

static int tc_get(struct tconn *c, const char *host, const char *path, struct tresp *r)
{
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, host);
    if (!tc_send(c, req, strlen(req))) return -1;
    return tc_response(c, r);
}

/* The peer certificate's subject (one line) and key type name. */
static void peer_info(struct tconn *c, char *subject, size_t len, const char **type)
{
    X509 *x = SSL_get1_peer_certificate(c->ssl);
    subject[0] = '\0';
    *type = "none";
    if (x == NULL) return;
    X509_NAME_oneline(X509_get_subject_name(x), subject, (int)len);
    int t = EVP_PKEY_get_base_id(X509_get0_pubkey(x));
    *type = t == EVP_PKEY_EC ? "EC" : t == EVP_PKEY_RSA ? "RSA" : "other";
    X509_free(x);
}

/* One handshake; the certificate's subject in out ("" when it failed). */
static bool subject_for(int port, const struct topts *o, char *out, size_t len, const char **type)
{
    struct tconn c;
    bool ok = tc_open(&c, port, o);
    if (ok) peer_info(&c, out, len, type);
    else {
        snprintf(out, len, "%s", c.err);
        *type = "none";
    }
    tc_close(&c);
    return ok;
}

/* GET /tlsinfo on a fresh connection: the route's view of req.tls. */
static bool tlsinfo(int port, const struct topts *o, char *out, size_t len)
{
    struct tconn c;
    struct tresp r;
    out[0] = '\0';
    bool ok = tc_open(&c, port, o) && tc_get(&c, "www.example.test", "/tlsinfo", &r) == 1 &&
              r.status == 200;
    const char *text = ok ? r.body : c.err;
    size_t n = strlen(text) < len - 1 ? strlen(text) : len - 1;
    memcpy(out, text, n);
    out[n] = '\0';
    tc_close(&c);
    return ok;
}

static const unsigned char ALPN_H2_H11[] = "\x02h2\x08http/1.1";
static const unsigned char ALPN_H2[] = "\x02h2";

/* ---- cases ------------------------------------------------------------------ */

E2E_TEST(sni_picks_certificate, 60)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct tfoyer t;
    start(&t, 1, "", std_certs(), b.port, "");
    static const struct {
        const char *sni, *want;
    } cases[] = {
        {"www.example.test", "/CN=www.example.test"},  /* exact (RSA or ECDSA set) */
        {"example.test", "/CN=www.example.test"},      /* another SAN of it */
        {"WWW.EXAMPLE.TEST", "/CN=www.example.test"},  /* names are case-blind */
        {"a.wild.test", "/CN=*.wild.test"},            /* wildcard */
        {"a.b.wild.test", "/CN=default.test"},         /* one label only: default */
        {"wild.test", "/CN=default.test"},             /* not the bare parent */
        {"unknown.test", "/CN=default.test"},          /* default */
        {NULL, "/CN=default.test"},                    /* no SNI at all */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char subject[512];
        const char *type = "none";
        struct topts o = {.sni = cases[i].sni};
        CHECKF(subject_for(t.tls_port, &o, subject, sizeof subject, &type) &&
                   strstr(subject, cases[i].want) != NULL,
               "SNI %s: got certificate %s, wanted %s", cases[i].sni ? cases[i].sni : "(none)",
               subject, cases[i].want);
    }
    /* verified as a browser would: chain to the CA, host name matches */
    char subject[512];
    const char *type = "none";
    struct topts v = {.sni = "www.example.test", .verify = true};
    CHECKF(subject_for(t.tls_port, &v, subject, sizeof subject, &type), "verified handshake: %s",
           subject);
    v.sni = "x.wild.test";
    CHECKF(subject_for(t.tls_port, &v, subject, sizeof subject, &type),
           "verified wildcard handshake: %s", subject);
    /* and with openssl s_client -showcerts */
    char port[16], out[65536];
    snprintf(port, sizeof port, "127.0.0.1:%d", t.tls_port);
    char *argv[] = {tool("openssl"), "s_client", "-connect", port, "-servername", "b.wild.test",
                    "-showcerts", NULL};
    int rc = e2e_run(argv, out, sizeof out, T_MS);
    CHECKF(rc == 0 && strstr(out, "CN = *.wild.test") != NULL, "s_client -servername b.wild.test: %d %.400s",
           rc, out);
    e2e_foyer_stop(&t.f, T_MS);
}

E2E_TEST(ecdsa_or_rsa_by_client_offer, 60)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct tfoyer t;
    start(&t, 1, "", std_certs(), b.port, "");
    static const struct {
        const char *what, *sigalgs, *ciphers, *type;
        int max;
    } cases[] = {
        {"TLS 1.3, ECDSA signatures", "ECDSA+SHA256", NULL, "EC", 0},
        {"TLS 1.3, RSA signatures", "RSA-PSS+SHA256:RSA+SHA256", NULL, "RSA", 0},
        {"TLS 1.2, ECDHE-ECDSA", NULL, "ECDHE-ECDSA-AES128-GCM-SHA256", "EC", TLS1_2_VERSION},
        {"TLS 1.2, ECDHE-RSA", NULL, "ECDHE-RSA-AES128-GCM-SHA256", "RSA", TLS1_2_VERSION},
        {"TLS 1.3, anything", NULL, NULL, NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char subject[512];
        const char *type = "none";
        struct topts o = {.sni = "www.example.test", .sigalgs = cases[i].sigalgs,
                          .ciphers = cases[i].ciphers, .max_version = cases[i].max};
        bool ok = subject_for(t.tls_port, &o, subject, sizeof subject, &type);
        CHECKF(ok && strstr(subject, "CN=www.example.test") &&
                   (cases[i].type == NULL || strcmp(type, cases[i].type) == 0),
               "%s: got %s key, certificate %s", cases[i].what, type, subject);
    }
    /* an ECDSA-only client against a listener with only an RSA certificate fails */
    e2e_foyer_stop(&t.f, T_MS);
    char tls[1024];
    snprintf(tls, sizeof tls, "certificates = { { cert = '%s', key = '%s' } }", cf("www-rsa.pem"),
             cf("www-rsa.key"));
    start(&t, 1, "", tls, b.port, "");
    char subject[512];
    const char *type = "none";
    struct topts o = {.sni = "www.example.test", .sigalgs = "ECDSA+SHA256"};
    CHECKF(!subject_for(t.tls_port, &o, subject, sizeof subject, &type),
           "ECDSA-only client, RSA-only server: handshake succeeded with %s", type);
    e2e_foyer_stop(&t.f, T_MS);
}

E2E_TEST(versions_and_alpn, 60)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct tfoyer t;
    start(&t, 1, "", std_certs(), b.port, "");
    char info[1024];
    struct topts o13 = {.sni = "www.example.test", .min_version = TLS1_3_VERSION,
                        .alpn = ALPN_H2_H11, .alpn_len = sizeof ALPN_H2_H11 - 1};
    CHECKF(tlsinfo(t.tls_port, &o13, info, sizeof info) && strstr(info, "version=TLSv1.3|") &&
               strstr(info, "scheme=https|") && strstr(info, "alpn=http/1.1|") &&
               strstr(info, "sni=www.example.test|") && strstr(info, "cipher=TLS_"),
           "TLS 1.3: %s", info);
    struct topts o12 = {.sni = "www.example.test", .max_version = TLS1_2_VERSION};
    CHECKF(tlsinfo(t.tls_port, &o12, info, sizeof info) && strstr(info, "version=TLSv1.2|") &&
               strstr(info, "cipher=ECDHE-") && strstr(info, "alpn=-|"),
           "TLS 1.2: %s", info);
    /* only h2 offered: refused (no_application_protocol), as nginx does */
    struct topts h2 = {.sni = "www.example.test", .alpn = ALPN_H2, .alpn_len = sizeof ALPN_H2 - 1};
    CHECKF(!tlsinfo(t.tls_port, &h2, info, sizeof info), "ALPN h2 only: accepted: %s", info);
    /* TLS 1.1 is never spoken */
    struct topts o11 = {.sni = "www.example.test", .min_version = TLS1_1_VERSION,
                        .max_version = TLS1_1_VERSION};
    CHECKF(!tlsinfo(t.tls_port, &o11, info, sizeof info), "TLS 1.1 accepted: %s", info);
    e2e_foyer_stop(&t.f, T_MS);
    /* min_version = TLSv1.3 refuses TLS 1.2 */
    char tls[2048];
    snprintf(tls, sizeof tls, "%s, min_version = 'TLSv1.3'", std_certs());
    start(&t, 1, "", tls, b.port, "");
    CHECKF(!tlsinfo(t.tls_port, &o12, info, sizeof info), "TLS 1.2 with min_version 1.3: %s", info);
    CHECKF(tlsinfo(t.tls_port, &o13, info, sizeof info), "TLS 1.3 with min_version 1.3: %s", info);
    e2e_foyer_stop(&t.f, T_MS);
    /* max_version = TLSv1.2 */
    snprintf(tls, sizeof tls, "%s, max_version = 'TLSv1.2'", std_certs());
    start(&t, 1, "", tls, b.port, "");
    struct topts any = {.sni = "www.example.test"};
    CHECKF(tlsinfo(t.tls_port, &any, info, sizeof info) && strstr(info, "version=TLSv1.2|"),
           "max_version TLSv1.2: %s", info);
    e2e_foyer_stop(&t.f, T_MS);
}

/* Sequential connections offering the first one's session: each GET /conn
 * tells which backend connection answered, i.e. which worker (each worker
 * keeps its own upstream connection). */
static void resume_across_workers(int port, const struct topts *base, const char *what)
{
    struct tconn c;
    struct tresp r;
    struct topts o = *base;
    REQUIREF(tc_open(&c, port, &o), "%s: first handshake: %s", what, c.err);
    CHECK(!SSL_session_reused(c.ssl));
    REQUIRE(tc_get(&c, "www.example.test", "/conn", &r) == 1 && r.status == 200);
    char first_conn[64];
    sscanf(r.body, "conn=%63s", first_conn);
    unsigned char sess[8192];
    int len = c.session_len;
    REQUIREF(len > 0, "%s: no session from the first handshake", what);
    memcpy(sess, c.session, (size_t)len);
    tc_close(&c);
    o.session = sess;
    o.session_len = len;
    int reused = 0, elsewhere = 0, n = 24;
    for (int i = 0; i < n; i++) {
        REQUIREF(tc_open(&c, port, &o), "%s: resumption %d: %s", what, i, c.err);
        reused += SSL_session_reused(c.ssl);
        if (tc_get(&c, "www.example.test", "/conn", &r) == 1 && r.status == 200) {
            char conn[64];
            sscanf(r.body, "conn=%63s", conn);
            elsewhere += SSL_session_reused(c.ssl) && strcmp(conn, first_conn) != 0;
        }
        tc_close(&c);
    }
    e2e_log("%s: %d/%d resumed, %d of them by the other worker", what, reused, n, elsewhere);
    CHECKF(reused == n, "%s: %d of %d connections resumed", what, reused, n);
    CHECKF(elsewhere > 0, "%s: no resumption happened on the other worker", what);
}

E2E_TEST(resumption_across_workers, 90)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct tfoyer t;
    start(&t, 2, "", std_certs(), b.port, "");
    struct topts o13 = {.sni = "www.example.test", .min_version = TLS1_3_VERSION};
    resume_across_workers(t.tls_port, &o13, "TLS 1.3 ticket");
    struct topts o12 = {.sni = "www.example.test", .max_version = TLS1_2_VERSION};
    resume_across_workers(t.tls_port, &o12, "TLS 1.2 ticket");
    /* a client refusing tickets resumes by session ID: the shared cache */
    struct topts id12 = {.sni = "www.example.test", .max_version = TLS1_2_VERSION,
                         .no_ticket = true};
    resume_across_workers(t.tls_port, &id12, "TLS 1.2 session ID");
    /* req.tls.reused */
    struct tconn c;
    struct tresp r;
    REQUIRE(tc_open(&c, t.tls_port, &o13));
    REQUIRE(tc_get(&c, "www.example.test", "/tlsinfo", &r) == 1);
    CHECKF(strstr(r.body, "reused=-|") != NULL, "full handshake: %s", r.body);
    unsigned char sess[8192];
    int len = c.session_len;
    memcpy(sess, c.session, (size_t)len);
    tc_close(&c);
    struct topts again = o13;
    again.session = sess;
    again.session_len = len;
    REQUIRE(tc_open(&c, t.tls_port, &again));
    REQUIRE(tc_get(&c, "www.example.test", "/tlsinfo", &r) == 1);
    CHECKF(strstr(r.body, "reused=true|") != NULL, "resumed: %s", r.body);
    tc_close(&c);
    /* openssl s_client -sess_out, then -sess_in: "Reused" */
    char script[2048], out[65536];
    snprintf(script, sizeof script,
             "req='GET /size/10 HTTP/1.1\\r\\nHost: www.example.test\\r\\nConnection: close\\r\\n\\r\\n'\n"
             "printf \"$req\" | openssl s_client -connect 127.0.0.1:%d -servername www.example.test "
             "-ign_eof -sess_out %s 2>&1 | grep -E '^(New|Reused),'\n"
             "for i in 1 2 3 4 5 6; do printf \"$req\" | openssl s_client -connect 127.0.0.1:%d "
             "-servername www.example.test -ign_eof -sess_in %s 2>&1 | grep -E '^(New|Reused),'; done\n",
             t.tls_port, e2e_path("sess.pem"), t.tls_port, e2e_path("sess.pem"));
    char *argv[] = {"/bin/sh", "-c", script, NULL};
    int rc = e2e_run(argv, out, sizeof out, 20000);
    int reused = 0;
    for (char *p = out; (p = strstr(p, "Reused,")) != NULL; p++) reused++;
    CHECKF(rc == 0 && strncmp(out, "New,", 4) == 0 && reused == 6,
           "s_client -sess_out/-sess_in: %d reused: %s", reused, out);
    e2e_foyer_stop(&t.f, T_MS);
}

/* Tickets off: TLS 1.3 stateful tickets name sessions in the shared cache. */
E2E_TEST(session_cache_without_tickets, 60)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct tfoyer t;
    start(&t, 2, "tickets = false", std_certs(), b.port, "");
    struct topts o13 = {.sni = "www.example.test", .min_version = TLS1_3_VERSION};
    resume_across_workers(t.tls_port, &o13, "TLS 1.3 stateful ticket");
    struct topts o12 = {.sni = "www.example.test", .max_version = TLS1_2_VERSION};
    resume_across_workers(t.tls_port, &o12, "TLS 1.2 session ID, tickets off");
    e2e_foyer_stop(&t.f, T_MS);
    /* no tickets and no cache: nothing resumes */
    start(&t, 1, "tickets = false, session_cache = false", std_certs(), b.port, "");
    struct tconn c;
    struct tresp r;
    REQUIRE(tc_open(&c, t.tls_port, &o12));
    REQUIRE(tc_get(&c, "www.example.test", "/size/1", &r) == 1);
    unsigned char sess[8192];
    int len = c.session_len;
    if (len > 0) memcpy(sess, c.session, (size_t)len);
    tc_close(&c);
    struct topts again = o12;
    again.session = sess;
    again.session_len = len;
    if (len > 0) {
        REQUIRE(tc_open(&c, t.tls_port, &again));
        CHECKF(!SSL_session_reused(c.ssl), "resumed with tickets and the cache off");
        tc_close(&c);
    }
    e2e_foyer_stop(&t.f, T_MS);
}

/* Keys rotate every second; a ticket issued two rotations ago still
 * resumes (older keys decrypt), and is renewed. */
E2E_TEST(ticket_key_rotation, 60)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct tfoyer t;
    start(&t, 2, "ticket_key_rotation = 1, session_timeout = 60", std_certs(), b.port, "");
    for (int v = 0; v < 2; v++) {
        struct topts o = {.sni = "www.example.test",
                          .max_version = v ? TLS1_2_VERSION : TLS1_3_VERSION};
        struct tconn c;
        struct tresp r;
        REQUIRE(tc_open(&c, t.tls_port, &o));
        REQUIRE(tc_get(&c, "www.example.test", "/size/1", &r) == 1);
        unsigned char sess[8192];
        int len = c.session_len;
        REQUIRE(len > 0);
        memcpy(sess, c.session, (size_t)len);
        tc_close(&c);
        e2e_sleep_ms(2600);
        o.session = sess;
        o.session_len = len;
        REQUIRE(tc_open(&c, t.tls_port, &o));
        CHECKF(SSL_session_reused(c.ssl), "%s: ticket from 2 rotations ago not accepted",
               v ? "TLS 1.2" : "TLS 1.3");
        REQUIRE(tc_get(&c, "www.example.test", "/size/1", &r) == 1);
        if (v) { /* TLS 1.2: the server sent a new ticket (decrypted with an old key) */
            const unsigned char *p = sess, *old_tick, *new_tick;
            size_t old_len, new_len;
            SSL_SESSION *offered = d2i_SSL_SESSION(NULL, &p, len);
            REQUIRE(offered != NULL);
            SSL_SESSION_get0_ticket(offered, &old_tick, &old_len);
            SSL_SESSION_get0_ticket(SSL_get_session(c.ssl), &new_tick, &new_len);
            CHECKF(new_len > 0 && (new_len != old_len || memcmp(new_tick, old_tick, new_len) != 0),
                   "TLS 1.2: the old ticket was not renewed");
            SSL_SESSION_free(offered);
        }
        tc_close(&c);
    }
    e2e_foyer_stop(&t.f, T_MS);
}

static void mtls_config(char *tls, size_t len, const char *verify)
{
    snprintf(tls, len, "%s, client_ca = '%s'%s%s%s", std_certs(), cf("ca.pem"),
             verify ? ", verify_client = '" : "", verify ? verify : "", verify ? "'" : "");
}

E2E_TEST(mtls_required, 60)
{
    struct e2e_backend b = e2e_backend_start_report("app");
    struct tfoyer t;
    char tls[4096], info[2048];
    mtls_config(tls, sizeof tls, "required");
    start(&t, 1, "", tls, b.port, "");
    struct topts none = {.sni = "www.example.test"};
    CHECKF(!tlsinfo(t.tls_port, &none, info, sizeof info), "no client certificate: accepted");
    struct topts stranger = {.sni = "www.example.test", .cert = cf("stranger.pem"),
                             .key = cf("stranger.key")};
    CHECKF(!tlsinfo(t.tls_port, &stranger, info, sizeof info),
           "certificate of an unknown CA: accepted");
    struct topts good = {.sni = "www.example.test", .cert = cf("client.pem"), .key = cf("client.key")};
    CHECKF(tlsinfo(t.tls_port, &good, info, sizeof info) &&
               strstr(info, "subject=CN=client one,O=foyer tests|") &&
               strstr(info, "verify=SUCCESS|") &&
               strstr(info, "san=DNS:client.example.test, email:client@example.test|"),
           "client one: %s", info);
    /* the route decides on the subject; it can forward it to the backend */
    struct tconn c;
    struct tresp r;
    REQUIRE(tc_open(&c, t.tls_port, &good));
    CHECK(tc_get(&c, "www.example.test", "/who", &r) == 1 && r.status == 200 &&
          strcmp(r.body, "hello client one\n") == 0);
    REQUIRE(tc_get(&c, "www.example.test", "/report", &r) == 1 && r.status == 200);
    CHECKF(strstr(r.body, "\"x-client-subject\":[\"CN=client one,O=foyer tests\"]") &&
               strstr(r.body, "\"x-client-verify\":[\"SUCCESS\"]") &&
               strstr(r.body, "\"x-forwarded-proto\":[\"https\"]"),
           "backend saw: %.600s", r.body);
    tc_close(&c);
    /* the refusals are in the debug log */
    CHECK(e2e_foyer_log_wait(&t.f, "handshake from 127.0.0.1:", T_MS));
    e2e_foyer_stop(&t.f, T_MS);
    /* a CA alone means required */
    mtls_config(tls, sizeof tls, NULL);
    start(&t, 1, "", tls, b.port, "");
    CHECKF(!tlsinfo(t.tls_port, &none, info, sizeof info), "client_ca alone: no certificate accepted");
    CHECKF(tlsinfo(t.tls_port, &good, info, sizeof info), "client_ca alone: %s", info);
    e2e_foyer_stop(&t.f, T_MS);
}

E2E_TEST(mtls_optional, 60)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct tfoyer t;
    char tls[4096], info[2048];
    mtls_config(tls, sizeof tls, "optional");
    start(&t, 1, "", tls, b.port, "");
    struct topts none = {.sni = "www.example.test"};
    CHECKF(tlsinfo(t.tls_port, &none, info, sizeof info) && strstr(info, "verify=NONE|") &&
               strstr(info, "subject=-|"),
           "optional, no certificate: %s", info);
    struct topts stranger = {.sni = "www.example.test", .cert = cf("stranger.pem"),
                             .key = cf("stranger.key")};
    CHECKF(tlsinfo(t.tls_port, &stranger, info, sizeof info) && strstr(info, "verify=FAILED:") &&
               strstr(info, "subject=CN=stranger|"),
           "optional, unknown CA: %s", info);
    struct topts good = {.sni = "www.example.test", .cert = cf("client.pem"), .key = cf("client.key")};
    CHECKF(tlsinfo(t.tls_port, &good, info, sizeof info) && strstr(info, "verify=SUCCESS|"),
           "optional, client one: %s", info);
    /* a resumed session keeps the client's identity */
    struct tconn c;
    struct tresp r;
    REQUIRE(tc_open(&c, t.tls_port, &good));
    REQUIRE(tc_get(&c, "www.example.test", "/tlsinfo", &r) == 1);
    unsigned char sess[8192];
    int len = c.session_len;
    REQUIRE(len > 0);
    memcpy(sess, c.session, (size_t)len);
    tc_close(&c);
    struct topts again = {.sni = "www.example.test", .session = sess, .session_len = len};
    REQUIRE(tc_open(&c, t.tls_port, &again));
    REQUIRE(tc_get(&c, "www.example.test", "/tlsinfo", &r) == 1);
    CHECKF(SSL_session_reused(c.ssl) && strstr(r.body, "reused=true|") &&
               strstr(r.body, "subject=CN=client one,O=foyer tests|") &&
               strstr(r.body, "verify=SUCCESS|"),
           "resumed mTLS session: %s", r.body);
    tc_close(&c);
    e2e_foyer_stop(&t.f, T_MS);
    /* verify_client = "none": no certificate asked for */
    mtls_config(tls, sizeof tls, "none");
    start(&t, 1, "", tls, b.port, "");
    CHECKF(tlsinfo(t.tls_port, &good, info, sizeof info) && strstr(info, "verify=NONE|"),
           "verify_client none: %s", info);
    e2e_foyer_stop(&t.f, T_MS);
}

E2E_TEST(plaintext_and_garbage_closed, 60)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct tfoyer t;
    start(&t, 1, "", std_certs(), b.port, "client_header_timeout = 1");
    static const struct {
        const char *what;
        const char *bytes;
        size_t len;
    } junk[] = {
        {"plain HTTP", "GET / HTTP/1.1\r\nHost: www.example.test\r\n\r\n", 0},
        {"plain CONNECT", "CONNECT x:443 HTTP/1.1\r\n\r\n", 0},
        {"garbage", "\x01\x02\x03\x04 hello there, not TLS at all\r\n\r\n", 0},
        {"a bad record", "\x16\x03\x01\x00\x05hello", 11},
        {"a huge record length", "\x16\x03\x01\xff\xff", 5},
    };
    for (size_t i = 0; i < sizeof junk / sizeof *junk; i++) {
        struct e2e_conn c;
        REQUIRE(e2e_conn_open(&c, t.tls_port));
        size_t len = junk[i].len ? junk[i].len : strlen(junk[i].bytes);
        REQUIRE(e2e_send(&c, junk[i].bytes, len, T_MS));
        bool got_http = e2e_recv_some(&c, 4096, 300) && c.len >= 4 && memcmp(c.buf, "HTTP", 4) == 0;
        CHECKF(!got_http, "%s: answered in plain HTTP", junk[i].what);
        CHECKF(e2e_wait_closed(&c, 3000), "%s: connection not closed", junk[i].what);
        e2e_conn_close(&c);
    }
    /* a client that stops mid-handshake is closed by the header timeout (1 s
     * here; one that says nothing never reaches foyer: TCP_DEFER_ACCEPT) */
    int64_t t0 = e2e_now_ms();
    struct e2e_conn half;
    REQUIRE(e2e_conn_open(&half, t.tls_port));
    REQUIRE(e2e_send(&half, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11, T_MS));
    CHECKF(e2e_wait_closed(&half, T_MS), "half a ClientHello: not closed");
    CHECKF(e2e_now_ms() - t0 >= 800, "half a ClientHello closed after %lld ms, before the timeout",
           (long long)(e2e_now_ms() - t0));
    e2e_conn_close(&half);
    /* foyer keeps serving, TLS and plain */
    char info[1024];
    struct topts o = {.sni = "www.example.test"};
    CHECKF(tlsinfo(t.tls_port, &o, info, sizeof info), "TLS after the junk: %s", info);
    char be[64];
    CHECK_INT(e2e_get(t.f.port, "www.example.test", "/size/10", be, sizeof be), 200);
    CHECKF(e2e_foyer_log_wait(&t.f, "plain HTTP sent to a TLS port", T_MS),
           "no debug line about plain HTTP");
    CHECK(kill(t.f.pid, 0) == 0);
    e2e_foyer_stop(&t.f, T_MS);
}

static bool copy_file(const char *from, const char *to)
{
    char *text = e2e_read_file(from);
    bool ok = text && e2e_write_file(to, text);
    free(text);
    return ok;
}

E2E_TEST(reload_swaps_certificate, 90)
{
    struct e2e_backend b = e2e_backend_start("app");
    REQUIRE(copy_file(cf("www-ec.pem"), e2e_path("site.pem")));
    REQUIRE(copy_file(cf("www-ec.key"), e2e_path("site.key")));
    char tls[2048];
    snprintf(tls, sizeof tls, "certificates = { { cert = '%s', key = '%s' } }",
             e2e_path("site.pem"), e2e_path("site.key"));
    struct tfoyer t;
    start(&t, 1, "", tls, b.port, "");
    struct topts o = {.sni = "www.example.test", .verify = true};
    struct tconn kept;
    struct tresp r;
    REQUIREF(tc_open(&kept, t.tls_port, &o), "%s", kept.err);
    REQUIRE(tc_get(&kept, "www.example.test", "/size/100", &r) == 1 && r.status == 200);
    char subject[512];
    const char *type = "none";
    peer_info(&kept, subject, sizeof subject, &type);
    CHECKF(strstr(subject, "/O=ecdsa/") != NULL, "before the reload: %s", subject);
    /* a certificate that does not match its key: the reload is refused */
    REQUIRE(copy_file(cf("www-v2.pem"), e2e_path("site.pem")));
    REQUIRE(kill(t.f.pid, SIGHUP) == 0);
    CHECKF(e2e_foyer_log_wait(&t.f, "does not match certificate file", 5000),
           "mismatched key: no refusal logged");
    CHECK(subject_for(t.tls_port, &o, subject, sizeof subject, &type) &&
          strstr(subject, "/O=ecdsa/") != NULL);
    /* the right key: the new certificate for new connections */
    REQUIRE(copy_file(cf("www-v2.key"), e2e_path("site.key")));
    REQUIRE(kill(t.f.pid, SIGHUP) == 0);
    REQUIRE(e2e_foyer_log_wait(&t.f, "worker 0: configuration reloaded", 5000));
    int64_t t0 = e2e_now_ms();
    bool swapped = false;
    while (!swapped && e2e_now_ms() - t0 < T_MS) {
        swapped = subject_for(t.tls_port, &o, subject, sizeof subject, &type) &&
                  strstr(subject, "/O=v2/") != NULL;
        if (!swapped) e2e_sleep_ms(50);
    }
    CHECKF(swapped, "after the reload: %s", subject);
    /* the connection made before both reloads goes on, many times */
    for (int i = 0; i < 20; i++) {
        int rc = tc_get(&kept, "www.example.test", "/size/1000", &r);
        if (!CHECKF(rc == 1 && r.status == 200 && r.total == 1000,
                    "request %d on the kept connection: rc %d status %d", i, rc, r.status))
            break;
    }
    tc_close(&kept);
    CHECK(kill(t.f.pid, 0) == 0);
    e2e_foyer_stop(&t.f, T_MS);
}

/* How many times needle is in foyer's stderr. */
static int log_count(const struct e2e_foyer *f, const char *needle)
{
    char *log = e2e_read_file(f->errlog);
    int n = 0;
    for (const char *p = log; p && (p = strstr(p, needle)) != NULL; p++) n++;
    free(log);
    return n;
}

static bool wait_reloads(const struct e2e_foyer *f, int n)
{
    for (int i = 0; i < 250; i++) {
        if (log_count(f, "worker 0: configuration reloaded") >= n) return true;
        e2e_sleep_ms(20);
    }
    return false;
}

/* A reload to a configuration without the plugin: open TLS connections go
 * on (tls.so stays loaded for them); loading it again works. */
E2E_TEST(reload_without_the_plugin, 60)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct tfoyer t;
    start(&t, 1, "", std_certs(), b.port, "");
    char *with_tls = e2e_read_file(t.f.conf);
    REQUIRE(with_tls != NULL);
    struct topts o = {.sni = "www.example.test"};
    struct tconn kept;
    struct tresp r;
    REQUIREF(tc_open(&kept, t.tls_port, &o), "%s", kept.err);
    REQUIRE(tc_get(&kept, "www.example.test", "/size/10", &r) == 1 && r.status == 200);
    char plain[4096];
    snprintf(plain, sizeof plain,
             "listen '127.0.0.1:%d'\nset { workers = 1, log_level = 'debug' }\n"
             "service 'app' { endpoints = { '127.0.0.1:%d' } }\n%s",
             t.f.port, b.port, ROUTE);
    REQUIRE(e2e_write_file(t.f.conf, plain));
    REQUIRE(kill(t.f.pid, SIGHUP) == 0);
    REQUIRE(wait_reloads(&t.f, 1));
    for (int i = 0; i < 5; i++)
        CHECKF(tc_get(&kept, "www.example.test", "/size/10", &r) == 1 && r.status == 200,
               "request %d on the TLS connection after the plugin left", i);
    tc_close(&kept);
    CHECKF(log_count(&t.f, "killed by signal") == 0, "a worker died");
    /* and back */
    REQUIRE(e2e_write_file(t.f.conf, with_tls));
    REQUIRE(kill(t.f.pid, SIGHUP) == 0);
    REQUIRE(wait_reloads(&t.f, 2));
    char info[1024];
    bool ok = E2E_WAIT_UNTIL(tlsinfo(t.tls_port, &o, info, sizeof info), T_MS);
    CHECKF(ok && strstr(info, "scheme=https|"), "TLS after loading the plugin again: %s", info);
    free(with_tls);
    e2e_foyer_stop(&t.f, T_MS);
}

E2E_TEST(one_mebibyte_up_and_down, 60)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct tfoyer t;
    start(&t, 1, "", std_certs(), b.port, "");
    struct topts o = {.sni = "www.example.test"};
    struct tconn c;
    struct tresp r;
    REQUIREF(tc_open(&c, t.tls_port, &o), "%s", c.err);
    const size_t n = 1 << 20;
    /* download */
    REQUIRE(tc_get(&c, "www.example.test", "/size/1048576", &r) == 1);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.total, n);
    CHECKF(r.fnv == e2e_pattern_fnv(n), "download: body differs");
    /* upload, on the same connection */
    char *body = malloc(n);
    REQUIRE(body != NULL);
    for (size_t i = 0; i < n; i++) body[i] = (char)('A' + (i * 7 + i / 1000) % 26);
    char head[256];
    snprintf(head, sizeof head,
             "POST /sink HTTP/1.1\r\nHost: www.example.test\r\nContent-Length: %zu\r\n\r\n", n);
    REQUIRE(tc_send(&c, head, strlen(head)));
    REQUIRE(tc_send(&c, body, n));
    REQUIRE(tc_response(&c, &r) == 1);
    char want[128];
    snprintf(want, sizeof want, "bytes=%zu sha=%016llx", n,
             (unsigned long long)e2e_fnv1a(E2E_FNV_INIT, body, n));
    CHECKF(r.status == 200 && strncmp(r.body, want, strlen(want)) == 0, "upload: %d %s (wanted %s)",
           r.status, r.body, want);
    /* echo: streamed both ways at once */
    snprintf(head, sizeof head,
             "POST /echo HTTP/1.1\r\nHost: www.example.test\r\nContent-Length: %zu\r\n\r\n", n);
    REQUIRE(tc_send(&c, head, strlen(head)));
    REQUIRE(tc_send(&c, body, n));
    REQUIRE(tc_response(&c, &r) == 1);
    CHECKF(r.status == 200 && r.total == n && r.fnv == e2e_fnv1a(E2E_FNV_INIT, body, n),
           "echo: %d, %llu bytes", r.status, (unsigned long long)r.total);
    /* and many small requests on the same connection */
    for (int i = 0; i < 200; i++) {
        if (tc_get(&c, "www.example.test", "/size/100", &r) != 1 || r.status != 200 ||
            r.total != 100) {
            CHECKF(false, "keep-alive request %d failed", i);
            break;
        }
    }
    tc_close(&c);
    free(body);
    e2e_foyer_stop(&t.f, T_MS);
}

E2E_TEST(curl_https, 60)
{
    struct e2e_backend b = e2e_backend_start_report("app");
    struct tfoyer t;
    start(&t, 1, "", std_certs(), b.port, "");
    char resolve[128], url[128], out[65536];
    snprintf(resolve, sizeof resolve, "www.example.test:%d:127.0.0.1", t.tls_port);
    snprintf(url, sizeof url, "https://www.example.test:%d/hello", t.tls_port);
    char *argv[] = {tool("curl"), "-sS", "--cacert", (char *)cf("ca.pem"), "--resolve", resolve,
                    "-w", "\\n%{http_code} %{http_version}\\n", url, NULL};
    int rc = e2e_run(argv, out, sizeof out, T_MS);
    CHECKF(rc == 0 && strstr(out, "\n200 1.1") && strstr(out, "\"x-forwarded-proto\":[\"https\"]"),
           "curl: %d %.800s", rc, out);
    /* -k and the wildcard name */
    snprintf(resolve, sizeof resolve, "x.wild.test:%d:127.0.0.1", t.tls_port);
    snprintf(url, sizeof url, "https://x.wild.test:%d/tlsinfo", t.tls_port);
    char *argv2[] = {tool("curl"), "-sS", "--cacert", (char *)cf("ca.pem"), "--resolve", resolve, url, NULL};
    rc = e2e_run(argv2, out, sizeof out, T_MS);
    CHECKF(rc == 0 && strstr(out, "scheme=https|") && strstr(out, "sni=x.wild.test|") &&
               strstr(out, "alpn=http/1.1|"),
           "curl wildcard: %d %.400s", rc, out);
    e2e_foyer_stop(&t.f, T_MS);
}

E2E_TEST(ocsp_stapling, 60)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct tfoyer t;
    char tls[2048];
    snprintf(tls, sizeof tls,
             "certificates = { { cert = '%s', key = '%s', ocsp = '%s' }, '%s' }",
             cf("www-ec.pem"), cf("www-ec.key"), cf("www-ec.ocsp"), cf("default.pem"));
    /* default.pem has no key in it: refused, naming the file */
    char conf[4096], out[8192];
    snprintf(conf, sizeof conf,
             "listen '127.0.0.1:1'\nplugin 'tls' { path = '%s' }\nlisten { '127.0.0.1:2', tls = { %s } }\n"
             "service 'app' { endpoints = { '127.0.0.1:3' } }\nroute(function(req) return 'app' end)\n",
             e2e_plugin_so("tls"), tls);
    REQUIRE(e2e_write_file(e2e_path("check.lua"), conf));
    char *check[] = {(char *)e2e_env("FOYER_BIN"), "-t", "-c", (char *)e2e_path("check.lua"), NULL};
    int rc = e2e_run(check, out, sizeof out, T_MS);
    CHECKF(rc == 1 && strstr(out, "default.pem: no PEM private key in it"), "%d %s", rc, out);
    snprintf(tls, sizeof tls, "certificates = { { cert = '%s', key = '%s', ocsp = '%s' } }",
             cf("www-ec.pem"), cf("www-ec.key"), cf("www-ec.ocsp"));
    start(&t, 1, "", tls, b.port, "");
    char port[32];
    snprintf(port, sizeof port, "127.0.0.1:%d", t.tls_port);
    char *argv[] = {tool("openssl"), "s_client", "-connect", port, "-servername", "www.example.test",
                    "-status", NULL};
    rc = e2e_run(argv, out, sizeof out, T_MS);
    CHECKF(rc == 0 && strstr(out, "OCSP Response Status: successful"), "s_client -status: %.600s",
           out);
    e2e_foyer_stop(&t.f, T_MS);
}

/* `foyer -t` on a configuration with the given plugin settings and tls table. */
static int check_conf(const char *plugin, const char *tls, char *out, size_t len)
{
    char text[4096];
    snprintf(text, sizeof text,
             "listen '127.0.0.1:1'\n"
             "plugin 'tls' { path = '%s'%s%s }\n"
             "listen { '127.0.0.1:2', tls = %s }\n"
             "service 'app' { endpoints = { '127.0.0.1:3' } }\n"
             "route(function(req) return 'app' end)\n",
             e2e_plugin_so("tls"), *plugin ? ", " : "", plugin, tls);
    REQUIRE(e2e_write_file(e2e_path("check.lua"), text));
    char *argv[] = {(char *)e2e_env("FOYER_BIN"), "-t", "-c", (char *)e2e_path("check.lua"), NULL};
    return e2e_run(argv, out, len, T_MS);
}

E2E_TEST(config_errors, 60)
{
    char ok_cert[1024], mismatch[1024], missing[1024];
    snprintf(ok_cert, sizeof ok_cert, "{ cert = '%s', key = '%s' }", cf("www-ec.pem"),
             cf("www-ec.key"));
    snprintf(mismatch, sizeof mismatch, "{ cert = '%s', key = '%s' }", cf("www-ec.pem"),
             cf("www-rsa.key"));
    snprintf(missing, sizeof missing, "{ cert = '%s', key = '%s' }", e2e_path("nope.pem"),
             cf("www-ec.key"));
    struct {
        const char *plugin;
        char tls[1200];
        const char *message;
    } bad[] = {
        {"", "", "tls needs certificates = {"},
        {"", "", "unknown key 'certificate'"},
        {"", "", "unknown key 'chain'"},
        {"", "", "does not match certificate file"},
        {"", "", "cannot read: No such file or directory"},
        {"", "", "tls.min_version must be \"TLSv1.2\" or \"TLSv1.3\" (not \"TLSv1.1\")"},
        {"", "", "tls.verify_client must be \"none\", \"optional\" or \"required\""},
        {"", "", "tls.verify_client needs client_ca"},
        {"", "", "unsupported protocol \"h2\""},
        {"", "", "tls.certificates must be a list"},
        {"", "", "tls must be a table"},
        {"", "", "tls.max_version is below tls.min_version"},
        {"", "", "tls.ciphers"},
        {"", "", "have the same names and both ECDSA keys"},
        {"", "", "client_ca file"},
        {"foo = 1", "", "unknown setting 'foo'"},
        {"session_cache = 'big'", "", "session_cache must be a number of sessions"},
        {"ticket_key_rotation = 0", "", "ticket_key_rotation must be a number of seconds"},
        {"tickets = 'yes'", "", "tickets must be true or false"},
    };
    snprintf(bad[0].tls, sizeof bad[0].tls, "{ min_version = 'TLSv1.2' }");
    snprintf(bad[1].tls, sizeof bad[1].tls, "{ certificate = { %s } }", ok_cert);
    snprintf(bad[2].tls, sizeof bad[2].tls, "{ certificates = { { cert = '%s', chain = 'x' } } }",
             cf("www-ec.pem"));
    snprintf(bad[3].tls, sizeof bad[3].tls, "{ certificates = { %s } }", mismatch);
    snprintf(bad[4].tls, sizeof bad[4].tls, "{ certificates = { %s } }", missing);
    snprintf(bad[5].tls, sizeof bad[5].tls, "{ certificates = { %s }, min_version = 'TLSv1.1' }",
             ok_cert);
    snprintf(bad[6].tls, sizeof bad[6].tls,
             "{ certificates = { %s }, verify_client = 'yes', client_ca = '%s' }", ok_cert,
             cf("ca.pem"));
    snprintf(bad[7].tls, sizeof bad[7].tls, "{ certificates = { %s }, verify_client = 'optional' }",
             ok_cert);
    snprintf(bad[8].tls, sizeof bad[8].tls, "{ certificates = { %s }, alpn = { 'h2', 'http/1.1' } }",
             ok_cert);
    snprintf(bad[9].tls, sizeof bad[9].tls, "{ certificates = { cert = '%s' } }", cf("www-ec.pem"));
    snprintf(bad[10].tls, sizeof bad[10].tls, "true");
    snprintf(bad[11].tls, sizeof bad[11].tls,
             "{ certificates = { %s }, min_version = 'TLSv1.3', max_version = 'TLSv1.2' }", ok_cert);
    snprintf(bad[12].tls, sizeof bad[12].tls, "{ certificates = { %s }, ciphers = 'NOPE-CIPHER' }",
             ok_cert);
    snprintf(bad[13].tls, sizeof bad[13].tls, "{ certificates = { %s, '%s' } }", ok_cert,
             cf("www-ec.combined.pem"));
    snprintf(bad[14].tls, sizeof bad[14].tls, "{ certificates = { %s }, client_ca = '%s' }", ok_cert,
             cf("www-ec.key"));
    for (size_t i = 15; i < sizeof bad / sizeof *bad; i++)
        snprintf(bad[i].tls, sizeof bad[i].tls, "{ certificates = { %s } }", ok_cert);
    char out[4096];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = check_conf(bad[i].plugin, bad[i].tls, out, sizeof out);
        CHECKF(rc == 1 && strstr(out, bad[i].message) != NULL,
               "plugin { %s } tls = %s: exit %d, said: %s (wanted: %s)", bad[i].plugin, bad[i].tls,
               rc, out, bad[i].message);
    }
    /* file errors name the file */
    int rc = check_conf("", bad[4].tls, out, sizeof out);
    CHECKF(strstr(out, "nope.pem") != NULL, "the missing file is not named: %s", out);
    rc = check_conf("", bad[3].tls, out, sizeof out);
    CHECKF(strstr(out, "www-rsa.key") && strstr(out, "www-ec.pem"), "mismatch: %s", out);
    /* good ones: every key, each plugin setting */
    char good_tls[2][2048];
    snprintf(good_tls[0], sizeof good_tls[0],
             "{ certificates = { %s, { cert = '%s', key = '%s' }, { cert = '%s', key = '%s' } },"
             " min_version = 'TLSv1.3', max_version = 'TLSv1.3', client_ca = '%s',"
             " verify_client = 'optional', verify_depth = 2, alpn = { 'http/1.1', 'http/1.0' },"
             " ciphers = 'ECDHE-ECDSA-AES128-GCM-SHA256', ciphersuites = 'TLS_AES_128_GCM_SHA256',"
             " curves = 'X25519', prefer_server_ciphers = true }",
             ok_cert, cf("www-rsa.pem"), cf("www-rsa.key"), cf("wild.pem"), cf("wild.key"),
             cf("ca.pem"));
    snprintf(good_tls[1], sizeof good_tls[1],
             "{ certificates = { '%s', { cert = '%s', key = '%s' } }, alpn = false }",
             cf("www-ec.combined.pem"), cf("cnonly.pem"), cf("cnonly.key"));
    const char *good[] = {
        "",
        "tickets = false, session_cache = false",
        "ticket_key_rotation = 600, session_timeout = 3600, session_cache = 100000, ocsp_refresh = 60",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        for (size_t j = 0; j < 2; j++) {
            rc = check_conf(good[i], good_tls[j], out, sizeof out);
            CHECKF(rc == 0, "good config plugin { %s } tls = %s: exit %d: %s", good[i],
                   good_tls[j], rc, out);
        }
    /* `tls` without the plugin: the core says what is missing */
    char text[2048];
    snprintf(text, sizeof text,
             "listen { '127.0.0.1:2', tls = { certificates = { %s } } }\n"
             "service 'app' { endpoints = { '127.0.0.1:3' } }\n"
             "route(function(req) return 'app' end)\n",
             ok_cert);
    REQUIRE(e2e_write_file(e2e_path("noplugin.lua"), text));
    char *argv[] = {(char *)e2e_env("FOYER_BIN"), "-t", "-c", (char *)e2e_path("noplugin.lua"), NULL};
    rc = e2e_run(argv, out, sizeof out, T_MS);
    CHECKF(rc == 1 && strstr(out, "plugin \"tls\""), "tls without the plugin: %d %s", rc, out);
}

/* A CN-only certificate is chosen by its CN. */
E2E_TEST(cn_without_san, 60)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct tfoyer t;
    char tls[2048];
    snprintf(tls, sizeof tls,
             "certificates = { { cert = '%s', key = '%s' }, { cert = '%s', key = '%s' } }",
             cf("default.pem"), cf("default.key"), cf("cnonly.pem"), cf("cnonly.key"));
    start(&t, 1, "", tls, b.port, "");
    char subject[512];
    const char *type = "none";
    struct topts o = {.sni = "cnonly.test"};
    CHECKF(subject_for(t.tls_port, &o, subject, sizeof subject, &type) &&
               strstr(subject, "CN=cnonly.test"),
           "cnonly.test: %s", subject);
    e2e_foyer_stop(&t.f, T_MS);
}

static char certs_base[512]; /* made by mkdtemp; certs is its subdirectory c */

static void remove_certs(void)
{
    if (certs_base[0] == '\0') return;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", certs_base);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", certs);
}

int main(void)
{
    /* the certificates, once for every case */
    const char *src = getenv("FOYER_SRCDIR") ? getenv("FOYER_SRCDIR") : ".";
    snprintf(certs, sizeof certs, "%.400s/foyer-tls-certs.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(certs) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(certs_base, sizeof certs_base, "%s", certs);
    atexit(remove_certs);
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "sh '%.2000s/tests/plugins/tls_certs.sh' '%s/c' >/dev/null", src, certs);
    if (system(cmd) != 0) {
        fprintf(stderr, "test_tls_e2e: making certificates failed (is the openssl command installed?)\n");
        return 77; /* skip */
    }
    strncat(certs, "/c", sizeof certs - strlen(certs) - 1);
    static const struct e2e_case cases[] = {
        E2E_CASE(sni_picks_certificate),
        E2E_CASE(ecdsa_or_rsa_by_client_offer),
        E2E_CASE(versions_and_alpn),
        E2E_CASE(resumption_across_workers),
        E2E_CASE(session_cache_without_tickets),
        E2E_CASE(ticket_key_rotation),
        E2E_CASE(mtls_required),
        E2E_CASE(mtls_optional),
        E2E_CASE(plaintext_and_garbage_closed),
        E2E_CASE(reload_swaps_certificate),
        E2E_CASE(reload_without_the_plugin),
        E2E_CASE(one_mebibyte_up_and_down),
        E2E_CASE(curl_https),
        E2E_CASE(ocsp_stapling),
        E2E_CASE(config_errors),
        E2E_CASE(cn_without_san),
    };
    int rc = e2e_run_suite("tls plugin end to end", cases, sizeof cases / sizeof *cases);
    return rc;
}
