/*
 * rng.h - a small seeded PRNG (xoshiro256**, seeded through splitmix64) and
 * UUID v4 formatting. Same seed and stream -> same sequence on every
 * platform: everything is integer arithmetic.
 */
#ifndef GEN_RNG_H
#define GEN_RNG_H

#include <stdint.h>

struct rng {
    uint64_t s[4];
};

/* Seeds `r` from (seed, stream): different streams are independent. */
void rng_seed(struct rng *r, uint64_t seed, uint64_t stream);

uint64_t rng_next(struct rng *r);

/* Uniform in [0, n), n >= 1 (multiply-shift; bias below 2^-32 n). */
uint32_t rng_below(struct rng *r, uint32_t n);

/* Writes a lowercase UUID v4 like libuuid's uuid_unparse_lower: 36
 * characters and a terminating NUL into out. */
void rng_uuid(struct rng *r, char out[37]);

#endif
