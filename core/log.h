/* Error log (stderr, journald-friendly) and the access log. */
#ifndef FOYER_LOG_H
#define FOYER_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum foyer_log_level { FOYER_LOG_ERR, FOYER_LOG_WARN, FOYER_LOG_INFO, FOYER_LOG_DEBUG };

extern int foyer_log_level;

void foyer_log(enum foyer_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define foyer_err(...) foyer_log(FOYER_LOG_ERR, __VA_ARGS__)
#define foyer_warn(...) foyer_log(FOYER_LOG_WARN, __VA_ARGS__)
#define foyer_info(...) foyer_log(FOYER_LOG_INFO, __VA_ARGS__)
#define foyer_debug(...)                                                                 \
    do {                                                                                 \
        if (foyer_log_level >= FOYER_LOG_DEBUG) foyer_log(FOYER_LOG_DEBUG, __VA_ARGS__); \
    } while (0)

/* Redirects the error log to a file (NULL or "stderr" keeps stderr). */
int foyer_log_open_error(const char *path);

/* Access log: a buffered file, flushed when full, by foyer_access_flush() (timer)
 * and at exit. NULL path disables it. */
int foyer_access_open(const char *path);
int foyer_access_enabled(void);
void foyer_access_write(const char *line, size_t len);
void foyer_access_flush(void);
void foyer_access_close(void);

#endif
