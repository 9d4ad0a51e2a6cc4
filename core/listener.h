/* Listening sockets. The master opens one per listen address and worker
 * (SO_REUSEPORT), so bind errors surface at start and the kernel spreads new
 * connections across workers without a thundering herd. */
#ifndef FOYER_LISTENER_H
#define FOYER_LISTENER_H

#include <ev.h>

struct foyer_listen;

struct foyer_listener {
    ev_io io;
    int fd;
    unsigned port;
    struct foyer_listener *next;
};

/* Returns a listening socket, or -1 with a message in err. */
int foyer_listener_open(const struct foyer_listen *l, char *err, size_t errlen);
/* Starts accepting on fd in this worker. */
struct foyer_listener *foyer_listener_start(int fd);
void foyer_listener_enable(struct foyer_listener *l, int on);
void foyer_listener_close(struct foyer_listener *l);

#endif
