/*
 * The shared routing corpus ($FOYER_SHARED/corpus/routing/cases.json) through
 * foyer-k8s: for every group, the Kubernetes manifests of its config are
 * written at test time (corpus_manifest.c; a YAML stream for even groups, a
 * kubectl-style JSON List for odd ones), foyer-k8s turns them into a foyer
 * configuration (--listen 127.0.0.1 --no-resolve), the real foyer runs it with
 * one report backend per service, and every request is checked against its
 * expectation exactly as tests/e2e/test_router_corpus.c does (the shared
 * tests/e2e/corpus_check.c).
 *
 * Skipped and counted, with the reason: groups that manifests cannot express
 * (an Ingress matching headers, a use-regex path foyer-k8s does not translate,
 * ...), groups whose config terminates TLS, and requests needing TLS or
 * HTTP/2. Exits 77 (automake's SKIP) when the corpus is not there.
 * K8S_CORPUS_DUMP=DIR keeps each group's manifests and foyer-k8s output there.
 */
#include "corpus_check.h"
#include "corpus_manifest.h"
#include "k8s_test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct e2e_json *corpus;
static size_t current_group;
static char results[4096]; /* each group appends "pass fail skip" to this file */

/* ---- one group's foyer ----------------------------------------------------------- */

struct run {
    const struct e2e_json *group;
    size_t index;
    struct plan plan;
    struct svcs svcs;
    struct e2e_foyer f;
    bool started, failed;
};

static void write_manifests(struct run *r, struct e2e_json *docs, char *file, size_t len)
{
    bool json = r->index % 2 == 1;
    snprintf(file, len, "manifests.%s", json ? "json" : "yaml");
    FILE *f = fopen(e2e_path(file), "w");
    REQUIRE(f != NULL);
    if (json) {
        struct e2e_json *list = e2e_json_new(EJ_OBJ);
        e2e_json_set(list, "apiVersion", e2e_json_new_str("v1"));
        e2e_json_set(list, "kind", e2e_json_new_str("List"));
        e2e_json_set(list, "items", docs);
        e2e_json_write(f, list);
        e2e_json_free(list);
    } else {
        k8s_write_yaml(f, docs);
        e2e_json_free(docs);
    }
    fclose(f);
}

static void dump(const struct run *r, const char *file)
{
    const char *dir = getenv("K8S_CORPUS_DUMP");
    if (!dir || !*dir) return;
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s' && cp -r '%s' '%s' '%s/%s/'", dir,
             str_or(r->group, "id", "group"), e2e_path(file), e2e_path("out"), dir,
             str_or(r->group, "id", "group"));
    if (system(cmd) != 0) e2e_log("cannot dump to %s", dir);
}

/* The port foyer is waited on: an instance it listens on. */
static int ready_port(const struct plan *p)
{
    for (int i = 0; i < p->ninst; i++)
        if (p->inst[i].http) return p->inst[i].port;
    return p->inst[0].port;
}

static bool start(struct run *r, struct why *w)
{
    char why[256], file[64], out[16384];
    struct e2e_json *docs =
        group_manifests(r->group, &r->plan, &r->svcs, why, sizeof(why));
    if (!docs) {
        whyf(w, "cannot write the manifests: %s", why);
        return false;
    }
    write_manifests(r, docs, file, sizeof(file));
    const struct e2e_json *cfg = e2e_json_get(r->group, "config");
    const char *cls = e2e_json_str(cfg, "proxy_ingress_class");
    /* a proxy of no class installs no Ingress that names one: a class none has */
    const struct e2e_json *routes = e2e_json_get(cfg, "routes");
    for (size_t i = 0; !cls && i < e2e_json_len(routes); i++)
        if (e2e_json_str(e2e_json_at(routes, i), "ingress_class"))
            cls = "no-class-of-the-corpus";
    char http_port[16];
    snprintf(http_port, sizeof(http_port), "%d", r->plan.inst[0].port);
    /* --ingress-class CLASS only when the group has one: the list ends at the first NULL
     */
    int rc =
        k8s_run(out, sizeof(out), "-o", "out", "--listen", "127.0.0.1", "--no-resolve",
                "--http-port", http_port, cls ? "--ingress-class" : file,
                cls ? cls : NULL, cls ? file : NULL, NULL);
    dump(r, file);
    if (rc != 0) {
        whyf(w, "foyer-k8s exited %d: %.500s", rc, out);
        return false;
    }
    k8s_foyer_start(&r->f, "out", ready_port(&r->plan), "set { workers = 1 }");
    r->started = true;
    return true;
}

static int instance_port(const struct plan *p, const struct e2e_json *rq)
{
    const char *gw = e2e_json_str(rq, "gateway");
    int port = (int)e2e_json_num(rq, "port", default_port(str_or(rq, "scheme", "http")));
    for (int i = 0; i < p->ninst; i++)
        if (p->inst[i].cport == port && (!gw || !strcmp(p->inst[i].gateway, gw)))
            return p->inst[i].port;
    return -1;
}

/* ---- one case
 * -------------------------------------------------------------------------- */

static void check_mirrors(const struct e2e_json *ex, const struct svcs *s,
                          const long *before, int samples, struct why *w)
{
    const struct e2e_json *mir = e2e_json_get(ex, "mirrored_to");
    for (size_t i = 0; i < e2e_json_len(mir) && i < MAX_SVC; i++) {
        const char *name = str_or_empty(mir->items[i]);
        long now = -1;
        for (int t = 0; t < 100; t++) {
            now = e2e_backend_requests(svc_port(s, name));
            if (now >= before[i] + samples) break;
            e2e_sleep_ms(30);
        }
        if (now < before[i] + samples)
            whyf(w, "mirror %s received %ld copies, want %d", name, now - before[i],
                 samples);
    }
}

/* Sends the request as many times as expected and checks every answer. */
static void send_samples(const struct e2e_json *c, const struct svcs *s, int port,
                         int samples, int *counts, struct why *w)
{
    const struct e2e_json *rq = e2e_json_get(c, "request"),
                          *ex = e2e_json_get(c, "expect");
    int bad = 0;
    struct why first = {.len = 0};
    for (int k = 0; k < samples; k++) {
        struct sent st;
        struct why one = {.len = 0};
        send_request(port, rq, &st);
        check_one(ex, rq, &st, port, &one);
        if (one.n && !bad++) first = one;
        for (int i = 0; i < s->n; i++)
            if (!strcmp(s->names[i], st.backend)) counts[i]++;
        sent_free(&st);
    }
    if (bad) whyf(w, "%d of %d responses wrong, first: %s", bad, samples, first.text);
}

static enum corpus_outcome run_case(void *ctx, const struct e2e_json *c, struct why *w,
                                    const char **skip)
{
    struct run *r = ctx;
    const struct e2e_json *rq = e2e_json_get(c, "request"),
                          *ex = e2e_json_get(c, "expect");
    if ((*skip = skip_reason(rq, ex))) return CORPUS_SKIP;
    for (size_t i = 0; i < e2e_json_len(ex); i++)
        if (!expect_known(ex->keys[i]))
            whyf(w, "the harness does not know expect.%s", ex->keys[i]);
    int port = instance_port(&r->plan, rq);
    if (port < 0) whyf(w, "no listener for this request's gateway/port");
    if (w->n) return CORPUS_FAIL;
    if (!r->started && r->failed) {
        whyf(w,
             "foyer-k8s or foyer did not start for this group (see the first failure)");
        return CORPUS_FAIL;
    }
    if (!r->started && !start(r, w)) {
        r->failed = true;
        return CORPUS_FAIL;
    }
    const struct e2e_json *mir = e2e_json_get(ex, "mirrored_to");
    long before[MAX_SVC] = {0};
    for (size_t i = 0; i < e2e_json_len(mir) && i < MAX_SVC; i++)
        before[i] = e2e_backend_requests(svc_port(&r->svcs, str_or_empty(mir->items[i])));
    int samples = corpus_sample_count(ex), counts[MAX_SVC] = {0};
    send_samples(c, &r->svcs, port, samples, counts, w);
    corpus_check_distribution(ex, &r->svcs, counts, samples, w);
    check_mirrors(ex, &r->svcs, before, samples, w);
    return w->n ? CORPUS_FAIL : CORPUS_PASS;
}

/* ---- groups
 * ----------------------------------------------------------------------------- */

static void record(int pass, int fail, int skip)
{
    int fd = open(results, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    char line[64];
    int n = snprintf(line, sizeof(line), "%d %d %d\n", pass, fail, skip);
    if (write(fd, line, (size_t)n) != n) e2e_log("cannot record the counts");
    close(fd);
}

static void run_group_body(void)
{
    struct run r = {.group = e2e_json_at(e2e_json_get(corpus, "groups"), current_group),
                    .index = current_group};
    collect_services(&r.svcs, r.group);
    for (int i = 0; i < r.svcs.n; i++)
        r.svcs.b[i] = e2e_backend_start_report(r.svcs.names[i]);
    plan_group(r.group, &r.plan);
    struct corpus_tally t = corpus_run_cases(r.group, run_case, &r);
    record(t.pass, t.fail, t.skip);
    if (r.started) e2e_foyer_stop(&r.f, 5000);
}

static void group_test(void)
{
    corpus_group_test(corpus, &current_group, run_group_body);
}

/* Why a whole group is skipped, or NULL. */
static const char *group_skip_reason(const struct e2e_json *g, char *why, size_t len)
{
    const struct e2e_json *cfg = e2e_json_get(g, "config");
    if (e2e_json_len(e2e_json_get(cfg, "tls"))) return "the config terminates TLS";
    return group_inexpressible(g, why, len);
}

/* Cases skipped before running, by why. */
struct skipped {
    size_t inexpressible, untranslated, tls;
};

static void summary(const struct skipped *sk)
{
    FILE *f = fopen(results, "r");
    int pass = 0, fail = 0, skip = 0, p, fl, s;
    while (f && fscanf(f, "%d %d %d", &p, &fl, &s) == 3)
        pass += p, fail += fl, skip += s;
    if (f) fclose(f);
    unlink(results);
    printf("k8s routing corpus: %d cases pass, %d fail, %zu skipped: %zu that manifests "
           "cannot express, %zu that foyer-k8s does not translate, %zu of groups that "
           "terminate TLS, %d requests needing TLS or HTTP/2\n",
           pass, fail, sk->inexpressible + sk->untranslated + sk->tls + (size_t)skip,
           sk->inexpressible, sk->untranslated, sk->tls, skip);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    char path[4096];
    int rc = corpus_load(&corpus, path, sizeof(path));
    if (rc != 0) return rc;
    const struct e2e_json *groups = e2e_json_get(corpus, "groups");
    struct e2e_case *cases = calloc(groups->n, sizeof(*cases));
    size_t n = 0, skipped_groups = 0;
    struct skipped sk = {0};
    for (size_t i = 0; i < groups->n; i++) {
        const struct e2e_json *g = groups->items[i];
        char why[256];
        const char *reason = group_skip_reason(g, why, sizeof(why));
        size_t k = e2e_json_len(e2e_json_get(g, "requests"));
        if (reason) {
            printf("SKIP group %s (%zu cases): %s\n", str_or(g, "id", "?"), k, reason);
            skipped_groups++;
            /* the reasons corpus_manifest.c gives name foyer-k8s when it is the
             * translation, not Kubernetes, that falls short */
            *(strstr(reason, "TLS")         ? &sk.tls
              : strstr(reason, "foyer-k8s") ? &sk.untranslated
                                            : &sk.inexpressible) += k;
            continue;
        }
        cases[n++] = (struct e2e_case){str_or(g, "id", "?"), group_test};
    }
    printf("k8s routing corpus: %zu groups to run, %zu groups skipped\n", n,
           skipped_groups);
    snprintf(results, sizeof(results), "/tmp/foyer-k8s-corpus-%d.counts", (int)getpid());
    unlink(results);
    rc = e2e_run_suite("k8s-corpus", cases, n);
    summary(&sk);
    free(cases);
    e2e_json_free(corpus);
    return rc;
}
