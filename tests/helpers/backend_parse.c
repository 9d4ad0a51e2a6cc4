/*
 * Request-head parser and chunked decoder of the test backend.
 *
 * Strict on purpose: when foyer forwards something ambiguous (CL + TE, two
 * lengths, obs-fold, a space before a colon) the backend rejects it and counts
 * it in /stats, so the e2e tests notice. Bare LF line ends are accepted in the
 * head because they are unambiguous for a reader that splits on LF; foyer
 * must still reject them on the client side, which the tests check by
 * verifying that nothing reached the backend at all.
 */
#include "backend.h"

#include <string.h>
#include <strings.h>

static bool is_tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return true;
    return ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static bool name_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* Case-insensitive search for a token in a comma-separated list value. */
static bool list_has(const char *v, size_t len, const char *tok)
{
    size_t tl = strlen(tok);
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t start = i;
        while (i < len && v[i] != ',')
            i++;
        size_t end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        if (end - start == tl && strncasecmp(v + start, tok, tl) == 0)
            return true;
    }
    return false;
}

static int parse_content_length(const char *v, size_t len, int64_t *out)
{
    if (len == 0 || len > 18)
        return -1;
    int64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        n = n * 10 + (v[i] - '0');
    }
    *out = n;
    return 0;
}

/* Applies one header field to req; -1 if it makes the request invalid. */
static int apply_field(struct be_request *req, const char *name, size_t nlen, const char *val,
                       size_t vlen, int *te_seen)
{
    if (name_is(name, nlen, "content-length")) {
        int64_t n;
        if (parse_content_length(val, vlen, &n) < 0)
            return -1;
        if (req->content_length >= 0 && req->content_length != n)
            return -1;
        req->content_length = n;
    } else if (name_is(name, nlen, "transfer-encoding")) {
        /* Only a single "chunked" is meaningful to this origin. */
        if (++*te_seen > 1 || !(vlen == 7 && strncasecmp(val, "chunked", 7) == 0))
            return -1;
        req->chunked = true;
    } else if (name_is(name, nlen, "connection")) {
        req->conn_close |= list_has(val, vlen, "close");
        req->conn_keepalive |= list_has(val, vlen, "keep-alive");
    } else if (name_is(name, nlen, "expect")) {
        req->expect_continue = vlen == 12 && strncasecmp(val, "100-continue", 12) == 0;
    } else if (name_is(name, nlen, "upgrade")) {
        req->upgrade_websocket = list_has(val, vlen, "websocket");
    } else if (name_is(name, nlen, "sec-websocket-key")) {
        req->ws_key = val;
        req->ws_key_len = vlen;
    }
    return 0;
}

/* "name: value" (line without its line end). */
static int parse_field_line(struct be_request *req, const char *p, size_t len, int *te_seen)
{
    size_t i = 0;
    while (i < len && is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i >= len || p[i] != ':')
        return -1; /* empty name, obs-fold, space before colon, bad char */
    const char *name = p;
    size_t nlen = i++;
    while (i < len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    size_t end = len;
    while (end > i && (p[end - 1] == ' ' || p[end - 1] == '\t'))
        end--;
    for (size_t k = i; k < end; k++) {
        unsigned char ch = (unsigned char)p[k];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return -1;
    }
    return apply_field(req, name, nlen, p + i, end - i, te_seen);
}

/* "METHOD SP target SP HTTP/1.x" */
static int parse_request_line(struct be_request *req, const char *p, size_t len)
{
    size_t i = 0;
    while (i < len && is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i >= len || p[i] != ' ')
        return -1;
    req->method = p;
    req->method_len = i++;
    size_t t = i;
    while (i < len && (unsigned char)p[i] > 0x20 && p[i] != 0x7f)
        i++;
    if (i == t || i >= len || p[i] != ' ')
        return -1;
    req->target = p + t;
    req->target_len = i - t;
    const char *q = memchr(req->target, '?', req->target_len);
    req->path_len = q ? (size_t)(q - req->target) : req->target_len;
    i++;
    if (len - i != 8 || memcmp(p + i, "HTTP/1.", 7) != 0 || p[i + 7] < '0' || p[i + 7] > '9')
        return -1;
    req->minor = p[i + 7] - '0';
    return 0;
}

/* Finds the next line in [p, end); returns its length without CR/LF and sets
 * *next past the LF, or returns -1 when no LF is there yet. */
static ssize_t next_line(const char *p, const char *end, const char **next)
{
    const char *lf = memchr(p, '\n', (size_t)(end - p));
    if (!lf)
        return -1;
    *next = lf + 1;
    size_t l = (size_t)(lf - p);
    if (l > 0 && p[l - 1] == '\r')
        l--;
    return (ssize_t)l;
}

enum be_parse_status be_parse_head(const char *buf, size_t len, struct be_request *req)
{
    const char *end = buf + len, *p = buf, *next;
    memset(req, 0, sizeof(*req));
    req->content_length = -1;
    ssize_t l;
    /* RFC 9112 2.2: ignore at least one empty line before the request line. */
    while ((l = next_line(p, end, &next)) == 0)
        p = next;
    if (l < 0)
        return BE_PARSE_AGAIN;
    req->skip = (size_t)(p - buf);
    if (memchr(p, '\r', (size_t)l) || parse_request_line(req, p, (size_t)l) < 0)
        return BE_PARSE_ERROR;
    int te_seen = 0;
    for (;;) {
        p = next;
        l = next_line(p, end, &next);
        if (l < 0)
            return BE_PARSE_AGAIN;
        if (l == 0)
            break;
        if (memchr(p, '\r', (size_t)l) || parse_field_line(req, p, (size_t)l, &te_seen) < 0)
            return BE_PARSE_ERROR;
    }
    if (req->chunked && req->content_length >= 0)
        return BE_PARSE_ERROR;
    req->head_len = (size_t)(next - buf) - req->skip;
    return BE_PARSE_OK;
}

/* ---- chunked decoder ---------------------------------------------------- */

enum {
    CH_SIZE,        /* hex digits */
    CH_EXT,         /* ";ext" up to the line end */
    CH_SIZE_LF,     /* CR seen after the size line */
    CH_DATA,        /* chunk data */
    CH_DATA_CR,     /* CRLF after data */
    CH_DATA_LF,
    CH_TRAILER,     /* at the start of a trailer line (or the final CRLF) */
    CH_TRAILER_TXT, /* inside a trailer line */
    CH_TRAILER_LF,  /* CR of a trailer line seen */
    CH_END_LF,      /* CR of the final empty line seen */
    CH_DONE,
};

void be_chunked_init(struct be_chunked *d)
{
    d->state = CH_SIZE;
    d->digits = 0;
    d->left = 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* End of the size line: data follows, or trailers for the last chunk. */
static void size_line_done(struct be_chunked *d)
{
    d->state = d->left ? CH_DATA : CH_TRAILER;
}

/* One framing byte; returns -1 on a framing error. */
static int chunked_byte(struct be_chunked *d, char ch)
{
    int hv;
    switch (d->state) {
    case CH_SIZE:
        if ((hv = hexval(ch)) >= 0) {
            if (++d->digits > 15) /* oversize: refuse rather than overflow */
                return -1;
            d->left = d->left * 16 + (uint64_t)hv;
        } else if (d->digits == 0) {
            return -1;
        } else if (ch == ';') {
            d->state = CH_EXT;
        } else if (ch == '\r') {
            d->state = CH_SIZE_LF;
        } else {
            return -1;
        }
        return 0;
    case CH_EXT:
        if (ch == '\r')
            d->state = CH_SIZE_LF;
        else if (ch == '\n')
            return -1;
        return 0;
    case CH_SIZE_LF:
        if (ch != '\n')
            return -1;
        size_line_done(d);
        return 0;
    case CH_DATA_CR:
        d->state = CH_DATA_LF;
        return ch == '\r' ? 0 : -1;
    case CH_DATA_LF:
        d->state = CH_SIZE;
        d->digits = 0;
        return ch == '\n' ? 0 : -1;
    case CH_TRAILER:
        d->state = ch == '\r' ? CH_END_LF : CH_TRAILER_TXT;
        return ch == '\n' ? -1 : 0;
    case CH_TRAILER_TXT:
        if (ch == '\r')
            d->state = CH_TRAILER_LF;
        return ch == '\n' ? -1 : 0;
    case CH_TRAILER_LF:
        d->state = CH_TRAILER;
        return ch == '\n' ? 0 : -1;
    case CH_END_LF:
        d->state = CH_DONE;
        return ch == '\n' ? 0 : -1;
    default:
        return -1;
    }
}

ssize_t be_chunked_step(struct be_chunked *d, const char *in, size_t len, size_t max_data,
                        const char **data, size_t *data_len, bool *done)
{
    size_t i = 0;
    *data = NULL;
    *data_len = 0;
    while (i < len && d->state != CH_DONE && d->state != CH_DATA) {
        if (chunked_byte(d, in[i++]) < 0)
            return -1;
    }
    if (d->state == CH_DATA && i < len) {
        size_t n = len - i;
        if (n > d->left)
            n = (size_t)d->left;
        if (n > max_data)
            n = max_data;
        *data = in + i;
        *data_len = n;
        d->left -= n;
        i += n;
        if (d->left == 0)
            d->state = CH_DATA_CR;
    }
    *done = d->state == CH_DONE;
    return (ssize_t)i;
}

uint64_t be_fnv1a(uint64_t h, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

void be_head_foreach(const struct be_request *req, be_field_fn fn, void *arg)
{
    /* The head was validated by be_parse_head: every line is "name: value",
     * ending in LF (CRLF from foyer). The request line comes first. */
    const char *p = req->method, *end = req->method + req->head_len;
    const char *lf = memchr(p, '\n', (size_t)(end - p));
    while (lf && (p = lf + 1) < end) {
        lf = memchr(p, '\n', (size_t)(end - p));
        if (!lf)
            break;
        size_t l = (size_t)(lf - p);
        if (l > 0 && p[l - 1] == '\r')
            l--;
        if (l == 0)
            break;
        const char *colon = memchr(p, ':', l);
        if (!colon)
            continue;
        const char *v = colon + 1, *ve = p + l;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        if (!fn(arg, p, (size_t)(colon - p), v, (size_t)(ve - v)))
            return;
    }
}
