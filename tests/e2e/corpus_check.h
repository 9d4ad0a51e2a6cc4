/*
 * The routing corpus ($FOYER_SHARED/corpus/routing/cases.json): its requests
 * sent and its expectations checked, one copy for every test that replays it
 * (tests/e2e/test_router_corpus.c, foyer configured from the corpus directly;
 * tests/k8s/test_k8s_corpus.c, foyer configured by foyer-k8s), so that both
 * are held to exactly the same checks. Each test keeps only how it configures
 * and starts foyer.
 */
#ifndef FOYER_E2E_CORPUS_CHECK_H
#define FOYER_E2E_CORPUS_CHECK_H

#include "harness.h"
#include "json.h"

#include <stdbool.h>
#include <stddef.h>

#define MAX_SVC 16 /* services one group names, at most */

/* ---- small helpers --------------------------------------------------------------- */

/* j[key] if it is a string, else dflt. */
const char *str_or(const struct e2e_json *j, const char *key, const char *dflt);
/* v if it is a string, else "". */
const char *str_or_empty(const struct e2e_json *v);
/* Is j[key] absent or null? */
bool is_null_or_absent(const struct e2e_json *j, const char *key);
/* 443 for "https" (any case), else 80. */
int default_port(const char *scheme);

/* A growable failure message for one case: n counts the mismatches, text joins
 * them with "; " (truncated when full). */
struct why {
    char text[2048];
    size_t len;
    int n;
};
/* Adds one mismatch to w. */
void whyf(struct why *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- services named by a group --------------------------------------------------- */

/* The services a group names (config and expectations), with their backends
 * (b[i] is started by the test for names[i]; names are malloc'd). */
struct svcs {
    int n;
    char *names[MAX_SVC];
    struct e2e_backend b[MAX_SVC];
};
/* Adds every service the group's config and expectations name, once each. */
void collect_services(struct svcs *s, const struct e2e_json *group);
/* The port of the backend of service name, or -1. */
int svc_port(const struct svcs *s, const char *name);

/* ---- sending a corpus request ---------------------------------------------------- */

/* One request sent as the corpus describes it, and what came back. */
struct sent {
    int rc;                /* e2e_request's: 1 for a complete response */
    struct e2e_resp r;     /* the response */
    char backend[128];     /* its X-Backend ("" if none) */
    struct e2e_json *rep;  /* the backend's report of what it received, or NULL */
    char host_header[512]; /* the Host sent: the request's, or 127.0.0.1:PORT */
};
/* Sends the corpus request rq (method, path, version, host, headers, ...) to
 * 127.0.0.1:port and fills out. */
void send_request(int port, const struct e2e_json *rq, struct sent *out);
/* Frees what send_request allocated in s. */
void sent_free(struct sent *s);

/* ---- checking one response against `expect` -------------------------------------- */

/* Why a request cannot run here (TLS, HTTP/2), or NULL. */
const char *skip_reason(const struct e2e_json *rq, const struct e2e_json *ex);
/* Is key an `expect` member these checks know? */
bool expect_known(const char *key);
/* Everything but distribution and mirrors, for one response (status, backend,
 * what the backend received, redirect and Location, response headers, the
 * header invariant); each mismatch goes to w. fport: the port the request was
 * sent to (it stands for the corpus's port 80 in a redirect). */
void check_one(const struct e2e_json *ex, const struct e2e_json *rq, const struct sent *s,
               int fport, struct why *w);

/* How many times a case's request is sent: expect.samples (1 by default), at
 * least 2000 when there is a distribution to check (with the corpus's 500, a
 * +-5 % tolerance on a 70 % share is only 2.4 standard deviations, a flaky
 * test; over 2000 it is 4.9), at most 2000. */
int corpus_sample_count(const struct e2e_json *ex);
/* Checks expect.distribution: counts[i] of the samples answered by s->names[i]
 * must make each service's share within expect.tolerance (0.05 by default) of
 * the expected one, and exactly 0 where that is 0; each miss goes to w. */
void corpus_check_distribution(const struct e2e_json *ex, const struct svcs *s,
                               const int *counts, int samples, struct why *w);

/* ---- running the corpus ---------------------------------------------------------- */

/* Loads $FOYER_SHARED/corpus/routing/cases.json into *corpus (its path into
 * path): 0; 77 (automake's SKIP) when FOYER_SHARED is unset or the file is not
 * there; 1 when it does not parse or has no groups. Prints why when not 0. */
int corpus_load(struct e2e_json **corpus, char *path, size_t len);

/* The CUnit test of the group named as the current test: sets *current to the
 * group's index in corpus.groups and runs body in its own process
 * (e2e_isolate, 300 s); a failure when no group has that id. */
void corpus_group_test(const struct e2e_json *corpus, size_t *current, e2e_body_fn body);

/* What became of one case. */
enum corpus_outcome { CORPUS_PASS, CORPUS_FAIL, CORPUS_SKIP };
/* Runs case c of a group (ctx: the test's own state): the outcome, with the
 * mismatches in w (FAIL) or the reason in *skip (SKIP). */
typedef enum corpus_outcome (*corpus_case_fn)(void *ctx, const struct e2e_json *c,
                                              struct why *w, const char **skip);
struct corpus_tally {
    int pass, fail, skip;
};
/* Runs every request of the group through run, logs each outcome (a FAIL is
 * also a failed check) and the group's counts, and returns the counts. */
struct corpus_tally corpus_run_cases(const struct e2e_json *group, corpus_case_fn run,
                                     void *ctx);

#endif
