/*
 * Shared helpers for the unit tests (tests/unit/test_*.c, one program per core
 * module, named after its source file).
 *
 * Checks report through CUnit with the values involved, so a failing case in
 * a table says which input it was and what came out. Every program ends with
 * UNIT_MAIN, which runs its tests and exits non-zero when any check failed.
 */
#ifndef FOYER_UNIT_H
#define FOYER_UNIT_H

#include "http.h"
#include "request.h"

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- running ----------------------------------------------------------- */

struct unit_test {
    const char *name;
    CU_TestFunc fn;
};
/* clang-format off */
#define UNIT_TEST(fn) {#fn, fn}
/* clang-format on */

/* Registers tests as one suite, runs it verbosely, returns main's exit code. */
int unit_run(const char *suite, const struct unit_test *tests, size_t n);

#define UNIT_MAIN(suite, tests)                                                          \
    int main(void)                                                                       \
    {                                                                                    \
        return unit_run(suite, tests, sizeof tests / sizeof *tests);                     \
    }

/* ---- checks -------------------------------------------------------------- */

/* Records one CUnit assertion with a printf-formatted description. */
bool unit_check(bool ok, const char *file, int line, bool fatal, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#define CHECK(cond) unit_check(!!(cond), __FILE__, __LINE__, false, "%s", #cond)
#define CHECKF(cond, ...) unit_check(!!(cond), __FILE__, __LINE__, false, __VA_ARGS__)
#define REQUIRE(cond) unit_check(!!(cond), __FILE__, __LINE__, true, "%s", #cond)

bool unit_check_int(long long got, long long want, const char *expr, const char *file,
                    int line);
#define CHECK_INT(got, want)                                                             \
    unit_check_int((long long)(got), (long long)(want), #got, __FILE__, __LINE__)

/* got may be NULL (a failure unless want is NULL too); gotlen is its length. */
bool unit_check_mem(const char *got, size_t gotlen, const char *want, const char *expr,
                    const char *file, int line);
bool unit_check_cstr(const char *got, const char *want, const char *expr,
                     const char *file, int line);
#define CHECK_STR(got, want) unit_check_cstr((got), (want), #got, __FILE__, __LINE__)
#define CHECK_FSTR(s, want) unit_check_mem((s).p, (s).len, (want), #s, __FILE__, __LINE__)

/* Writes s (len bytes) with CR, LF, TAB and other non-printing bytes escaped,
 * truncated to fit out; returns out. For naming inputs in failure messages. */
const char *unit_escape(const char *s, size_t len, char *out, size_t outlen);

/* A literal and its length, for inputs that may hold NUL bytes. */
#define RAW(s) s, sizeof(s) - 1

/* ---- sockets --------------------------------------------------------------- */

/* A connected, non-blocking Unix stream socket pair. */
void unit_socketpair(int fds[2]);

/* ---- temporary files -------------------------------------------------------- */

/* Creates /tmp/foyer-unit-XXXXXX holding text; path receives its name. */
void unit_temp_file(const char *text, char *path, size_t pathlen);
/* Reads a whole (small) file into out, NUL-terminated; returns its length or -1. */
long unit_read_file(const char *path, char *out, size_t outlen);

/* ---- HTTP heads through the real pipeline -------------------------------- */

/* Limits the tests run with unless they say otherwise. */
extern const struct foyer_head_limits unit_limits;

/* A message fed through the same calls, in the same order, as the proxy:
 * foyer_head_scan, foyer_http1_parse_head, then the analysis. Everything it
 * points into (buf, the header array) belongs to pool. */
struct unit_msg {
    struct foyer_pool *pool;
    char *buf; /* copy of the input, so slices can be checked against it */
    size_t len;
    size_t head_len; /* from the scan */
    int stage;       /* the step that produced the result (enum below) */
    struct foyer_http_head head;
    struct foyer_request_info req;
    struct foyer_response_info resp;
};

enum { UNIT_STAGE_SCAN = 1, UNIT_STAGE_PARSE, UNIT_STAGE_ANALYZE };

/* Each returns the first non-zero result (FOYER_HTTP_AGAIN included) or 0,
 * and leaves m to be released by unit_msg_free. */
int unit_request(struct unit_msg *m, const char *text);
int unit_request_len(struct unit_msg *m, const char *text, size_t len,
                     const struct foyer_head_limits *lim);
int unit_response(struct unit_msg *m, const char *text, int request_was_head);
void unit_msg_free(struct unit_msg *m);

/* Runs text through unit_request and frees it: the status alone. */
int unit_request_status(const char *text);
int unit_response_status(const char *text, int request_was_head);

/* The index of the first header named name (any case), or -1. */
int unit_find_header(const struct foyer_http_head *h, const char *name);

/* A struct foyer_request as the proxy builds it around a parsed message. */
void unit_make_request(struct foyer_request *r, const struct unit_msg *m,
                       const union foyer_sockaddr *client, unsigned listen_port);

#endif
