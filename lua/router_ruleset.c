/* Storage of a compiled rule set: growable flat arrays, an arena for strings
 * (interned, so 100k rules naming ten services hold ten names) and static
 * decision parts, service slots, regexes; and the compile-time string map. */
#include "pool.h"
#include "router_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RS_POOL_BLOCK (256 * 1024)
#define RS_STR_CHUNK (32 * 1024)

/* ---- string map ------------------------------------------------------------------- */

struct rt_strmap_slot {
    const char *key;
    uint32_t len, hash, value;
};

struct rt_strmap {
    struct rt_strmap_slot *slots;
    uint32_t mask, used;
};

static uint32_t fnv1a(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

struct rt_strmap *rt_strmap_new(void)
{
    struct rt_strmap *m = calloc(1, sizeof *m);
    if (m == NULL) return NULL;
    m->slots = calloc(64, sizeof *m->slots);
    if (m->slots == NULL) {
        free(m);
        return NULL;
    }
    m->mask = 63;
    return m;
}

void rt_strmap_free(struct rt_strmap *m)
{
    if (m == NULL) return;
    free(m->slots);
    free(m);
}

static struct rt_strmap_slot *find_slot(const struct rt_strmap *m, const char *key,
                                        size_t len, uint32_t hash)
{
    for (uint32_t i = hash & m->mask;; i = (i + 1) & m->mask) {
        struct rt_strmap_slot *s = &m->slots[i];
        if (s->key == NULL) return s;
        if (s->hash == hash && s->len == len && memcmp(s->key, key, len) == 0) return s;
    }
}

static int strmap_grow(struct rt_strmap *m)
{
    uint32_t size = (m->mask + 1) * 2;
    struct rt_strmap_slot *old = m->slots, *n = calloc(size, sizeof *n);
    if (n == NULL) return -1;
    uint32_t oldsize = m->mask + 1;
    m->slots = n;
    m->mask = size - 1;
    for (uint32_t i = 0; i < oldsize; i++)
        if (old[i].key != NULL)
            *find_slot(m, old[i].key, old[i].len, old[i].hash) = old[i];
    free(old);
    return 0;
}

const char *rt_strmap_key(const struct rt_strmap *m, const char *key, size_t len)
{
    return find_slot(m, key, len, fnv1a(key, len))->key;
}

uint32_t rt_strmap_get(const struct rt_strmap *m, const char *key, size_t len)
{
    const struct rt_strmap_slot *s = find_slot(m, key, len, fnv1a(key, len));
    return s->key != NULL ? s->value : RT_NONE;
}

int rt_strmap_put(struct rt_strmap *m, const char *key, size_t len, uint32_t value)
{
    if ((m->used + 1) * 2 > m->mask + 1 && strmap_grow(m) != 0) return -1;
    uint32_t hash = fnv1a(key, len);
    struct rt_strmap_slot *s = find_slot(m, key, len, hash);
    if (s->key == NULL) m->used++;
    *s = (struct rt_strmap_slot){key, (uint32_t)len, hash, value};
    return 0;
}

/* ---- the rule set ----------------------------------------------------------------- */

struct rt_ruleset *rt_ruleset_new(const char *file)
{
    struct rt_ruleset *rs = calloc(1, sizeof *rs);
    if (rs == NULL) return NULL;
    rs->refs = 1;
    rs->settings.semantics = RT_UNSET;
    rs->file = strdup(file ? file : "");
    rs->pool = foyer_pool_create(RS_POOL_BLOCK);
    rs->strings = rt_strmap_new();
    rs->slots = rt_strmap_new();
    if (rs->file == NULL || rs->pool == NULL || rs->strings == NULL ||
        rs->slots == NULL) {
        rt_ruleset_unref(rs);
        return NULL;
    }
    return rs;
}

void rt_ruleset_ref(struct rt_ruleset *rs)
{
    rs->refs++;
}

/* Gives back an array's spare room. */
static void shrink(void **arr, uint32_t n, uint32_t *cap, size_t size)
{
    void *v = n ? realloc(*arr, (size_t)n * size) : NULL;
    if (n == 0) free(*arr);
    if (n == 0 || v != NULL) {
        *arr = v;
        *cap = n;
    }
}
#define SHRINK(rs, f)                                                                    \
    shrink((void **)&(rs)->f, (rs)->n##f, &(rs)->cap##f, sizeof *(rs)->f)

void rt_ruleset_seal(struct rt_ruleset *rs)
{
    rt_strmap_free(rs->strings);
    rt_strmap_free(rs->slots);
    rs->strings = rs->slots = NULL;
    SHRINK(rs, routes);
    SHRINK(rs, rules);
    SHRINK(rs, matches);
    SHRINK(rs, extras);
    SHRINK(rs, kvs);
    SHRINK(rs, backends);
    SHRINK(rs, hosts);
    SHRINK(rs, listener_refs);
}

void rt_ruleset_unref(struct rt_ruleset *rs)
{
    if (rs == NULL || --rs->refs > 0) return;
    rt_ruleset_seal(rs);
    for (uint32_t i = 0; i < rs->nregexes; i++)
        regfree(rs->regexes[i]);
    free(rs->regexes);
    free(rs->routes);
    free(rs->ids);
    free(rs->rules);
    free(rs->matches);
    free(rs->extras);
    free(rs->kvs);
    free(rs->backends);
    free(rs->hosts);
    free(rs->listener_refs);
    free(rs->services);
    free(rs->listener_defs);
    foyer_pool_destroy(rs->pool);
    free(rs->file);
    free(rs);
}

void *rt_push(void **arr, uint32_t *n, uint32_t *cap, size_t size)
{
    if (*n == RT_NONE - 1) return NULL;
    if (*n == *cap) {
        /* x1.5: big arrays stay tight; a sealed one may have room for 1 */
        uint32_t ncap = *cap >= 16 ? *cap + *cap / 2 : 16;
        void *nv = realloc(*arr, (size_t)ncap * size);
        if (nv == NULL) return NULL;
        *arr = nv;
        *cap = ncap;
    }
    char *e = (char *)*arr + (size_t)(*n)++ * size;
    memset(e, 0, size);
    return e;
}

void *rt_alloc(struct rt_ruleset *rs, size_t n)
{
    void *p = foyer_pool_alloc(rs->pool, n ? n : 1);
    if (p != NULL) memset(p, 0, n);
    return p;
}

/* Strings are packed byte-wise in chunks (the pool rounds to 16 bytes). */
static char *str_copy(struct rt_ruleset *rs, const char *s, size_t len)
{
    if (rs->str_left < len + 1) {
        size_t n = len + 1 > RS_STR_CHUNK ? len + 1 : RS_STR_CHUNK;
        rs->str_cur = foyer_pool_alloc(rs->pool, n);
        if (rs->str_cur == NULL) return NULL;
        rs->str_left = n;
    }
    char *d = rs->str_cur;
    memcpy(d, s, len);
    d[len] = '\0';
    rs->str_cur += len + 1;
    rs->str_left -= len + 1;
    return d;
}

const char *rt_strdup(struct rt_ruleset *rs, const char *s, size_t len)
{
    return str_copy(rs, s, len);
}

const char *rt_intern(struct rt_ruleset *rs, const char *s, size_t len)
{
    if (rs->strings == NULL) return str_copy(rs, s, len);
    const char *k = rt_strmap_key(rs->strings, s, len);
    if (k != NULL) return k;
    char *d = str_copy(rs, s, len);
    if (d == NULL || rt_strmap_put(rs->strings, d, len, 0) != 0) return NULL;
    return d;
}

uint32_t rt_service_slot(struct rt_ruleset *rs, const char *name, size_t len)
{
    uint32_t slot = rt_strmap_get(rs->slots, name, len);
    if (slot != RT_NONE) return slot;
    const char *n = rt_intern(rs, name, len);
    const char **e = n ? RT_PUSH(rs, services) : NULL;
    if (e == NULL) return RT_NONE;
    *e = n;
    slot = rs->nservices - 1;
    return rt_strmap_put(rs->slots, n, len, slot) == 0 ? slot : RT_NONE;
}

regex_t *rt_regex(struct rt_ruleset *rs, const char *pattern, size_t len, char *err,
                  size_t errlen)
{
    char *text = malloc(len + 1);
    regex_t *re = rt_alloc(rs, sizeof *re);
    regex_t **slot = re ? RT_PUSH(rs, regexes) : NULL;
    if (text == NULL || slot == NULL) {
        free(text);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(text, pattern, len);
    text[len] = '\0';
    /* no REG_NOSUB: the match bounds tell whether the whole value matched */
    int rc = regcomp(re, text, REG_EXTENDED);
    free(text);
    if (rc != 0) {
        regerror(rc, re, err, errlen);
        rs->nregexes--; /* nothing to free */
        return NULL;
    }
    *slot = re;
    return re;
}

int rt_regex_full_match(const regex_t *re, const char *s, size_t len)
{
    /* POSIX matching is leftmost-longest: if any match covers the whole
     * value, the one found starts at 0 and ends at len */
    regmatch_t m[1];
#ifdef REG_STARTEND /* glibc, the BSDs: the value need not be NUL-terminated */
    m[0].rm_so = 0;
    m[0].rm_eo = (regoff_t)len;
    if (regexec(re, s, 1, m, REG_STARTEND) != 0) return 0;
#else
    char buf[8192];
    if (len >= sizeof buf) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (regexec(re, buf, 1, m, 0) != 0) return 0;
#endif
    return m[0].rm_so == 0 && (size_t)m[0].rm_eo == len;
}
