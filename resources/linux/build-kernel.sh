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
cache=${VMM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmm}
tarball=$(ls /usr/src/linux-source-6.12*.tar.xz 2>/dev/null | head -n1 || true)
if [ -z "$tarball" ]; then
  echo "build-kernel: /usr/src/linux-source-6.12.tar.xz not found; install it: apt-get install linux-source-6.12" >&2
  exit 1
fi
command -v riscv64-linux-gnu-gcc >/dev/null || {
  echo "build-kernel: riscv64-linux-gnu-gcc not found; install it: apt-get install gcc-riscv64-linux-gnu" >&2
  exit 1
}
key=$( (basename "$tarball"; stat -c %s "$tarball"; cat "$here/g233.config") | sha256sum | cut -c1-16)
out="$cache/linux/Image-$key"
if [ -f "$out" ]; then
  echo "$out"
  exit 0
fi
mkdir -p "$cache/linux"
src="$cache/linux/src-6.12"
if [ ! -f "$src/Makefile" ]; then
  echo "build-kernel: unpacking $tarball" >&2
  rm -rf "$src.tmp" && mkdir -p "$src.tmp"
  tar -xf "$tarball" -C "$src.tmp" --strip-components=1
  mv "$src.tmp" "$src"
fi
# One build tree for every config: a changed fragment rebuilds incrementally.
build="$cache/linux/build"
mkdir -p "$build"
mk() { make -s -C "$src" O="$build" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- "$@"; }
echo "build-kernel: configuring (tinyconfig + g233.config)" >&2
mk tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "$here/g233.config" >/dev/null
mk olddefconfig >/dev/null
# Every line of the fragment must have survived (a dependency missing would silently drop it).
missing=0
while IFS= read -r line; do
  case "$line" in
    '# CONFIG_'*' is not set')
      opt=${line#\# }; opt=${opt%% *}
      if grep -q "^$opt=" "$build/.config"; then echo "build-kernel: $opt should be unset" >&2; missing=1; fi
      continue ;;
    ''|'#'*) continue ;;
  esac
  if false; then :
  else
    grep -qx "$line" "$build/.config" || { echo "build-kernel: $line did not take" >&2; missing=1; }
  fi
done < "$here/g233.config"
[ "$missing" = 0 ] || exit 1
echo "build-kernel: compiling Image with $(nproc) jobs (several minutes)" >&2
mk -j"$(nproc)" Image
cp "$build/arch/riscv/boot/Image" "$out.tmp" && mv "$out.tmp" "$out"
echo "$out"
