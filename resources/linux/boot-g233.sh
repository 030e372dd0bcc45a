#!/usr/bin/env bash
# Boots the project's Linux on the G233 board to an interactive shell, in one command:
# builds (once, then cached) the kernel and the busybox initramfs, builds vmm, and runs it with
# OpenSBI fw_dynamic. Extra arguments go to `vmm run` (e.g. --memory 2G, -v).
# Quit with `poweroff` in the guest, or Ctrl-A x.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
image=$("$root/resources/linux/build-kernel.sh")
initramfs=$("$root/resources/linux/build-initramfs.sh")
cargo build --release -q -p vmm --manifest-path "$root/Cargo.toml"
exec "${CARGO_TARGET_DIR:-$root/target}/release/vmm" run --accel tcg --board g233 \
  --kernel "$image" --initrd "$initramfs" \
  --append "console=ttyAMA0 earlycon=pl011,mmio32,0x10000000" "$@"
