/* Zba, Zbb, Zbc, Zbs: every instruction, with W-form sign/zero extension and
 * shift/index masking. (Zicond, Zcb, Zfa, Zicboz are in rva23ext.c: QEMU 7.2
 * lacks them.) */
#include "check.h"
#include "insn.h"

#define MIN64 0x8000000000000000UL

static void zba(void)
{
    CHECK_EQ(RR("add.uw", 0xffffffff80000000UL, 1), 0x80000001UL, "add.uw zero-extends rs1 word");
    CHECK_EQ(RR("sh1add", 3, 10), 16, "sh1add");
    CHECK_EQ(RR("sh2add", 3, 10), 22, "sh2add");
    CHECK_EQ(RR("sh3add", MIN64 | 1, 0), 8, "sh3add shifts out high bits");
    CHECK_EQ(RR("sh1add.uw", 0xffffffff80000000UL, 0), 0x100000000UL, "sh1add.uw");
    CHECK_EQ(RR("sh2add.uw", 0xffffffff00000001UL, 0), 4, "sh2add.uw drops upper word");
    CHECK_EQ(RR("sh3add.uw", 0x1234567880000000UL, 1), 0x400000001UL, "sh3add.uw");
    CHECK_EQ(RI("slli.uw", 0xffffffff80000001UL, 4), 0x800000010UL, "slli.uw");
    CHECK_EQ(RI("slli.uw", 0xffffffffffffffffUL, 63), MIN64, "slli.uw 63");
}

static void zbb(void)
{
    CHECK_EQ(RR("andn", 0xff, 0x0f), 0xf0, "andn");
    CHECK_EQ(RR("orn", 0, 0), ~0UL, "orn");
    CHECK_EQ(RR("xnor", 0x1234, 0x1234), ~0UL, "xnor");
    CHECK_EQ(R1("clz", 0), 64, "clz 0 = 64");
    CHECK_EQ(R1("clz", 1), 63, "clz 1");
    CHECK_EQ(R1("clz", MIN64), 0, "clz MIN");
    CHECK_EQ(R1("clzw", 0xffffffff00000000UL), 32, "clzw ignores upper word");
    CHECK_EQ(R1("clzw", 0x00000001UL), 31, "clzw 1");
    CHECK_EQ(R1("ctz", 0), 64, "ctz 0 = 64");
    CHECK_EQ(R1("ctz", MIN64), 63, "ctz MIN");
    CHECK_EQ(R1("ctzw", 0x100000000UL), 32, "ctzw ignores upper word");
    CHECK_EQ(R1("ctzw", 0x80000000UL), 31, "ctzw bit 31");
    CHECK_EQ(R1("cpop", ~0UL), 64, "cpop all ones");
    CHECK_EQ(R1("cpopw", 0xffffffff0000000fUL), 4, "cpopw low word only");
    CHECK_EQ(RR("max", -1L, 1), 1, "max signed");
    CHECK_EQ(RR("maxu", -1L, 1), ~0UL, "maxu unsigned");
    CHECK_EQ(RR("min", -1L, 1), ~0UL, "min signed");
    CHECK_EQ(RR("minu", -1L, 1), 1, "minu unsigned");
    CHECK_EQ(R1("sext.b", 0x1280UL), 0xffffffffffffff80UL, "sext.b");
    CHECK_EQ(R1("sext.b", 0xff7fUL), 0x7f, "sext.b positive");
    CHECK_EQ(R1("sext.h", 0x7fff8000UL), 0xffffffffffff8000UL, "sext.h");
    CHECK_EQ(R1("zext.h", 0xffffffffffff8000UL), 0x8000, "zext.h");
    CHECK_EQ(RR("rol", 0x8000000000000001UL, 1), 3, "rol");
    CHECK_EQ(RR("rol", 0x8000000000000001UL, 65), 3, "rol masks shamt");
    CHECK_EQ(RR("rolw", 0x40000000UL, 1), 0xffffffff80000000UL, "rolw sign-extends");
    CHECK_EQ(RR("rolw", 0xffffffff80000001UL, 33), 3, "rolw masks shamt, low word");
    CHECK_EQ(RR("ror", 1, 1), MIN64, "ror");
    CHECK_EQ(RI("rori", 1, 63), 2, "rori 63");
    CHECK_EQ(RI("roriw", 1, 1), 0xffffffff80000000UL, "roriw sign-extends");
    CHECK_EQ(RR("rorw", 0x100000002UL, 33), 1, "rorw masks shamt, low word");
    CHECK_EQ(R1("orc.b", 0x0001000000100200UL), 0x00ff000000ffff00UL, "orc.b");
    CHECK_EQ(R1("rev8", 0x0102030405060708UL), 0x0807060504030201UL, "rev8");
}

static void zbc(void)
{
    CHECK_EQ(RR("clmul", 3, 3), 5, "clmul 3*3 = 5");
    CHECK_EQ(RR("clmul", MIN64, 2), 0, "clmul high bits dropped");
    CHECK_EQ(RR("clmulh", MIN64, 2), 1, "clmulh");
    CHECK_EQ(RR("clmul", ~0UL, ~0UL), 0x5555555555555555UL, "clmul ones*ones low");
    CHECK_EQ(RR("clmulh", ~0UL, ~0UL), 0x5555555555555555UL, "clmulh ones*ones");
    CHECK_EQ(RR("clmulr", ~0UL, ~0UL), 0xaaaaaaaaaaaaaaaaUL, "clmulr ones*ones");
    CHECK_EQ(RR("clmulr", MIN64, MIN64), MIN64, "clmulr MIN*MIN = bit 126 >> 63");
    CHECK_EQ(RR("clmul", 0x1234, 0), 0, "clmul by 0");
}

static void zbs(void)
{
    CHECK_EQ(RR("bclr", ~0UL, 65), ~2UL, "bclr masks index");
    CHECK_EQ(RR("bset", 0, 63), MIN64, "bset 63");
    CHECK_EQ(RR("binv", MIN64, 63), 0, "binv");
    CHECK_EQ(RR("bext", 0x10, 4), 1, "bext");
    CHECK_EQ(RR("bext", 0x10, 68), 1, "bext masks index");
    CHECK_EQ(RI("bexti", MIN64, 63), 1, "bexti 63");
    CHECK_EQ(RI("bclri", ~0UL, 0), ~1UL, "bclri 0");
    CHECK_EQ(RI("bseti", 0, 32), 0x100000000UL, "bseti 32");
    CHECK_EQ(RI("binvi", 0x20, 5), 0, "binvi");
}

int main(void)
{
    zba();
    zbb();
    zbc();
    zbs();
    return check_finish();
}
