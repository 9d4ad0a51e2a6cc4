/* core/buf.c: I/O buffers and their per-worker free lists. */
#include "buf.h"
#include "unit.h"

static struct foyer_buf *filled(size_t cap, const char *text)
{
    struct foyer_buf *b = foyer_buf_get(cap);
    REQUIRE(b != NULL);
    size_t len = strlen(text);
    memcpy(foyer_buf_tail(b), text, len);
    b->end += len;
    return b;
}

static void test_get_is_empty(void)
{
    struct foyer_buf *small = foyer_buf_get(FOYER_BUF_SMALL);
    struct foyer_buf *large = foyer_buf_get(FOYER_BUF_LARGE);
    REQUIRE(small != NULL && large != NULL);
    CHECK_INT(small->cap, FOYER_BUF_SMALL);
    CHECK_INT(large->cap, FOYER_BUF_LARGE);
    CHECK_INT(foyer_buf_len(small), 0);
    CHECK_INT(foyer_buf_room(small), FOYER_BUF_SMALL);
    CHECK(foyer_buf_pos(small) == small->data);
    CHECK(foyer_buf_tail(small) == small->data);
    foyer_buf_put(small);
    foyer_buf_put(large);
}

static void test_put_get_reuses_and_resets(void)
{
    struct foyer_buf *b = filled(FOYER_BUF_SMALL, "some bytes");
    b->start = 3;
    foyer_buf_put(b);
    struct foyer_buf *again = foyer_buf_get(FOYER_BUF_SMALL);
    CHECK(again == b); /* from the free list */
    CHECK_INT(again->start, 0);
    CHECK_INT(again->end, 0);
    CHECK_INT(again->cap, FOYER_BUF_SMALL);
    /* the size classes do not mix */
    foyer_buf_put(again);
    struct foyer_buf *large = foyer_buf_get(FOYER_BUF_LARGE);
    REQUIRE(large != NULL);
    CHECK_INT(large->cap, FOYER_BUF_LARGE);
    foyer_buf_put(large);
    foyer_buf_put(NULL);
}

static void test_odd_size(void)
{
    struct foyer_buf *b = foyer_buf_get(100);
    REQUIRE(b != NULL);
    CHECK_INT(b->cap, 100);
    CHECK_INT(foyer_buf_room(b), 100);
    memset(b->data, 'z', 100);
    foyer_buf_put(b); /* not a size class: freed, not listed */
    struct foyer_buf *s = foyer_buf_get(FOYER_BUF_SMALL);
    REQUIRE(s != NULL);
    CHECK_INT(s->cap, FOYER_BUF_SMALL);
    foyer_buf_put(s);
}

static void test_compact(void)
{
    struct foyer_buf *b = filled(FOYER_BUF_SMALL, "consumed|kept");
    b->start = 9;
    foyer_buf_compact(b);
    CHECK_INT(b->start, 0);
    CHECK_INT(b->end, 4);
    CHECK(memcmp(b->data, "kept", 4) == 0);
    CHECK_INT(foyer_buf_room(b), FOYER_BUF_SMALL - 4);
    foyer_buf_compact(b); /* nothing to move */
    CHECK_INT(b->end, 4);
    b->start = b->end;
    foyer_buf_compact(b); /* all consumed */
    CHECK_INT(foyer_buf_len(b), 0);
    CHECK_INT(b->start, 0);
    foyer_buf_put(b);
}

static void test_grow_keeps_unconsumed(void)
{
    struct foyer_buf *b = filled(FOYER_BUF_SMALL, "GET / HTTP/1.1\r\nHost: a");
    b->start = 4;
    struct foyer_buf *g = foyer_buf_grow(b, FOYER_BUF_LARGE);
    REQUIRE(g != NULL);
    CHECK_INT(g->cap, FOYER_BUF_LARGE);
    CHECK_INT(g->start, 0);
    CHECK_INT(foyer_buf_len(g), 19);
    CHECK(memcmp(foyer_buf_pos(g), "/ HTTP/1.1\r\nHost: a", 19) == 0);
    foyer_buf_put(g);
}

static void test_grow_too_small_fails(void)
{
    struct foyer_buf *b = filled(FOYER_BUF_SMALL, "0123456789");
    CHECK(foyer_buf_grow(b, 5) == NULL);
    CHECK_INT(foyer_buf_len(b), 10); /* b is still the caller's */
    foyer_buf_put(b);
}

static void test_trim_freelists(void)
{
    struct foyer_buf *bufs[8];
    for (int i = 0; i < 8; i++)
        REQUIRE((bufs[i] = foyer_buf_get(FOYER_BUF_SMALL)) != NULL);
    for (int i = 0; i < 8; i++)
        foyer_buf_put(bufs[i]);
    foyer_buf_trim_freelists();
    struct foyer_buf *b = foyer_buf_get(FOYER_BUF_SMALL); /* freshly allocated */
    REQUIRE(b != NULL);
    CHECK_INT(b->cap, FOYER_BUF_SMALL);
    CHECK_INT(foyer_buf_len(b), 0);
    foyer_buf_put(b);
    foyer_buf_trim_freelists();
}

static void test_many_puts_are_bounded(void)
{
    /* more than any free list keeps: the surplus is freed, nothing breaks */
    enum { N = 300 };
    static struct foyer_buf *bufs[N];
    for (int i = 0; i < N; i++)
        REQUIRE((bufs[i] = foyer_buf_get(FOYER_BUF_SMALL)) != NULL);
    for (int i = 0; i < N; i++)
        foyer_buf_put(bufs[i]);
    for (int i = 0; i < N; i++) {
        bufs[i] = foyer_buf_get(FOYER_BUF_SMALL);
        REQUIRE(bufs[i] != NULL);
        memset(bufs[i]->data, i, FOYER_BUF_SMALL);
    }
    for (int i = 0; i < N; i++)
        foyer_buf_put(bufs[i]);
    foyer_buf_trim_freelists();
    CHECK(1);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_get_is_empty),
    UNIT_TEST(test_put_get_reuses_and_resets),
    UNIT_TEST(test_odd_size),
    UNIT_TEST(test_compact),
    UNIT_TEST(test_grow_keeps_unconsumed),
    UNIT_TEST(test_grow_too_small_fails),
    UNIT_TEST(test_trim_freelists),
    UNIT_TEST(test_many_puts_are_bounded),
};
UNIT_MAIN("buf", tests)
