#include "random.h"

#include <time.h>
#include <unistd.h>

static uint64_t state;

void foyer_random_seed(uint64_t seed)
{
    state = seed ? seed : 0x9e3779b97f4a7c15ull;
}

uint64_t foyer_random(void)
{
    if (state == 0) foyer_random_seed(((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL));
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 2685821657736338717ull;
}
