#include "mirror.h"
#include "config.h"
#include "log.h"
#include "worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MIRRORS_MAX 256
#define MIRROR_TIMEOUT 10.0

struct mirror {
    ev_io io;
    ev_timer timer;
    int fd;
    size_t len, sent;
    char data[];
};

static unsigned in_flight;

static void mirror_free(struct mirror *m)
{
    ev_io_stop(foyer_worker.loop, &m->io);
    ev_timer_stop(foyer_worker.loop, &m->timer);
    close(m->fd);
    free(m);
    in_flight--;
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    mirror_free(w->data);
}

/* Writes the copy, then reads the answer away until the upstream closes. */
static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    struct mirror *m = w->data;
    if (m->sent < m->len) {
        ssize_t n = send(m->fd, m->data + m->sent, m->len - m->sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            mirror_free(m);
            return;
        }
        if (n > 0) m->sent += (size_t)n;
        if (m->sent == m->len) {
            ev_io_stop(loop, &m->io);
            ev_io_set(&m->io, m->fd, EV_READ);
            ev_io_start(loop, &m->io);
        }
        return;
    }
    char sink[4096];
    ssize_t n = read(m->fd, sink, sizeof sink);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) mirror_free(m);
}

void foyer_mirror_send(struct foyer_service *s, const char *head, size_t head_len,
                       const char *body, size_t body_len)
{
    if (in_flight >= MIRRORS_MAX || s->nendpoints == 0 || head_len < 4) return;
    struct foyer_endpoint *ep = &s->endpoints[s->rr++ % s->nendpoints];
    static const char close_field[] = "Connection: close\r\n\r\n";
    size_t len = head_len - 2 + sizeof close_field - 1 + body_len;
    struct mirror *m = malloc(sizeof *m + len);
    if (m == NULL) return;
    m->fd = socket(ep->addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (m->fd < 0 ||
        (connect(m->fd, &ep->addr.sa, ep->addrlen) != 0 && errno != EINPROGRESS)) {
        foyer_debug("mirror to %s (service %s): %s", ep->name, s->name, strerror(errno));
        if (m->fd >= 0) close(m->fd);
        free(m);
        return;
    }
    /* the head loses its final CRLF to gain "Connection: close" */
    memcpy(m->data, head, head_len - 2);
    memcpy(m->data + head_len - 2, close_field, sizeof close_field - 1);
    if (body_len) memcpy(m->data + head_len - 2 + sizeof close_field - 1, body, body_len);
    m->len = len;
    m->sent = 0;
    ev_io_init(&m->io, on_io, m->fd, EV_WRITE);
    ev_timer_init(&m->timer, on_timeout, MIRROR_TIMEOUT, 0.);
    m->io.data = m->timer.data = m;
    ev_io_start(foyer_worker.loop, &m->io);
    ev_timer_start(foyer_worker.loop, &m->timer);
    in_flight++;
}
