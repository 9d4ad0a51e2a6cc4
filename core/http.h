/* HTTP/1.x message heads as the core sees them: slices into the connection's
 * read buffer, valid until that buffer is consumed. */
#ifndef FOYER_HTTP_H
#define FOYER_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

struct foyer_pool;

struct foyer_str {
    const char *p;
    size_t len;
};

static inline int foyer_str_eq_ci(struct foyer_str s, const char *lit, size_t litlen)
{
    return s.len == litlen && strncasecmp(s.p, lit, litlen) == 0;
}
#define FOYER_STR_EQ_CI(s, lit) foyer_str_eq_ci((s), lit, sizeof(lit) - 1)

/* Per-header marks set while analysing a head. */
enum {
    FOYER_HDR_HOP = 1,     /* hop-by-hop: never forwarded */
    FOYER_HDR_REPLACED = 2 /* the proxy writes its own version of it */
};

struct foyer_http_header {
    struct foyer_str name, value;
    unsigned flags;
};

struct foyer_http_head {
    int is_request;
    struct foyer_str method, target, reason;
    int version; /* 10 or 11 (1.x above 1.1 is treated as 1.1) */
    int status;
    struct foyer_http_header *headers;
    unsigned nheaders;
};

/* Result codes shared by the parsing functions: 0 ok, FOYER_HTTP_AGAIN needs more
 * bytes, any other positive value is the HTTP status to answer with. */
#define FOYER_HTTP_AGAIN (-1)

/* Incremental lexical scan of a head (http_head.c). Enforces the RFC 9112 grammar
 * strictly: CRLF line ends only, no obs-fold, token names directly followed by a
 * colon, no control characters, an exact request/status line. */
struct foyer_head_scan {
    size_t pos;     /* start of the first line not yet checked */
    size_t first;   /* start of the start-line (after ignored empty lines) */
    unsigned lines; /* header lines seen */
    int is_request;
};

struct foyer_head_limits {
    size_t max_bytes;
    unsigned max_headers;
};

void foyer_head_scan_init(struct foyer_head_scan *s, int is_request);
/* On 0, *head_len is the length of the head including the final CRLF. */
int foyer_head_scan(struct foyer_head_scan *s, const char *buf, size_t len,
                    const struct foyer_head_limits *lim, size_t *head_len);

/* The http-parser adapter (http1.c): extracts the start line and header slices
 * from a head already accepted by foyer_head_scan. */
int foyer_http1_parse_head(struct foyer_http_head *h, const char *buf, size_t len,
                           unsigned nheaders, struct foyer_pool *pool);

/* Body framing of a message. */
enum foyer_body_kind {
    FOYER_BODY_NONE,
    FOYER_BODY_LENGTH,
    FOYER_BODY_CHUNKED,
    FOYER_BODY_CLOSE /* responses only: until the upstream closes */
};

/* What the proxy needs to know about a request head (http_message.c). */
struct foyer_request_info {
    enum foyer_body_kind body;
    uint64_t content_length;
    struct foyer_str host;      /* as received (Host field or absolute-form authority) */
    struct foyer_str host_name; /* lower-case-comparable name without port */
    unsigned port;              /* from Host, 0 if absent */
    struct foyer_str path, query; /* query.p NULL if absent */
    struct foyer_str upgrade;     /* Upgrade value when an upgrade is requested */
    unsigned has_length : 1;      /* a Content-Length field was present */
    unsigned keep_alive : 1;
    unsigned expect_continue : 1;
    unsigned is_upgrade : 1;
    unsigned is_head : 1;
    unsigned absolute_form : 1;
};

int foyer_request_analyze(struct foyer_http_head *h, struct foyer_request_info *ri);

struct foyer_response_info {
    enum foyer_body_kind body;
    uint64_t content_length;
    unsigned keep_alive : 1;
    unsigned is_upgrade : 1; /* 101 */
};

int foyer_response_analyze(struct foyer_http_head *h, int request_was_head,
                           struct foyer_response_info *ri);

/* True for field names that are hop-by-hop by definition (RFC 9110 §7.6.1). */
int foyer_http_is_hop_field(struct foyer_str name);

const char *foyer_http_reason(int status);

/* Strict incremental chunked decoder (http_chunked.c). Payload is handed out as
 * slices of the input; extensions and trailers are checked and dropped. */
struct foyer_chunked {
    int state;
    uint64_t remaining; /* bytes left in the current chunk */
    unsigned line_len;  /* bytes of the current size/ext/trailer line */
    unsigned trailer_bytes;
    unsigned size_digits;
};

void foyer_chunked_init(struct foyer_chunked *c);
/* Consumes input up to the end of the next payload slice. Returns 0 and sets
 * consumed bytes and the data slice (possibly empty) or 1 when the last chunk and the
 * trailers are complete; or 400 on a framing error. */
int foyer_chunked_decode(struct foyer_chunked *c, const char *in, size_t len,
                         size_t *consumed, const char **data, size_t *data_len);

#endif
