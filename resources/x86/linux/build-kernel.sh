#!/usr/bin/env bash
# Builds an uncompressed x86_64 `vmlinux` (ELF, PVH entry) for the microvm board from Debian's
# linux-source-6.12, tinyconfig + microvm.config, cached outside the repository (keyed by the
# source tarball and the fragment). Prints the path of the vmlinux on stdout.
#
#   nice -n 19 resources/x86/linux/build-kernel.sh
#   VMM_CACHE=/some/dir resources/x86/linux/build-kernel.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${VMM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmm}
tarball=$(ls /usr/src/linux-source-6.12*.tar.xz 2>/dev/null | head -n1 || true)
if [ -z "$tarball" ]; then
  echo "build-kernel: /usr/src/linux-source-6.12.tar.xz not found; install it: apt-get install linux-source-6.12" >&2
  exit 1
fi
for t in gcc make flex bison bc; do
  command -v "$t" >/dev/null || { echo "build-kernel: $t not found (apt-get install build-essential flex bison bc libelf-dev)" >&2; exit 1; }
done
key=$( (basename "$tarball"; stat -c %s "$tarball"; cat "$here/microvm.config") | sha256sum | cut -c1-16)
out="$cache/linux/vmlinux-x86_64-$key"
if [ -f "$out" ]; then
  echo "$out"
  exit 0
fi
mkdir -p "$cache/linux"
# The unpacked tree is shared with the riscv64 build (resources/linux/build-kernel.sh).
src="$cache/linux/src-6.12"
if [ ! -f "$src/Makefile" ]; then
  echo "build-kernel: unpacking $tarball" >&2
  rm -rf "$src.tmp" && mkdir -p "$src.tmp"
  tar -xf "$tarball" -C "$src.tmp" --strip-components=1
  mv "$src.tmp" "$src"
fi
build="$cache/linux/build-x86_64-$key"
mkdir -p "$build"
mk() { make -s -C "$src" O="$build" ARCH=x86_64 "$@"; }
echo "build-kernel: configuring (tinyconfig + microvm.config)" >&2
mk tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "$here/microvm.config" >/dev/null
mk olddefconfig >/dev/null
missing=0
while IFS= read -r line; do
  case "$line" in
    '# CONFIG_'*' is not set')
      opt=${line#\# }; opt=${opt%% *}
      if grep -q "^$opt=" "$build/.config"; then echo "build-kernel: $opt should be unset" >&2; missing=1; fi
      continue ;;
    ''|'#'*) continue ;;
  esac
  grep -qx "$line" "$build/.config" || { echo "build-kernel: $line did not take" >&2; missing=1; }
done < "$here/microvm.config"
[ "$missing" = 0 ] || exit 1
echo "build-kernel: compiling vmlinux with $(nproc) jobs (many minutes on a shared machine)" >&2
mk -j"$(nproc)" vmlinux
cp "$build/vmlinux" "$out.tmp" && mv "$out.tmp" "$out"
echo "$out"
