/*
 * foyer-test-backend: a single-threaded, non-blocking HTTP/1.1 origin server
 * used by the end-to-end tests and the benchmarks.
 *
 * It is deliberately independent of foyer's core (no shared code): a test
 * origin that reuses the code under test would hide the bugs it should catch.
 *
 * Layout:
 *   backend.c            main, arguments, listening socket, accept, signals
 *   backend_conn.c       per-connection state machine, buffers, writev output
 *   backend_endpoints.c  what each path answers
 *   backend_parse.c      strict request-head parser, chunked decoder, FNV-1a
 */
#ifndef FOYER_TEST_BACKEND_H
#define FOYER_TEST_BACKEND_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Input buffer: a whole request head must fit (larger heads get 431). */
#define BE_IBUF_SIZE (64 * 1024)
/* Output buffer: a response head plus an echoed head (/headers) must fit. */
#define BE_OBUF_SIZE (160 * 1024)
/* Bodies up to this size are copied into the output buffer so that pipelined
 * small responses leave in one write; larger ones go out by writev straight
 * from the static pattern. */
#define BE_INLINE_BODY 2048
/* Chunk size for /chunked/N, as the spec of the helper says. */
#define BE_CHUNK_MAX 4096

/* ---- backend_parse.c ------------------------------------------------- */

enum be_parse_status { BE_PARSE_OK, BE_PARSE_AGAIN, BE_PARSE_ERROR };

/* A parsed request head. Pointers point into the caller's buffer and are
 * valid only until that buffer is compacted. */
struct be_request {
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    size_t path_len;        /* target up to '?' */
    int minor;              /* HTTP/1.<minor> */
    int64_t content_length; /* -1: absent */
    bool chunked;
    bool conn_close;
    bool conn_keepalive;
    bool expect_continue;
    bool upgrade_websocket;
    const char *ws_key;
    size_t ws_key_len;
    size_t skip;     /* leading empty lines before the request line */
    size_t head_len; /* bytes from the request line to the final CRLF */
};

/* Calls fn for every field line of a parsed head (name and value trimmed,
 * in the order received); stops early when fn returns false. */
typedef bool (*be_field_fn)(void *arg, const char *name, size_t nlen, const char *val,
                            size_t vlen);
void be_head_foreach(const struct be_request *req, be_field_fn fn, void *arg);

/* Parses one request head from buf. OK fills *req; AGAIN: incomplete. */
enum be_parse_status be_parse_head(const char *buf, size_t len, struct be_request *req);

/* Streaming chunked-body decoder; see be_chunked_step. */
struct be_chunked {
    int state;
    int digits;
    uint64_t left; /* bytes left in the current chunk */
};

void be_chunked_init(struct be_chunked *d);
/* Consumes framing bytes from in[0..len) until it reaches chunk data, then
 * returns at most max_data data bytes in *data and *data_len (pointing into in).
 * Returns the number of input bytes consumed (framing + data), or -1 on a
 * framing error. *done is set once the final chunk and trailers are read. */
ssize_t be_chunked_step(struct be_chunked *d, const char *in, size_t len, size_t max_data,
                        const char **data, size_t *data_len, bool *done);

#define BE_FNV_INIT 0xcbf29ce484222325ULL
uint64_t be_fnv1a(uint64_t h, const void *buf, size_t len);

/* ---- backend.c: server-wide state ------------------------------------ */

struct be_stats {
    uint64_t conns;    /* accepted connections */
    uint64_t open;     /* currently open */
    uint64_t requests; /* request heads parsed, /stats excluded */
    uint64_t bad;      /* requests rejected as malformed */
};

struct be_server {
    struct ev_loop *loop;
    const char *name;
    size_t name_len;
    bool report; /* --report: every request is answered with a JSON report */
    char *last_report; /* the last report sent (X-Backend-Control: last) */
    size_t last_report_len;
    struct be_stats stats;
    struct be_conn *conns;      /* open connections, freed at exit */
    struct be_conn *free_conns; /* recycled connections (avoid mmap churn) */
    unsigned nfree;
};

/* ---- backend_conn.c --------------------------------------------------- */

enum be_state {
    BE_ST_HEAD,   /* waiting for / parsing a request head */
    BE_ST_BODY,   /* consuming the request body */
    BE_ST_WAIT,   /* /slow: timer running */
    BE_ST_SEND,   /* response queued, waiting for it to leave */
    BE_ST_TUNNEL, /* after 101: echo every byte */
    BE_ST_SILENT, /* /silent: discard everything, never answer */
    BE_ST_LINGER, /* write side shut, draining input before close */
};

enum be_body { BE_BODY_NONE, BE_BODY_LENGTH, BE_BODY_CHUNKED };
enum be_gen { BE_GEN_NONE, BE_GEN_RAW, BE_GEN_CHUNKED };
enum be_ep { BE_EP_OTHER, BE_EP_ECHO, BE_EP_SINK, BE_EP_SLOW, BE_EP_SILENT, BE_EP_WS, BE_EP_REPORT };

/* Extra response header lines a request may ask for (X-Backend-Response-Header). */
#define BE_RESP_HDRS_MAX 4096

struct be_conn {
    ev_io rio, wio; /* embedded watchers: no allocation per event */
    ev_timer timer; /* /slow delay and lingering close */
    struct be_server *srv;
    struct be_conn *prev, *next; /* in srv->conns */
    struct be_conn *next_free;
    int fd;
    enum be_state st;
    uint64_t id;   /* connection sequence number on this server */
    uint64_t nreq; /* requests seen on this connection */

    char *ibuf; /* unparsed input is ibuf[ipos..ilen) */
    size_t ipos, ilen;
    char *obuf; /* unsent output is obuf[opos..olen) */
    size_t opos, olen;

    /* Body generator: pattern bytes produced on demand, never buffered. */
    enum be_gen gen;
    uint64_t gen_off, gen_left;
    bool gen_final_pending; /* chunked: "0\r\n\r\n" still to append */

    /* Current request. */
    enum be_ep ep;
    enum be_body body;
    uint64_t body_left;
    struct be_chunked chunk;
    uint64_t body_bytes, body_hash;
    bool echo_chunked;
    bool head_only; /* HEAD request: no body in the response */
    bool http10;
    bool keepalive; /* connection persists after this response */
    bool upgrade;   /* switch to tunnel after the response */
    bool peer_eof;
    bool responded; /* a final response head is queued for this request */
    double slow_ms;

    /* Report mode: the JSON report of the current request, finished (body
     * size and hash appended) once its body is read. malloc'd. */
    char *report;
    size_t report_len;
    /* "Name: value\r\n" lines added to every response head of this request. */
    char resp_hdrs[BE_RESP_HDRS_MAX];
    size_t resp_hdrs_len;
};

struct be_conn *be_conn_new(struct be_server *srv, int fd);
/* Closes every connection and releases the recycled ones (at exit, so that
 * leak checkers see a clean process). */
void be_conn_free_all(struct be_server *srv);
/* Queue bytes in the output buffer (truncated if it is full: callers size
 * their writes well below BE_OBUF_SIZE). */
void be_out(struct be_conn *c, const void *p, size_t n);
void be_outf(struct be_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t be_out_room(const struct be_conn *c);
/* Writes the status line and the common headers; extra ends with CRLF or is
 * "". len < 0: no Content-Length (chunked, close-delimited or bodiless). */
void be_resp_head(struct be_conn *c, int status, int64_t len, const char *extra);

/* ---- backend_endpoints.c --------------------------------------------- */

/* Called once a head is parsed: picks the endpoint, answers at once where the
 * answer does not depend on the body. */
void be_dispatch(struct be_conn *c, const struct be_request *req);
/* Called when the request body is complete. */
void be_body_done(struct be_conn *c);
/* /slow timer expired. */
void be_slow_expired(struct be_conn *c);
/* Answers a malformed request with status and marks the connection to close. */
void be_reject(struct be_conn *c, int status);

/* A 26-letter pattern 'a'..'z' repeating; be_pattern(off) points at the byte
 * for body offset off, followed by at least BE_PATTERN_SPAN valid bytes. */
#define BE_PATTERN_SPAN (256 * 1024)
const char *be_pattern(uint64_t off);

#endif
