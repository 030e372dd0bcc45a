/* RVA23 extensions QEMU 7.2 does not implement, so this program is g233/vmm-only
 * and its expected values come from the ratified specifications (comments give
 * the reasoning): Zicond, Zcb, Zfa, Zicboz (64-byte blocks, Zic64b), Zicbom in M,
 * Zihintpause. Encodings are emitted with .insn/.2byte (binutils 2.40 lacks them). */
#include "check.h"
#include "trap.h"

/* While set, an illegal instruction (extension missing) is counted and skipped so
 * that the remaining checks still report individually. */
static volatile int tolerate_illegal;
static volatile unsigned illegal_seen;

/* Zicond: czero.eqz rd = rs2 == 0 ? 0 : rs1; czero.nez rd = rs2 != 0 ? 0 : rs1.
 * OP opcode 0x33, funct7 0000111, funct3 101 (eqz) / 111 (nez). */
#define CZERO_EQZ(a, b) ({ uint64_t r_; __asm__ volatile(".insn r 0x33, 5, 7, %0, %1, %2" : "=r"(r_) : "r"((uint64_t)(a)), "r"((uint64_t)(b))); r_; })
#define CZERO_NEZ(a, b) ({ uint64_t r_; __asm__ volatile(".insn r 0x33, 7, 7, %0, %1, %2" : "=r"(r_) : "r"((uint64_t)(a)), "r"((uint64_t)(b))); r_; })

static void zicond(void)
{
    CHECK_EQ(CZERO_EQZ(0x1234, 0), 0, "czero.eqz rs2=0 -> 0");
    CHECK_EQ(CZERO_EQZ(0x1234, 0x8000000000000000UL), 0x1234, "czero.eqz rs2!=0 -> rs1");
    CHECK_EQ(CZERO_NEZ(0x1234, 1), 0, "czero.nez rs2!=0 -> 0");
    CHECK_EQ(CZERO_NEZ(~0UL, 0), ~0UL, "czero.nez rs2=0 -> rs1");
    uint64_t r;
    __asm__ volatile("li t0, 77\n\t.insn r 0x33, 5, 7, %0, t0, t0" : "=r"(r) : : "t0");
    CHECK_EQ(r, 77, "czero.eqz rs1=rs2 nonzero");
}

/* Zcb: 16-bit encodings computed from the Zcb spec (binutils MATCH_C_* values:
 * c.lbu 0x8000, c.lhu 0x8400, c.lh 0x8440, c.sb 0x8800, c.sh 0x8c00, c.zext.b 0x9c61,
 * c.sext.b 0x9c65, c.zext.h 0x9c69, c.sext.h 0x9c6d, c.zext.w 0x9c71, c.not 0x9c75,
 * c.mul 0x9c41; rd'/rs1'=a0 (x10 -> 2), rs1'/rs2'=a1 (x11 -> 3); the byte offset's
 * bit 0 sits in insn bit 6 and bit 1 in insn bit 5). */
#define ZCB(bits, a, b) ({ register uint64_t a0_ __asm__("a0") = (uint64_t)(a); register uint64_t a1_ __asm__("a1") = (uint64_t)(b); \
    __asm__ volatile(".2byte " #bits : "+r"(a0_) : "r"(a1_) : "memory"); a0_; })

static void zcb(void)
{
    static volatile uint8_t buf[8] __attribute__((aligned(8)));
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)(0x80 + i);
    uint64_t b = (uint64_t)buf;
    CHECK_EQ(ZCB(0x81c8, 0, b), 0x81, "c.lbu a0, 1(a1)");
    CHECK_EQ(ZCB(0x81a8, 0, b), 0x82, "c.lbu a0, 2(a1)");
    CHECK_EQ(ZCB(0x85a8, 0, b), 0x8382, "c.lhu a0, 2(a1) zero-extends");
    CHECK_EQ(ZCB(0x85e8, 0, b), 0xffffffffffff8382UL, "c.lh a0, 2(a1) sign-extends");
    ZCB(0x89e8, 0x1234, b);
    CHECK_EQ(buf[3], 0x34, "c.sb a0, 3(a1)");
    ZCB(0x8da8, 0xabcdef, b);
    CHECK(buf[2] == 0xef && buf[3] == 0xcd && buf[4] == 0x84, "c.sh a0, 2(a1)");
    CHECK_EQ(ZCB(0x9d61, 0xfffffffffffff180UL, 0), 0x80, "c.zext.b");
    CHECK_EQ(ZCB(0x9d65, 0x180UL, 0), 0xffffffffffffff80UL, "c.sext.b");
    CHECK_EQ(ZCB(0x9d69, 0xffffffffffff8001UL, 0), 0x8001, "c.zext.h");
    CHECK_EQ(ZCB(0x9d6d, 0x18001UL, 0), 0xffffffffffff8001UL, "c.sext.h");
    CHECK_EQ(ZCB(0x9d71, 0xffffffff80000000UL, 0), 0x80000000UL, "c.zext.w");
    CHECK_EQ(ZCB(0x9d75, 0x0f0fUL, 0), ~0x0f0fUL, "c.not");
    /* (2^32+3)(2^32+5) = 2^64 + 8*2^32 + 15 */
    CHECK_EQ(ZCB(0x9d4d, 0x100000003UL, 0x100000005UL), 0x80000000fUL, "c.mul low 64 bits");
}

/* Zfa. fli.{s,d}: funct7 0x78/0x79, rs2=1, rs1 = table index. Table (index: value):
 * 0: -1.0, 1: minimum positive normal, 16: 1.0, 9: 0.3125, 29: 2^16, 30: +inf,
 * 31: canonical NaN. */
#define FLI_D(idx) ({ uint64_t r_; __asm__ volatile(".insn r 0x53, 0, 0x79, ft0, x" #idx ", x1\n\tfmv.x.d %0, ft0" : "=r"(r_) : : "ft0"); r_; })
#define FLI_S(idx) ({ uint64_t r_; __asm__ volatile(".insn r 0x53, 0, 0x78, ft0, x" #idx ", x1\n\tfmv.x.d %0, ft0" : "=r"(r_) : : "ft0"); r_; })
/* fminm/fmaxm: like fmin/fmax but any NaN input gives the canonical NaN.
 * funct7 0x15 (D), funct3 2 (min) / 3 (max). */
#define FD2X(f3, f7, a, b) ({ uint64_t r_; __asm__ volatile("fmv.d.x ft0, %1\n\tfmv.d.x ft1, %2\n\t.insn r 0x53, " #f3 ", " #f7 ", ft2, ft0, ft1\n\tfmv.x.d %0, ft2" \
    : "=r"(r_) : "r"((uint64_t)(a)), "r"((uint64_t)(b)) : "ft0", "ft1", "ft2"); r_; })
/* fleq.d / fltq.d: funct7 0x51, funct3 4 / 5: quiet comparisons (no NV on qNaN). */
#define FCMPX(f3, a, b) ({ uint64_t r_; __asm__ volatile("fmv.d.x ft0, %1\n\tfmv.d.x ft1, %2\n\t.insn r 0x53, " #f3 ", 0x51, %0, ft0, ft1" \
    : "=r"(r_) : "r"((uint64_t)(a)), "r"((uint64_t)(b)) : "ft0", "ft1"); r_; })
/* fround.d (rs2=4) / froundnx.d (rs2=5): funct7 0x21, funct3 = rm. */
#define FROUND(rs2, rm, a) ({ uint64_t r_; __asm__ volatile("fmv.d.x ft0, %1\n\t.insn r 0x53, " #rm ", 0x21, ft1, ft0, x" #rs2 "\n\tfmv.x.d %0, ft1" \
    : "=r"(r_) : "r"((uint64_t)(a)) : "ft0", "ft1"); r_; })
/* fcvtmod.w.d rd, rs1, rtz: funct7 0x61, rs2 = 8, funct3 = 1 (rtz). */
#define FCVTMOD(a) ({ uint64_t r_; __asm__ volatile("fmv.d.x ft0, %1\n\t.insn r 0x53, 1, 0x61, %0, ft0, x8" : "=r"(r_) : "r"((uint64_t)(a)) : "ft0"); r_; })

#define D_ONE 0x3ff0000000000000UL
#define D_QNAN 0x7ff8000000000000UL
#define D_SNAN 0x7ff0000000000001UL

static uint64_t fflags_rd(void) { uint64_t f; __asm__ volatile("csrr %0, fflags" : "=r"(f)); return f; }
static void fflags_clr(void) { __asm__ volatile("csrw fflags, zero"); }

static void zfa(void)
{
    CHECK_EQ(FLI_D(0), 0xbff0000000000000UL, "fli.d -1.0");
    CHECK_EQ(FLI_D(1), 0x0010000000000000UL, "fli.d min normal");
    CHECK_EQ(FLI_D(9), 0x3fd4000000000000UL, "fli.d 0.3125");
    CHECK_EQ(FLI_D(16), D_ONE, "fli.d 1.0");
    CHECK_EQ(FLI_D(29), 0x40f0000000000000UL, "fli.d 2^16");
    CHECK_EQ(FLI_D(30), 0x7ff0000000000000UL, "fli.d +inf");
    CHECK_EQ(FLI_D(31), D_QNAN, "fli.d canonical NaN");
    CHECK_EQ(FLI_S(1), 0xffffffff00800000UL, "fli.s min normal (NaN-boxed)");
    CHECK_EQ(FLI_S(16), 0xffffffff3f800000UL, "fli.s 1.0");
    fflags_clr();
    CHECK_EQ(FD2X(2, 0x15, D_QNAN, D_ONE), D_QNAN, "fminm.d(qNaN,1) = NaN");
    CHECK_EQ(fflags_rd(), 0, "fminm.d qNaN: no flags");
    CHECK_EQ(FD2X(3, 0x15, D_ONE, D_SNAN), D_QNAN, "fmaxm.d(1,sNaN) = NaN");
    CHECK_EQ(fflags_rd(), 0x10, "fmaxm.d sNaN: NV");
    CHECK_EQ(FD2X(2, 0x15, 0x8000000000000000UL, 0), 0x8000000000000000UL, "fminm.d(-0,+0) = -0");
    CHECK_EQ(FD2X(3, 0x15, 0x8000000000000000UL, 0), 0, "fmaxm.d(-0,+0) = +0");
    CHECK_EQ(FD2X(2, 0x15, 0x4000000000000000UL, D_ONE), D_ONE, "fminm.d(2,1) = 1");
    fflags_clr();
    CHECK_EQ(FCMPX(5, D_QNAN, D_ONE), 0, "fltq.d qNaN = 0");
    CHECK_EQ(FCMPX(4, D_ONE, D_QNAN), 0, "fleq.d qNaN = 0");
    CHECK_EQ(fflags_rd(), 0, "fltq/fleq quiet on qNaN");
    CHECK_EQ(FCMPX(4, 0x8000000000000000UL, 0), 1, "fleq.d(-0,+0) = 1");
    CHECK_EQ(FCMPX(5, D_ONE, 0x4000000000000000UL), 1, "fltq.d(1,2) = 1");
    CHECK_EQ(FCMPX(5, D_SNAN, D_ONE), 0, "fltq.d sNaN = 0");
    CHECK_EQ(fflags_rd(), 0x10, "fltq.d sNaN: NV");
    fflags_clr();
    /* fround: 2.5 -> 2.0 (rne), 3.0 (rmm), -2.5 -> -3.0 (rdn); no NX; froundnx sets NX */
    CHECK_EQ(FROUND(4, 0, 0x4004000000000000UL), 0x4000000000000000UL, "fround.d 2.5 rne = 2.0");
    CHECK_EQ(FROUND(4, 4, 0x4004000000000000UL), 0x4008000000000000UL, "fround.d 2.5 rmm = 3.0");
    CHECK_EQ(FROUND(4, 2, 0xc004000000000000UL), 0xc008000000000000UL, "fround.d -2.5 rdn = -3.0");
    CHECK_EQ(FROUND(4, 1, 0xbfe0000000000000UL), 0x8000000000000000UL, "fround.d -0.5 rtz = -0.0");
    CHECK_EQ(fflags_rd(), 0, "fround.d: no NX");
    CHECK_EQ(FROUND(5, 0, 0x4004000000000000UL), 0x4000000000000000UL, "froundnx.d 2.5 = 2.0");
    CHECK_EQ(fflags_rd(), 0x01, "froundnx.d: NX");
    fflags_clr();
    CHECK_EQ(FROUND(4, 0, 0x7e37e43c8800759cUL), 0x7e37e43c8800759cUL, "fround.d 1e300 unchanged");
    CHECK_EQ(FROUND(4, 0, D_SNAN), D_QNAN, "fround.d sNaN = canonical NaN");
    CHECK_EQ(fflags_rd(), 0x10, "fround.d sNaN: NV");
    fflags_clr();
    /* fcvtmod.w.d: integer part modulo 2^32, sign-extended; NaN/inf -> 0 with NV */
    CHECK_EQ(FCVTMOD(0x41f0000005000000UL /* 2^32 + 80 */), 80, "fcvtmod.w.d 2^32+80 = 80");
    CHECK_EQ(FCVTMOD(0xc1e0000000200000UL /* -2^31 - 1 */), 0x7fffffffUL, "fcvtmod.w.d -2^31-1 wraps");
    CHECK_EQ(FCVTMOD(0x41e0000000000000UL /* 2^31 */), 0xffffffff80000000UL, "fcvtmod.w.d 2^31 wraps negative");
    fflags_clr();
    CHECK_EQ(FCVTMOD(0xbff8000000000000UL /* -1.5 */), ~0UL, "fcvtmod.w.d -1.5 = -1 (rtz)");
    CHECK_EQ(fflags_rd(), 0x01, "fcvtmod.w.d -1.5: NX");
    fflags_clr();
    CHECK_EQ(FCVTMOD(0x7ff0000000000000UL), 0, "fcvtmod.w.d +inf = 0");
    CHECK_EQ(fflags_rd(), 0x10, "fcvtmod.w.d +inf: NV");
    CHECK_EQ(FCVTMOD(D_QNAN), 0, "fcvtmod.w.d NaN = 0");
    CHECK_EQ(FCVTMOD(0x7e37e43c8800759cUL), 0, "fcvtmod.w.d 1e300 = 0 (low bits zero)");
    fflags_clr();
}

static uint8_t blocks[256] __attribute__((aligned(64)));

static uint64_t s_cbo_zero(uint64_t a)
{
    __asm__ volatile("cbo.zero (%0)" ::"r"(a) : "memory");
    return 1;
}

static void zicbo(void)
{
    for (int i = 0; i < 256; i++)
        blocks[i] = 0xaa;
    __asm__ volatile("cbo.zero (%0)" ::"r"(&blocks[64 + 13]) : "memory");
    int inside = 1, outside = 1;
    for (int i = 0; i < 256; i++) {
        if (i >= 64 && i < 128)
            inside &= blocks[i] == 0;
        else
            outside &= blocks[i] == 0xaa;
    }
    CHECK(inside, "cbo.zero zeroes the aligned 64-byte block");
    CHECK(outside, "cbo.zero leaves neighbouring blocks");
    /* S-mode: illegal unless menvcfg.CBZE */
    tolerate_illegal = 0;
    uint64_t env = csr_read(CSR_MENVCFG);
    csr_clear(CSR_MENVCFG, MENVCFG_CBZE);
    expect_mtrap();
    run_in_mode(PRV_S, s_cbo_zero, (uint64_t)&blocks[128]);
    CHECK(!mtrap_armed && mtrap.cause == CAUSE_ILLEGAL, "S cbo.zero with CBZE=0 illegal");
    mtrap_armed = 0;
    CHECK_EQ(blocks[128], 0xaa, "illegal cbo.zero wrote nothing");
    csr_set(CSR_MENVCFG, MENVCFG_CBZE);
    expect_mtrap();
    run_in_mode(PRV_S, s_cbo_zero, (uint64_t)&blocks[128]);
    CHECK(mtrap_armed && blocks[128] == 0 && blocks[191] == 0 && blocks[192] == 0xaa,
          "S cbo.zero with CBZE=1 zeroes");
    mtrap_armed = 0;
    csr_write(CSR_MENVCFG, env);
    /* Zicbom in M, and Zihintpause / Zicbop hints: execute without trapping */
    unsigned before = illegal_seen;
    tolerate_illegal = 1;
    expect_mtrap();
    __asm__ volatile("cbo.clean (%0)\n\tcbo.flush (%0)\n\tcbo.inval (%0)" ::"r"(blocks) : "memory");
    __asm__ volatile(".word 0x0100000f" ::: "memory");  /* pause */
    __asm__ volatile(".insn i 0x13, 6, x0, %0, 0" ::"r"(blocks)); /* prefetch.i = ori x0, rs1, 0 */
    CHECK(mtrap_armed && illegal_seen == before, "cbo.clean/flush/inval, pause and prefetch.i do not trap in M");
    mtrap_armed = 0;
}

static int illegal_hook(struct trap_frame *f)
{
    if (!tolerate_illegal || f->cause != CAUSE_ILLEGAL)
        return 0;
    illegal_seen++;
    if (illegal_seen <= 8)
        gprintf("     illegal instruction 0x%lx at 0x%lx\n", (unsigned long)f->tval, (unsigned long)f->epc);
    f->epc += (f->tval & 3) == 3 ? 4 : 2;
    return 1;
}

int main(void)
{
    mtrap_hook = illegal_hook;
    tolerate_illegal = 1;
    zicond();
    zcb();
    zfa();
    zicbo();
    CHECK_EQ(illegal_seen, 0, "no unexpected illegal instructions");
    return check_finish();
}
