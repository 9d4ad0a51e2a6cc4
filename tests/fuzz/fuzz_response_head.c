/* Response heads as core/proxy.c reads them from an upstream: scan
 * (core/http_head.c, is_request = 0), parse (core/http1.c), analyse
 * (core/http_message.c), interim 1xx heads skipped until a final one (or
 * 101), then the client head's field lines (core/fields.c) and, for a
 * chunked body, the decoder (core/http_chunked.c) over the bytes after it.
 * foyer_x_choose_out_mode needs a whole exchange (connection, worker,
 * settings), so the framing decision is checked here at its input: the
 * response info.
 *
 * Input: byte 0 bit 0: the request was HEAD; bit 1: tight limits; bits
 * 2-4: split points, seeded by byte 1. The rest is what the upstream sent.
 *
 * Invariants: as fuzz_request_head for scanning in pieces; the status code
 * http-parser returns is the three digits the scanner checked; a body
 * framing that the proxy re-frames never lets the upstream's
 * Content-Length / Transfer-Encoding through; no body for HEAD, 1xx, 204,
 * 304; a response without length is read until close and not kept alive. */
#include "fields.h"
#include "fuzz_util.h"
#include "http.h"
#include "pool.h"

static int scan_in_pieces(const uint8_t *data, size_t size, size_t base,
                          const struct foyer_head_limits *lim, uint32_t *seed,
                          unsigned splits, struct foyer_head_scan *s, size_t *head_len)
{
    int r = FOYER_HTTP_AGAIN;
    size_t at = base;
    foyer_head_scan_init(s, 0);
    for (unsigned i = 0; i <= splits && r == FOYER_HTTP_AGAIN; i++) {
        size_t upto = i == splits ? size : at + fuzz_next(seed) % (size - at + 1);
        char *part = fuzz_copy(data + base, upto - base);
        r = foyer_head_scan(s, part, upto - base, lim, head_len);
        free(part);
        at = upto;
    }
    return r;
}

static void check_response(const struct foyer_http_head *h,
                           const struct foyer_response_info *ri, int was_head,
                           const char *head)
{
    /* "HTTP/1.x NNN": the scanner checked these digits */
    int st = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
    FUZZ_CHECK(h->status == st);
    unsigned cls = 0, tes = 0;
    for (unsigned i = 0; i < h->nheaders; i++) {
        const struct foyer_http_header *f = &h->headers[i];
        int forwarded = !(f->flags & (FOYER_HDR_HOP | FOYER_HDR_REPLACED));
        if (FOYER_STR_EQ_CI(f->name, "content-length")) {
            cls++;
            if (ri->body == FOYER_BODY_LENGTH || ri->body == FOYER_BODY_CHUNKED)
                FUZZ_CHECK(!forwarded);
        }
        if (FOYER_STR_EQ_CI(f->name, "transfer-encoding")) {
            tes++;
            if (ri->body != FOYER_BODY_NONE) FUZZ_CHECK(!forwarded);
        }
    }
    if (was_head || st < 200 || st == 204 || st == 304)
        FUZZ_CHECK(ri->body == FOYER_BODY_NONE);
    if (ri->body == FOYER_BODY_CHUNKED) FUZZ_CHECK(tes == 1);
    if (ri->body == FOYER_BODY_LENGTH) FUZZ_CHECK(cls >= 1 && ri->content_length > 0);
    if (ri->body == FOYER_BODY_CLOSE) FUZZ_CHECK(!ri->keep_alive && !cls && !tes);
    FUZZ_CHECK(ri->is_upgrade == (st == 101));
}

static void check_client_fields(const struct foyer_http_head *h)
{
    size_t cap = foyer_fields_size(h, NULL);
    char *out = malloc(cap ? cap : 1);
    FUZZ_CHECK(out != NULL);
    char *end = foyer_put_fields(out, h, NULL, NULL);
    FUZZ_CHECK(end >= out && (size_t)(end - out) <= cap);
    free(out);
}

static void decode_body(const char *p, size_t len)
{
    struct foyer_chunked c;
    foyer_chunked_init(&c);
    size_t off = 0;
    int r = 0;
    while (r == 0 && off < len) {
        size_t consumed, dlen;
        const char *d;
        r = foyer_chunked_decode(&c, p + off, len - off, &consumed, &d, &dlen);
        FUZZ_CHECK(consumed <= len - off);
        if (dlen) FUZZ_CHECK(fuzz_within(d, dlen, p + off, p + off + consumed));
        off += consumed;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    uint8_t ctl = data[0];
    uint32_t seed = data[1] | (uint32_t)ctl << 8;
    int was_head = ctl & 1;
    unsigned splits = (ctl >> 2) & 7;
    struct foyer_head_limits lim = {8192, 100};
    if (ctl & 2) {
        lim.max_bytes = 64 + (ctl >> 5) * 32;
        lim.max_headers = 1 + (ctl >> 5);
    }
    data += 2;
    size -= 2;
    char *buf = fuzz_copy(data, size);
    struct foyer_pool *pool = foyer_pool_create(4096);
    FUZZ_CHECK(pool != NULL);
    size_t start = 0;
    for (unsigned heads = 0; heads < 64; heads++) { /* interim heads, then a final one */
        struct foyer_head_scan whole, inc;
        size_t whole_len = 0, inc_len = 0;
        foyer_head_scan_init(&whole, 0);
        int r = foyer_head_scan(&whole, buf + start, size - start, &lim, &whole_len);
        int ri_ = scan_in_pieces(data, size, start, &lim, &seed, splits, &inc, &inc_len);
        FUZZ_CHECK(r == ri_);
        if (r != 0) {
            FUZZ_CHECK(r == FOYER_HTTP_AGAIN || r == 502);
            break;
        }
        FUZZ_CHECK(inc_len == whole_len && inc.lines == whole.lines);
        FUZZ_CHECK(whole.first == 0); /* no empty lines skipped before a status line */
        FUZZ_CHECK(whole_len <= size - start);

        const char *head = buf + start;
        struct foyer_http_head h;
        memset(&h, 0, sizeof h);
        h.is_request = 0;
        int err = foyer_http1_parse_head(&h, head, whole_len, whole.lines, pool);
        if (err != 0) {
            FUZZ_CHECK(err == 502 || err == 500);
            break;
        }
        FUZZ_CHECK(h.nheaders == whole.lines);
        FUZZ_CHECK(fuzz_within(h.reason.p, h.reason.len, head, head + whole_len));
        for (unsigned i = 0; i < h.nheaders; i++) {
            FUZZ_CHECK(fuzz_within(h.headers[i].name.p, h.headers[i].name.len, head,
                                   head + whole_len));
            FUZZ_CHECK(fuzz_within(h.headers[i].value.p, h.headers[i].value.len, head,
                                   head + whole_len));
        }
        struct foyer_response_info info;
        err = foyer_response_analyze(&h, was_head, &info);
        if (err != 0) {
            FUZZ_CHECK(err == 502);
            break;
        }
        check_response(&h, &info, was_head, head);
        check_client_fields(&h);
        start += whole_len;
        if (h.status >= 200 || h.status == 101) {
            if (info.body == FOYER_BODY_CHUNKED) decode_body(buf + start, size - start);
            break;
        }
        foyer_pool_reset(pool);
    }
    foyer_pool_destroy(pool);
    free(buf);
    return 0;
}
