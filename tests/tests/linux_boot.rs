//! Linux on G233 under TCG, end to end: boots the project's kernel
//! (`resources/linux/build-kernel.sh`) and initramfs (`build-initramfs.sh`) through OpenSBI
//! `fw_dynamic` to `/init`, types commands into the shell through the PL011, checks what they
//! print (CPU info, a GPIO output driven through sysfs and read back, also from the device
//! register), reboots (the board resets and Linux boots again) and powers off: `vmm` must exit
//! with status 0.
//!
//! The kernel and initramfs come from `$VMM_LINUX_IMAGE` / `$VMM_INITRAMFS` when set (the test
//! script builds them first, so their progress is visible), else from the scripts (cached per
//! machine). Where the scripts cannot build them (packages missing) the test prints why and
//! returns — except under CI (`CI` set), where that is a failure.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vmm_tests::{vmm_binary, workspace_root};

/// A built artifact: `$var`, or the path the build script prints.
fn artifact(var: &str, script: &str) -> Result<Option<PathBuf>, String> {
    if let Some(p) = std::env::var_os(var) {
        return Ok(Some(PathBuf::from(p)));
    }
    let out = Command::new(workspace_root().join("resources/linux").join(script))
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {script}: {e}"))?;
    if !out.status.success() {
        let why = format!("{script} failed ({}); see its message above", out.status);
        return if std::env::var_os("CI").is_some() {
            Err(why)
        } else {
            eprintln!("skipped: {why}");
            Ok(None)
        };
    }
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok(Some(PathBuf::from(path)))
}

/// A running `vmm` whose serial console we read and type into.
struct Console {
    child: Child,
    stdin: ChildStdin,
    output: Arc<Mutex<String>>,
    /// How much of `output` earlier waits consumed.
    seen: usize,
}

impl Console {
    fn start(args: &[String]) -> Console {
        let vmm = vmm_binary().expect("vmm binary");
        let mut child = Command::new(vmm)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("vmm starts");
        let output = Arc::new(Mutex::new(String::new()));
        for mut pipe in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let out = output.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let text = String::from_utf8_lossy(&buf[..n]);
                    out.lock().unwrap().push_str(&text);
                }
            });
        }
        let stdin = child.stdin.take().expect("stdin");
        Console {
            child,
            stdin,
            output,
            seen: 0,
        }
    }

    fn transcript(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits until `needle` appears after what earlier waits consumed.
    fn wait_for(&mut self, needle: &str, timeout: Duration) {
        let start = Instant::now();
        loop {
            let text = self.transcript();
            if let Some(i) = text[self.seen..].find(needle) {
                self.seen += i + needle.len();
                return;
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                panic!("{needle:?} did not appear within {timeout:?}; console so far:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types a line into the guest's console.
    fn send(&mut self, line: &str) {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .expect("write to vmm's stdin");
        self.stdin.flush().expect("flush");
    }

    fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                panic!(
                    "vmm did not exit within {timeout:?}; console:\n{}",
                    self.transcript()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn linux_boots_to_a_shell_drives_gpio_reboots_and_powers_off() {
    let (Some(image), Some(initramfs)) = (
        artifact("VMM_LINUX_IMAGE", "build-kernel.sh").expect("kernel"),
        artifact("VMM_INITRAMFS", "build-initramfs.sh").expect("initramfs"),
    ) else {
        return;
    };
    let args: Vec<String> = [
        "run",
        "--accel",
        "tcg",
        "--board",
        "g233",
        "--kernel",
        &image.to_string_lossy(),
        "--initrd",
        &initramfs.to_string_lossy(),
        "--append",
        "console=ttyAMA0 earlycon=pl011,mmio32,0x10000000",
        "--timeout",
        "600",
    ]
    .map(String::from)
    .to_vec();
    let started = Instant::now();
    let mut c = Console::start(&args);
    c.wait_for("VMM-INIT:", Duration::from_secs(300));
    eprintln!("init marker after {:.2}s", started.elapsed().as_secs_f64());
    c.wait_for("g233:", Duration::from_secs(60));

    c.send("cat /proc/cpuinfo");
    c.wait_for("isa\t\t: rv64imafdc", Duration::from_secs(30));
    c.wait_for("mmu\t\t: sv", Duration::from_secs(30));

    c.send("echo TYPED-$((6*7))");
    c.wait_for("TYPED-42", Duration::from_secs(30));

    // GPIO pin 5 as an output through sysfs: the value reads back, and output_val (0x1001200c)
    // shows the bit.
    c.send(
        "B=$(cat /sys/class/gpio/gpiochip*/base); P=$((B+5)); echo $P > /sys/class/gpio/export; \
         echo out > /sys/class/gpio/gpio$P/direction; echo 1 > /sys/class/gpio/gpio$P/value; \
         echo GPIO-VALUE-$(cat /sys/class/gpio/gpio$P/value) GPIO-REG-$(devmem 0x1001200c 32)",
    );
    c.wait_for("GPIO-VALUE-1 GPIO-REG-0x00000020", Duration::from_secs(30));
    c.send(
        "echo 0 > /sys/class/gpio/gpio$P/value; \
         echo GPIO-VALUE-$(cat /sys/class/gpio/gpio$P/value) GPIO-REG-$(devmem 0x1001200c 32)",
    );
    c.wait_for("GPIO-VALUE-0 GPIO-REG-0x00000000", Duration::from_secs(30));

    // `reboot` resets the board (OpenSBI → test finisher): Linux boots again.
    c.send("reboot");
    c.wait_for("reboot: Restarting system", Duration::from_secs(60));
    c.wait_for("VMM-INIT:", Duration::from_secs(300));
    c.wait_for("g233:", Duration::from_secs(60));

    c.send("poweroff");
    let code = c.wait_exit(Duration::from_secs(60));
    let transcript = c.transcript();
    assert!(transcript.contains("reboot: Power down"), "{transcript}");
    assert_eq!(
        code,
        Some(0),
        "vmm's exit status after poweroff; console:\n{transcript}"
    );
}
