/*
 * E2E harness: case isolation, checks, processes, backends and foyer.
 * The raw HTTP client is in harness_http.c.
 */
#include "harness.h"

#include <CUnit/Basic.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define E2E_MAX_PROCS 64

/* State of the case process (the forked child). */
static struct {
    int report_fd; /* pipe to the parent: one failure per line */
    int failures;
    char tmpdir[256];
    pid_t procs[E2E_MAX_PROCS]; /* started by this case, killed at its end */
    int nprocs;
    char foyer_logs[8][512]; /* stderr files of the foyers, dumped on failure */
    int nfoyers;
} cs = {.report_fd = -1};

/* ---- small utilities ------------------------------------------------------- */

/* FOYER_TEST_SLOW=N (tests/valgrind.sh runs foyer under valgrind): foyer is
 * N times slower, so the harness's waits for it (start-up, log lines, exits)
 * and the case timeouts are N times longer. The tests' own request deadlines
 * are not scaled. */
static int slow_factor(void)
{
    static int factor;
    if (factor == 0) {
        const char *v = getenv("FOYER_TEST_SLOW");
        factor = v && atoi(v) > 1 ? atoi(v) : 1;
    }
    return factor;
}

int64_t e2e_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t e2e_deadline(int timeout_ms)
{
    return e2e_now_ms() + (int64_t)timeout_ms * slow_factor();
}

void e2e_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

void e2e_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "    [e2e %d] ", (int)getpid());
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

const char *e2e_tmpdir(void)
{
    return cs.tmpdir;
}

const char *e2e_path(const char *name)
{
    static char bufs[4][400];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof(bufs[0]), "%s/%.100s", cs.tmpdir, name);
    return b;
}

bool e2e_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

char *e2e_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) buf[len] = 0;
    return buf;
}

const char *e2e_env(const char *name)
{
    const char *v = getenv(name);
    REQUIREF(v && *v, "environment variable %s is not set (run through make check)",
             name);
    return v;
}

int e2e_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0) close(fd);
    REQUIREF(port > 0, "no free port: %s", strerror(errno));
    return port;
}

/* ---- checks and reporting --------------------------------------------------- */

bool e2e_check(bool ok, const char *file, int line, const char *fmt, ...)
{
    if (ok) return true;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++) /* one failure per line on the pipe */
        if (*p == '\n' || *p == '\t') *p = ' ';
    cs.failures++;
    fprintf(stderr, "    %s:%d: FAILED %s\n", file, line, msg);
    if (cs.report_fd >= 0) dprintf(cs.report_fd, "%d\t%s\t%s\n", line, file, msg);
    return false;
}

bool e2e_check_int(long long got, long long want, const char *expr, const char *file,
                   int line)
{
    return e2e_check(got == want, file, line, "%s is %lld, want %lld", expr, got, want);
}

bool e2e_check_str(const char *got, const char *want, const char *expr, const char *file,
                   int line)
{
    bool ok = got && want && strcmp(got, want) == 0;
    return e2e_check(ok, file, line, "%s is \"%s\", want \"%s\"", expr,
                     got ? got : "(null)", want ? want : "(null)");
}

/* ---- processes ----------------------------------------------------------------- */

static void forget_proc(pid_t pid)
{
    for (int i = 0; i < cs.nprocs; i++) {
        if (cs.procs[i] == pid) {
            cs.procs[i] = cs.procs[--cs.nprocs];
            return;
        }
    }
}

pid_t e2e_spawn(char *const argv[], int out_fd, int err_fd)
{
    REQUIRE(cs.nprocs < E2E_MAX_PROCS);
    pid_t pid = fork();
    REQUIREF(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* If the case process dies, so does everything it started. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        if (out_fd >= 0) dup2(out_fd, 1);
        if (err_fd >= 0) dup2(err_fd, 2);
        signal(SIGPIPE, SIG_DFL);
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    cs.procs[cs.nprocs++] = pid;
    return pid;
}

static int decode_status(int st)
{
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
}

int e2e_wait(pid_t pid, int timeout_ms)
{
    int64_t deadline = e2e_now_ms() + (int64_t)timeout_ms * slow_factor();
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            forget_proc(pid);
            return decode_status(st);
        }
        if (r < 0) {
            forget_proc(pid);
            return -1;
        }
        if (e2e_now_ms() >= deadline) return -1;
        e2e_sleep_ms(10);
    }
}

bool e2e_wait_gone(pid_t pid, int timeout_ms)
{
    int64_t deadline = e2e_now_ms() + (int64_t)timeout_ms * slow_factor();
    for (;;) {
        waitpid(pid, NULL, WNOHANG);
        if (kill(pid, 0) < 0 && errno == ESRCH) return true;
        if (e2e_now_ms() >= deadline) return false;
        e2e_sleep_ms(10);
    }
}

int e2e_stop(pid_t pid, int timeout_ms)
{
    if (kill(pid, SIGTERM) < 0 && errno == ESRCH) {
        e2e_wait(pid, 100);
        return -1;
    }
    int rc = e2e_wait(pid, timeout_ms);
    if (rc == -1) {
        kill(pid, SIGKILL);
        e2e_wait(pid, 2000);
    }
    return rc;
}

/* Reads from fd into out until EOF or the deadline. */
static void drain_fd(int fd, char *out, size_t outlen, int64_t deadline)
{
    size_t len = 0;
    for (;;) {
        int64_t left = deadline - e2e_now_ms();
        struct pollfd pfd = {fd, POLLIN, 0};
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) break;
        char tmp[4096];
        ssize_t n = read(fd, tmp, sizeof(tmp));
        if (n <= 0) break;
        size_t room = outlen > len + 1 ? outlen - len - 1 : 0;
        size_t k = (size_t)n < room ? (size_t)n : room;
        memcpy(out + len, tmp, k);
        len += k;
    }
    if (outlen) out[len] = 0;
}

int e2e_run(char *const argv[], char *out, size_t outlen, int timeout_ms)
{
    int p[2];
    REQUIRE(pipe2(p, O_CLOEXEC) == 0);
    pid_t pid = e2e_spawn(argv, p[1], p[1]);
    close(p[1]);
    timeout_ms *= slow_factor();
    int64_t deadline = e2e_now_ms() + timeout_ms;
    drain_fd(p[0], out, outlen, deadline);
    close(p[0]);
    int64_t left = deadline - e2e_now_ms();
    int rc = e2e_wait(pid, left > 0 ? (int)left : 0);
    if (rc == -1) {
        kill(pid, SIGKILL);
        e2e_wait(pid, 2000);
    }
    return rc;
}

/* ppid of a process from /proc/PID/stat (the field after the comm, which
 * may itself contain spaces and parentheses). */
static pid_t proc_ppid(const char *pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%s/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *rp = strrchr(buf, ')');
    int ppid;
    char state;
    if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2) return -1;
    return state == 'Z' ? -1 : ppid;
}

int e2e_children(pid_t pid, pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < max) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9') continue;
        if (proc_ppid(de->d_name) == pid) out[n++] = (pid_t)atoi(de->d_name);
    }
    closedir(d);
    return n;
}

long e2e_rss_kb(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
    fclose(f);
    return kb;
}

/* Reads one line (the backend keeps stdout open, so no EOF to wait for). */
static void read_line_fd(int fd, char *out, size_t outlen, int64_t deadline)
{
    size_t len = 0;
    while (len + 1 < outlen) {
        int64_t left = deadline - e2e_now_ms();
        struct pollfd pfd = {fd, POLLIN, 0};
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0 || read(fd, out + len, 1) != 1)
            break;
        if (out[len++] == '\n') break;
    }
    out[len] = 0;
}

/* ---- backends -------------------------------------------------------------- */

struct e2e_backend e2e_backend_start(const char *name)
{
    return e2e_backend_start_args(name, NULL);
}

struct e2e_backend e2e_backend_start_report(const char *name)
{
    static const char *const report[] = {"--report", NULL};
    return e2e_backend_start_args(name, report);
}

struct e2e_backend e2e_backend_start_args(const char *name, const char *const *extra)
{
    char *path = (char *)e2e_env("FOYER_BACKEND");
    char *argv[16] = {path, "--listen", "127.0.0.1:0", "--name", (char *)name};
    int argc = 5;
    for (; extra && *extra && argc < 15; extra++)
        argv[argc++] = (char *)*extra;
    argv[argc] = NULL;
    int p[2];
    REQUIRE(pipe2(p, O_CLOEXEC) == 0);
    struct e2e_backend b = {.pid = e2e_spawn(argv, p[1], -1), .port = -1};
    close(p[1]);
    char line[32];
    read_line_fd(p[0], line, sizeof(line), e2e_now_ms() + 5000);
    close(p[0]);
    b.port = atoi(line);
    REQUIREF(b.port > 0, "backend %s did not report its port (got \"%s\")", name, line);
    return b;
}

bool e2e_backend_stats(int port, struct e2e_backend_stats *st)
{
    struct e2e_resp r = {0};
    int rc =
        e2e_request(port,
                    "GET /stats HTTP/1.1\r\nHost: stats\r\nX-Backend-Control: stats\r\n"
                    "Connection: close\r\n\r\n",
                    &r, 5000);
    bool ok = rc == 1 && r.status == 200 && r.body &&
              sscanf(r.body, "conns=%ld open=%ld requests=%ld bad=%ld", &st->conns,
                     &st->open, &st->requests, &st->bad) == 4;
    e2e_resp_free(&r);
    return ok;
}

long e2e_backend_requests(int port)
{
    struct e2e_backend_stats st;
    return e2e_backend_stats(port, &st) ? st.requests : -1;
}

bool e2e_backend_wait_requests(int port, long n, int timeout_ms)
{
    return E2E_WAIT_UNTIL(e2e_backend_requests(port) >= n, timeout_ms);
}

/* ---- foyer -------------------------------------------------------------------- */

/* Whether pid has a handler installed for sig. */
static bool catches(pid_t pid, int sig)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *fp = fopen(path, "r");
    if (!fp) return false;
    unsigned long long mask = 0;
    bool found = false;
    while (!found && fgets(line, sizeof(line), fp))
        found = sscanf(line, "SigCgt: %llx", &mask) == 1;
    fclose(fp);
    return found && ((mask >> (sig - 1)) & 1);
}

static bool workers_ready(const struct e2e_foyer *f, int n)
{
    pid_t w[64];
    int k = f->pid > 0 ? e2e_children(f->pid, w, 64) : 0;
    if (k != n) return false;
    for (int i = 0; i < k; i++)
        if (!catches(w[i], SIGHUP)) return false;
    return true;
}

static bool port_accepts(int port)
{
    struct e2e_conn c;
    if (!e2e_conn_open(&c, port)) return false;
    e2e_conn_close(&c);
    return true;
}

static void dump_log_file(const char *path)
{
    char *log = e2e_read_file(path);
    if (!log) return;
    size_t len = strlen(log);
    const char *tail = len > 3000 ? log + len - 3000 : log;
    fprintf(stderr, "    ---- foyer stderr (%s) ----\n%s    ---- end ----\n", path, tail);
    free(log);
}

void e2e_foyer_dump_log(const struct e2e_foyer *f)
{
    dump_log_file(f->errlog);
}

/* Size of foyer's stderr file when it was last launched (a foyer started
 * again in the same case appends to it). */
static size_t launch_log_size;

static void foyer_launch(struct e2e_foyer *f, const char *errname, const char *pidfile)
{
    char *bin = (char *)e2e_env("FOYER_BIN");
    int ok = access(bin, X_OK) == 0; /* errno read after the call, not as an argument */
    REQUIREF(ok, "foyer binary %s: %s", bin, strerror(errno));
    snprintf(f->errlog, sizeof(f->errlog), "%s", e2e_path(errname));
    int err = open(f->errlog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    REQUIRE(err >= 0);
    struct stat sb;
    launch_log_size = fstat(err, &sb) == 0 ? (size_t)sb.st_size : 0;
    char *argv[] = {bin, "-c", f->conf, pidfile ? "-p" : NULL, (char *)pidfile, NULL};
    f->pid = e2e_spawn(argv, err, err);
    close(err);
    bool known = false;
    for (int i = 0; i < cs.nfoyers; i++)
        known |= strcmp(cs.foyer_logs[i], f->errlog) == 0;
    if (!known && cs.nfoyers < 8)
        snprintf(cs.foyer_logs[cs.nfoyers++], sizeof(cs.foyer_logs[0]), "%s", f->errlog);
}

/* How many workers the master said it started ("foyer V started: N
 * worker(s)") since its launch, 0 before it did. */
static int workers_started(const struct e2e_foyer *f)
{
    char *log = e2e_read_file(f->errlog);
    const char *p = log && strlen(log) >= launch_log_size
                        ? strstr(log + launch_log_size, " started: ")
                        : NULL;
    int n = 0;
    if (p && sscanf(p + 10, "%d worker", &n) != 1) n = 0;
    free(log);
    return n;
}

/* Whether pid exists and is not a zombie. */
static bool running(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return false;
    buf[n] = 0;
    char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && rp[2] != 'Z';
}

/* Waits until foyer's port accepts, failing early if foyer exits; then, at
 * most as long again, until the workers the master started are running
 * their loops (not required: a test may start a foyer whose workers fail).
 * The port accepts as soon as the master has opened it, before it forks the
 * workers: a signal sent then may reach a worker still starting. */
static void foyer_wait_ready(struct e2e_foyer *f)
{
    int64_t deadline = e2e_now_ms() + 5000 * slow_factor();
    while (!port_accepts(f->port)) {
        int st;
        if (waitpid(f->pid, &st, WNOHANG) == f->pid) {
            forget_proc(f->pid);
            f->pid = -1;
            REQUIREF(false, "foyer exited during start-up (status %d)",
                     decode_status(st));
        }
        REQUIREF(e2e_now_ms() < deadline, "foyer did not accept on port %d within 5 s",
                 f->port);
        e2e_sleep_ms(20);
    }
    int n = 0;
    if (!E2E_WAIT_UNTIL(!running(f->pid) ||
                            ((n = workers_started(f)) > 0 && workers_ready(f, n)),
                        5000))
        e2e_log("foyer's workers did not all start within 5 s");
}

void e2e_foyer_start(struct e2e_foyer *f, const char *lua_fmt, ...)
{
    memset(f, 0, sizeof(*f));
    f->pid = -1;
    f->port = e2e_free_port();
    snprintf(f->conf, sizeof(f->conf), "%s", e2e_path("foyer.lua"));
    char body[8192], text[8400];
    va_list ap;
    va_start(ap, lua_fmt);
    vsnprintf(body, sizeof(body), lua_fmt, ap);
    va_end(ap);
    snprintf(text, sizeof(text), "listen \"127.0.0.1:%d\"\n%s", f->port, body);
    REQUIRE(e2e_write_file(f->conf, text));
    foyer_launch(f, "foyer.err", NULL);
    foyer_wait_ready(f);
}

void e2e_foyer_start_conf(struct e2e_foyer *f, const char *name, int port,
                          const char *text, const char *pidfile)
{
    memset(f, 0, sizeof(*f));
    f->pid = -1;
    f->port = port;
    snprintf(f->conf, sizeof(f->conf), "%s", e2e_path(name));
    REQUIREF(e2e_write_file(f->conf, text), "cannot write %s", f->conf);
    char errname[160];
    snprintf(errname, sizeof(errname), "%.150s.err", name);
    foyer_launch(f, errname, pidfile);
    foyer_wait_ready(f);
}

bool e2e_foyer_log_wait(const struct e2e_foyer *f, const char *needle, int timeout_ms)
{
    int64_t deadline = e2e_now_ms() + (int64_t)timeout_ms * slow_factor();
    for (;;) {
        char *log = e2e_read_file(f->errlog);
        bool found = log && strstr(log, needle);
        free(log);
        if (found) return true;
        if (e2e_now_ms() >= deadline) return false;
        e2e_sleep_ms(20);
    }
}

/* The listening sockets accept before the master has forked every worker
 * (it opens them first): wait a moment for at least one. */
int e2e_foyer_workers(const struct e2e_foyer *f, pid_t *out, int max)
{
    int n = 0;
    for (int i = 0; f->pid > 0 && i < 100; i++) {
        if ((n = e2e_children(f->pid, out, max)) > 0) break;
        e2e_sleep_ms(20);
    }
    return n;
}

bool e2e_foyer_wait_workers(const struct e2e_foyer *f, int n, int timeout_ms)
{
    return E2E_WAIT_UNTIL(workers_ready(f, n), timeout_ms);
}

const char *e2e_plugin_so(const char *name)
{
    static char paths[8][PATH_MAX];
    static int n;
    for (int i = 0; i < n; i++) { /* one path per plugin, made once */
        const char *base = strrchr(paths[i], '/') + 1;
        if (strncmp(base, name, strlen(name)) == 0 &&
            strcmp(base + strlen(name), ".so") == 0)
            return paths[i];
    }
    REQUIRE(n < 8);
    const char *bin = e2e_env("FOYER_BIN");
    const char *slash = strrchr(bin, '/');
    int dl = slash ? (int)(slash - bin) : 1;
    const char *dir = slash ? bin : ".";
    snprintf(paths[n], PATH_MAX, "%.*s/plugins/%s/.libs/%s.so", dl, dir, name, name);
    if (access(paths[n], R_OK) != 0)
        snprintf(paths[n], PATH_MAX, "%.*s/plugins/%s/%s.so", dl, dir, name, name);
    REQUIREF(access(paths[n], R_OK) == 0, "%s.so not found next to %s", name, bin);
    return paths[n++];
}

char *e2e_replace(char *text, const char *from, const char *to)
{
    if (!text || !*from) return text;
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    for (const char *p = text; (p = strstr(p, from)); p += fl)
        n++;
    if (n == 0) return text;
    char *out = malloc(strlen(text) + n * tl + 1), *o = out;
    REQUIRE(out != NULL);
    const char *p = text, *hit;
    while ((hit = strstr(p, from))) {
        memcpy(o, p, (size_t)(hit - p));
        o += hit - p;
        memcpy(o, to, tl);
        o += tl;
        p = hit + fl;
    }
    strcpy(o, p);
    free(text);
    return out;
}

void e2e_foyer_start_simple(struct e2e_foyer *f, const char *extra_set, int port)
{
    e2e_foyer_start(f,
                    "set { workers = 1%s%s }\n"
                    "service \"app\" { endpoints = { \"127.0.0.1:%d\" } }\n"
                    "route(function(req) return \"app\" end)\n",
                    *extra_set ? ", " : "", extra_set, port);
}

int e2e_foyer_stop(struct e2e_foyer *f, int timeout_ms)
{
    if (f->pid <= 0) return -1;
    pid_t workers[64];
    int nw = e2e_children(f->pid, workers, 64);
    int rc = e2e_stop(f->pid, timeout_ms);
    f->pid = -1;
    /* Workers outliving their master were adopted by this subreaper: give
     * them a moment, then kill and reap them. */
    for (int i = 0; i < nw; i++) {
        if (e2e_wait_gone(workers[i], 1000)) continue;
        e2e_log("foyer worker %d outlived its master: killing it", (int)workers[i]);
        kill(workers[i], SIGKILL);
        e2e_wait_gone(workers[i], 1000);
    }
    return rc;
}

long e2e_foyer_rss_kb(const struct e2e_foyer *f)
{
    pid_t w[64];
    int n = e2e_children(f->pid, w, 64);
    if (n == 0) return e2e_rss_kb(f->pid);
    long sum = 0;
    for (int i = 0; i < n; i++) {
        long kb = e2e_rss_kb(w[i]);
        if (kb > 0) sum += kb;
    }
    return sum;
}

/* ---- case isolation ------------------------------------------------------------- */

/* Removes a directory tree (the case's files and any subdirectory). */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static void remove_tmpdir(void)
{
    remove_tree(cs.tmpdir);
}

/* Kills what the case started: registered PIDs first (politely), then any
 * child left (workers adopted by this subreaper included). */
static void kill_everything(void)
{
    while (cs.nprocs > 0)
        e2e_stop(cs.procs[cs.nprocs - 1], 2000);
    pid_t kids[64];
    int n;
    for (int round = 0; round < 10 && (n = e2e_children(getpid(), kids, 64)) > 0;
         round++) {
        for (int i = 0; i < n; i++)
            kill(kids[i], SIGKILL);
        e2e_sleep_ms(20);
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
    }
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

static void case_teardown(void)
{
    if (cs.failures)
        for (int i = 0; i < cs.nfoyers; i++)
            dump_log_file(cs.foyer_logs[i]);
    kill_everything();
    remove_tmpdir();
}

void e2e_bail(void)
{
    case_teardown();
    _exit(1);
}

/* Timeout in the case process: report, then kill the whole process group
 * (this process included). Only async-signal-safe calls here. */
static void on_alarm(int sig)
{
    static const char msg[] =
        "0\ttimeout\tcase timed out (hung): killed with all it started\n";
    (void)sig;
    if (cs.report_fd >= 0) {
        ssize_t w = write(cs.report_fd, msg, sizeof(msg) - 1);
        (void)w;
    }
    kill(0, SIGKILL);
    _exit(1);
}

static __attribute__((noreturn)) void run_case(e2e_body_fn body, int report_fd,
                                               int timeout_s)
{
    setpgid(0, 0);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    cs.report_fd = report_fd;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    snprintf(cs.tmpdir, sizeof(cs.tmpdir), "/tmp/foyer-e2e-XXXXXX");
    if (!mkdtemp(cs.tmpdir)) {
        e2e_check(false, __FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
        _exit(1);
    }
    /* The parent removes the directory if this process dies before it can. */
    dprintf(report_fd, "tmpdir\t%s\n", cs.tmpdir);
    alarm((unsigned)timeout_s);
    body();
    alarm(0);
    case_teardown();
    _exit(cs.failures ? 1 : 0);
}

/* Parent side: turns the child's report lines into CUnit failures; also
 * learns the child's temp dir ("tmpdir\tPATH"). */
static int collect_reports(int fd, int64_t deadline, char *tmpdir, size_t tmplen)
{
    char buf[65536];
    size_t len = 0;
    int nfail = 0;
    for (;;) {
        int64_t left = deadline - e2e_now_ms();
        struct pollfd pfd = {fd, POLLIN, 0};
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) return -1;
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
        buf[len] = 0;
        char *line, *nl;
        while ((nl = strchr(line = buf, '\n'))) {
            *nl = 0;
            char *file = strchr(line, '\t'), *msg = file ? strchr(file + 1, '\t') : NULL;
            if (strncmp(line, "tmpdir\t", 7) == 0) {
                snprintf(tmpdir, tmplen, "%.200s", line + 7);
            } else if (msg) {
                *file++ = 0;
                *msg++ = 0;
                CU_assertImplementation(CU_FALSE, (unsigned)atoi(line), msg, file, "",
                                        CU_FALSE);
                nfail++;
            }
            len -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, len + 1);
        }
    }
    return nfail;
}

void e2e_isolate(const char *name, e2e_body_fn body, int timeout_s)
{
    int p[2];
    timeout_s *= slow_factor();
    if (pipe2(p, O_CLOEXEC) < 0) {
        CU_FAIL("pipe failed");
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        run_case(body, p[1], timeout_s);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        CU_FAIL("fork failed");
        return;
    }
    setpgid(pid, pid); /* also done by the child: whichever runs first */
    int64_t t0 = e2e_now_ms();
    /* The child's alarm fires first; this deadline only guards the parent. */
    char tmpdir[sizeof(cs.tmpdir)] = "";
    int nfail = collect_reports(p[0], t0 + (int64_t)timeout_s * 1000 + 15000, tmpdir,
                                sizeof(tmpdir));
    close(p[0]);
    if (nfail < 0) kill(-pid, SIGKILL);
    int st = 0;
    waitpid(pid, &st, 0);
    kill(-pid, SIGKILL); /* sweep the case's process group, if anything is left */
    if (tmpdir[0] && access(tmpdir, F_OK) == 0) { /* the case died before its teardown */
        snprintf(cs.tmpdir, sizeof(cs.tmpdir), "%s", tmpdir);
        remove_tmpdir();
        cs.tmpdir[0] = 0;
    }
    int rc = decode_status(st);
    fprintf(stderr, "    [%s: exit %d, %.1f s]\n", name, rc,
            (e2e_now_ms() - t0) / 1000.0);
    /* CU_FAIL and CU_PASS expand to braced blocks: keep them in braces. */
    if (nfail < 0) {
        CU_FAIL("case did not finish in time (killed)");
    } else if (rc != 0 && nfail == 0) {
        CU_assertImplementation(CU_FALSE, 0,
                                "case process died without reporting (crash?)",
                                (char *)name, "", CU_FALSE);
    } else if (rc == 0) {
        CU_PASS(name);
    }
}

/* Run by hand (not through make check), the programs are found next to the
 * test binary: tests/e2e/test_x -> ./foyer, tests/helpers/foyer-test-backend. */
static void default_env(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) return;
    exe[n] = 0;
    for (int up = 0; up < 3; up++) { /* strip "/test_x", "/e2e", "/tests" */
        char *slash = strrchr(exe, '/');
        if (!slash) return;
        *slash = 0;
    }
    static const char *const vars[][2] = {
        {"FOYER_BIN", "%s/foyer"},
        {"FOYER_BACKEND", "%s/tests/helpers/foyer-test-backend"},
        {"FOYER_SRCDIR", "%s"},
        {"FOYER_SHARED", "%s/../shared"}};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        char val[PATH_MAX + 64];
        snprintf(val, sizeof(val), vars[i][1], exe);
        setenv(vars[i][0], val, 0);
    }
}

int e2e_run_suite(const char *suite, const struct e2e_case *cases, size_t n)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    default_env();
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_pSuite s = CU_add_suite(suite, NULL, NULL);
    for (size_t i = 0; s && i < n; i++)
        CU_add_test(s, cases[i].name, cases[i].fn);
    /* Run a subset: E2E_ONLY=name1,name2 (handy while debugging). */
    const char *only = getenv("E2E_ONLY");
    if (only && *only) {
        for (size_t i = 0; i < n; i++) {
            char pat[256];
            snprintf(pat, sizeof(pat), ",%s,", cases[i].name);
            char list[4096];
            snprintf(list, sizeof(list), ",%s,", only);
            if (!strstr(list, pat))
                CU_set_test_active(CU_get_test(s, cases[i].name), CU_FALSE);
        }
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
