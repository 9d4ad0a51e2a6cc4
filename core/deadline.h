/* A lazily re-armed timeout. Connections move their deadline on every request
 * (header, keep-alive, upstream read...); re-arming an ev_timer each time costs
 * heap work per request. Here moving a deadline later is a store, and the timer
 * only re-arms itself when it fires early (libev's "be smart about timeouts"). */
#ifndef FOYER_DEADLINE_H
#define FOYER_DEADLINE_H

#include <ev.h>
#include <stddef.h>

#define FOYER_CONTAINER_OF(ptr, type, member)                                            \
    ((type *)((char *)(ptr)-offsetof(type, member)))

struct foyer_deadline {
    ev_timer timer;
    ev_tstamp at;        /* 0: no deadline */
    ev_tstamp scheduled; /* when the timer fires, if active */
    void (*expired)(struct foyer_deadline *d);
};

void foyer_deadline_init(struct foyer_deadline *d,
                         void (*expired)(struct foyer_deadline *d));
void foyer_deadline_set(struct ev_loop *loop, struct foyer_deadline *d, double after);
static inline void foyer_deadline_clear(struct foyer_deadline *d)
{
    d->at = 0;
}
void foyer_deadline_stop(struct ev_loop *loop, struct foyer_deadline *d);

#endif
