/* Privileged architecture: ecall causes from M/S/U, mret/sret state transitions,
 * medeleg/mideleg delegation to S, vectored mtvec/stvec, illegal-instruction mtval,
 * CSR privilege checks, TVM/TW/TSR, misa write-ignore, counter enables, scratch
 * registers, menvcfg/senvcfg. */
#include "check.h"
#include "trap.h"

#define MSIP_ADDR 0x2000000UL

extern char mvec_table[], svec_table[];
extern volatile uint64_t vec_hit, vec_cause;

static uint64_t ret_arg(uint64_t a) { return a + 1; }

static uint64_t do_ecall(uint64_t a)
{
    register uint64_t a0 __asm__("a0") = a;
    register uint64_t a7 __asm__("a7") = 0;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a7) : "memory");
    return a0;
}

static void ecalls(void)
{
    uint64_t pc;
    expect_mtrap();
    __asm__ volatile("la %0, 1f\n1: ecall" : "=r"(pc) : : "memory");
    CHECK_EQ(mtrap.cause, CAUSE_ECALL_M, "ecall from M: cause 11");
    CHECK_EQ(mtrap.epc, pc, "ecall mepc = the ecall");
    CHECK_EQ(mtrap.tval, 0, "ecall mtval = 0");
    expect_mtrap();
    CHECK_EQ(run_in_mode(PRV_S, do_ecall, 5), 5, "S function runs and returns");
    CHECK_EQ(mtrap.cause, CAUSE_ECALL_S, "ecall from S: cause 9");
    CHECK_EQ(MTRAP_PREV_PRIV(), PRV_S, "ecall from S: MPP = S");
    expect_mtrap();
    run_in_mode(PRV_U, do_ecall, 6);
    CHECK_EQ(mtrap.cause, CAUSE_ECALL_U, "ecall from U: cause 8");
    CHECK_EQ(MTRAP_PREV_PRIV(), PRV_U, "ecall from U: MPP = U");
    CHECK_EQ(run_in_mode(PRV_U, ret_arg, 41), 42, "U function returns through mode_exit");
    CHECK_EQ(mode_exit_cause, CAUSE_ECALL_U, "mode exit from U seen as cause 8");
}

static void xret_state(void)
{
    /* mret to M: MIE <- MPIE, MPIE <- 1, MPP <- U (least privileged). */
    csr_clear(mstatus, MSTATUS_MIE);
    csr_set(mstatus, MSTATUS_MPP | MSTATUS_MPIE);
    uint64_t st;
    __asm__ volatile("la t0, 1f\n\tcsrw mepc, t0\n\tmret\n1:\tcsrr %0, mstatus" : "=r"(st) : : "t0", "memory");
    csr_clear(mstatus, MSTATUS_MIE);
    CHECK(st & MSTATUS_MIE, "mret: MIE <- MPIE (1)");
    CHECK(st & MSTATUS_MPIE, "mret: MPIE <- 1");
    CHECK_EQ(st & MSTATUS_MPP, 0, "mret: MPP <- U");
    csr_clear(mstatus, MSTATUS_MPIE);
    csr_set(mstatus, MSTATUS_MPP);
    __asm__ volatile("la t0, 1f\n\tcsrw mepc, t0\n\tmret\n1:\tcsrr %0, mstatus" : "=r"(st) : : "t0", "memory");
    CHECK(!(st & MSTATUS_MIE), "mret: MIE <- MPIE (0)");
    /* mret to S clears MPRV. */
    csr_set(mstatus, MSTATUS_MPRV);
    run_in_mode(PRV_S, ret_arg, 0);
    /* Privileged spec 1.12: an xRET to a mode other than M clears MPRV. QEMU 7.2
     * does not (a known deviation), so QEMU is only required to keep running. */
    CHECK(!(csr_read(mstatus) & MSTATUS_MPRV) || on_qemu_virt(), "mret to S clears MPRV");
    csr_clear(mstatus, MSTATUS_MPRV);
    CHECK_EQ((mode_exit_status >> 11) & 3, PRV_S, "exit ecall recorded MPP = S");
}

/* S-mode: sret to U (SPP=0) with SPIE=1, SIE=0. */
static uint64_t u_exit(uint64_t a) { mode_exit(a + 0x100); }
static uint64_t s_sret_to_u(uint64_t a)
{
    csr_clear(sstatus, MSTATUS_SPP | MSTATUS_SIE);
    csr_set(sstatus, MSTATUS_SPIE);
    csr_write(sepc, (uint64_t)u_exit);
    register uint64_t a0 __asm__("a0") = a;
    __asm__ volatile("sret" ::"r"(a0));
    return 0xdead;
}
/* S-mode: sret to S (SPP=1) reading sstatus afterwards. */
static uint64_t s_sret_to_s(uint64_t a)
{
    (void)a;
    uint64_t st;
    csr_set(sstatus, MSTATUS_SPP);
    csr_clear(sstatus, MSTATUS_SPIE);
    __asm__ volatile("la t0, 1f\n\tcsrw sepc, t0\n\tsret\n1:\tcsrr %0, sstatus" : "=r"(st) : : "t0", "memory");
    return st;
}

static void sret_state(void)
{
    csr_write(sstatus, 0 | (csr_read(sstatus) & MSTATUS_FS));
    CHECK_EQ(run_in_mode(PRV_S, s_sret_to_u, 1), 0x101, "sret to U runs the U function");
    CHECK_EQ(mode_exit_cause, CAUSE_ECALL_U, "sret with SPP=0 enters U");
    uint64_t st = csr_read(sstatus);
    CHECK(st & MSTATUS_SIE, "sret: SIE <- SPIE (1)");
    CHECK(st & MSTATUS_SPIE, "sret: SPIE <- 1");
    CHECK(!(st & MSTATUS_SPP), "sret: SPP <- U");
    csr_clear(sstatus, MSTATUS_SIE);
    st = run_in_mode(PRV_S, s_sret_to_s, 0);
    CHECK_EQ(mode_exit_cause, CAUSE_ECALL_S, "sret with SPP=1 stays in S");
    CHECK(!(st & MSTATUS_SPP), "sret to S: SPP <- U");
    CHECK(!(st & MSTATUS_SIE), "sret to S: SIE <- SPIE (0)");
    CHECK(st & MSTATUS_SPIE, "sret to S: SPIE <- 1");
    csr_write(sstatus, 0 | (csr_read(sstatus) & MSTATUS_FS));
}

static uint64_t u_illegal(uint64_t a)
{
    __asm__ volatile(".word 0x0000000b" ::: "memory"); /* custom-0: illegal here */
    return a;
}

static int ssi_count;
static int s_ssi_hook(struct trap_frame *f)
{
    if (f->cause == (CAUSE_INTR | IRQ_S_SOFT)) {
        csr_clear(sip, MIP_SSIP);
        ssi_count++;
        return 1;
    }
    return 0;
}

static uint64_t s_raise_ssi(uint64_t a)
{
    csr_set(sie, MIP_SSIP);
    csr_set(sstatus, MSTATUS_SIE);
    csr_set(sip, MIP_SSIP);
    uint64_t seen = (uint64_t)ssi_count; /* the interrupt must have been taken already */
    csr_clear(sstatus, MSTATUS_SIE);
    (void)a;
    return seen;
}

static void delegation(void)
{
    strap_install();
    csr_write(medeleg, (1UL << CAUSE_ECALL_U) | (1UL << CAUSE_ILLEGAL));
    uint64_t mcount = mtrap.count;
    expect_strap();
    run_in_mode(PRV_U, do_ecall, 0);
    CHECK_EQ(strap.cause, CAUSE_ECALL_U, "medeleg: U ecall goes to S (scause 8)");
    CHECK_EQ(STRAP_PREV_PRIV(), 0, "delegated trap: SPP = U");
    CHECK_EQ(mtrap.count, mcount, "delegated trap not seen by M");
    expect_strap();
    run_in_mode(PRV_U, u_illegal, 9);
    CHECK_EQ(strap.cause, CAUSE_ILLEGAL, "medeleg: U illegal goes to S");
    CHECK_EQ(strap.tval, 0x0000000bUL, "delegated illegal: stval = bits");
    /* Delegation never applies to traps taken in M. */
    expect_mtrap();
    __asm__ volatile(".word 0x0000000b" ::: "memory");
    CHECK_EQ(mtrap.cause, CAUSE_ILLEGAL, "medeleg does not affect M-mode traps");
    csr_write(medeleg, 0);

    /* mideleg: supervisor software interrupt handled in S. */
    csr_write(mideleg, MIP_SSIP);
    CHECK(csr_read(mideleg) & MIP_SSIP, "mideleg.SSIP writable");
    strap_hook = s_ssi_hook;
    ssi_count = 0;
    CHECK_EQ(run_in_mode(PRV_S, s_raise_ssi, 0), 1, "delegated SSI taken in S right after csrs sip");
    strap_hook = 0;
    /* Vectored stvec: SSI enters at base + 4*1. */
    vec_hit = 0;
    csr_write(stvec, (uint64_t)svec_table | 1);
    CHECK_EQ(csr_read(stvec), (uint64_t)svec_table | 1, "stvec vectored mode sticks");
    run_in_mode(PRV_S, s_raise_ssi, 0);
    CHECK_EQ(vec_hit, 1, "stvec vectored: SSI at base+4");
    CHECK_EQ(vec_cause, CAUSE_INTR | IRQ_S_SOFT, "stvec vectored: scause");
    strap_install();
    csr_write(mideleg, 0);
    csr_clear(sie, MIP_SSIP);
}

static void mtvec_vectored(void)
{
    uint64_t old = csr_read(mtvec);
    vec_hit = 0;
    csr_write(mtvec, (uint64_t)mvec_table | 1);
    CHECK_EQ(csr_read(mtvec), (uint64_t)mvec_table | 1, "mtvec vectored mode sticks");
    /* an exception in vectored mode goes to the base */
    __asm__ volatile("ecall" ::: "memory");
    CHECK_EQ(vec_hit, 100, "mtvec vectored: exception at base");
    vec_hit = 0;
    csr_set(mie, MIP_MSIP);
    csr_set(mstatus, MSTATUS_MIE);
    *(volatile uint32_t *)MSIP_ADDR = 1;
    __asm__ volatile("nop");
    csr_clear(mstatus, MSTATUS_MIE);
    csr_clear(mie, MIP_MSIP);
    csr_write(mtvec, old);
    CHECK_EQ(vec_hit, 3, "mtvec vectored: MSI at base+12");
    CHECK_EQ(vec_cause, CAUSE_INTR | IRQ_M_SOFT, "mtvec vectored: mcause");
}

/* S-mode bodies that must trap to M. */
static uint64_t s_read_mstatus(uint64_t a) { uint64_t v; __asm__ volatile("csrr %0, mstatus" : "=r"(v)); return a; }
static uint64_t s_write_mscratch(uint64_t a) { __asm__ volatile("csrw mscratch, zero"); return a; }
static uint64_t s_read_sstatus(uint64_t a) { (void)a; return csr_read(sstatus); }
static uint64_t u_read_sstatus(uint64_t a) { uint64_t v; __asm__ volatile("csrr %0, sstatus" : "=r"(v)); return a; }
static uint64_t s_satp(uint64_t a) { uint64_t v; __asm__ volatile("csrr %0, satp" : "=r"(v)); return a; }
static uint64_t s_sfence(uint64_t a) { __asm__ volatile("sfence.vma" ::: "memory"); return a; }
static uint64_t s_wfi(uint64_t a) { __asm__ volatile("wfi"); return a; }
static uint64_t s_sret_plain(uint64_t a) { __asm__ volatile("la t0, 1f\n\tcsrw sepc, t0\n\tsret\n1:" ::: "t0", "memory"); return a; }
static uint64_t s_mret(uint64_t a) { __asm__ volatile("mret"); return a; }

static void expect_illegal_from(unsigned mode, uint64_t (*fn)(uint64_t), uint32_t bits, const char *name)
{
    expect_mtrap();
    run_in_mode(mode, fn, 0);
    int ok = mtrap.cause == CAUSE_ILLEGAL && mtrap.tval == *(volatile uint32_t *)mtrap.epc &&
             (bits == 0 || mtrap.tval == bits);
    if (!ok)
        gprintf("     cause=%lu tval=0x%lx\n", (unsigned long)mtrap.cause, (unsigned long)mtrap.tval);
    CHECK(ok, name);
    mtrap_armed = 0;
}

static void csr_privilege(void)
{
    uint64_t pc;
    expect_mtrap();
    __asm__ volatile("la %0, 1f\n1: .word 0x0000000b" : "=r"(pc) : : "memory");
    CHECK(mtrap.cause == CAUSE_ILLEGAL && mtrap.tval == 0x0000000b && mtrap.epc == pc,
          "illegal insn: cause 2, mtval = bits, mepc");
    expect_mtrap();
    __asm__ volatile("csrw mvendorid, zero");
    CHECK(mtrap.cause == CAUSE_ILLEGAL && mtrap.tval == 0xf1101073, "write to read-only mvendorid illegal, mtval = bits");
    expect_mtrap();
    __asm__ volatile("csrw cycle, zero");
    CHECK_EQ(mtrap.cause, CAUSE_ILLEGAL, "write to read-only cycle illegal");
    expect_illegal_from(PRV_S, s_read_mstatus, 0, "S reading mstatus illegal, mtval = bits");
    expect_illegal_from(PRV_S, s_write_mscratch, 0x34001073, "S writing mscratch illegal");
    expect_illegal_from(PRV_U, u_read_sstatus, 0, "U reading sstatus illegal");
    expect_illegal_from(PRV_S, s_mret, 0x30200073, "mret in S illegal");
    expect_mtrap();
    run_in_mode(PRV_S, s_read_sstatus, 0);
    CHECK(mtrap_armed, "S reading sstatus is legal");
    mtrap_armed = 0;
    /* TVM */
    csr_set(mstatus, MSTATUS_TVM);
    expect_illegal_from(PRV_S, s_satp, 0, "TVM: S satp access illegal");
    expect_illegal_from(PRV_S, s_sfence, 0x12000073, "TVM: sfence.vma illegal");
    csr_clear(mstatus, MSTATUS_TVM);
    expect_mtrap();
    run_in_mode(PRV_S, s_satp, 0);
    CHECK(mtrap_armed, "TVM=0: S satp access legal");
    mtrap_armed = 0;
    /* TW: wfi in S with nothing pending traps */
    csr_set(mstatus, MSTATUS_TW);
    expect_illegal_from(PRV_S, s_wfi, 0x10500073, "TW: wfi in S illegal");
    csr_clear(mstatus, MSTATUS_TW);
    /* TSR */
    csr_set(mstatus, MSTATUS_TSR);
    expect_illegal_from(PRV_S, s_sret_plain, 0x10200073, "TSR: sret in S illegal");
    csr_clear(mstatus, MSTATUS_TSR);
    expect_mtrap();
    run_in_mode(PRV_S, s_sret_plain, 0);
    CHECK(mtrap_armed, "TSR=0: sret in S legal");
    mtrap_armed = 0;
}

static void misa_ids(void)
{
    uint64_t misa = csr_read(misa);
    CHECK_EQ(misa >> 62, 2, "misa.MXL = 64");
    uint64_t need = (1 << ('I' - 'A')) | (1 << ('M' - 'A')) | (1 << ('A' - 'A')) | (1 << ('F' - 'A')) |
                    (1 << ('D' - 'A')) | (1 << ('C' - 'A')) | (1 << ('S' - 'A')) | (1 << ('U' - 'A'));
    CHECK_EQ(misa & need, need, "misa has IMAFDC S U");
    /* The value G233 lab start-up code writes: no U, H or B. Must be ignored. */
    csr_write(misa, misa & ~((1UL << ('U' - 'A')) | (1UL << ('H' - 'A')) | (1UL << ('B' - 'A'))));
    CHECK_EQ(csr_read(misa), misa, "misa write ignored");
    CHECK_EQ(csr_read(mhartid), 0, "mhartid = 0");
}

static uint64_t read_cycle(uint64_t a) { (void)a; uint64_t v; __asm__ volatile("rdcycle %0" : "=r"(v)); return v | 1; }
static uint64_t read_time(uint64_t a) { (void)a; uint64_t v; __asm__ volatile("rdtime %0" : "=r"(v)); return v | 1; }
static uint64_t read_instret(uint64_t a) { (void)a; uint64_t v; __asm__ volatile("rdinstret %0" : "=r"(v)); return v | 1; }

static void counter_case(unsigned mode, uint64_t (*fn)(uint64_t), int allowed, const char *name)
{
    expect_mtrap();
    uint64_t r = run_in_mode(mode, fn, 0);
    int trapped = !mtrap_armed;
    mtrap_armed = 0;
    if (allowed)
        CHECK(!trapped && r != 0, name);
    else
        CHECK(trapped && mtrap.cause == CAUSE_ILLEGAL, name);
}

static void counters(void)
{
    uint64_t i0, i1;
    __asm__ volatile("rdinstret %0\n\tnop\n\tnop\n\tnop\n\tnop\n\trdinstret %1" : "=r"(i0), "=r"(i1));
    CHECK(i1 - i0 >= 5 && i1 - i0 < 100, "instret counts retired instructions");
    uint64_t c0, c1;
    __asm__ volatile("rdcycle %0" : "=r"(c0));
    for (volatile int i = 0; i < 100; i++)
        ;
    __asm__ volatile("rdcycle %0" : "=r"(c1));
    CHECK(c1 > c0, "cycle advances");
    uint64_t t0 = csr_read(time), t1;
    do
        t1 = csr_read(time);
    while (t1 == t0 && (uint64_t)(csr_read(cycle) - c1) < 100000000UL);
    CHECK(t1 > t0, "time advances");
    CHECK_EQ(t1 - t0 < 10000000, 1, "time not jumping wildly");

    csr_write(mcounteren, 0);
    csr_write(scounteren, 0);
    counter_case(PRV_S, read_cycle, 0, "mcounteren.CY=0: S cycle illegal");
    counter_case(PRV_S, read_time, 0, "mcounteren.TM=0: S time illegal");
    counter_case(PRV_S, read_instret, 0, "mcounteren.IR=0: S instret illegal");
    csr_write(mcounteren, 7);
    counter_case(PRV_S, read_cycle, 1, "mcounteren.CY=1: S cycle legal");
    counter_case(PRV_S, read_time, 1, "mcounteren.TM=1: S time legal");
    counter_case(PRV_S, read_instret, 1, "mcounteren.IR=1: S instret legal");
    counter_case(PRV_U, read_cycle, 0, "scounteren.CY=0: U cycle illegal");
    csr_write(scounteren, 7);
    counter_case(PRV_U, read_cycle, 1, "scounteren.CY=1: U cycle legal");
    counter_case(PRV_U, read_time, 1, "scounteren.TM=1: U time legal");
    csr_write(mcounteren, 5);
    counter_case(PRV_U, read_time, 0, "mcounteren.TM=0 overrides scounteren for U");
    csr_write(mcounteren, 0);
    csr_write(scounteren, 0);
}

static void scratch_envcfg(void)
{
    uint64_t saved = csr_swap(mscratch, 0x123456789abcdef0UL);
    uint64_t v = csr_swap(mscratch, saved);
    CHECK_EQ(v, 0x123456789abcdef0UL, "mscratch holds 64 bits");
    csr_write(sscratch, 0xfedcba9876543210UL);
    CHECK_EQ(csr_read(sscratch), 0xfedcba9876543210UL, "sscratch holds 64 bits");
    uint64_t env = csr_read(CSR_MENVCFG);
    csr_write(CSR_MENVCFG, ~0UL);
    v = csr_read(CSR_MENVCFG);
    CHECK_EQ(v & 0x00000000ffffff00UL, 0, "menvcfg reserved bits 31:8 read 0");
    CHECK(v & MENVCFG_STCE, "menvcfg.STCE writable (Sstc)");
    csr_write(CSR_MENVCFG, 0);
    CHECK_EQ(csr_read(CSR_MENVCFG) & (MENVCFG_STCE | 1), 0, "menvcfg clears");
    csr_write(CSR_MENVCFG, env);
    csr_write(CSR_SENVCFG, 0);
    CHECK_EQ(csr_read(CSR_SENVCFG) & 0xffffff00UL, 0, "senvcfg readable, reserved 0");
}

int main(void)
{
    ecalls();
    xret_state();
    sret_state();
    delegation();
    mtvec_vectored();
    csr_privilege();
    misa_ids();
    counters();
    scratch_envcfg();
    return check_finish();
}
