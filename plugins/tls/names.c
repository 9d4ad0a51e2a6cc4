/* The SNI table: a sorted array of names, looked up by binary search. A
 * client's name is tried as it is, then as the wildcard of its parent
 * ("a.example.com" → "*.example.com"): a wildcard covers exactly one label,
 * never the bare parent and never two labels (RFC 6125 6.4.3). */
#include "tls.h"

#include <stdlib.h>
#include <string.h>

#define TLS_NAME_MAX 255 /* a DNS name */

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int tls_names_add(struct tls_names *t, const char *name, unsigned set)
{
    size_t len = strlen(name);
    if (len == 0 || len > TLS_NAME_MAX) return 0; /* never matches a client's name */
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct tls_name *v = realloc(t->v, cap * sizeof *v);
        if (v == NULL) return -1;
        t->v = v;
        t->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) return -1;
    for (size_t i = 0; i <= len; i++)
        copy[i] = (char)lower((unsigned char)name[i]);
    if (len > 1 && copy[len - 1] == '.') copy[len - 1] = '\0'; /* absolute form */
    t->v[t->n].name = copy;
    t->v[t->n].set = set;
    t->n++;
    return 0;
}

static int by_name_then_set(const void *a, const void *b)
{
    const struct tls_name *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c != 0) return c;
    return x->set < y->set ? -1 : x->set > y->set;
}

void tls_names_finish(struct tls_names *t)
{
    if (t->n == 0) return;
    qsort(t->v, t->n, sizeof *t->v, by_name_then_set);
    size_t out = 1;
    for (size_t i = 1; i < t->n; i++) {
        if (strcmp(t->v[i].name, t->v[out - 1].name) == 0) {
            free(t->v[i]
                     .name); /* a later certificate with the same name: the first wins */
            continue;
        }
        t->v[out++] = t->v[i];
    }
    t->n = out;
}

static int lookup(const struct tls_names *t, const char *name)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, t->v[mid].name);
        if (c == 0) return (int)t->v[mid].set;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

int tls_names_find(const struct tls_names *t, const char *sni)
{
    char name[TLS_NAME_MAX + 2];
    size_t len = 0;
    if (sni == NULL || t->n == 0) return -1;
    for (; sni[len] != '\0'; len++) {
        if (len > TLS_NAME_MAX) return -1;
        name[len] = (char)lower((unsigned char)sni[len]);
    }
    if (len > 1 && name[len - 1] == '.') len--;
    name[len] = '\0';
    if (len == 0) return -1;
    int set = lookup(t, name);
    if (set >= 0) return set;
    char *dot = strchr(name, '.');
    if (dot == NULL || dot == name || dot[1] == '\0')
        return -1; /* no parent to wildcard */
    dot[-1] = '*';
    return lookup(t, dot - 1);
}

void tls_names_free(struct tls_names *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].name);
    free(t->v);
    memset(t, 0, sizeof *t);
}
