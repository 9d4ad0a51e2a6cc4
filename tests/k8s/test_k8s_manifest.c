/*
 * tools/k8s/manifest.c: kubectl's YAML and JSON read through libyaml into
 * foyer-k8s's tree. Scalar types (a quoted "80" is a string, a plain 80 a
 * number), line numbers, Lists and multi-document streams, JSON as kubectl
 * prints it (escapes included), and the input errors: syntax with file:line,
 * repeated keys, documents that are not objects.
 */
#include "k8s.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* foyer-k8s's options, which manifest.c does not read (main.c defines them). */
struct opts opt;

static char dir[] = "/tmp/foyer-k8s-manifest-XXXXXX";
static char messages[8192];

/* Reads text as file `name`; what was said on stderr is in messages. */
static int read_text(const char *name, const char *text, struct objs *out)
{
    char path[512], errpath[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(errpath, sizeof errpath, "%s/stderr", dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
    memset(out, 0, sizeof *out);
    fflush(stderr);
    int saved = dup(2);
    CU_ASSERT_FATAL(freopen(errpath, "w", stderr) != NULL);
    int rc = manifest_read(path, "default", out);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *e = fopen(errpath, "r");
    size_t n = e ? fread(messages, 1, sizeof messages - 1, e) : 0;
    messages[n] = '\0';
    if (e) fclose(e);
    return rc;
}

static const struct kn *at(const struct kn *n, const char *path)
{
    char key[128];
    while (n && *path) {
        size_t len = strcspn(path, ".");
        snprintf(key, sizeof key, "%.*s", (int)len, path);
        n = key[0] >= '0' && key[0] <= '9'
                ? (n->type == KN_SEQ && (size_t)atoi(key) < n->n ? n->v[atoi(key)] : NULL)
                : kn_get(n, key);
        path += len + (path[len] == '.');
    }
    return n;
}

static void test_scalar_types(void)
{
    struct objs o;
    CU_ASSERT_EQUAL(read_text("t.yaml",
                              "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n"
                              "spec:\n  port: 80\n  quoted: \"80\"\n  yes: true\n"
                              "  no: 'false'\n  none: ~\n  empty:\n  float: -1.5e3\n"
                              "  version: 1.2.3\n",
                              &o),
                    0);
    CU_ASSERT_EQUAL_FATAL(o.n, 1);
    const struct kn *spec = kn_get(o.v[0].root, "spec");
    CU_ASSERT_EQUAL(at(spec, "port")->type, KN_NUM);
    CU_ASSERT_STRING_EQUAL(at(spec, "port")->s, "80");
    CU_ASSERT_EQUAL(at(spec, "quoted")->type, KN_STR);
    CU_ASSERT_EQUAL(at(spec, "yes")->type, KN_BOOL);
    CU_ASSERT_EQUAL(at(spec, "no")->type, KN_STR);
    CU_ASSERT_EQUAL(at(spec, "none")->type, KN_NULL);
    CU_ASSERT_EQUAL(at(spec, "empty")->type, KN_NULL);
    CU_ASSERT_EQUAL(at(spec, "float")->type, KN_NUM);
    CU_ASSERT_EQUAL(at(spec, "version")->type, KN_STR);
    CU_ASSERT_STRING_EQUAL(o.v[0].ns, "default"); /* none given */
    CU_ASSERT_EQUAL(at(spec, "quoted")->line, 7);
}

static void test_stream_and_lists(void)
{
    struct objs o;
    const char *text =
        "# a stream\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: x}\n"
        "---\n"
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: Service\n  metadata: {name: b}\n"
        "- apiVersion: networking.k8s.io/v1\n  kind: IngressList\n  items:\n"
        "  - {apiVersion: networking.k8s.io/v1, kind: Ingress, "
        "metadata: {name: c}}\n"
        "---\n# only a comment\n---\n";
    CU_ASSERT_EQUAL(read_text("s.yaml", text, &o), 0);
    CU_ASSERT_EQUAL_FATAL(o.n, 3);
    CU_ASSERT_STRING_EQUAL(o.v[0].name, "a");
    CU_ASSERT_STRING_EQUAL(o.v[0].ns, "x");
    CU_ASSERT_STRING_EQUAL(o.v[1].name, "b");
    CU_ASSERT_STRING_EQUAL(o.v[2].kind, "Ingress");
    CU_ASSERT_EQUAL(o.v[2].line, 15);
    CU_ASSERT_EQUAL(messages[0], '\0');
}

/* kubectl -o json: 4-space indents, Go's escapes (\u0026 for &), and \/ which JSON
 * allows. */
static void test_kubectl_json(void)
{
    struct objs o;
    const char *text =
        "{\n    \"apiVersion\": \"v1\",\n    \"kind\": \"List\",\n"
        "    \"items\": [\n        {\n"
        "            \"apiVersion\": \"v1\",\n            \"kind\": \"Service\",\n"
        "            \"metadata\": {\"name\": \"j\", \"annotations\": "
        "{\"note\": \"a \\u0026 b \\u003c \\u00e9\\/\\\"q\\\"\"}},\n"
        "            \"spec\": {\"ports\": [{\"port\": 8080, \"name\": \"\"}],"
        "\"x\":true}\n"
        "        }\n    ]\n}\n";
    CU_ASSERT_EQUAL(read_text("l.json", text, &o), 0);
    CU_ASSERT_EQUAL_FATAL(o.n, 1);
    const struct kn *root = o.v[0].root;
    CU_ASSERT_STRING_EQUAL(at(root, "metadata.annotations.note")->s,
                           "a & b < \xc3\xa9/\"q\"");
    CU_ASSERT_EQUAL(at(root, "spec.ports.0.port")->type, KN_NUM);
    CU_ASSERT_EQUAL(at(root, "spec.ports.0.name")->type, KN_STR);
    CU_ASSERT_EQUAL(at(root, "spec.x")->type, KN_BOOL);
    CU_ASSERT_EQUAL(at(root, "spec")->line, 9);
}

static void test_errors(void)
{
    struct objs o;
    CU_ASSERT_EQUAL(read_text("e1.yaml", "apiVersion: v1\nkind: [a\nmetadata: {}\n", &o),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(messages, "e1.yaml:3: error: "));
    CU_ASSERT_EQUAL(
        read_text("e2.yaml", "apiVersion: v1\nkind: Service\nkind: Pod\n", &o), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(messages, "e2.yaml:3: error: key 'kind' given twice"));
    CU_ASSERT_EQUAL(read_text("e3.yaml", "metadata: {name: x}\n", &o), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(messages, "e3.yaml:1: error: not a Kubernetes object"));
    CU_ASSERT_EQUAL(read_text("e4.yaml", "apiVersion: v1\nkind: Service\n", &o), -1);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(messages, "e4.yaml:1: error: Service without metadata.name"));
    /* a UTF-16 surrogate pair escape: JSON allows it, libyaml does not (and
     * kubectl writes such characters as UTF-8) */
    CU_ASSERT_EQUAL(
        read_text("e5.json", "{\"apiVersion\": \"v1\", \"x\": \"\\ud83d\\ude00\"}\n", &o),
        -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(messages, "e5.json:1: error: "));
}

int main(void)
{
    if (mkdtemp(dir) == NULL) return 1;
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_pSuite s = CU_add_suite("k8s-manifest", NULL, NULL);
    CU_add_test(s, "scalar_types", test_scalar_types);
    CU_add_test(s, "stream_and_lists", test_stream_and_lists);
    CU_add_test(s, "kubectl_json", test_kubectl_json);
    CU_add_test(s, "errors", test_errors);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
    CU_cleanup_registry();
    k8s_arena_free();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    return failed ? 1 : 0;
}
