#include "deadline.h"

static void fire(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct foyer_deadline *d = (struct foyer_deadline *)w;
    if (d->at == 0) return; /* cleared since it was armed */
    ev_tstamp now = ev_now(loop);
    if (d->at > now) { /* moved later: sleep again */
        d->scheduled = d->at;
        ev_timer_set(w, d->at - now, 0.);
        ev_timer_start(loop, w);
        return;
    }
    d->at = 0;
    d->expired(d);
}

void foyer_deadline_init(struct foyer_deadline *d,
                         void (*expired)(struct foyer_deadline *d))
{
    ev_init(&d->timer, fire);
    d->at = d->scheduled = 0;
    d->expired = expired;
}

void foyer_deadline_set(struct ev_loop *loop, struct foyer_deadline *d, double after)
{
    ev_tstamp now = ev_now(loop);
    d->at = now + after;
    if (ev_is_active(&d->timer) && d->scheduled <= d->at) return;
    ev_timer_stop(loop, &d->timer);
    d->scheduled = d->at;
    ev_timer_set(&d->timer, after, 0.);
    ev_timer_start(loop, &d->timer);
}

void foyer_deadline_stop(struct ev_loop *loop, struct foyer_deadline *d)
{
    d->at = 0;
    ev_timer_stop(loop, &d->timer);
}
