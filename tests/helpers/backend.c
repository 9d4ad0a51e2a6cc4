/*
 * foyer-test-backend main: arguments, the listening socket, accept, signals.
 *
 *   foyer-test-backend --listen 127.0.0.1:PORT [--name NAME] [--report]
 *
 * --report answers every request, whatever its path, with a JSON report of
 * what the backend received (see backend_endpoints.c); without it the paths
 * answer as listed there.
 * PORT 0 picks an ephemeral port. Once listening, the bound port and a
 * newline are printed on stdout (and flushed): that is how a test learns the
 * port without racing. SIGTERM and SIGINT exit 0. See backend_endpoints.c for
 * the paths it answers.
 */
#include "backend.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Accepts per readable event: bounded so one busy listener cannot starve
 * the established connections. */
#define BE_ACCEPT_BATCH 64

static void usage(FILE *f)
{
    fprintf(f, "usage: foyer-test-backend --listen HOST:PORT [--name NAME] [--report]\n");
}

/* "1.2.3.4:80" or "[::1]:80" into host and port strings. */
static int split_hostport(const char *s, char *host, size_t hlen, const char **port)
{
    const char *colon = strrchr(s, ':');
    if (!colon)
        return -1;
    const char *h = s;
    size_t l = (size_t)(colon - s);
    if (l >= 2 && h[0] == '[' && h[l - 1] == ']') {
        h++;
        l -= 2;
    }
    if (l == 0 || l >= hlen)
        return -1;
    memcpy(host, h, l);
    host[l] = 0;
    *port = colon + 1;
    return 0;
}

static int listen_on(const char *addr)
{
    char host[128];
    const char *port;
    if (split_hostport(addr, host, sizeof(host), &port) < 0) {
        fprintf(stderr, "foyer-test-backend: bad address %s\n", addr);
        return -1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *ai;
    int err = getaddrinfo(host, port, &hints, &ai);
    if (err) {
        fprintf(stderr, "foyer-test-backend: %s: %s\n", addr, gai_strerror(err));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
        fprintf(stderr, "foyer-test-backend: listen %s: %s\n", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop, (void)revents;
    struct be_server *srv = w->data;
    for (int i = 0; i < BE_ACCEPT_BATCH; i++) {
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                fprintf(stderr, "foyer-test-backend: accept: %s\n", strerror(errno));
            return;
        }
        /* Responses leave in one writev; Nagle would only delay them. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (!be_conn_new(srv, fd))
            close(fd);
    }
}

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)w, (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static int parse_args(int argc, char **argv, const char **listen_addr, const char **name,
                      bool *report)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--report") == 0) {
            *report = true;
        } else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            *listen_addr = argv[++i];
        } else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
            *name = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            exit(0);
        } else {
            return -1;
        }
    }
    return *listen_addr ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *listen_addr = NULL, *name = "backend";
    bool report = false;
    if (parse_args(argc, argv, &listen_addr, &name, &report) < 0) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* a vanished peer is an EPIPE, not a death */
    int lfd = listen_on(listen_addr);
    if (lfd < 0)
        return 1;

    struct be_server srv = {.loop = ev_default_loop(EVFLAG_AUTO), .name = name,
                            .name_len = strlen(name), .report = report};
    ev_io accept_w;
    ev_signal term_w, int_w;
    ev_io_init(&accept_w, accept_cb, lfd, EV_READ);
    accept_w.data = &srv;
    ev_io_start(srv.loop, &accept_w);
    ev_signal_init(&term_w, stop_cb, SIGTERM);
    ev_signal_init(&int_w, stop_cb, SIGINT);
    ev_signal_start(srv.loop, &term_w);
    ev_signal_start(srv.loop, &int_w);

    printf("%d\n", bound_port(lfd));
    fflush(stdout);
    ev_run(srv.loop, 0);
    be_conn_free_all(&srv);
    free(srv.last_report);
    close(lfd);
    ev_loop_destroy(srv.loop);
    return 0;
}
