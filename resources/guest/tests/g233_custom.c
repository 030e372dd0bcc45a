/* G233 custom instructions (g233-only; spec section 4, opcode 0x7B funct3 6, rd is an
 * input): dma (matrix transpose, g = 0..2, g > 2 illegal), sort (bubble sort of the
 * first min(k, n) signed words), crush and expand (nibble pack/unpack), faults from
 * bad addresses reported at the instruction, other funct7 values illegal. */
#include "check.h"
#include "trap.h"

#define CUSTOM(f7, rdv, rs1v, rs2v) do { \
    register uint64_t rd_ __asm__("a1") = (uint64_t)(rdv); \
    register uint64_t rs1_ __asm__("a0") = (uint64_t)(rs1v); \
    register uint64_t rs2_ __asm__("a2") = (uint64_t)(rs2v); \
    __asm__ volatile(".insn r 0x7b, 6, " #f7 ", %0, %1, %2" : : "r"(rd_), "r"(rs1_), "r"(rs2_) : "memory"); \
} while (0)
#define DMA(dst, src, g) CUSTOM(6, dst, src, g)
#define SORT(k, arr, n) CUSTOM(22, k, arr, n)
#define CRUSH(dst, src, n) CUSTOM(38, dst, src, n)
#define EXPAND(dst, src, n) CUSTOM(54, dst, src, n)

static uint32_t src[32 * 32 + 8] __attribute__((aligned(64)));
static uint32_t dst[32 * 32 + 8] __attribute__((aligned(64)));

static void encoding(void)
{
    uint32_t word;
    __asm__ volatile("la t0, 1f\n\tlwu %0, 0(t0)\n\tj 2f\n1:\t.insn r 0x7b, 6, 6, a1, a0, a2\n2:" : "=r"(word) : : "t0");
    CHECK_EQ(word, 0x0cc565fb, "dma a1, a0, a2 encodes as 0x0cc565fb");
}

static void dma(void)
{
    for (unsigned g = 0; g <= 2; g++) {
        unsigned n = 8u << g;
        for (unsigned k = 0; k < n * n; k++)
            src[k] = 0x9e3779b9u * (k + 1) ^ (k << 3);
        for (unsigned k = 0; k < n * n + 8; k++)
            dst[k] = 0xdeadbeefu;
        DMA(dst, src, g);
        int ok = 1;
        for (unsigned i = 0; i < n; i++)
            for (unsigned j = 0; j < n; j++)
                ok &= dst[j * n + i] == src[i * n + j];
        int guard = 1;
        for (unsigned k = n * n; k < n * n + 8; k++)
            guard &= dst[k] == 0xdeadbeefu;
        static const char *const names[3] = { "dma g=0 (8x8) transposes", "dma g=1 (16x16) transposes",
                                              "dma g=2 (32x32) transposes" };
        CHECK(ok, names[g]);
        CHECK(guard, "dma writes nothing past n*n words");
    }
    /* in place is not required; the source must be unchanged */
    CHECK_EQ(src[1], 0x9e3779b9u * 2 ^ (1 << 3), "dma leaves the source unchanged");
    /* g > 2: illegal, mtval = encoding, nothing written */
    dst[0] = 0x12345678;
    expect_mtrap();
    DMA(dst, src, 3);
    CHECK(mtrap.cause == CAUSE_ILLEGAL && mtrap.tval == 0x0cc565fb, "dma g=3 illegal, mtval = bits");
    CHECK_EQ(dst[0], 0x12345678, "illegal dma wrote nothing");
    /* bad source address: load access fault at the instruction */
    uint64_t pc;
    expect_mtrap();
    {
        register uint64_t rd_ __asm__("a1") = (uint64_t)dst;
        register uint64_t rs1_ __asm__("a0") = 0x40000000UL;
        register uint64_t rs2_ __asm__("a2") = 0;
        __asm__ volatile("la %0, 1f\n1:\t.insn r 0x7b, 6, 6, %1, %2, %3" : "=&r"(pc) : "r"(rd_), "r"(rs1_), "r"(rs2_) : "memory");
    }
    CHECK(mtrap.cause == CAUSE_LOAD_ACCESS && mtrap.epc == pc, "dma from unmapped source: load access fault at the insn");
    CHECK(mtrap.tval >= 0x40000000UL && mtrap.tval < 0x40000000UL + 256, "dma fault tval = faulting address");
    expect_mtrap();
    DMA(0x40000000UL, src, 0);
    CHECK_EQ(mtrap.cause, CAUSE_STORE_ACCESS, "dma to unmapped destination: store access fault");
}

static void sort(void)
{
    int32_t *a = (int32_t *)src;
    static const int32_t in[10] = { 5, -3, 9, 0, -2147483647 - 1, 7, 2147483647, -1, 4, 3 };
    for (int i = 0; i < 10; i++)
        a[i] = in[i];
    SORT(10, a, 10);
    static const int32_t all[10] = { -2147483647 - 1, -3, -1, 0, 3, 4, 5, 7, 9, 2147483647 };
    int ok = 1;
    for (int i = 0; i < 10; i++)
        ok &= a[i] == all[i];
    CHECK(ok, "sort k=n: ascending, signed");
    for (int i = 0; i < 10; i++)
        a[i] = in[i];
    SORT(4, a, 10);
    static const int32_t part[10] = { -3, 0, 5, 9, -2147483647 - 1, 7, 2147483647, -1, 4, 3 };
    ok = 1;
    for (int i = 0; i < 10; i++)
        ok &= a[i] == part[i];
    CHECK(ok, "sort k=4 < n: only the first 4 sorted, rest untouched");
    for (int i = 0; i < 10; i++)
        a[i] = in[i];
    a[10] = -100;
    SORT(1000, a, 10);
    ok = a[10] == -100;
    for (int i = 0; i < 10; i++)
        ok &= a[i] == all[i];
    CHECK(ok, "sort k > n sorts n elements only");
    for (int i = 0; i < 10; i++)
        a[i] = in[i];
    SORT(0, a, 10);
    ok = 1;
    for (int i = 0; i < 10; i++)
        ok &= a[i] == in[i];
    CHECK(ok, "sort k=0 changes nothing");
}

static void crush_expand(void)
{
    uint8_t *s = (uint8_t *)src, *d = (uint8_t *)dst;
    for (int i = 0; i < 16; i++) {
        s[i] = (uint8_t)(0xf0 | i) ^ (uint8_t)(i << 4);
        d[i] = 0xee;
    }
    CRUSH(d, s, 8);
    int ok = 1;
    for (int i = 0; i < 4; i++)
        ok &= d[i] == ((s[2 * i] & 0xf) | (s[2 * i + 1] & 0xf) << 4);
    CHECK(ok, "crush n=8 packs low nibbles");
    CHECK_EQ(d[4], 0xee, "crush n=8 writes n/2 bytes");
    for (int i = 0; i < 8; i++)
        d[i] = 0xee;
    CRUSH(d, s, 7);
    ok = d[3] == (s[6] & 0xf) && d[4] == 0xee;
    for (int i = 0; i < 3; i++)
        ok &= d[i] == ((s[2 * i] & 0xf) | (s[2 * i + 1] & 0xf) << 4);
    CHECK(ok, "crush odd n: last byte = low nibble of src[n-1]");
    for (int i = 0; i < 16; i++)
        d[i] = 0xee;
    s[0] = 0xa5;
    s[1] = 0x3c;
    s[2] = 0xf0;
    EXPAND(d, s, 3);
    CHECK(d[0] == 0x5 && d[1] == 0xa && d[2] == 0xc && d[3] == 0x3 && d[4] == 0x0 && d[5] == 0xf,
          "expand splits nibbles, low first");
    CHECK_EQ(d[6], 0xee, "expand writes 2n bytes");
    d[0] = 0xee;
    EXPAND(d, s, 0);
    CHECK_EQ(d[0], 0xee, "expand n=0 writes nothing");
    expect_mtrap();
    EXPAND(d, 0x40000000UL, 4);
    CHECK_EQ(mtrap.cause, CAUSE_LOAD_ACCESS, "expand from unmapped source faults");
}

static void other_funct7(void)
{
    expect_mtrap();
    CUSTOM(0, dst, src, 0);
    CHECK_EQ(mtrap.cause, CAUSE_ILLEGAL, "custom-3 funct3 6 funct7 0: illegal");
    expect_mtrap();
    __asm__ volatile(".insn r 0x7b, 0, 6, a1, a0, a2" ::: "memory");
    CHECK_EQ(mtrap.cause, CAUSE_ILLEGAL, "custom-3 funct3 0: illegal");
}

int main(void)
{
    encoding();
    dma();
    sort();
    crush_expand();
    other_funct7();
    return check_finish();
}
