/* Telling systemd (Type=notify) how the service is: READY=1, RELOADING=1,
 * STOPPING=1, over the datagram socket named by $NOTIFY_SOCKET (the plain
 * sd_notify protocol; no libsystemd needed). Does nothing without it. */
#ifndef FOYER_NOTIFY_H
#define FOYER_NOTIFY_H

void foyer_notify(const char *state);
/* RELOADING=1 with the MONOTONIC_USEC systemd wants along with it. */
void foyer_notify_reloading(void);

#endif
