/*
 * What each path of the test backend answers. Every response carries
 * X-Backend: NAME so the tests can tell which origin served a request.
 *
 *   /size/N      N pattern bytes, Content-Length (the benchmark target)
 *   /chunked/N   N pattern bytes, chunked, chunks of at most 4096 bytes
 *   /close/N     N pattern bytes, no length, Connection: close
 *   /echo        the request body, streamed back as it arrives
 *   /sink        "bytes=N sha=X\n" over the request body (X: FNV-1a 64 hex)
 *   /headers     the raw request head as received
 *   /slow/MS     answers after MS milliseconds
 *   /silent      never answers
 *   /status/N    status N with a short body
 *   /ws          101 + Upgrade: websocket, then echoes raw bytes
 *   /conn        "conn=ID req=K\n": which backend connection, which request on it
 *   /stats       "conns=A open=B requests=C bad=D\n" (itself not counted)
 *   anything     "NAME METHOD TARGET\n"
 */
#include "backend.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

static char pattern[BE_PATTERN_SPAN + 26];

const char *be_pattern(uint64_t off)
{
    /* Filled on first use; the backend is single-threaded. */
    if (pattern[0] == 0) {
        for (size_t i = 0; i < sizeof(pattern); i++)
            pattern[i] = (char)('a' + i % 26);
    }
    return pattern + off % 26;
}

/* Does the path equal prefix, or start with prefix followed by a number?
 * Sets *num in the second case; -1 in the first. */
static bool path_match(const struct be_request *req, const char *prefix, int64_t *num)
{
    size_t pl = strlen(prefix);
    if (req->path_len < pl || memcmp(req->target, prefix, pl) != 0)
        return false;
    if (!num)
        return req->path_len == pl;
    if (req->path_len == pl || req->path_len - pl > 15)
        return false;
    int64_t n = 0;
    for (size_t i = pl; i < req->path_len; i++) {
        char ch = req->target[i];
        if (ch < '0' || ch > '9')
            return false;
        n = n * 10 + (ch - '0');
    }
    *num = n;
    return true;
}

/* Queues a body of n pattern bytes: copied when small (so pipelined answers
 * batch), otherwise written from the pattern by writev. */
static void body_pattern(struct be_conn *c, uint64_t n)
{
    if (c->head_only || n == 0)
        return;
    if (n <= BE_INLINE_BODY) {
        be_out(c, be_pattern(0), (size_t)n);
        return;
    }
    c->gen = BE_GEN_RAW;
    c->gen_off = 0;
    c->gen_left = n;
}

static void resp_text(struct be_conn *c, int status, const char *body, size_t len)
{
    be_resp_head(c, status, (int64_t)len, "");
    if (!c->head_only)
        be_out(c, body, len);
}

static void ep_size(struct be_conn *c, int64_t n)
{
    be_resp_head(c, 200, n, "");
    body_pattern(c, (uint64_t)n);
}

static void ep_chunked(struct be_conn *c, int64_t n)
{
    if (c->http10) { /* no chunked for HTTP/1.0: delimit by close */
        c->keepalive = false;
        be_resp_head(c, 200, -1, "");
        body_pattern(c, (uint64_t)n);
        return;
    }
    be_resp_head(c, 200, -1, "Transfer-Encoding: chunked\r\n");
    if (c->head_only)
        return;
    c->gen = BE_GEN_CHUNKED;
    c->gen_off = 0;
    c->gen_left = (uint64_t)n;
    c->gen_final_pending = true;
}

static void ep_close(struct be_conn *c, int64_t n)
{
    c->keepalive = false;
    be_resp_head(c, 200, -1, "");
    body_pattern(c, (uint64_t)n);
}

static void ep_echo_start(struct be_conn *c, const struct be_request *req)
{
    c->ep = BE_EP_ECHO;
    if (req->chunked && !c->http10) {
        c->echo_chunked = true;
        be_resp_head(c, 200, -1, "Transfer-Encoding: chunked\r\n");
    } else if (req->chunked) {
        c->keepalive = false;
        be_resp_head(c, 200, -1, "");
    } else {
        be_resp_head(c, 200, req->content_length > 0 ? req->content_length : 0, "");
    }
}

static void ep_status(struct be_conn *c, int64_t n)
{
    if (n < 200 || n > 599) {
        be_reject(c, 400);
        return;
    }
    if (n == 204 || n == 304) {
        be_resp_head(c, (int)n, -1, "");
        return;
    }
    char body[32];
    int len = snprintf(body, sizeof(body), "status %d\n", (int)n);
    resp_text(c, (int)n, body, (size_t)len);
}

/* Sec-WebSocket-Accept = base64(SHA-1(key + RFC 6455 GUID)). */
static void ws_accept(const char *key, size_t len, char out[64])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char buf[256];
    unsigned char md[SHA_DIGEST_LENGTH];
    if (len > sizeof(buf) - sizeof(guid))
        len = sizeof(buf) - sizeof(guid);
    memcpy(buf, key, len);
    memcpy(buf + len, guid, sizeof(guid) - 1);
    SHA1((const unsigned char *)buf, len + sizeof(guid) - 1, md);
    EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}

static void ep_ws(struct be_conn *c, const struct be_request *req)
{
    if (!req->upgrade_websocket) {
        static const char msg[] = "websocket upgrade required\n";
        resp_text(c, 426, msg, sizeof(msg) - 1);
        return;
    }
    char extra[256], acc[64] = "";
    if (req->ws_key)
        ws_accept(req->ws_key, req->ws_key_len, acc);
    snprintf(extra, sizeof(extra), "Upgrade: websocket\r\nConnection: Upgrade\r\n%s%s%s",
             acc[0] ? "Sec-WebSocket-Accept: " : "", acc, acc[0] ? "\r\n" : "");
    c->ep = BE_EP_WS;
    c->upgrade = true;
    be_resp_head(c, 101, -1, extra);
}

static void ep_headers(struct be_conn *c, const struct be_request *req)
{
    resp_text(c, 200, req->method, req->head_len);
}

static void ep_conn(struct be_conn *c)
{
    char body[64];
    int len = snprintf(body, sizeof(body), "conn=%llu req=%llu\n", (unsigned long long)c->id,
                       (unsigned long long)c->nreq);
    resp_text(c, 200, body, (size_t)len);
}

static void ep_stats(struct be_conn *c)
{
    const struct be_stats *s = &c->srv->stats;
    char body[128];
    int len = snprintf(body, sizeof(body), "conns=%llu open=%llu requests=%llu bad=%llu\n",
                       (unsigned long long)s->conns, (unsigned long long)s->open,
                       (unsigned long long)s->requests, (unsigned long long)s->bad);
    resp_text(c, 200, body, (size_t)len);
}

static void ep_default(struct be_conn *c, const struct be_request *req)
{
    size_t len = c->srv->name_len + req->method_len + req->target_len + 3;
    be_resp_head(c, 200, (int64_t)len, "");
    if (c->head_only)
        return;
    be_outf(c, "%s %.*s %.*s\n", c->srv->name, (int)req->method_len, req->method,
            (int)req->target_len, req->target);
}

/* Endpoints answered as soon as the head is known; false if not one. */
static bool dispatch_immediate(struct be_conn *c, const struct be_request *req)
{
    int64_t n;
    if (path_match(req, "/size/", &n))
        ep_size(c, n);
    else if (path_match(req, "/chunked/", &n))
        ep_chunked(c, n);
    else if (path_match(req, "/close/", &n))
        ep_close(c, n);
    else if (path_match(req, "/status/", &n))
        ep_status(c, n);
    else if (path_match(req, "/echo", NULL))
        ep_echo_start(c, req);
    else if (path_match(req, "/headers", NULL))
        ep_headers(c, req);
    else if (path_match(req, "/ws", NULL))
        ep_ws(c, req);
    else if (path_match(req, "/conn", NULL))
        ep_conn(c);
    else if (path_match(req, "/stats", NULL))
        ep_stats(c);
    else
        return false;
    return true;
}

void be_dispatch(struct be_conn *c, const struct be_request *req)
{
    int64_t n;
    c->ep = BE_EP_OTHER;
    c->echo_chunked = false;
    c->head_only = req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0;
    if (!path_match(req, "/stats", NULL))
        c->srv->stats.requests++;
    /* Interim answer first: the client waits for it before sending the body. */
    if (req->expect_continue && c->body != BE_BODY_NONE && !c->http10)
        be_out(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    if (dispatch_immediate(c, req))
        return;
    if (path_match(req, "/sink", NULL)) {
        c->ep = BE_EP_SINK;
    } else if (path_match(req, "/slow/", &n)) {
        c->ep = BE_EP_SLOW;
        c->slow_ms = (double)n;
    } else if (path_match(req, "/silent", NULL)) {
        c->ep = BE_EP_SILENT;
    } else {
        ep_default(c, req);
    }
}

void be_body_done(struct be_conn *c)
{
    char body[96];
    int len;
    switch (c->ep) {
    case BE_EP_SINK:
        len = snprintf(body, sizeof(body), "bytes=%llu sha=%016llx\n",
                       (unsigned long long)c->body_bytes, (unsigned long long)c->body_hash);
        resp_text(c, 200, body, (size_t)len);
        break;
    case BE_EP_ECHO:
        if (c->echo_chunked)
            be_out(c, "0\r\n\r\n", 5);
        break;
    case BE_EP_SLOW:
        c->st = BE_ST_WAIT;
        ev_timer_set(&c->timer, c->slow_ms / 1000.0, 0.);
        ev_timer_start(c->srv->loop, &c->timer);
        break;
    case BE_EP_SILENT:
        c->st = BE_ST_SILENT;
        break;
    default:
        break;
    }
}

void be_slow_expired(struct be_conn *c)
{
    char body[64];
    int len = snprintf(body, sizeof(body), "slept %.0f ms\n", c->slow_ms);
    resp_text(c, 200, body, (size_t)len);
}

void be_reject(struct be_conn *c, int status)
{
    static const char msg[] = "bad request\n";
    c->srv->stats.bad++;
    c->keepalive = false;
    c->upgrade = false;
    c->head_only = false;
    c->gen = BE_GEN_NONE;
    c->st = BE_ST_SEND;
    resp_text(c, status, msg, sizeof(msg) - 1);
}
