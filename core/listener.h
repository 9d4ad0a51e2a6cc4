/* Listening sockets. The master opens one per listen address and worker
 * (SO_REUSEPORT), so bind errors surface at start and the kernel spreads new
 * connections across workers without a thundering herd. */
#ifndef FOYER_LISTENER_H
#define FOYER_LISTENER_H

#include "addr.h"

#include <ev.h>

struct foyer_config;
struct foyer_listen;

struct foyer_listener {
    ev_io io;
    int fd;
    unsigned port;
    union foyer_sockaddr addr;
    socklen_t addrlen;
    unsigned index; /* in the current configuration's listens */
    struct foyer_listener *next;
};

/* A listening socket handed from the master to a worker. fd -1: closed. */
struct foyer_listen_fd {
    union foyer_sockaddr addr;
    socklen_t addrlen;
    int fd;
};

/* Returns a listening socket, or -1 with a message in err. */
int foyer_listener_open(const struct foyer_listen *l, char *err, size_t errlen);
/* Starts accepting on fd in this worker. */
struct foyer_listener *foyer_listener_start(int fd, const union foyer_sockaddr *addr,
                                            socklen_t addrlen);
/* Makes a worker's listeners those of config c: keeps the ones it has, takes
 * inherited sockets (closing the unused ones), opens the rest itself. On a
 * bind error the listeners are left as they were and -1 is returned. */
int foyer_listeners_apply(struct foyer_listener **list, const struct foyer_config *c,
                          struct foyer_listen_fd *inherited, unsigned ninherited);
void foyer_listener_enable(struct foyer_listener *l, int on);
void foyer_listener_close(struct foyer_listener *l);

#endif
