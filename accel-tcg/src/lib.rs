//! RISC-V RV64 system emulation (TCG): the CPU model the `vmm` runs G233 on when the host ISA differs.
pub mod fpu;
