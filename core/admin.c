/* The admin listener: `set { admin = "127.0.0.1:9901" }`, off by default.
 *
 * Worker 0 serves it on its loop: a small HTTP/1.x server with one request
 * per connection, for Prometheus and for orchestrators:
 *   GET /metrics   Prometheus text of every worker (metrics.c), plus the
 *                  endpoints' health as their balancers see it
 *   GET /status    JSON: version, uptime, workers with their configuration
 *                  generation, services and endpoint health
 *   GET /healthz   200 while the worker runs (liveness)
 *   GET /ready     200 while foyer takes requests, 503 once it is stopping
 * Keep it on loopback (or a private interface): it tells a lot. */
#include "admin.h"
#include "build-config.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "plugin_hooks.h"
#include "strbuf.h"
#include "worker.h"

#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ADMIN_HEAD_MAX 4096
#define ADMIN_TIMEOUT 5.

struct admin_conn {
    ev_io io;
    ev_timer timer;
    int fd;
    int head_only; /* HEAD */
    size_t len;
    char *out; /* the answer, written from out + off */
    size_t out_len, off;
    char buf[ADMIN_HEAD_MAX];
};

static struct {
    ev_io accept;
    int fd;
    char addr[80];
} admin = {.fd = -1};

/* ---- answers ---- */

/* A JSON string; names here are config strings an operator chose. */
static void add_json_string(struct foyer_strbuf *b, const char *s)
{
    foyer_strbuf_printf(b, "\"");
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            foyer_strbuf_printf(b, "\\%c", ch);
        else if (ch < 0x20)
            foyer_strbuf_printf(b, "\\u%04x", ch);
        else
            foyer_strbuf_printf(b, "%c", ch);
    }
    foyer_strbuf_printf(b, "\"");
}

/* Calls each(service, endpoint, up) for every endpoint of the configuration. */
static void each_endpoint(void (*each)(struct foyer_strbuf *,
                                       const struct foyer_service *, unsigned, int, int),
                          struct foyer_strbuf *b)
{
    struct foyer_config *c = foyer_worker.config;
    for (unsigned i = 0; i < c->nservices; i++) {
        const struct foyer_service *s = &c->services[i];
        struct foyer_endpoint_state *st = calloc(s->nendpoints, sizeof *st);
        for (unsigned j = 0; st && j < s->nendpoints; j++)
            st[j].size = sizeof *st;
        int known = st && foyer_hooks_service_health(c, s->name, st, s->nendpoints);
        for (unsigned j = 0; j < s->nendpoints; j++)
            each(b, s, j, known ? st[j].up : 1, j + 1 == s->nendpoints);
        free(st);
    }
}

static void metric_endpoint(struct foyer_strbuf *b, const struct foyer_service *s,
                            unsigned j, int up, int last)
{
    (void)last;
    foyer_strbuf_printf(b, "foyer_endpoint_up{service=");
    add_json_string(b, s->name); /* the same escaping as Prometheus label values */
    foyer_strbuf_printf(b, ",endpoint=\"%s\"} %d\n", s->endpoints[j].name, up);
}

static char *metrics_text(size_t *len)
{
    struct foyer_strbuf b = {0};
    if (foyer_metrics_render(&b) != 0) b.oom = 1;
    foyer_strbuf_printf(&b, "# HELP foyer_endpoint_up 1 when the endpoint takes traffic "
                            "(its balancer's view)\n# TYPE foyer_endpoint_up gauge\n");
    each_endpoint(metric_endpoint, &b);
    return foyer_strbuf_take(&b, len);
}

static void status_endpoint(struct foyer_strbuf *b, const struct foyer_service *s,
                            unsigned j, int up, int last)
{
    if (j == 0) {
        foyer_strbuf_printf(b, "{\"name\":");
        add_json_string(b, s->name);
        foyer_strbuf_printf(b, ",\"endpoints\":[");
    }
    foyer_strbuf_printf(b, "{\"address\":\"%s%s\",\"up\":%s}%s",
                        s->endpoints[j].tls ? "https://" : "", s->endpoints[j].name,
                        up ? "true" : "false", last ? "]}," : ",");
}

static char *status_json(size_t *len)
{
    struct foyer_strbuf b = {0};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    foyer_strbuf_printf(
        &b, "{\"version\":\"%s\",\"pid\":%d,\"uptime\":%.3f,\"generation\":%u,",
        PACKAGE_VERSION, (int)getppid(), now - foyer_metrics_start_time(),
        foyer_worker.config->generation);
    if (foyer_worker.config->settings.etcd != NULL) /* the etcd state it was built with */
        foyer_strbuf_printf(&b, "\"etcd_revision\":%lld,",
                            foyer_worker.config->etcd_revision);
    foyer_strbuf_printf(&b, "\"config\":");
    add_json_string(&b, foyer_worker.config->file);
    foyer_strbuf_printf(&b, ",\"requests\":%llu,\"workers\":[",
                        (unsigned long long)foyer_metrics_requests_total());
    for (unsigned w = 0; w < foyer_metrics_workers(); w++)
        foyer_strbuf_printf(
            &b,
            "%s{\"id\":%u,\"pid\":%lld,\"generation\":%lld,\"etcd_revision\":%lld,"
            "\"connections\":%lld}",
            w ? "," : "", w, (long long)foyer_metrics_worker_gauge(w, FOYER_G_PID),
            (long long)foyer_metrics_worker_gauge(w, FOYER_G_GENERATION),
            (long long)foyer_metrics_worker_gauge(w, FOYER_G_ETCD_REVISION),
            (long long)foyer_metrics_worker_gauge(w, FOYER_G_CONNS_OPEN));
    foyer_strbuf_printf(&b, "],\"services\":[");
    each_endpoint(status_endpoint, &b);
    if (b.p && b.p[b.len - 1] == ',') b.len--; /* the last service's comma */
    foyer_strbuf_printf(&b, "]}\n");
    return foyer_strbuf_take(&b, len);
}

/* ---- the connection ---- */

static void conn_free(struct admin_conn *c)
{
    ev_io_stop(foyer_worker.loop, &c->io);
    ev_timer_stop(foyer_worker.loop, &c->timer);
    close(c->fd);
    free(c->out);
    free(c);
}

/* Writes what is left of the answer; the connection ends with it. */
static void flush(struct admin_conn *c)
{
    while (c->off < c->out_len) {
        ssize_t w = write(c->fd, c->out + c->off, c->out_len - c->off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) {
            ev_io_stop(foyer_worker.loop, &c->io);
            ev_io_set(&c->io, c->fd, EV_WRITE);
            ev_io_start(foyer_worker.loop, &c->io);
            return;
        }
        if (w <= 0) break;
        c->off += (size_t)w;
    }
    conn_free(c);
}

static void answer(struct admin_conn *c, int status, const char *type, const char *body,
                   size_t len)
{
    const char *reason = status == 200   ? "OK"
                         : status == 404 ? "Not Found"
                         : status == 405 ? "Method Not Allowed"
                         : status == 503 ? "Service Unavailable"
                                         : "Error";
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                     status, reason, type, len);
    c->out = malloc((size_t)n + len);
    if (c->out == NULL) {
        conn_free(c);
        return;
    }
    memcpy(c->out, head, (size_t)n);
    if (!c->head_only) memcpy(c->out + n, body, len);
    c->out_len = (size_t)n + (c->head_only ? 0 : len);
    flush(c);
}

static void route(struct admin_conn *c)
{
    char method[8], path[256];
    if (sscanf(c->buf, "%7s %255s HTTP/1.", method, path) != 2) {
        answer(c, 400, "text/plain", "bad request\n", 12);
        return;
    }
    char *q = strchr(path, '?');
    if (q) *q = '\0';
    c->head_only = strcmp(method, "HEAD") == 0;
    if (strcmp(method, "GET") != 0 && !c->head_only) {
        answer(c, 405, "text/plain", "GET only\n", 9);
        return;
    }
    size_t len = 0;
    char *text = NULL;
    if (strcmp(path, "/metrics") == 0) {
        text = metrics_text(&len);
        answer(c, text ? 200 : 500, "text/plain; version=0.0.4", text ? text : "", len);
    } else if (strcmp(path, "/status") == 0) {
        text = status_json(&len);
        answer(c, text ? 200 : 500, "application/json", text ? text : "", len);
    } else if (strcmp(path, "/healthz") == 0) {
        answer(c, 200, "text/plain", "ok\n", 3);
    } else if (strcmp(path, "/ready") == 0) {
        if (foyer_worker.stopping)
            answer(c, 503, "text/plain", "stopping\n", 9);
        else
            answer(c, 200, "text/plain", "ready\n", 6);
    } else {
        answer(c, 404, "text/plain", "not found: /metrics /status /healthz /ready\n", 44);
    }
    free(text);
}

static void conn_read(struct ev_loop *loop, ev_io *w, int revents)
{
    struct admin_conn *c = w->data;
    if (c->out != NULL) { /* writable again */
        flush(c);
        return;
    }
    ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
        conn_free(c);
        return;
    }
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    if (strstr(c->buf, "\r\n\r\n") || strstr(c->buf, "\n\n"))
        route(c);
    else if (c->len == sizeof c->buf - 1)
        answer(c, 400, "text/plain", "request too large\n", 18);
}

static void conn_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    conn_free(w->data);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    int fd = accept4(admin.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    struct admin_conn *c = malloc(sizeof *c);
    if (c == NULL) {
        close(fd);
        return;
    }
    c->fd = fd;
    c->len = c->out_len = c->off = 0;
    c->out = NULL;
    c->head_only = 0;
    ev_io_init(&c->io, conn_read, fd, EV_READ);
    ev_timer_init(&c->timer, conn_timeout, ADMIN_TIMEOUT, 0);
    c->io.data = c->timer.data = c;
    ev_io_start(loop, &c->io);
    ev_timer_start(loop, &c->timer);
}

/* ---- the listener ---- */

static void close_listener(void)
{
    if (admin.fd < 0) return;
    ev_io_stop(foyer_worker.loop, &admin.accept);
    close(admin.fd);
    admin.fd = -1;
    admin.addr[0] = '\0';
}

static int open_listener(const char *text)
{
    union foyer_sockaddr a;
    socklen_t len;
    const char *why;
    if (foyer_addr_parse(text, &a, &len, &why) != 0) {
        foyer_err("admin \"%s\": %s", text, why);
        return -1;
    }
    int fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, &a.sa, len) != 0 || listen(fd, 64) != 0) {
        foyer_err("admin listener %s: %s", text, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    admin.fd = fd;
    snprintf(admin.addr, sizeof admin.addr, "%s", text);
    ev_io_init(&admin.accept, on_accept, fd, EV_READ);
    ev_io_start(foyer_worker.loop, &admin.accept);
    foyer_info("admin listener on %s", text);
    return 0;
}

void foyer_admin_apply(const char *addr)
{
    if (foyer_worker.id != 0) return;
    if (addr != NULL && strcmp(addr, admin.addr) == 0) return;
    close_listener();
    if (addr != NULL) open_listener(addr);
}

void foyer_admin_stop(void)
{
    close_listener();
}
