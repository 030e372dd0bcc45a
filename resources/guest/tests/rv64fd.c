/* RV64F/D: all five rounding modes (static and dynamic through frm), reserved
 * rounding modes, fflags accrual, NaN boxing, canonical NaN, fmin/fmax with
 * signed zeros and NaNs, comparisons, fcvt corner cases, fclass, fused
 * multiply-add (single rounding, inf*0+qNaN invalid), fsqrt, fcsr/frm/fflags
 * aliasing, and mstatus.FS (Off makes FP illegal; writes make it Dirty).
 * Values are IEEE 754 bit patterns (computed with a host and checked on QEMU). */
#include "check.h"
#include "trap.h"

#define NV 0x10
#define DZ 0x08
#define OF 0x04
#define UF 0x02
#define NX 0x01

#define D_ONE 0x3ff0000000000000UL
#define D_MONE 0xbff0000000000000UL
#define D_QNAN 0x7ff8000000000000UL
#define D_SNAN 0x7ff0000000000001UL
#define D_PZERO 0x0UL
#define D_NZERO 0x8000000000000000UL
#define D_PINF 0x7ff0000000000000UL
#define D_NINF 0xfff0000000000000UL
#define S_QNAN 0x7fc00000UL
#define S_SNAN 0x7f800001UL
#define S_ONE 0x3f800000UL
#define S_THREE 0x40400000UL
#define BOX(x) (0xffffffff00000000UL | (x))

/* Binary double op with rounding mode suffix rm ("rne".."rmm", "dyn"). */
#define FD2(op, rm, a, b) ({ uint64_t r_; __asm__ volatile("fmv.d.x ft0, %1\n\tfmv.d.x ft1, %2\n\t" op " ft2, ft0, ft1, " rm "\n\tfmv.x.d %0, ft2" \
    : "=r"(r_) : "r"((uint64_t)(a)), "r"((uint64_t)(b)) : "ft0", "ft1", "ft2"); r_; })
/* Binary double op without rounding mode (fmin, fsgnj...). */
#define FD2N(op, a, b) ({ uint64_t r_; __asm__ volatile("fmv.d.x ft0, %1\n\tfmv.d.x ft1, %2\n\t" op " ft2, ft0, ft1\n\tfmv.x.d %0, ft2" \
    : "=r"(r_) : "r"((uint64_t)(a)), "r"((uint64_t)(b)) : "ft0", "ft1", "ft2"); r_; })
/* Double compare: integer result. */
#define FCMP(op, a, b) ({ uint64_t r_; __asm__ volatile("fmv.d.x ft0, %1\n\tfmv.d.x ft1, %2\n\t" op " %0, ft0, ft1" \
    : "=r"(r_) : "r"((uint64_t)(a)), "r"((uint64_t)(b)) : "ft0", "ft1"); r_; })
/* Single binary op, NaN-boxed inputs, full 64-bit register result. */
#define FS2(op, rm, a, b) ({ uint64_t r_; __asm__ volatile("fmv.w.x ft0, %1\n\tfmv.w.x ft1, %2\n\t" op " ft2, ft0, ft1, " rm "\n\tfmv.x.d %0, ft2" \
    : "=r"(r_) : "r"((uint64_t)(a)), "r"((uint64_t)(b)) : "ft0", "ft1", "ft2"); r_; })
/* FP -> int conversion from a double bit pattern. */
#define FCVT_FROM_D(op, rm, a) ({ uint64_t r_; __asm__ volatile("fmv.d.x ft0, %1\n\t" op " %0, ft0, " rm \
    : "=r"(r_) : "r"((uint64_t)(a)) : "ft0"); r_; })
/* Unary FP -> FP with raw 64-bit register in and out. */
#define FU(op, a) ({ uint64_t r_; __asm__ volatile("fmv.d.x ft0, %1\n\t" op " ft1, ft0\n\tfmv.x.d %0, ft1" \
    : "=r"(r_) : "r"((uint64_t)(a)) : "ft0", "ft1"); r_; })
#define FU_RM(op, rm, a) ({ uint64_t r_; __asm__ volatile("fmv.d.x ft0, %1\n\t" op " ft1, ft0, " rm "\n\tfmv.x.d %0, ft1" \
    : "=r"(r_) : "r"((uint64_t)(a)) : "ft0", "ft1"); r_; })
/* fclass of a raw register value. */
#define FCLASS(op, a) ({ uint64_t r_; __asm__ volatile("fmv.d.x ft0, %1\n\t" op " %0, ft0" : "=r"(r_) : "r"((uint64_t)(a)) : "ft0"); r_; })
#define FMA(op, a, b, c) ({ uint64_t r_; __asm__ volatile("fmv.d.x ft0, %1\n\tfmv.d.x ft1, %2\n\tfmv.d.x ft2, %3\n\t" op " ft3, ft0, ft1, ft2\n\tfmv.x.d %0, ft3" \
    : "=r"(r_) : "r"((uint64_t)(a)), "r"((uint64_t)(b)), "r"((uint64_t)(c)) : "ft0", "ft1", "ft2", "ft3"); r_; })

static inline void clear_flags(void) { __asm__ volatile("csrw fflags, zero"); }
static inline uint64_t flags(void) { uint64_t f; __asm__ volatile("csrr %0, fflags" : "=r"(f)); return f; }

static const char *const rm_names[5] = { "rne", "rtz", "rdn", "rup", "rmm" };

static void check_rm(const char *what, int rm, uint64_t got, uint64_t want)
{
    char name[64];
    unsigned n = 0;
    for (const char *p = what; *p && n < 40; p++)
        name[n++] = *p;
    name[n++] = ' ';
    for (const char *p = rm_names[rm]; *p; p++)
        name[n++] = *p;
    name[n] = 0;
    CHECK_EQ(got, want, name);
}

static void rounding(void)
{
    /* 1 + 2^-53 (a tie), -(1 + 2^-53), 1 + 0.75 ulp, 1.0f/3.0f, fcvt.w.d 2.5 / -2.5 */
    static const uint64_t tie_p[5] = { D_ONE, D_ONE, D_ONE, D_ONE + 1, D_ONE + 1 };
    static const uint64_t tie_n[5] = { D_MONE, D_MONE, D_MONE + 1, D_MONE, D_MONE + 1 };
    static const uint64_t q3[5] = { D_ONE + 1, D_ONE, D_ONE, D_ONE + 1, D_ONE + 1 };
    static const uint64_t third[5] = { 0x3eaaaaab, 0x3eaaaaaa, 0x3eaaaaaa, 0x3eaaaaab, 0x3eaaaaab };
    static const uint64_t mthird[5] = { 0xbeaaaaab, 0xbeaaaaaa, 0xbeaaaaab, 0xbeaaaaaa, 0xbeaaaaab };
    static const int64_t cvt_p[5] = { 2, 2, 2, 3, 3 };
    static const int64_t cvt_n[5] = { -2, -2, -3, -2, -3 };
    const uint64_t half_ulp = 0x3ca0000000000000UL, tq_ulp = 0x3ca8000000000000UL;
    uint64_t r[7][5];
    r[0][0] = FD2("fadd.d", "rne", D_ONE, half_ulp);
    r[0][1] = FD2("fadd.d", "rtz", D_ONE, half_ulp);
    r[0][2] = FD2("fadd.d", "rdn", D_ONE, half_ulp);
    r[0][3] = FD2("fadd.d", "rup", D_ONE, half_ulp);
    r[0][4] = FD2("fadd.d", "rmm", D_ONE, half_ulp);
    r[1][0] = FD2("fsub.d", "rne", D_MONE, half_ulp);
    r[1][1] = FD2("fsub.d", "rtz", D_MONE, half_ulp);
    r[1][2] = FD2("fsub.d", "rdn", D_MONE, half_ulp);
    r[1][3] = FD2("fsub.d", "rup", D_MONE, half_ulp);
    r[1][4] = FD2("fsub.d", "rmm", D_MONE, half_ulp);
    r[2][0] = FD2("fadd.d", "rne", D_ONE, tq_ulp);
    r[2][1] = FD2("fadd.d", "rtz", D_ONE, tq_ulp);
    r[2][2] = FD2("fadd.d", "rdn", D_ONE, tq_ulp);
    r[2][3] = FD2("fadd.d", "rup", D_ONE, tq_ulp);
    r[2][4] = FD2("fadd.d", "rmm", D_ONE, tq_ulp);
    r[3][0] = FS2("fdiv.s", "rne", S_ONE, S_THREE);
    r[3][1] = FS2("fdiv.s", "rtz", S_ONE, S_THREE);
    r[3][2] = FS2("fdiv.s", "rdn", S_ONE, S_THREE);
    r[3][3] = FS2("fdiv.s", "rup", S_ONE, S_THREE);
    r[3][4] = FS2("fdiv.s", "rmm", S_ONE, S_THREE);
    r[4][0] = FS2("fdiv.s", "rne", 0xbf800000UL, S_THREE);
    r[4][1] = FS2("fdiv.s", "rtz", 0xbf800000UL, S_THREE);
    r[4][2] = FS2("fdiv.s", "rdn", 0xbf800000UL, S_THREE);
    r[4][3] = FS2("fdiv.s", "rup", 0xbf800000UL, S_THREE);
    r[4][4] = FS2("fdiv.s", "rmm", 0xbf800000UL, S_THREE);
    r[5][0] = FCVT_FROM_D("fcvt.w.d", "rne", 0x4004000000000000UL);
    r[5][1] = FCVT_FROM_D("fcvt.w.d", "rtz", 0x4004000000000000UL);
    r[5][2] = FCVT_FROM_D("fcvt.w.d", "rdn", 0x4004000000000000UL);
    r[5][3] = FCVT_FROM_D("fcvt.w.d", "rup", 0x4004000000000000UL);
    r[5][4] = FCVT_FROM_D("fcvt.w.d", "rmm", 0x4004000000000000UL);
    r[6][0] = FCVT_FROM_D("fcvt.l.d", "rne", 0xc004000000000000UL);
    r[6][1] = FCVT_FROM_D("fcvt.l.d", "rtz", 0xc004000000000000UL);
    r[6][2] = FCVT_FROM_D("fcvt.l.d", "rdn", 0xc004000000000000UL);
    r[6][3] = FCVT_FROM_D("fcvt.l.d", "rup", 0xc004000000000000UL);
    r[6][4] = FCVT_FROM_D("fcvt.l.d", "rmm", 0xc004000000000000UL);
    for (int m = 0; m < 5; m++) {
        check_rm("fadd.d 1+half-ulp tie", m, r[0][m], tie_p[m]);
        check_rm("fsub.d -1-half-ulp tie", m, r[1][m], tie_n[m]);
        check_rm("fadd.d 1+0.75ulp", m, r[2][m], q3[m]);
        check_rm("fdiv.s 1/3", m, r[3][m], BOX(third[m]));
        check_rm("fdiv.s -1/3", m, r[4][m], BOX(mthird[m]));
        check_rm("fcvt.w.d 2.5", m, r[5][m], (uint64_t)cvt_p[m]);
        check_rm("fcvt.l.d -2.5", m, r[6][m], (uint64_t)cvt_n[m]);
    }
    /* dynamic rounding through frm */
    uint64_t dyn[5];
    for (int m = 0; m < 5; m++) {
        __asm__ volatile("fsrm %0" ::"r"((uint64_t)m));
        dyn[m] = FD2("fadd.d", "dyn", D_ONE, tq_ulp);
    }
    __asm__ volatile("fsrm zero");
    for (int m = 0; m < 5; m++)
        check_rm("dyn fadd.d 1+0.75ulp frm", m, dyn[m], q3[m]);
    uint64_t dyn_neg;
    __asm__ volatile("fsrmi 2");
    dyn_neg = FD2("fsub.d", "dyn", D_MONE, half_ulp);
    __asm__ volatile("fsrmi 0");
    CHECK_EQ(dyn_neg, D_MONE + 1, "dyn fsub.d frm=rdn (fsrmi)");

    /* Reserved rounding modes: static rm 5/6 and dynamic with frm 5..7 are illegal. */
    uint32_t insn_rm5 = 0x02a5d553; /* fadd.d fa0, fa1, fa0, rm=5 */
    expect_mtrap();
    __asm__ volatile(".word 0x02a5d553" ::: "fa0");
    CHECK(mtrap.cause == CAUSE_ILLEGAL && mtrap.tval == insn_rm5, "fadd.d rm=5 illegal, mtval=bits");
    expect_mtrap();
    __asm__ volatile(".word 0x02a5e553" ::: "fa0");
    CHECK_EQ(mtrap.cause, CAUSE_ILLEGAL, "fadd.d rm=6 illegal");
    __asm__ volatile("fsrmi 5");
    expect_mtrap();
    FD2("fadd.d", "dyn", D_ONE, D_ONE);
    CHECK_EQ(mtrap.cause, CAUSE_ILLEGAL, "dyn with frm=5 illegal");
    __asm__ volatile("fsrmi 7");
    expect_mtrap();
    FS2("fmul.s", "dyn", S_ONE, S_ONE);
    CHECK_EQ(mtrap.cause, CAUSE_ILLEGAL, "dyn with frm=7 illegal");
    expect_mtrap();
    FD2N("fmin.d", D_ONE, D_ONE);
    CHECK(mtrap_armed == 1, "fmin.d (no rm) legal with frm=7");
    mtrap_armed = 0;
    __asm__ volatile("fsrmi 0");
}

static void exceptions(void)
{
    clear_flags();
    FD2("fdiv.d", "rne", D_ONE, 0x4008000000000000UL);
    CHECK_EQ(flags(), NX, "1/3 sets NX only");
    CHECK_EQ(FD2("fdiv.d", "rne", D_ONE, D_PZERO), D_PINF, "1/+0 = +inf");
    CHECK_EQ(flags(), NX | DZ, "DZ accrues onto NX");
    clear_flags();
    CHECK_EQ(FD2("fdiv.d", "rne", D_MONE, D_PZERO), D_NINF, "-1/+0 = -inf");
    CHECK_EQ(FD2("fdiv.d", "rne", D_PZERO, D_PZERO), D_QNAN, "0/0 = canonical NaN");
    CHECK_EQ(flags(), DZ | NV, "0/0 sets NV");
    clear_flags();
    CHECK_EQ(FD2("fmul.d", "rne", 0x7fefffffffffffffUL, 0x4000000000000000UL), D_PINF, "max*2 overflows to inf");
    CHECK_EQ(flags(), OF | NX, "overflow sets OF|NX");
    clear_flags();
    CHECK_EQ(FD2("fmul.d", "rtz", 0x7fefffffffffffffUL, 0x4000000000000000UL), 0x7fefffffffffffffUL, "max*2 rtz = max");
    clear_flags();
    CHECK_EQ(FD2("fmul.d", "rne", 0x1UL, 0x3fe0000000000000UL), D_PZERO, "min subnormal/2 = 0 (tie to even)");
    CHECK_EQ(flags(), UF | NX, "underflow sets UF|NX");
    clear_flags();
    CHECK_EQ(FD2("fmul.d", "rne", 0x0010000000000000UL, 0x3fe0000000000000UL), 0x0008000000000000UL, "exact subnormal result");
    CHECK_EQ(flags(), 0, "exact subnormal: no UF");
    clear_flags();
    CHECK_EQ(FD2("fadd.d", "rne", D_PINF, D_NINF), D_QNAN, "inf-inf = canonical NaN");
    CHECK_EQ(flags(), NV, "inf-inf NV");
    clear_flags();
    CHECK_EQ(FD2("fadd.d", "rne", 0x7ff8000000000123UL, D_ONE), D_QNAN, "NaN payload not propagated");
    CHECK_EQ(flags(), 0, "qNaN operand: no flags");
    CHECK_EQ(FS2("fadd.s", "rne", 0x7fc00123UL, S_ONE), BOX(S_QNAN), "single NaN result canonical and boxed");
    CHECK_EQ(FD2("fadd.d", "rne", D_SNAN, D_ONE), D_QNAN, "sNaN operand gives canonical NaN");
    CHECK_EQ(flags(), NV, "sNaN operand sets NV");
    /* fsflags / fsflagsi return the old value */
    uint64_t old;
    __asm__ volatile("fsflagsi %0, 0x1f" : "=r"(old));
    CHECK_EQ(old, NV, "fsflagsi returns old flags");
    CHECK_EQ(flags(), 0x1f, "fsflagsi sets all");
    clear_flags();
}

static void nan_boxing(void)
{
    static volatile uint32_t word = 0x3f800000;
    uint64_t r;
    __asm__ volatile("flw ft0, 0(%1)\n\tfmv.x.d %0, ft0" : "=r"(r) : "r"(&word) : "ft0");
    CHECK_EQ(r, BOX(0x3f800000UL), "flw NaN-boxes (upper 32 bits ones)");
    CHECK_EQ(FS2("fadd.s", "rne", S_ONE, S_ONE), BOX(0x40000000UL), "fadd.s result NaN-boxed");
    /* A value that is not a valid NaN-boxed single is read as the canonical NaN. */
    clear_flags();
    CHECK_EQ(FD2N("fsgnj.s", 0x000000003f800000UL, 0x000000003f800000UL), BOX(S_QNAN),
             "unboxed f32 operand reads as canonical NaN");
    CHECK_EQ(FD2("fadd.s", "rne", 0xfffffffe3f800000UL, BOX(S_ONE)), BOX(S_QNAN), "partially boxed is NaN too");
    CHECK_EQ(flags(), 0, "unboxed operand is a quiet NaN (no NV)");
    CHECK_EQ(FCLASS("fclass.s", 0x000000003f800000UL), 0x200, "fclass.s unboxed = qNaN");
    CHECK_EQ(FCLASS("fclass.s", BOX(S_ONE)), 0x40, "fclass.s boxed 1.0 = +normal");
    CHECK_EQ(FU("fcvt.d.s", 0x000000003f800000UL), D_QNAN, "fcvt.d.s unboxed = canonical NaN");
    __asm__ volatile("fmv.d.x ft0, %1\n\tfmv.x.w %0, ft0" : "=r"(r) : "r"(0x12345678bf800000UL) : "ft0");
    CHECK_EQ(r, 0xffffffffbf800000UL, "fmv.x.w moves low bits, sign-extended");
    static volatile uint64_t slot;
    slot = 0;
    __asm__ volatile("fmv.d.x ft0, %1\n\tfsw ft0, 0(%0)" ::"r"(&slot), "r"(0x12345678cafef00dUL) : "ft0", "memory");
    CHECK_EQ(slot, 0xcafef00dUL, "fsw stores low 32 bits unchanged");
    __asm__ volatile("fmv.w.x ft0, %1\n\tfmv.x.d %0, ft0" : "=r"(r) : "r"(0x1234567800000001UL) : "ft0");
    CHECK_EQ(r, BOX(1UL), "fmv.w.x boxes the low word");
}

static void minmax_cmp(void)
{
    clear_flags();
    CHECK_EQ(FD2N("fmin.d", D_NZERO, D_PZERO), D_NZERO, "fmin(-0,+0) = -0");
    CHECK_EQ(FD2N("fmin.d", D_PZERO, D_NZERO), D_NZERO, "fmin(+0,-0) = -0");
    CHECK_EQ(FD2N("fmax.d", D_NZERO, D_PZERO), D_PZERO, "fmax(-0,+0) = +0");
    CHECK_EQ(FD2N("fmax.d", D_PZERO, D_NZERO), D_PZERO, "fmax(+0,-0) = +0");
    CHECK_EQ(FD2N("fmin.d", D_QNAN, D_ONE), D_ONE, "fmin(qNaN,1) = 1");
    CHECK_EQ(FD2N("fmax.d", D_ONE, 0x7ff8000000000123UL), D_ONE, "fmax(1,qNaN) = 1");
    CHECK_EQ(flags(), 0, "fmin/fmax quiet NaN: no flags");
    CHECK_EQ(FD2N("fmin.d", D_SNAN, D_ONE), D_ONE, "fmin(sNaN,1) = 1");
    CHECK_EQ(flags(), NV, "fmin sNaN sets NV");
    clear_flags();
    CHECK_EQ(FD2N("fmax.d", D_QNAN, 0x7ff8000000000123UL), D_QNAN, "fmax(NaN,NaN) canonical");
    CHECK_EQ(FD2N("fmin.s", BOX(S_SNAN), BOX(S_SNAN)), BOX(S_QNAN), "fmin.s(sNaN,sNaN) canonical");
    CHECK_EQ(flags(), NV, "fmin.s sNaN NV");
    CHECK_EQ(FD2N("fmin.s", BOX(0x80000000UL), BOX(0)), BOX(0x80000000UL), "fmin.s(-0,+0) = -0");
    clear_flags();
    CHECK_EQ(FCMP("feq.d", D_QNAN, D_QNAN), 0, "feq qNaN = 0");
    CHECK_EQ(flags(), 0, "feq qNaN quiet");
    CHECK_EQ(FCMP("feq.d", D_SNAN, D_ONE), 0, "feq sNaN = 0");
    CHECK_EQ(flags(), NV, "feq sNaN NV");
    clear_flags();
    CHECK_EQ(FCMP("flt.d", D_QNAN, D_ONE), 0, "flt qNaN = 0");
    CHECK_EQ(flags(), NV, "flt qNaN signals NV");
    clear_flags();
    CHECK_EQ(FCMP("fle.d", D_NZERO, D_PZERO), 1, "fle(-0,+0) = 1");
    CHECK_EQ(FCMP("flt.d", D_NZERO, D_PZERO), 0, "flt(-0,+0) = 0");
    CHECK_EQ(FCMP("feq.d", D_NZERO, D_PZERO), 1, "feq(-0,+0) = 1");
    CHECK_EQ(FCMP("flt.d", D_NINF, D_MONE), 1, "flt(-inf,-1)");
    CHECK_EQ(FD2N("fsgnjn.d", D_ONE, D_ONE), D_MONE, "fsgnjn.d");
    CHECK_EQ(FD2N("fsgnjx.d", D_MONE, D_MONE), D_ONE, "fsgnjx.d");
    CHECK_EQ(FD2N("fsgnj.d", D_QNAN, D_MONE), 0xfff8000000000000UL, "fsgnj.d on NaN keeps payload bits");
    CHECK_EQ(flags(), 0, "sign injection raises nothing");
}

static void conversions(void)
{
    clear_flags();
    CHECK_EQ(FCVT_FROM_D("fcvt.w.d", "rtz", D_QNAN), 0x7fffffffUL, "fcvt.w.d NaN = 2^31-1");
    CHECK_EQ(flags(), NV, "fcvt.w.d NaN NV");
    CHECK_EQ(FCVT_FROM_D("fcvt.w.d", "rtz", D_PINF), 0x7fffffffUL, "fcvt.w.d +inf");
    CHECK_EQ(FCVT_FROM_D("fcvt.w.d", "rtz", D_NINF), 0xffffffff80000000UL, "fcvt.w.d -inf");
    CHECK_EQ(FCVT_FROM_D("fcvt.w.d", "rtz", 0x41e65a0bc0000000UL), 0x7fffffffUL, "fcvt.w.d 3e9 saturates");
    CHECK_EQ(FCVT_FROM_D("fcvt.wu.d", "rtz", D_QNAN), ~0UL, "fcvt.wu.d NaN = sext(0xffffffff)");
    CHECK_EQ(FCVT_FROM_D("fcvt.wu.d", "rtz", 0x41e65a0bc0000000UL), 0xffffffffb2d05e00UL, "fcvt.wu.d 3e9 sign-extends bit 31");
    clear_flags();
    CHECK_EQ(FCVT_FROM_D("fcvt.wu.d", "rtz", D_MONE), 0, "fcvt.wu.d -1 = 0");
    CHECK_EQ(flags(), NV, "fcvt.wu.d -1 NV");
    clear_flags();
    CHECK_EQ(FCVT_FROM_D("fcvt.wu.d", "rtz", 0xbfe0000000000000UL), 0, "fcvt.wu.d -0.5 rtz = 0");
    CHECK_EQ(flags(), NX, "fcvt.wu.d -0.5 only inexact");
    clear_flags();
    CHECK_EQ(FCVT_FROM_D("fcvt.lu.d", "rtz", 0xc008000000000000UL), 0, "fcvt.lu.d -3 = 0");
    CHECK_EQ(flags(), NV, "fcvt.lu.d -3 NV");
    CHECK_EQ(FCVT_FROM_D("fcvt.lu.d", "rtz", D_QNAN), ~0UL, "fcvt.lu.d NaN = 2^64-1");
    CHECK_EQ(FCVT_FROM_D("fcvt.l.d", "rtz", D_QNAN), 0x7fffffffffffffffUL, "fcvt.l.d NaN = 2^63-1");
    CHECK_EQ(FCVT_FROM_D("fcvt.l.d", "rtz", D_NINF), 0x8000000000000000UL, "fcvt.l.d -inf = MIN");
    clear_flags();
    CHECK_EQ(FCVT_FROM_D("fcvt.l.d", "rtz", 0xc3e0000000000000UL), 0x8000000000000000UL, "fcvt.l.d -2^63 exact");
    CHECK_EQ(flags(), 0, "fcvt.l.d -2^63 no flags");
    CHECK_EQ(FCVT_FROM_D("fcvt.l.d", "rtz", 0x43e0000000000000UL), 0x7fffffffffffffffUL, "fcvt.l.d 2^63 saturates");
    CHECK_EQ(flags(), NV, "fcvt.l.d 2^63 NV");
    clear_flags();
    uint64_t r;
    __asm__ volatile("fcvt.d.lu ft0, %1\n\tfmv.x.d %0, ft0" : "=r"(r) : "r"(~0UL) : "ft0");
    CHECK_EQ(r, 0x43f0000000000000UL, "fcvt.d.lu 2^64-1 rounds to 2^64");
    __asm__ volatile("fcvt.d.w ft0, %1\n\tfmv.x.d %0, ft0" : "=r"(r) : "r"(0x00000000ffffffffUL) : "ft0");
    CHECK_EQ(r, D_MONE, "fcvt.d.w uses low word signed");
    __asm__ volatile("fcvt.d.wu ft0, %1\n\tfmv.x.d %0, ft0" : "=r"(r) : "r"(0xffffffff00000001UL) : "ft0");
    CHECK_EQ(r, D_ONE, "fcvt.d.wu uses low word unsigned");
    __asm__ volatile("fcvt.s.l ft0, %1\n\tfmv.x.d %0, ft0" : "=r"(r) : "r"(-1L) : "ft0");
    CHECK_EQ(r, BOX(0xbf800000UL), "fcvt.s.l -1 boxed");
    clear_flags();
    CHECK_EQ(FU("fcvt.d.s", BOX(S_SNAN)), D_QNAN, "fcvt.d.s sNaN = canonical NaN");
    CHECK_EQ(flags(), NV, "fcvt.d.s sNaN NV");
    clear_flags();
    CHECK_EQ(FU_RM("fcvt.s.d", "rne", 0x7e37e43c8800759cUL), BOX(0x7f800000UL), "fcvt.s.d 1e300 = +inf");
    CHECK_EQ(flags(), OF | NX, "fcvt.s.d overflow OF|NX");
    CHECK_EQ(FU_RM("fcvt.s.d", "rtz", 0x7e37e43c8800759cUL), BOX(0x7f7fffffUL), "fcvt.s.d 1e300 rtz = FLT_MAX");
    clear_flags();
    CHECK_EQ(FCVT_FROM_D("fcvt.w.s", "rtz", BOX(0xcf000000UL)), 0xffffffff80000000UL, "fcvt.w.s -2^31 exact");
    CHECK_EQ(flags(), 0, "fcvt.w.s -2^31 no flags");
}

static void classify(void)
{
    static const struct { uint64_t v; uint64_t cls; const char *name; } d[] = {
        { D_NINF, 1 << 0, "fclass.d -inf" },
        { D_MONE, 1 << 1, "fclass.d -normal" },
        { 0x800fffffffffffffUL, 1 << 2, "fclass.d -subnormal" },
        { D_NZERO, 1 << 3, "fclass.d -0" },
        { D_PZERO, 1 << 4, "fclass.d +0" },
        { 0x0000000000000001UL, 1 << 5, "fclass.d +subnormal" },
        { D_ONE, 1 << 6, "fclass.d +normal" },
        { D_PINF, 1 << 7, "fclass.d +inf" },
        { D_SNAN, 1 << 8, "fclass.d sNaN" },
        { D_QNAN, 1 << 9, "fclass.d qNaN" },
        { 0xfff0000000000001UL, 1 << 8, "fclass.d negative sNaN" },
    };
    for (unsigned i = 0; i < sizeof(d) / sizeof(d[0]); i++)
        CHECK_EQ(FCLASS("fclass.d", d[i].v), d[i].cls, d[i].name);
    CHECK_EQ(FCLASS("fclass.s", BOX(0x00000001UL)), 1 << 5, "fclass.s +subnormal");
    CHECK_EQ(FCLASS("fclass.s", BOX(S_SNAN)), 1 << 8, "fclass.s sNaN");
    CHECK_EQ(FCLASS("fclass.s", BOX(0xff800000UL)), 1 << 0, "fclass.s -inf");
}

static void fma_sqrt(void)
{
    const uint64_t a = 0x3ff0000000400000UL; /* 1 + 2^-30 */
    const uint64_t b = 0x3fefffffff800000UL; /* 1 - 2^-30 */
    clear_flags();
    CHECK_EQ(FMA("fmadd.d", a, b, D_MONE), 0xbc30000000000000UL, "fmadd.d single rounding = -2^-60");
    CHECK_EQ(flags(), 0, "fmadd.d exact: no flags");
    CHECK_EQ(FD2("fmul.d", "rne", a, b), D_ONE, "fmul.d rounds (so fma differs)");
    CHECK_EQ(FMA("fmsub.d", a, b, D_ONE), 0xbc30000000000000UL, "fmsub.d");
    CHECK_EQ(FMA("fnmsub.d", a, b, D_ONE), 0x3c30000000000000UL, "fnmsub.d");
    CHECK_EQ(FMA("fnmadd.d", a, b, D_MONE), 0x3c30000000000000UL, "fnmadd.d");
    CHECK_EQ(FMA("fnmadd.d", D_PZERO, D_ONE, D_PZERO), D_NZERO, "fnmadd.d(+0*1+0) = -0");
    clear_flags();
    CHECK_EQ(FMA("fmadd.d", D_PINF, D_PZERO, D_QNAN), D_QNAN, "fma(inf,0,qNaN) = canonical NaN");
    CHECK_EQ(flags(), NV, "fma(inf,0,qNaN) raises NV");
    clear_flags();
    CHECK_EQ(FMA("fmadd.s", BOX(0x3f800001UL), BOX(0x3f7ffffeUL), BOX(0xbf800000UL)),
             BOX(0xa8800000UL), "fmadd.s single rounding = -2^-46");
    CHECK_EQ(FU_RM("fsqrt.d", "rne", 0x4000000000000000UL), 0x3ff6a09e667f3bcdUL, "fsqrt.d 2");
    CHECK_EQ(flags(), NX, "fsqrt.d 2 inexact");
    CHECK_EQ(FU_RM("fsqrt.d", "rtz", 0x4000000000000000UL), 0x3ff6a09e667f3bccUL, "fsqrt.d 2 rtz (RNE rounded up)");
    CHECK_EQ(FU_RM("fsqrt.s", "rne", BOX(0x40000000UL)), BOX(0x3fb504f3UL), "fsqrt.s 2");
    clear_flags();
    CHECK_EQ(FU_RM("fsqrt.d", "rne", D_NZERO), D_NZERO, "fsqrt.d -0 = -0");
    CHECK_EQ(flags(), 0, "fsqrt.d -0 no flags");
    CHECK_EQ(FU_RM("fsqrt.d", "rne", D_MONE), D_QNAN, "fsqrt.d -1 = canonical NaN");
    CHECK_EQ(flags(), NV, "fsqrt.d -1 NV");
    clear_flags();
}

static void csrs(void)
{
    uint64_t v;
    __asm__ volatile("csrw fcsr, %0" ::"r"(0x1ffUL));
    __asm__ volatile("csrr %0, fcsr" : "=r"(v));
    CHECK_EQ(v, 0xff, "fcsr keeps only bits 7:0");
    __asm__ volatile("csrr %0, frm" : "=r"(v));
    CHECK_EQ(v, 7, "frm = fcsr[7:5]");
    __asm__ volatile("csrr %0, fflags" : "=r"(v));
    CHECK_EQ(v, 0x1f, "fflags = fcsr[4:0]");
    __asm__ volatile("csrwi frm, 2\n\tcsrr %0, fcsr" : "=r"(v));
    CHECK_EQ(v, 0x5f, "frm write leaves fflags");
    __asm__ volatile("csrwi fflags, 1\n\tcsrr %0, fcsr" : "=r"(v));
    CHECK_EQ(v, 0x41, "fflags write leaves frm");
    __asm__ volatile("csrw fflags, %1\n\tcsrr %0, fflags" : "=r"(v) : "r"(0xffUL));
    CHECK_EQ(v, 0x1f, "fflags is 5 bits");
    __asm__ volatile("csrw fcsr, zero");
}

static void fs_state(void)
{
    uint64_t v;
    csr_clear(mstatus, MSTATUS_FS);
    CHECK_EQ(csr_read(mstatus) & MSTATUS_FS, 0, "mstatus.FS = Off");
    expect_mtrap();
    __asm__ volatile("fadd.d ft0, ft1, ft2" ::: "ft0");
    CHECK(mtrap.cause == CAUSE_ILLEGAL && mtrap.tval == *(volatile uint32_t *)mtrap.epc,
          "FS=Off: fadd.d illegal, mtval = bits");
    expect_mtrap();
    __asm__ volatile("csrr %0, fcsr" : "=r"(v));
    CHECK_EQ(mtrap.cause, CAUSE_ILLEGAL, "FS=Off: fcsr access illegal");
    expect_mtrap();
    __asm__ volatile("csrr %0, fflags" : "=r"(v));
    CHECK_EQ(mtrap.cause, CAUSE_ILLEGAL, "FS=Off: fflags access illegal");
    static volatile uint64_t slot = 0;
    expect_mtrap();
    __asm__ volatile("fld ft0, 0(%0)" ::"r"(&slot) : "ft0");
    CHECK_EQ(mtrap.cause, CAUSE_ILLEGAL, "FS=Off: fld illegal");
    expect_mtrap();
    __asm__ volatile("fmv.x.d %0, ft0" : "=r"(v));
    CHECK_EQ(mtrap.cause, CAUSE_ILLEGAL, "FS=Off: fmv.x.d illegal");
    expect_mtrap();
    register volatile uint64_t *a5 __asm__("a5") = &slot;
    __asm__ volatile(".option push\n\t.option rvc\n\tc.fld fa0, 0(%0)\n\t.option pop" ::"r"(a5) : "fa0");
    CHECK(mtrap.cause == CAUSE_ILLEGAL && mtrap.tval == *(volatile uint16_t *)mtrap.epc,
          "FS=Off: c.fld illegal, mtval = 16 bits");
    csr_set(mstatus, MSTATUS_FS_INITIAL);
    CHECK_EQ(csr_read(mstatus) & MSTATUS_FS, MSTATUS_FS_INITIAL, "FS = Initial");
    __asm__ volatile("fmv.d.x ft0, zero" ::: "ft0");
    v = csr_read(mstatus);
    CHECK_EQ(v & MSTATUS_FS, MSTATUS_FS_DIRTY, "FP register write makes FS Dirty");
    CHECK(v & MSTATUS_SD, "mstatus.SD set when FS Dirty");
}

int main(void)
{
    rounding();
    exceptions();
    nan_boxing();
    minmax_cmp();
    conversions();
    classify();
    fma_sqrt();
    csrs();
    fs_state();
    return check_finish();
}
