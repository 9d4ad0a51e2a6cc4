/* tests/waf/random_phrase.h — random phrases for the detector tests that
 * check a gate never rejects what the detector would catch. */
#ifndef FOYER_WAF_RANDOM_PHRASE_H
#define FOYER_WAF_RANDOM_PHRASE_H

#include <stddef.h>
#include <string.h>

/* A phrase of 1 to 8 of the nfrag fragments, drawn with *seed (an LCG:
 * every run tests the same phrases), shorter than cap: its length. */
static inline size_t random_phrase(unsigned *seed, const char *const *frag, size_t nfrag,
                                   char *buf, size_t cap)
{
    size_t n = 0;
    *seed = *seed * 1103515245u + 12345u;
    int k = 1 + (int)(*seed >> 16) % 8;
    for (int j = 0; j < k; j++) {
        *seed = *seed * 1103515245u + 12345u;
        const char *f = frag[(*seed >> 16) % nfrag];
        size_t l = strlen(f);
        if (n + l >= cap) break;
        memcpy(buf + n, f, l);
        n += l;
    }
    return n;
}

#endif
