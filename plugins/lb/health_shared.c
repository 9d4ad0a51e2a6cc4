/* The segment through which one worker's health checks reach every worker.
 *
 * Workers are processes, so "shared" means memory: the segment foyer's
 * api->shared_memory gives every process of one foyer under the same name,
 * whether the plugin was loaded at start or first by a reload. The mapping (a
 * static here) survives reloads in every process.
 *
 * Slots are keyed by a hash of "service endpoint" and claimed with a
 * compare-and-swap (reloads load the configuration in every process at once),
 * never freed: an endpoint keeps its state across reloads, and a few stale
 * slots after many reloads cost 24 bytes each. When the table is full the
 * caller falls back to a private slot, checked by each worker itself.
 *
 * Should the shared segment be refused, each process makes a private one and
 * checks for itself (lb_shared_is_common() says which). */
#include "health.h"
#include "policy.h"

#include <string.h>
#include <sys/mman.h>

#define SLOTS 4096

struct segment {
    struct lb_shared_slot slot[SLOTS];
};

static struct segment *seg;
static int common;

int lb_shared_open(void *(*shared_memory)(const char *, const char *, size_t))
{
    if (seg != NULL) return 0;
    seg = shared_memory ? shared_memory("lb", "health", sizeof *seg) : NULL;
    common = seg != NULL;
    if (seg != NULL) return 0; /* zero-filled: every slot free, every endpoint up */
    void *p = mmap(NULL, sizeof *seg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED) return -1;
    seg = p;
    return 0;
}

int lb_shared_is_common(void)
{
    return seg != NULL && common;
}

static uint64_t slot_key(const char *service, const char *endpoint)
{
    uint64_t h = lb_hash64(service, strlen(service), 0x736c6f74);
    h = lb_hash64(endpoint, strlen(endpoint), h);
    return h ? h : 1; /* 0 marks a free slot */
}

struct lb_shared_slot *lb_shared_slot(const char *service, const char *endpoint)
{
    if (seg == NULL) return NULL;
    uint64_t key = slot_key(service, endpoint);
    for (unsigned k = 0; k < SLOTS; k++) {
        struct lb_shared_slot *s = &seg->slot[(key + k) % SLOTS];
        uint64_t have = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
        if (have == key) return s;
        if (have != 0) continue;
        uint64_t expect = 0;
        if (__atomic_compare_exchange_n(&s->key, &expect, key, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE) ||
            expect == key)
            return s; /* ours, or another process claimed it for the same key */
    }
    return NULL;
}

int lb_slot_down(const struct lb_shared_slot *s)
{
    return (int)__atomic_load_n(&s->down, __ATOMIC_RELAXED);
}

void lb_slot_set_down(struct lb_shared_slot *s, int down)
{
    __atomic_store_n(&s->down, (uint32_t)(down != 0), __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->changes, 1, __ATOMIC_RELAXED);
}

void lb_slot_checked(struct lb_shared_slot *s, double now)
{
    __atomic_store_n(&s->checked_ms, (uint64_t)(now * 1000), __ATOMIC_RELAXED);
}

double lb_slot_last_check(const struct lb_shared_slot *s)
{
    return (double)__atomic_load_n(&s->checked_ms, __ATOMIC_RELAXED) / 1000;
}
