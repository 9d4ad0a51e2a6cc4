/*
 * plugins/lb/health.h — endpoint health: passive (what real requests say),
 * active (HTTP checks) and the segment through which the checking worker
 * tells the others. Private to plugins/lb.
 *
 * An endpoint can take requests when the active check says up (or there is
 * none) and passive health has not ejected it.
 */
#ifndef LB_HEALTH_H
#define LB_HEALTH_H

#include <stddef.h>
#include <stdint.h>

/* ---- passive (health_passive.c) ---- */

struct lb_passive_conf {
    unsigned failures; /* consecutive failures that eject; 0: passive health off */
    double eject;      /* the first ejection lasts this long, seconds */
    double max_eject;  /* ejections double up to this; and this long in service
                          forgives the past ones */
    int on_5xx;        /* 5xx answers count as failures */
};

struct lb_passive {
    unsigned fails;        /* consecutive failures */
    unsigned ejections;    /* ejections in a row: the next lasts eject x 2^ejections */
    double until;          /* 0: in service; else ejected until then, then on trial */
    double restored_at;    /* when it last came back */
    unsigned char probing; /* its trial request is out: no other until the verdict */
};

enum lb_passive_event { LB_PASSIVE_NOTHING, LB_PASSIVE_EJECTED, LB_PASSIVE_RESTORED };

/* May the endpoint take a request now? After its ejection interval it takes
 * exactly one (the trial) until that one has an outcome. */
int lb_passive_usable(const struct lb_passive *s, double now);
/* The endpoint was picked; 1 when this request is its trial. */
int lb_passive_picked(struct lb_passive *s, double now);
/* The trial ended without a verdict (client gone, no upstream result). */
void lb_passive_abandon(struct lb_passive *s);
/* A failed attempt; `trial`: it was the trial request. */
enum lb_passive_event lb_passive_failure(struct lb_passive *s,
                                         const struct lb_passive_conf *c, double now,
                                         int trial);
/* A good answer. */
enum lb_passive_event lb_passive_success(struct lb_passive *s, double now, int trial);
/* The current ejection's length, for the log. */
double lb_passive_interval(const struct lb_passive *s, const struct lb_passive_conf *c);

/* ---- the shared segment (health_shared.c) ---- */

/* An endpoint's health as the checking worker publishes it. */
struct lb_shared_slot {
    uint64_t key;  /* hash of service and endpoint; 0: free. Atomic access only. */
    uint32_t down; /* 1: the active check says down. Atomic access only. */
    uint32_t changes;
    uint64_t checked_ms; /* when a check last ended (wall clock, ms): the other
                            workers take over when it gets old. Atomic. */
};

/* Maps the segment, once per process, through foyer's shared_memory (NULL, or
 * a refusal: a private segment). */
int lb_shared_open(void *(*shared_memory)(const char *, const char *, size_t));
/* 1 when the segment is shared: one worker checks for all; 0 when it is
 * private: each process checks alone. */
int lb_shared_is_common(void);
/* The slot of (service, endpoint), found or claimed; NULL when full. */
struct lb_shared_slot *lb_shared_slot(const char *service, const char *endpoint);
int lb_slot_down(const struct lb_shared_slot *s);
void lb_slot_set_down(struct lb_shared_slot *s, int down);
/* A check of this endpoint ended at `now` (seconds); when the last one did. */
void lb_slot_checked(struct lb_shared_slot *s, double now);
double lb_slot_last_check(const struct lb_shared_slot *s);

/* ---- active checks (health_active.c) ---- */

struct lb_check_conf {
    int enabled;
    char path[256];
    char host[256]; /* "" : the service's name */
    double interval, timeout;
    unsigned rise, fall;
    int expect_lo, expect_hi; /* good statuses, inclusive */
};

/* rise/fall: consecutive outcomes needed to change state. */
struct lb_check_count {
    unsigned ok_run, fail_run;
};

enum lb_check_event { LB_CHECK_SAME, LB_CHECK_DOWN, LB_CHECK_UP };

/* Counts one check outcome for an endpoint currently `down` or not. */
enum lb_check_event lb_check_count(struct lb_check_count *c,
                                   const struct lb_check_conf *conf, int down, int ok);
/* The status of a response beginning in buf: >0, 0 when more bytes are
 * needed, -1 when it is not an HTTP/1.x status line. */
int lb_check_status(const char *buf, size_t len);
/* The check request; its length, 0 if it does not fit. */
size_t lb_check_request(char *out, size_t cap, const struct lb_check_conf *c,
                        const char *host);

#endif /* LB_HEALTH_H */
