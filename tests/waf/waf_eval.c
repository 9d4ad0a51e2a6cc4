/*
 * tests/waf/waf_eval.c — offline evaluation of the WAF detection library on a
 * labelled corpus, fed by corpus_feed.py on standard input:
 *
 *   python3 tests/waf/corpus_feed.py [corpus.jsonl] | waf_eval [options]
 *
 * Prints, per attack class, attacks blocked / total, and benign blocked /
 * total overall and per subclass. Options:
 *   -v          findings of each misclassified request (missed attack, blocked benign)
 *   -a          findings of every request
 *   -rules      how often each rule fired on attacks and on benign requests
 *   -t N        threshold (default: the policy's, 5)
 *   -xml        split XML bodies (policy xml on)
 *   -bench N    time N rounds of waf_inspect over the benign requests and
 *               print ns per request (all, GET without body, JSON POST)
 *
 *   waf_eval -bench-file FILE [-bench N] [-a]   (repeatable, no corpus read)
 *               times waf_inspect on a raw HTTP/1.1 request read from FILE
 *               (request line, headers, blank line, body) and prints ns per
 *               request, best of 5 trials of N rounds (default 20000), and its
 *               verdict (-a: its findings). For instruction counts:
 *               valgrind --tool=callgrind --toggle-collect=waf_inspect ...
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"

struct req {
    char *id, *label, *cls, *sub;
    struct waf_request_view v;
    struct waf_header *h;
    char *mem[64];
    int nmem;
};

static char *read_field(struct req *q, size_t *len)
{
    size_t n;
    if (scanf("%zu", &n) != 1) return NULL;
    if (getchar() != '\n') return NULL;
    char *b = malloc(n + 1);
    if (b == NULL || fread(b, 1, n, stdin) != n) {
        free(b);
        return NULL;
    }
    b[n] = '\0';
    if (len) *len = n;
    if (q->nmem < 64) q->mem[q->nmem++] = b;
    return b;
}

static int read_req(struct req *q)
{
    memset(q, 0, sizeof *q);
    size_t l;
    if ((q->id = read_field(q, NULL)) == NULL) return 0;
    q->label = read_field(q, NULL);
    q->cls = read_field(q, NULL);
    q->sub = read_field(q, NULL);
    q->v.method = read_field(q, &q->v.method_len);
    q->v.target = read_field(q, &q->v.target_len);
    char *nh = read_field(q, NULL);
    if (!q->label || !q->cls || !q->sub || !q->v.method || !q->v.target || !nh) return 0;
    size_t n = strtoul(nh, NULL, 10);
    q->h = calloc(n ? n : 1, sizeof *q->h);
    for (size_t i = 0; i < n; i++) {
        size_t nl, vl, k; /* header fields live in q->h, freed by free_req */
        char *name;
        if (scanf("%zu", &k) != 1 || getchar() != '\n') return 0;
        name = malloc(k + 1);
        if (fread(name, 1, k, stdin) != k) return 0;
        name[k] = 0;
        nl = k;
        if (scanf("%zu", &k) != 1 || getchar() != '\n') return 0;
        char *val = malloc(k + 1);
        if (fread(val, 1, k, stdin) != k) return 0;
        val[k] = 0;
        vl = k;
        q->h[i] = (struct waf_header){name, nl, val, vl};
    }
    q->v.headers = q->h;
    q->v.nheaders = n;
    q->v.body = read_field(q, &l);
    q->v.body_len = l;
    return q->v.body != NULL;
}

static void free_req(struct req *q)
{
    for (size_t i = 0; i < q->v.nheaders; i++) {
        free((char *)q->h[i].name);
        free((char *)q->h[i].value);
    }
    free(q->h);
    for (int i = 0; i < q->nmem; i++)
        free(q->mem[i]);
}

struct tally {
    char name[40];
    int blocked, total;
};

static void count(struct tally *t, int *nt, const char *name, int blocked)
{
    for (int i = 0; i < *nt; i++)
        if (strcmp(t[i].name, name) == 0) {
            t[i].total++;
            t[i].blocked += blocked;
            return;
        }
    if (*nt >= 64) return;
    snprintf(t[*nt].name, sizeof t[*nt].name, "%s", name);
    t[*nt].total = 1;
    t[*nt].blocked = blocked;
    (*nt)++;
}

struct rulecount {
    unsigned rule;
    const char *reason;
    int attack, benign;
};

static void count_rules(struct rulecount *rc, int *nrc, const struct waf_report *rep,
                        int attack)
{
    for (size_t i = 0; i < rep->nfindings; i++) {
        const struct waf_finding *f = &rep->findings[i];
        int k;
        for (k = 0; k < *nrc && rc[k].rule != f->rule; k++) {
        }
        if (k == *nrc) {
            if (*nrc >= 512) continue;
            rc[k] = (struct rulecount){f->rule, f->reason, 0, 0};
            (*nrc)++;
        }
        if (attack)
            rc[k].attack++;
        else
            rc[k].benign++;
    }
}

static void print_report(const struct req *q, const struct waf_report *rep)
{
    printf("%s [%s%s%s] score %d: %.*s %.*s\n", q->id, q->cls, *q->sub ? "/" : "", q->sub,
           rep->score, (int)q->v.method_len, q->v.method,
           (int)(q->v.target_len > 100 ? 100 : q->v.target_len), q->v.target);
    for (size_t i = 0; i < rep->nfindings; i++) {
        const struct waf_finding *f = &rep->findings[i];
        printf("    %u %s +%d %s (%s): %s\n", f->rule, waf_class_name(f->cls), f->score,
               f->var, f->reason, f->excerpt);
    }
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID,
                  &ts); /* CPU time: other processes do not count */
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int is_json(const struct req *q)
{
    for (size_t i = 0; i < q->v.nheaders; i++)
        if (strcasecmp(q->h[i].name, "content-type") == 0 &&
            strstr(q->h[i].value, "json"))
            return 1;
    return 0;
}

/* A raw request file: "METHOD target HTTP/1.1", "Name: value" lines (LF or
 * CRLF), an empty line, the body (the rest of the file). */
static int load_raw(const char *path, struct req *q)
{
    memset(q, 0, sizeof *q);
    FILE *f = fopen(path, "rb");
    if (f == NULL) return -1;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    char *raw = malloc(n + 1);
    if (raw == NULL) return -1;
    memcpy(raw, buf, n);
    raw[n] = '\0';
    q->mem[q->nmem++] = raw;
    q->id = (char *)path;
    q->label = q->cls = (char *)"file";
    q->sub = (char *)"";
    q->h = calloc(64, sizeof *q->h);
    char *p = raw, *end = raw + n;
    for (int line = 0; p < end; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        size_t l = (size_t)(e - p) - (e > p && e[-1] == '\r');
        char *next = nl ? nl + 1 : end;
        if (line == 0) {
            char *sp1 = memchr(p, ' ', l), *sp2;
            if (sp1 == NULL) return -1;
            sp2 = memchr(sp1 + 1, ' ', (size_t)(p + l - sp1 - 1));
            q->v.method = p;
            q->v.method_len = (size_t)(sp1 - p);
            q->v.target = sp1 + 1;
            q->v.target_len = (size_t)((sp2 ? sp2 : p + l) - sp1 - 1);
        } else if (l == 0) {
            q->v.body = next;
            q->v.body_len = (size_t)(end - next);
            break;
        } else if (q->v.nheaders < 64) {
            char *colon = memchr(p, ':', l);
            if (colon == NULL) return -1;
            char *v = colon + 1;
            while (v < p + l && (*v == ' ' || *v == '\t'))
                v++;
            char *name = strndup(p, (size_t)(colon - p)),
                 *val = strndup(v, (size_t)(p + l - v));
            q->h[q->v.nheaders++] =
                (struct waf_header){name, strlen(name), val, strlen(val)};
        }
        p = next;
    }
    q->v.headers = q->h;
    if (q->v.body == NULL) q->v.body = "";
    return q->v.method ? 0 : -1;
}

/* -bench-file: ns per waf_inspect on one request, best of 5 trials. */
static int bench_file(const struct waf_policy *p, const char *path, int rounds, int all)
{
    struct req q;
    if (load_raw(path, &q) != 0) {
        fprintf(stderr, "%s: not a raw HTTP request\n", path);
        return 1;
    }
    struct waf_report rep;
    int blocked = waf_inspect(p, &q.v, 0, &rep);
    if (all) print_report(&q, &rep);
    for (int k = 0; k < rounds / 10 + 1; k++) /* warm-up */
        waf_inspect(p, &q.v, 0, &rep);
    double best = 1e18;
    for (int trial = 0; trial < 5; trial++) {
        double t0 = now_ns();
        for (int k = 0; k < rounds; k++)
            waf_inspect(p, &q.v, 0, &rep);
        double d = (now_ns() - t0) / rounds;
        if (d < best) best = d;
    }
    printf("%-40s %8.0f ns/request  %s (score %d, %zu body bytes)\n", path, best,
           blocked == 1 ? "BLOCKED" : "passed", rep.score, q.v.body_len);
    free_req(&q);
    return 0;
}

int main(int argc, char **argv)
{
    int verbose = 0, all = 0, rules = 0, threshold = 0, xml = 0, bench = 0;
    const char *files[16];
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v"))
            verbose = 1;
        else if (!strcmp(argv[i], "-a"))
            all = 1;
        else if (!strcmp(argv[i], "-rules"))
            rules = 1;
        else if (!strcmp(argv[i], "-xml"))
            xml = 1;
        else if (!strcmp(argv[i], "-t") && i + 1 < argc)
            threshold = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-bench") && i + 1 < argc)
            bench = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-bench-file") && i + 1 < argc && nfiles < 16)
            files[nfiles++] = argv[++i];
        else {
            fprintf(stderr,
                    "usage: corpus_feed.py [corpus] | %s [-v] [-a] [-rules] [-t N] "
                    "[-xml] [-bench N]\n       %s -bench-file FILE... [-bench N] [-a]\n",
                    argv[0], argv[0]);
            return 2;
        }
    }
    struct waf_policy *p = waf_policy_new();
    if (p == NULL) return 1;
    waf_policy_set_xml(p, xml);
    if (nfiles) {
        int rc = 0;
        for (int i = 0; i < nfiles; i++)
            rc |= bench_file(p, files[i], bench ? bench : 20000, all);
        waf_policy_free(p);
        return rc;
    }
    static struct tally att[64], ben[64];
    int natt = 0, nben = 0;
    static struct rulecount rc[512];
    int nrc = 0;
    struct req *keep = NULL;
    size_t nkeep = 0, capkeep = 0;
    struct req q;
    while (read_req(&q)) {
        struct waf_report rep;
        int blocked = waf_inspect(p, &q.v, threshold, &rep) == 1;
        int attack = strcmp(q.label, "attack") == 0;
        if (attack)
            count(att, &natt, q.cls, blocked);
        else
            count(ben, &nben, *q.sub ? q.sub : "(none)", blocked);
        if (rules) count_rules(rc, &nrc, &rep, attack);
        if (all || (verbose && blocked != attack)) print_report(&q, &rep);
        if (bench && !attack) {
            if (nkeep == capkeep) {
                capkeep = capkeep ? capkeep * 2 : 256;
                keep = realloc(keep, capkeep * sizeof *keep);
            }
            keep[nkeep++] = q;
        } else {
            free_req(&q);
        }
    }
    int ab = 0, at = 0, bb = 0, bt = 0;
    printf("%-20s %8s %8s %7s\n", "attack class", "blocked", "total", "rate");
    for (int i = 0; i < natt; i++) {
        printf("%-20s %8d %8d %6.1f%%\n", att[i].name, att[i].blocked, att[i].total,
               100.0 * att[i].blocked / att[i].total);
        ab += att[i].blocked;
        at += att[i].total;
    }
    printf("%-20s %8d %8d %6.1f%%\n\n", "ALL ATTACKS", ab, at, at ? 100.0 * ab / at : 0);
    printf("%-20s %8s %8s %7s\n", "benign subclass", "blocked", "total", "rate");
    for (int i = 0; i < nben; i++) {
        printf("%-20s %8d %8d %6.1f%%\n", ben[i].name, ben[i].blocked, ben[i].total,
               100.0 * ben[i].blocked / ben[i].total);
        bb += ben[i].blocked;
        bt += ben[i].total;
    }
    printf("%-20s %8d %8d %6.1f%%\n", "ALL BENIGN", bb, bt, bt ? 100.0 * bb / bt : 0);
    if (rules) {
        printf("\n%-8s %7s %7s  %s\n", "rule", "attack", "benign", "reason");
        for (int i = 0; i < nrc; i++)
            printf("%-8u %7d %7d  %s\n", rc[i].rule, rc[i].attack, rc[i].benign,
                   rc[i].reason);
    }
    if (bench && nkeep) {
        double t_all = 0, t_get = 0, t_json = 0, slow_t[5] = {0};
        size_t slow_i[5] = {0};
        size_t n_get = 0, n_json = 0;
        struct waf_report rep;
        for (size_t i = 0; i < nkeep; i++) { /* warm-up */
            waf_inspect(p, &keep[i].v, threshold, &rep);
        }
        for (size_t i = 0; i < nkeep; i++) {
            double dt = 1e18; /* best of 3 trials: the machine is shared */
            for (int trial = 0; trial < 3; trial++) {
                double t0 = now_ns();
                for (int k = 0; k < bench; k++)
                    waf_inspect(p, &keep[i].v, threshold, &rep);
                double d = (now_ns() - t0) / bench;
                if (d < dt) dt = d;
            }
            t_all += dt;
            for (int k = 0; k < 5; k++) /* the five slowest, for -v */
                if (dt > slow_t[k]) {
                    memmove(slow_t + k + 1, slow_t + k, (4 - (size_t)k) * sizeof *slow_t);
                    memmove(slow_i + k + 1, slow_i + k, (4 - (size_t)k) * sizeof *slow_i);
                    slow_t[k] = dt;
                    slow_i[k] = i;
                    break;
                }
            if (keep[i].v.body_len == 0 && strcmp(keep[i].v.method, "GET") == 0)
                t_get += dt, n_get++;
            if (is_json(&keep[i]) && keep[i].v.body_len) t_json += dt, n_json++;
        }
        printf("\nbench: %zu benign requests x %d rounds\n", nkeep, bench);
        printf("  all benign      %8.0f ns/request\n", t_all / nkeep);
        if (n_get)
            printf("  GET, no body    %8.0f ns/request (%zu)\n", t_get / n_get, n_get);
        if (n_json)
            printf("  JSON body       %8.0f ns/request (%zu)\n", t_json / n_json, n_json);
        if (verbose)
            for (int k = 0; k < 5 && slow_t[k] > 0; k++)
                printf("  slow: %8.0f ns %s (%zu body bytes)\n", slow_t[k],
                       keep[slow_i[k]].id, keep[slow_i[k]].v.body_len);
    }
    for (size_t i = 0; i < nkeep; i++)
        free_req(&keep[i]);
    free(keep);
    waf_policy_free(p);
    return 0;
}
