/* One access-log line per exchange, in the configuration's format
 * (log_format.c), into the buffered access log (log.c). */
#include "access_log.h"
#include "log.h"

void foyer_access_log_exchange(const struct foyer_log_format *fmt,
                               const struct foyer_log_entry *e)
{
    if (!foyer_access_enabled() || fmt == NULL) return;
    char line[4096];
    size_t n = foyer_log_format_line(fmt, e, line, sizeof line);
    foyer_access_write(line, n);
}
