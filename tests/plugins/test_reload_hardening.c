/*
 * Hardening of reload and stop (issue 8), end to end with the real foyer,
 * tls.so and real backends.
 *
 * fifty_reloads_under_load: 50 reloads while keep-alive, new-connection,
 * 1 MiB upload, WebSocket and TLS clients run without pause. The reloads
 * alternate two route sets (every request to backend a, or to b); reload 10
 * adds a second plain listener (a keep-alive client uses it while it exists)
 * and reload 30 removes it; reload 20 swaps the TLS listener's certificate
 * (O=ecdsa -> O=v2) and reload 40 swaps it back. Asserted: no request fails
 * (plain or TLS), every answer comes from a or b, the one WebSocket opened
 * before the first reload echoes every message to the end, each handshake
 * presents the certificate in force when it was made, the removed listener
 * refuses connections, no worker is restarted, and the workers' open fds
 * and RSS after the 50 reloads are those after the first few within a small
 * tolerance (RSS not bounded under AddressSanitizer).
 *
 * stop_under_load: SIGTERM while /slow/1500 requests are in flight on
 * several connections and a 4 MiB download goes to a slow reader: every one
 * completes with the right bytes, an idle keep-alive connection is closed at
 * once, new connections are refused (the listener is closed), and foyer
 * exits 0 well within grace_period.
 *
 * stop_with_websocket_open: SIGTERM with a WebSocket open: it keeps echoing
 * during the grace period, is closed at its end, and foyer exits 0.
 *
 * Certificates are made at start by tls_certs.sh; tls.so is found next to
 * $FOYER_BIN as plugins/tls/.libs/tls.so.
 */
#include "../e2e/harness.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define T_MS 10000

static char certs[600];      /* made by main(): DIR/c */
static char certs_base[512]; /* DIR, removed at exit */

/* ---- files, foyer and its processes ---------------------------------------- */

static const char *cert_file(const char *name)
{
    static char bufs[4][640];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%.540s/%.40s", certs, name);
    return b;
}

struct setup {
    struct e2e_backend a, b;
    int port, extra_port, tls_port;
};

/* The configuration: every request to service a (set 0) or b (set 1); the
 * extra plain listener or not; the TLS certificate www-ec (O=ecdsa) or
 * www-v2 (O=v2). */
static char *config_text(const struct setup *s, int set, bool extra, bool v2, const char *more)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    fprintf(m, "listen \"127.0.0.1:%d\"\n", s->port);
    if (extra) fprintf(m, "listen \"127.0.0.1:%d\"\n", s->extra_port);
    fprintf(m, "set { workers = 2%s }\n", more);
    fprintf(m, "plugin 'tls' { path = '%s' }\n", e2e_plugin_so("tls"));
    if (s->tls_port)
        fprintf(m, "listen { '127.0.0.1:%d', tls = { certificates = { { cert = '%s', key = '%s' } } } }\n",
                s->tls_port, cert_file(v2 ? "www-v2.pem" : "www-ec.pem"),
                cert_file(v2 ? "www-v2.key" : "www-ec.key"));
    fprintf(m,
            "service \"a\" { endpoints = { \"127.0.0.1:%d\" } }\n"
            "service \"b\" { endpoints = { \"127.0.0.1:%d\" } }\n"
            "route(function(req) return \"%s\" end)\n",
            s->a.port, s->b.port, set ? "b" : "a");
    fclose(m);
    return text;
}

static void write_config(const struct e2e_foyer *f, const char *text)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.new", f->conf); /* never a half-written file */
    REQUIRE(e2e_write_file(tmp, text));
    REQUIREF(rename(tmp, f->conf) == 0, "rename: %s", strerror(errno));
}

/* Open fds and RSS of foyer's workers (summed), and of the master. Sockets
 * apart: idle upstream connections come and go with the load. */
struct usage {
    int worker_sockets, worker_files, master_fds;
    long worker_rss_kb;
};

static void count_fds(pid_t pid, int *sockets, int *files)
{
    char dir[64], path[400], target[128];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    if (d == NULL) return;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (de->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        if (strncmp(target, "socket:", 7) == 0) ++*sockets;
        else ++*files;
    }
    closedir(d);
}

static struct usage usage_of(const struct e2e_foyer *f)
{
    struct usage u = {0};
    int master_sockets = 0;
    count_fds(f->pid, &master_sockets, &u.master_fds);
    u.master_fds += master_sockets;
    pid_t w[16];
    int n = e2e_foyer_workers(f, w, 16);
    for (int i = 0; i < n; i++) {
        count_fds(w[i], &u.worker_sockets, &u.worker_files);
        u.worker_rss_kb += e2e_rss_kb(w[i]);
    }
    return u;
}

/* Which backend answers a GET on a new connection ("" on failure). */
static void probe(int port, char *be, size_t len)
{
    if (e2e_get(port, "hardening.example", "/probe", be, len) != 200) snprintf(be, len, "%s", "");
}

/* Waits until `want` answers `streak` new connections in a row; false after
 * timeout_ms. The kernel spreads new connections over the workers, so a
 * streak of 20 means (all but surely) that every worker switched. */
static bool wait_for_backend(int port, const char *want, int streak, int timeout_ms)
{
    int64_t t0 = e2e_now_ms();
    for (int in_a_row = 0; e2e_now_ms() - t0 < timeout_ms;) {
        char be[64];
        probe(port, be, sizeof be);
        in_a_row = strcmp(be, want) == 0 ? in_a_row + 1 : 0;
        if (in_a_row >= streak) return true;
        if (in_a_row == 0) e2e_sleep_ms(2);
    }
    return false;
}

static bool refuses(int port)
{
    struct e2e_conn c;
    if (!e2e_conn_open(&c, port)) return true;
    e2e_conn_close(&c);
    return false;
}

static bool wait_refuses(int port, int timeout_ms)
{
    int64_t t0 = e2e_now_ms();
    while (!refuses(port)) {
        if (e2e_now_ms() - t0 > timeout_ms) return false;
        e2e_sleep_ms(20);
    }
    return true;
}

static int backend_of(const struct e2e_resp *r)
{
    char be[64] = "";
    e2e_resp_header(r, "x-backend", be, sizeof be);
    return !strcmp(be, "a") ? 0 : !strcmp(be, "b") ? 1 : -1;
}

/* ---- a blocking TLS client ------------------------------------------------- */

struct tls_client {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
};

static SSL_CTX *tls_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    REQUIRE(ctx != NULL);
    REQUIRE(SSL_CTX_load_verify_locations(ctx, cert_file("ca.pem"), NULL) == 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF); /* a full handshake each time */
    return ctx;
}

static void tls_close(struct tls_client *t)
{
    if (t->ssl) {
        SSL_set_shutdown(t->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(t->ssl);
    }
    if (t->fd >= 0) close(t->fd);
    t->ssl = NULL;
    t->fd = -1;
    ERR_clear_error();
}

/* Connects and handshakes (verified, SNI www.example.test); the subject's
 * organisation ("ecdsa" or "v2") in org. */
static bool tls_open(struct tls_client *t, int port, char *org, size_t orglen)
{
    t->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    t->ssl = NULL;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {T_MS / 1000, 0};
    int one = 1;
    setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(t->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(t->fd, (struct sockaddr *)&a, sizeof a) != 0) return false;
    t->ssl = SSL_new(t->ctx);
    SSL_set_fd(t->ssl, t->fd);
    SSL_set_tlsext_host_name(t->ssl, "www.example.test");
    SSL_set1_host(t->ssl, "www.example.test");
    if (SSL_connect(t->ssl) != 1) return false;
    X509 *x = SSL_get1_peer_certificate(t->ssl);
    org[0] = '\0';
    if (x) {
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_organizationName, org, (int)orglen);
        X509_free(x);
    }
    return true;
}

/* GET path on the connection; 1 with the status and the backend (0 a, 1 b),
 * else 0. Responses are short and framed by Content-Length. */
static int tls_get(struct tls_client *t, const char *path, int *status, int *backend)
{
    char req[256], buf[8192];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: www.example.test\r\n\r\n", path);
    size_t w;
    if (SSL_write_ex(t->ssl, req, (size_t)n, &w) != 1 || w != (size_t)n) return 0;
    size_t have = 0;
    for (;;) {
        size_t got;
        if (have == sizeof buf - 1 || SSL_read_ex(t->ssl, buf + have, sizeof buf - 1 - have, &got) != 1)
            return 0;
        have += got;
        buf[have] = '\0';
        char *end = strstr(buf, "\r\n\r\n"), v[64];
        if (end == NULL) continue;
        if (e2e_head_field(buf, "Content-Length", v, sizeof v) == NULL) return 0;
        if ((size_t)(end + 4 - buf) + (size_t)atoll(v) > have) continue;
        *status = atoi(buf + 9);
        *backend = -1;
        if (e2e_head_field(buf, "X-Backend", v, sizeof v))
            *backend = !strcmp(v, "a") ? 0 : !strcmp(v, "b") ? 1 : -1;
        return 1;
    }
}

/* ---- the load ------------------------------------------------------------------ */

#define UPLOAD_BYTES (1024 * 1024)
static char upload_body[UPLOAD_BYTES];
static char upload_want[64];

enum kind { KEEPALIVE, NEWCONN, UPLOAD, EXTRA, TLS, NKINDS };
static const char *const kind_name[] = {"keep-alive", "new-connection", "upload",
                                        "extra-listener", "TLS"};

/* One client thread. While `pause` is set (or, for EXTRA, while `on` is
 * not), it closes its connection, says so in `parked` and waits. */
struct client {
    enum kind kind;
    int port, id;
    pthread_t th;
    atomic_bool pause, on, parked;
    long answered;
    int failures;
    char first_failure[256];
    /* TLS: the certificate of each handshake, and when it was made: begun
     * at t0 (connect), done at t1 (the certificate is picked in between). */
    struct handshake {
        int64_t t0, t1;
        bool v2;
    } *hs;
    int nhs, maxhs;
};

static atomic_bool stop_load;

static void client_fail(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void client_fail(struct client *c, const char *fmt, ...)
{
    if (c->failures++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->first_failure, sizeof c->first_failure, fmt, ap);
        va_end(ap);
    }
}

static bool client_waits(struct client *c)
{
    return atomic_load(&c->pause) || !atomic_load(&c->on);
}

/* One plain request on c, connecting first if needed. */
static void http_step(struct client *cl, struct e2e_conn *c, bool *open, long n)
{
    char req[256];
    bool upload = cl->kind == UPLOAD;
    if (upload)
        snprintf(req, sizeof req,
                 "POST /sink HTTP/1.1\r\nHost: hardening.example\r\nContent-Length: %d\r\n\r\n",
                 UPLOAD_BYTES);
    else
        snprintf(req, sizeof req, "GET /c%d/%ld HTTP/1.1\r\nHost: hardening.example\r\n%s\r\n",
                 cl->id, n, cl->kind == NEWCONN ? "Connection: close\r\n" : "");
    if (!*open) {
        if (!e2e_conn_open(c, cl->port)) {
            client_fail(cl, "request %ld: connect failed: %s", n, strerror(errno));
            e2e_sleep_ms(10);
            return;
        }
        *open = true;
    }
    bool sent = e2e_send_str(c, req, T_MS) && (!upload || e2e_send(c, upload_body, UPLOAD_BYTES, T_MS));
    struct e2e_resp r = {0};
    int rc = sent ? e2e_read_response(c, &r, T_MS) : -1;
    if (rc != 1 || r.status != 200) {
        client_fail(cl, "request %ld: %s (rc %d, status %d, errno %d)", n,
                    !sent ? "send failed" : rc == 0 ? "closed without an answer" : "no valid answer",
                    rc, r.status, c->err);
        e2e_conn_close(c);
        *open = false;
    } else {
        cl->answered++;
        if (backend_of(&r) < 0) client_fail(cl, "request %ld: answered by neither a nor b", n);
        if (upload && strcmp(r.body, upload_want) != 0)
            client_fail(cl, "upload %ld: backend got \"%.60s\", want \"%s\"", n, r.body, upload_want);
        if (!upload && r.body_total == 0) client_fail(cl, "request %ld: empty body", n);
        if (r.conn_close || cl->kind == NEWCONN) { /* announced: not a failure */
            e2e_conn_close(c);
            *open = false;
        }
    }
    e2e_resp_free(&r);
}

/* TLS: a handshake, then up to 5 requests on the connection. */
static void tls_step(struct client *cl, struct tls_client *t, long n)
{
    char org[64];
    int64_t t0 = e2e_now_ms();
    if (!tls_open(t, cl->port, org, sizeof org)) {
        unsigned long e = ERR_peek_last_error();
        client_fail(cl, "handshake %ld failed: %s", n,
                    e ? ERR_reason_error_string(e) : strerror(errno));
        tls_close(t);
        e2e_sleep_ms(10);
        return;
    }
    if (cl->nhs < cl->maxhs)
        cl->hs[cl->nhs++] = (struct handshake){
            .t0 = t0, .t1 = e2e_now_ms(), .v2 = strcmp(org, "v2") == 0};
    if (strcmp(org, "v2") != 0 && strcmp(org, "ecdsa") != 0)
        client_fail(cl, "handshake %ld: certificate of O=%s", n, org);
    for (int i = 0; i < 5 && !client_waits(cl) && !atomic_load(&stop_load); i++) {
        int status = 0, backend = -1;
        char path[64];
        snprintf(path, sizeof path, "/tls/%ld/%d", n, i);
        if (!tls_get(t, path, &status, &backend) || status != 200 || backend < 0) {
            client_fail(cl, "TLS request %d on connection %ld: status %d, backend %d", i, n,
                        status, backend);
            break;
        }
        cl->answered++;
    }
    tls_close(t);
}

static void *client_main(void *arg)
{
    struct client *cl = arg;
    struct e2e_conn c;
    bool open = false;
    struct tls_client t = {.fd = -1};
    if (cl->kind == TLS) t.ctx = tls_ctx();
    for (long n = 0; !atomic_load(&stop_load); n++) {
        if (client_waits(cl)) {
            if (open) e2e_conn_close(&c);
            open = false;
            atomic_store(&cl->parked, true);
            while (client_waits(cl) && !atomic_load(&stop_load))
                e2e_sleep_ms(5);
            atomic_store(&cl->parked, false);
            continue;
        }
        if (cl->kind == TLS) tls_step(cl, &t, n);
        else http_step(cl, &c, &open, n);
    }
    if (open) e2e_conn_close(&c);
    if (t.ctx) SSL_CTX_free(t.ctx);
    return NULL;
}

/* Parks (or resumes) the clients; parking waits until they all closed. */
static bool park(struct client *cl, int n, bool on)
{
    for (int i = 0; i < n; i++)
        atomic_store(&cl[i].pause, on);
    if (!on) return true;
    int64_t t0 = e2e_now_ms();
    for (int i = 0; i < n; i++)
        while (!atomic_load(&cl[i].parked))
            if (e2e_now_ms() - t0 > T_MS) return false;
            else e2e_sleep_ms(5);
    return true;
}

/* One WebSocket (the backend's /ws echoes raw bytes) for the whole test. */
struct ws_client {
    int port;
    pthread_t th;
    long echoes;
    bool cut;
    char why[256];
};

static bool ws_open(struct e2e_conn *c, int port)
{
    struct e2e_resp r = {0};
    bool ok = e2e_conn_open(c, port) &&
              e2e_send_str(c,
                           "GET /ws HTTP/1.1\r\nHost: hardening.example\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n",
                           T_MS) &&
              e2e_read_head(c, &r, T_MS) == 1 && r.status == 101;
    e2e_resp_free(&r);
    return ok;
}

/* Sends msg and waits for its echo. */
static bool ws_echo(struct e2e_conn *c, const char *msg, int timeout_ms)
{
    size_t len = strlen(msg);
    if (!e2e_send(c, msg, len, timeout_ms)) return false;
    while (c->len - c->pos < len)
        if (!e2e_recv_some(c, 0, timeout_ms)) return false;
    bool same = memcmp(c->buf + c->pos, msg, len) == 0;
    c->pos += len;
    return same;
}

static void *ws_main(void *arg)
{
    struct ws_client *w = arg;
    struct e2e_conn c;
    if (!ws_open(&c, w->port)) {
        w->cut = true;
        snprintf(w->why, sizeof w->why, "the upgrade failed");
        return NULL;
    }
    while (!atomic_load(&stop_load)) {
        char msg[64];
        snprintf(msg, sizeof msg, "echo %ld across the reloads", w->echoes);
        if (!ws_echo(&c, msg, T_MS)) {
            w->cut = true;
            snprintf(w->why, sizeof w->why, "echo %ld lost (%s)", w->echoes,
                     c.eof ? "connection closed" : "timeout or garbled");
            break;
        }
        w->echoes++;
        e2e_sleep_ms(10);
    }
    e2e_conn_close(&c);
    return NULL;
}

/* ---- 50 reloads under load ---------------------------------------------------- */

enum { RELOADS = 50, EXTRA_ADDED = 10, CERT_V2 = 20, EXTRA_REMOVED = 30, CERT_BACK = 40,
       BASELINE = 6 };
/* After the baseline and the last reload alike: route set a, no extra
 * listener, the first certificate; so the two samples are comparable. */

/* Slack, after 20 handshakes in a row saw the new certificate, for one made
 * just before by a worker that switched a moment later. */
#define CERT_SLACK_MS 200

static bool wait_for_certificate(int port, bool v2, int timeout_ms)
{
    SSL_CTX *ctx = tls_ctx();
    struct tls_client t = {.ctx = ctx, .fd = -1};
    int64_t t0 = e2e_now_ms();
    int in_a_row = 0;
    while (in_a_row < 20 && e2e_now_ms() - t0 < timeout_ms) {
        char org[64] = "";
        bool ok = tls_open(&t, port, org, sizeof org);
        tls_close(&t);
        in_a_row = ok && strcmp(org, v2 ? "v2" : "ecdsa") == 0 ? in_a_row + 1 : 0;
    }
    SSL_CTX_free(ctx);
    return in_a_row >= 20;
}

/* Was each handshake's certificate the one in force when it was made? The
 * swap to v2 is [hup[0], obs[0]], the swap back [hup[1], obs[1]]. A handshake
 * spans [t0, t1] (a loaded machine stretches it): a certificate is right if it
 * was in force at some moment of that span. */
static int wrong_certificates(const struct client *tls, const int64_t hup[2], const int64_t obs[2],
                              char *first, size_t len)
{
    int wrong = 0;
    for (int i = 0; i < tls->nhs; i++) {
        const struct handshake *h = &tls->hs[i];
        bool v1_ok = h->t0 <= obs[0] + CERT_SLACK_MS || h->t1 >= hup[1];
        bool v2_ok = h->t1 >= hup[0] && h->t0 <= obs[1] + CERT_SLACK_MS;
        if (h->v2 ? v2_ok : v1_ok) continue;
        if (wrong++ == 0)
            snprintf(first, len, "a %s certificate at +%lld ms after the first swap",
                     h->v2 ? "v2" : "first", (long long)(h->t1 - hup[0]));
    }
    return wrong;
}

E2E_TEST(fifty_reloads_under_load, 170)
{
    struct setup s = {.a = e2e_backend_start("a"), .b = e2e_backend_start("b")};
    s.port = e2e_free_port();
    s.extra_port = e2e_free_port();
    s.tls_port = e2e_free_port();
    static const char more[] = ", upstream_keepalive = 1";
    char *text = config_text(&s, 0, false, false, more);
    struct e2e_foyer f;
    e2e_foyer_start_conf(&f, "foyer.lua", s.port, text, NULL);
    free(text);
    pid_t workers0[16], workers1[16];
    /* the port accepts before every worker is forked, let alone ready */
    REQUIREF(e2e_foyer_wait_workers(&f, 2, T_MS), "foyer's workers did not start");
    int nworkers = e2e_foyer_workers(&f, workers0, 16);
    REQUIRE(nworkers == 2);
    REQUIREF(wait_for_certificate(s.tls_port, false, T_MS),
             "no TLS handshake with the first certificate");
    for (size_t i = 0; i < sizeof upload_body; i++)
        upload_body[i] = (char)(i * 131 + (i >> 9));
    snprintf(upload_want, sizeof upload_want, "bytes=%d sha=%016llx\n", UPLOAD_BYTES,
             (unsigned long long)e2e_fnv1a(E2E_FNV_INIT, upload_body, UPLOAD_BYTES));

    static struct client cl[6];
    static const enum kind kinds[] = {KEEPALIVE, KEEPALIVE, NEWCONN, UPLOAD, TLS, EXTRA};
    enum { NCL = sizeof kinds / sizeof *kinds, EXTRA_CL = NCL - 1, TLS_CL = NCL - 2 };
    atomic_store(&stop_load, false);
    for (int i = 0; i < NCL; i++) {
        cl[i] = (struct client){.kind = kinds[i], .id = i,
                                .port = kinds[i] == TLS     ? s.tls_port
                                        : kinds[i] == EXTRA ? s.extra_port
                                                            : s.port};
        atomic_store(&cl[i].on, kinds[i] != EXTRA); /* on once its listener exists */
        if (kinds[i] == TLS) {
            cl[i].maxhs = 100000;
            REQUIRE((cl[i].hs = calloc((size_t)cl[i].maxhs, sizeof *cl[i].hs)) != NULL);
        }
    }
    struct ws_client ws = {.port = s.port};
    REQUIRE(pthread_create(&ws.th, NULL, ws_main, &ws) == 0);
    for (int i = 0; i < NCL; i++)
        REQUIRE(pthread_create(&cl[i].th, NULL, client_main, &cl[i]) == 0);
    e2e_sleep_ms(500);

    struct usage base = {0}, end = {0};
    int64_t hup[2] = {0}, obs[2] = {0};
    int done = 0;
    for (int i = 1; i <= RELOADS; i++) {
        int set = i % 2;
        bool extra = i >= EXTRA_ADDED && i < EXTRA_REMOVED, v2 = i >= CERT_V2 && i < CERT_BACK;
        if (i == EXTRA_REMOVED) { /* its client stops before the listener goes */
            atomic_store(&cl[EXTRA_CL].on, false);
            REQUIREF(park(&cl[EXTRA_CL], 1, true) && park(&cl[EXTRA_CL], 1, false),
                     "the extra listener's client did not stop");
        }
        text = config_text(&s, set, extra, v2, more);
        write_config(&f, text);
        free(text);
        int64_t t_hup = e2e_now_ms();
        REQUIRE(kill(f.pid, SIGHUP) == 0);
        if (!CHECKF(wait_for_backend(s.port, set ? "b" : "a", 20, T_MS),
                    "reload %d: route set %c not in force after 10 s", i, 'a' + set))
            break;
        if (i == EXTRA_ADDED) {
            if (!CHECKF(wait_for_backend(s.extra_port, "a", 20, T_MS),
                        "reload %d: the added listener does not serve", i))
                break;
            atomic_store(&cl[EXTRA_CL].on, true);
        }
        if (i == EXTRA_REMOVED && !CHECKF(wait_refuses(s.extra_port, 5000),
                                          "reload %d: the removed listener still accepts", i))
            break;
        if (i == CERT_V2 || i == CERT_BACK) {
            int k = i == CERT_BACK;
            hup[k] = t_hup;
            if (!CHECKF(wait_for_certificate(s.tls_port, v2, T_MS),
                        "reload %d: new handshakes do not get the %s certificate", i,
                        v2 ? "v2" : "first"))
                break;
            obs[k] = e2e_now_ms();
        }
        done = i;
        if (i == BASELINE || i == RELOADS) {
            /* Everything closed but the WebSocket, then a moment to settle
             * (the workers see the clients' closes when their loops get to
             * them): the last sample waits, within a deadline, until it is
             * back to the baseline's, which a leak never is. */
            REQUIREF(park(cl, NCL, true), "the clients did not pause");
            e2e_sleep_ms(500);
            struct usage u = usage_of(&f);
            if (i == RELOADS)
                E2E_WAIT_UNTIL(
                    (u = usage_of(&f), u.worker_sockets <= base.worker_sockets + 4 &&
                                           u.worker_files <= base.worker_files &&
                                           u.master_fds <= base.master_fds),
                    T_MS);
            park(cl, NCL, false);
            e2e_log("after reload %d: workers: %d sockets, %d other fds, RSS %ld KiB; "
                    "master: %d fds", i, u.worker_sockets, u.worker_files, u.worker_rss_kb,
                    u.master_fds);
            *(i == BASELINE ? &base : &end) = u;
        }
        e2e_sleep_ms(150); /* the load goes on between reloads */
    }
    atomic_store(&stop_load, true);
    for (int i = 0; i < NCL; i++)
        pthread_join(cl[i].th, NULL);
    pthread_join(ws.th, NULL);

    CHECK_INT(done, RELOADS);
    for (int i = 0; i < NCL; i++) {
        e2e_log("client %d (%s): %ld answered, %d failed", i, kind_name[cl[i].kind],
                cl[i].answered, cl[i].failures);
        CHECKF(cl[i].failures == 0, "client %d (%s): %d failures, first: %s", i,
               kind_name[cl[i].kind], cl[i].failures, cl[i].first_failure);
        CHECKF(cl[i].answered > 0, "client %d (%s) got no answer", i, kind_name[cl[i].kind]);
    }
    e2e_log("WebSocket: %ld echoes", ws.echoes);
    CHECKF(!ws.cut, "the WebSocket was cut: %s", ws.why);
    CHECKF(ws.echoes > 50, "the WebSocket echoed only %ld messages", ws.echoes);

    const struct client *tls = &cl[TLS_CL];
    int nv2 = 0;
    for (int i = 0; i < tls->nhs; i++)
        nv2 += tls->hs[i].v2;
    e2e_log("TLS client: %d handshakes, %d with the v2 certificate", tls->nhs, nv2);
    if (done == RELOADS) {
        char first[128] = "";
        int wrong = wrong_certificates(tls, hup, obs, first, sizeof first);
        CHECKF(wrong == 0, "%d TLS handshakes got a certificate not in force, first: %s", wrong,
               first);
        CHECKF(nv2 > 0 && nv2 < tls->nhs, "the TLS client never saw the certificate change");
    }
    free(cl[TLS_CL].hs);

    /* Same workers, same fds, same memory: nothing grows with generations. */
    CHECKF(e2e_foyer_workers(&f, workers1, 16) == nworkers &&
               memcmp(workers0, workers1, sizeof(pid_t) * (size_t)nworkers) == 0,
           "a worker was restarted during the reloads");
    if (done == RELOADS) {
        /* upstream_keepalive = 1: at most one idle upstream connection per
         * worker and backend, 4 in all, open at one sample and not the other. */
        CHECKF(end.worker_sockets <= base.worker_sockets + 4,
               "worker sockets grew from %d (after reload %d) to %d (after reload %d)",
               base.worker_sockets, BASELINE, end.worker_sockets, RELOADS);
        CHECKF(end.worker_files <= base.worker_files,
               "worker fds other than sockets grew from %d (after reload %d) to %d",
               base.worker_files, BASELINE, end.worker_files);
        CHECKF(end.master_fds <= base.master_fds, "master fds grew from %d to %d",
               base.master_fds, end.master_fds);
        if (E2E_ASAN)
            e2e_log("AddressSanitizer build: the RSS bound is not checked");
        else
            CHECKF(end.worker_rss_kb <= base.worker_rss_kb + base.worker_rss_kb / 10 + 1024,
                   "worker RSS grew from %ld KiB (after reload %d) to %ld KiB (after reload %d)",
                   base.worker_rss_kb, BASELINE, end.worker_rss_kb, RELOADS);
    }
    CHECKF(kill(f.pid, 0) == 0, "the master is gone");
    CHECK_INT(e2e_foyer_stop(&f, T_MS), 0);
}

/* ---- stop under load ------------------------------------------------------------ */

#define DOWNLOAD_BYTES (4 * 1024 * 1024)


E2E_TEST(stop_under_load, 60)
{
    struct setup s = {.a = e2e_backend_start("a"), .b = e2e_backend_start("b")};
    s.port = e2e_free_port();
    char *text = config_text(&s, 0, false, false, ", grace_period = 10");
    struct e2e_foyer f;
    e2e_foyer_start_conf(&f, "foyer.lua", s.port, text, NULL);
    free(text);
    pid_t workers[16];
    int nw = e2e_foyer_workers(&f, workers, 16);

    /* In flight at SIGTERM: four slow answers, a big download to a slow reader. */
    enum { NSLOW = 4 };
    struct e2e_conn slow[NSLOW], down, idle;
    for (int i = 0; i < NSLOW; i++) {
        REQUIRE(e2e_conn_open(&slow[i], s.port));
        REQUIRE(e2e_send_str(&slow[i], "GET /slow/1500 HTTP/1.1\r\nHost: h\r\n\r\n", T_MS));
    }
    REQUIRE(e2e_conn_open(&down, s.port));
    int small = 16384;
    setsockopt(down.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    char req[128];
    snprintf(req, sizeof req, "GET /size/%d HTTP/1.1\r\nHost: h\r\n\r\n", DOWNLOAD_BYTES);
    REQUIRE(e2e_send_str(&down, req, T_MS));
    /* And an idle keep-alive connection, which is closed at once. */
    struct e2e_resp r = {0};
    REQUIRE(e2e_conn_open(&idle, s.port));
    REQUIRE(e2e_send_str(&idle, "GET /before HTTP/1.1\r\nHost: h\r\n\r\n", T_MS));
    REQUIRE(e2e_read_response(&idle, &r, T_MS) == 1 && r.status == 200);
    e2e_resp_free(&r);
    /* The download's first bytes, so that it is surely under way. */
    struct e2e_resp dr = {0};
    REQUIRE(e2e_read_head(&down, &dr, T_MS) == 1 && dr.status == 200);
    e2e_resp_free(&dr);
    /* The slow ones are in flight once the backend has them (all six to a):
     * one still in the listen queue at SIGTERM would be refused. */
    REQUIREF(e2e_backend_wait_requests(s.a.port, NSLOW + 2, T_MS),
             "the slow requests did not all reach the backend");

    int64_t t0 = e2e_now_ms();
    REQUIRE(kill(f.pid, SIGTERM) == 0);
    CHECKF(e2e_wait_closed(&idle, 2000), "the idle keep-alive connection stayed open after SIGTERM");
    bool refused = wait_refuses(s.port, 1000);
    CHECKF(refused, "new connections are still accepted 1 s after SIGTERM");

    /* The body, slowly: 8 KiB per read, 4 ms apart (about 2.5 s for 4 MiB). */
    uint64_t fnv = E2E_FNV_INIT, total = 0;
    while (total < DOWNLOAD_BYTES) {
        if (down.pos == down.len && !e2e_recv_some(&down, 8192, T_MS)) break;
        size_t n = down.len - down.pos;
        if (n > DOWNLOAD_BYTES - total) n = (size_t)(DOWNLOAD_BYTES - total);
        fnv = e2e_fnv1a(fnv, down.buf + down.pos, n);
        down.pos += n;
        total += n;
        e2e_sleep_ms(4);
    }
    int64_t t_down = e2e_now_ms() - t0;
    e2e_log("download finished %lld ms after SIGTERM: %llu bytes", (long long)t_down,
            (unsigned long long)total);
    CHECKF(total == DOWNLOAD_BYTES && fnv == e2e_pattern_fnv(DOWNLOAD_BYTES),
           "download cut after SIGTERM: %llu of %d bytes%s", (unsigned long long)total,
           DOWNLOAD_BYTES, total == DOWNLOAD_BYTES ? " (wrong bytes)" : "");
    CHECKF(t_down > 1000, "the download was not slow (%lld ms): the test proves little",
           (long long)t_down);
    for (int i = 0; i < NSLOW; i++) {
        int rc = e2e_read_response(&slow[i], &r, T_MS);
        CHECKF(rc == 1 && r.status == 200 && r.body && !strcmp(r.body, "slept 1500 ms\n"),
               "slow request %d after SIGTERM: rc %d status %d", i, rc, r.status);
        e2e_resp_free(&r);
        e2e_conn_close(&slow[i]);
    }
    e2e_conn_close(&down);
    e2e_conn_close(&idle);
    int rc = e2e_wait(f.pid, 12000);
    int64_t t_exit = e2e_now_ms() - t0;
    e2e_log("foyer exited %d, %lld ms after SIGTERM", rc, (long long)t_exit);
    CHECKF(rc == 0, "foyer exit status %d after SIGTERM (-1: still running)", rc);
    CHECKF(t_exit < 10000, "foyer took %lld ms to stop (grace_period 10 s)", (long long)t_exit);
    CHECKF(t_exit < t_down + 2000, "foyer exited %lld ms after its last exchange ended",
           (long long)(t_exit - t_down));
    if (rc >= 0) f.pid = -1;
    for (int i = 0; i < nw; i++)
        CHECKF(e2e_wait_gone(workers[i], 1000), "worker %d outlived the master", (int)workers[i]);
}

E2E_TEST(stop_with_websocket_open, 30)
{
    struct setup s = {.a = e2e_backend_start("a"), .b = e2e_backend_start("b")};
    s.port = e2e_free_port();
    char *text = config_text(&s, 0, false, false, ", grace_period = 2");
    struct e2e_foyer f;
    e2e_foyer_start_conf(&f, "foyer.lua", s.port, text, NULL);
    free(text);
    struct e2e_conn ws;
    REQUIRE(ws_open(&ws, s.port));
    REQUIRE(ws_echo(&ws, "before the stop", T_MS));
    int64_t t0 = e2e_now_ms();
    REQUIRE(kill(f.pid, SIGTERM) == 0);
    e2e_sleep_ms(500);
    CHECKF(ws_echo(&ws, "during the grace period", T_MS),
           "the WebSocket stopped echoing 0.5 s after SIGTERM (grace_period 2 s)");
    CHECKF(wait_refuses(s.port, 1000), "new connections still accepted after SIGTERM");
    bool closed = e2e_wait_closed(&ws, 6000);
    int64_t t_closed = e2e_now_ms() - t0;
    e2e_log("WebSocket closed %lld ms after SIGTERM", (long long)t_closed);
    CHECKF(closed, "the WebSocket still open %lld ms after SIGTERM", (long long)t_closed);
    CHECKF(t_closed >= 1800, "the WebSocket closed %lld ms after SIGTERM, before the grace period's end",
           (long long)t_closed);
    int rc = e2e_wait(f.pid, 5000);
    int64_t t_exit = e2e_now_ms() - t0;
    e2e_log("foyer exited %d, %lld ms after SIGTERM", rc, (long long)t_exit);
    CHECKF(rc == 0, "foyer exit status %d after SIGTERM (-1: still running)", rc);
    CHECKF(t_exit < 4000, "foyer took %lld ms to stop with grace_period 2 s", (long long)t_exit);
    if (rc >= 0) f.pid = -1;
    e2e_conn_close(&ws);
}

static void remove_certs(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", certs_base);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", certs_base);
}

int main(void)
{
    const char *src = getenv("FOYER_SRCDIR") ? getenv("FOYER_SRCDIR") : ".";
    snprintf(certs_base, sizeof certs_base, "%.400s/foyer-hardening-certs.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(certs_base) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    atexit(remove_certs);
    snprintf(certs, sizeof certs, "%.500s/c", certs_base);
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "sh '%.2000s/tests/plugins/tls_certs.sh' '%s' >/dev/null", src, certs);
    if (system(cmd) != 0) {
        fprintf(stderr, "test_reload_hardening: making certificates failed (openssl?)\n");
        return 77; /* skip */
    }
    static const struct e2e_case cases[] = {
        E2E_CASE(fifty_reloads_under_load),
        E2E_CASE(stop_under_load),
        E2E_CASE(stop_with_websocket_open),
    };
    return e2e_run_suite("reload and stop hardening", cases, sizeof cases / sizeof *cases);
}
