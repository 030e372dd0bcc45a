# Shared steps of the kernel builds (sourced by resources/linux/build-kernel.sh for riscv64 and
# resources/x86/linux/build-kernel.sh for x86_64): Debian's linux-source-6.12 tarball, the
# per-machine cache, the shared unpacked tree, and tinyconfig + a fragment whose every line must
# survive olddefconfig. The caller defines `mk` (make with its ARCH, O= and CROSS_COMPILE).

kernel_cache=${VMM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmm}

# Sets $tarball, or explains how to install it and exits.
kernel_find_source() {
  tarball=$(ls /usr/src/linux-source-6.12*.tar.xz 2>/dev/null | head -n1 || true)
  if [ -z "$tarball" ]; then
    echo "build-kernel: /usr/src/linux-source-6.12.tar.xz not found; install it: apt-get install linux-source-6.12" >&2
    exit 1
  fi
}

# Cache key of the source tarball and the fragment $1.
kernel_key() {
  (basename "$tarball"; stat -c %s "$tarball"; cat "$1") | sha256sum | cut -c1-16
}

# Sets $src to the unpacked tree shared by every build, unpacking it the first time.
kernel_unpack() {
  mkdir -p "$kernel_cache/linux"
  src="$kernel_cache/linux/src-6.12"
  if [ ! -f "$src/Makefile" ]; then
    echo "build-kernel: unpacking $tarball" >&2
    rm -rf "$src.tmp" && mkdir -p "$src.tmp"
    tar -xf "$tarball" -C "$src.tmp" --strip-components=1
    mv "$src.tmp" "$src"
  fi
}

# tinyconfig + the fragment $1 in $build; fails if any line of the fragment did not take (a
# missing dependency would silently drop it).
kernel_configure() {
  local fragment=$1 line opt missing=0
  echo "build-kernel: configuring (tinyconfig + $(basename "$fragment"))" >&2
  mk tinyconfig >/dev/null
  "$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "$fragment" >/dev/null
  mk olddefconfig >/dev/null
  while IFS= read -r line; do
    case "$line" in
      '# CONFIG_'*' is not set')
        opt=${line#\# }; opt=${opt%% *}
        if grep -q "^$opt=" "$build/.config"; then echo "build-kernel: $opt should be unset" >&2; missing=1; fi
        continue ;;
      ''|'#'*) continue ;;
    esac
    grep -qx "$line" "$build/.config" || { echo "build-kernel: $line did not take" >&2; missing=1; }
  done < "$fragment"
  [ "$missing" = 0 ] || exit 1
}
