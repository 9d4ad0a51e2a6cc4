/* Logging. Errors go to stderr with a level prefix so journald can classify
 * them; the access log is buffered to keep one syscall off every request. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

int foyer_log_level = FOYER_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};
/* sd-daemon(3) priorities, understood by journald on stderr */
static const char *const level_prio[] = {"<3>", "<4>", "<6>", "<7>"};

static int error_fd = 2;
static int access_fd = -1;
static char access_buf[64 * 1024];
static size_t access_len;

void foyer_log(enum foyer_log_level level, const char *fmt, ...)
{
    if ((int)level > foyer_log_level) return;
    char line[2048];
    int off = snprintf(line, sizeof line, "%sfoyer[%d]: %s: ", level_prio[level],
                       (int)getpid(), level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + off, sizeof line - off - 1, fmt, ap);
    va_end(ap);
    size_t len = off + (n < 0 ? 0 : (size_t)n);
    if (len > sizeof line - 2) len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(error_fd, line, len);
    (void)w; /* nowhere left to report a failing error log */
}

int foyer_log_open_error(const char *path)
{
    if (path == NULL || strcmp(path, "stderr") == 0) {
        if (error_fd != 2) close(error_fd);
        error_fd = 2;
        return 0;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        foyer_err("cannot open error log %s: %s", path, strerror(errno));
        return -1;
    }
    if (error_fd != 2) close(error_fd);
    error_fd = fd;
    return 0;
}

int foyer_access_open(const char *path)
{
    foyer_access_close();
    if (path == NULL) return 0;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        foyer_err("cannot open access log %s: %s", path, strerror(errno));
        return -1;
    }
    access_fd = fd;
    return 0;
}

int foyer_access_enabled(void)
{
    return access_fd >= 0;
}

void foyer_access_flush(void)
{
    size_t off = 0;
    while (access_fd >= 0 && off < access_len) {
        ssize_t w = write(access_fd, access_buf + off, access_len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            foyer_err("access log write failed: %s", strerror(errno));
            break;
        }
        off += (size_t)w;
    }
    access_len = 0;
}

void foyer_access_write(const char *line, size_t len)
{
    if (access_fd < 0) return;
    if (access_len + len > sizeof access_buf) foyer_access_flush();
    if (len > sizeof access_buf) len = sizeof access_buf;
    memcpy(access_buf + access_len, line, len);
    access_len += len;
}

void foyer_access_close(void)
{
    if (access_fd < 0) return;
    foyer_access_flush();
    close(access_fd);
    access_fd = -1;
}
