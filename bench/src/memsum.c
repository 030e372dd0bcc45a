/* memsum: sums a 64 MiB buffer with 64-bit loads (8x unrolled, four
 * accumulators), many passes; the buffer is filled once first and one word
 * changes between passes. */
#include "mem.h"

#define PASSES 40

int main(void)
{
    uint64_t start = rd_minstret();
    uint64_t *buf = mem_buffer(0), h = 0;
    mem_fill(buf, MEM_WORDS, 0x0123456789abcdefULL);
    for (uint64_t pass = 0; pass < PASSES; pass++) {
        h = mix(h, mem_sum(buf, MEM_WORDS));
        buf[pass * 12289 % MEM_WORDS] ^= h;
    }
    uint64_t insns = rd_minstret() - start;
    bench_report("memsum", insns, h);
    return 0;
}
