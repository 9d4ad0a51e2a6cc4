/* The exchange: one request, its upstream attempt and its response. Private
 * to the core (proxy.c drives it, plugin_api.c lets plugins look at it). */
#ifndef FOYER_EXCHANGE_H
#define FOYER_EXCHANGE_H

#include "buf.h"
#include "config.h"
#include "http.h"
#include "outq.h"
#include "request.h"
#include "route.h"

#include "deadline.h"
#include "worker.h"

#include <ev.h>

struct foyer_conn;
struct foyer_upstream;
struct foyer_endpoint;

enum out_mode { OUT_NONE, OUT_RAW, OUT_CHUNKED };

struct foyer_header_edit_list {
    struct foyer_header_edit *v;
    unsigned n, cap;
};

struct foyer_exchange {
    struct foyer_conn *c;
    struct foyer_upstream *u;
    struct foyer_config *cfg;
    struct foyer_pool *pool;
    struct foyer_request req;
    struct foyer_route_decision route;
    struct foyer_endpoint *ep;
    unsigned tries;
    ev_tstamp start;

    /* client -> upstream */
    struct foyer_outq to_up;
    char *up_head;
    size_t up_head_len;
    uint64_t req_left;
    uint64_t req_body_bytes;
    struct foyer_chunked req_chunk;

    /* upstream -> client */
    struct foyer_outq to_client;
    struct foyer_head_scan rscan;
    struct foyer_http_head rhead;
    struct foyer_response_info rinfo;
    enum out_mode out;
    uint64_t resp_left;
    struct foyer_chunked resp_chunk;
    int status;
    size_t bytes_sent;
    size_t client_head_len;      /* of bytes_sent, the response head */
    struct foyer_str request_id; /* the client's or a new one; {NULL,0}: off */

    unsigned req_done : 1;     /* whole request body read from the client */
    unsigned req_sent : 1;     /* ... and written upstream */
    unsigned resp_started : 1; /* response head parsed */
    unsigned resp_done : 1;
    unsigned client_close : 1; /* close the client after this response */
    unsigned tunnel : 1;
    unsigned client_eof : 1;
    unsigned up_eof : 1;
    unsigned up_wrote : 1;        /* some request bytes reached the upstream socket */
    unsigned parked : 1;          /* a plugin hook is waiting (FOYER_PARK) */
    unsigned orphaned : 1;        /* the client left while parked: free on resume */
    unsigned resp_head_built : 1; /* response fields can no longer change */
    unsigned result_reported : 1; /* on_upstream_result ran for this attempt */
    unsigned plugin_abort : 1;    /* a response-body hook failed: cut the connection */

    /* plugins */
    int park_phase;        /* where a parked exchange resumes */
    unsigned park_plugin;  /* the plugin index that parked it */
    void **plugin_storage; /* one slot per plugin of cfg */
    struct foyer_header_edit_list plugin_req_edits, plugin_resp_edits;
    ev_tstamp up_sent_at; /* request head written upstream (for latency) */
    unsigned tried[8];    /* endpoint indexes tried, for plugins choosing retries */
    unsigned ntried;

    /* a body held for plugins to inspect first (proxy_hold.c) */
    size_t hold_max; /* bytes asked for (api->req_hold_body), 0: none */
    char *held;      /* a chunked body decoded, hold_max bytes at most */
    size_t held_len;
    size_t hold_scan; /* raw bytes of the client buffer decoded into held */
    struct foyer_chunked hold_chunk;
    unsigned holding : 1;        /* reading it */
    unsigned hold_complete : 1;  /* what plugins see is the whole body */
    unsigned request_id_new : 1; /* made here: the upstream is told it */
};

/* ---- shared by proxy.c, proxy_head.c and proxy_relay.c ---- */

static inline struct ev_loop *loop_(void)
{
    return foyer_worker.loop;
}

static inline const struct foyer_settings *settings(const struct foyer_exchange *x)
{
    return &x->cfg->settings;
}

/* The route may give one request its own patience. */
static inline double read_timeout(const struct foyer_exchange *x)
{
    return x->route.timeout > 0 ? x->route.timeout
                                : x->cfg->settings.upstream_read_timeout;
}

static inline void watch(ev_io *w, int on)
{
    if (on && !ev_is_active(w)) ev_io_start(loop_(), w);
    if (!on && ev_is_active(w)) ev_io_stop(loop_(), w);
}

static inline void arm(struct foyer_deadline *t, double after)
{
    foyer_deadline_set(loop_(), t, after);
}

/* proxy.c: the end of an exchange (both free x), retrying elsewhere. */
void foyer_x_finish(struct foyer_exchange *x);
void foyer_x_fail(struct foyer_exchange *x, int status, const char *why);
int foyer_x_retry_or_fail(struct foyer_exchange *x, int status, const char *why);
void foyer_x_free(struct foyer_exchange *x);
void foyer_x_drop_upstream(struct foyer_exchange *x, int reusable);
/* A redirect, a `respond` decision or a plugin's answer, sent like a response. */
void foyer_x_answer_locally(struct foyer_exchange *x);

/* "upstream <what> failed", with the transport's reason when it has one
 * (a TLS verification failure); the text lives until the next call. */
const char *foyer_x_upstream_error(struct foyer_exchange *x, const char *what);

/* proxy.c: after routing (and a held body), the upstream request. */
void foyer_x_go_upstream(struct foyer_exchange *x);
/* "100 Continue" to a client waiting for it before sending its body. */
void foyer_x_send_continue(struct foyer_exchange *x);

/* proxy_hold.c */
int foyer_x_hold_wanted(const struct foyer_exchange *x);
void foyer_x_hold_start(struct foyer_exchange *x);
void foyer_x_hold_readable(struct foyer_exchange *x);

/* proxy_head.c */
int foyer_x_build_upstream_head(struct foyer_exchange *x);
const struct foyer_header_edits *
foyer_x_local_fields(struct foyer_exchange *x, const struct foyer_header_edits *route,
                     struct foyer_header_edits *out);
void foyer_x_choose_out_mode(struct foyer_exchange *x);
int foyer_x_build_client_head(struct foyer_exchange *x);
void foyer_x_interim(struct foyer_exchange *x);

/* proxy_relay.c: the pumps return -1 when the exchange is gone. */
void foyer_x_client_readable(struct foyer_exchange *x);
void foyer_x_client_wants_input(struct foyer_exchange *x, int on);
int foyer_x_pump_up(struct foyer_exchange *x);
int foyer_x_pump_client(struct foyer_exchange *x);
int foyer_x_up_read(struct foyer_exchange *x);

#endif
