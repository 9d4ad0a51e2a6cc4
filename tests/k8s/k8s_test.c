/* Helpers of the foyer-k8s tests (k8s_test.h). */
#include "k8s_test.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *k8s_bin(void)
{
    static char path[PATH_MAX];
    const char *env = getenv("FOYER_K8S");
    if (env && *env) return env;
    const char *bin = e2e_env("FOYER_BIN");
    const char *slash = strrchr(bin, '/');
    snprintf(path, sizeof(path), "%.*s/foyer-k8s", slash ? (int)(slash - bin) : 1,
             slash ? bin : ".");
    return path;
}

int k8s_run(char *out, size_t outlen, const char *arg, ...)
{
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)k8s_bin();
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a && n < 63; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    char cwd[PATH_MAX];
    REQUIRE(getcwd(cwd, sizeof(cwd)) != NULL);
    REQUIRE(chdir(e2e_tmpdir()) == 0);
    int rc = e2e_run(argv, out, outlen, 30000);
    REQUIRE(chdir(cwd) == 0);
    e2e_log("foyer-k8s exit %d:\n%s", rc, out);
    return rc;
}

/* ---- YAML ------------------------------------------------------------------------ */

/* Scalars: strings double-quoted (JSON escapes are YAML's), numbers as they are. */
static void y_scalar(FILE *f, const struct e2e_json *v)
{
    switch (v->type) {
    case EJ_NULL:
        fputs("null", f);
        break;
    case EJ_BOOL:
        fputs(v->b ? "true" : "false", f);
        break;
    case EJ_NUM:
        fprintf(f, "%.17g", v->num);
        break;
    case EJ_STR:
        e2e_json_write(f, v);
        break;
    case EJ_ARR:
        fputs("[]", f);
        break; /* only when empty */
    case EJ_OBJ:
        fputs("{}", f);
        break;
    }
}

static bool y_block(const struct e2e_json *v)
{
    return (v->type == EJ_ARR || v->type == EJ_OBJ) && v->n > 0;
}

static void y_seq(FILE *f, const struct e2e_json *s, int ind);

/* A mapping's entries at indentation ind; the first on the current line when
 * it follows "- ". */
static void y_map(FILE *f, const struct e2e_json *m, int ind, bool first_inline)
{
    for (size_t i = 0; i < m->n; i++) {
        if (i > 0 || !first_inline) fprintf(f, "%*s", ind, "");
        fprintf(f, "%s:", m->keys[i]);
        const struct e2e_json *v = m->items[i];
        if (!y_block(v)) {
            fputc(' ', f);
            y_scalar(f, v);
            fputc('\n', f);
        } else if (v->type == EJ_OBJ) {
            fputc('\n', f);
            y_map(f, v, ind + 2, false);
        } else {
            fputc('\n', f);
            y_seq(f, v, ind);
        }
    }
}

static void y_seq(FILE *f, const struct e2e_json *s, int ind)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct e2e_json *v = s->items[i];
        fprintf(f, "%*s- ", ind, "");
        if (!y_block(v)) {
            y_scalar(f, v);
            fputc('\n', f);
        } else if (v->type == EJ_OBJ) {
            y_map(f, v, ind + 2, true);
        } else {
            fputc('\n', f);
            y_seq(f, v, ind + 2);
        }
    }
}

void k8s_write_yaml(FILE *f, const struct e2e_json *docs)
{
    for (size_t i = 0; i < docs->n; i++) {
        fputs("---\n", f);
        y_map(f, docs->items[i], 0, false);
    }
}

/* ---- foyer ----------------------------------------------------------------------- */

char *k8s_read(const char *dir, const char *name)
{
    char rel[512];
    snprintf(rel, sizeof(rel), "%s/%s", dir, name);
    return e2e_read_file(e2e_path(rel));
}

void k8s_foyer_start(struct e2e_foyer *f, const char *dir, int port, const char *prelude)
{
    char *conf = k8s_read(dir, "foyer.lua");
    REQUIREF(conf != NULL, "foyer-k8s wrote no %s/foyer.lua", dir);
    size_t len = strlen(prelude) + strlen(conf) + 2;
    char *text = malloc(len), name[512];
    REQUIRE(text != NULL);
    snprintf(text, len, "%s\n%s", prelude, conf);
    snprintf(name, sizeof(name), "%s/foyer.lua", dir);
    e2e_foyer_start_conf(f, name, port, text, NULL);
    free(text);
    free(conf);
}
