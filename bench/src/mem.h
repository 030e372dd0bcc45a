/* Helpers of the memory benchmarks: a 64 MiB buffer (two for memcopy) past the
 * image, filled, copied and summed with unrolled 64-bit accesses. */
#ifndef BENCH_MEM_H
#define BENCH_MEM_H
#include "bench.h"

#define MEM_BYTES (64UL << 20)
#define MEM_WORDS (MEM_BYTES / 8)

/* The i-th 64 MiB buffer (i = 0 or 1). */
static inline uint64_t *mem_buffer(int i)
{
    return (uint64_t *)(__heap_start + (uint64_t)i * MEM_BYTES);
}

/* Fills `n` words (multiple of 8) with v, v + 1, v + 2, ... */
static inline void mem_fill(uint64_t *p, uint64_t n, uint64_t v)
{
    for (uint64_t i = 0; i < n; i += 8) {
        p[i + 0] = v;
        p[i + 1] = v + 1;
        p[i + 2] = v + 2;
        p[i + 3] = v + 3;
        p[i + 4] = v + 4;
        p[i + 5] = v + 5;
        p[i + 6] = v + 6;
        p[i + 7] = v + 7;
        v += 8;
    }
}

/* Copies `n` words (multiple of 8) from s to d. */
static inline void mem_copy(uint64_t *d, const uint64_t *s, uint64_t n)
{
    for (uint64_t i = 0; i < n; i += 8) {
        uint64_t a0 = s[i + 0], a1 = s[i + 1], a2 = s[i + 2], a3 = s[i + 3];
        uint64_t a4 = s[i + 4], a5 = s[i + 5], a6 = s[i + 6], a7 = s[i + 7];
        d[i + 0] = a0;
        d[i + 1] = a1;
        d[i + 2] = a2;
        d[i + 3] = a3;
        d[i + 4] = a4;
        d[i + 5] = a5;
        d[i + 6] = a6;
        d[i + 7] = a7;
    }
}

/* Sum of `n` words (multiple of 8), four independent accumulators. */
static inline uint64_t mem_sum(const uint64_t *p, uint64_t n)
{
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (uint64_t i = 0; i < n; i += 8) {
        s0 += p[i + 0] + p[i + 4];
        s1 += p[i + 1] + p[i + 5];
        s2 += p[i + 2] + p[i + 6];
        s3 += p[i + 3] + p[i + 7];
    }
    return s0 ^ (s1 << 1) ^ (s2 << 2) ^ (s3 << 3);
}

/* Checksum of every 4 KiB page's first and last word. */
static inline uint64_t mem_sample(const uint64_t *p, uint64_t n)
{
    uint64_t h = 0;
    for (uint64_t i = 0; i < n; i += 512)
        h = mix(h, p[i] ^ (p[i + 511] << 1));
    return h;
}

#endif
