//! `microvm`: a minimal x86_64 machine for KVM, laid out like Firecracker's.
//!
//! COM1 (8250) on port 0x3f8, an i8042 for the reset command, a poweroff port at 0x501, up to six
//! virtio-mmio devices (block, entropy) announced on the kernel command line, an optional MMIO
//! test device, and boot by the Linux 64-bit protocol or PVH. The interrupt controllers (PIC,
//! IOAPIC, LAPIC, PIT) are KVM's in-kernel ones: devices raise interrupts through irqfds
//! ([`MicroVm::irqfds`]) and virtio queue notifications arrive on ioeventfds
//! ([`MicroVm::ioeventfds`]); the accelerator registers both. See `layout` for the memory map.

mod boot;
mod io;
mod irq;
pub mod layout;
mod power;

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use devices::bus::lock;
use devices::i8042::I8042;
use devices::mmio_test::{MmioTest, MMIO_TEST_LEN};
use devices::uart_8250::Uart8250;
use devices::virtio::blk::VirtioBlk;
use devices::virtio::mmio::{QUEUE_NOTIFY, VIRTIO_MMIO_LEN};
use devices::virtio::rng::VirtioRng;
use devices::virtio::{VirtioDevice, VirtioMmio};
use devices::{Bus, HartInterrupts, IrqLine};
use vm_memory::GuestMemoryMmap;
use vmm_sys_util::eventfd::EventFd;

pub use boot::{X86Entry, X86Mode, BOOT_CS, BOOT_DS, BOOT_GDT};
pub use io::IoThread;
pub use irq::IrqfdLine;
pub use power::PoweroffPort;

use crate::{BoardError, RamRegion};

/// Default RAM size.
pub const DEFAULT_RAM: u64 = 256 << 20;

/// The command line the board starts from when the user gives none.
pub const DEFAULT_CMDLINE: &str =
    "console=ttyS0 reboot=k panic=1 pci=off nomodule i8042.noaux i8042.nomux i8042.nopnp \
     i8042.dumbkbd noxsave";

/// A virtio-blk disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskConfig {
    /// Backing file.
    pub path: PathBuf,
    /// Refuse guest writes.
    pub read_only: bool,
}

/// How the user configures the board.
pub struct MicroVmConfig {
    /// RAM size in bytes.
    pub ram_size: u64,
    /// Kernel: ELF (vmlinux, PVH entry used when present) or bzImage.
    pub kernel: PathBuf,
    /// Optional initrd.
    pub initrd: Option<PathBuf>,
    /// Kernel command line; the board appends `virtio_mmio.device=` entries.
    pub cmdline: String,
    /// virtio-blk disks, in order.
    pub disks: Vec<DiskConfig>,
    /// Add a virtio-rng device.
    pub rng: bool,
    /// Add the MMIO test device at `layout::MMIO_TEST_BASE`.
    pub mmio_test: bool,
    /// Where COM1 transmits.
    pub serial: Box<dyn Write + Send>,
}

impl MicroVmConfig {
    /// A configuration with defaults: 256 MiB, default command line, no disks, rng on.
    pub fn new(kernel: PathBuf, serial: Box<dyn Write + Send>) -> Self {
        MicroVmConfig {
            ram_size: DEFAULT_RAM,
            kernel,
            initrd: None,
            cmdline: DEFAULT_CMDLINE.to_string(),
            disks: Vec::new(),
            rng: true,
            mmio_test: false,
            serial,
        }
    }
}

/// An ioeventfd the accelerator must register: the guest writing `datamatch` (32-bit) to the
/// MMIO address `addr` signals `fd`.
pub struct IoEvent<'a> {
    /// The eventfd.
    pub fd: &'a EventFd,
    /// Guest-physical MMIO address.
    pub addr: u64,
    /// Value to match.
    pub datamatch: u32,
}

/// A built microvm.
pub struct MicroVm {
    /// MMIO devices.
    pub mmio: Arc<Bus>,
    /// Port I/O devices.
    pub pio: Arc<Bus>,
    /// The stop flag (poweroff port, i8042 reset and the host request exits here).
    pub stop: Arc<HartInterrupts>,
    entry: X86Entry,
    cmdline: String,
    irq_lines: Vec<Arc<IrqfdLine>>,
    uart: Arc<Mutex<Uart8250>>,
    virtio: Vec<(u64, Arc<Mutex<VirtioMmio>>)>,
    mmio_test: Option<Arc<Mutex<MmioTest>>>,
    notify_fds: Vec<(EventFd, u64, u32)>,
}

impl MicroVm {
    /// The RAM map for `ram_size` bytes (split around the 3–4 GiB MMIO hole).
    pub fn ram_regions(ram_size: u64) -> Vec<RamRegion> {
        layout::ram_regions(ram_size)
    }

    /// Builds the board in `mem` (which must follow [`MicroVm::ram_regions`]): devices, kernel,
    /// initrd and boot structures.
    pub fn new(cfg: MicroVmConfig, mem: &GuestMemoryMmap) -> Result<MicroVm, BoardError> {
        if cfg.ram_size < layout::MIN_RAM {
            return Err(BoardError::Config(format!(
                "microvm needs at least {} MiB of RAM",
                layout::MIN_RAM >> 20
            )));
        }
        let wanted = cfg.disks.len() + usize::from(cfg.rng);
        if wanted > layout::VIRTIO_IRQS.len() {
            return Err(BoardError::Config(format!(
                "microvm has {} virtio slots, {wanted} devices asked for",
                layout::VIRTIO_IRQS.len()
            )));
        }
        let io_err =
            |what: String| move |e: std::io::Error| BoardError::Config(format!("{what}: {e}"));
        let stop = Arc::new(HartInterrupts::new());
        let mut mmio = Bus::new();
        let mut pio = Bus::new();
        let mut irq_lines = Vec::new();
        let mut line = |gsi: u32| -> Result<Arc<IrqfdLine>, BoardError> {
            let l = Arc::new(IrqfdLine::new(gsi).map_err(io_err(format!("irqfd {gsi}")))?);
            irq_lines.push(l.clone());
            Ok(l)
        };

        let com1_irq: Arc<dyn IrqLine> = line(layout::COM1_IRQ)?;
        let uart = Arc::new(Mutex::new(Uart8250::new(cfg.serial, com1_irq)));
        pio.insert(uart.clone(), layout::COM1_PORT, Uart8250::LEN)?;
        pio.insert(
            Arc::new(Mutex::new(I8042::new(stop.clone()))),
            I8042::BASE,
            I8042::LEN,
        )?;
        pio.insert(
            Arc::new(Mutex::new(PoweroffPort::new(stop.clone()))),
            layout::POWEROFF_PORT,
            1,
        )?;

        let mut devs: Vec<Box<dyn VirtioDevice>> = Vec::new();
        for d in &cfg.disks {
            let blk = VirtioBlk::open(&d.path, d.read_only)
                .map_err(io_err(format!("disk {}", d.path.display())))?;
            devs.push(Box::new(blk));
        }
        if cfg.rng {
            devs.push(Box::new(VirtioRng::new()));
        }
        let mut cmdline = cfg.cmdline.trim().to_string();
        let mut virtio = Vec::new();
        let mut notify_fds = Vec::new();
        for (i, dev) in devs.into_iter().enumerate() {
            let base = layout::VIRTIO_BASE + i as u64 * layout::VIRTIO_SLOT;
            let gsi = layout::VIRTIO_IRQS[i];
            let t = VirtioMmio::new(dev, mem.clone(), line(gsi)?)
                .map_err(io_err(format!("virtio device {i}")))?;
            for q in 0..t.num_queues() {
                if let Some(fd) = t.notify_fd(q) {
                    let fd = fd
                        .try_clone()
                        .map_err(io_err(format!("virtio device {i} eventfd")))?;
                    notify_fds.push((fd, base + QUEUE_NOTIFY, q as u32));
                }
            }
            let t = Arc::new(Mutex::new(t));
            mmio.insert(t.clone(), base, VIRTIO_MMIO_LEN)?;
            cmdline.push_str(&format!(" virtio_mmio.device=4K@{base:#x}:{gsi}"));
            virtio.push((base, t));
        }
        let mmio_test = if cfg.mmio_test {
            let t = Arc::new(Mutex::new(MmioTest::new()));
            mmio.insert(t.clone(), layout::MMIO_TEST_BASE, MMIO_TEST_LEN)?;
            Some(t)
        } else {
            None
        };

        let loaded = boot::load(
            mem,
            cfg.ram_size,
            &cfg.kernel,
            cfg.initrd.as_deref(),
            &cmdline,
        )?;
        Ok(MicroVm {
            mmio: Arc::new(mmio),
            pio: Arc::new(pio),
            stop,
            entry: loaded.entry,
            cmdline,
            irq_lines,
            uart,
            virtio,
            mmio_test,
            notify_fds,
        })
    }

    /// The entry state of the boot vCPU.
    pub fn entry(&self) -> &X86Entry {
        &self.entry
    }

    /// The final kernel command line (with the virtio devices).
    pub fn cmdline(&self) -> &str {
        &self.cmdline
    }

    /// The (eventfd, GSI) pairs to register as KVM irqfds.
    pub fn irqfds(&self) -> Vec<(&EventFd, u32)> {
        self.irq_lines.iter().map(|l| (l.fd(), l.gsi())).collect()
    }

    /// The virtio queue-notify ioeventfds to register.
    pub fn ioeventfds(&self) -> Vec<IoEvent<'_>> {
        self.notify_fds
            .iter()
            .map(|(fd, addr, datamatch)| IoEvent {
                fd,
                addr: *addr,
                datamatch: *datamatch,
            })
            .collect()
    }

    /// Starts the I/O thread: `input` (e.g. a dup of stdin) feeds COM1; virtio notifications
    /// are serviced.
    pub fn start_io(&self, input: Option<File>) -> Result<IoThread, BoardError> {
        let devs: Vec<_> = self.virtio.iter().map(|(_, d)| d.clone()).collect();
        IoThread::start(self.uart.clone(), input, &devs)
    }

    /// Queues bytes into COM1's receive FIFO; returns how many were taken.
    pub fn serial_input(&self, bytes: &[u8]) -> usize {
        lock(&self.uart).receive(bytes)
    }

    /// The MMIO test device, when configured.
    pub fn mmio_test(&self) -> Option<Arc<Mutex<MmioTest>>> {
        self.mmio_test.clone()
    }
}

/// Offset of the queue-notify register in a virtio-mmio window.
pub const VIRTIO_QUEUE_NOTIFY: u64 = QUEUE_NOTIFY;

#[cfg(test)]
mod tests;
