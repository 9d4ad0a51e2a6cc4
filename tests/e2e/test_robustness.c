/*
 * Replays the shared HTTP/1.1 robustness corpus against foyer with
 * $FOYER_SHARED/tools/http-robustness.py: the tool runs its own strict
 * recording backend, foyer routes everything to it, every case must pass.
 * Skipped (exit 77, automake's SKIP) when ../shared is not there.
 */
#include "harness.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOOL "/tools/http-robustness.py"

static char tool_path[4096];

/* Reports every FAIL line (with the -v explanation lines under it). */
static int report_failures(const char *out)
{
    int nfail = 0;
    const char *line = out;
    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 40 && memmem(line, len, " FAIL ", 6)) {
            nfail++;
            char why[600] = "";
            const char *next = end ? end + 1 : NULL;
            if (next && strncmp(next, "       ", 7) == 0) {
                const char *wend = strchr(next, '\n');
                snprintf(why, sizeof(why), "%.*s", (int)(wend ? wend - next : 300), next + 7);
            }
            CHECKF(false, "robustness case failed: %.*s | %s", (int)(len > 200 ? 200 : len), line,
                   why);
        }
        line = end ? end + 1 : NULL;
    }
    return nfail;
}

E2E_TEST(robustness_corpus, 900)
{
    int rec_port = e2e_free_port();
    struct e2e_foyer f;
    e2e_foyer_start_simple(&f, "", rec_port);
    char proxy[64], backend[64];
    snprintf(proxy, sizeof(proxy), "127.0.0.1:%d", f.port);
    snprintf(backend, sizeof(backend), "127.0.0.1:%d", rec_port);
    const char *outpath = e2e_path("robustness.out");
    int out = open(outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE(out >= 0);
    char *argv[] = {"/usr/bin/env", "python3", tool_path, "--proxy", proxy, "--backend", backend,
                    "-v", NULL};
    pid_t pid = e2e_spawn(argv, out, out);
    close(out);
    int rc = e2e_wait(pid, 850 * 1000);
    char *text = e2e_read_file(outpath);
    REQUIREF(rc == 0, "http-robustness.py exited %d: %.2000s", rc, text ? text : "");
    REQUIRE(text != NULL);
    unsigned cases = 0, pass = 0;
    const char *sum = strstr(text, " cases: ");
    while (sum > text && sum[-1] >= '0' && sum[-1] <= '9')
        sum--;
    REQUIREF(sum && sscanf(sum, "%u cases: %u pass", &cases, &pass) == 2,
             "no summary line in the tool's output");
    e2e_log("robustness corpus: %u/%u pass", pass, cases);
    int listed = report_failures(text);
    CHECKF(cases > 0 && pass == cases, "%u of %u robustness cases failed (%d listed)",
           cases - pass, cases, listed);
    free(text);
    e2e_foyer_stop(&f, 5000);
}

int main(void)
{
    /* Only what make check sets counts here: no guessing of ../shared. */
    const char *shared = getenv("FOYER_SHARED");
    if (!shared || !*shared) {
        printf("SKIP: FOYER_SHARED is not set\n");
        return 77;
    }
    snprintf(tool_path, sizeof(tool_path), "%s%s", shared, TOOL);
    if (access(tool_path, R_OK) != 0) {
        printf("SKIP: %s not found (no ../shared here)\n", tool_path);
        return 77;
    }
    if (system("python3 -c '' >/dev/null 2>&1") != 0) {
        printf("SKIP: python3 is not available\n");
        return 77;
    }
    static const struct e2e_case cases[] = {E2E_CASE(robustness_corpus)};
    return e2e_run_suite("e2e-robustness", cases, sizeof(cases) / sizeof(cases[0]));
}
