#!/usr/bin/env bash
# Runs every test of the project: lints, the guest programs' build, the Linux kernel and
# initramfs (cached per machine), unit and end-to-end tests. This is the README's test
# command; .ci/run calls it after installing packages.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -q -- -D warnings
echo "== accel-kvm for riscv64 hosts (the G233 KVM backend, cross-checked)"
if rustup target list --installed 2>/dev/null | grep -qx riscv64gc-unknown-linux-gnu \
   || rustup target add riscv64gc-unknown-linux-gnu >/dev/null 2>&1; then
  cargo clippy -q -p accel-kvm --target riscv64gc-unknown-linux-gnu -- -D warnings
else
  echo "skipped: the riscv64gc-unknown-linux-gnu target cannot be installed (rustup target add failed)"
fi
echo "== guest programs (resources/guest)"
make -s -C resources/guest
echo "== vmm (release, used by the end-to-end tests)"
cargo build --release -q -p vmm
export VMM_BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/vmm"
echo "== Linux for G233 (resources/linux; built once per machine, then cached)"
if image=$(resources/linux/build-kernel.sh) && initramfs=$(resources/linux/build-initramfs.sh); then
  export VMM_LINUX_IMAGE="$image" VMM_INITRAMFS="$initramfs"
elif [ -n "${CI:-}" ]; then
  echo "run-all: building the G233 kernel or initramfs failed" >&2
  exit 1
else
  echo "run-all: no G233 kernel/initramfs (see above); the Linux boot test will say it skipped"
fi
if [ "$(uname -m)" = x86_64 ]; then
  echo "== Linux for microvm (resources/x86/linux; built once per machine, then cached)"
  if vmlinux=$(resources/x86/linux/build-kernel.sh); then
    export VMM_X86_VMLINUX="$vmlinux"
  elif [ -n "${CI:-}" ]; then
    echo "run-all: building the x86_64 kernel failed" >&2
    exit 1
  else
    echo "run-all: no x86_64 kernel (see above); the KVM Linux boot tests will say they skipped"
  fi
fi
echo "== cargo test"
cargo test --workspace
