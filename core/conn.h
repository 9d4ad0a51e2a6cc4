/* A client connection: reads request heads, keeps the connection alive between
 * exchanges, answers errors and closes gracefully. While an exchange runs
 * (proxy.c) the exchange drives the connection's I/O. */
#ifndef FOYER_CONN_H
#define FOYER_CONN_H

#include "addr.h"
#include "deadline.h"
#include "http.h"

#include <ev.h>
#include <sys/types.h>

struct foyer_buf;
struct foyer_exchange;
struct foyer_transport;

enum foyer_conn_state {
    FOYER_CONN_IDLE,     /* keep-alive, no buffer held */
    FOYER_CONN_HEAD,     /* reading a request head */
    FOYER_CONN_EXCHANGE, /* an exchange owns the I/O */
    FOYER_CONN_LINGER    /* answered and closing: drain input, then close */
};

struct foyer_conn {
    ev_io rio, wio;
    struct foyer_deadline timer;
    int fd;
    enum foyer_conn_state state;
    const struct foyer_transport *tp;
    void *tp_ctx;
    struct foyer_buf *in;
    struct foyer_exchange *x;
    struct foyer_head_scan scan;
    unsigned requests;
    unsigned clean_close : 1;      /* the last exchange read its request completely */
    unsigned read_wants_write : 1; /* the transport waits for writability to read */
    unsigned listen_port;
    const char *scheme;
    struct foyer_conn *prev, *next;
    union foyer_sockaddr peer;
};

void foyer_conn_accepted(int fd, const union foyer_sockaddr *peer, unsigned listen_port,
                         const struct foyer_transport *tp, void *tp_ctx);
/* The exchange is over; keep_alive says whether the connection can carry the
 * next request. c->clean_close says whether the request was read whole. */
void foyer_conn_exchange_done(struct foyer_conn *c, int keep_alive);
/* Answers with a short error page; closes after it unless keep_alive. */
void foyer_conn_respond_error(struct foyer_conn *c, int status, int keep_alive);
void foyer_conn_close(struct foyer_conn *c);
/* Shutdown: close if idle, otherwise close after the current exchange. */
void foyer_conn_shutdown(struct foyer_conn *c);
/* Sets the connection's one deadline (header, body, send, keep-alive...). */
void foyer_conn_timer(struct foyer_conn *c, double after);
void foyer_conn_timer_clear(struct foyer_conn *c);
/* Reads through the connection's transport (TLS may hold decrypted bytes the
 * socket no longer shows, or need writability to read on). */
ssize_t foyer_conn_read(struct foyer_conn *c, void *buf, size_t len);
/* Starts or stops reading; starting also catches what the transport holds. */
void foyer_conn_watch_read(struct foyer_conn *c, int on);
/* Returns a buffer with room for reading into, growing small to large. */
int foyer_conn_ensure_buffer(struct foyer_conn *c, size_t cap);

#endif
