/* One access-log line per exchange. */
#ifndef FOYER_ACCESS_LOG_H
#define FOYER_ACCESS_LOG_H

#include <ev.h>
#include <stddef.h>

struct foyer_conn;
struct foyer_request;

void foyer_access_log_exchange(struct foyer_conn *c, struct foyer_request *r, int status,
                               size_t bytes, ev_tstamp start, const char *service,
                               const char *endpoint, const char *tag);

#endif
