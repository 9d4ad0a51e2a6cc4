/* core/pool.c: the per-request arena. */
#include "pool.h"
#include "unit.h"

#include <stdint.h>

static int aligned16(const void *p)
{
    return ((uintptr_t)p & 15) == 0;
}

static void test_alloc_is_aligned_and_disjoint(void)
{
    struct foyer_pool *p = foyer_pool_create(1024);
    REQUIRE(p != NULL);
    unsigned char *prev = NULL;
    size_t prev_len = 0;
    for (size_t n = 1; n <= 200; n += 7) {
        unsigned char *a = foyer_pool_alloc(p, n);
        REQUIRE(a != NULL);
        CHECKF(aligned16(a), "allocation of %zu bytes is 16-byte aligned", n);
        memset(a, (int)n, n);
        /* the previous allocation is intact: no overlap */
        for (size_t i = 0; prev != NULL && i < prev_len; i++)
            if (prev[i] != (unsigned char)prev_len) {
                CHECKF(0, "allocation of %zu bytes overwrote the previous one", n);
                break;
            }
        prev = a;
        prev_len = n;
    }
    foyer_pool_destroy(p);
}

static void test_many_allocations_span_blocks(void)
{
    struct foyer_pool *p = foyer_pool_create(256);
    REQUIRE(p != NULL);
    unsigned *slots[500];
    for (unsigned i = 0; i < 500; i++) {
        slots[i] = foyer_pool_alloc(p, sizeof(unsigned) * 4);
        REQUIRE(slots[i] != NULL);
        slots[i][0] = i;
        slots[i][3] = ~i;
    }
    unsigned bad = 0;
    for (unsigned i = 0; i < 500; i++)
        if (slots[i][0] != i || slots[i][3] != ~i) bad++;
    CHECK_INT(bad, 0);
    foyer_pool_destroy(p);
}

static void test_large_allocation(void)
{
    struct foyer_pool *p = foyer_pool_create(4096);
    REQUIRE(p != NULL);
    char *small = foyer_pool_alloc(p, 32);
    char *big = foyer_pool_alloc(p, 100000); /* more than a block: its own block */
    REQUIRE(small != NULL);
    REQUIRE(big != NULL);
    CHECK(aligned16(big));
    memset(big, 'x', 100000);
    memset(small, 'y', 32);
    CHECK(big[0] == 'x' && big[99999] == 'x');
    char *after = foyer_pool_alloc(p, 32); /* small ones still come from the block */
    REQUIRE(after != NULL);
    CHECK(after == small + 32);
    foyer_pool_destroy(p);
}

static void test_reset_reuses_first_block(void)
{
    struct foyer_pool *p = foyer_pool_create(512);
    REQUIRE(p != NULL);
    char *first = foyer_pool_alloc(p, 16);
    for (int i = 0; i < 100; i++)
        REQUIRE(foyer_pool_alloc(p, 100) != NULL);
    REQUIRE(foyer_pool_alloc(p, 10000) != NULL);
    foyer_pool_reset(p);
    char *again = foyer_pool_alloc(p, 16);
    CHECK(again == first);
    /* still fully usable after a reset */
    for (int i = 0; i < 100; i++) {
        char *a = foyer_pool_alloc(p, 100);
        REQUIRE(a != NULL);
        memset(a, i, 100);
    }
    foyer_pool_reset(p);
    foyer_pool_reset(p); /* idempotent */
    CHECK(foyer_pool_alloc(p, 16) == first);
    foyer_pool_destroy(p);
}

static void test_strndup(void)
{
    struct foyer_pool *p = foyer_pool_create(128);
    REQUIRE(p != NULL);
    char *s = foyer_pool_strndup(p, "hello, world", 5);
    CHECK_STR(s, "hello");
    char *e = foyer_pool_strndup(p, "", 0);
    CHECK_STR(e, "");
    char big[1000];
    memset(big, 'a', sizeof big);
    char *b = foyer_pool_strndup(p, big, sizeof big);
    REQUIRE(b != NULL);
    CHECK_INT(strlen(b), sizeof big);
    foyer_pool_destroy(p);
}

static void test_destroy_null(void)
{
    foyer_pool_destroy(NULL);
    CHECK(1);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_alloc_is_aligned_and_disjoint),
    UNIT_TEST(test_many_allocations_span_blocks),
    UNIT_TEST(test_large_allocation),
    UNIT_TEST(test_reset_reuses_first_block),
    UNIT_TEST(test_strndup),
    UNIT_TEST(test_destroy_null),
};
UNIT_MAIN("pool", tests)
