/* RVC: every compressed form that RV64 has (written with explicit c.* mnemonics),
 * the RV64-only ones (c.addiw, c.ld/c.sd, c.subw/c.addw, 6-bit shamts), stack-pointer
 * forms (c.addi16sp, c.addi4spn, c.lwsp/c.ldsp/c.swsp/c.sdsp/c.fldsp/c.fsdsp), jumps
 * (c.j, c.jr, c.jalr links pc+2), 32-bit instructions at 2-byte-aligned addresses,
 * and reserved compressed encodings raising illegal instruction with mtval = bits. */
#include "check.h"
#include "trap.h"

static uint64_t area[8] __attribute__((aligned(16)));

/* Runs one compressed instruction on a0 (in/out) with a1 as second operand. */
#define C2(insn, a, b) ({ register uint64_t a0_ __asm__("a0") = (a); register uint64_t a1_ __asm__("a1") = (b); \
    __asm__ volatile(".option push\n\t.option rvc\n\t" insn "\n\t.option pop" : "+r"(a0_) : "r"(a1_)); a0_; })

static void alu(void)
{
    CHECK_EQ(C2("c.li a0, -32", 0, 0), (uint64_t)-32L, "c.li -32");
    CHECK_EQ(C2("c.li a0, 31", 0, 0), 31, "c.li 31");
    CHECK_EQ(C2("c.lui a0, 0xfffe0", 0, 0), 0xfffffffffffe0000UL, "c.lui negative sign-extends");
    CHECK_EQ(C2("c.lui a0, 0x1f", 0, 0), 0x1f000UL, "c.lui positive");
    CHECK_EQ(C2("c.addi a0, -1", 0, 0), ~0UL, "c.addi -1");
    CHECK_EQ(C2("c.addiw a0, 1", 0x7fffffffUL, 0), 0xffffffff80000000UL, "c.addiw sign-extends");
    CHECK_EQ(C2("c.addiw a0, 0", 0x12345678ffffffffUL, 0), ~0UL, "c.addiw 0 = sext.w");
    CHECK_EQ(C2("c.slli a0, 63", 1, 0), 0x8000000000000000UL, "c.slli 63");
    CHECK_EQ(C2("c.srli a0, 60", ~0UL, 0), 0xf, "c.srli 60");
    CHECK_EQ(C2("c.srai a0, 36", 0x8000000000000000UL, 0), 0xfffffffff8000000UL, "c.srai 36");
    CHECK_EQ(C2("c.andi a0, -2", 0xffUL, 0), 0xfeUL, "c.andi -2");
    CHECK_EQ(C2("c.andi a0, 15", 0xffUL, 0), 0xfUL, "c.andi 15");
    CHECK_EQ(C2("c.mv a0, a1", 0, 0x1234), 0x1234, "c.mv");
    CHECK_EQ(C2("c.add a0, a1", 0x7fffffffUL, 1), 0x80000000UL, "c.add is 64-bit");
    CHECK_EQ(C2("c.addw a0, a1", 0x7fffffffUL, 1), 0xffffffff80000000UL, "c.addw sign-extends");
    CHECK_EQ(C2("c.sub a0, a1", 1, 2), ~0UL, "c.sub");
    CHECK_EQ(C2("c.subw a0, a1", 0x100000000UL, 1), ~0UL, "c.subw");
    CHECK_EQ(C2("c.and a0, a1", 0xf0f0UL, 0xff00UL), 0xf000UL, "c.and");
    CHECK_EQ(C2("c.or a0, a1", 0xf0f0UL, 0xff00UL), 0xfff0UL, "c.or");
    CHECK_EQ(C2("c.xor a0, a1", 0xf0f0UL, 0xff00UL), 0x0ff0UL, "c.xor");
    CHECK_EQ(C2("c.nop", 77, 0), 77, "c.nop");
}

static void mem(void)
{
    area[0] = 0x8899aabbccddeeffUL;
    area[1] = 0x0000000080000001UL;
    uint64_t base = (uint64_t)area;
    CHECK_EQ(C2("c.ld a0, 0(a0)", base, 0), 0x8899aabbccddeeffUL, "c.ld");
    CHECK_EQ(C2("c.lw a0, 8(a0)", base, 0), 0xffffffff80000001UL, "c.lw sign-extends");
    C2("c.sd a1, 16(a0)", base, 0x1122334455667788UL);
    CHECK_EQ(area[2], 0x1122334455667788UL, "c.sd");
    C2("c.sw a1, 28(a0)", base, 0xffffffffdeadbeefUL);
    CHECK_EQ(area[3], 0xdeadbeef00000000UL, "c.sw stores only a word");
    /* c.fld / c.fsd through fa0/fa1 */
    uint64_t got;
    __asm__ volatile(".option push\n\t.option rvc\n\tc.fld fa0, 0(%1)\n\tc.fsd fa0, 32(%1)\n\t.option pop\n\t"
                     "ld %0, 32(%1)" : "=r"(got) : "r"(area) : "fa0", "memory");
    CHECK_EQ(got, 0x8899aabbccddeeffUL, "c.fld / c.fsd bit-exact");

    /* sp-relative forms, on a private stack area */
    uint64_t r1, r2, r3, r4, spdiff, spn;
    __asm__ volatile(
        ".option push\n\t.option rvc\n\t"
        "mv t1, sp\n\t"
        "mv sp, %6\n\t"
        "c.addi16sp sp, -512\n\t"
        "c.addi16sp sp, 496\n\t"
        "sub %4, %6, sp\n\t"            /* 16 */
        "li t0, -3\n\t"
        "c.sdsp t0, 8(sp)\n\t"
        "c.swsp t0, 0(sp)\n\t"
        "c.ldsp %0, 8(sp)\n\t"
        "c.lwsp %1, 0(sp)\n\t"
        "lwu %2, 0(sp)\n\t"
        "c.fsdsp fa0, 8(sp)\n\t"
        "c.fldsp fa1, 8(sp)\n\t"
        "fmv.x.d %3, fa1\n\t"
        "c.addi4spn a0, sp, 1020\n\t"
        "sub %5, a0, sp\n\t"
        "mv sp, t1\n\t"
        ".option pop"
        : "=&r"(r1), "=&r"(r2), "=&r"(r3), "=&r"(r4), "=&r"(spdiff), "=&r"(spn)
        : "r"((uint64_t)&area[8] + 256 - 0)
        : "t0", "t1", "a0", "fa0", "fa1", "memory");
    (void)r4;
    CHECK_EQ(spdiff, 16, "c.addi16sp -512 then +496");
    CHECK_EQ(r1, (uint64_t)-3L, "c.sdsp / c.ldsp");
    CHECK_EQ(r2, (uint64_t)-3L, "c.lwsp sign-extends");
    CHECK_EQ(r3, 0xfffffffdUL, "c.swsp stores a word");
    CHECK_EQ(spn, 1020, "c.addi4spn 1020");
}

static char scratch_stack[512] __attribute__((aligned(16)));

static void jumps(void)
{
    uint64_t r, link, expect;
    __asm__ volatile(".option push\n\t.option rvc\n\tli %0, 1\n\tc.j 1f\n\tli %0, 2\n1:\n\t.option pop" : "=&r"(r));
    CHECK_EQ(r, 1, "c.j");
    __asm__ volatile(".option push\n\t.option rvc\n\tli %0, 0\n\tc.beqz %0, 1f\n\tli %0, 2\n1:\n\t.option pop" : "=&r"(r));
    CHECK_EQ(r, 0, "c.beqz taken");
    __asm__ volatile(".option push\n\t.option rvc\n\tli %0, 5\n\tc.bnez %0, 1f\n\tli %0, 2\n1:\n\t.option pop" : "=&r"(r));
    CHECK_EQ(r, 5, "c.bnez taken");
    __asm__ volatile(".option push\n\t.option rvc\n\tli %0, 0\n\tc.bnez %0, 1f\n\tli %0, 2\n1:\n\t.option pop" : "=&r"(r));
    CHECK_EQ(r, 2, "c.bnez not taken");
    __asm__ volatile(".option push\n\t.option rvc\n\tla t0, 1f\n\tli %0, 0\n\tc.jr t0\n\tli %0, 9\n1:\n\t.option pop" : "=&r"(r) : : "t0");
    CHECK_EQ(r, 0, "c.jr");
    __asm__ volatile(".option push\n\t.option rvc\n\tla t0, 1f\n\tc.jalr t0\n2:\tc.nop\n1:\tmv %0, ra\n\tla %1, 2b\n\t.option pop"
                     : "=&r"(link), "=&r"(expect) : : "t0", "ra");
    CHECK_EQ(link, expect, "c.jalr links pc+2");
    /* A 32-bit instruction at a 2-byte (not 4-byte) aligned address. */
    __asm__ volatile(".option push\n\t.option rvc\n\t.balign 4\n\tc.nop\n\tlui %0, 0x12345\n\t"
                     "c.addi %0, 6\n\t.option pop" : "=&r"(r));
    CHECK_EQ(r, 0x12345006UL, "32-bit insn at pc%4==2");
    (void)scratch_stack;
}

/* Reserved encodings: illegal instruction, mtval = the 16-bit encoding. */
static void illegal(void)
{
    static const struct { uint16_t bits; const char *name; } cases[] = {
        { 0x0000, "c 0x0000 (all zero) illegal" },
        { 0x0004, "c.addi4spn nzuimm=0 illegal" },
        { 0x6201, "c.lui x4 imm=0 illegal (even rd: not a Zcmop)" },
        { 0x6101, "c.addi16sp imm=0 illegal" },
        { 0x8002, "c.jr x0 illegal" },
        { 0x4002, "c.lwsp rd=x0 illegal" },
        { 0x6002, "c.ldsp rd=x0 illegal" },
        { 0x9c7d, "reserved CA encoding 0x9c7d illegal (also with Zcb)" },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_mtrap();
        switch (i) {
        case 0: __asm__ volatile(".2byte 0x0000"); break;
        case 1: __asm__ volatile(".2byte 0x0004"); break;
        case 2: __asm__ volatile(".2byte 0x6201"); break;
        case 3: __asm__ volatile(".2byte 0x6101"); break;
        case 4: __asm__ volatile(".2byte 0x8002"); break;
        case 5: __asm__ volatile(".2byte 0x4002"); break;
        case 6: __asm__ volatile(".2byte 0x6002"); break;
        case 7: __asm__ volatile(".2byte 0x9c7d"); break;
        }
        CHECK(mtrap.cause == CAUSE_ILLEGAL && mtrap.tval == cases[i].bits, cases[i].name);
        if (mtrap.cause != CAUSE_ILLEGAL || mtrap.tval != cases[i].bits)
            gprintf("     cause=%lu tval=0x%lx\n", (unsigned long)mtrap.cause, (unsigned long)mtrap.tval);
    }
    /* c.ebreak is a breakpoint (cause 3); the handler skips 2 bytes. */
    expect_mtrap();
    __asm__ volatile(".option push\n\t.option rvc\n\tc.ebreak\n\t.option pop");
    CHECK_EQ(mtrap.cause, CAUSE_BREAKPOINT, "c.ebreak breakpoint");
}

int main(void)
{
    alu();
    mem();
    jumps();
    illegal();
    return check_finish();
}
