//! Helpers shared by the end-to-end tests in `tests/`: where the workspace is and which `vmm`
//! binary to run.
//!
//! Locating `vmm`: `env!("CARGO_BIN_EXE_vmm")` only exists inside the `vmm` package, so the
//! tests run `cargo build -p vmm` themselves (same target directory and profile as the test
//! binary, derived from its own path `<target>/<profile>/deps/<test>-*`) and use
//! `<target>/<profile>/vmm`. `VMM_BIN=/path/to/vmm` skips the build (the test script points it
//! at the release build, which the Linux boot test needs for speed).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent directory")
        .to_path_buf()
}

/// The `vmm` binary: `$VMM_BIN`, or built with `cargo build -p vmm` into this test's target
/// directory and profile.
pub fn vmm_binary() -> Result<PathBuf, String> {
    static VMM: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    VMM.get_or_init(|| {
        if let Some(bin) = std::env::var_os("VMM_BIN") {
            return Ok(PathBuf::from(bin));
        }
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        // <target>/<profile>/deps/guest_suite-<hash>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .ok_or_else(|| format!("unexpected test binary path {}", exe.display()))?;
        let target_dir = profile_dir
            .parent()
            .ok_or_else(|| format!("unexpected test binary path {}", exe.display()))?;
        let profile = profile_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("debug")
            .to_string();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(workspace_root())
            .args(["build", "-p", "vmm", "--bin", "vmm"])
            .env("CARGO_TARGET_DIR", target_dir);
        match profile.as_str() {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        let status = cmd
            .status()
            .map_err(|e| format!("cannot run cargo build -p vmm: {e}"))?;
        if !status.success() {
            return Err(format!("cargo build -p vmm failed ({status})"));
        }
        let bin = profile_dir.join("vmm");
        if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!(
                "{} missing after cargo build -p vmm",
                bin.display()
            ))
        }
    })
    .clone()
}

/// Whether the microvm board can run under KVM here (an x86_64 host with a usable
/// `/dev/kvm`); prints why not, for tests that then skip.
pub fn kvm_usable() -> bool {
    if !cfg!(target_arch = "x86_64") {
        eprintln!("skipping: the microvm board needs an x86_64 host");
        return false;
    }
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        Ok(_) => true,
        Err(e) => {
            eprintln!("skipping: cannot open /dev/kvm: {e}");
            false
        }
    }
}
