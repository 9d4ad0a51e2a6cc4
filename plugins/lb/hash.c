/* Hashing for the load balancer: request keys and endpoint names. */
#include "policy.h"

/* splitmix64's finalizer: every input bit flips about half the output bits. */
uint64_t lb_mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* FNV-1a is short and byte-exact across platforms (so workers, reloads and
 * other machines agree on where a key goes); alone it mixes the last bytes
 * poorly, which the finalizer fixes. Keys are short: header values, cookies,
 * addresses. */
uint64_t lb_hash64(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ull ^ lb_mix64(seed);
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ull;
    }
    return lb_mix64(h ^ n);
}
