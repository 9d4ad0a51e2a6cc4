/* A small non-blocking HTTP/1.1 client for etcd's v3 JSON gateway, on the
 * master's libev loop: one POST per TCP connection (Connection: close), the
 * answer either whole (POST /v3/kv/range) or as a stream of newline-delimited
 * JSON messages (POST /v3/watch). Content-Length, chunked and close-delimited
 * bodies are understood; everything received is bounded. */
#ifndef FOYER_ETCD_CLIENT_H
#define FOYER_ETCD_CLIENT_H

#include <stddef.h>

struct ev_loop;
struct etcd_http;

struct etcd_http_ops {
    /* Stream mode (NULL otherwise): one message (without its newline). May call
     * etcd_http_close on the request. */
    void (*on_line)(void *arg, const char *line, size_t len);
    /* Whole mode (NULL in stream mode): the complete answer. The request is
     * freed after it returns. */
    void (*on_done)(void *arg, int status, const char *body, size_t len);
    /* Any failure (connect, timeout, a stream ending, a bad answer), with why.
     * The request is freed after it returns. */
    void (*on_error)(void *arg, const char *why);
};

/* Starts POST path with body to addr ("host:port"). stream: deliver lines,
 * else the whole body. timeout: seconds to connect and get the answer (in
 * stream mode: its head). NULL with err filled when it cannot even start. */
struct etcd_http *etcd_http_post(struct ev_loop *loop, const char *addr, const char *path,
                                 const char *body, size_t len, int stream, double timeout,
                                 const struct etcd_http_ops *ops, void *arg, char *err,
                                 size_t errlen);

/* Stops and frees a request; no callback after. */
void etcd_http_close(struct etcd_http *h);

/* Closes the socket without touching the loop (in a freshly forked child). */
void etcd_http_drop_fd(struct etcd_http *h);

/* Base64 (RFC 4648, padded): out must hold 4 * ((len + 2) / 3) + 1 bytes. */
void etcd_base64_encode(const unsigned char *in, size_t len, char *out);
/* Decodes into out (at least 3 * (len / 4) + 3 bytes); the length, or -1. */
long etcd_base64_decode(const char *in, size_t len, unsigned char *out);

#endif
