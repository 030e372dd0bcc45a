/* hash: 64-bit mixing rounds (an xxhash64-like accumulator over a splitmix64
 * stream): multiplies, rotates, shifts and xors, no memory traffic. */
#include "bench.h"

#define ITERATIONS 100000000UL

static const uint64_t P1 = 0x9E3779B185EBCA87ULL;
static const uint64_t P2 = 0xC2B2AE3D27D4EB4FULL;
static const uint64_t P3 = 0x165667B19E3779F9ULL;

static inline uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t round64(uint64_t acc, uint64_t input)
{
    acc += input * P2;
    acc = rotl(acc, 31);
    return acc * P1;
}

int main(void)
{
    uint64_t start = rd_minstret();
    uint64_t seed = 7;
    uint64_t v1 = P1 + P2, v2 = P2, v3 = 0, v4 = -P1;
    for (uint64_t i = 0; i < ITERATIONS; i++) {
        uint64_t x = splitmix64(&seed);
        v1 = round64(v1, x);
        v2 = round64(v2, x ^ v1);
        v3 = round64(v3, x + v2);
        v4 = round64(v4, rotl(x, 17) ^ v3);
    }
    uint64_t h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    uint64_t insns = rd_minstret() - start;
    bench_report("hash", insns, h);
    return 0;
}
