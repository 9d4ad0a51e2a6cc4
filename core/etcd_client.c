/* etcd's HTTP/JSON gateway spoken from the master's loop (etcd_client.h).
 * Never blocks: connect, write and read are driven by one ev_io, and one
 * ev_timer bounds the time to an answer, so the master keeps serving signals
 * (and its workers) whatever etcd does. */
#include "etcd_client.h"
#include "addr.h"

#include <errno.h>
#include <stdarg.h>
#include <strings.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX (16 * 1024)
#define BODY_MAX (64u * 1024 * 1024) /* a range answer, or one watch message */

enum chunk_state { CH_SIZE, CH_DATA, CH_CRLF, CH_END };

struct etcd_http {
    struct ev_loop *loop;
    ev_io io;
    ev_timer timer;
    int fd;
    int stream;
    double timeout;
    const struct etcd_http_ops *ops;
    void *arg;
    char *out; /* the request */
    size_t out_len, out_pos;
    char *raw; /* received, not yet decoded */
    size_t raw_len, raw_cap;
    char *body; /* decoded body (stream: not yet delivered) */
    size_t body_len, body_cap;
    int connected, head_done, status, chunked;
    long long content_length; /* -1: none */
    enum chunk_state ch;
    size_t chunk_left;
    int in_callback, closed;
};

/* ---- lifetime --------------------------------------------------------------------- */

static void stop(struct etcd_http *h)
{
    ev_io_stop(h->loop, &h->io);
    ev_timer_stop(h->loop, &h->timer);
    if (h->fd >= 0) close(h->fd);
    h->fd = -1;
}

static void destroy(struct etcd_http *h)
{
    stop(h);
    free(h->out);
    free(h->raw);
    free(h->body);
    free(h);
}

void etcd_http_close(struct etcd_http *h)
{
    if (h == NULL) return;
    if (h->in_callback) { /* freed once the callback returns */
        stop(h);
        h->closed = 1;
        return;
    }
    destroy(h);
}

void etcd_http_drop_fd(struct etcd_http *h)
{
    if (h != NULL && h->fd >= 0) close(h->fd);
    if (h != NULL) h->fd = -1;
}

/* A final callback: the request ends with it. */
static void fail(struct etcd_http *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail(struct etcd_http *h, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    stop(h);
    h->in_callback = 1;
    h->ops->on_error(h->arg, why);
    destroy(h);
}

static void done(struct etcd_http *h)
{
    stop(h);
    h->in_callback = 1;
    if (h->stream)
        h->ops->on_error(h->arg, "the watch stream ended");
    else
        h->ops->on_done(h->arg, h->status, h->body ? h->body : "", h->body_len);
    destroy(h);
}

/* ---- buffers ---------------------------------------------------------------------- */

static int append(char **buf, size_t *len, size_t *cap, const char *p, size_t n,
                  size_t max)
{
    if (*len + n > max) return -1;
    if (*len + n + 1 > *cap) {
        size_t want = *cap ? *cap : 4096;
        while (want < *len + n + 1)
            want *= 2;
        char *b = realloc(*buf, want);
        if (b == NULL) return -1;
        *buf = b;
        *cap = want;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

/* ---- the answer ------------------------------------------------------------------- */

static int header_is(const char *line, size_t len, const char *name, const char **value)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':') return 0;
    *value = line + n + 1;
    while (**value == ' ' || **value == '\t')
        (*value)++;
    return 1;
}

/* The status line and the framing headers; the head's length, 0 if not
 * complete yet, -1 if malformed. */
static long parse_head(struct etcd_http *h)
{
    char *end = strstr(h->raw, "\r\n\r\n");
    if (end == NULL) return h->raw_len > HEAD_MAX ? -1 : 0;
    if (sscanf(h->raw, "HTTP/1.%*d %d", &h->status) != 1) return -1;
    h->content_length = -1;
    for (char *line = strstr(h->raw, "\r\n") + 2; line < end;) {
        char *eol = strstr(line, "\r\n");
        const char *v;
        if (header_is(line, (size_t)(eol - line), "content-length", &v))
            h->content_length = strtoll(v, NULL, 10);
        else if (header_is(line, (size_t)(eol - line), "transfer-encoding", &v))
            h->chunked = strncasecmp(v, "chunked", 7) == 0;
        line = eol + 2;
    }
    return end + 4 - h->raw;
}

static int take_body(struct etcd_http *h, const char *p, size_t n)
{
    return append(&h->body, &h->body_len, &h->body_cap, p, n, BODY_MAX);
}

/* Decodes what raw holds; 1 when the body is complete, -1 on error. */
static int decode_chunked(struct etcd_http *h, size_t *pos)
{
    while (*pos < h->raw_len) {
        const char *p = h->raw + *pos;
        size_t avail = h->raw_len - *pos;
        if (h->ch == CH_SIZE) {
            const char *eol = memchr(p, '\n', avail);
            if (eol == NULL) return avail > 64 ? -1 : 0;
            char *stop_at;
            unsigned long long size = strtoull(p, &stop_at, 16);
            if (stop_at == p || size > BODY_MAX) return -1;
            *pos += (size_t)(eol + 1 - p);
            h->chunk_left = (size_t)size;
            h->ch = size == 0 ? CH_END : CH_DATA;
            if (size == 0) return 1; /* trailers are not used by etcd */
        } else if (h->ch == CH_DATA) {
            size_t n = avail < h->chunk_left ? avail : h->chunk_left;
            if (take_body(h, p, n) != 0) return -1;
            *pos += n;
            h->chunk_left -= n;
            if (h->chunk_left == 0) h->ch = CH_CRLF;
        } else if (h->ch == CH_CRLF) {
            if (avail < 2) return 0;
            if (p[0] != '\r' || p[1] != '\n') return -1;
            *pos += 2;
            h->ch = CH_SIZE;
        } else {
            return 1;
        }
    }
    return 0;
}

/* Each complete line of a stream to the callback. */
static void deliver_lines(struct etcd_http *h)
{
    size_t start = 0;
    char *nl;
    h->in_callback = 1;
    while (!h->closed && (nl = memchr(h->body + start, '\n', h->body_len - start))) {
        size_t len = (size_t)(nl - (h->body + start));
        if (len > 0) h->ops->on_line(h->arg, h->body + start, len);
        start += len + 1;
    }
    h->in_callback = 0;
    if (h->closed) return;
    memmove(h->body, h->body + start, h->body_len - start);
    h->body_len -= start;
}

/* 1: complete, 0: more to come, -1: bad answer. */
static int process(struct etcd_http *h)
{
    size_t pos = 0;
    if (!h->head_done) {
        long head = parse_head(h);
        if (head <= 0) return (int)head;
        h->head_done = 1;
        pos = (size_t)head;
        if (h->stream) {
            if (h->status != 200) return -1;
            ev_timer_stop(h->loop, &h->timer); /* a watch may stay quiet for ever */
        }
    }
    int r = 0;
    if (h->chunked) {
        r = decode_chunked(h, &pos);
    } else {
        size_t n = h->raw_len - pos;
        if (take_body(h, h->raw + pos, n) != 0) return -1;
        pos += n;
        r = h->content_length >= 0 && (long long)h->body_len >= h->content_length;
    }
    memmove(h->raw, h->raw + pos, h->raw_len - pos);
    h->raw_len -= pos;
    if (r >= 0 && h->stream && h->body_len > 0) deliver_lines(h);
    return r;
}

/* ---- I/O -------------------------------------------------------------------------- */

static void on_readable(struct etcd_http *h)
{
    char buf[16384];
    for (;;) {
        ssize_t n = read(h->fd, buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n < 0) return fail(h, "read: %s", strerror(errno));
        if (n == 0) {
            if (h->head_done && !h->chunked && h->content_length < 0) return done(h);
            return fail(h, "connection closed by etcd%s",
                        h->head_done ? "" : " before an answer");
        }
        if (append(&h->raw, &h->raw_len, &h->raw_cap, buf, (size_t)n,
                   BODY_MAX + HEAD_MAX))
            return fail(h, "answer too large");
        int r = process(h);
        if (h->closed) return destroy(h);
        if (r < 0 && h->head_done) return fail(h, "bad answer (HTTP %d)", h->status);
        if (r < 0) return fail(h, "bad answer");
        if (r > 0) return done(h);
    }
}

static void on_writable(struct etcd_http *h)
{
    if (!h->connected) {
        int e = 0;
        socklen_t len = sizeof e;
        if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0) e = errno;
        if (e != 0) return fail(h, "connect: %s", strerror(e));
        h->connected = 1;
    }
    while (h->out_pos < h->out_len) {
        ssize_t n =
            send(h->fd, h->out + h->out_pos, h->out_len - h->out_pos, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n < 0) return fail(h, "send: %s", strerror(errno));
        h->out_pos += (size_t)n;
    }
    ev_io_stop(h->loop, &h->io);
    ev_io_set(&h->io, h->fd, EV_READ);
    ev_io_start(h->loop, &h->io);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct etcd_http *h = w->data;
    if (revents & EV_WRITE)
        on_writable(h);
    else if (revents & EV_READ)
        on_readable(h);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct etcd_http *h = w->data;
    fail(h, "no answer within %gs", h->timeout);
}

static int open_socket(struct etcd_http *h, const char *addr, char *err, size_t errlen)
{
    union foyer_sockaddr sa;
    socklen_t salen;
    const char *why;
    if (foyer_addr_parse(addr, &sa, &salen, &why) != 0) {
        snprintf(err, errlen, "%s: %s", addr, why);
        return -1;
    }
    h->fd = socket(sa.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (h->fd < 0 || (connect(h->fd, &sa.sa, salen) != 0 && errno != EINPROGRESS)) {
        snprintf(err, errlen, "%s: connect: %s", addr, strerror(errno));
        return -1;
    }
    return 0;
}

struct etcd_http *etcd_http_post(struct ev_loop *loop, const char *addr, const char *path,
                                 const char *body, size_t len, int stream, double timeout,
                                 const struct etcd_http_ops *ops, void *arg, char *err,
                                 size_t errlen)
{
    struct etcd_http *h = calloc(1, sizeof *h);
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->loop = loop;
    h->fd = -1;
    h->stream = stream;
    h->timeout = timeout;
    h->ops = ops;
    h->arg = arg;
    h->out_len = strlen(path) + strlen(addr) + len + 160;
    if ((h->out = malloc(h->out_len)) == NULL) {
        snprintf(err, errlen, "out of memory");
        free(h);
        return NULL;
    }
    int n = snprintf(h->out, h->out_len,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     path, addr, len);
    memcpy(h->out + n, body, len);
    h->out_len = (size_t)n + len;
    if (open_socket(h, addr, err, errlen) != 0) {
        destroy(h);
        return NULL;
    }
    ev_io_init(&h->io, on_io, h->fd, EV_WRITE);
    h->io.data = h;
    ev_timer_init(&h->timer, on_timeout, timeout, 0);
    h->timer.data = h;
    ev_io_start(loop, &h->io);
    ev_timer_start(loop, &h->timer);
    return h;
}

/* ---- base64 ----------------------------------------------------------------------- */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void etcd_base64_encode(const unsigned char *in, size_t len, char *out)
{
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        *out++ = b64[v >> 18];
        *out++ = b64[(v >> 12) & 63];
        *out++ = b64[(v >> 6) & 63];
        *out++ = b64[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0);
        *out++ = b64[v >> 18];
        *out++ = b64[(v >> 12) & 63];
        *out++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
    *out = '\0';
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

long etcd_base64_decode(const char *in, size_t len, unsigned char *out)
{
    unsigned v = 0;
    int bits = 0;
    long n = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '=') break;
        int d = b64_value(in[i]);
        if (d < 0) return -1;
        v = (v << 6) | (unsigned)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(v >> bits);
        }
    }
    return n;
}
