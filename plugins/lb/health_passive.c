/* Passive health: what real requests say about an endpoint. `failures`
 * failed attempts in a row (connect errors, timeouts, 5xx when asked) eject
 * it for `eject` seconds; then one trial request goes to it. A good answer
 * restores it; a failed one ejects it again for twice as long, up to
 * `max_eject`. An endpoint that stays in service for max_eject starts over
 * from `eject` (as Envoy forgets old ejections), so an endpoint that failed
 * once a day is not punished like one that flaps.
 * Counts are per worker: each worker judges from its own traffic. */
#include "health.h"

static double interval_for(unsigned ejections, const struct lb_passive_conf *c)
{
    double t = c->eject;
    for (unsigned i = 0; i < ejections && t < c->max_eject; i++)
        t *= 2;
    return t < c->max_eject ? t : c->max_eject;
}

double lb_passive_interval(const struct lb_passive *s, const struct lb_passive_conf *c)
{
    return interval_for(s->ejections ? s->ejections - 1 : 0, c);
}

int lb_passive_usable(const struct lb_passive *s, double now)
{
    if (s->until == 0) return 1;
    return now >= s->until && !s->probing;
}

int lb_passive_picked(struct lb_passive *s, double now)
{
    if (s->until == 0 || now < s->until) return 0;
    s->probing = 1;
    return 1;
}

void lb_passive_abandon(struct lb_passive *s)
{
    s->probing = 0;
}

static void eject(struct lb_passive *s, const struct lb_passive_conf *c, double now)
{
    if (s->restored_at > 0 && now - s->restored_at >= c->max_eject) s->ejections = 0;
    s->until = now + interval_for(s->ejections, c);
    s->ejections++;
    s->fails = 0;
    s->probing = 0;
}

enum lb_passive_event lb_passive_failure(struct lb_passive *s,
                                         const struct lb_passive_conf *c, double now,
                                         int trial)
{
    if (c->failures == 0) return LB_PASSIVE_NOTHING;
    if (s->until != 0) {
        /* Out of service: only the trial's outcome counts; the others were
         * sent before the ejection and say nothing new. */
        if (!trial) return LB_PASSIVE_NOTHING;
        eject(s, c, now);
        return LB_PASSIVE_EJECTED;
    }
    if (++s->fails < c->failures) return LB_PASSIVE_NOTHING;
    eject(s, c, now);
    return LB_PASSIVE_EJECTED;
}

enum lb_passive_event lb_passive_success(struct lb_passive *s, double now, int trial)
{
    s->fails = 0;
    if (s->until == 0 || !trial) return LB_PASSIVE_NOTHING;
    s->until = 0;
    s->probing = 0;
    s->restored_at = now;
    return LB_PASSIVE_RESTORED;
}
