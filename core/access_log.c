/* Format: client [time] "METHOD TARGET HTTP/x.y" status bytes seconds "host"
 * service endpoint tag — fields an operator greps for, "-" when unknown. */
#include "access_log.h"
#include "conn.h"
#include "log.h"
#include "request.h"
#include "worker.h"

#include <stdio.h>
#include <time.h>

static void format_time(char *out, size_t len)
{
    static time_t cached_sec = -1;
    static char cached[40];
    time_t now = (time_t)ev_now(foyer_worker.loop);
    if (now != cached_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(cached, sizeof cached, "%d/%b/%Y:%H:%M:%S +0000", &tm);
        cached_sec = now;
    }
    snprintf(out, len, "%s", cached);
}

void foyer_access_log_exchange(struct foyer_conn *c, struct foyer_request *r, int status,
                               size_t bytes, ev_tstamp start, const char *service,
                               const char *endpoint, const char *tag)
{
    if (!foyer_access_enabled()) return;
    char ip[64], when[40], line[4096];
    foyer_addr_host(&c->peer, ip, sizeof ip);
    format_time(when, sizeof when);
    struct foyer_http_head *h = &r->head;
    double secs = ev_now(foyer_worker.loop) - start;
    int n = snprintf(
        line, sizeof line,
        "%s [%s] \"%.*s %.*s HTTP/1.%d\" %d %zu %.3f \"%s\" %s %s %s\n", ip, when,
        (int)(h->method.len > 64 ? 64 : h->method.len), h->method.p ? h->method.p : "-",
        (int)(h->target.len > 2048 ? 2048 : h->target.len),
        h->target.p ? h->target.p : "-", h->version >= 11 ? 1 : 0, status, bytes,
        secs < 0 ? 0 : secs, r->head.method.p ? foyer_request_host(r) : "-",
        service ? service : "-", endpoint ? endpoint : "-", tag ? tag : "-");
    if (n < 0) return;
    if ((size_t)n >= sizeof line) {
        n = sizeof line - 1;
        line[n - 1] = '\n';
    }
    foyer_access_write(line, (size_t)n);
}
