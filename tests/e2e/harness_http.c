/*
 * E2E harness: a raw HTTP/1.1 client over blocking sockets with deadlines
 * (poll before every recv/send). Deliberately strict about what foyer sends:
 * CRLF line ends, a valid status line, coherent framing; anything else is
 * reported as a malformed response.
 */
#include "harness.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONN_BUF (256 * 1024)
#define BODY_KEEP_DEFAULT (1024 * 1024)

uint64_t e2e_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t e2e_pattern_fnv(uint64_t n)
{
    static char pat[26 * 2048];
    for (size_t i = 0; i < sizeof(pat); i++)
        pat[i] = (char)('a' + i % 26);
    uint64_t h = E2E_FNV_INIT;
    while (n) {
        size_t k = n < sizeof(pat) ? (size_t)n : sizeof(pat);
        h = e2e_fnv1a(h, pat, k); /* sizeof(pat) is a multiple of 26 */
        n -= k;
    }
    return h;
}

bool e2e_contains_ci(const char *hay, const char *needle)
{
    return hay && strcasestr(hay, needle) != NULL;
}

/* ---- connection ---------------------------------------------------------------- */

bool e2e_conn_open(struct e2e_conn *c, int port)
{
    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return false;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(c->fd);
        c->fd = -1;
        return false;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->cap = CONN_BUF;
    c->buf = malloc(c->cap);
    return c->buf != NULL;
}

void e2e_conn_close(struct e2e_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
}

static int wait_fd(int fd, short ev, int64_t deadline)
{
    int64_t left = deadline - e2e_now_ms();
    if (left < 0)
        left = 0;
    struct pollfd pfd = {fd, ev, 0};
    int r;
    while ((r = poll(&pfd, 1, (int)left)) < 0 && errno == EINTR)
        ;
    return r;
}

bool e2e_send(struct e2e_conn *c, const void *p, size_t n, int timeout_ms)
{
    int64_t deadline = e2e_now_ms() + timeout_ms;
    const char *b = p;
    while (n) {
        if (wait_fd(c->fd, POLLOUT, deadline) <= 0)
            return false;
        ssize_t w = send(c->fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (w <= 0)
            return false;
        b += w;
        n -= (size_t)w;
    }
    return true;
}

bool e2e_send_str(struct e2e_conn *c, const char *s, int timeout_ms)
{
    return e2e_send(c, s, strlen(s), timeout_ms);
}

static size_t pending(const struct e2e_conn *c)
{
    return c->len - c->pos;
}

/* Receives into the buffer until the deadline; false on EOF/error/timeout. */
static bool recv_more(struct e2e_conn *c, size_t max, int64_t deadline)
{
    if (c->eof)
        return false;
    if (c->pos > 0) {
        memmove(c->buf, c->buf + c->pos, pending(c));
        c->len -= c->pos;
        c->pos = 0;
    }
    size_t room = c->cap - c->len;
    if (max && room > max)
        room = max;
    if (room == 0 || wait_fd(c->fd, POLLIN, deadline) <= 0)
        return false;
    ssize_t n = recv(c->fd, c->buf + c->len, room, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return true;
    if (n <= 0) {
        c->eof = true;
        c->err = n < 0 ? errno : 0;
        return false;
    }
    c->len += (size_t)n;
    return true;
}

bool e2e_recv_some(struct e2e_conn *c, size_t max, int timeout_ms)
{
    return recv_more(c, max, e2e_now_ms() + timeout_ms);
}

bool e2e_wait_closed(struct e2e_conn *c, int timeout_ms)
{
    int64_t deadline = e2e_now_ms() + timeout_ms;
    while (!c->eof && e2e_now_ms() < deadline) {
        c->pos = c->len = 0;
        recv_more(c, 0, deadline);
    }
    return c->eof;
}

/* ---- response parsing ------------------------------------------------------------ */

void e2e_resp_free(struct e2e_resp *r)
{
    free(r->body);
    r->body = NULL;
}

/* Finds the field lines called name in head (its first line, the request or
 * status line, is skipped): counts them and copies the first value. */
static const char *head_find(const char *head, const char *name, int *count, char *out, size_t len)
{
    size_t nl = strlen(name);
    const char *line = strstr(head, "\r\n"), *found = NULL;
    while (line && line[2] != '\r' && line[2]) {
        line += 2;
        const char *end = strstr(line, "\r\n");
        if (!end)
            break;
        if ((size_t)(end - line) > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *ve = end;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if (!found && out) {
                snprintf(out, len, "%.*s", (int)(ve - v), v);
                found = out;
            }
            ++*count;
        }
        line = end;
    }
    return found;
}

const char *e2e_head_field(const char *head, const char *name, char *out, size_t len)
{
    int n = 0;
    return head_find(head, name, &n, out, len);
}

int e2e_head_count(const char *head, const char *name)
{
    int n = 0;
    head_find(head, name, &n, NULL, 0);
    return n;
}

const char *e2e_resp_header(const struct e2e_resp *r, const char *name, char *out, size_t len)
{
    return e2e_head_field(r->head, name, out, len);
}

static void body_feed(struct e2e_resp *r, const char *p, size_t n)
{
    size_t keep = r->body_keep ? r->body_keep : BODY_KEEP_DEFAULT;
    if (!r->body)
        r->body = calloc(1, keep + 1);
    if (r->body && r->body_len < keep) {
        size_t k = n < keep - r->body_len ? n : keep - r->body_len;
        memcpy(r->body + r->body_len, p, k);
        r->body_len += k;
        r->body[r->body_len] = 0;
    }
    r->body_total += n;
    r->body_fnv = e2e_fnv1a(r->body_fnv, p, n);
    if (r->progress)
        r->progress(r->progress_arg, r->body_total);
}

/* Waits for a CRLF-terminated line, or the end of the head ("\r\n\r\n"). */
static const char *find_buffered(struct e2e_conn *c, const char *what, size_t wlen,
                                 int64_t deadline, size_t max_recv)
{
    for (;;) {
        const char *hit = memmem(c->buf + c->pos, pending(c), what, wlen);
        if (hit)
            return hit;
        if (pending(c) > E2E_HEAD_MAX || !recv_more(c, max_recv, deadline))
            return NULL;
    }
}

static int parse_status_line(struct e2e_resp *r)
{
    int minor, status;
    char sp;
    if (sscanf(r->head, "HTTP/1.%d %3d%c", &minor, &status, &sp) != 3 || sp != ' ' ||
        status < 100 || status > 599) {
        e2e_log("malformed status line: %.80s", r->head);
        return -1;
    }
    return status;
}

/* Framing headers of the final head. */
static int parse_framing(struct e2e_resp *r)
{
    char v[256];
    r->content_length = -1;
    r->chunked = false;
    if (e2e_resp_header(r, "content-length", v, sizeof(v))) {
        char *end;
        long long n = strtoll(v, &end, 10);
        if (*end || n < 0) {
            e2e_log("bad Content-Length in response: %s", v);
            return -1;
        }
        r->content_length = n;
    }
    if (e2e_resp_header(r, "transfer-encoding", v, sizeof(v)))
        r->chunked = e2e_contains_ci(v, "chunked");
    r->conn_close = e2e_resp_header(r, "connection", v, sizeof(v)) && e2e_contains_ci(v, "close");
    if (r->chunked && r->content_length >= 0) {
        e2e_log("response has both Content-Length and chunked");
        return -1;
    }
    return 0;
}

int e2e_read_head(struct e2e_conn *c, struct e2e_resp *r, int timeout_ms)
{
    int64_t deadline = e2e_now_ms() + timeout_ms;
    const char *end = find_buffered(c, "\r\n\r\n", 4, deadline, r->recv_max);
    if (!end) {
        if (c->eof && pending(c) == 0)
            return 0;
        e2e_log("no complete response head (%zu bytes buffered%s)", pending(c),
                c->eof ? ", connection closed" : "");
        return -1;
    }
    size_t hl = (size_t)(end + 4 - (c->buf + c->pos));
    memcpy(r->head, c->buf + c->pos, hl);
    r->head[hl] = 0;
    r->head_len = hl;
    c->pos += hl;
    r->status = parse_status_line(r);
    return r->status < 0 ? -1 : 1;
}

/* Copies up to n body bytes out of the connection buffer. */
static bool body_read_exact(struct e2e_conn *c, struct e2e_resp *r, uint64_t n, int64_t deadline)
{
    while (n) {
        if (pending(c) == 0 && !recv_more(c, r->recv_max, deadline))
            return false;
        size_t k = pending(c) < n ? pending(c) : (size_t)n;
        body_feed(r, c->buf + c->pos, k);
        c->pos += k;
        n -= k;
    }
    return true;
}

static bool body_read_chunked(struct e2e_conn *c, struct e2e_resp *r, int64_t deadline)
{
    for (;;) {
        const char *eol = find_buffered(c, "\r\n", 2, deadline, r->recv_max);
        if (!eol)
            return false;
        char *end;
        unsigned long long size = strtoull(c->buf + c->pos, &end, 16);
        if (end == c->buf + c->pos || (end != eol && *end != ';')) {
            e2e_log("bad chunk size line in response");
            return false;
        }
        c->pos = (size_t)(eol + 2 - c->buf);
        if (size == 0)
            break;
        if (!body_read_exact(c, r, size, deadline))
            return false;
        while (pending(c) < 2)
            if (!recv_more(c, r->recv_max, deadline))
                return false;
        if (memcmp(c->buf + c->pos, "\r\n", 2) != 0) {
            e2e_log("chunk data not followed by CRLF");
            return false;
        }
        c->pos += 2;
    }
    /* Trailers up to the empty line. */
    for (;;) {
        const char *eol = find_buffered(c, "\r\n", 2, deadline, r->recv_max);
        if (!eol)
            return false;
        bool empty = eol == c->buf + c->pos;
        c->pos = (size_t)(eol + 2 - c->buf);
        if (empty)
            return true;
    }
}

static bool body_read_to_eof(struct e2e_conn *c, struct e2e_resp *r, int64_t deadline)
{
    for (;;) {
        if (pending(c)) {
            body_feed(r, c->buf + c->pos, pending(c));
            c->pos = c->len;
        }
        if (!recv_more(c, r->recv_max, deadline))
            return c->eof;
    }
}

static bool status_has_body(const struct e2e_resp *r)
{
    return !(r->head_request || r->status == 204 || r->status == 304 || r->status == 101);
}

int e2e_read_response(struct e2e_conn *c, struct e2e_resp *r, int timeout_ms)
{
    int64_t deadline = e2e_now_ms() + timeout_ms;
    r->ninterim = 0;
    r->body_len = r->body_total = 0;
    r->body_fnv = E2E_FNV_INIT;
    int rc;
    for (;;) {
        rc = e2e_read_head(c, r, (int)(deadline - e2e_now_ms()));
        if (rc <= 0)
            return rc;
        if (r->status >= 200 || r->status == 101)
            break;
        if (r->ninterim < 8)
            r->interim[r->ninterim++] = r->status;
    }
    if (parse_framing(r) < 0)
        return -1;
    if (!r->body)
        body_feed(r, "", 0); /* allocate: callers may read r->body as "" */
    bool ok = true;
    if (!status_has_body(r))
        ok = true;
    else if (r->chunked)
        ok = body_read_chunked(c, r, deadline);
    else if (r->content_length >= 0)
        ok = body_read_exact(c, r, (uint64_t)r->content_length, deadline);
    else
        ok = body_read_to_eof(c, r, deadline);
    if (!ok) {
        e2e_log("incomplete response body (status %d, got %llu bytes%s)", r->status,
                (unsigned long long)r->body_total, c->eof ? ", connection closed" : ", timeout");
        return -1;
    }
    return 1;
}

int e2e_request(int port, const char *raw, struct e2e_resp *r, int timeout_ms)
{
    struct e2e_conn c;
    if (!e2e_conn_open(&c, port))
        return -1;
    int rc = e2e_send_str(&c, raw, timeout_ms) ? e2e_read_response(&c, r, timeout_ms) : -1;
    e2e_conn_close(&c);
    return rc;
}

int e2e_get(int port, const char *host, const char *target, char *backend, size_t blen)
{
    char req[1024];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
             target, host);
    struct e2e_resp r = {0};
    int rc = e2e_request(port, req, &r, 5000);
    int status = rc == 1 ? r.status : -1;
    if (rc != 1)
        e2e_log("GET %s (Host %s): %s", target, host, rc == 0 ? "closed without a response"
                                                               : "no valid response");
    if (backend) {
        if (rc != 1 || !e2e_resp_header(&r, "x-backend", backend, blen))
            snprintf(backend, blen, "%s", "");
    }
    e2e_resp_free(&r);
    return status;
}

int e2e_http(int port, const char *method, const char *host, const char *target,
             const char *extra_headers, struct e2e_resp *r, int timeout_ms)
{
    size_t need = strlen(method) + strlen(target) + (host ? strlen(host) : 0) +
                  (extra_headers ? strlen(extra_headers) : 0) + 96;
    char *req = malloc(need);
    if (!req)
        return -1;
    snprintf(req, need, "%s %s HTTP/1.1\r\n%s%s%s%sConnection: close\r\n\r\n", method, target,
             host ? "Host: " : "", host ? host : "", host ? "\r\n" : "",
             extra_headers ? extra_headers : "");
    r->head_request = strcmp(method, "HEAD") == 0;
    int rc = e2e_request(port, req, r, timeout_ms);
    free(req);
    return rc;
}
