/* memfill: fills a 64 MiB buffer with 64-bit stores (8x unrolled), many passes,
 * each with a different pattern. */
#include "mem.h"

#define PASSES 25

int main(void)
{
    uint64_t start = rd_minstret();
    uint64_t *buf = mem_buffer(0), h = 0;
    for (uint64_t pass = 0; pass < PASSES; pass++) {
        mem_fill(buf, MEM_WORDS, pass * 0x0101010101010101ULL);
        h = mix(h, buf[(pass * 4099) % MEM_WORDS]);
    }
    h = mix(h, mem_sample(buf, MEM_WORDS));
    uint64_t insns = rd_minstret() - start;
    bench_report("memfill", insns, h);
    return 0;
}
