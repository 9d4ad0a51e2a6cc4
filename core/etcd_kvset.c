/* The sorted key set (etcd_kvset.h): binary search, insertion in place. A
 * prefix holds at most thousands of keys, changed one event at a time. */
#include "etcd_kvset.h"

#include <stdlib.h>
#include <string.h>

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c != 0 ? c : (alen > blen) - (alen < blen);
}

/* The index of key, or where it would go (*found = 0). */
static size_t find(const struct etcd_kvset *s, const char *key, size_t len, int *found)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = bytes_cmp(s->v[mid].key, s->v[mid].key_len, key, len);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static void kv_free(struct etcd_kv *kv)
{
    free(kv->key);
    free(kv->value);
}

const struct etcd_kv *etcd_kvset_get(const struct etcd_kvset *s, const char *key,
                                     size_t len)
{
    int found;
    size_t i = find(s, key, len, &found);
    return found ? &s->v[i] : NULL;
}

/* Room for cap entries: a range of thousands of keys grows the array a few
 * times, not once per key. */
static int grow(struct etcd_kvset *s, size_t cap)
{
    struct etcd_kv *n = realloc(s->v, cap * sizeof *n);
    if (n == NULL) return -1;
    s->v = n;
    s->cap = cap;
    return 0;
}

int etcd_kvset_put(struct etcd_kvset *s, char *key, size_t key_len, char *value,
                   size_t value_len)
{
    struct etcd_kv kv = {key, value, key_len, value_len};
    if (key == NULL || value == NULL) {
        kv_free(&kv);
        return -1;
    }
    int found;
    size_t i = find(s, key, key_len, &found);
    if (found) {
        kv_free(&s->v[i]);
        s->v[i] = kv;
        return 0;
    }
    if (s->n == s->cap && grow(s, s->cap ? 2 * s->cap : 16) != 0) {
        kv_free(&kv);
        return -1;
    }
    memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof *s->v);
    s->v[i] = kv;
    s->n++;
    return 0;
}

static char *dup_bytes(const char *p, size_t len)
{
    char *d = malloc(len + 1);
    if (d == NULL) return NULL;
    memcpy(d, p, len);
    d[len] = '\0';
    return d;
}

int etcd_kvset_put_copy(struct etcd_kvset *s, const char *key, size_t key_len,
                        const char *value, size_t value_len)
{
    return etcd_kvset_put(s, dup_bytes(key, key_len), key_len,
                          dup_bytes(value, value_len), value_len);
}

void etcd_kvset_delete(struct etcd_kvset *s, const char *key, size_t len)
{
    int found;
    size_t i = find(s, key, len, &found);
    if (!found) return;
    kv_free(&s->v[i]);
    memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
    s->n--;
}

int etcd_kvset_copy(struct etcd_kvset *to, const struct etcd_kvset *from)
{
    etcd_kvset_clear(to);
    if (from->n && grow(to, from->n) != 0) return -1;
    for (size_t i = 0; i < from->n; i++) { /* already in order: appended */
        const struct etcd_kv *f = &from->v[i];
        struct etcd_kv kv = {dup_bytes(f->key, f->key_len),
                             dup_bytes(f->value, f->value_len), f->key_len, f->value_len};
        if (kv.key == NULL || kv.value == NULL) {
            kv_free(&kv);
            return -1;
        }
        to->v[to->n++] = kv;
    }
    return 0;
}

int etcd_kvset_equal(const struct etcd_kvset *a, const struct etcd_kvset *b)
{
    if (a->n != b->n) return 0;
    for (size_t i = 0; i < a->n; i++)
        if (bytes_cmp(a->v[i].key, a->v[i].key_len, b->v[i].key, b->v[i].key_len) != 0 ||
            bytes_cmp(a->v[i].value, a->v[i].value_len, b->v[i].value,
                      b->v[i].value_len) != 0)
            return 0;
    return 1;
}

void etcd_kvset_clear(struct etcd_kvset *s)
{
    for (size_t i = 0; i < s->n; i++)
        kv_free(&s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
    s->cap = 0;
}
