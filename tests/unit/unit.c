/* Shared helpers for the unit tests; see unit.h. */
#include "unit.h"
#include "pool.h"

#include <CUnit/Basic.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- running ----------------------------------------------------------- */

int unit_run(const char *suite, const struct unit_test *tests, size_t n)
{
    /* as in every foyer process: a write to a closed peer is EPIPE, not a signal */
    signal(SIGPIPE, SIG_IGN);
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_pSuite s = CU_add_suite(suite, NULL, NULL);
    if (s == NULL) return 2;
    for (size_t i = 0; i < n; i++)
        if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL) return 2;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed != 0;
}

/* ---- checks -------------------------------------------------------------- */

bool unit_check(bool ok, const char *file, int line, bool fatal, const char *fmt, ...)
{
    char msg[1024] = "";
    if (!ok) { /* CUnit copies the text of failures only */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, (unsigned)line, msg, file, "",
                            fatal ? CU_TRUE : CU_FALSE);
    return ok;
}

bool unit_check_int(long long got, long long want, const char *expr, const char *file,
                    int line)
{
    return unit_check(got == want, file, line, false, "%s == %lld (got %lld)", expr, want,
                      got);
}

bool unit_check_mem(const char *got, size_t gotlen, const char *want, const char *expr,
                    const char *file, int line)
{
    char g[256], w[256];
    bool ok = got == NULL || want == NULL
                  ? got == want
                  : gotlen == strlen(want) && memcmp(got, want, gotlen) == 0;
    if (ok) return unit_check(true, file, line, false, "%s", expr);
    return unit_check(
        false, file, line, false, "%s == \"%s\" (got %s%s%s)", expr,
        want ? unit_escape(want, strlen(want), w, sizeof w) : "NULL", got ? "\"" : "",
        got ? unit_escape(got, gotlen, g, sizeof g) : "NULL", got ? "\"" : "");
}

bool unit_check_cstr(const char *got, const char *want, const char *expr,
                     const char *file, int line)
{
    return unit_check_mem(got, got ? strlen(got) : 0, want, expr, file, line);
}

const char *unit_escape(const char *s, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r')
            o += (size_t)snprintf(out + o, outlen - o, "\\r");
        else if (c == '\n')
            o += (size_t)snprintf(out + o, outlen - o, "\\n");
        else if (c == '\t')
            o += (size_t)snprintf(out + o, outlen - o, "\\t");
        else if (c < 0x20 || c >= 0x7f)
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
    return out;
}

/* ---- sockets --------------------------------------------------------------- */

void unit_socketpair(int fds[2])
{
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
}

/* ---- temporary files -------------------------------------------------------- */

void unit_temp_file(const char *text, char *path, size_t pathlen)
{
    snprintf(path, pathlen, "/tmp/foyer-unit-XXXXXX");
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    size_t len = strlen(text);
    REQUIRE(write(fd, text, len) == (ssize_t)len);
    close(fd);
}

long unit_read_file(const char *path, char *out, size_t outlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t n = 0;
    ssize_t r;
    while (n + 1 < outlen && (r = read(fd, out + n, outlen - 1 - n)) > 0)
        n += (size_t)r;
    close(fd);
    out[n] = '\0';
    return (long)n;
}

/* ---- HTTP heads through the real pipeline -------------------------------- */

const struct foyer_head_limits unit_limits = {8192, 100};

static int scan_and_parse(struct unit_msg *m, const char *text, size_t len,
                          int is_request, const struct foyer_head_limits *lim)
{
    struct foyer_head_scan s;
    memset(m, 0, sizeof *m);
    m->pool = foyer_pool_create(4096);
    REQUIRE(m->pool != NULL);
    m->buf = foyer_pool_alloc(m->pool, len + 1);
    REQUIRE(m->buf != NULL);
    memcpy(m->buf, text, len);
    m->buf[len] = '\0';
    m->len = len;
    m->stage = UNIT_STAGE_SCAN;
    foyer_head_scan_init(&s, is_request);
    int err = foyer_head_scan(&s, m->buf, len, lim, &m->head_len);
    if (err) return err;
    /* as the proxy does: ignored leading empty lines are not part of the head */
    m->stage = UNIT_STAGE_PARSE;
    m->head.is_request = is_request;
    return foyer_http1_parse_head(&m->head, m->buf + s.first, m->head_len - s.first,
                                  s.lines, m->pool);
}

int unit_request_len(struct unit_msg *m, const char *text, size_t len,
                     const struct foyer_head_limits *lim)
{
    int err = scan_and_parse(m, text, len, 1, lim);
    if (err) return err;
    m->stage = UNIT_STAGE_ANALYZE;
    return foyer_request_analyze(&m->head, &m->req);
}

int unit_request(struct unit_msg *m, const char *text)
{
    return unit_request_len(m, text, strlen(text), &unit_limits);
}

int unit_response(struct unit_msg *m, const char *text, int request_was_head)
{
    int err = scan_and_parse(m, text, strlen(text), 0, &unit_limits);
    if (err) return err;
    m->stage = UNIT_STAGE_ANALYZE;
    return foyer_response_analyze(&m->head, request_was_head, &m->resp);
}

void unit_msg_free(struct unit_msg *m)
{
    foyer_pool_destroy(m->pool);
    m->pool = NULL;
}

int unit_request_status(const char *text)
{
    struct unit_msg m;
    int st = unit_request(&m, text);
    unit_msg_free(&m);
    return st;
}

int unit_response_status(const char *text, int request_was_head)
{
    struct unit_msg m;
    int st = unit_response(&m, text, request_was_head);
    unit_msg_free(&m);
    return st;
}

int unit_find_header(const struct foyer_http_head *h, const char *name)
{
    for (unsigned i = 0; i < h->nheaders; i++)
        if (foyer_str_eq_ci(h->headers[i].name, name, strlen(name))) return (int)i;
    return -1;
}

void unit_make_request(struct foyer_request *r, const struct unit_msg *m,
                       const union foyer_sockaddr *client, unsigned listen_port)
{
    memset(r, 0, sizeof *r);
    r->pool = m->pool;
    r->head = m->head;
    r->info = m->req;
    r->client = client;
    r->scheme = "http";
    r->listen_port = listen_port;
}
