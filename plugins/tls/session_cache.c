/* The shared session-ID cache, for clients that resume by session ID (TLS
 * 1.2 without tickets) and for TLS 1.3 when tickets are off (stateful
 * tickets name a cached session). With tickets on, OpenSSL never stores a
 * session here: TLS 1.3 tickets are stateless and a TLS 1.2 client that
 * takes a ticket gets an empty session ID — so the cache costs nothing to
 * the clients that do not need it.
 *
 * One shared-memory segment (api->shared_memory) for every worker:
 * 4-way buckets of fixed slots holding the DER session (i2d_SSL_SESSION),
 * a slot replaced when expired or else the oldest. Each bucket has a small
 * lock holding its owner's pid: a process that dies holding it does not
 * wedge the bucket (the lock is taken over once the owner is gone). A
 * session too large for a slot (a long client-certificate chain) is not
 * cached and is counted (tls.cache_too_big). */
#include "tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SC_WAYS 4
#define SC_SLOT 2048
#define SC_ID_MAX 32

struct sc_slot {
    int64_t expires; /* unix seconds; 0: empty */
    uint16_t len;
    uint8_t idlen;
    uint8_t id[SC_ID_MAX];
    unsigned char der[SC_SLOT - 8 - 2 - 1 - SC_ID_MAX - 5];
};

struct sc_bucket {
    uint32_t lock; /* 0, or the owner's pid */
    uint32_t pad;
    struct sc_slot slots[SC_WAYS];
};

struct sc_shm {
    uint64_t nbuckets;
    struct sc_bucket buckets[];
};

static struct sc_shm *cache;
static long cache_entries;

static int lock(struct sc_bucket *b)
{
    uint32_t me = (uint32_t)getpid(); /* only on a cache miss or store */
    for (int i = 0; i < 20000; i++) {
        uint32_t expected = 0;
        if (__atomic_compare_exchange_n(&b->lock, &expected, me, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return 0;
        if (i < 64) continue;
        if (i % 256 == 0 && expected != 0 && kill((pid_t)expected, 0) != 0 &&
            errno == ESRCH)
            /* the owner died inside: take its lock over */
            if (__atomic_compare_exchange_n(&b->lock, &expected, me, 0, __ATOMIC_ACQUIRE,
                                            __ATOMIC_RELAXED))
                return 0;
        sched_yield();
    }
    return -1; /* give up: a miss, not a stall */
}

static void unlock(struct sc_bucket *b)
{
    __atomic_store_n(&b->lock, 0, __ATOMIC_RELEASE);
}

static struct sc_bucket *bucket_of(const unsigned char *id, unsigned len)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a: IDs are random, cheap is enough */
    for (unsigned i = 0; i < len; i++)
        h = (h ^ id[i]) * 0x100000001b3ULL;
    return &cache->buckets[h % cache->nbuckets];
}

int tls_session_cache_init(long entries, char *err, size_t errlen)
{
    if (entries <= 0 || (cache != NULL && entries == cache_entries)) return 0;
    uint64_t nbuckets = ((uint64_t)entries + SC_WAYS - 1) / SC_WAYS;
    size_t size = sizeof(struct sc_shm) + nbuckets * sizeof(struct sc_bucket);
    char name[64];
    snprintf(name, sizeof name, "sessions.%ld", entries);
    struct sc_shm *m = tls_api->shared_memory(TLS_PLUGIN, name, size);
    if (m == NULL) {
        snprintf(err, errlen,
                 "session_cache: no shared memory for %ld sessions (%zu MiB)", entries,
                 size >> 20);
        return -1;
    }
    __atomic_store_n(&m->nbuckets, nbuckets, __ATOMIC_RELEASE);
    cache = m; /* an older segment of another size stays mapped, unused */
    cache_entries = entries;
    return 0;
}

static int new_session(SSL *ssl, SSL_SESSION *sess)
{
    if (cache == NULL) return 0;
    /* TLS 1.3 with tickets on: the ticket is the session, nothing to keep */
    if (SSL_version(ssl) == TLS1_3_VERSION && !(SSL_get_options(ssl) & SSL_OP_NO_TICKET))
        return 0;
    unsigned int idlen;
    const unsigned char *id = SSL_SESSION_get_id(sess, &idlen);
    if (idlen == 0 || idlen > SC_ID_MAX) return 0;
    unsigned char der[sizeof((struct sc_slot *)0)->der];
    int len = i2d_SSL_SESSION(sess, NULL);
    if (len <= 0 || (size_t)len > sizeof der) {
        TLS_COUNT(cache_too_big);
        ERR_clear_error();
        return 0;
    }
    unsigned char *p = der;
    i2d_SSL_SESSION(sess, &p);
    int64_t now = (int64_t)time(NULL);
    int64_t expires = (int64_t)SSL_SESSION_get_time(sess) + SSL_SESSION_get_timeout(sess);
    struct sc_bucket *b = bucket_of(id, idlen);
    if (lock(b) != 0) return 0;
    struct sc_slot *victim = &b->slots[0];
    for (int i = 0; i < SC_WAYS; i++) {
        struct sc_slot *s = &b->slots[i];
        if (s->idlen == idlen && memcmp(s->id, id, idlen) == 0) {
            victim = s;
            break;
        }
        if (s->expires <= now)
            victim = s; /* empty or expired */
        else if (victim->expires > now && s->expires < victim->expires)
            victim = s;
    }
    victim->expires = expires;
    victim->idlen = (uint8_t)idlen;
    memcpy(victim->id, id, idlen);
    victim->len = (uint16_t)len;
    memcpy(victim->der, der, (size_t)len);
    unlock(b);
    TLS_COUNT(cache_stored);
    return 0; /* we keep no reference to sess */
}

static SSL_SESSION *get_session(SSL *ssl, const unsigned char *id, int idlen, int *copy)
{
    *copy = 0;
    if (cache == NULL || idlen <= 0 || idlen > SC_ID_MAX) return NULL;
    unsigned char der[sizeof((struct sc_slot *)0)->der];
    int len = 0;
    int64_t now = (int64_t)time(NULL);
    struct sc_bucket *b = bucket_of(id, (unsigned)idlen);
    if (lock(b) != 0) return NULL;
    for (int i = 0; i < SC_WAYS; i++) {
        struct sc_slot *s = &b->slots[i];
        if (s->idlen != idlen || s->expires <= now ||
            memcmp(s->id, id, (size_t)idlen) != 0)
            continue;
        len = s->len;
        memcpy(der, s->der, (size_t)len);
        break;
    }
    unlock(b);
    if (len == 0) return NULL;
    const unsigned char *p = der;
    SSL_SESSION *sess = d2i_SSL_SESSION(NULL, &p, len);
    if (sess == NULL)
        ERR_clear_error();
    else
        TLS_COUNT(cache_hits);
    return sess;
}

void tls_session_cache_use(SSL_CTX *ctx, long entries)
{
    if (entries <= 0 || cache == NULL) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        return;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER |
                                            SSL_SESS_CACHE_NO_INTERNAL |
                                            SSL_SESS_CACHE_NO_AUTO_CLEAR);
    SSL_CTX_sess_set_new_cb(ctx, new_session);
    SSL_CTX_sess_set_get_cb(ctx, get_session);
}
