//! The VM: `/dev/kvm`, `KVM_CREATE_VM`, one memory slot per guest-memory region, the in-kernel
//! interrupt controllers (x86), irqfds and ioeventfds.

use kvm_bindings::kvm_userspace_memory_region;
use kvm_ioctls::{Cap, IoEventAddress, Kvm, VmFd};
use vm_memory::{Address, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};
use vmm_sys_util::eventfd::EventFd;

use crate::error::{ioctl, KvmError};
use crate::vcpu::KvmVcpu;

/// Where an ioeventfd listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoEventSpace {
    /// A guest-physical MMIO address.
    Mmio(u64),
    /// An x86 I/O port.
    Pio(u16),
}

/// Whether `/dev/kvm` can be opened, with the reason when it cannot.
pub fn probe() -> Result<(), KvmError> {
    open_kvm().map(|_| ())
}

fn open_kvm() -> Result<Kvm, KvmError> {
    let kvm = Kvm::new().map_err(KvmError::Open)?;
    let v = kvm.get_api_version();
    if v != 12 {
        return Err(KvmError::ApiVersion(v));
    }
    Ok(kvm)
}

/// A KVM virtual machine with its guest memory registered.
pub struct KvmVm {
    kvm: Kvm,
    fd: VmFd,
    /// Keeps the mappings registered with KVM alive as long as the VM.
    _mem: GuestMemoryMmap,
    next_vcpu: u32,
}

impl KvmVm {
    /// Creates a VM and registers every region of `mem` as one memory slot.
    ///
    /// Works for every vm-memory backend (anonymous, memfd, file, hugetlbfs): KVM only needs the
    /// host mapping. The VM keeps a clone of `mem`, so the mappings outlive the slots.
    pub fn new(mem: &GuestMemoryMmap) -> Result<KvmVm, KvmError> {
        let kvm = open_kvm()?;
        for (cap, name) in [
            (Cap::UserMemory, "KVM_CAP_USER_MEMORY"),
            (Cap::ImmediateExit, "KVM_CAP_IMMEDIATE_EXIT"),
            (Cap::Irqfd, "KVM_CAP_IRQFD"),
            (Cap::Ioeventfd, "KVM_CAP_IOEVENTFD"),
        ] {
            if !kvm.check_extension(cap) {
                return Err(KvmError::MissingCap(name));
            }
        }
        let fd = kvm.create_vm().map_err(ioctl("KVM_CREATE_VM"))?;
        let max_slots = kvm.get_nr_memslots();
        if mem.num_regions() > max_slots {
            return Err(KvmError::Memory(format!(
                "{} memory regions but KVM allows {max_slots} slots",
                mem.num_regions()
            )));
        }
        for (slot, region) in mem.iter().enumerate() {
            let size = region.len();
            let gpa = region.start_addr().raw_value();
            if gpa & 0xfff != 0 || size & 0xfff != 0 {
                return Err(KvmError::Memory(format!(
                    "region {gpa:#x}+{size:#x} is not page aligned"
                )));
            }
            let host = region.as_ptr() as u64;
            let r = kvm_userspace_memory_region {
                slot: slot as u32,
                flags: 0,
                guest_phys_addr: gpa,
                memory_size: size,
                userspace_addr: host,
            };
            // SAFETY: `host..host+size` is a live mapping owned by `mem`; the VM keeps a clone
            // of `mem` (sharing the same mappings) for as long as it exists, so KVM never sees a
            // dangling mapping.
            unsafe { fd.set_user_memory_region(r) }.map_err(ioctl("KVM_SET_USER_MEMORY_REGION"))?;
        }
        Ok(KvmVm {
            kvm,
            fd,
            _mem: mem.clone(),
            next_vcpu: 0,
        })
    }

    /// The `/dev/kvm` handle.
    pub fn kvm(&self) -> &Kvm {
        &self.kvm
    }

    /// The VM file descriptor, for operations this crate does not wrap.
    pub fn fd(&self) -> &VmFd {
        &self.fd
    }

    /// Creates the next vCPU (ids are given in order from 0).
    pub fn create_vcpu(&mut self) -> Result<KvmVcpu, KvmError> {
        let id = self.next_vcpu;
        let fd = self
            .fd
            .create_vcpu(u64::from(id))
            .map_err(ioctl("KVM_CREATE_VCPU"))?;
        self.next_vcpu += 1;
        Ok(KvmVcpu::new(id, fd, self._mem.clone()))
    }

    /// Injects interrupts into `gsi` whenever `fd` is written (`KVM_IRQFD`).
    pub fn register_irqfd(&self, fd: &EventFd, gsi: u32) -> Result<(), KvmError> {
        self.fd.register_irqfd(fd, gsi).map_err(ioctl("KVM_IRQFD"))
    }

    /// Signals `fd` instead of exiting to user space when the guest writes the 32-bit value
    /// `datamatch` to `addr` (`KVM_IOEVENTFD`); `datamatch: None` matches any value.
    pub fn register_ioeventfd(
        &self,
        fd: &EventFd,
        addr: IoEventSpace,
        datamatch: Option<u32>,
    ) -> Result<(), KvmError> {
        let a = match addr {
            IoEventSpace::Mmio(a) => IoEventAddress::Mmio(a),
            IoEventSpace::Pio(p) => IoEventAddress::Pio(u64::from(p)),
        };
        match datamatch {
            Some(v) => self.fd.register_ioevent(fd, &a, v),
            None => self.fd.register_ioevent(fd, &a, kvm_ioctls::NoDatamatch),
        }
        .map_err(ioctl("KVM_IOEVENTFD"))
    }

    /// x86: creates the in-kernel PIC, IOAPIC and LAPICs, and the PIT (`KVM_CREATE_IRQCHIP`,
    /// `KVM_CREATE_PIT2`). Must be called before creating vCPUs.
    #[cfg(target_arch = "x86_64")]
    pub fn create_x86_irqchip(&self) -> Result<(), KvmError> {
        if !self.kvm.check_extension(Cap::Irqchip) {
            return Err(KvmError::MissingCap("KVM_CAP_IRQCHIP"));
        }
        // The TSS and identity map must sit in guest-physical space no RAM or MMIO uses.
        self.fd
            .set_tss_address(crate::x86::TSS_ADDR as usize)
            .map_err(ioctl("KVM_SET_TSS_ADDR"))?;
        self.fd
            .set_identity_map_address(crate::x86::IDENTITY_MAP_ADDR)
            .map_err(ioctl("KVM_SET_IDENTITY_MAP_ADDR"))?;
        self.fd
            .create_irq_chip()
            .map_err(ioctl("KVM_CREATE_IRQCHIP"))?;
        let pit = kvm_bindings::kvm_pit_config {
            flags: kvm_bindings::KVM_PIT_SPEAKER_DUMMY,
            ..Default::default()
        };
        self.fd.create_pit2(pit).map_err(ioctl("KVM_CREATE_PIT2"))
    }

    /// Drives an in-kernel interrupt controller input directly (`KVM_IRQ_LINE`).
    pub fn set_irq_line(&self, gsi: u32, level: bool) -> Result<(), KvmError> {
        self.fd
            .set_irq_line(gsi, level)
            .map_err(ioctl("KVM_IRQ_LINE"))
    }
}
