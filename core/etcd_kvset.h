/* A sorted set of etcd keys and their values (bytes, not NUL-safe: lengths
 * kept), as the master mirrors what lies under its prefix. */
#ifndef FOYER_ETCD_KVSET_H
#define FOYER_ETCD_KVSET_H

#include <stddef.h>

struct etcd_kv {
    char *key, *value; /* malloc'd, NUL-terminated too */
    size_t key_len, value_len;
};

struct etcd_kvset {
    struct etcd_kv *v; /* sorted by key bytes */
    size_t n;
    size_t cap; /* entries v has room for */
};

/* The entry for key, NULL if none. */
const struct etcd_kv *etcd_kvset_get(const struct etcd_kvset *s, const char *key,
                                     size_t len);
/* Sets key to value; both are taken (malloc'd) whatever happens. -1: no memory. */
int etcd_kvset_put(struct etcd_kvset *s, char *key, size_t key_len, char *value,
                   size_t value_len);
/* The same with copies of key and value. */
int etcd_kvset_put_copy(struct etcd_kvset *s, const char *key, size_t key_len,
                        const char *value, size_t value_len);
void etcd_kvset_delete(struct etcd_kvset *s, const char *key, size_t len);
/* A deep copy into *to (cleared first); -1: no memory. */
int etcd_kvset_copy(struct etcd_kvset *to, const struct etcd_kvset *from);
int etcd_kvset_equal(const struct etcd_kvset *a, const struct etcd_kvset *b);
void etcd_kvset_clear(struct etcd_kvset *s);

#endif
