#!/bin/sh
# Builds the x86_64 test guests with the host gcc (the KVM tests do this themselves).
# Usage: resources/x86/guests/build.sh [output-dir]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/build}
mkdir -p "$out"
for s in "$here"/*.S; do
    n=$(basename "$s" .S)
    ld=link.ld
    case "$n" in *_pvh) ld=link-pvh.ld ;; esac
    gcc -nostdlib -static -no-pie -Wl,--build-id=none -Wl,--no-warn-rwx-segments \
        -Wl,-T,"$here/$ld" -o "$out/$n.elf" "$s"
done
echo "guests in $out"
