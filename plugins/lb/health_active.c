/* Active health checks: an HTTP request to each endpoint every `interval`,
 * judged on the status line alone within `timeout`; `fall` failures in a row
 * mark it down, `rise` successes up (HAProxy's rules; an endpoint starts up,
 * so a fresh start does not refuse traffic while the first checks run).
 *
 * Each check is a non-blocking socket on the worker's loop (api->io_watch,
 * api->timer_start): connect, write the request, read until the status line,
 * close. The next check is scheduled when one ends, never overlapping, with
 * +-10% jitter so that endpoints checked by many proxies are not hit in step.
 * Verdicts go to the endpoint's shared slot, which every worker reads when
 * it picks; only the worker that checks logs the changes.
 *
 * The other workers keep a probe on standby: it only looks, every interval,
 * at when the slot last got a result, and starts checking itself if that is
 * older than three intervals plus the timeout (the checking worker is stuck,
 * or does not share this segment), so a verdict never silently goes stale. */
#include "lb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the pure parts ---- */

enum lb_check_event lb_check_count(struct lb_check_count *c,
                                   const struct lb_check_conf *conf, int down, int ok)
{
    if (ok) {
        c->fail_run = 0;
        c->ok_run++;
        return down && c->ok_run >= conf->rise ? LB_CHECK_UP : LB_CHECK_SAME;
    }
    c->ok_run = 0;
    c->fail_run++;
    return !down && c->fail_run >= conf->fall ? LB_CHECK_DOWN : LB_CHECK_SAME;
}

int lb_check_status(const char *buf, size_t len)
{
    static const char v[] = "HTTP/1.";
    size_t have = len < 12 ? len : 12;
    for (size_t i = 0; i < have && i < 7; i++)
        if (buf[i] != v[i]) return -1;
    if (len < 12) return 0;
    if (buf[7] < '0' || buf[7] > '9' || buf[8] != ' ') return -1;
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (buf[i] < '0' || buf[i] > '9') return -1;
        st = st * 10 + (buf[i] - '0');
    }
    return st >= 100 ? st : -1;
}

size_t lb_check_request(char *out, size_t cap, const struct lb_check_conf *c,
                        const char *host)
{
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: foyer-lb-check\r\n"
                     "Accept: */*\r\nConnection: close\r\n\r\n",
                     c->path, c->host[0] ? c->host : host);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* ---- one endpoint's checks on the loop ---- */

struct lb_probe {
    const struct foyer_api *api;
    const struct lb_service *svc;
    struct lb_endpoint *ep;
    struct lb_check_count count;
    int fd;
    foyer_io_t *io;
    foyer_timer_t *next;     /* the next check */
    foyer_timer_t *deadline; /* the running check's timeout */
    size_t sent, got;
    char req[600];
    size_t req_len;
    char buf[16]; /* the status line's start is all we judge */
    uint64_t rng;
    int standby; /* another worker checks; this one watches that it does */
};

static void run(void *arg);
static void on_writable(int fd, void *arg);
static void on_readable(int fd, void *arg);

static void schedule(struct lb_probe *p, double after)
{
    p->next = p->api->timer_start(after, 0, run, p);
    if (p->next == NULL)
        p->api->log(LB_NAME, FOYER_LOG_ERROR,
                    "service %s: endpoint %s: cannot start a timer; "
                    "its health checks stop",
                    p->svc->name, p->ep->name);
}

static double jittered(struct lb_probe *p, double t)
{
    return t * (0.9 + 0.2 * (lb_rand(&p->rng) >> 11) * (1.0 / 9007199254740992.0));
}

static void close_check(struct lb_probe *p)
{
    if (p->io) p->api->io_stop(p->io);
    if (p->deadline) p->api->timer_stop(p->deadline);
    if (p->fd >= 0) close(p->fd);
    p->io = NULL;
    p->deadline = NULL;
    p->fd = -1;
}

static void publish(struct lb_probe *p, enum lb_check_event ev, const char *why)
{
    const struct lb_check_conf *c = &p->svc->set.check;
    if (ev == LB_CHECK_SAME) return;
    lb_slot_set_down(p->ep->health, ev == LB_CHECK_DOWN);
    if (ev == LB_CHECK_DOWN)
        p->api->log(
            LB_NAME, FOYER_LOG_WARNING,
            "service %s: endpoint %s is down (health check: %s; %u failure%s in a row)",
            p->svc->name, p->ep->name, why, c->fall, c->fall > 1 ? "s" : "");
    else
        p->api->log(
            LB_NAME, FOYER_LOG_NOTICE,
            "service %s: endpoint %s is up (health check passed %u time%s in a row)",
            p->svc->name, p->ep->name, c->rise, c->rise > 1 ? "s" : "");
}

/* One check is over: count it, and plan the next. */
static void finish(struct lb_probe *p, int ok, const char *why)
{
    close_check(p);
    lb_slot_checked(p->ep->health, p->api->now());
    int down = lb_slot_down(p->ep->health);
    publish(p, lb_check_count(&p->count, &p->svc->set.check, down, ok), why);
    schedule(p, jittered(p, p->svc->set.check.interval));
}

static void timed_out(void *arg)
{
    struct lb_probe *p = arg;
    char why[64];
    snprintf(why, sizeof why, "no answer within %g s", p->svc->set.check.timeout);
    p->api->timer_stop(p->deadline); /* fired, one-shot: this frees it */
    p->deadline = NULL;
    finish(p, 0, why);
}

static int watch(struct lb_probe *p, int writable)
{
    if (p->io) p->api->io_stop(p->io);
    p->io = p->api->io_watch(p->fd, writable, writable ? on_writable : on_readable, p);
    return p->io ? 0 : -1;
}

static void fail_errno(struct lb_probe *p, const char *what, int err)
{
    char why[160];
    snprintf(why, sizeof why, "%s: %s", what, strerror(err));
    finish(p, 0, why);
}

static double stale_after(const struct lb_check_conf *c)
{
    return 3 * c->interval + c->timeout + 1;
}

/* On standby: has the checking worker gone quiet? Then check from here on. */
static int take_over(struct lb_probe *p)
{
    double quiet = p->api->now() - lb_slot_last_check(p->ep->health);
    if (quiet < stale_after(&p->svc->set.check)) return 0;
    p->standby = 0;
    p->api->log(
        LB_NAME, FOYER_LOG_WARNING,
        "service %s: endpoint %s: no health check result for %.0f s from the checking "
        "worker; this worker checks it from now on",
        p->svc->name, p->ep->name, quiet > 1e6 ? stale_after(&p->svc->set.check) : quiet);
    return 1;
}

static void run(void *arg)
{
    struct lb_probe *p = arg;
    p->api->timer_stop(p->next); /* fired, one-shot: this frees it */
    p->next = NULL;
    if (p->standby && !take_over(p)) {
        schedule(p, jittered(p, p->svc->set.check.interval));
        return;
    }
    p->sent = p->got = 0;
    p->fd = socket(p->ep->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0) {
        fail_errno(p, "socket", errno);
        return;
    }
    p->deadline = p->api->timer_start(p->svc->set.check.timeout, 0, timed_out, p);
    if (connect(p->fd, (const struct sockaddr *)&p->ep->addr, p->ep->addrlen) != 0 &&
        errno != EINPROGRESS) {
        fail_errno(p, "connect", errno);
        return;
    }
    if (p->deadline == NULL || watch(p, 1) != 0) finish(p, 0, "out of memory");
}

static void on_writable(int fd, void *arg)
{
    struct lb_probe *p = arg;
    int err = 0;
    socklen_t len = sizeof err;
    if (p->sent == 0 &&
        (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)) {
        fail_errno(p, "connect", err ? err : errno);
        return;
    }
    ssize_t n = send(fd, p->req + p->sent, p->req_len - p->sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
        fail_errno(p, "send", errno);
        return;
    }
    if (n > 0) p->sent += (size_t)n;
    if (p->sent == p->req_len && watch(p, 0) != 0) finish(p, 0, "out of memory");
}

static void on_readable(int fd, void *arg)
{
    struct lb_probe *p = arg;
    const struct lb_check_conf *c = &p->svc->set.check;
    ssize_t n = recv(fd, p->buf + p->got, sizeof p->buf - p->got, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n < 0) {
        fail_errno(p, "recv", errno);
        return;
    }
    p->got += (size_t)n;
    int st = lb_check_status(p->buf, p->got);
    char why[96];
    if (st == 0 && n > 0) return; /* more to come */
    if (st <= 0) {
        finish(p, 0, st < 0 ? "not an HTTP response" : "closed before answering");
        return;
    }
    if (c->expect_lo == c->expect_hi)
        snprintf(why, sizeof why, "status %d, expected %d", st, c->expect_lo);
    else
        snprintf(why, sizeof why, "status %d, expected %d-%d", st, c->expect_lo,
                 c->expect_hi);
    finish(p, st >= c->expect_lo && st <= c->expect_hi, why);
}

struct lb_probe *lb_probe_start(const struct foyer_api *api, const struct lb_service *s,
                                struct lb_endpoint *ep, uint64_t seed, int standby)
{
    struct lb_probe *p = calloc(1, sizeof *p);
    if (p == NULL) return NULL;
    p->api = api;
    p->svc = s;
    p->ep = ep;
    p->fd = -1;
    p->rng = seed;
    p->standby = standby;
    p->req_len = lb_check_request(p->req, sizeof p->req, &s->set.check, s->name);
    if (p->req_len == 0) {
        free(p);
        return NULL;
    }
    /* The first check soon, spread over a tenth of the interval (at most a
     * second) so a service's endpoints are not all checked at once; the
     * first look of a standby probe once the checking worker has had time. */
    double spread = s->set.check.interval / 10 < 1 ? s->set.check.interval / 10 : 1;
    double first = spread * (lb_rand(&p->rng) >> 11) * (1.0 / 9007199254740992.0);
    schedule(p, standby ? stale_after(&s->set.check) + first : first);
    return p;
}

void lb_probe_stop(struct lb_probe *p)
{
    if (p == NULL) return;
    close_check(p);
    if (p->next) p->api->timer_stop(p->next);
    free(p);
}
