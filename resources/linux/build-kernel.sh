#!/usr/bin/env bash
# Builds a riscv64 Linux `Image` for G233 from Debian's linux-source-6.12 with
# gcc-riscv64-linux-gnu, using tinyconfig + g233.config. The result is cached outside the
# repository (keyed by the source version and the config fragment), so it is built once per
# machine. Prints the path of the Image on stdout.
#
#   resources/linux/build-kernel.sh            # build (or reuse) and print the Image path
#   VMM_CACHE=/some/dir resources/linux/build-kernel.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/kernel-common.sh"
kernel_find_source
command -v riscv64-linux-gnu-gcc >/dev/null || {
  echo "build-kernel: riscv64-linux-gnu-gcc not found; install it: apt-get install gcc-riscv64-linux-gnu" >&2
  exit 1
}
out="$kernel_cache/linux/Image-$(kernel_key "$here/g233.config")"
if [ -f "$out" ]; then
  echo "$out"
  exit 0
fi
kernel_unpack
# One build tree for every config: a changed fragment rebuilds incrementally.
build="$kernel_cache/linux/build"
mkdir -p "$build"
mk() { make -s -C "$src" O="$build" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- "$@"; }
kernel_configure "$here/g233.config"
echo "build-kernel: compiling Image with $(nproc) jobs (several minutes)" >&2
mk -j"$(nproc)" Image
cp "$build/arch/riscv/boot/Image" "$out.tmp" && mv "$out.tmp" "$out"
echo "$out"
