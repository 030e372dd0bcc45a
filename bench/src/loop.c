/* loop: the simplest compute loop, for the tier-0 throughput (guest MIPS) figure.
 * Four integer instructions per iteration (add, xor, addi, bnez), no memory. */
#include "bench.h"

#define ITERATIONS 600000000UL

int main(void)
{
    uint64_t n = ITERATIONS, a = 0x12345678, b = 0x9abcdef;
    uint64_t start = rd_minstret();
    __asm__ volatile("1:\n"
                     "  add  %1, %1, %2\n"
                     "  xor  %2, %2, %1\n"
                     "  addi %0, %0, -1\n"
                     "  bnez %0, 1b\n"
                     : "+r"(n), "+r"(a), "+r"(b));
    uint64_t insns = rd_minstret() - start;
    bench_report("loop", insns, mix(a, b));
    return 0;
}
