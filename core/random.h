/* A fast per-process pseudo-random generator (xorshift64*) for load
 * spreading: weighted picks, not secrets. */
#ifndef FOYER_RANDOM_H
#define FOYER_RANDOM_H

#include <stdint.h>

uint64_t foyer_random(void);
/* Re-seeds (called in each worker after fork so workers differ). */
void foyer_random_seed(uint64_t seed);

#endif
