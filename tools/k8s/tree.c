/* The small tree: YAML/JSON values read from manifests, and the router tables
 * built from them. All of it lives in one arena freed at exit, because the
 * program is a filter: read everything, write the output, exit. */
#include "k8s.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK (256 * 1024)

struct block {
    struct block *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
};

static struct block *blocks;

static void out_of_memory(void)
{
    fprintf(stderr, "foyer-k8s: out of memory\n");
    exit(2);
}

void *k8s_alloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (blocks == NULL || blocks->size - blocks->used < n) {
        size_t size = n > BLOCK ? n : BLOCK;
        struct block *b = malloc(sizeof *b + size);
        if (b == NULL) out_of_memory();
        b->next = blocks;
        b->used = 0;
        b->size = size;
        blocks = b;
    }
    void *p = blocks->data + blocks->used;
    blocks->used += n;
    memset(p, 0, n);
    return p;
}

void k8s_arena_free(void)
{
    while (blocks != NULL) {
        struct block *next = blocks->next;
        free(blocks);
        blocks = next;
    }
}

char *k8s_strndup(const char *s, size_t n)
{
    char *p = k8s_alloc(n + 1);
    memcpy(p, s, n);
    return p;
}

char *k8s_strdup(const char *s)
{
    return k8s_strndup(s, strlen(s));
}

char *k8s_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = k8s_alloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

struct kn *kn_new(enum kn_type t, unsigned line)
{
    struct kn *n = k8s_alloc(sizeof *n);
    n->type = t;
    n->line = line;
    return n;
}

struct kn *kn_string(const char *s)
{
    struct kn *n = kn_new(KN_STR, 0);
    n->s = s;
    return n;
}

struct kn *kn_number(long v)
{
    struct kn *n = kn_new(KN_NUM, 0);
    n->s = k8s_printf("%ld", v);
    return n;
}

/* Arena memory cannot be realloc'ed: grow by copying (the old block is left
 * behind, which doubling keeps to the size of the final one). */
static void grow(struct kn *n)
{
    size_t cap = n->cap ? n->cap * 2 : 4;
    struct kn **v = k8s_alloc(cap * sizeof *v);
    if (n->n) memcpy(v, n->v, n->n * sizeof *v);
    n->v = v;
    if (n->type == KN_MAP) {
        const char **k = k8s_alloc(cap * sizeof *k);
        unsigned *kl = k8s_alloc(cap * sizeof *kl);
        if (n->n) {
            memcpy(k, n->k, n->n * sizeof *k);
            memcpy(kl, n->kline, n->n * sizeof *kl);
        }
        n->k = k;
        n->kline = kl;
    }
    n->cap = cap;
}

void kn_push(struct kn *seq, struct kn *v)
{
    if (seq->n == seq->cap) grow(seq);
    seq->v[seq->n++] = v;
}

void kn_set(struct kn *map, const char *key, struct kn *v)
{
    if (map->n == map->cap) grow(map);
    map->k[map->n] = key;
    map->kline[map->n] = v->line;
    map->v[map->n++] = v;
}

struct kn *kn_get(const struct kn *map, const char *key)
{
    if (map == NULL || map->type != KN_MAP) return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->k[i], key) == 0) return map->v[i];
    return NULL;
}

int kn_is_scalar(const struct kn *n)
{
    return n != NULL && n->type != KN_SEQ && n->type != KN_MAP;
}

const char *kn_text(const struct kn *n)
{
    return kn_is_scalar(n) && n->type != KN_NULL ? n->s : NULL;
}

size_t kn_len(const struct kn *seq)
{
    return seq != NULL && seq->type == KN_SEQ ? seq->n : 0;
}

struct kn *kn_pair(const char *k1, const char *v1, const char *k2, const char *v2)
{
    struct kn *m = kn_new(KN_MAP, 0);
    kn_set(m, k1, kn_string(v1));
    if (k2 != NULL) kn_set(m, k2, kn_string(v2));
    return m;
}

struct kn *kn_key(const struct kn *map, const char *key)
{
    if (map == NULL || map->type != KN_MAP) return NULL;
    for (size_t i = 0; i < map->n; i++) {
        if (strcmp(map->k[i], key) != 0) continue;
        struct kn *at = kn_new(KN_NULL, map->kline[i]);
        return at;
    }
    return NULL;
}
