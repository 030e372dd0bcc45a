/* Shared runtime of the benchmarks: semihosting console and exit, minstret,
 * result reporting and a deterministic PRNG. */
#ifndef BENCH_H
#define BENCH_H
#include <stdint.h>

#define SYS_WRITE0 0x04
#define SYS_EXIT 0x18
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

/* First free byte past the image, 2 MiB aligned (from the linker script). */
extern char __heap_start[];

/* Semihosting call `op` with parameter `arg`; returns the host's a0. */
long sh_call(long op, long arg);
/* Writes a NUL-terminated string to the console. */
void sh_puts(const char *s);
/* Ends the program with exit code `code` (SYS_EXIT_EXTENDED). */
void sh_exit(long code) __attribute__((noreturn));
/* Prints "<label><decimal v>\n". */
void print_dec(const char *label, uint64_t v);
/* Prints "<label>0x<16 hex digits>\n". */
void print_hex(const char *label, uint64_t v);
/* Prints the result line the runner parses:
 * "RESULT name=<name> insns=<n> checksum=0x<hex>". */
void bench_report(const char *name, uint64_t insns, uint64_t checksum);
/* Called from the default M-mode trap vector: prints the cause and exits(3). */
void bench_unexpected_trap(uint64_t cause, uint64_t epc, uint64_t tval) __attribute__((noreturn));

/* Instructions retired so far (M-mode minstret). */
static inline uint64_t rd_minstret(void)
{
    uint64_t v;
    __asm__ volatile("csrr %0, minstret" : "=r"(v));
    return v;
}

/* splitmix64 step: a small deterministic PRNG over `*state`. */
static inline uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Bit pattern of a double, for exact FP checksums. */
static inline uint64_t dbits(double d)
{
    union { double d; uint64_t u; } u = { .d = d };
    return u.u;
}

/* Mixes `v` into checksum `h` (order-dependent). */
static inline uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}

#endif
