#!/usr/bin/env bash
# Builds the test initramfs (a gzip'd cpio of Debian's riscv64 busybox-static and ./init),
# cached outside the repository. Prints its path on stdout.
#
# busybox-static:riscv64 comes from Debian trixie (bookworm has no riscv64). Setting that up
# needs root once:  dpkg --add-architecture riscv64  and an apt source for trixie restricted to
# riscv64 (.ci/run does both; see resources/linux/trixie-riscv64.sources).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${VMM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmm}
mkdir -p "$cache/initramfs"
deb=$(ls "$cache"/initramfs/busybox-static_*_riscv64.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ]; then
  echo "build-initramfs: downloading busybox-static:riscv64" >&2
  (cd "$cache/initramfs" && apt-get download busybox-static:riscv64 >&2) || {
    echo "build-initramfs: cannot download busybox-static:riscv64; enable it with: dpkg --add-architecture riscv64 && cp $here/trixie-riscv64.sources /etc/apt/sources.list.d/ && apt-get update" >&2
    exit 1
  }
  deb=$(ls "$cache"/initramfs/busybox-static_*_riscv64.deb | head -n1)
fi
key=$( (basename "$deb"; cat "$here/init") | sha256sum | cut -c1-16)
out="$cache/initramfs/initramfs-$key.cpio.gz"
if [ -f "$out" ]; then echo "$out"; exit 0; fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root/pkg"
mkdir -p "$root/fs/bin" "$root/fs/proc" "$root/fs/sys" "$root/fs/dev" "$root/fs/tmp" "$root/fs/etc"
bb=$(ls "$root"/pkg/usr/bin/busybox "$root"/pkg/bin/busybox 2>/dev/null | head -n1 || true)
cp "$bb" "$root/fs/bin/busybox"
ln -s busybox "$root/fs/bin/sh"
# The kernel opens /dev/console for init's stdio before anything is mounted.
mknod -m 600 "$root/fs/dev/console" c 5 1 || {
  echo "build-initramfs: cannot create /dev/console (needs root); init would have no console" >&2
  exit 1
}
cp "$here/init" "$root/fs/init"
chmod +x "$root/fs/init"
echo 'PS1="g233:\w# "' > "$root/fs/etc/profile"
(cd "$root/fs" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 > "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
