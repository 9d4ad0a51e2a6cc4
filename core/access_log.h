/* One access-log line per exchange. */
#ifndef FOYER_ACCESS_LOG_H
#define FOYER_ACCESS_LOG_H

#include "log_format.h"

void foyer_access_log_exchange(const struct foyer_log_format *fmt,
                               const struct foyer_log_entry *e);

#endif
