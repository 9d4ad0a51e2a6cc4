/* The admin listener (metrics, status, health), served by worker 0. */
#ifndef FOYER_ADMIN_H
#define FOYER_ADMIN_H

/* Opens, moves or closes the listener for the configuration's `admin`
 * address (NULL: off); only worker 0 serves it. */
void foyer_admin_apply(const char *addr);
void foyer_admin_stop(void);

#endif
