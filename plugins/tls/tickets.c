/* Session-ticket keys, shared by every process of one foyer through
 * api->shared_memory, so that a ticket one worker issued resumes on any
 * other, and across reloads.
 *
 * The segment holds a ring of keys; `current` encrypts new tickets, the
 * others still decrypt until they have been retired for a session lifetime
 * (a ticket decrypted with an older key is renewed). Worker 0 rotates: its
 * timer replaces the current key once it is older than the rotation period.
 * Whoever maps the segment first makes the first key (the master, at start).
 *
 * Writers are rare (one rotation an hour), readers frequent (every ticket):
 * a sequence lock. A reader copies what it needs and retries if the sequence
 * moved; a process caches the current key with the sequence it read. Keys
 * are 16-byte names, AES-256-CBC keys and HMAC-SHA256 keys (RFC 5077 4, as
 * OpenSSL's own tickets); the cipher is fetched once per process. */
#include "tls.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TICKET_KEYS 8
#define TICKET_MAGIC 0x74696b31u /* "1kit" */

struct ticket_key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
    int64_t created; /* unix seconds */
    int64_t retired; /* when a newer key took over; 0 while current */
};

struct ticket_shm {
    uint32_t magic; /* TICKET_MAGIC once the first key is in */
    uint32_t init;  /* 0 → 1: the process making the first key */
    uint32_t seq;   /* odd while a writer is at work */
    uint32_t current;
    struct ticket_key keys[TICKET_KEYS];
};

static struct ticket_shm *shm;
static EVP_CIPHER *aes256cbc;
static double rotation = 3600, lifetime = 300;

/* this process's copy of the current key */
static struct ticket_key cur;
static uint32_t cur_seq = 1; /* odd: none yet */

static int64_t wall_now(void)
{
    return (int64_t)time(NULL);
}

/* A fresh key; -1 when the random generator fails (then no key is made). */
static int make_key(struct ticket_key *k)
{
    if (RAND_bytes(k->name, sizeof k->name) != 1 ||
        RAND_priv_bytes(k->aes, sizeof k->aes) != 1 ||
        RAND_priv_bytes(k->hmac, sizeof k->hmac) != 1) {
        ERR_clear_error();
        tls_log(FOYER_LOG_ERROR, "session ticket key: the random generator failed");
        return -1;
    }
    k->created = wall_now();
    k->retired = 0;
    return 0;
}

static void write_begin(void)
{
    __atomic_fetch_add(&shm->seq, 1, __ATOMIC_ACQ_REL);
}

static void write_end(void)
{
    __atomic_fetch_add(&shm->seq, 1, __ATOMIC_RELEASE);
}

int tls_tickets_init(char *err, size_t errlen)
{
    if (aes256cbc == NULL &&
        (aes256cbc = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL)) == NULL) {
        snprintf(err, errlen, "tickets: AES-256-CBC unavailable");
        ERR_clear_error();
        return -1;
    }
    if (shm == NULL) shm = tls_api->shared_memory(TLS_PLUGIN, "tickets", sizeof *shm);
    if (shm == NULL) {
        snprintf(err, errlen, "tickets: no shared memory for the ticket keys");
        return -1;
    }
    if (__atomic_load_n(&shm->magic, __ATOMIC_ACQUIRE) == TICKET_MAGIC) return 0;
    uint32_t zero = 0;
    if (__atomic_compare_exchange_n(&shm->init, &zero, 1, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        struct ticket_key k;
        if (make_key(&k) != 0) {
            __atomic_store_n(&shm->init, 0, __ATOMIC_RELEASE);
            snprintf(err, errlen, "tickets: cannot make a key (random generator)");
            return -1;
        }
        write_begin();
        shm->keys[0] = k;
        shm->current = 0;
        write_end();
        __atomic_store_n(&shm->magic, TICKET_MAGIC, __ATOMIC_RELEASE);
        return 0;
    }
    /* another process is making it: a few microseconds */
    for (int i = 0;
         i < 100000 && __atomic_load_n(&shm->magic, __ATOMIC_ACQUIRE) != TICKET_MAGIC;
         i++)
        sched_yield();
    return 0;
}

void tls_tickets_release(void)
{
    EVP_CIPHER_free(aes256cbc);
    aes256cbc = NULL;
}

void tls_tickets_configure(double rot, double life)
{
    rotation = rot;
    lifetime = life;
}

void tls_tickets_maybe_rotate(void)
{
    if (shm == NULL || __atomic_load_n(&shm->magic, __ATOMIC_ACQUIRE) != TICKET_MAGIC)
        return;
    int64_t now = wall_now();
    uint32_t c = __atomic_load_n(&shm->current, __ATOMIC_ACQUIRE) % TICKET_KEYS;
    if ((double)(now - shm->keys[c].created) < rotation) return;
    uint32_t next = (c + 1) % TICKET_KEYS;
    struct ticket_key k;
    if (make_key(&k) != 0) return; /* the current key goes on; tried again next tick */
    write_begin();
    shm->keys[c].retired = now;
    shm->keys[next] = k;
    __atomic_store_n(&shm->current, next, __ATOMIC_RELEASE);
    write_end();
    tls_log(FOYER_LOG_TRACE, "session ticket key rotated");
}

/* Copies the current key (cached while the sequence is unchanged). */
static int current_key(struct ticket_key *out)
{
    for (int tries = 0; tries < 1000; tries++) {
        uint32_t s1 = __atomic_load_n(&shm->seq, __ATOMIC_ACQUIRE);
        if (s1 & 1) {
            sched_yield();
            continue;
        }
        if (s1 == cur_seq) {
            *out = cur;
            return 0;
        }
        struct ticket_key k =
            shm->keys[__atomic_load_n(&shm->current, __ATOMIC_RELAXED) % TICKET_KEYS];
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&shm->seq, __ATOMIC_RELAXED) != s1) continue;
        if (k.created == 0) return -1; /* not made yet */
        cur = k;
        cur_seq = s1;
        *out = k;
        return 0;
    }
    return -1;
}

/* Finds the key called name still valid for decryption: 1 current, 2 older
 * (renew the ticket), 0 none. */
static int find_key(const unsigned char *name, struct ticket_key *out)
{
    int64_t now = wall_now();
    for (int tries = 0; tries < 1000; tries++) {
        uint32_t s1 = __atomic_load_n(&shm->seq, __ATOMIC_ACQUIRE);
        if (s1 & 1) {
            sched_yield();
            continue;
        }
        int found = 0;
        uint32_t c = __atomic_load_n(&shm->current, __ATOMIC_RELAXED) % TICKET_KEYS;
        for (uint32_t i = 0; i < TICKET_KEYS && !found; i++) {
            uint32_t j = (c + TICKET_KEYS - i) % TICKET_KEYS; /* newest first */
            if (memcmp(shm->keys[j].name, name, 16) != 0) continue;
            *out = shm->keys[j];
            found = j == c ? 1 : 2;
        }
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&shm->seq, __ATOMIC_RELAXED) != s1) continue;
        if (found == 2 && out->retired != 0 && (double)(now - out->retired) > lifetime)
            found = 0; /* retired longer ago than any session lives */
        if (found == 0 || out->created == 0) return 0;
        return found;
    }
    return 0;
}

static int mac_init(EVP_MAC_CTX *hctx, unsigned char *key)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, 32),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    return EVP_MAC_CTX_set_params(hctx, params);
}

static int ticket_cb(SSL *ssl, unsigned char key_name[16],
                     unsigned char iv[EVP_MAX_IV_LENGTH], EVP_CIPHER_CTX *cctx,
                     EVP_MAC_CTX *hctx, int enc)
{
    struct ticket_key k;
    if (shm == NULL || aes256cbc == NULL) return 0; /* released: no ticket */
    if (enc) { /* 0: no ticket this time, the handshake goes on */
        if (current_key(&k) != 0 || RAND_bytes(iv, 16) != 1) return 0;
        memcpy(key_name, k.name, 16);
        if (!EVP_EncryptInit_ex2(cctx, aes256cbc, k.aes, iv, NULL) ||
            !mac_init(hctx, k.hmac))
            return -1;
        return 1;
    }
    int r = find_key(key_name, &k);
    if (r == 0) return 0; /* unknown or too old: a full handshake */
    if (r == 2) tls_conn_ticket_renew(ssl);
    if (!EVP_DecryptInit_ex2(cctx, aes256cbc, k.aes, iv, NULL) || !mac_init(hctx, k.hmac))
        return -1;
    return r;
}

void tls_tickets_use(SSL_CTX *ctx)
{
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
}
