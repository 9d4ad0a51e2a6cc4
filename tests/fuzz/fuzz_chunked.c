/* The chunked decoder (core/http_chunked.c) as the proxy drives it: input
 * arrives in pieces of any size, and each piece is decoded until it is used
 * up or the body ends.
 *
 * Input: byte 0 is the number of split points, byte 1 seeds where they fall;
 * the rest is the body stream.
 *
 * Invariants: decoding the stream whole, in random pieces and one byte at a
 * time gives the same payload, the same result (more / done / 400) at the
 * same offset, and the same decoder state; every slice handed out lies in
 * the bytes consumed; consumed never exceeds what was given. */
#include "fuzz_util.h"
#include "http.h"

struct outcome {
    char *data;
    size_t len;
    int result;   /* 0: wants more, 1: done, 400 */
    size_t at;    /* stream offset just past the last byte consumed */
    struct foyer_chunked state;
};

/* Feeds one piece (an exact-size copy) until it is used up or decoding ends. */
static void feed(struct outcome *o, const uint8_t *p, size_t len)
{
    char *piece = fuzz_copy(p, len);
    size_t off = 0;
    while (o->result == 0 && off < len) {
        size_t consumed = 0, dlen = 0;
        const char *d = NULL;
        int r = foyer_chunked_decode(&o->state, piece + off, len - off, &consumed, &d,
                                     &dlen);
        FUZZ_CHECK(consumed <= len - off);
        FUZZ_CHECK(r == 0 || r == 1 || r == 400);
        if (r == 0) FUZZ_CHECK(consumed > 0); /* progress on non-empty input */
        if (dlen) {
            FUZZ_CHECK(fuzz_within(d, dlen, piece + off, piece + off + consumed));
            memcpy(o->data + o->len, d, dlen);
            o->len += dlen;
        }
        off += consumed;
        o->at += consumed;
        o->result = r;
    }
    free(piece);
}

static void start(struct outcome *o, size_t cap)
{
    memset(o, 0, sizeof *o);
    o->data = malloc(cap ? cap : 1);
    FUZZ_CHECK(o->data != NULL);
    foyer_chunked_init(&o->state);
}

static void same(const struct outcome *a, const struct outcome *b)
{
    FUZZ_CHECK(a->result == b->result);
    FUZZ_CHECK(a->at == b->at);
    FUZZ_CHECK(a->len == b->len && memcmp(a->data, b->data, a->len) == 0);
    FUZZ_CHECK(memcmp(&a->state, &b->state, sizeof a->state) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    unsigned splits = data[0] % 16;
    uint32_t seed = data[1] | (uint32_t)data[0] << 8;
    data += 2;
    size -= 2;

    struct outcome whole, pieces, bytes;
    start(&whole, size);
    feed(&whole, data, size);
    FUZZ_CHECK(whole.len <= whole.at && whole.at <= size);
    if (whole.result == 0) FUZZ_CHECK(whole.at == size);

    start(&pieces, size);
    size_t at = 0;
    for (unsigned i = 0; i <= splits; i++) {
        size_t upto = i == splits ? size : at + fuzz_next(&seed) % (size - at + 1);
        feed(&pieces, data + at, upto - at);
        at = upto;
    }
    same(&whole, &pieces);

    start(&bytes, size);
    for (size_t i = 0; i < size && bytes.result == 0; i++)
        feed(&bytes, data + i, 1);
    same(&whole, &bytes);

    /* once done, the decoder stays done and takes nothing more */
    if (whole.result == 1) {
        size_t consumed = 1, dlen = 1;
        const char *d = "x";
        FUZZ_CHECK(foyer_chunked_decode(&whole.state, "0\r\n\r\n", 5, &consumed, &d,
                                        &dlen) == 1);
        FUZZ_CHECK(consumed == 0 && dlen == 0 && d == NULL);
    }
    free(whole.data);
    free(pieces.data);
    free(bytes.data);
    return 0;
}
