//! The hook through which a board adds custom instructions to a CPU model without the generic
//! decoder knowing them (G233's `dma`/`sort`/`crush`/`expand` live with the board).

/// A data access that faulted; the CPU has recorded the trap (cause, tval) and will raise it
/// at the instruction once the hook returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemFault;

/// Guest data memory as the current instruction sees it: virtual addresses, the current
/// privilege, PMP and the MMU applied, MMIO dispatched.
pub trait GuestDataAccess {
    /// Loads `size` (1, 2, 4 or 8) bytes at `addr`, zero-extended.
    fn load(&mut self, addr: u64, size: usize) -> Result<u64, MemFault>;
    /// Stores the low `size` bytes of `value` at `addr`.
    fn store(&mut self, addr: u64, size: usize, value: u64) -> Result<(), MemFault>;
}

/// What executing a custom instruction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomOutcome {
    /// Executed; the CPU moves to the next instruction.
    Done,
    /// Not an instruction of this extension (or a reserved operand): illegal instruction.
    Illegal,
    /// A memory access faulted (already recorded through [`GuestDataAccess`]).
    Fault,
}

/// Custom instructions a board registers with a CPU model.
pub trait CustomInsnHook: Send {
    /// Whether this hook implements the 32-bit encoding `insn` (consulted by the decoder).
    fn claims(&self, insn: u32) -> bool;
    /// Executes `insn` with the integer register file `x` (x[0] reads 0; writes to it are
    /// discarded by the caller) and guest memory `mem`.
    fn execute(
        &mut self,
        insn: u32,
        x: &mut [u64; 32],
        mem: &mut dyn GuestDataAccess,
    ) -> CustomOutcome;
}
