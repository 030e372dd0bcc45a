//! Byte offsets of the CPU state that translated code (Cranelift regions and baseline blocks)
//! reads and writes directly, from the CPU pointer or from an entry's address.

// (Some are used only by the x86-64 baseline tier.)
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

use std::mem::{offset_of, size_of};

use super::{JcEntry, JitCpu};
use crate::cpu::Cpu;
use crate::mmu::TlbEntry;

/// `Cpu::x`.
pub(crate) const X_OFF: i32 = offset_of!(Cpu, x) as i32;
/// `Cpu::f`.
pub(crate) const F_OFF: i32 = offset_of!(Cpu, f) as i32;
/// `Cpu::pc`.
pub(crate) const PC_OFF: i32 = offset_of!(Cpu, pc) as i32;
/// `Cpu::instret`.
pub(crate) const INSTRET_OFF: i32 = offset_of!(Cpu, instret) as i32;
/// `Cpu::fflags`.
pub(crate) const FFLAGS_OFF: i32 = offset_of!(Cpu, fflags) as i32;
const JIT_OFF: usize = offset_of!(Cpu, jit);
/// `Cpu::jit.limit`.
pub(crate) const LIMIT_OFF: i32 = (JIT_OFF + offset_of!(JitCpu, limit)) as i32;
/// `Cpu::jit.jc_epoch`.
pub(crate) const JC_EPOCH_OFF: i32 = (JIT_OFF + offset_of!(JitCpu, jc_epoch)) as i32;
/// `Cpu::jit.chained`.
pub(crate) const CHAINED_OFF: i32 = (JIT_OFF + offset_of!(JitCpu, chained)) as i32;
/// `Cpu::tlb` (one `Tlb` per MMU index).
pub(crate) const TLB_OFF: usize = offset_of!(Cpu, tlb);
/// `TlbEntry::read`.
pub(crate) const TLBE_READ: i32 = offset_of!(TlbEntry, read) as i32;
/// `TlbEntry::write`.
pub(crate) const TLBE_WRITE: i32 = offset_of!(TlbEntry, write) as i32;
/// `TlbEntry::addend`.
pub(crate) const TLBE_ADDEND: i32 = offset_of!(TlbEntry, addend) as i32;
/// `JcEntry::vpc`.
pub(crate) const JCE_VPC: i32 = offset_of!(JcEntry, vpc) as i32;
/// `JcEntry::mode`.
pub(crate) const JCE_MODE: i32 = offset_of!(JcEntry, mode) as i32;
/// `JcEntry::code`.
pub(crate) const JCE_CODE: i32 = offset_of!(JcEntry, code) as i32;
// Index computations scale by these sizes (TLB: 16 * 3, jump cache: 32).
const _: () = assert!(size_of::<TlbEntry>() == 48);
const _: () = assert!(size_of::<JcEntry>() == 32);
