#!/bin/sh
# Runs every QEMU-compatible guest test on qemu-system-riscv64 -M virt (semihosting)
# and reports pass/fail per program. Usage: run-on-qemu.sh [program...]
# Environment: OUT (build dir), QEMU (binary), TIMEOUT (seconds, default 60).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE/../build/guest}
QEMU=${QEMU:-qemu-system-riscv64}
TIMEOUT=${TIMEOUT:-60}

command -v "$QEMU" >/dev/null 2>&1 || { echo "error: $QEMU not found (apt-get install qemu-system-misc)" >&2; exit 2; }

if [ $# -gt 0 ]; then
    progs="$*"
else
    progs=$(make -s -C "$HERE" list-qemu)
fi

make -s -C "$HERE" OUT="$OUT" $(for p in $progs; do printf "%s " "$OUT/$p.elf"; done) || exit 2

# -singlestep: one instruction per TB, so QEMU takes interrupts before the next
# instruction as G233 requires; -icount: instret counts instructions, time is
# deterministic.
failed=0
for p in $progs; do
    log="$OUT/$p.qemu.log"
    timeout "$TIMEOUT" "$QEMU" -M virt -m 256M -bios none -nographic -semihosting \
        -singlestep -icount shift=0,align=off \
        -cpu rv64,zba=true,zbb=true,zbc=true,zbs=true,sstc=true \
        -kernel "$OUT/$p.elf" >"$log" 2>&1 </dev/null
    rc=$?
    checks=$(grep -c -E '^(ok  |FAIL )' "$log")
    last=$(grep -E '^(PASS|FAIL [0-9]+)$' "$log" | tail -n 1)
    if [ $rc -eq 0 ] && [ "$last" = "PASS" ]; then
        echo "PASS  $p ($checks checks)"
    else
        echo "FAIL  $p (exit $rc, ${last:-no verdict}; see $log)"
        grep -E '^FAIL' "$log" | head -n 20 | sed 's/^/      /'
        failed=$((failed + 1))
    fi
done
[ $failed -eq 0 ] && echo "all passed" || echo "$failed program(s) failed"
[ $failed -eq 0 ]
