/* Helpers shared by the libFuzzer targets (tests/fuzz/fuzz_*.c): invariant
 * checks that abort with a message (libFuzzer then saves the input), exact-size
 * copies so ASan sees any read past the bytes a parser was given, and split
 * points drawn from the input itself so a crash replays byte for byte. */
#ifndef FOYER_FUZZ_UTIL_H
#define FOYER_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

/* A malloc'ed copy of exactly len bytes (at least one byte is allocated). */
static inline char *fuzz_copy(const void *p, size_t len)
{
    char *c = malloc(len ? len : 1);
    if (c == NULL) abort();
    if (len) memcpy(c, p, len);
    return c;
}

/* Is [p, p + len) inside [lo, hi)? */
static inline int fuzz_within(const char *p, size_t len, const char *lo, const char *hi)
{
    return len == 0 || (p != NULL && p >= lo && p <= hi && len <= (size_t)(hi - p));
}

/* xorshift: split points from a seed taken out of the input. */
static inline uint32_t fuzz_next(uint32_t *s)
{
    uint32_t x = *s ? *s : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

#endif
