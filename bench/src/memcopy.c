/* memcopy: copies 64 MiB between two buffers with 64-bit loads and stores
 * (8x unrolled), back and forth, many passes; the source is filled once first. */
#include "mem.h"

#define PASSES 10

int main(void)
{
    uint64_t start = rd_minstret();
    uint64_t *a = mem_buffer(0), *b = mem_buffer(1), h = 0;
    mem_fill(a, MEM_WORDS, 0x1234567800000000ULL);
    for (uint64_t pass = 0; pass < PASSES; pass++) {
        if (pass & 1) {
            mem_copy(a, b, MEM_WORDS);
            a[pass * 8191 % MEM_WORDS] += pass;
        } else {
            mem_copy(b, a, MEM_WORDS);
            b[pass * 8191 % MEM_WORDS] += pass;
        }
    }
    h = mix(mem_sample(a, MEM_WORDS), mem_sample(b, MEM_WORDS));
    uint64_t insns = rd_minstret() - start;
    bench_report("memcopy", insns, h);
    return 0;
}
