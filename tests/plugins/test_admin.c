/* The admin listener: Prometheus metrics summed over the workers and
 * compared with the traffic sent (exact counts), /status across a reload,
 * health endpoints, and the endpoints' health from the lb plugin. */
#include "../e2e/harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T_MS 5000

/* Two workers, the admin listener on admin_port, services app (a backend)
 * and dead (lb, one endpoint nobody listens on, checked every 0.1 s). */
static int dead_port;

static int start(struct e2e_foyer *f, int backend)
{
    int admin = e2e_free_port(), dead = dead_port = e2e_free_port();
    e2e_foyer_start(
        f,
        "set { workers = 2, admin = '127.0.0.1:%d' }\n"
        "plugin 'lb' { path = '%s' }\n"
        "service 'app' { endpoints = { '127.0.0.1:%d' } }\n"
        "service 'dead' { endpoints = { '127.0.0.1:%d' },\n"
        "  health_check = { interval = 0.1, timeout = 0.2, fall = 1 } }\n"
        "route(function(req)\n"
        "  if req.path == '/tagged' then return { service = 'app', tag = 'promo' } end\n"
        "  if req.path == '/dead' then return 'dead' end\n"
        "  if req.path == '/app' then return 'app' end\n"
        "  if req.path == '/boom' then error('boom') end\n"
        "  return nil\n"
        "end)\n",
        admin, e2e_plugin_so("lb"), backend, dead);
    return admin;
}

static int get(int port, const char *target)
{
    struct e2e_resp r = {0};
    int rc = e2e_http(port, "GET", "admin.test", target, NULL, &r, T_MS);
    int st = rc == 1 ? r.status : -1;
    e2e_resp_free(&r);
    return st;
}

static char *fetch(int port, const char *path, int *status)
{
    struct e2e_resp r = {.body_keep = 4 << 20};
    int rc = e2e_http(port, "GET", "127.0.0.1", path, NULL, &r, T_MS);
    *status = rc == 1 ? r.status : -1;
    char *body = rc == 1 && r.body ? strdup(r.body) : strdup("");
    e2e_resp_free(&r);
    return body;
}

/* The value of one exposition line "name{labels} value", -1 when absent. */
static double metric(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ') return atof(p + n + 1);
    return -1;
}

/* /metrics once `series` reads `want`: plugin counters are published every
 * second, so a fixed sleep would race a loaded machine. */
static char *wait_metric(int admin, const char *series, double want, int *status)
{
    int64_t end = e2e_now_ms() + T_MS;
    for (;;) {
        char *m = fetch(admin, "/metrics", status);
        if (metric(m, series) == want || e2e_now_ms() > end) return m;
        free(m);
        e2e_sleep_ms(50);
    }
}

E2E_TEST(metrics_count_exactly, 60)
{
    struct e2e_backend be = e2e_backend_start("b");
    struct e2e_foyer f;
    int admin = start(&f, be.port);
    for (int i = 0; i < 7; i++) /* fresh connections: both workers take some */
        CHECK_INT(get(f.port, "/app"), 200);
    for (int i = 0; i < 3; i++)
        CHECK_INT(get(f.port, "/tagged"), 200);
    for (int i = 0; i < 4; i++)
        CHECK_INT(get(f.port, "/nowhere"), 404);
    CHECK_INT(get(f.port, "/boom"), 500);
    struct e2e_conn c; /* a malformed request, refused by the parser */
    REQUIRE(e2e_conn_open(&c, f.port));
    REQUIRE(e2e_send_str(&c, "GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n", T_MS));
    CHECK(e2e_wait_closed(&c, T_MS));
    e2e_conn_close(&c);
    /* the dead endpoint is found down by its check; then 503s, counted by lb */
    char down[64];
    snprintf(down, sizeof down, "endpoint 127.0.0.1:%d is down", dead_port);
    REQUIRE(e2e_foyer_log_wait(&f, down, T_MS));
    CHECK_INT(get(f.port, "/dead"), 503);
    CHECK_INT(get(f.port, "/dead"), 503);
    int st;
    char *m = wait_metric(
        admin, "foyer_plugin_counter{plugin=\"lb\",name=\"no_healthy_endpoint\"}", 2,
        &st);
    CHECK_INT(st, 200);
    CHECK(metric(m, "foyer_requests_total{service=\"app\",tag=\"\",code=\"2xx\"}") == 7);
    CHECK(metric(m, "foyer_requests_total{service=\"app\",tag=\"promo\",code=\"2xx\"}") ==
          3);
    CHECK(metric(m, "foyer_requests_total{service=\"\",tag=\"\",code=\"4xx\"}") == 5);
    CHECK(metric(m, "foyer_requests_total{service=\"\",tag=\"\",code=\"5xx\"}") == 1);
    CHECK(metric(m, "foyer_requests_total{service=\"dead\",tag=\"\",code=\"5xx\"}") == 2);
    CHECK(metric(m, "foyer_request_duration_seconds_count{service=\"app\"}") == 10);
    CHECK(
        metric(m, "foyer_request_duration_seconds_bucket{service=\"app\",le=\"+Inf\"}") ==
        10);
    CHECK(metric(m, "foyer_upstream_duration_seconds_count{service=\"app\"}") == 10);
    CHECK(metric(m, "foyer_lua_errors_total") == 1);
    CHECK(metric(m, "foyer_plugin_counter{plugin=\"lb\",name=\"no_healthy_endpoint\"}") ==
          2);
    char series[160];
    snprintf(series, sizeof series,
             "foyer_endpoint_up{service=\"app\",endpoint=\"127.0.0.1:%d\"}", be.port);
    CHECK(metric(m, series) == 1);
    snprintf(series, sizeof series,
             "foyer_endpoint_up{service=\"dead\",endpoint=\"127.0.0.1:%d\"}", dead_port);
    CHECK(metric(m, series) == 0);
    CHECK(metric(m, "foyer_config_generation{worker=\"0\"}") == 1);
    CHECK(metric(m, "foyer_config_generation{worker=\"1\"}") == 1);
    CHECK(metric(m, "foyer_connections{state=\"active\"}") >= 0);
    CHECK(metric(m, "foyer_worker_restarts_total") == 0);
    free(m);
}

E2E_TEST(status_follows_reloads, 60)
{
    struct e2e_backend be = e2e_backend_start("b");
    struct e2e_foyer f;
    int admin = start(&f, be.port);
    int st;
    char *s = fetch(admin, "/status", &st);
    CHECK_INT(st, 200);
    CHECKF(strstr(s, "\"generation\":1,") && strstr(s, "\"name\":\"app\"") &&
               strstr(s, "\"workers\":[{\"id\":0,"),
           "status: %s", s);
    free(s);
    REQUIRE(kill(f.pid, SIGHUP) == 0);
    REQUIRE(e2e_foyer_log_wait(&f, "worker 1: configuration reloaded", T_MS));
    REQUIRE(e2e_foyer_log_wait(&f, "worker 0: configuration reloaded", T_MS));
    s = fetch(admin, "/status", &st);
    CHECKF(strstr(s, "\"generation\":2,") != NULL, "status after a reload: %s", s);
    CHECKF(strstr(s, "\"generation\":1}") == NULL, "every worker on 2: %s", s);
    free(s);
    char *m = fetch(admin, "/metrics", &st);
    CHECK(metric(m, "foyer_reloads_total{result=\"ok\"}") == 2);
    free(m);
}

E2E_TEST(health_endpoints_and_errors, 30)
{
    struct e2e_backend be = e2e_backend_start("b");
    struct e2e_foyer f;
    int admin = start(&f, be.port);
    int st;
    free(fetch(admin, "/healthz", &st));
    CHECK_INT(st, 200);
    free(fetch(admin, "/ready", &st));
    CHECK_INT(st, 200);
    free(fetch(admin, "/nope", &st));
    CHECK_INT(st, 404);
    struct e2e_resp r = {0};
    CHECK_INT(e2e_http(admin, "POST", "a", "/metrics", NULL, &r, T_MS), 1);
    CHECK_INT(r.status, 405);
    e2e_resp_free(&r);
    /* a bad admin address is refused with its line */
    const char *path = e2e_path("bad.lua");
    REQUIRE(e2e_write_file(path, "listen '127.0.0.1:1'\nset { admin = 'nowhere' }\n"
                                 "route(function(req) return nil end)\n"));
    char out[2048];
    char *argv[] = {(char *)e2e_env("FOYER_BIN"), "-t", "-c", (char *)path, NULL};
    CHECK(e2e_run(argv, out, sizeof out, T_MS) != 0);
    CHECKF(strstr(out, "bad.lua:2:") && strstr(out, "admin"), "error: %s", out);
}

int main(void)
{
    static const struct e2e_case cases[] = {
        E2E_CASE(metrics_count_exactly),
        E2E_CASE(status_follows_reloads),
        E2E_CASE(health_endpoints_and_errors),
    };
    return e2e_run_suite("admin listener", cases, sizeof cases / sizeof *cases);
}
