/*
 * The routing corpus's requests and expectations, as tests/e2e/test_router_corpus.c
 * sends and checks them (copied from there: its functions are static): for
 * test_k8s_corpus, which configures foyer through foyer-k8s instead.
 */
#ifndef FOYER_K8S_CORPUS_CHECK_H
#define FOYER_K8S_CORPUS_CHECK_H

#include "harness.h"
#include "json.h"

#include <stdbool.h>

#define MAX_SVC 16

const char *str_or(const struct e2e_json *j, const char *key, const char *dflt);
const char *str_or_empty(const struct e2e_json *v);
bool is_null_or_absent(const struct e2e_json *j, const char *key);
int default_port(const char *scheme);

/* A growable failure message for one case. */
struct why {
    char text[2048];
    size_t len;
    int n;
};
void whyf(struct why *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The services a group names (config and expectations), with their backends. */
struct svcs {
    int n;
    char *names[MAX_SVC];
    struct e2e_backend b[MAX_SVC];
};
void collect_services(struct svcs *s, const struct e2e_json *group);
int svc_port(const struct svcs *s, const char *name);

/* One request sent as the corpus describes it, and what came back. */
struct sent {
    int rc;
    struct e2e_resp r;
    char backend[128];
    struct e2e_json *rep;
    char host_header[512]; /* what was sent */
};
void send_request(int port, const struct e2e_json *rq, struct sent *out);
void sent_free(struct sent *s);

/* Why a request cannot run here (TLS, HTTP/2), or NULL. */
const char *skip_reason(const struct e2e_json *rq, const struct e2e_json *ex);
/* Is key an `expect` member these checks know? */
bool expect_known(const char *key);
/* Everything but distribution and mirrors, for one response; fport: the port
 * the request was sent to. */
void check_one(const struct e2e_json *ex, const struct e2e_json *rq, const struct sent *s,
               int fport, struct why *w);

#endif
