/* Request heads through the proxy's own pipeline (core/conn.c, core/proxy.c):
 * foyer_head_scan (core/http_head.c), foyer_http1_parse_head (core/http1.c),
 * foyer_request_analyze (core/http_message.c), then the forwarded field
 * lines (core/fields.c) and the request accessors (core/request.c).
 *
 * Input: byte 0 picks the limits and the number of split points, byte 1
 * seeds where they fall; the rest is what a client sent.
 *
 * Invariants:
 *  - the scan fed the bytes in growing prefixes (as reads arrive) ends with
 *    the same result, head length and state as a scan of all of them;
 *  - every slice the parser hands out lies within the head;
 *  - the parser (http-parser) sees exactly the fields, the method and the
 *    target that the strict scanner checked: one field per line, same name,
 *    same value less surrounding whitespace;
 *  - an accepted request has one unambiguous framing: never Content-Length
 *    and Transfer-Encoding together, never two different lengths, never
 *    chunked in HTTP/1.0, exactly one Host in HTTP/1.1 (RFC 9112 §6.3, §3.2);
 *  - the forwarded field lines fit the size foyer_fields_size promised and
 *    carry no framing field. */
#include "fields.h"
#include "fuzz_util.h"
#include "http.h"
#include "pool.h"
#include "request.h"

static const char *find_crlf(const char *p, const char *end)
{
    for (; p + 1 < end; p++)
        if (p[0] == '\r' && p[1] == '\n') return p;
    return NULL;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int str_eq(struct foyer_str s, const char *p, size_t len)
{
    return s.len == len && (len == 0 || memcmp(s.p, p, len) == 0);
}

/* What the scanner accepted, line by line, against what http-parser produced. */
static void check_against_lines(const struct foyer_http_head *h, const char *head,
                                size_t len)
{
    const char *end = head + len, *line = head;
    const char *eol = find_crlf(line, end);
    FUZZ_CHECK(eol != NULL);
    const char *sp1 = memchr(line, ' ', (size_t)(eol - line));
    FUZZ_CHECK(sp1 != NULL);
    const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
    FUZZ_CHECK(sp2 != NULL);
    FUZZ_CHECK(str_eq(h->method, line, (size_t)(sp1 - line)));
    FUZZ_CHECK(str_eq(h->target, sp1 + 1, (size_t)(sp2 - sp1 - 1)));
    unsigned i = 0;
    for (line = eol + 2; (eol = find_crlf(line, end)) != NULL && eol != line;
         line = eol + 2, i++) {
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        FUZZ_CHECK(colon != NULL);
        FUZZ_CHECK(i < h->nheaders);
        FUZZ_CHECK(str_eq(h->headers[i].name, line, (size_t)(colon - line)));
        const char *v = colon + 1, *ve = eol;
        while (v < ve && is_ows(*v))
            v++;
        while (ve > v && is_ows(ve[-1]))
            ve--;
        FUZZ_CHECK(str_eq(h->headers[i].value, v, (size_t)(ve - v)));
    }
    FUZZ_CHECK(i == h->nheaders);
}

static void check_framing(const struct foyer_http_head *h,
                          const struct foyer_request_info *ri)
{
    unsigned cls = 0, tes = 0, hosts = 0;
    for (unsigned i = 0; i < h->nheaders; i++) {
        struct foyer_str n = h->headers[i].name;
        if (FOYER_STR_EQ_CI(n, "content-length")) {
            cls++;
            FUZZ_CHECK(h->headers[i].flags & FOYER_HDR_REPLACED);
        }
        if (FOYER_STR_EQ_CI(n, "transfer-encoding")) {
            tes++;
            FUZZ_CHECK(h->headers[i].flags & FOYER_HDR_REPLACED);
            FUZZ_CHECK(FOYER_STR_EQ_CI(h->headers[i].value, "chunked"));
        }
        if (FOYER_STR_EQ_CI(n, "host")) hosts++;
    }
    FUZZ_CHECK(!(cls && tes));
    FUZZ_CHECK(tes <= 1);
    FUZZ_CHECK(hosts <= 1);
    if (h->version >= 11) FUZZ_CHECK(hosts == 1 || ri->absolute_form);
    switch (ri->body) {
    case FOYER_BODY_CHUNKED:
        FUZZ_CHECK(tes == 1 && h->version >= 11);
        break;
    case FOYER_BODY_LENGTH:
        FUZZ_CHECK(cls >= 1 && ri->content_length > 0);
        break;
    case FOYER_BODY_NONE:
        FUZZ_CHECK(tes == 0 && ri->content_length == 0);
        break;
    case FOYER_BODY_CLOSE:
        FUZZ_CHECK(0); /* responses only */
    }
    FUZZ_CHECK(ri->has_length == (cls > 0));
}

static void check_info(const struct foyer_http_head *h, const struct foyer_request_info *ri,
                       const char *lo, const char *hi)
{
    FUZZ_CHECK(fuzz_within(ri->host.p, ri->host.len, lo, hi));
    if (ri->host.p != NULL)
        FUZZ_CHECK(fuzz_within(ri->host_name.p, ri->host_name.len, ri->host.p,
                               ri->host.p + ri->host.len));
    else
        FUZZ_CHECK(ri->host_name.len == 0);
    FUZZ_CHECK(ri->port <= 65535);
    /* the path is in the target, or the "/" of an absolute-form without one */
    FUZZ_CHECK(fuzz_within(ri->path.p, ri->path.len, lo, hi) ||
               (ri->absolute_form && ri->path.len == 1 && ri->path.p[0] == '/'));
    if (ri->query.p != NULL) FUZZ_CHECK(fuzz_within(ri->query.p, ri->query.len, lo, hi));
    FUZZ_CHECK(fuzz_within(ri->upgrade.p, ri->upgrade.len, lo, hi));
    if (ri->is_upgrade) FUZZ_CHECK(h->version >= 11 && ri->upgrade.len > 0);
    if (ri->is_head) FUZZ_CHECK(FOYER_STR_EQ_CI(h->method, "HEAD"));
}

static void check_forwarded(const struct foyer_http_head *h)
{
    size_t cap = foyer_fields_size(h, NULL);
    char *out = malloc(cap ? cap : 1);
    FUZZ_CHECK(out != NULL);
    char *end = foyer_put_fields(out, h, NULL, NULL);
    FUZZ_CHECK(end >= out && (size_t)(end - out) <= cap);
    for (unsigned i = 0; i < h->nheaders; i++) {
        const struct foyer_http_header *f = &h->headers[i];
        if (foyer_field_is_protected(f->name) && !FOYER_STR_EQ_CI(f->name, "host"))
            FUZZ_CHECK(f->flags & (FOYER_HDR_HOP | FOYER_HDR_REPLACED));
    }
    free(out);
}

/* Reads every byte, so ASan checks the whole slice. */
static void touch(const char *p, size_t len)
{
    volatile unsigned sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += (unsigned char)p[i];
    (void)sum;
}

/* What a route function reads from the request (core/request.c). */
static void exercise_accessors(struct foyer_pool *pool, const struct foyer_http_head *h,
                               const struct foyer_request_info *ri)
{
    struct foyer_request r;
    memset(&r, 0, sizeof r);
    r.pool = pool;
    r.head = *h;
    r.info = *ri;
    r.scheme = "http";
    r.listen_port = 80;
    const char *host = foyer_request_host(&r);
    FUZZ_CHECK(host != NULL && strlen(host) <= ri->host_name.len);
    static const char *const names[] = {"host", "cookie", "x-a", "content-length"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        size_t len = 0;
        const char *v = foyer_request_header(&r, names[i], strlen(names[i]), &len);
        if (v != NULL) touch(v, len);
    }
    size_t len;
    const char *a = foyer_request_arg(&r, "a", 1, &len);
    if (a != NULL) FUZZ_CHECK(len <= ri->query.len);
    if (a != NULL) touch(a, len);
    const char *c = foyer_request_cookie(&r, "sid", 3, &len);
    if (c != NULL) touch(c, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    uint8_t ctl = data[0];
    uint32_t seed = data[1] | (uint32_t)ctl << 8;
    data += 2;
    size -= 2;
    struct foyer_head_limits lim = {8192, 100};
    if (ctl & 1) { /* tight limits, to reach 414 / 431 */
        lim.max_bytes = 64 + (ctl >> 1) * 8;
        lim.max_headers = 1 + (ctl >> 4);
    }

    /* all at once */
    char *buf = fuzz_copy(data, size);
    struct foyer_head_scan whole;
    size_t whole_len = 0;
    foyer_head_scan_init(&whole, 1);
    int r = foyer_head_scan(&whole, buf, size, &lim, &whole_len);

    /* as reads arrive: growing prefixes, each in a buffer of its own size */
    struct foyer_head_scan inc;
    size_t inc_len = 0, at = 0;
    int ri_ = FOYER_HTTP_AGAIN;
    unsigned splits = (ctl >> 3) & 7;
    foyer_head_scan_init(&inc, 1);
    for (unsigned i = 0; i <= splits && ri_ == FOYER_HTTP_AGAIN; i++) {
        size_t upto = i == splits ? size : at + fuzz_next(&seed) % (size - at + 1);
        char *part = fuzz_copy(data, upto);
        ri_ = foyer_head_scan(&inc, part, upto, &lim, &inc_len);
        free(part);
        at = upto;
    }
    FUZZ_CHECK(ri_ == r);
    if (r == 0) {
        FUZZ_CHECK(inc_len == whole_len);
        FUZZ_CHECK(inc.first == whole.first && inc.lines == whole.lines);
    }
    if (r != 0) {
        FUZZ_CHECK(r == FOYER_HTTP_AGAIN || r == 400 || r == 414 || r == 431 || r == 505);
        free(buf);
        return 0;
    }
    FUZZ_CHECK(whole_len <= size && whole.first < whole_len);
    FUZZ_CHECK(whole.lines <= lim.max_headers);

    /* as core/proxy.c parse_request: the head without the leading empty lines */
    struct foyer_pool *pool = foyer_pool_create(4096);
    FUZZ_CHECK(pool != NULL);
    const char *head = buf + whole.first;
    size_t head_len = whole_len - whole.first;
    struct foyer_http_head h;
    memset(&h, 0, sizeof h);
    h.is_request = 1;
    int err = foyer_http1_parse_head(&h, head, head_len, whole.lines, pool);
    if (err == 0) {
        const char *lo = head, *hi = head + head_len;
        FUZZ_CHECK(fuzz_within(h.method.p, h.method.len, lo, hi));
        FUZZ_CHECK(fuzz_within(h.target.p, h.target.len, lo, hi));
        FUZZ_CHECK(h.nheaders <= whole.lines);
        for (unsigned i = 0; i < h.nheaders; i++) {
            FUZZ_CHECK(fuzz_within(h.headers[i].name.p, h.headers[i].name.len, lo, hi));
            FUZZ_CHECK(fuzz_within(h.headers[i].value.p, h.headers[i].value.len, lo, hi));
        }
        FUZZ_CHECK(h.version == 10 || h.version == 11);
        check_against_lines(&h, head, head_len);

        struct foyer_request_info info;
        err = foyer_request_analyze(&h, &info);
        if (err == 0) {
            check_framing(&h, &info);
            check_info(&h, &info, lo, hi);
            check_forwarded(&h);
            exercise_accessors(pool, &h, &info);
        } else {
            FUZZ_CHECK(err >= 400 && err <= 599);
        }
    } else {
        FUZZ_CHECK(err == 400 || err == 500);
    }
    foyer_pool_destroy(pool);
    free(buf);
    return 0;
}
