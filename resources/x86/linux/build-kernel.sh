#!/usr/bin/env bash
# Builds an uncompressed x86_64 `vmlinux` (ELF, PVH entry) for the microvm board from Debian's
# linux-source-6.12, tinyconfig + microvm.config, cached outside the repository (keyed by the
# source tarball and the fragment). Prints the path of the vmlinux on stdout.
#
#   nice -n 19 resources/x86/linux/build-kernel.sh
#   VMM_CACHE=/some/dir resources/x86/linux/build-kernel.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../linux/kernel-common.sh"
kernel_find_source
for t in gcc make flex bison bc; do
  command -v "$t" >/dev/null || { echo "build-kernel: $t not found (apt-get install build-essential flex bison bc libelf-dev)" >&2; exit 1; }
done
key=$(kernel_key "$here/microvm.config")
out="$kernel_cache/linux/vmlinux-x86_64-$key"
if [ -f "$out" ]; then
  echo "$out"
  exit 0
fi
kernel_unpack
build="$kernel_cache/linux/build-x86_64-$key"
mkdir -p "$build"
mk() { make -s -C "$src" O="$build" ARCH=x86_64 "$@"; }
kernel_configure "$here/microvm.config"
echo "build-kernel: compiling vmlinux with $(nproc) jobs (many minutes on a shared machine)" >&2
mk -j"$(nproc)" vmlinux
cp "$build/vmlinux" "$out.tmp" && mv "$out.tmp" "$out"
echo "$out"
