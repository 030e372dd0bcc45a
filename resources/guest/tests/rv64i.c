/* RV64I: ALU (W-ops sign extension, shift-amount masking), slt/sltu, lui/auipc,
 * branches, jal/jalr, loads/stores of every size and sign, misaligned accesses. */
#include "check.h"
#include "insn.h"
#include "trap.h"

static uint8_t buf[64] __attribute__((aligned(16)));

/* Misaligned access: the privileged spec lets an EEI either perform it or raise
 * address-misaligned (4/6) or access-fault (5/7) with tval = the address. */
static void misaligned(void)
{
    for (int i = 0; i < 16; i++)
        buf[i] = (uint8_t)(0x10 + i);
    uint64_t addr = (uint64_t)&buf[1];
    uint64_t v = 0;
    expect_mtrap();
    __asm__ volatile("lw %0, 0(%1)" : "=r"(v) : "r"(addr) : "memory");
    if (mtrap_armed) {
        mtrap_armed = 0;
        CHECK_EQ(v, 0x14131211, "misaligned lw performed");
    } else {
        CHECK(mtrap.cause == CAUSE_MISALIGNED_LOAD || mtrap.cause == CAUSE_LOAD_ACCESS,
              "misaligned lw trap cause 4/5");
        CHECK_EQ(mtrap.tval, addr, "misaligned lw tval");
    }
    addr = (uint64_t)&buf[3];
    expect_mtrap();
    __asm__ volatile("ld %0, 0(%1)" : "=r"(v) : "r"(addr) : "memory");
    if (mtrap_armed) {
        mtrap_armed = 0;
        CHECK_EQ(v, 0x1a19181716151413UL, "misaligned ld performed");
    } else {
        CHECK(mtrap.cause == CAUSE_MISALIGNED_LOAD || mtrap.cause == CAUSE_LOAD_ACCESS,
              "misaligned ld trap cause 4/5");
        CHECK_EQ(mtrap.tval, addr, "misaligned ld tval");
    }
    addr = (uint64_t)&buf[5];
    expect_mtrap();
    __asm__ volatile("sd %0, 0(%1)" ::"r"(0x0102030405060708UL), "r"(addr) : "memory");
    if (mtrap_armed) {
        mtrap_armed = 0;
        CHECK(buf[4] == 0x14 && buf[5] == 0x08 && buf[12] == 0x01 && buf[13] == 0x1d,
              "misaligned sd performed");
    } else {
        CHECK(mtrap.cause == CAUSE_MISALIGNED_STORE || mtrap.cause == CAUSE_STORE_ACCESS,
              "misaligned sd trap cause 6/7");
        CHECK_EQ(mtrap.tval, addr, "misaligned sd tval");
        CHECK(buf[5] == 0x15, "misaligned sd trapped without writing");
    }
    addr = (uint64_t)&buf[7];
    expect_mtrap();
    __asm__ volatile("lhu %0, 0(%1)" : "=r"(v) : "r"(addr) : "memory");
    if (mtrap_armed) {
        mtrap_armed = 0;
        CHECK_EQ(v, (uint64_t)buf[7] | ((uint64_t)buf[8] << 8), "misaligned lhu performed");
    } else {
        CHECK(mtrap.cause == CAUSE_MISALIGNED_LOAD || mtrap.cause == CAUSE_LOAD_ACCESS,
              "misaligned lhu trap cause 4/5");
        CHECK_EQ(mtrap.tval, addr, "misaligned lhu tval");
    }
}

static void loads_stores(void)
{
    volatile uint64_t *d = (volatile uint64_t *)buf;
    d[0] = 0x8182838485868788UL;
    d[1] = 0;
    uint64_t a = (uint64_t)buf, v;
    __asm__ volatile("lb %0, 0(%1)" : "=r"(v) : "r"(a) : "memory");
    CHECK_EQ(v, 0xffffffffffffff88UL, "lb sign-extends");
    __asm__ volatile("lbu %0, 0(%1)" : "=r"(v) : "r"(a) : "memory");
    CHECK_EQ(v, 0x88, "lbu zero-extends");
    __asm__ volatile("lh %0, 2(%1)" : "=r"(v) : "r"(a) : "memory");
    CHECK_EQ(v, 0xffffffffffff8586UL, "lh sign-extends");
    __asm__ volatile("lhu %0, 2(%1)" : "=r"(v) : "r"(a) : "memory");
    CHECK_EQ(v, 0x8586, "lhu zero-extends");
    __asm__ volatile("lw %0, 4(%1)" : "=r"(v) : "r"(a) : "memory");
    CHECK_EQ(v, 0xffffffff81828384UL, "lw sign-extends");
    __asm__ volatile("lwu %0, 4(%1)" : "=r"(v) : "r"(a) : "memory");
    CHECK_EQ(v, 0x81828384UL, "lwu zero-extends");
    __asm__ volatile("ld %0, 0(%1)" : "=r"(v) : "r"(a) : "memory");
    CHECK_EQ(v, 0x8182838485868788UL, "ld");
    __asm__ volatile("addi %0, %1, 16\n\tld %0, -8(%0)" : "=&r"(v) : "r"(a) : "memory");
    CHECK_EQ(v, 0, "ld negative offset");
    __asm__ volatile("sb %0, 9(%1)" ::"r"(0x1234567890abcdefUL), "r"(a) : "memory");
    __asm__ volatile("sh %0, 10(%1)" ::"r"(0x1234567890abcdefUL), "r"(a) : "memory");
    __asm__ volatile("sw %0, 12(%1)" ::"r"(0x1234567890abcdefUL), "r"(a) : "memory");
    CHECK_EQ(d[1], 0x90abcdefcdefef00UL, "sb/sh/sw store only their bytes");
    __asm__ volatile("sd %0, 8(%1)" ::"r"(0x1234567890abcdefUL), "r"(a) : "memory");
    CHECK_EQ(d[1], 0x1234567890abcdefUL, "sd");
    CHECK_EQ(d[0], 0x8182838485868788UL, "neighbour untouched");
    __asm__ volatile("lw x0, 0(%0)\n\taddi x0, x0, 5\n\tmv %1, x0" : : "r"(a), "r"(0) : "memory");
    __asm__ volatile("lui x0, 0x12345\n\tmv %0, x0" : "=r"(v));
    CHECK_EQ(v, 0, "x0 stays zero");
}

static void alu(void)
{
    CHECK_EQ(RR("add", 0x7fffffffffffffffUL, 1), 0x8000000000000000UL, "add wraps");
    CHECK_EQ(RR("addw", 0x7fffffff, 1), 0xffffffff80000000UL, "addw sign-extends");
    CHECK_EQ(RR("addw", 0xffffffff00000001UL, 0x10000000fffffffeUL), 0xffffffffffffffffUL,
             "addw ignores upper bits");
    CHECK_EQ(RR("subw", 0, 0x80000000UL), 0xffffffff80000000UL, "subw 0-MIN");
    CHECK_EQ(RR("sub", 0, 1), ~0UL, "sub borrow");
    CHECK_EQ(RI("addiw", 0x00000000ffffffffUL, 0), ~0UL, "addiw 0 = sext.w");
    CHECK_EQ(RI("addiw", 0x7fffffffUL, 1), 0xffffffff80000000UL, "addiw overflow");
    CHECK_EQ(RI("addi", 5, -2048), (uint64_t)(5 - 2048), "addi -2048");
    CHECK_EQ(RI("xori", 0x0f0f, -1), ~0x0f0fUL, "xori -1 = not");
    CHECK_EQ(RI("andi", ~0UL, -16), ~0xfUL, "andi sign-extended imm");
    CHECK_EQ(RI("ori", 0, 0x7ff), 0x7ff, "ori");
    CHECK_EQ(RR("and", 0xff00ff00ff00ff00UL, 0x0ff00ff00ff00ff0UL), 0x0f000f000f000f00UL, "and");
    CHECK_EQ(RR("or", 0xff00UL, 0x0ff0UL), 0xfff0UL, "or");
    CHECK_EQ(RR("xor", 0xff00UL, 0x0ff0UL), 0xf0f0UL, "xor");
    /* shifts: only shamt[5:0] (W: [4:0]) count */
    CHECK_EQ(RR("sll", 1, 64 + 3), 8, "sll masks shamt to 6 bits");
    CHECK_EQ(RR("sll", 1, 63), 0x8000000000000000UL, "sll 63");
    CHECK_EQ(RR("srl", 0x8000000000000000UL, 63 + 64), 1, "srl masks shamt");
    CHECK_EQ(RR("sra", 0x8000000000000000UL, 63), ~0UL, "sra 63");
    CHECK_EQ(RR("sllw", 1, 33), 2, "sllw masks shamt to 5 bits");
    CHECK_EQ(RR("sllw", 1, 31), 0xffffffff80000000UL, "sllw sign-extends");
    CHECK_EQ(RR("srlw", 0xffffffff80000000UL, 0), 0xffffffff80000000UL, "srlw 0 sign-extends");
    CHECK_EQ(RR("srlw", 0xffffffff80000000UL, 31), 1, "srlw 31");
    CHECK_EQ(RR("srlw", 0x0000000180000000UL, 32 + 4), 0x08000000, "srlw ignores upper source bits");
    CHECK_EQ(RR("sraw", 0x80000000UL, 31), ~0UL, "sraw uses bit 31 as sign");
    CHECK_EQ(RR("sraw", 0x7fffffff00000000UL, 4), 0, "sraw ignores upper source bits");
    CHECK_EQ(RI("slli", 3, 62), 0xc000000000000000UL, "slli 62");
    CHECK_EQ(RI("srli", ~0UL, 60), 0xf, "srli 60");
    CHECK_EQ(RI("srai", 0x8000000000000000UL, 4), 0xf800000000000000UL, "srai 4");
    CHECK_EQ(RI("slliw", 0x3, 31), 0xffffffff80000000UL, "slliw sign-extends");
    CHECK_EQ(RI("srliw", 0xffffffffffffffffUL, 4), 0x0fffffffUL, "srliw zero-fills from bit 31");
    CHECK_EQ(RI("sraiw", 0x0000000080000000UL, 4), 0xfffffffff8000000UL, "sraiw");
    /* compares */
    CHECK_EQ(RR("slt", -1L, 1), 1, "slt -1 < 1");
    CHECK_EQ(RR("sltu", -1L, 1), 0, "sltu max !< 1");
    CHECK_EQ(RR("slt", 0x8000000000000000UL, 0x7fffffffffffffffUL), 1, "slt MIN < MAX");
    CHECK_EQ(RR("slt", 5, 5), 0, "slt equal");
    CHECK_EQ(RI("slti", -5L, -4), 1, "slti negative");
    CHECK_EQ(RI("sltiu", 5, -1), 1, "sltiu imm -1 is max unsigned");
    CHECK_EQ(RI("sltiu", 0, 1), 1, "sltiu 1 = seqz");
    CHECK_EQ(RI("sltiu", 7, 1), 0, "sltiu 1 of nonzero");
    CHECK_EQ(RR("sltu", 0, 7), 1, "sltu 0 < x = snez");
    /* lui / auipc */
    uint64_t v;
    __asm__ volatile("lui %0, 0x80000" : "=r"(v));
    CHECK_EQ(v, 0xffffffff80000000UL, "lui sign-extends");
    __asm__ volatile("lui %0, 0x7ffff" : "=r"(v));
    CHECK_EQ(v, 0x7ffff000UL, "lui positive");
    uint64_t pc1, pc2;
    __asm__ volatile("1: auipc %0, 0\n\tla %1, 1b" : "=r"(pc1), "=r"(pc2));
    CHECK_EQ(pc1, pc2, "auipc 0 = pc");
    __asm__ volatile("1: auipc %0, 0xfffff\n\tla %1, 1b" : "=r"(pc1), "=r"(pc2));
    CHECK_EQ(pc1, pc2 - 0x1000, "auipc negative");
}

static void branches(void)
{
    uint64_t r;
#define BR(op, a, b) ({ __asm__ volatile("li %0, 1\n\t" op " %1, %2, 1f\n\tli %0, 0\n1:" \
                                          : "=&r"(r) : "r"((uint64_t)(a)), "r"((uint64_t)(b))); r; })
    CHECK_EQ(BR("beq", 5, 5), 1, "beq taken");
    CHECK_EQ(BR("beq", 5, 6), 0, "beq not taken");
    CHECK_EQ(BR("bne", 5, 6), 1, "bne taken");
    CHECK_EQ(BR("blt", -1L, 0), 1, "blt signed");
    CHECK_EQ(BR("blt", 0, -1L), 0, "blt signed not");
    CHECK_EQ(BR("bltu", 0, -1L), 1, "bltu unsigned");
    CHECK_EQ(BR("bltu", -1L, 0), 0, "bltu unsigned not");
    CHECK_EQ(BR("bge", 3, 3), 1, "bge equal");
    CHECK_EQ(BR("bge", 0x8000000000000000UL, 0), 0, "bge MIN >= 0 false");
    CHECK_EQ(BR("bgeu", 0x8000000000000000UL, 0), 1, "bgeu");
    CHECK_EQ(BR("bgeu", 2, 3), 0, "bgeu not");
    /* jal / jalr */
    uint64_t link, expect;
    __asm__ volatile(".option push\n\t.option norvc\n\tjal %0, 1f\n2: nop\n1: la %1, 2b\n\t.option pop" : "=r"(link), "=r"(expect));
    CHECK_EQ(link, expect, "jal links pc+4");
    uint64_t hit;
    __asm__ volatile("la t0, 1f\n\taddi t0, t0, 1\n\tli %0, 0\n\tjalr %1, 0(t0)\n\t"
                     "3: li %0, 2\n\tj 2f\n\t.balign 4\n1: li %0, 1\n2:\n\tla %2, 3b"
                     : "=&r"(hit), "=&r"(link), "=r"(expect) : : "t0");
    CHECK_EQ(hit, 1, "jalr clears target lsb");
    CHECK_EQ(link, expect, "jalr links pc+4");
    __asm__ volatile(".option push\n\t.option norvc\n\tli %0, 5\n\tla t0, 1f\n\taddi t0, t0, -4\n\t"
                     "jalr t0, 12(t0)\n1: li %0, 1\n\tj 2f\n\tli %0, 0\n2: mv %1, t0\n\tla %2, 1b\n\t"
                     ".option pop"
                     : "=&r"(hit), "=&r"(link), "=&r"(expect) : : "t0");
    CHECK_EQ(hit, 0, "jalr rd=rs1 jumps to old rs1+imm");
    CHECK_EQ(link, expect, "jalr rd=rs1 links pc+4");
}

int main(void)
{
    alu();
    branches();
    loads_stores();
    misaligned();
    __asm__ volatile("fence\n\tfence.i\n\tfence rw, rw" ::: "memory");
    CHECK(1, "fence / fence.i execute");
    return check_finish();
}
