/* Strict chunked transfer-coding decoder (RFC 9112 §7.1). It never copies:
 * payload comes out as slices of the input, and the proxy re-chunks it, so
 * extensions and trailers are dropped rather than forwarded for someone else
 * to misread. */
#include "http.h"

enum {
    CH_SIZE_START,
    CH_SIZE,
    CH_SIZE_WS,
    CH_EXT,
    CH_SIZE_LF,
    CH_DATA,
    CH_DATA_CR,
    CH_DATA_LF,
    CH_TRAILER_START,
    CH_TRAILER,
    CH_TRAILER_LF,
    CH_END_LF,
    CH_DONE
};

#define MAX_LINE 4096
#define MAX_TRAILERS 16384

void foyer_chunked_init(struct foyer_chunked *c)
{
    memset(c, 0, sizeof *c);
    c->state = CH_SIZE_START;
}

static int hexval(unsigned char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static int is_ext_byte(unsigned char ch)
{
    return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

/* One byte of framing (not payload). Returns 0, 1 when done, or 400. */
static int step(struct foyer_chunked *c, unsigned char ch)
{
    int v;
    if (++c->line_len > MAX_LINE) return 400;
    switch (c->state) {
    case CH_SIZE_START:
    case CH_SIZE:
        if ((v = hexval(ch)) >= 0) {
            if (++c->size_digits > 15) return 400; /* no overflow, no absurd sizes */
            c->remaining = c->remaining * 16 + (uint64_t)v;
            c->state = CH_SIZE;
            return 0;
        }
        if (c->state == CH_SIZE_START) return 400;
        if (ch == '\r')
            c->state = CH_SIZE_LF;
        else if (ch == ';')
            c->state = CH_EXT;
        else if (ch == ' ' || ch == '\t')
            c->state = CH_SIZE_WS;
        else
            return 400;
        return 0;
    case CH_SIZE_WS:
        if (ch == ';')
            c->state = CH_EXT;
        else if (ch != ' ' && ch != '\t')
            return 400;
        return 0;
    case CH_EXT:
        if (ch == '\r')
            c->state = CH_SIZE_LF;
        else if (!is_ext_byte(ch))
            return 400;
        return 0;
    case CH_SIZE_LF:
        if (ch != '\n') return 400;
        c->line_len = 0;
        c->size_digits = 0;
        c->state = c->remaining ? CH_DATA : CH_TRAILER_START;
        return 0;
    case CH_DATA_CR:
        if (ch != '\r') return 400;
        c->state = CH_DATA_LF;
        return 0;
    case CH_DATA_LF:
        if (ch != '\n') return 400;
        c->line_len = 0;
        c->state = CH_SIZE_START;
        return 0;
    case CH_TRAILER_START:
        if (ch == '\r') {
            c->state = CH_END_LF;
            return 0;
        }
        c->state = CH_TRAILER;
        /* fall through */
    case CH_TRAILER:
        if (++c->trailer_bytes > MAX_TRAILERS) return 400;
        if (ch == '\r')
            c->state = CH_TRAILER_LF;
        else if (!is_ext_byte(ch))
            return 400;
        return 0;
    case CH_TRAILER_LF:
        if (ch != '\n') return 400;
        c->line_len = 0;
        c->state = CH_TRAILER_START;
        return 0;
    case CH_END_LF:
        if (ch != '\n') return 400;
        c->state = CH_DONE;
        return 1;
    }
    return 400;
}

int foyer_chunked_decode(struct foyer_chunked *c, const char *in, size_t len,
                         size_t *consumed, const char **data, size_t *data_len)
{
    size_t i = 0;
    *data = NULL;
    *data_len = 0;
    if (c->state == CH_DONE) {
        *consumed = 0;
        return 1;
    }
    while (i < len) {
        if (c->state == CH_DATA) {
            size_t n = len - i;
            if (n > c->remaining) n = (size_t)c->remaining;
            *data = in + i;
            *data_len = n;
            c->remaining -= n;
            if (c->remaining == 0) c->state = CH_DATA_CR;
            *consumed = i + n;
            return 0;
        }
        int r = step(c, (unsigned char)in[i++]);
        if (r != 0) {
            *consumed = i;
            return r;
        }
    }
    *consumed = i;
    return 0;
}
