/*
 * bench/tls_load: the TLS client of bench/tls.sh. One thread, epoll, OpenSSL.
 *
 *   tls_load --port P [--host NAME] [--path /size/100] [--mode full|resume|keepalive|idle]
 *            [--conns C] [--duration S] [-n N] [--tls12|--tls13] [--sigalgs LIST]
 *            [--window W] [--hold S] [--release-file F]
 *
 * Modes:
 *   full       a new connection per request: full handshake, one GET with
 *              Connection: close, then the connection is dropped. Sessions are
 *              never offered again, and every handshake is checked with
 *              SSL_session_reused(): `reused=` must stay 0.
 *   resume     the same, each connection offering the session of a first full
 *              handshake (`reused=` counts those the server accepted).
 *   keepalive  C connections, each sending GET after GET.
 *   idle       opens N connections (W in progress at a time), one GET each,
 *              prints "ready ...", holds them until --release-file exists or
 *              --hold seconds pass, prints "done alive=...".
 *
 * Output: one line of key=value: mode ops errors reused elapsed rate.
 * --sigalgs restricts the client's signature algorithms (TLS 1.3 picks the
 * server key by them: "ECDSA+SHA256" or "RSA-PSS+SHA256:RSA+SHA256").
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { FULL, RESUME, KEEPALIVE, IDLE };
enum st { ST_CONNECT, ST_HANDSHAKE, ST_SEND, ST_RECV, ST_HOLD };

struct conn {
    int fd;
    SSL *ssl;
    enum st st;
    char buf[4096];
    size_t have;
    size_t sent;
    long need;       /* total bytes of head+body once the head is parsed, -1 unknown */
    int counted_hs;
};

static enum mode mode = FULL;
static int port, nconns = 16, tls_version, window = 100;
static double duration = 5, hold = 120;
static long total_n = 1000;
static const char *host = "localhost", *path = "/size/100", *sigalgs, *release_file;
static SSL_CTX *ctx;
static SSL_SESSION *session;
static unsigned char session_der[8192];
static int session_len;
static int ep;
static char request[512];
static size_t request_len;
static long ops, errors, reused, handshakes, opened;
static struct sockaddr_in addr;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void watch(struct conn *c, uint32_t ev, int op)
{
    struct epoll_event e = {.events = ev, .data.ptr = c};
    epoll_ctl(ep, op, c->fd, &e);
}

static void drop(struct conn *c)
{
    /* a quiet end: without it SSL_free marks the session not resumable */
    if (c->ssl) SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    if (c->ssl) SSL_free(c->ssl);
    if (c->fd >= 0) {
        struct linger l = {1, 0}; /* RST: no TIME_WAIT on either side */
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        close(c->fd);
    }
    c->ssl = NULL;
    c->fd = -1;
    ERR_clear_error();
}

static int start(struct conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, host);
    SSL_set_connect_state(c->ssl);
    if (mode == RESUME && session_len > 0) {
        const unsigned char *p = session_der;
        SSL_SESSION *copy = d2i_SSL_SESSION(NULL, &p, session_len);
        if (copy) SSL_set_session(c->ssl, copy);
        SSL_SESSION_free(copy);
    }
    c->st = ST_CONNECT;
    c->have = c->sent = 0;
    c->need = -1;
    c->counted_hs = 0;
    opened++;
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) != 0 && errno != EINPROGRESS) {
        drop(c);
        return -1;
    }
    watch(c, EPOLLOUT, EPOLL_CTL_ADD);
    return 0;
}

/* Content-Length framing only (what /size/N answers). */
static void parse_head(struct conn *c)
{
    c->buf[c->have < sizeof c->buf ? c->have : sizeof c->buf - 1] = '\0';
    char *end = strstr(c->buf, "\r\n\r\n");
    if (end == NULL) return;
    long body = 0;
    for (char *p = c->buf; p < end; p = strstr(p, "\r\n") + 2) {
        if (strncasecmp(p, "content-length:", 15) == 0) body = atol(p + 15);
        if (strstr(p, "\r\n") == NULL) break;
    }
    c->need = (end + 4 - c->buf) + body;
}

/* Returns 1 when a whole response is in, 0 to wait, -1 on error. */
static int step(struct conn *c)
{
    int r;
    switch (c->st) {
    case ST_CONNECT:
        c->st = ST_HANDSHAKE;
        /* fall through */
    case ST_HANDSHAKE:
        r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ) return watch(c, EPOLLIN, EPOLL_CTL_MOD), 0;
            if (e == SSL_ERROR_WANT_WRITE) return watch(c, EPOLLOUT, EPOLL_CTL_MOD), 0;
            return -1;
        }
        handshakes++;
        if (SSL_session_reused(c->ssl)) reused++;
        c->st = ST_SEND;
        /* fall through */
    case ST_SEND:
        while (c->sent < request_len) {
            size_t w;
            r = SSL_write_ex(c->ssl, request + c->sent, request_len - c->sent, &w);
            if (r != 1) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_WRITE) return watch(c, EPOLLOUT, EPOLL_CTL_MOD), 0;
                if (e == SSL_ERROR_WANT_READ) return watch(c, EPOLLIN, EPOLL_CTL_MOD), 0;
                return -1;
            }
            c->sent += w;
        }
        c->st = ST_RECV;
        c->have = 0;
        c->need = -1;
        watch(c, EPOLLIN, EPOLL_CTL_MOD);
        /* fall through */
    case ST_RECV:
        for (;;) {
            char tmp[16384];
            size_t n;
            r = SSL_read_ex(c->ssl, tmp, sizeof tmp, &n);
            if (r != 1) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ) return 0;
                if (e == SSL_ERROR_WANT_WRITE) return watch(c, EPOLLOUT, EPOLL_CTL_MOD), 0;
                return -1;
            }
            if (c->have < sizeof c->buf - 1) {
                size_t k = n < sizeof c->buf - 1 - c->have ? n : sizeof c->buf - 1 - c->have;
                memcpy(c->buf + c->have, tmp, k);
            }
            c->have += n;
            if (c->need < 0) parse_head(c);
            if (c->need >= 0 && (long)c->have >= c->need) {
                if (strncmp(c->buf, "HTTP/1.1 200", 12) != 0) return -1;
                return 1;
            }
        }
    case ST_HOLD:
        return 0;
    }
    return -1;
}

/* The session of the first handshake (TLS 1.3: of its ticket), kept as DER:
 * each connection of resume mode offers a fresh copy of it (OpenSSL's client
 * treats a TLS 1.3 session object as spent once used, as s_client -sess_in
 * in a new process would not). */
static int new_session(SSL *ssl, SSL_SESSION *sess)
{
    if (session != NULL || !SSL_SESSION_is_resumable(sess)) return 0;
    int len = i2d_SSL_SESSION(sess, NULL);
    if (len <= 0 || len > (int)sizeof session_der) return 0;
    unsigned char *p = session_der;
    session_len = i2d_SSL_SESSION(sess, &p);
    session = sess;
    return 1; /* kept */
}

static void usage(void)
{
    fprintf(stderr, "usage: tls_load --port P [--host H] [--path P] [--mode full|resume|keepalive|idle]\n"
                    "       [--conns C] [--duration S] [-n N] [--tls12|--tls13] [--sigalgs L]\n"
                    "       [--window W] [--hold S] [--release-file F]\n");
    exit(2);
}

static int still_open(struct conn *c)
{
    char b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n > 0 || (n < 0 && errno == EAGAIN);
}

static int run_idle(struct conn *cs)
{
    double t0 = now();
    long done = 0, failed = 0, next = 0, inflight = 0;
    struct epoll_event evs[256];
    while (done + failed < total_n && now() - t0 < hold) {
        while (inflight < window && next < total_n) {
            if (start(&cs[next]) != 0) failed++;
            else inflight++;
            next++;
        }
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->st == ST_HOLD) continue;
            int r = step(c);
            if (r == 0) continue;
            inflight--;
            if (r < 0) {
                failed++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                drop(c);
                continue;
            }
            done++;
            c->st = ST_HOLD;
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        }
    }
    printf("ready n=%ld ok=%ld failed=%ld reused=%ld elapsed=%.1f\n", total_n, done, failed, reused,
           now() - t0);
    fflush(stdout);
    while (now() - t0 < hold && (release_file == NULL || access(release_file, F_OK) != 0))
        usleep(100000);
    long alive = 0;
    for (long i = 0; i < total_n; i++)
        if (cs[i].st == ST_HOLD && cs[i].fd >= 0 && still_open(&cs[i])) alive++;
    printf("done alive=%ld\n", alive);
    return 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--port") && v) port = atoi(v), i++;
        else if (!strcmp(a, "--host") && v) host = v, i++;
        else if (!strcmp(a, "--path") && v) path = v, i++;
        else if (!strcmp(a, "--conns") && v) nconns = atoi(v), i++;
        else if (!strcmp(a, "--duration") && v) duration = atof(v), i++;
        else if (!strcmp(a, "-n") && v) total_n = atol(v), i++;
        else if (!strcmp(a, "--window") && v) window = atoi(v), i++;
        else if (!strcmp(a, "--hold") && v) hold = atof(v), i++;
        else if (!strcmp(a, "--release-file") && v) release_file = v, i++;
        else if (!strcmp(a, "--sigalgs") && v) sigalgs = v, i++;
        else if (!strcmp(a, "--tls12")) tls_version = TLS1_2_VERSION;
        else if (!strcmp(a, "--tls13")) tls_version = TLS1_3_VERSION;
        else if (!strcmp(a, "--mode") && v) {
            i++;
            if (!strcmp(v, "full")) mode = FULL;
            else if (!strcmp(v, "resume")) mode = RESUME;
            else if (!strcmp(v, "keepalive")) mode = KEEPALIVE;
            else if (!strcmp(v, "idle")) mode = IDLE;
            else usage();
        } else usage();
    }
    if (port <= 0 || nconns <= 0) usage();
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* the client keeps no sessions of its own: resume mode takes the first
     * one it is given and offers it on every connection */
    if (mode == RESUME) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, new_session);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    if (tls_version) {
        SSL_CTX_set_min_proto_version(ctx, tls_version);
        SSL_CTX_set_max_proto_version(ctx, tls_version);
    }
    if (sigalgs && !SSL_CTX_set1_sigalgs_list(ctx, sigalgs)) {
        fprintf(stderr, "tls_load: bad --sigalgs %s\n", sigalgs);
        return 2;
    }
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);
    request_len = (size_t)snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n",
                                   path, host,
                                   mode == FULL || mode == RESUME ? "Connection: close\r\n" : "");
    ep = epoll_create1(0);
    if (mode == IDLE) {
        struct conn *cs = calloc((size_t)total_n, sizeof *cs);
        for (long i = 0; i < total_n; i++) cs[i].fd = -1;
        return run_idle(cs);
    }
    struct conn *cs = calloc((size_t)nconns, sizeof *cs);
    if (mode == RESUME) { /* one full handshake first, for the session */
        struct conn first = {.fd = -1};
        start(&first);
        double t = now();
        while (session == NULL && now() - t < 5) {
            struct epoll_event e;
            if (epoll_wait(ep, &e, 1, 100) == 1 && step(&first) != 0) break;
            if (session == NULL && first.st == ST_RECV) continue;
        }
        epoll_ctl(ep, EPOLL_CTL_DEL, first.fd, NULL);
        drop(&first);
        if (session == NULL) {
            fprintf(stderr, "tls_load: no session from the first handshake\n");
            return 1;
        }
        reused = handshakes = opened = 0;
    }
    for (int i = 0; i < nconns; i++) {
        cs[i].fd = -1;
        if (start(&cs[i]) != 0) errors++;
    }
    double t0 = now(), end = t0 + duration;
    struct epoll_event evs[256];
    while (now() < end) {
        int n = epoll_wait(ep, evs, 256, 50);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            int r = step(c);
            if (r == 0) continue;
            if (r > 0) ops++;
            else errors++;
            if (r > 0 && mode == KEEPALIVE) {
                c->st = ST_SEND;
                c->sent = 0;
                watch(c, EPOLLOUT, EPOLL_CTL_MOD);
                continue;
            }
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            drop(c);
            if (start(c) != 0) errors++;
        }
    }
    double el = now() - t0;
    printf("mode=%s ops=%ld errors=%ld handshakes=%ld reused=%ld elapsed=%.3f rate=%.1f\n",
           mode == FULL ? "full" : mode == RESUME ? "resume" : "keepalive", ops, errors, handshakes,
           reused, el, ops / el);
    return 0;
}
