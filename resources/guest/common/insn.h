/* Inline-assembly helpers that execute exactly one instruction on given operands. */
#ifndef GUEST_INSN_H
#define GUEST_INSN_H
#include <stdint.h>

/* rd = op rs1, rs2 */
#define RR(op, a, b) ({ uint64_t r_; __asm__ volatile(op " %0, %1, %2" : "=r"(r_) : "r"((uint64_t)(a)), "r"((uint64_t)(b))); r_; })
/* rd = op rs1, imm */
#define RI(op, a, imm) ({ uint64_t r_; __asm__ volatile(op " %0, %1, " #imm : "=r"(r_) : "r"((uint64_t)(a))); r_; })
/* rd = op rs1 */
#define R1(op, a) ({ uint64_t r_; __asm__ volatile(op " %0, %1" : "=r"(r_) : "r"((uint64_t)(a))); r_; })
/* rd = custom R-type encoding (.insn r opcode, f3, f7) of rs1, rs2 */
#define INSN_R(opc, f3, f7, a, b) ({ uint64_t r_; __asm__ volatile(".insn r " #opc ", " #f3 ", " #f7 ", %0, %1, %2" : "=r"(r_) : "r"((uint64_t)(a)), "r"((uint64_t)(b))); r_; })

#endif
