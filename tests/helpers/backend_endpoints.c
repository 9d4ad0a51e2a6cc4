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
 *   /early/MS    a 103 Early Hints at once, the answer after MS milliseconds
 *   /silent      never answers
 *   /status/N    status N with a short body
 *   /ws          101 + Upgrade: websocket, then echoes raw bytes
 *   /conn        "conn=ID req=K\n": which backend connection, which request on it
 *   /stats       "conns=A open=B requests=C bad=D\n" (itself not counted)
 *   anything     "NAME METHOD TARGET\n"
 *
 * With --report, every path (those above included) is answered 200 with
 * Content-Type: application/json and a one-line JSON report of what was
 * received, once the request body has been read:
 *
 *   {"service":"NAME","method":"GET","target":"/a%20b?x=1","path":"/a%20b",
 *    "query":"x=1","version":"HTTP/1.1","host":"example.com",
 *    "headers":{"host":["example.com"],"x-dup":["1","2"]},
 *    "fields":[["Host","example.com"],["X-Dup","1"],["X-Dup","2"]],
 *    "body_bytes":0,"body_fnv":"cbf29ce484222325"}
 *
 * target is the request-target byte for byte ("query" is null without a '?',
 * "host" null without a Host field); "headers" maps lower-cased names to their
 * values in order, "fields" lists the field lines as received. Bytes outside
 * printable ASCII are escaped as \u00XX (Latin-1 code points = bytes).
 *
 * Whatever the mode, two request fields steer the backend itself:
 *   X-Backend-Response-Header: Name: value   (repeatable) adds "Name: value"
 *       to the response head, so tests can check what a proxy does to
 *       response headers;
 *   X-Backend-Control: stats | last          answers the /stats counters, or
 *       the last report sent (404 if none), instead of the request; such
 *       control requests are not counted.
 */
#include "backend.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* ---- report mode ------------------------------------------------------ */

/* A growable string for building a report. */
struct jbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void jb_put(struct jbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void jb_cstr(struct jbuf *b, const char *s)
{
    jb_put(b, s, strlen(s));
}

/* A JSON string; bytes outside printable ASCII become \u00XX. */
static void jb_str(struct jbuf *b, const char *s, size_t n, bool lower)
{
    jb_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            char esc[2] = {'\\', (char)ch};
            jb_put(b, esc, 2);
        } else if (ch < 0x20 || ch >= 0x7f) {
            char esc[8];
            snprintf(esc, sizeof(esc), "\\u%04x", ch);
            jb_put(b, esc, 6);
        } else {
            char c1 = (char)(lower && ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
            jb_put(b, &c1, 1);
        }
    }
    jb_put(b, "\"", 1);
}

struct field {
    const char *name, *val;
    size_t nlen, vlen;
};

struct fields {
    struct field *v;
    size_t n, cap;
    bool oom;
};

static bool collect_field(void *arg, const char *name, size_t nlen, const char *val, size_t vlen)
{
    struct fields *fs = arg;
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 32;
        struct field *nv = realloc(fs->v, cap * sizeof(*nv));
        if (!nv) {
            fs->oom = true;
            return false;
        }
        fs->v = nv;
        fs->cap = cap;
    }
    fs->v[fs->n++] = (struct field){name, val, nlen, vlen};
    return true;
}

static bool field_is(const struct field *f, const char *name)
{
    return strlen(name) == f->nlen && strncasecmp(f->name, name, f->nlen) == 0;
}

static bool same_name(const struct field *a, const struct field *b)
{
    return a->nlen == b->nlen && strncasecmp(a->name, b->name, a->nlen) == 0;
}

/* Everything but the body's size and hash, which be_body_done appends. */
static void report_begin(struct be_conn *c, const struct be_request *req, const struct fields *fs)
{
    struct jbuf b = {0};
    jb_cstr(&b, "{\"service\":");
    jb_str(&b, c->srv->name, c->srv->name_len, false);
    jb_cstr(&b, ",\"method\":");
    jb_str(&b, req->method, req->method_len, false);
    jb_cstr(&b, ",\"target\":");
    jb_str(&b, req->target, req->target_len, false);
    jb_cstr(&b, ",\"path\":");
    jb_str(&b, req->target, req->path_len, false);
    jb_cstr(&b, ",\"query\":");
    if (req->path_len < req->target_len)
        jb_str(&b, req->target + req->path_len + 1, req->target_len - req->path_len - 1, false);
    else
        jb_cstr(&b, "null");
    char ver[32];
    snprintf(ver, sizeof(ver), ",\"version\":\"HTTP/1.%d\"", req->minor);
    jb_cstr(&b, ver);
    jb_cstr(&b, ",\"host\":");
    const struct field *host = NULL;
    for (size_t i = 0; i < fs->n && !host; i++)
        if (field_is(&fs->v[i], "host"))
            host = &fs->v[i];
    if (host)
        jb_str(&b, host->val, host->vlen, false);
    else
        jb_cstr(&b, "null");
    /* headers: each name once (at its first occurrence), all its values. */
    jb_cstr(&b, ",\"headers\":{");
    bool first = true;
    for (size_t i = 0; i < fs->n; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = same_name(&fs->v[k], &fs->v[i]);
        if (seen)
            continue;
        if (!first)
            jb_put(&b, ",", 1);
        first = false;
        jb_str(&b, fs->v[i].name, fs->v[i].nlen, true);
        jb_put(&b, ":[", 2);
        bool vfirst = true;
        for (size_t k = i; k < fs->n; k++) {
            if (!same_name(&fs->v[k], &fs->v[i]))
                continue;
            if (!vfirst)
                jb_put(&b, ",", 1);
            vfirst = false;
            jb_str(&b, fs->v[k].val, fs->v[k].vlen, false);
        }
        jb_put(&b, "]", 1);
    }
    jb_cstr(&b, "},\"fields\":[");
    for (size_t i = 0; i < fs->n; i++) {
        jb_cstr(&b, i ? ",[" : "[");
        jb_str(&b, fs->v[i].name, fs->v[i].nlen, false);
        jb_put(&b, ",", 1);
        jb_str(&b, fs->v[i].val, fs->v[i].vlen, false);
        jb_put(&b, "]", 1);
    }
    jb_put(&b, "]", 1);
    if (b.oom) {
        free(b.p);
        b.p = NULL;
        b.len = 0;
    }
    free(c->report);
    c->report = b.p;
    c->report_len = b.len;
}

/* Sends the finished report (now that the body is read) and keeps a copy. */
static void report_send(struct be_conn *c)
{
    char tail[96];
    int tl = snprintf(tail, sizeof(tail), ",\"body_bytes\":%llu,\"body_fnv\":\"%016llx\"}\n",
                      (unsigned long long)c->body_bytes, (unsigned long long)c->body_hash);
    size_t len = c->report_len + (size_t)tl;
    char *full = c->report ? realloc(c->report, len + 1) : NULL;
    c->report = NULL;
    if (!full || len + 1024 > be_out_room(c)) {
        static const char msg[] = "report too large\n";
        free(full);
        be_resp_head(c, 500, sizeof(msg) - 1, "");
        if (!c->head_only)
            be_out(c, msg, sizeof(msg) - 1);
        return;
    }
    memcpy(full + c->report_len, tail, (size_t)tl + 1);
    be_resp_head(c, 200, (int64_t)len, "Content-Type: application/json\r\n");
    if (!c->head_only)
        be_out(c, full, len);
    free(c->srv->last_report);
    c->srv->last_report = full;
    c->srv->last_report_len = len;
}

/* Appends an X-Backend-Response-Header value ("Name: value") to c->resp_hdrs. */
static void take_response_header(struct be_conn *c, const char *val, size_t vlen)
{
    const char *colon = memchr(val, ':', vlen);
    if (!colon || colon == val)
        return;
    size_t nl = (size_t)(colon - val);
    const char *v = colon + 1, *ve = val + vlen;
    while (v < ve && *v == ' ')
        v++;
    size_t need = nl + 2 + (size_t)(ve - v) + 2;
    if (c->resp_hdrs_len + need > sizeof(c->resp_hdrs))
        return;
    char *o = c->resp_hdrs + c->resp_hdrs_len;
    memcpy(o, val, nl);
    memcpy(o + nl, ": ", 2);
    memcpy(o + nl + 2, v, (size_t)(ve - v));
    memcpy(o + need - 2, "\r\n", 2);
    c->resp_hdrs_len += need;
}

/* One pass over the fields: the ones that steer the backend, and (report
 * mode only) all of them, so that the common path allocates nothing. */
struct scan {
    struct be_conn *c;
    struct fields *all; /* NULL unless reporting */
    const char *control;
    size_t control_len;
};

static bool scan_field(void *arg, const char *name, size_t nlen, const char *val, size_t vlen)
{
    struct scan *sc = arg;
    if (nlen > 10 && (name[0] == 'x' || name[0] == 'X')) {
        struct field f = {name, val, nlen, vlen};
        if (field_is(&f, "x-backend-response-header")) {
            take_response_header(sc->c, val, vlen);
        } else if (field_is(&f, "x-backend-control") && !sc->control) {
            sc->control = val;
            sc->control_len = vlen;
        }
    }
    return !sc->all || collect_field(sc->all, name, nlen, val, vlen);
}

/* X-Backend-Control: answers about the backend instead of the request. */
static void control_request(struct be_conn *c, const char *val, size_t vlen)
{
    if (vlen == 5 && strncasecmp(val, "stats", 5) == 0) {
        ep_stats(c);
    } else if (vlen == 4 && strncasecmp(val, "last", 4) == 0) {
        if (c->srv->last_report)
            resp_text(c, 200, c->srv->last_report, c->srv->last_report_len);
        else
            resp_text(c, 404, "no report yet\n", 14);
    } else {
        resp_text(c, 400, "unknown control\n", 16);
    }
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
    c->resp_hdrs_len = 0;
    struct fields fs = {0};
    struct scan sc = {.c = c, .all = c->srv->report ? &fs : NULL};
    be_head_foreach(req, scan_field, &sc);
    bool control = sc.control != NULL;
    if (control)
        control_request(c, sc.control, sc.control_len);
    if (!control && (c->srv->report || !path_match(req, "/stats", NULL)))
        c->srv->stats.requests++;
    if (!control && c->srv->report) {
        c->ep = BE_EP_REPORT;
        report_begin(c, req, &fs);
    }
    free(fs.v);
    /* Interim answer first: the client waits for it before sending the body. */
    if (!control && req->expect_continue && c->body != BE_BODY_NONE && !c->http10)
        be_out(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    if (control || c->ep == BE_EP_REPORT || dispatch_immediate(c, req))
        return;
    if (path_match(req, "/sink", NULL)) {
        c->ep = BE_EP_SINK;
    } else if (path_match(req, "/slow/", &n)) {
        c->ep = BE_EP_SLOW;
        c->slow_ms = (double)n;
    } else if (path_match(req, "/early/", &n)) {
        static const char hints[] = "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n";
        be_out(c, hints, sizeof hints - 1);
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
    case BE_EP_REPORT:
        report_send(c);
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
    c->resp_hdrs_len = 0;
    free(c->report);
    c->report = NULL;
    if (c->ep == BE_EP_REPORT)
        c->ep = BE_EP_OTHER;
    resp_text(c, status, msg, sizeof(msg) - 1);
}
