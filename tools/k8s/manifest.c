/* Manifests as kubectl prints them: `-o yaml` (one object, a List, or a stream of
 * documents separated by ---) and `-o json`, both read with libyaml. JSON is YAML
 * 1.2 for everything kubectl prints (Go's encoder writes UTF-8 as it is and
 * escapes only <, >, &, U+2028 and U+2029, which libyaml reads); what libyaml
 * does not take is a \uD83D\uDE00 surrogate pair, which kubectl never writes.
 * Being YAML, JSON input is read leniently: a value left out before '}' is null.
 *
 * Scalars are typed the YAML 1.2 core-schema way: plain null/~/empty, true/false
 * and numbers; anything quoted is a string. */
#include "k8s.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

struct reader {
    const char *file;
    const char *default_ns;
    yaml_document_t doc;
    struct objs *out;
    int failed;
};

static int is_number(const char *s)
{
    const char *p = s;
    if (*p == '-' || *p == '+') p++;
    int digits = 0, dot = 0;
    for (; *p && *p != 'e' && *p != 'E'; p++) {
        if (*p == '.' && !dot++) continue;
        if (*p < '0' || *p > '9') return 0;
        digits++;
    }
    if (!digits) return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+') p++;
        if (*p == '\0') return 0;
        for (; *p; p++)
            if (*p < '0' || *p > '9') return 0;
    }
    return 1;
}

static enum kn_type plain_type(const char *s)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    static const char *const bools[] = {"true",  "True",  "TRUE",
                                        "false", "False", "FALSE"};
    for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++)
        if (strcmp(s, nulls[i]) == 0) return KN_NULL;
    for (size_t i = 0; i < sizeof bools / sizeof *bools; i++)
        if (strcmp(s, bools[i]) == 0) return KN_BOOL;
    return is_number(s) ? KN_NUM : KN_STR;
}

static struct kn *convert(struct reader *r, yaml_node_t *y, int depth);

static struct kn *convert_scalar(yaml_node_t *y)
{
    const char *text = (const char *)y->data.scalar.value;
    char *s = k8s_strndup(text, y->data.scalar.length);
    enum kn_type t =
        y->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? plain_type(s) : KN_STR;
    struct kn *n = kn_new(t, (unsigned)y->start_mark.line + 1);
    n->s = t == KN_BOOL ? (s[0] == 't' || s[0] == 'T' ? "true" : "false") : s;
    return n;
}

static struct kn *convert_seq(struct reader *r, yaml_node_t *y, int depth)
{
    struct kn *n = kn_new(KN_SEQ, (unsigned)y->start_mark.line + 1);
    for (yaml_node_item_t *i = y->data.sequence.items.start;
         i < y->data.sequence.items.top; i++) {
        struct kn *v = convert(r, yaml_document_get_node(&r->doc, *i), depth + 1);
        if (v == NULL) return NULL;
        kn_push(n, v);
    }
    return n;
}

/* Keys are strings; a repeated key is an error (which of the two counts would be a
 * guess). */
static struct kn *convert_map(struct reader *r, yaml_node_t *y, int depth)
{
    struct kn *n = kn_new(KN_MAP, (unsigned)y->start_mark.line + 1);
    for (yaml_node_pair_t *p = y->data.mapping.pairs.start; p < y->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(&r->doc, p->key);
        unsigned kl = (unsigned)k->start_mark.line + 1;
        if (k->type != YAML_SCALAR_NODE) {
            diag_file(r->file, kl, "a mapping key must be a scalar");
            return NULL;
        }
        const char *key =
            k8s_strndup((const char *)k->data.scalar.value, k->data.scalar.length);
        if (kn_get(n, key) != NULL) {
            diag_file(r->file, kl, "key '%s' given twice", key);
            return NULL;
        }
        struct kn *v = convert(r, yaml_document_get_node(&r->doc, p->value), depth + 1);
        if (v == NULL) return NULL;
        kn_set(n, key, v);
        n->kline[n->n - 1] = kl;
    }
    return n;
}

static struct kn *convert(struct reader *r, yaml_node_t *y, int depth)
{
    if (depth > 200) { /* aliases can build deep trees; manifests are not deep */
        diag_file(r->file, (unsigned)y->start_mark.line + 1, "nested too deeply");
        return NULL;
    }
    switch (y->type) {
    case YAML_SCALAR_NODE:
        return convert_scalar(y);
    case YAML_SEQUENCE_NODE:
        return convert_seq(r, y, depth);
    case YAML_MAPPING_NODE:
        return convert_map(r, y, depth);
    default:
        diag_file(r->file, (unsigned)y->start_mark.line + 1, "empty node");
        return NULL;
    }
}

static const char *meta_str(const struct kn *root, const char *key)
{
    const struct kn *v = kn_get(kn_get(root, "metadata"), key);
    return v != NULL && v->type == KN_STR ? v->s : NULL;
}

static int add_object(struct reader *r, const struct kn *root);

/* A List (kind List, or FooList as the API server names them): its items. */
static int add_list(struct reader *r, const struct kn *items)
{
    int rc = 0;
    for (size_t i = 0; i < items->n; i++)
        if (add_object(r, items->v[i]) != 0) rc = -1;
    return rc;
}

static int add_object(struct reader *r, const struct kn *root)
{
    const struct kn *kind = kn_get(root, "kind"), *api = kn_get(root, "apiVersion");
    if (root->type != KN_MAP || kind == NULL || kind->type != KN_STR || api == NULL ||
        api->type != KN_STR) {
        diag_file(r->file, root->line,
                  "not a Kubernetes object (no kind and apiVersion)");
        return -1;
    }
    size_t klen = strlen(kind->s);
    const struct kn *items = kn_get(root, "items");
    if (klen >= 4 && strcmp(kind->s + klen - 4, "List") == 0 && items != NULL &&
        items->type == KN_SEQ)
        return add_list(r, items);
    const char *name = meta_str(root, "name"), *ns = meta_str(root, "namespace");
    if (name == NULL || *name == '\0') {
        diag_file(r->file, root->line, "%s without metadata.name", kind->s);
        return -1;
    }
    struct objs *o = r->out;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 64;
        struct obj *v = k8s_alloc(cap * sizeof *v);
        if (o->n) memcpy(v, o->v, o->n * sizeof *v);
        o->v = v;
        o->cap = cap;
    }
    const char *created = meta_str(root, "creationTimestamp");
    o->v[o->n] = (struct obj){.file = r->file,
                              .api = api->s,
                              .kind = kind->s,
                              .ns = ns && *ns ? ns : r->default_ns,
                              .name = name,
                              .created = created ? created : "",
                              .root = root,
                              .line = root->line,
                              .seq = o->n};
    o->n++;
    return 0;
}

static int read_document(struct reader *r)
{
    yaml_node_t *root = yaml_document_get_root_node(&r->doc);
    /* A stream ending in --- has an empty last document; so may one with only
     * comments. */
    if (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0) return 0;
    struct kn *tree = convert(r, root, 0);
    if (tree == NULL) return -1;
    return add_object(r, tree);
}

/* libyaml's "while parsing a flow sequence" context names where that started. */
static void syntax_error(const struct reader *r, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "syntax error";
    unsigned line = (unsigned)p->problem_mark.line + 1;
    size_t col = p->problem_mark.column + 1;
    if (p->context && strncmp(p->context, "while parsing ", 14) == 0)
        diag_file(r->file, line, "%s (column %zu), in %s started at line %zu", problem,
                  col, p->context + 14, p->context_mark.line + 1);
    else
        diag_file(r->file, line, "%s (column %zu)%s%s", problem, col,
                  p->context ? ", " : "", p->context ? p->context : "");
}

static int parse_stream(struct reader *r, yaml_parser_t *p)
{
    for (;;) {
        if (!yaml_parser_load(p, &r->doc)) {
            syntax_error(r, p);
            return -1;
        }
        if (yaml_document_get_root_node(&r->doc) == NULL) {
            yaml_document_delete(&r->doc);
            return r->failed ? -1 : 0;
        }
        if (read_document(r) != 0) r->failed = 1;
        yaml_document_delete(&r->doc);
    }
}

int manifest_read(const char *file, const char *default_ns, struct objs *out)
{
    int from_stdin = strcmp(file, "-") == 0;
    FILE *f = from_stdin ? stdin : fopen(file, "rb");
    if (f == NULL) {
        diag_file(file, 0, "%s", strerror(errno));
        return -1;
    }
    struct reader r = {
        .file = from_stdin ? "<stdin>" : file, .default_ns = default_ns, .out = out};
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    int rc = parse_stream(&r, &p);
    yaml_parser_delete(&p);
    if (!from_stdin) fclose(f);
    return rc;
}
