/*
 * End-to-end test harness: real foyer, real backends, real sockets.
 *
 * Isolation (after libuv's tests): every test case runs in its own forked
 * process, in its own process group, with a timeout. A hang or a crash fails
 * that case only; whatever it started is killed by PID when it ends (and the
 * group is swept by the parent as a last resort), so no process outlives the
 * suite. The case process is a child subreaper: foyer workers orphaned by a
 * dying master are re-parented to it and reaped too.
 *
 * Inside a case, checks are reported to the parent through a pipe and turned
 * into CUnit failures there: the case's CUnit context lives in the parent.
 *
 * Environment (set by `make check`, see AM_TESTS_ENVIRONMENT):
 *   FOYER_BIN      the foyer binary
 *   FOYER_BACKEND  tests/helpers/foyer-test-backend
 *   FOYER_SRCDIR   the source tree
 *   FOYER_SHARED   ../shared (may be absent)
 */
#ifndef FOYER_E2E_HARNESS_H
#define FOYER_E2E_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Built with AddressSanitizer (./configure --enable-sanitizers builds the
 * tests and foyer alike): its quarantine and redzones inflate RSS, so memory
 * thresholds are loosened or only logged. */
#if defined(__SANITIZE_ADDRESS__)
#define E2E_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define E2E_ASAN 1
#endif
#endif
#ifndef E2E_ASAN
#define E2E_ASAN 0
#endif

/* ---- cases and checks --------------------------------------------------- */

typedef void (*e2e_body_fn)(void);

/* Runs body in a forked child with a timeout; called by the CUnit test
 * function that E2E_TEST defines. */
void e2e_isolate(const char *name, e2e_body_fn body, int timeout_s);

/* Defines a CUnit test function `name` whose body runs isolated. */
#define E2E_TEST(name, timeout_s)                                                           \
    static void name##_body(void);                                                          \
    static void name(void) { e2e_isolate(#name, name##_body, timeout_s); }                  \
    static void name##_body(void)

struct e2e_case {
    const char *name;
    void (*fn)(void);
};
#define E2E_CASE(name) {#name, name}

/* Registers the cases as one suite, runs it, returns main's exit code. */
int e2e_run_suite(const char *suite, const struct e2e_case *cases, size_t n);

/* Records a check; returns ok. Failures go to the parent as CUnit failures. */
bool e2e_check(bool ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Ends the current case now (after a failed REQUIRE), cleaning up. */
__attribute__((noreturn)) void e2e_bail(void);

#define CHECK(cond) e2e_check(!!(cond), __FILE__, __LINE__, "%s", #cond)
#define CHECKF(cond, ...) e2e_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define REQUIRE(cond)                                                                       \
    do {                                                                                    \
        if (!CHECK(cond))                                                                   \
            e2e_bail();                                                                     \
    } while (0)
#define REQUIREF(cond, ...)                                                                 \
    do {                                                                                    \
        if (!CHECKF(cond, __VA_ARGS__))                                                     \
            e2e_bail();                                                                     \
    } while (0)
/* Value checks evaluate their arguments once (they may be requests). */
#define CHECK_INT(got, want) e2e_check_int((long long)(got), (long long)(want), #got, __FILE__, __LINE__)
#define CHECK_STR(got, want) e2e_check_str((got), (want), #got, __FILE__, __LINE__)
bool e2e_check_int(long long got, long long want, const char *expr, const char *file, int line);
bool e2e_check_str(const char *got, const char *want, const char *expr, const char *file, int line);

/* Informational line in the test log (stderr). */
void e2e_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- environment, files, processes ----------------------------------------- */

int64_t e2e_now_ms(void);
void e2e_sleep_ms(int ms);
/* e2e_now_ms() + timeout_ms, stretched by FOYER_TEST_SLOW like the harness's
 * other waits for foyer. */
int64_t e2e_deadline(int timeout_ms);

/* Polls until cond (an expression, evaluated anew every 20 ms) is true or
 * timeout_ms have passed (see e2e_deadline); the value is cond's last one.
 * For asynchronous state (a health check, a reload, a connection closing): a
 * fixed sleep followed by a check races a loaded machine. */
#define E2E_WAIT_UNTIL(cond, timeout_ms)                                                 \
    ({                                                                                   \
        int64_t e2e_until_ = e2e_deadline(timeout_ms);                                   \
        bool e2e_ok_;                                                                    \
        while (!(e2e_ok_ = (cond)) && e2e_now_ms() < e2e_until_)                         \
            e2e_sleep_ms(20);                                                            \
        e2e_ok_;                                                                         \
    })
/* The case's private temporary directory (removed when the case ends). */
const char *e2e_tmpdir(void);
/* Path of a file in the temp dir (static buffer rotation: 4 live results). */
const char *e2e_path(const char *name);
bool e2e_write_file(const char *path, const char *text);
/* Reads a whole (small) file; malloc'd, NUL-terminated, NULL on error. */
char *e2e_read_file(const char *path);
/* An environment variable that must be set (the case fails otherwise). */
const char *e2e_env(const char *name);

/* A free ephemeral port on 127.0.0.1 (bound to port 0, read, closed). */
int e2e_free_port(void);

/* Starts argv[0] with stdout and stderr redirected (-1: inherit); the PID is
 * remembered and killed at the end of the case if still running. */
pid_t e2e_spawn(char *const argv[], int out_fd, int err_fd);
/* Waits for pid to exit; returns its exit code, 128+signal, or -1 on timeout
 * (the process is left running). */
int e2e_wait(pid_t pid, int timeout_ms);
/* Stops pid: SIGTERM, waits, then SIGKILL. Returns what e2e_wait returned for
 * the SIGTERM (so -1 means it had to be killed). */
int e2e_stop(pid_t pid, int timeout_ms);
/* Waits until pid no longer exists, reaping it if it is (or was adopted as)
 * our child; false on timeout. */
bool e2e_wait_gone(pid_t pid, int timeout_ms);
/* Runs argv to completion, stdout+stderr captured in out (NUL-terminated).
 * Returns the exit code, 128+signal, or -1 on timeout (then killed). */
int e2e_run(char *const argv[], char *out, size_t outlen, int timeout_ms);
/* Direct children of pid (via /proc/ * /stat); returns how many, at most max. */
int e2e_children(pid_t pid, pid_t *out, int max);
/* VmRSS of pid in KiB, -1 if unknown. */
long e2e_rss_kb(pid_t pid);

/* ---- backends --------------------------------------------------------------- */

struct e2e_backend {
    pid_t pid;
    int port;
};
/* Starts $FOYER_BACKEND --listen 127.0.0.1:0 --name name; REQUIREs success. */
struct e2e_backend e2e_backend_start(const char *name);

struct e2e_backend_stats {
    long conns, open, requests, bad;
};
/* Asks a backend directly for its counters (X-Backend-Control: stats, which
 * works in report mode too; not counted as a request, but its connection is
 * counted in conns). */
bool e2e_backend_stats(int port, struct e2e_backend_stats *st);
/* Starts a backend with extra arguments (NULL-terminated, may be NULL). */
struct e2e_backend e2e_backend_start_args(const char *name, const char *const *extra);
/* Starts a backend in --report mode: every request answered with a JSON
 * report of what it received (tests/helpers/backend_endpoints.c). */
struct e2e_backend e2e_backend_start_report(const char *name);
/* Requests counted by a backend so far (-1 on error). */
long e2e_backend_requests(int port);
/* Waits until the backend has counted at least n requests (it counts one as
 * soon as its head is in, before answering: a request it counted is in
 * flight); false after timeout_ms. */
bool e2e_backend_wait_requests(int port, long n, int timeout_ms);

/* ---- foyer -------------------------------------------------------------------- */

struct e2e_foyer {
    pid_t pid;
    int port;
    char conf[512];
    char errlog[512]; /* foyer's stderr */
};

/* Writes `listen "127.0.0.1:PORT"` + the given Lua (printf format) into
 * foyer.lua in the temp dir, starts `$FOYER_BIN -c foyer.lua` and waits (5 s
 * at most) until the port accepts connections. REQUIREs success. Then it
 * waits (5 s at most, not required) until the workers the master started all
 * run, their signal handlers installed (see e2e_foyer_wait_workers). */
void e2e_foyer_start(struct e2e_foyer *f, const char *lua_fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The usual config: one worker, the extra `set` keys (may be ""), a service
 * "app" with the given backend ports, every request routed to it. */
void e2e_foyer_start_simple(struct e2e_foyer *f, const char *extra_set, int port);
/* SIGTERM, wait up to timeout_ms; returns the exit code as e2e_stop does. */
int e2e_foyer_stop(struct e2e_foyer *f, int timeout_ms);
/* Summed RSS of foyer's workers (of the master if it has none), KiB. */
long e2e_foyer_rss_kb(const struct e2e_foyer *f);
/* Prints the tail of foyer's stderr into the test log. */
void e2e_foyer_dump_log(const struct e2e_foyer *f);
/* Writes text (the whole config, listen lines included) to `name` in the
 * temp dir and starts foyer on it: stderr goes to name.err, pidfile (may be
 * NULL) is passed as -p; waits (5 s at most) until `port` accepts, then for
 * the workers as e2e_foyer_start does. */
void e2e_foyer_start_conf(struct e2e_foyer *f, const char *name, int port, const char *text,
                          const char *pidfile);
/* Waits until foyer's stderr contains needle; false after timeout_ms. */
bool e2e_foyer_log_wait(const struct e2e_foyer *f, const char *needle, int timeout_ms);
/* Worker pids of a running foyer (children of the master); how many. */
int e2e_foyer_workers(const struct e2e_foyer *f, pid_t *out, int max);
/* Waits until foyer has n workers, each of which has installed its signal
 * handlers (SIGHUP in /proc/PID/status's SigCgt); false after timeout_ms.
 * The port accepts before the workers are even forked: a SIGHUP or SIGUSR1
 * that reaches a worker still starting kills it (the master restarts it), so
 * a test signals foyer soon after its start only once this is true. */
bool e2e_foyer_wait_workers(const struct e2e_foyer *f, int n, int timeout_ms);
/* A plugin of the build tree next to $FOYER_BIN: plugins/NAME/.libs/NAME.so
 * (libtool's) or plugins/NAME/NAME.so; REQUIREs it. Valid to the end. */
const char *e2e_plugin_so(const char *name);
/* Replaces every occurrence of from by to in a malloc'd string (freed). */
char *e2e_replace(char *text, const char *from, const char *to);

/* ---- raw HTTP client ------------------------------------------------------------ */

struct e2e_conn {
    int fd;
    char *buf; /* received, not yet consumed: buf[pos..len) */
    size_t pos, len, cap;
    bool eof;
    int err; /* errno of a failed recv (e.g. ECONNRESET) */
};

/* Connects to 127.0.0.1:port (blocking connect with TCP_NODELAY). */
bool e2e_conn_open(struct e2e_conn *c, int port);
void e2e_conn_close(struct e2e_conn *c);
/* Sends all bytes before the deadline. */
bool e2e_send(struct e2e_conn *c, const void *p, size_t n, int timeout_ms);
bool e2e_send_str(struct e2e_conn *c, const char *s, int timeout_ms);
/* Receives more bytes into the buffer (at most max); false on timeout/EOF. */
bool e2e_recv_some(struct e2e_conn *c, size_t max, int timeout_ms);
/* True if the peer closes (EOF or reset) within the timeout; data is dropped. */
bool e2e_wait_closed(struct e2e_conn *c, int timeout_ms);

#define E2E_HEAD_MAX 16384

struct e2e_resp {
    /* Set by the caller before reading (all optional). */
    bool head_request;      /* response to HEAD: no body */
    size_t body_keep;       /* body bytes kept in body (default 1 MiB) */
    size_t recv_max;        /* largest single recv (slow readers) */
    void (*progress)(void *arg, uint64_t body_bytes);
    void *progress_arg;

    /* Results. */
    int status;
    int interim[8]; /* 1xx statuses seen before the final one */
    int ninterim;
    char head[E2E_HEAD_MAX + 1]; /* raw final head, NUL-terminated */
    size_t head_len;
    int64_t content_length; /* -1: absent */
    bool chunked;
    bool conn_close;
    char *body; /* first body_keep bytes, NUL-terminated */
    size_t body_len;
    uint64_t body_total; /* all body bytes */
    uint64_t body_fnv;   /* FNV-1a 64 of all body bytes */
};

/* Reads one final response (skipping and recording 1xx ones). Returns 1 on
 * success, 0 if the connection closed before any byte, -1 on timeout or a
 * malformed response (details logged). */
int e2e_read_response(struct e2e_conn *c, struct e2e_resp *r, int timeout_ms);
/* Reads only up to and including the next response head (e.g. a 100). */
int e2e_read_head(struct e2e_conn *c, struct e2e_resp *r, int timeout_ms);
void e2e_resp_free(struct e2e_resp *r);
/* Value of the first header `name` (case-insensitive) in out; NULL if none. */
const char *e2e_resp_header(const struct e2e_resp *r, const char *name, char *out, size_t len);
/* The same over any CRLF head (request or status line first, e.g. what the
 * backend's /headers echoes); and how many field lines called name it has. */
const char *e2e_head_field(const char *head, const char *name, char *out, size_t len);
int e2e_head_count(const char *head, const char *name);
/* Case-insensitive substring search. */
bool e2e_contains_ci(const char *hay, const char *needle);

/* One request on a fresh connection; returns e2e_read_response's result. */
int e2e_request(int port, const char *raw, struct e2e_resp *r, int timeout_ms);
/* GET target with a Host header on a fresh connection; returns the status, or
 * -1 on failure. X-Backend value copied into backend (may be NULL). */
int e2e_get(int port, const char *host, const char *target, char *backend, size_t blen);

/* A request on a fresh connection: method, Host (NULL: none), target, extra
 * header lines (each ending in CRLF, may be NULL or ""); Connection: close is
 * added. Returns e2e_read_response's result. */
int e2e_http(int port, const char *method, const char *host, const char *target,
             const char *extra_headers, struct e2e_resp *r, int timeout_ms);

/* ---- the test backend's reports (harness_report.c) -------------------------- */

struct e2e_json;
/* Parses the report in a response (NULL if it has none: not from a report
 * backend, or not a 200). Free with e2e_json_free. */
struct e2e_json *e2e_report(const struct e2e_resp *r);
/* Values of the request field `name` (any case) the backend received, joined
 * with sep, in out; NULL if it received none. */
const char *e2e_report_header(const struct e2e_json *rep, const char *name, const char *sep,
                              char *out, size_t len);
/* How many field lines called name the backend received. */
int e2e_report_count(const struct e2e_json *rep, const char *name);
/* A top-level string of the report ("service", "target", "host", ...). */
const char *e2e_report_str(const struct e2e_json *rep, const char *key);
/* All values of response header `name` joined with sep, NULL if none. */
const char *e2e_resp_header_all(const struct e2e_resp *r, const char *name, const char *sep,
                                char *out, size_t len);
/* Normalises a field value list for comparison: splits on commas, trims
 * spaces, joins with ","; in place. */
char *e2e_norm_list(char *v);

#define E2E_FNV_INIT 0xcbf29ce484222325ULL
uint64_t e2e_fnv1a(uint64_t h, const void *p, size_t n);
/* FNV-1a of n bytes of the backend's 'a'..'z' pattern. */
uint64_t e2e_pattern_fnv(uint64_t n);

#endif
