/*
 * Sending a routing-corpus request ($FOYER_SHARED/corpus/routing/cases.json),
 * checking the answer against its `expect`, and the loop around them that
 * every corpus test shares (corpus_check.h).
 */
#include "corpus_check.h"

#include <CUnit/Basic.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define T_MS 5000 /* per request */
#define DIST_SAMPLES 2000
#define MAX_SAMPLES 2000

/* ---- small helpers --------------------------------------------------------------- */

const char *str_or(const struct e2e_json *j, const char *key, const char *dflt)
{
    const char *s = e2e_json_str(j, key);
    return s ? s : dflt;
}

bool is_null_or_absent(const struct e2e_json *j, const char *key)
{
    const struct e2e_json *v = e2e_json_get(j, key);
    return !v || v->type == EJ_NULL;
}

/* A growable failure message for one case. */

void whyf(struct why *w, const char *fmt, ...)
{
    w->n++;
    if (w->len + 4 >= sizeof(w->text)) return;
    if (w->len)
        w->len += (size_t)snprintf(w->text + w->len, sizeof(w->text) - w->len, "; ");
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(w->text + w->len, sizeof(w->text) - w->len, fmt, ap);
    va_end(ap);
    if (k > 0)
        w->len = w->len + (size_t)k < sizeof(w->text) ? w->len + (size_t)k
                                                      : sizeof(w->text) - 1;
}

/* ---- services named by a group --------------------------------------------------- */

static void svc_add(struct svcs *s, const char *name)
{
    if (!name) return;
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0) return;
    if (s->n < MAX_SVC) s->names[s->n++] = strdup(name);
}

int svc_port(const struct svcs *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0) return s->b[i].port;
    return -1;
}

static void collect_backends(struct svcs *s, const struct e2e_json *backends)
{
    for (size_t i = 0; i < e2e_json_len(backends); i++) {
        const struct e2e_json *b = e2e_json_at(backends, i);
        if (is_null_or_absent(b, "invalid")) svc_add(s, e2e_json_str(b, "service"));
        const struct e2e_json *fs = e2e_json_get(b, "filters");
        for (size_t k = 0; k < e2e_json_len(fs); k++)
            svc_add(s, e2e_json_str(e2e_json_at(fs, k), "service")); /* mirrors */
    }
}

void collect_services(struct svcs *s, const struct e2e_json *group)
{
    const struct e2e_json *cfg = e2e_json_get(group, "config");
    svc_add(s, e2e_json_str(cfg, "default_backend"));
    const struct e2e_json *routes = e2e_json_get(cfg, "routes");
    for (size_t r = 0; r < e2e_json_len(routes); r++) {
        const struct e2e_json *rules = e2e_json_get(e2e_json_at(routes, r), "rules");
        for (size_t k = 0; k < e2e_json_len(rules); k++) {
            const struct e2e_json *rule = e2e_json_at(rules, k);
            collect_backends(s, e2e_json_get(rule, "backends"));
            const struct e2e_json *fs = e2e_json_get(rule, "filters");
            for (size_t f = 0; f < e2e_json_len(fs); f++)
                svc_add(s, e2e_json_str(e2e_json_at(fs, f), "service"));
        }
    }
    /* Services only expectations name still get a backend: a request that
     * wrongly reaches them must be seen to. */
    const struct e2e_json *reqs = e2e_json_get(group, "requests");
    for (size_t i = 0; i < e2e_json_len(reqs); i++) {
        const struct e2e_json *ex = e2e_json_get(e2e_json_at(reqs, i), "expect");
        svc_add(s, e2e_json_str(ex, "backend"));
        svc_add(s, e2e_json_str(ex, "backend_not"));
        const struct e2e_json *d = e2e_json_get(ex, "distribution");
        for (size_t k = 0; k < e2e_json_len(d); k++)
            svc_add(s, d->keys[k]);
        const struct e2e_json *one = e2e_json_get(ex, "backend_one_of");
        for (size_t k = 0; k < e2e_json_len(one); k++)
            if (e2e_json_is(e2e_json_at(one, k), EJ_STR))
                svc_add(s, e2e_json_at(one, k)->str);
        const struct e2e_json *m = e2e_json_get(ex, "mirrored_to");
        for (size_t k = 0; k < e2e_json_len(m); k++)
            if (e2e_json_is(e2e_json_at(m, k), EJ_STR))
                svc_add(s, e2e_json_at(m, k)->str);
    }
}

/* ---- sending a corpus request ---------------------------------------------------- */

void sent_free(struct sent *s)
{
    e2e_resp_free(&s->r);
    e2e_json_free(s->rep);
    s->rep = NULL;
}

void send_request(int port, const struct e2e_json *rq, struct sent *out)
{
    memset(out, 0, sizeof(*out));
    const char *method = str_or(rq, "method", "GET"), *path = str_or(rq, "path", "/");
    const char *ver = str_or(rq, "http_version", "1.1");
    if (e2e_json_str(rq, "host"))
        snprintf(out->host_header, sizeof(out->host_header), "%s",
                 e2e_json_str(rq, "host"));
    else
        snprintf(out->host_header, sizeof(out->host_header), "127.0.0.1:%d", port);
    char *req = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&req, &len);
    fprintf(m, "%s %s HTTP/%s\r\nHost: %s\r\n", method, path, ver, out->host_header);
    const struct e2e_json *hs = e2e_json_get(rq, "headers");
    for (size_t i = 0; i < e2e_json_len(hs); i++) {
        const struct e2e_json *v = hs->items[i];
        if (hs->type == EJ_OBJ && v->type == EJ_STR) {
            fprintf(m, "%s: %s\r\n", hs->keys[i], v->str);
        } else if (hs->type == EJ_OBJ && v->type == EJ_ARR) {
            for (size_t k = 0; k < v->n; k++)
                if (v->items[k]->type == EJ_STR)
                    fprintf(m, "%s: %s\r\n", hs->keys[i], v->items[k]->str);
        } else if (hs->type == EJ_ARR) { /* [{name, value}] */
            fprintf(m, "%s: %s\r\n", str_or(v, "name", "X"), str_or(v, "value", ""));
        }
    }
    const struct e2e_json *brh = e2e_json_get(rq, "backend_response_headers");
    for (size_t i = 0; i < e2e_json_len(brh); i++)
        if (brh->type == EJ_OBJ && brh->items[i]->type == EJ_STR)
            fprintf(m, "X-Backend-Response-Header: %s: %s\r\n", brh->keys[i],
                    brh->items[i]->str);
    if (!strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH"))
        fprintf(m, "Content-Length: 0\r\n");
    fprintf(m, "Connection: close\r\n\r\n");
    fclose(m);
    out->r.head_request = strcmp(method, "HEAD") == 0;
    out->rc = e2e_request(port, req, &out->r, T_MS);
    free(req);
    if (out->rc == 1) {
        e2e_resp_header(&out->r, "x-backend", out->backend, sizeof(out->backend));
        out->rep = e2e_report(&out->r);
    }
}

/* ---- checking one response against `expect` -------------------------------------- */

const char *str_or_empty(const struct e2e_json *v)
{
    return e2e_json_is(v, EJ_STR) ? v->str : "";
}

/* "a, b" vs "a,b": values compared as comma-separated lists. */
static bool list_equal(const char *got, const char *want)
{
    if (!got || !want) return false;
    char g[2048], w[2048];
    snprintf(g, sizeof(g), "%s", got);
    snprintf(w, sizeof(w), "%s", want);
    return strcmp(e2e_norm_list(g), e2e_norm_list(w)) == 0;
}

static const char *json_text(const struct e2e_json *v, char *buf, size_t len)
{
    if (e2e_json_is(v, EJ_STR)) return v->str;
    if (!buf || !len) return NULL;
    buf[0] = 0;
    if (e2e_json_is(v, EJ_ARR)) { /* a list of values: joined */
        size_t used = 0;
        for (size_t i = 0; i < v->n && used < len; i++)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "",
                                     e2e_json_is(v->items[i], EJ_STR) ? v->items[i]->str
                                                                      : "");
        return buf;
    }
    if (e2e_json_is(v, EJ_NUM)) {
        snprintf(buf, len, "%g", v->num);
        return buf;
    }
    return NULL;
}

int default_port(const char *scheme)
{
    return scheme && !strcasecmp(scheme, "https") ? 443 : 80;
}

/* Host without its port (an IPv6 literal keeps its brackets). */
static void host_only(const char *host, char *out, size_t len)
{
    const char *end = host + strlen(host);
    if (host[0] == '[') {
        const char *rb = strchr(host, ']');
        end = rb ? rb + 1 : end;
    } else if (strrchr(host, ':')) {
        end = strrchr(host, ':');
    }
    snprintf(out, len, "%.*s", (int)(end - host), host);
}

static void check_redirect(const struct e2e_json *want, const struct e2e_json *rq,
                           const struct sent *s, int fport, struct why *w)
{
    char loc[1024];
    if (!e2e_resp_header(&s->r, "location", loc, sizeof(loc))) {
        whyf(w, "no Location");
        return;
    }
    /* scheme://authority/path */
    char scheme[32] = "", auth[512] = "", host[512] = "";
    const char *p = strstr(loc, "://"), *path = "";
    if (!p) {
        whyf(w, "Location \"%s\" is not absolute", loc);
        return;
    }
    snprintf(scheme, sizeof(scheme), "%.*s", (int)(p - loc), loc);
    const char *a = p + 3, *slash = strchr(a, '/');
    snprintf(auth, sizeof(auth), "%.*s", (int)(slash ? slash - a : (long)strlen(a)), a);
    path = slash ? slash : "";
    host_only(auth, host, sizeof(host));
    int port = -1;
    const char *colon = auth[0] == '[' ? strstr(auth, "]:") : strrchr(auth, ':');
    if (colon) port = atoi(colon + (auth[0] == '[' ? 2 : 1));

    const char *ws = e2e_json_str(want, "scheme");
    if (ws && strcasecmp(ws, scheme) != 0)
        whyf(w, "Location scheme \"%s\", want \"%s\" (%s)", scheme, ws, loc);
    char want_host[512];
    if (e2e_json_str(want, "host"))
        snprintf(want_host, sizeof(want_host), "%s", e2e_json_str(want, "host"));
    else
        host_only(s->host_header, want_host, sizeof(want_host));
    if (strcasecmp(host, want_host) != 0)
        whyf(w, "Location host \"%s\", want \"%s\" (%s)", host, want_host, loc);
    const struct e2e_json *wp = e2e_json_get(want, "port");
    if (e2e_json_is(wp, EJ_NUM)) {
        int wantp = (int)wp->num;
        if (!(port == wantp || (port < 0 && wantp == default_port(scheme))))
            whyf(w, "Location port %d, want %d (%s)", port, wantp, loc);
    } else {
        /* null: omitted or the scheme's default; the request's own port
         * (this foyer's, standing for the corpus's 80) is also what "the
         * listener's port" means here when the scheme is unchanged. */
        const char *req_scheme = str_or(rq, "scheme", "http");
        bool same_scheme = strcasecmp(scheme, req_scheme) == 0;
        if (!(port < 0 || port == default_port(scheme) || (same_scheme && port == fport)))
            whyf(w, "Location port %d, want none (%s)", port, loc);
    }
    const char *wpath = e2e_json_str(want, "path");
    if (wpath && strcmp(path, wpath) != 0)
        whyf(w, "Location path \"%s\", want \"%s\" (%s)", path, wpath, loc);
}

/* The header an `invariant` like "backend_request.headers['Backend'] (single
 * value) == name of the receiving backend" is about; NULL if not that form. */
static bool invariant_header(const char *inv, char *name, size_t len)
{
    const char *p = inv ? strstr(inv, "backend_request.headers['") : NULL;
    if (!p || !strstr(inv, "receiving backend")) return false;
    p += strlen("backend_request.headers['");
    const char *e = strchr(p, '\'');
    if (!e) return false;
    snprintf(name, len, "%.*s", (int)(e - p), p);
    return true;
}

static const char *const known_expect[] = {"status",
                                           "backend",
                                           "backend_not",
                                           "backend_one_of",
                                           "backend_request",
                                           "distribution",
                                           "samples",
                                           "tolerance",
                                           "invariant",
                                           "redirect",
                                           "location",
                                           "response_headers",
                                           "response_absent_headers",
                                           "mirrored_to",
                                           NULL};

bool expect_known(const char *key)
{
    for (const char *const *k = known_expect; *k; k++)
        if (!strcmp(*k, key)) return true;
    return false;
}

/* Everything but distribution and mirrors, for one response. */
void check_one(const struct e2e_json *ex, const struct e2e_json *rq, const struct sent *s,
               int fport, struct why *w)
{
    if (s->rc != 1) {
        whyf(w, "no valid response (rc %d)", s->rc);
        return;
    }
    int want_status = (int)e2e_json_num(ex, "status", -1);
    if (want_status >= 0 && s->r.status != want_status)
        whyf(w, "status %d, want %d (answered by \"%s\")", s->r.status, want_status,
             s->backend);
    const char *wb = e2e_json_str(ex, "backend");
    if (wb && strcmp(s->backend, wb) != 0)
        whyf(w, "backend \"%s\", want \"%s\"", s->backend, wb);
    const char *nb = e2e_json_str(ex, "backend_not");
    if (nb && strcmp(s->backend, nb) == 0)
        whyf(w, "reached backend \"%s\", which it must not", nb);
    const struct e2e_json *one = e2e_json_get(ex, "backend_one_of");
    if (one) {
        bool in = false;
        for (size_t i = 0; i < e2e_json_len(one); i++)
            in |= e2e_json_is(one->items[i], EJ_STR) &&
                  !strcmp(one->items[i]->str, s->backend);
        if (!in) whyf(w, "backend \"%s\" is not one of the expected", s->backend);
    }
    char v[2048], tmp[2048];
    const struct e2e_json *br = e2e_json_get(ex, "backend_request");
    if (br) {
        if (!s->rep) {
            whyf(w, "no backend report (status %d, backend \"%s\")", s->r.status,
                 s->backend);
        } else {
            const char *t = e2e_report_str(s->rep, "target"),
                       *h = e2e_report_str(s->rep, "host");
            const char *m = e2e_report_str(s->rep, "method");
            const char *wp = e2e_json_str(br, "path"), *wh = e2e_json_str(br, "host");
            const char *wm = e2e_json_str(br, "method");
            if (wp && (!t || strcmp(t, wp)))
                whyf(w, "backend got path \"%s\", want \"%s\"", t ? t : "", wp);
            if (wh && (!h || strcmp(h, wh)))
                whyf(w, "backend got Host \"%s\", want \"%s\"", h ? h : "(none)", wh);
            if (wm && (!m || strcmp(m, wm)))
                whyf(w, "backend got method \"%s\", want \"%s\"", m ? m : "", wm);
            const struct e2e_json *hs = e2e_json_get(br, "headers");
            for (size_t i = 0; i < e2e_json_len(hs) && hs->type == EJ_OBJ; i++) {
                const char *want = json_text(hs->items[i], tmp, sizeof(tmp));
                const char *got =
                    e2e_report_header(s->rep, hs->keys[i], ",", v, sizeof(v));
                if (!list_equal(got, want))
                    whyf(w, "backend got %s \"%s\", want \"%s\"", hs->keys[i],
                         got ? got : "(absent)", want ? want : "");
            }
            const struct e2e_json *ab = e2e_json_get(br, "absent_headers");
            for (size_t i = 0; i < e2e_json_len(ab); i++)
                if (e2e_json_is(ab->items[i], EJ_STR) &&
                    e2e_report_count(s->rep, ab->items[i]->str) > 0)
                    whyf(w, "backend got %s, which must be absent", ab->items[i]->str);
        }
    }
    const struct e2e_json *rd = e2e_json_get(ex, "redirect");
    if (rd && rd->type == EJ_OBJ) check_redirect(rd, rq, s, fport, w);
    const char *wl = e2e_json_str(ex, "location");
    if (wl) {
        const char *loc = e2e_resp_header(&s->r, "location", v, sizeof(v));
        if (!loc || strcmp(loc, wl))
            whyf(w, "Location \"%s\", want \"%s\"", loc ? loc : "(none)", wl);
    }
    const struct e2e_json *rh = e2e_json_get(ex, "response_headers");
    for (size_t i = 0; i < e2e_json_len(rh) && rh->type == EJ_OBJ; i++) {
        const char *want = json_text(rh->items[i], tmp, sizeof(tmp));
        const char *got = e2e_resp_header_all(&s->r, rh->keys[i], ",", v, sizeof(v));
        if (!list_equal(got, want))
            whyf(w, "response %s \"%s\", want \"%s\"", rh->keys[i],
                 got ? got : "(absent)", want ? want : "");
    }
    const struct e2e_json *ra = e2e_json_get(ex, "response_absent_headers");
    for (size_t i = 0; i < e2e_json_len(ra); i++)
        if (e2e_json_is(ra->items[i], EJ_STR) &&
            e2e_head_count(s->r.head, ra->items[i]->str))
            whyf(w, "response has %s, which must be absent", ra->items[i]->str);
    char hname[128];
    if (invariant_header(e2e_json_str(ex, "invariant"), hname, sizeof(hname))) {
        const char *got =
            s->rep ? e2e_report_header(s->rep, hname, "\n", v, sizeof(v)) : NULL;
        if (!got || strcmp(got, s->backend) != 0)
            whyf(w, "invariant: backend \"%s\" received %s \"%s\"", s->backend, hname,
                 got ? got : "(absent)");
    }
}

/* Why a request cannot run here, or NULL. */
const char *skip_reason(const struct e2e_json *rq, const struct e2e_json *ex)
{
    if (!strcasecmp(str_or(rq, "scheme", "http"), "https"))
        return "needs TLS (https request)";
    if (e2e_json_get(ex, "tls")) return "needs TLS (certificate expectation)";
    const char *ver = str_or(rq, "http_version", "1.1");
    if (strcmp(ver, "1.1") && strcmp(ver, "1.0"))
        return "needs an HTTP version other than 1.x";
    return NULL;
}

int corpus_sample_count(const struct e2e_json *ex)
{
    int samples = (int)e2e_json_num(ex, "samples", 1);
    if (e2e_json_get(ex, "distribution") && samples < DIST_SAMPLES)
        samples = DIST_SAMPLES;
    return samples < 1 ? 1 : samples > MAX_SAMPLES ? MAX_SAMPLES : samples;
}

void corpus_check_distribution(const struct e2e_json *ex, const struct svcs *s,
                               const int *counts, int samples, struct why *w)
{
    const struct e2e_json *dist = e2e_json_get(ex, "distribution");
    double tol = e2e_json_num(ex, "tolerance", 0.05);
    for (size_t i = 0; i < e2e_json_len(dist); i++) {
        double p = e2e_json_is(dist->items[i], EJ_NUM) ? dist->items[i]->num : 0;
        int idx = -1;
        for (int k = 0; k < s->n; k++)
            if (!strcmp(s->names[k], dist->keys[i])) idx = k;
        double got = idx >= 0 ? (double)counts[idx] / samples : 0;
        if (p == 0 ? got != 0 : fabs(got - p) > tol)
            whyf(w, "%s got %.3f of %d samples, want %.3f +- %.3f", dist->keys[i], got,
                 samples, p, p == 0 ? 0 : tol);
    }
}

/* ---- running the corpus ---------------------------------------------------------- */

int corpus_load(struct e2e_json **corpus, char *path, size_t len)
{
    /* Only what make check sets counts here (as for test_robustness). */
    const char *shared = getenv("FOYER_SHARED");
    char err[256];
    if (!shared || !*shared) {
        printf("SKIP: FOYER_SHARED is not set\n");
        return 77;
    }
    snprintf(path, len, "%s/corpus/routing/cases.json", shared);
    if (access(path, R_OK) != 0) {
        printf("SKIP: %s not found (no ../shared here)\n", path);
        return 77;
    }
    *corpus = e2e_json_parse_file(path, err, sizeof(err));
    if (!*corpus) {
        printf("FAIL: %s: %s\n", path, err);
        return 1;
    }
    if (e2e_json_len(e2e_json_get(*corpus, "groups")) == 0) {
        printf("FAIL: %s has no groups\n", path);
        e2e_json_free(*corpus);
        *corpus = NULL;
        return 1;
    }
    return 0;
}

void corpus_group_test(const struct e2e_json *corpus, size_t *current, e2e_body_fn body)
{
    const char *name = CU_get_current_test()->pName;
    const struct e2e_json *groups = e2e_json_get(corpus, "groups");
    for (size_t i = 0; i < e2e_json_len(groups); i++) {
        if (!strcmp(str_or(groups->items[i], "id", ""), name)) {
            *current = i;
            e2e_isolate(name, body, 300);
            return;
        }
    }
    CU_FAIL("group not found");
}

struct corpus_tally corpus_run_cases(const struct e2e_json *group, corpus_case_fn run,
                                     void *ctx)
{
    struct corpus_tally t = {0};
    const struct e2e_json *reqs = e2e_json_get(group, "requests");
    for (size_t i = 0; i < e2e_json_len(reqs); i++) {
        const struct e2e_json *c = reqs->items[i];
        const char *cid = str_or(c, "id", "?"), *why_skip = NULL;
        struct why w = {.len = 0};
        enum corpus_outcome o = run(ctx, c, &w, &why_skip);
        if (o == CORPUS_PASS) {
            t.pass++;
            e2e_log("PASS %s  %s", cid, str_or(c, "desc", ""));
        } else if (o == CORPUS_SKIP) {
            t.skip++;
            e2e_log("SKIP %s: %s", cid, why_skip);
        } else {
            t.fail++;
            e2e_log("FAIL %s  %s: %s", cid, str_or(c, "desc", ""), w.text);
            CHECKF(false, "%s (%s): %s", cid, str_or(c, "desc", ""), w.text);
        }
    }
    e2e_log("group %s: %d pass, %d fail, %d skipped", str_or(group, "id", "?"), t.pass,
            t.fail, t.skip);
    return t;
}
