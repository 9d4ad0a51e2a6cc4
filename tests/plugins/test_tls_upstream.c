/* TLS to upstreams, end to end: foyer "front" proxies plain HTTP to https://
 * endpoints served by a second foyer, "origin", terminating TLS in front of
 * the test backend. Certificates are made at test time (tls_certs.sh): the
 * origin presents upstream.test / 127.0.0.1 (or an expired or foreign one),
 * the front verifies it against the test CA, by name or by IP. */
#include "../e2e/harness.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T_MS 5000

static char certs[512]; /* made by main() */

/* certs/NAME in one of 8 rotating buffers. */
static const char *cf(const char *name)
{
    static char bufs[8][600];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", certs, name);
    return b;
}

/* The origin: a TLS listener with certificate `cert`.pem/.key (+ extra tls keys), a
 * route answering /tlsinfo from req.tls and sending the rest to a backend. */
static int start_origin(struct e2e_foyer *f, const char *name, const char *cert,
                        const char *extra_tls, const char *extra_set, int backend)
{
    int port = e2e_free_port();
    char conf[4096], pem[600], key[600];
    snprintf(pem, sizeof pem, "%s/%s.pem", certs, cert);
    snprintf(key, sizeof key, "%s/%s.key", certs, cert);
    snprintf(
        conf, sizeof conf,
        "set { workers = 1%s }\n"
        "plugin 'tls' { path = '%s' }\n"
        "listen { '127.0.0.1:%d', tls = { certificates = { { cert = '%s', key = '%s' } "
        "}%s } }\n"
        "service 'app' { endpoints = { '127.0.0.1:%d' } }\n"
        "route(function(req)\n"
        "  if req.path == '/tlsinfo' then\n"
        "    local t = req.tls or {}\n"
        "    return { respond = { status = 200, body = 'sni=' .. tostring(t.sni) ..\n"
        "      '|version=' .. tostring(t.version) .. '|reused=' .. tostring(t.reused) "
        "..\n"
        "      '|subject=' .. tostring(t.client_subject) .. '|\\n' } }\n"
        "  end\n"
        "  return 'app'\n"
        "end)\n",
        extra_set, e2e_plugin_so("tls"), port, pem, key, extra_tls, backend);
    e2e_foyer_start_conf(f, name, port, conf, NULL);
    return port;
}

/* The front: a plain listener, service "up" with the given endpoints and
 * tls table body, everything routed to it. */
static void start_front(struct e2e_foyer *f, const char *endpoints, const char *tls)
{
    e2e_foyer_start(f,
                    "set { workers = 1, upstream_connect_timeout = 2 }\n"
                    "plugin 'tls' { path = '%s' }\n"
                    "service 'up' { endpoints = { %s }%s%s%s }\n"
                    "route(function(req) return 'up' end)\n",
                    e2e_plugin_so("tls"), endpoints, tls ? ", tls = { " : "", tls ? tls : "",
                    tls ? " }" : "");
}

static int get(int port, const char *target, char *body, size_t len)
{
    struct e2e_resp r = {0};
    int rc = e2e_http(port, "GET", "front.test", target, NULL, &r, T_MS);
    int status = rc == 1 ? r.status : -1;
    if (body) snprintf(body, len, "%s", rc == 1 && r.body ? r.body : "");
    e2e_resp_free(&r);
    return status;
}

/* Established TCP connections to 127.0.0.1:port, from /proc/net/tcp. */
static int conns_to(int port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    if (f == NULL) return -1;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned rport, state;
        if (sscanf(line, " %*d: %*x:%*x %*x:%x %x", &rport, &state) == 2 &&
            rport == (unsigned)port && state == 1)
            n++;
    }
    fclose(f);
    return n;
}

static char ep[64];
static const char *https(int port)
{
    snprintf(ep, sizeof ep, "'https://127.0.0.1:%d'", port);
    return ep;
}

E2E_TEST(verified_by_name_and_pooled, 30)
{
    struct e2e_backend be = e2e_backend_start("b1");
    struct e2e_foyer origin, front;
    int op = start_origin(&origin, "origin.lua", "upstream", "", "", be.port);
    char tls[1024];
    snprintf(tls, sizeof tls, "ca = '%s', sni = 'upstream.test'", cf("ca.pem"));
    start_front(&front, https(op), tls);
    char body[512];
    CHECK_INT(get(front.port, "/tlsinfo", body, sizeof body), 200);
    CHECKF(strstr(body, "sni=upstream.test|version=TLSv1.3|") != NULL, "origin saw %s",
           body);
    for (int i = 0; i < 20; i++)
        CHECK_INT(get(front.port, "/size/100", NULL, 0), 200);
    /* every request went over the one pooled TLS connection */
    CHECK_INT(conns_to(op), 1);
    CHECK(e2e_backend_requests(be.port) == 20);
}

E2E_TEST(verified_by_ip_address, 30)
{
    struct e2e_backend be = e2e_backend_start("b1");
    struct e2e_foyer origin, front;
    int op = start_origin(&origin, "origin.lua", "upstream", "", "", be.port);
    char tls[1024];
    snprintf(tls, sizeof tls, "ca = '%s'", cf("ca.pem"));
    start_front(&front, https(op), tls);
    char body[512];
    CHECK_INT(get(front.port, "/tlsinfo", body, sizeof body), 200);
    CHECKF(strstr(body, "sni=nil|") != NULL, "no SNI without a name: %s", body);
    CHECK_INT(get(front.port, "/status/204", NULL, 0), 204);
}

/* A failure answers 502 and the log names the service and the reason. */
static void expect_502(const char *cert, const char *tls, const char *reason)
{
    struct e2e_backend be = e2e_backend_start("b1");
    struct e2e_foyer origin, front;
    int op = start_origin(&origin, "origin.lua", cert, "", "", be.port);
    start_front(&front, https(op), tls);
    CHECK_INT(get(front.port, "/size/10", NULL, 0), 502);
    CHECKF(e2e_foyer_log_wait(&front, reason, T_MS), "log names '%s'", reason);
    CHECK(e2e_foyer_log_wait(&front, "service \"up\"", T_MS));
    CHECK_INT(e2e_backend_requests(be.port), 0);
}

E2E_TEST(wrong_host_is_502, 30)
{
    char tls[1024];
    snprintf(tls, sizeof tls, "ca = '%s', sni = 'other.test'", cf("ca.pem"));
    expect_502("upstream", tls, "certificate verify failed");
}

E2E_TEST(expired_is_502, 30)
{
    char tls[1024];
    snprintf(tls, sizeof tls, "ca = '%s', sni = 'upstream.test'", cf("ca.pem"));
    expect_502("expired", tls, "certificate has expired");
}

E2E_TEST(untrusted_issuer_is_502, 30)
{
    char tls[1024];
    snprintf(tls, sizeof tls, "ca = '%s', sni = 'stranger.test'", cf("ca.pem"));
    expect_502("stranger", tls, "certificate verify failed");
}

E2E_TEST(verify_off_accepts_expired, 30)
{
    struct e2e_backend be = e2e_backend_start("b1");
    struct e2e_foyer origin, front;
    int op = start_origin(&origin, "origin.lua", "expired", "", "", be.port);
    start_front(&front, https(op), "verify = false, sni = 'upstream.test'");
    CHECK_INT(get(front.port, "/size/10", NULL, 0), 200);
}

E2E_TEST(retries_the_next_endpoint_after_a_failed_handshake, 30)
{
    struct e2e_backend be = e2e_backend_start("b1");
    struct e2e_foyer bad, good, front;
    int bp = start_origin(&bad, "bad.lua", "expired", "", "", be.port);
    int gp = start_origin(&good, "good.lua", "upstream", "", "", be.port);
    char eps[256], tls[1024];
    snprintf(eps, sizeof eps, "'https://127.0.0.1:%d', 'https://127.0.0.1:%d'", bp, gp);
    snprintf(tls, sizeof tls, "ca = '%s', sni = 'upstream.test'", cf("ca.pem"));
    start_front(&front, eps, tls);
    for (int i = 0; i < 4; i++) /* round robin starts on either: all succeed */
        CHECK_INT(get(front.port, "/size/10", NULL, 0), 200);
    CHECK_INT(e2e_backend_requests(be.port), 4);
}

E2E_TEST(client_certificate_to_upstream, 30)
{
    struct e2e_backend be = e2e_backend_start("b1");
    struct e2e_foyer origin, front, bare;
    char need[1024];
    snprintf(need, sizeof need, ", client_ca = '%s', verify_client = 'required'",
             cf("ca.pem"));
    int op = start_origin(&origin, "origin.lua", "upstream", need, "", be.port);
    char tls[2048];
    snprintf(tls, sizeof tls,
             "ca = '%s', sni = 'upstream.test', client_cert = '%s', client_key = '%s'",
             cf("ca.pem"), cf("client.pem"), cf("client.key"));
    start_front(&front, https(op), tls);
    char body[512];
    CHECK_INT(get(front.port, "/tlsinfo", body, sizeof body), 200);
    CHECKF(strstr(body, "CN=client one") != NULL, "origin saw the client: %s", body);
    /* the same origin refuses a front without a certificate */
    snprintf(tls, sizeof tls, "ca = '%s', sni = 'upstream.test'", cf("ca.pem"));
    start_front(&bare, https(op), tls);
    CHECK_INT(get(bare.port, "/size/10", NULL, 0), 502);
}

E2E_TEST(large_bodies_both_ways, 60)
{
    struct e2e_backend be = e2e_backend_start("b1");
    struct e2e_foyer origin, front;
    int op = start_origin(&origin, "origin.lua", "upstream", "", "", be.port);
    char tls[1024];
    snprintf(tls, sizeof tls, "ca = '%s', sni = 'upstream.test'", cf("ca.pem"));
    start_front(&front, https(op), tls);
    struct e2e_resp r = {0};
    REQUIRE(e2e_http(front.port, "GET", "front.test", "/size/4194304", NULL, &r, 20000) ==
            1);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.body_total, 4194304);
    CHECK(r.body_fnv == e2e_pattern_fnv(4194304));
    e2e_resp_free(&r);
    /* 2 MiB up, echoed back */
    size_t n = 2u << 20;
    char *body = malloc(n);
    REQUIRE(body != NULL);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)('a' + i % 26);
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, front.port));
    char head[256];
    snprintf(head, sizeof head,
             "POST /echo HTTP/1.1\r\nHost: front.test\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n",
             n);
    REQUIRE(e2e_send_str(&c, head, T_MS));
    REQUIRE(e2e_send(&c, body, n, 20000));
    struct e2e_resp er = {0};
    REQUIRE(e2e_read_response(&c, &er, 20000) == 1);
    CHECK_INT(er.status, 200);
    CHECK_INT(er.body_total, n);
    CHECK(er.body_fnv == e2e_fnv1a(E2E_FNV_INIT, body, n));
    e2e_resp_free(&er);
    e2e_conn_close(&c);
    free(body);
}

/* Connections to 127.0.0.1:port in the ESTABLISHED state on this host, from
 * /proc/net/tcp (one the peer closed is in CLOSE_WAIT on our side); -1 if
 * unknown. */
static int established_to(int port)
{
    FILE *fp = fopen("/proc/net/tcp", "r");
    if (fp == NULL) return -1;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, fp)) {
        unsigned rport, st;
        if (sscanf(line, " %*d: %*x:%*x %*x:%x %x", &rport, &st) == 2 &&
            (int)rport == port && st == 0x01)
            n++;
    }
    fclose(fp);
    return n;
}

/* The origin closes idle connections after 1 s; the front's next
 * connection resumes the session it was given. */
E2E_TEST(session_resumed_on_reconnect, 30)
{
    struct e2e_backend be = e2e_backend_start("b1");
    struct e2e_foyer origin, front;
    int op = start_origin(&origin, "origin.lua", "upstream", "",
                          ", keepalive_timeout = 1", be.port);
    char tls[1024];
    snprintf(tls, sizeof tls, "ca = '%s', sni = 'upstream.test'", cf("ca.pem"));
    start_front(&front, https(op), tls);
    char body[512];
    CHECK_INT(get(front.port, "/tlsinfo", body, sizeof body), 200);
    CHECKF(strstr(body, "reused=nil") != NULL, "first connection is full: %s", body);
    /* the origin drops the idle connection (keepalive_timeout = 1): a fixed
     * sleep would race its timer on a loaded machine */
    CHECKF(E2E_WAIT_UNTIL(established_to(op) == 0, T_MS),
           "the origin did not close the idle connection");
    CHECK_INT(get(front.port, "/tlsinfo", body, sizeof body), 200);
    CHECKF(strstr(body, "reused=true") != NULL, "second connection resumed: %s", body);
}

/* foyer -t on a configuration; its output in out. */
static int check_conf(const char *text, char *out, size_t len)
{
    const char *path = e2e_path("check.lua");
    REQUIRE(e2e_write_file(path, text));
    char *argv[] = {(char *)e2e_env("FOYER_BIN"), "-t", "-c", (char *)path, NULL};
    return e2e_run(argv, out, len, T_MS);
}

E2E_TEST(config_errors, 30)
{
    char conf[2048], out[4096];
    snprintf(conf, sizeof conf,
             "listen '127.0.0.1:1'\n"
             "service 'up' { endpoints = { 'https://127.0.0.1:9' } }\n"
             "route(function(req) return 'up' end)\n");
    CHECK(check_conf(conf, out, sizeof out) != 0);
    CHECKF(strstr(out, "check.lua:2:") && strstr(out, "plugin \"tls\""),
           "no TLS plugin is named: %s", out);

    snprintf(
        conf, sizeof conf,
        "listen '127.0.0.1:1'\nplugin 'tls' { path = '%s' }\n"
        "service 'up' { endpoints = { 'https://127.0.0.1:9' }, tls = { verfy = true } }\n"
        "route(function(req) return 'up' end)\n",
        e2e_plugin_so("tls"));
    CHECK(check_conf(conf, out, sizeof out) != 0);
    CHECKF(strstr(out, "unknown key 'verfy'") != NULL, "typo named: %s", out);

    snprintf(
        conf, sizeof conf,
        "listen '127.0.0.1:1'\nplugin 'tls' { path = '%s' }\n"
        "service 'up' { endpoints = { 'https://127.0.0.1:9' }, tls = { ca = '%s' } }\n"
        "route(function(req) return 'up' end)\n",
        e2e_plugin_so("tls"), e2e_path("missing-ca.pem"));
    CHECK(check_conf(conf, out, sizeof out) != 0);
    CHECKF(strstr(out, "tls.ca") && strstr(out, "missing-ca.pem"), "file named: %s", out);

    snprintf(conf, sizeof conf,
             "listen '127.0.0.1:1'\n"
             "service 'up' { endpoints = { 'ftp://127.0.0.1:9' } }\n"
             "route(function(req) return 'up' end)\n");
    CHECK(check_conf(conf, out, sizeof out) != 0);
    CHECKF(strstr(out, "http or https") != NULL, "scheme refused: %s", out);

    snprintf(
        conf, sizeof conf,
        "listen '127.0.0.1:1'\nplugin 'tls' { path = '%s' }\n"
        "service 'up' { endpoints = { 'https://127.0.0.1', 'http://127.0.0.1:8080' } }\n"
        "route(function(req) return 'up' end)\n",
        e2e_plugin_so("tls"));
    CHECKF(check_conf(conf, out, sizeof out) == 0, "schemes and default ports: %s", out);
}

static char certs_base[512];

static void remove_certs(void)
{
    if (certs_base[0] == '\0') return;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", certs_base);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", certs_base);
}

int main(void)
{
    const char *src = getenv("FOYER_SRCDIR") ? getenv("FOYER_SRCDIR") : ".";
    snprintf(certs, sizeof certs, "%.400s/foyer-tls-up.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(certs) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(certs_base, sizeof certs_base, "%s", certs);
    atexit(remove_certs);
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "sh '%.2000s/tests/plugins/tls_certs.sh' '%s/c' >/dev/null",
             src, certs);
    if (system(cmd) != 0) {
        fprintf(stderr, "test_tls_upstream: making certificates failed (openssl?)\n");
        return 77;
    }
    strncat(certs, "/c", sizeof certs - strlen(certs) - 1);
    static const struct e2e_case cases[] = {
        E2E_CASE(verified_by_name_and_pooled),
        E2E_CASE(verified_by_ip_address),
        E2E_CASE(wrong_host_is_502),
        E2E_CASE(expired_is_502),
        E2E_CASE(untrusted_issuer_is_502),
        E2E_CASE(verify_off_accepts_expired),
        E2E_CASE(retries_the_next_endpoint_after_a_failed_handshake),
        E2E_CASE(client_certificate_to_upstream),
        E2E_CASE(large_bodies_both_ways),
        E2E_CASE(session_resumed_on_reconnect),
        E2E_CASE(config_errors),
    };
    return e2e_run_suite("tls to upstreams", cases, sizeof cases / sizeof *cases);
}
