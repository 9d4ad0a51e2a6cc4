/* Host names: checking the ones written in a config, wildcard matching and
 * the Gateway API listener/route intersection, and the host index that maps
 * a request's host to its candidate matches.
 *
 * The index is one open-addressing table holding exact names ("a.com") and
 * wildcards ("*.a.com") together. Its hash runs over the name backwards, so
 * one backward pass over a request's host yields the hash of every suffix
 * at a label boundary: the exact lookup and the lookup of each "*.suffix"
 * cost one probe each, whatever the number of hosts configured. */
#include "router_int.h"

#include <stdlib.h>
#include <string.h>

#define MAX_HOST 253
#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

static inline unsigned char lc(unsigned char c)
{
    return (unsigned char)(c - 'A') < 26u ? (unsigned char)(c + 32) : c;
}

/* Letters, digits, '-', '.' and '_'; an IPv6 literal "[...]" has hex digits,
 * ':' and '.' inside its brackets. */
static int host_char_ok(const char *h, size_t len, size_t i)
{
    unsigned char c = (unsigned char)h[i];
    if (h[0] == '[')
        return (i == 0) || (i == len - 1 && c == ']') ||
               (i < len - 1 && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                                c == ':' || c == '.'));
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
}

/* Checks a lower-cased name: "*", or an optional "*." then non-empty labels. */
static int check_host_name(struct rt_cc *cc, const struct json_value *at, const char *h,
                           size_t len, struct foyer_str as_written)
{
    int n = (int)(as_written.len > 100 ? 100 : as_written.len);
    size_t start = 0;
    if (h[0] == '*') {
        if (len == 1) return 0;
        if (h[1] != '.' || len == 2)
            return rt_fail(cc, at, "a wildcard host name reads '*.example.com'");
        start = 2;
    }
    if (h[start] == '[' && (start > 0 || h[len - 1] != ']'))
        return rt_fail(cc, at, "invalid IPv6 literal '%.*s'", n, as_written.p);
    for (size_t i = start; i < len; i++) {
        if (!host_char_ok(h + start, len - start, i - start))
            return rt_fail(cc, at, "invalid character in host name '%.*s'", n,
                           as_written.p);
        if (h[i] == '.' && h[start] != '[' && (i == start || h[i - 1] == '.'))
            return rt_fail(cc, at, "empty label in host name '%.*s'", n, as_written.p);
    }
    return 0;
}

const char *rt_host_name(struct rt_cc *cc, const struct json_value *at,
                         struct foyer_str s)
{
    char buf[MAX_HOST + 1];
    size_t len = s.len;
    if (len > 1 && s.p[len - 1] == '.') len--; /* "a.com." names "a.com" */
    if (len == 0 || len > MAX_HOST) {
        rt_fail(cc, at, len ? "host name longer than %d bytes" : "empty host name",
                MAX_HOST);
        return NULL;
    }
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)lc((unsigned char)s.p[i]);
    buf[len] = '\0';
    if (check_host_name(cc, at, buf, len, s) != 0) return NULL;
    /* mostly unique: copied, not interned ("*" is) */
    const char *h = len == 1 && buf[0] == '*' ? rt_intern(cc->rs, "*", 1)
                                              : rt_strdup(cc->rs, buf, len);
    if (h == NULL) rt_fail(cc, at, "out of memory");
    return h;
}

int rt_host_is_wildcard(const char *h)
{
    return h[0] == '*' && h[1] == '.';
}

int rt_host_matches(const char *pattern, const char *h, size_t hlen, int multi)
{
    if (pattern[0] == '*' && pattern[1] == '\0') return 1;
    size_t plen = strlen(pattern);
    if (!rt_host_is_wildcard(pattern))
        return plen == hlen && memcmp(pattern, h, hlen) == 0;
    const char *suffix = pattern + 1; /* ".a.com" */
    size_t slen = plen - 1;
    if (hlen <= slen || memcmp(h + hlen - slen, suffix, slen) != 0) return 0;
    return multi || memchr(h, '.', hlen - slen) == NULL;
}

const char *rt_host_intersect(const char *route_host, const char *listener_host)
{
    if (listener_host == NULL) return route_host;
    if (strcmp(route_host, "*") == 0) return listener_host;
    int rw = rt_host_is_wildcard(route_host), lw = rt_host_is_wildcard(listener_host);
    if (!rw) /* an exact route host the listener admits */
        return rt_host_matches(listener_host, route_host, strlen(route_host), 1)
                   ? route_host
                   : NULL;
    if (!lw) /* a route wildcard narrowed to the listener's exact name */
        return rt_host_matches(route_host, listener_host, strlen(listener_host), 1)
                   ? listener_host
                   : NULL;
    const char *rb = route_host + 2, *lb = listener_host + 2; /* both wildcards */
    if (strcmp(rb, lb) == 0 || rt_host_matches(listener_host, rb, strlen(rb), 1))
        return route_host; /* the route's is the narrower one */
    if (rt_host_matches(route_host, lb, strlen(lb), 1)) return listener_host;
    return NULL;
}

/* ---- the index -------------------------------------------------------------------- */

static inline uint32_t step(uint32_t h, unsigned char c)
{
    return (h ^ c) * FNV_PRIME;
}

static uint32_t backward_hash(const char *s, size_t len)
{
    uint32_t h = FNV_OFFSET;
    while (len > 0)
        h = step(h, (unsigned char)s[--len]);
    return h;
}

/* While building, slots point to names rather than to laid out entries. */
struct rt_host_build {
    struct {
        const char *name;
        uint32_t len, hash;
    } * names;
    uint32_t n;
};

int rt_host_index_begin(struct rt_host_index *ix, uint32_t max_names)
{
    uint32_t size = 8;
    memset(ix, 0, sizeof *ix);
    ix->any = RT_NONE;
    while (size < max_names * 2)
        size *= 2;
    ix->slots = malloc((size_t)size * sizeof *ix->slots);
    ix->build = calloc(1, sizeof *ix->build);
    if (ix->build)
        ix->build->names = malloc(((size_t)max_names + 1) * sizeof *ix->build->names);
    if (ix->slots == NULL || ix->build == NULL || ix->build->names == NULL) return -1;
    memset(ix->slots, 0xff, (size_t)size * sizeof *ix->slots);
    ix->mask = size - 1;
    return 0;
}

/* The slot holding the entry (or name) hash/name, or the empty one to fill. */
static struct rt_host_slot *find(const struct rt_host_index *ix, uint32_t hash,
                                 const char *prefix, size_t plen, const char *name,
                                 size_t len)
{
    for (uint32_t j = hash & ix->mask;; j = (j + 1) & ix->mask) {
        struct rt_host_slot *s = &ix->slots[j];
        if (s->at == RT_NONE) return s;
        if (s->hash != hash) continue;
        const char *n;
        size_t nlen;
        if (ix->build != NULL) {
            n = ix->build->names[s->at].name;
            nlen = ix->build->names[s->at].len;
        } else {
            const struct rt_host_entry *e = (const void *)(ix->blob + s->at);
            n = rt_entry_name(e);
            nlen = e->len;
        }
        if (nlen == plen + len && memcmp(n, prefix, plen) == 0 &&
            memcmp(n + plen, name, len) == 0)
            return s;
    }
}

uint32_t rt_host_index_add(struct rt_host_index *ix, const char *name)
{
    struct rt_host_build *b = ix->build;
    size_t len = strlen(name);
    uint32_t hash = backward_hash(name, len);
    if (strcmp(name, "*") == 0) { /* the catch-all: kept out of the table */
        if (ix->any == RT_NONE) ix->any = b->n++;
        b->names[ix->any].name = name;
        b->names[ix->any].len = 1;
        return ix->any;
    }
    struct rt_host_slot *s = find(ix, hash, "", 0, name, len);
    if (s->at != RT_NONE) return s->at;
    *s = (struct rt_host_slot){hash, b->n};
    b->names[b->n].name = name;
    b->names[b->n].len = (uint32_t)len;
    b->names[b->n].hash = hash;
    if (rt_host_is_wildcard(name)) ix->has_wildcards = 1;
    return b->n++;
}

uint32_t rt_host_index_names(const struct rt_host_index *ix)
{
    return ix->build ? ix->build->n : ix->nentries;
}

static size_t entry_words(uint32_t len, uint32_t ncands)
{
    size_t bytes = sizeof(struct rt_host_entry) + ((len + 8) & ~(size_t)7) +
                   ncands * sizeof(struct rt_cand);
    return (bytes + 7) / 8;
}

int rt_host_index_layout(struct rt_host_index *ix, const uint32_t *first,
                         void (*make)(void *ctx, uint32_t i, struct rt_cand *out),
                         void *ctx)
{
    struct rt_host_build *b = ix->build;
    uint32_t *at = malloc(((size_t)b->n + 1) * sizeof *at);
    size_t words = 0;
    if (at == NULL) return -1;
    for (uint32_t e = 0; e < b->n; e++) {
        at[e] = (uint32_t)words;
        words += entry_words(b->names[e].len, first[e + 1] - first[e]);
    }
    ix->blob = words < RT_NONE ? calloc(words ? words : 1, 8) : NULL;
    if (ix->blob == NULL) {
        free(at);
        return -1;
    }
    for (uint32_t e = 0; e < b->n; e++) {
        struct rt_host_entry *h = (void *)(ix->blob + at[e]);
        h->hash = b->names[e].hash;
        h->len = b->names[e].len;
        h->ncands = first[e + 1] - first[e];
        memcpy((char *)(h + 1), b->names[e].name, h->len);
        struct rt_cand *c = (struct rt_cand *)rt_entry_cands(h);
        for (uint32_t i = first[e]; i < first[e + 1]; i++)
            make(ctx, i, c++);
    }
    for (uint32_t j = 0; j <= ix->mask; j++)
        if (ix->slots[j].at != RT_NONE) ix->slots[j].at = at[ix->slots[j].at];
    if (ix->any != RT_NONE) ix->any = at[ix->any];
    ix->nentries = b->n;
    ix->words = ix->capwords = words;
    free(at);
    free(b->names);
    free(b);
    ix->build = NULL;
    return 0;
}

/* Room for `words` more in the blob, growing it by half at least. */
static int blob_reserve(struct rt_host_index *ix, size_t words)
{
    if (ix->words + words <= ix->capwords) return 0;
    size_t cap = ix->capwords + ix->capwords / 2 + words + 64;
    if (cap >= RT_NONE) return -1; /* entries are addressed by 32-bit offsets */
    uint64_t *b = realloc(ix->blob, cap * 8);
    if (b == NULL) return -1;
    ix->blob = b;
    ix->capwords = cap;
    return 0;
}

/* Doubles the slot table: slots keep their hash, so no name is read. */
static int slots_grow(struct rt_host_index *ix)
{
    uint32_t size = (ix->mask + 1) * 2;
    struct rt_host_slot *old = ix->slots, *n = malloc((size_t)size * sizeof *n);
    if (n == NULL) return -1;
    memset(n, 0xff, (size_t)size * sizeof *n);
    for (uint32_t j = 0; j <= ix->mask; j++) {
        if (old[j].at == RT_NONE) continue;
        uint32_t k = old[j].hash & (size - 1);
        while (n[k].at != RT_NONE)
            k = (k + 1) & (size - 1);
        n[k] = old[j];
    }
    free(old);
    ix->slots = n;
    ix->mask = size - 1;
    return 0;
}

int rt_host_index_set(struct rt_host_index *ix, const char *name,
                      const struct rt_cand *cands, uint32_t n)
{
    size_t len = strlen(name), words = entry_words((uint32_t)len, n);
    int any = strcmp(name, "*") == 0;
    uint32_t hash = backward_hash(name, len);
    if ((ix->nentries + 2) * 2 > ix->mask + 1 && slots_grow(ix) != 0) return -1;
    if (blob_reserve(ix, words) != 0) return -1;
    uint32_t at = (uint32_t)ix->words;
    struct rt_host_entry *h = (void *)(ix->blob + at);
    memset(h, 0, words * 8);
    *h = (struct rt_host_entry){hash, (uint32_t)len, n, 0};
    memcpy((char *)(h + 1), name, len);
    memcpy((struct rt_cand *)rt_entry_cands(h), cands, (size_t)n * sizeof *cands);
    ix->words += words;
    uint32_t *slot = &ix->any;
    if (!any) {
        struct rt_host_slot *s = find(ix, hash, "", 0, name, len);
        if (s->at == RT_NONE) s->hash = hash;
        slot = &s->at;
    }
    if (*slot == RT_NONE)
        ix->nentries++;
    else {
        const struct rt_host_entry *old = (const void *)(ix->blob + *slot);
        ix->dead_words += entry_words(old->len, old->ncands);
    }
    *slot = at;
    if (rt_host_is_wildcard(name)) ix->has_wildcards = 1;
    return 0;
}

void rt_host_index_free(struct rt_host_index *ix)
{
    if (ix->build != NULL) free(ix->build->names);
    free(ix->build);
    free(ix->blob);
    free(ix->slots);
    memset(ix, 0, sizeof *ix);
}

static const struct rt_host_entry *probe(const struct rt_host_index *ix, uint32_t hash,
                                         const char *prefix, size_t plen,
                                         const char *name, size_t len)
{
    const struct rt_host_slot *s = find(ix, hash, prefix, plen, name, len);
    return s->at == RT_NONE ? NULL : (const void *)(ix->blob + s->at);
}

unsigned rt_host_lookup(const struct rt_host_index *ix, const char *host, size_t len,
                        int multi, const struct rt_host_entry **out, unsigned max)
{
    uint32_t dot_hash[128];
    size_t dot_pos[128];
    unsigned ndots = 0, n = 0;
    uint32_t h = FNV_OFFSET;
    if (len > MAX_HOST || ix->nentries == 0)
        goto any; /* no configured name is that long */
    for (size_t i = len; i-- > 0;) {
        if (host[i] == '.' && ndots < 128) {
            dot_hash[ndots] = h; /* hash of host[i + 1 ..] */
            dot_pos[ndots++] = i;
        }
        h = step(h, (unsigned char)host[i]);
    }
    const struct rt_host_entry *e = probe(ix, h, "", 0, host, len);
    if (e != NULL && host[0] != '*' && n < max) out[n++] = e;
    if (!ix->has_wildcards) goto any;
    /* longest suffix first; ingress wildcards cover exactly the first label */
    for (unsigned k = ndots; k-- > 0 && n < max;) {
        const char *sfx = host + dot_pos[k] + 1;
        uint32_t wh = step(step(dot_hash[k], '.'), '*');
        e = probe(ix, wh, "*.", 2, sfx, len - dot_pos[k] - 1);
        if (e != NULL) out[n++] = e;
        if (!multi) break;
    }
any:
    if (ix->any != RT_NONE && n < max) out[n++] = (const void *)(ix->blob + ix->any);
    return n;
}
