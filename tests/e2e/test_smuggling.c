/*
 * Malformed and smuggling requests: foyer must answer 400 (501 is accepted
 * for an unknown transfer coding), close the connection, and never let any
 * of these bytes reach the backend. The backend is strict and counts what it
 * parses (/stats), so "nothing reached it" is checked, not assumed.
 */
#include "harness.h"

#include <stdio.h>
#include <string.h>

struct bad_case {
    const char *what;
    const char *raw;
    bool te_unknown; /* 501 Not Implemented is acceptable too */
};

static const struct bad_case bad_cases[] = {
    {"CL and TE together",
     "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0\r\n\r\n",
     false},
    {"TE and CL together (TE first)",
     "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
     "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
     false},
    {"two different Content-Length",
     "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", false},
    {"Content-Length list",
     "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 5\r\n\r\nabcde", false},
    {"negative Content-Length", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", false},
    {"signed Content-Length", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\nabcd",
     false},
    {"hex Content-Length", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0x4\r\n\r\nabcd", false},
    {"obs-fold", "GET /x HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", false},
    {"obs-fold continuing Transfer-Encoding",
     "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", false},
    {"space before colon",
     "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", false},
    {"tab before colon", "GET /x HTTP/1.1\r\nHost: a\r\nX-A\t: b\r\n\r\n", false},
    {"space inside a field name", "GET /x HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n", false},
    {"bare LF everywhere", "GET /x HTTP/1.1\nHost: a\n\n", false},
    {"bare LF in one field line", "GET /x HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n", false},
    {"bare CR in a field value", "GET /x HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", false},
    {"control character in a value", "GET /x HTTP/1.1\r\nHost: a\r\nX-A: b\x01" "c\r\n\r\n",
     false},
    {"DEL in a field name", "GET /x HTTP/1.1\r\nHost: a\r\nX-\x7f" "A: b\r\n\r\n", false},
    {"chunked not final",
     "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", true},
    {"unknown transfer coding",
     "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabcd", true},
    {"chunked twice",
     "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
     "\r\n0\r\n\r\n",
     true},
    {"misspelt chunked",
     "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunkedx\r\n\r\n0\r\n\r\n", true},
    {"double space in the request line", "GET  /x HTTP/1.1\r\nHost: a\r\n\r\n", false},
    {"trailing junk in the request line", "GET /x HTTP/1.1 junk\r\nHost: a\r\n\r\n", false},
    {"bad version", "GET /x HTTP/1.x\r\nHost: a\r\n\r\n", false},
    {"HTTP/1.1 without Host", "GET /x HTTP/1.1\r\nX-A: b\r\n\r\n", false},
    {"two Host fields", "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", false},
};

/* Sends one bad request on a fresh connection: must get 400 (or 501) and a
 * close. */
static void expect_rejected(int port, const struct bad_case *bc)
{
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, port));
    e2e_send_str(&c, bc->raw, 3000); /* foyer may close before reading it all */
    struct e2e_resp r = {0};
    int rc = e2e_read_response(&c, &r, 3000);
    bool ok_status = rc == 1 && (r.status == 400 || (bc->te_unknown && r.status == 501));
    CHECKF(ok_status, "%s: got %s %d, want 400", bc->what, rc == 1 ? "status" : "rc",
           rc == 1 ? r.status : rc);
    CHECKF(e2e_wait_closed(&c, 3000), "%s: connection left open after the error", bc->what);
    e2e_resp_free(&r);
    e2e_conn_close(&c);
}

E2E_TEST(malformed_requests_rejected, 120)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "", b.port);
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
        expect_rejected(f.port, &bad_cases[i]);
    struct e2e_backend_stats st;
    REQUIRE(e2e_backend_stats(b.port, &st));
    CHECKF(st.requests == 0, "%ld malformed request(s) reached the backend", st.requests);
    CHECK_INT(st.bad, 0);
    /* foyer is still fine. */
    CHECK_INT(e2e_get(f.port, "a.example", "/after", NULL, 0), 200);
    e2e_foyer_stop(&f, 5000);
}

/* A valid request followed by a smuggled one in the body of an ambiguous
 * message: the backend must see neither. */
E2E_TEST(smuggled_request_never_forwarded, 30)
{
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "", b.port);
    struct e2e_conn c;
    REQUIRE(e2e_conn_open(&c, f.port));
    e2e_send_str(&c,
                 "POST /first HTTP/1.1\r\nHost: a\r\nContent-Length: 44\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                 "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
                 3000);
    struct e2e_resp r = {0};
    int rc = e2e_read_response(&c, &r, 3000);
    CHECKF(rc == 1 && r.status == 400, "rc %d status %d", rc, r.status);
    /* Nothing after the 400: the smuggled request must not be answered. */
    struct e2e_resp r2 = {0};
    CHECKF(e2e_read_response(&c, &r2, 1500) != 1, "a second response (status %d) followed",
           r2.status);
    e2e_conn_close(&c);
    struct e2e_backend_stats st;
    REQUIRE(e2e_backend_stats(b.port, &st));
    CHECK_INT(st.requests, 0);
    e2e_resp_free(&r);
    e2e_resp_free(&r2);
    e2e_foyer_stop(&f, 5000);
}

/* Bad framing inside a chunked body is only seen after the head was routed:
 * no 2xx, the connection closed, and the backend never gets the bad bytes. */
E2E_TEST(bad_chunked_framing, 60)
{
    static const char *bodies[] = {
        "FFFFFFFFFFFFFFFFFF1\r\nx\r\n0\r\n\r\n", /* chunk size overflow */
        "5\r\nhelloXX0\r\n\r\n",                  /* data not followed by CRLF */
        "zz\r\nhello\r\n0\r\n\r\n",               /* not hex */
        "5\nhello\n0\n\n",                        /* bare LF in chunk framing */
        "-5\r\nhello\r\n0\r\n\r\n",               /* negative size */
    };
    struct e2e_backend b = e2e_backend_start("app");
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "", b.port);
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct e2e_conn c;
        REQUIRE(e2e_conn_open(&c, f.port));
        e2e_send_str(&c, "POST /sink HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
                     3000);
        e2e_sleep_ms(50);
        e2e_send_str(&c, bodies[i], 3000);
        struct e2e_resp r = {0};
        int rc = e2e_read_response(&c, &r, 3000);
        CHECKF(rc != 1 || r.status >= 400,
               "body %zu: bad chunked framing answered with status %d", i, r.status);
        CHECKF(e2e_wait_closed(&c, 3000), "body %zu: connection left open", i);
        e2e_resp_free(&r);
        e2e_conn_close(&c);
    }
    struct e2e_backend_stats st;
    REQUIRE(e2e_backend_stats(b.port, &st));
    CHECKF(st.bad == 0, "the backend received %ld badly framed message(s)", st.bad);
    e2e_foyer_stop(&f, 5000);
}

int main(void)
{
    static const struct e2e_case cases[] = {
        E2E_CASE(malformed_requests_rejected),
        E2E_CASE(smuggled_request_never_forwarded),
        E2E_CASE(bad_chunked_framing),
    };
    return e2e_run_suite("e2e-smuggling", cases, sizeof(cases) / sizeof(cases[0]));
}
