/* Objects by kind, namespace and name, and EndpointSlices by the Service they
 * belong to: a hash table each, so a cluster's worth of Services is looked up
 * in constant time per backend reference. */
#include "k8s.h"

#include <stdlib.h>
#include <string.h>

struct entry {
    const char *key;
    const struct obj **v; /* the objects under key, in input order */
    size_t n, cap;
};

struct table {
    struct entry *e;
    size_t size; /* a power of two, at least twice the entries */
};

static struct table by_name, slices, kinds;

static size_t hash(const char *s)
{
    size_t h = 14695981039346656037ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct entry *slot(struct table *t, const char *key)
{
    size_t i = hash(key) & (t->size - 1);
    while (t->e[i].key != NULL && strcmp(t->e[i].key, key) != 0)
        i = (i + 1) & (t->size - 1);
    return &t->e[i];
}

static void table_init(struct table *t, size_t n)
{
    t->size = 16;
    while (t->size < 2 * n + 2)
        t->size *= 2;
    t->e = k8s_alloc(t->size * sizeof *t->e);
}

static void table_add(struct table *t, const char *key, const struct obj *o)
{
    struct entry *e = slot(t, key);
    e->key = key;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 2;
        const struct obj **v = k8s_alloc(cap * sizeof *v);
        if (e->n) memcpy(v, e->v, e->n * sizeof *v);
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n++] = o;
}

static const char *slice_service(const struct obj *o)
{
    const struct kn *v = kn_get(kn_get(kn_get(o->root, "metadata"), "labels"),
                                "kubernetes.io/service-name");
    return v != NULL && v->type == KN_STR ? v->s : NULL;
}

/* Gateway API's order for conflicts: the oldest first, then by namespace/name;
 * objects without a creationTimestamp (hand-written) sort by name alone. */
static int precedence(const void *pa, const void *pb)
{
    const struct obj *a = *(const struct obj *const *)pa,
                     *b = *(const struct obj *const *)pb;
    int c = strcmp(a->created, b->created);
    if (c == 0) c = strcmp(a->ns, b->ns);
    if (c == 0) c = strcmp(a->name, b->name);
    return c != 0 ? c : (a->seq < b->seq ? -1 : a->seq > b->seq);
}

void index_build(const struct objs *all)
{
    table_init(&by_name, all->n);
    table_init(&slices, all->n);
    table_init(&kinds, 64);
    for (size_t i = 0; i < all->n; i++) {
        const struct obj *o = &all->v[i];
        table_add(&by_name, k8s_printf("%s/%s/%s", o->kind, o->ns, o->name), o);
        table_add(&kinds, o->kind, o);
        const char *svc = strcmp(o->kind, "EndpointSlice") == 0 ? slice_service(o) : NULL;
        if (svc != NULL) table_add(&slices, k8s_printf("%s/%s", o->ns, svc), o);
    }
    for (size_t i = 0; i < kinds.size; i++)
        if (kinds.e[i].key != NULL)
            qsort(kinds.e[i].v, kinds.e[i].n, sizeof *kinds.e[i].v, precedence);
}

/* A name given twice keeps the first object: the one kubectl would have kept is
 * unknowable, and main() reports the duplicate. */
const struct obj *index_find(const char *kind, const char *ns, const char *name)
{
    if (by_name.e == NULL) return NULL;
    const struct entry *e = slot(&by_name, k8s_printf("%s/%s/%s", kind, ns, name));
    return e->n ? e->v[0] : NULL;
}

size_t index_slices(const char *ns, const char *service, const struct obj ***out)
{
    const struct entry *e = slot(&slices, k8s_printf("%s/%s", ns, service));
    *out = e->v;
    return e->n;
}

size_t index_kind(const char *kind, const struct obj ***out)
{
    const struct entry *e = slot(&kinds, kind);
    *out = e->v;
    return e->n;
}
