/* Meaning of a parsed head for a proxy: body framing (RFC 9112 §6), connection
 * management and hop-by-hop fields (RFC 9110 §7.6.1), the Host and the target.
 * Anything ambiguous is refused here, before a byte goes upstream. */
#include "http.h"

#include <stdlib.h>

/* Longer than any registered method (UPDATEREDIRECTREF is 17): not a method
 * anyone implements, and a cheap way to waste a backend's memory. */
#define FOYER_MAX_METHOD 32

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int foyer_http_is_hop_field(struct foyer_str n)
{
    switch (n.len) {
    case 2:
        return FOYER_STR_EQ_CI(n, "te");
    case 7:
        return FOYER_STR_EQ_CI(n, "upgrade") || FOYER_STR_EQ_CI(n, "trailer");
    case 10:
        return FOYER_STR_EQ_CI(n, "connection") || FOYER_STR_EQ_CI(n, "keep-alive");
    case 16:
        return FOYER_STR_EQ_CI(n, "proxy-connection");
    }
    return 0;
}

/* 1*DIGIT with nothing else; leading zeros are fine, overflow is not. */
static int parse_length(struct foyer_str v, uint64_t *out)
{
    if (v.len == 0 || v.len > 18) return -1;
    uint64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (!is_digit(v.p[i])) return -1;
        n = n * 10 + (uint64_t)(v.p[i] - '0');
    }
    *out = n;
    return 0;
}

/* Calls fn for each comma-separated token of a list value, OWS trimmed. */
static void each_token(struct foyer_str v, void (*fn)(struct foyer_str, void *),
                       void *arg)
{
    size_t i = 0;
    while (i < v.len) {
        while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
            i++;
        size_t s = i;
        while (i < v.len && v.p[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'))
            e--;
        if (e > s) fn((struct foyer_str){v.p + s, e - s}, arg);
    }
}

struct conn_tokens {
    struct foyer_http_head *h;
    int close, keep_alive, upgrade;
};

static void mark_named(struct foyer_http_head *h, struct foyer_str name)
{
    /* fields that define the message itself stay under the proxy's control */
    if (FOYER_STR_EQ_CI(name, "host") || FOYER_STR_EQ_CI(name, "content-length") ||
        FOYER_STR_EQ_CI(name, "transfer-encoding"))
        return;
    for (unsigned i = 0; i < h->nheaders; i++)
        if (foyer_str_eq_ci(h->headers[i].name, name.p, name.len))
            h->headers[i].flags |= FOYER_HDR_HOP;
}

static void on_conn_token(struct foyer_str t, void *arg)
{
    struct conn_tokens *ct = arg;
    if (FOYER_STR_EQ_CI(t, "close"))
        ct->close = 1;
    else if (FOYER_STR_EQ_CI(t, "keep-alive"))
        ct->keep_alive = 1;
    else if (FOYER_STR_EQ_CI(t, "upgrade"))
        ct->upgrade = 1;
    else
        mark_named(ct->h, t);
}

static void scan_connection(struct foyer_http_head *h, struct conn_tokens *ct)
{
    ct->h = h;
    ct->close = ct->keep_alive = ct->upgrade = 0;
    for (unsigned i = 0; i < h->nheaders; i++) {
        struct foyer_http_header *f = &h->headers[i];
        if (foyer_http_is_hop_field(f->name)) f->flags |= FOYER_HDR_HOP;
        if (FOYER_STR_EQ_CI(f->name, "connection"))
            each_token(f->value, on_conn_token, ct);
    }
}

/* Transfer-Encoding: chunked must be the final coding (else the length is
 * unknowable: 400); other codings are not implemented (501). Exactly
 * "chunked" is the only accepted value. */
struct te_scan {
    int tokens, last_chunked;
};

static void on_te_token(struct foyer_str t, void *arg)
{
    struct te_scan *ts = arg;
    ts->tokens++;
    ts->last_chunked = FOYER_STR_EQ_CI(t, "chunked");
}

static int check_te(struct foyer_str v)
{
    struct te_scan ts = {0, 0};
    each_token(v, on_te_token, &ts);
    if (!ts.last_chunked) return 400;
    if (ts.tokens > 1 || !FOYER_STR_EQ_CI(v, "chunked")) return 501;
    return 0;
}

/* uri-host [ ":" port ] with reg-name or IP-literal; no list, no userinfo. */
static int parse_host(struct foyer_str v, struct foyer_str *name, unsigned *port)
{
    size_t i = 0;
    if (v.len == 0) return -1;
    if (v.p[0] == '[') { /* IP-literal: hex digits, colons, dots (RFC 3986 §3.2.2) */
        for (i = 1; i < v.len && v.p[i] != ']'; i++) {
            char c = v.p[i];
            if (!(is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                  c == ':' || c == '.'))
                return -1;
        }
        if (i == v.len || i == 1) return -1;
        i++;
    } else {
        for (; i < v.len && v.p[i] != ':'; i++) {
            unsigned char c = (unsigned char)v.p[i];
            if (!(c == '-' || c == '.' || c == '_' || c == '~' || is_digit(c) ||
                  (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '%' ||
                  c == '!' || c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' ||
                  c == '*' || c == '+' || c == ';' || c == '='))
                return -1;
        }
    }
    if (i == 0) return -1;
    name->p = v.p;
    name->len = i;
    *port = 0;
    if (i == v.len) return 0;
    if (v.p[i] != ':') return -1;
    unsigned p = 0;
    for (size_t j = i + 1; j < v.len; j++) {
        if (!is_digit(v.p[j]) || j - i > 5) return -1;
        p = p * 10 + (unsigned)(v.p[j] - '0');
    }
    if (p > 65535) return -1;
    *port = p;
    return 0;
}

static void split_path(struct foyer_str t, struct foyer_request_info *ri)
{
    const char *q = memchr(t.p, '?', t.len);
    ri->path.p = t.p;
    ri->path.len = q ? (size_t)(q - t.p) : t.len;
    ri->query.p = q ? q + 1 : NULL;
    ri->query.len = q ? t.len - ri->path.len - 1 : 0;
}

/* absolute-form: the authority replaces Host (RFC 9112 §3.2.2). */
static int parse_absolute(struct foyer_str t, struct foyer_request_info *ri)
{
    size_t skip;
    if (t.len >= 7 && strncasecmp(t.p, "http://", 7) == 0)
        skip = 7;
    else if (t.len >= 8 && strncasecmp(t.p, "https://", 8) == 0)
        skip = 8;
    else
        return 400;
    size_t a = skip;
    while (a < t.len && t.p[a] != '/' && t.p[a] != '?')
        a++;
    struct foyer_str auth = {t.p + skip, a - skip};
    if (memchr(auth.p, '@', auth.len) != NULL) return 400;
    if (parse_host(auth, &ri->host_name, &ri->port) != 0) return 400;
    ri->host = auth;
    ri->absolute_form = 1;
    if (a == t.len || t.p[a] == '?') {
        static const char slash[] = "/";
        ri->path.p = slash;
        ri->path.len = 1;
        ri->query.p = a < t.len ? t.p + a + 1 : NULL;
        ri->query.len = a < t.len ? t.len - a - 1 : 0;
        return 0;
    }
    split_path((struct foyer_str){t.p + a, t.len - a}, ri);
    return 0;
}

static int analyze_target(struct foyer_http_head *h, struct foyer_request_info *ri)
{
    struct foyer_str t = h->target;
    if (t.len == 0 || memchr(t.p, '#', t.len) != NULL) return 400;
    if (t.p[0] == '/') {
        split_path(t, ri);
        return 0;
    }
    if (t.len == 1 && t.p[0] == '*') {
        if (!FOYER_STR_EQ_CI(h->method, "OPTIONS")) return 400;
        ri->path = t;
        return 0;
    }
    return parse_absolute(t, ri);
}

struct req_fields {
    int hosts, cls, tes;
    struct foyer_str host, upgrade;
};

static int scan_request_fields(struct foyer_http_head *h, struct foyer_request_info *ri,
                               struct req_fields *rf)
{
    for (unsigned i = 0; i < h->nheaders; i++) {
        struct foyer_http_header *f = &h->headers[i];
        struct foyer_str n = f->name;
        if (FOYER_STR_EQ_CI(n, "host")) {
            rf->hosts++;
            rf->host = f->value;
        } else if (FOYER_STR_EQ_CI(n, "content-length")) {
            uint64_t len;
            if (parse_length(f->value, &len) != 0) return 400;
            if (rf->cls++ && len != ri->content_length) return 400;
            ri->content_length = len;
            ri->has_length = 1;
            f->flags |= FOYER_HDR_REPLACED;
        } else if (FOYER_STR_EQ_CI(n, "transfer-encoding")) {
            if (rf->tes++) return 400;
            int err = check_te(f->value);
            if (err) return err;
            f->flags |= FOYER_HDR_REPLACED;
        } else if (FOYER_STR_EQ_CI(n, "expect")) {
            f->flags |= FOYER_HDR_REPLACED;
            if (h->version < 11) continue; /* RFC 9110 §10.1.1: ignored in 1.0 */
            if (!FOYER_STR_EQ_CI(f->value, "100-continue")) return 417;
            ri->expect_continue = 1;
            f->flags |= FOYER_HDR_REPLACED; /* answered by the proxy itself */
        } else if (FOYER_STR_EQ_CI(n, "upgrade")) {
            rf->upgrade = f->value;
        }
    }
    return 0;
}

static int analyze_host(struct foyer_http_head *h, struct foyer_request_info *ri,
                        struct req_fields *rf)
{
    if (rf->hosts > 1) return 400;
    if (rf->hosts == 0) return h->version >= 11 ? 400 : 0; /* RFC 9112 §3.2 */
    struct foyer_str name;
    unsigned port;
    if (parse_host(rf->host, &name, &port) != 0) return 400;
    if (ri->absolute_form) return 0; /* the authority wins */
    ri->host = rf->host;
    ri->host_name = name;
    ri->port = port;
    return 0;
}

static void find_h2c(struct foyer_str t, void *arg)
{
    if (FOYER_STR_EQ_CI(t, "h2c")) *(int *)arg = 1;
}

static int names_h2c(struct foyer_str upgrade)
{
    int found = 0;
    each_token(upgrade, find_h2c, &found);
    return found;
}

int foyer_request_analyze(struct foyer_http_head *h, struct foyer_request_info *ri)
{
    memset(ri, 0, sizeof *ri);
    if (FOYER_STR_EQ_CI(h->method, "CONNECT")) return 405;
    if (h->method.len > FOYER_MAX_METHOD) return 501;
    ri->is_head = h->method.len == 4 && memcmp(h->method.p, "HEAD", 4) == 0;
    int err = analyze_target(h, ri);
    struct req_fields rf = {0};
    if (!err) err = scan_request_fields(h, ri, &rf);
    if (!err) err = analyze_host(h, ri, &rf);
    if (err) return err;
    if (rf.cls && rf.tes) return 400;
    if (rf.tes) {
        if (h->version < 11) return 400; /* RFC 9112 §6.1: chunked in 1.0 is unreliable */
        ri->body = FOYER_BODY_CHUNKED;
    } else if (rf.cls && ri->content_length > 0) {
        ri->body = FOYER_BODY_LENGTH;
    }
    struct conn_tokens ct;
    scan_connection(h, &ct);
    ri->keep_alive = h->version >= 11 ? !ct.close : (ct.keep_alive && !ct.close);
    /* h2c is a hop-by-hop protocol switch this proxy does not speak (RFC 9113 §3.1) */
    if (ct.upgrade && rf.upgrade.len > 0 && h->version >= 11 && !names_h2c(rf.upgrade)) {
        ri->is_upgrade = 1;
        ri->upgrade = rf.upgrade;
    }
    return 0;
}

int foyer_response_analyze(struct foyer_http_head *h, int request_was_head,
                           struct foyer_response_info *ri)
{
    memset(ri, 0, sizeof *ri);
    int cls = 0, tes = 0;
    for (unsigned i = 0; i < h->nheaders; i++) {
        struct foyer_http_header *f = &h->headers[i];
        if (FOYER_STR_EQ_CI(f->name, "content-length")) {
            uint64_t len;
            if (parse_length(f->value, &len) != 0) return 502;
            if (cls++ && len != ri->content_length) return 502;
            ri->content_length = len;
            f->flags |= FOYER_HDR_REPLACED;
        } else if (FOYER_STR_EQ_CI(f->name, "transfer-encoding")) {
            if (tes++ || check_te(f->value) != 0) return 502;
            f->flags |= FOYER_HDR_REPLACED;
        }
    }
    struct conn_tokens ct;
    scan_connection(h, &ct);
    ri->keep_alive = h->version >= 11 ? !ct.close : (ct.keep_alive && !ct.close);
    int st = h->status;
    if (st < 100 || st > 999) return 502;
    if (st == 101) ri->is_upgrade = 1;
    if (st < 200 || st == 204 || st == 304 || request_was_head) {
        ri->body = FOYER_BODY_NONE;
    } else if (tes) {
        ri->body = FOYER_BODY_CHUNKED;
    } else if (cls) {
        ri->body = ri->content_length ? FOYER_BODY_LENGTH : FOYER_BODY_NONE;
    } else {
        ri->body = FOYER_BODY_CLOSE;
        ri->keep_alive = 0;
    }
    /* HEAD, 204 and 304 answers keep their Content-Length as sent */
    if (ri->body != FOYER_BODY_LENGTH && !tes)
        for (unsigned i = 0; i < h->nheaders; i++)
            h->headers[i].flags &= ~FOYER_HDR_REPLACED;
    return 0;
}

const char *foyer_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 206:
        return "Partial Content";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 417:
        return "Expectation Failed";
    case 418:
        return "I'm a teapot";
    case 421:
        return "Misdirected Request";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    }
    return status < 300   ? "OK"
           : status < 400 ? "Redirect"
           : status < 500 ? "Client Error"
                          : "Server Error";
}
