#!/usr/bin/env bash
# Runs the guest benchmarks side by side on vmm (TCG, G233 board; JIT on and
# JIT off) and on QEMU (Debian's qemu-system-riscv64 7.2 and, when $QEMU10 names
# one, a QEMU 10 binary), all in the same invocation, on the same ELF files.
#
# Usage: bench/run.sh [--runs N] [--only NAME[,NAME...]] [--timeout SECONDS]
#                     [--no-vmm-build] [--no-vmm]
#
# Prints a Markdown table (median wall time of N runs, guest instructions, MIPS,
# time relative to QEMU 7.2, checksum verdict) and writes it to
# bench/results/latest.md. Exit status: 0, or 1 when any engine printed a wrong
# checksum, 2 on a usage or build error of the guest programs.
#
# Environment: QEMU (default qemu-system-riscv64), QEMU10 (optional second QEMU),
# VMM (default <repo>/target/release/vmm), TIMEOUT (per run, default 600 s).
#
# Guest instruction counts: each program reads minstret itself. QEMU counts
# instructions in minstret only with -icount (otherwise it returns host cycle
# counter ticks), so the script makes one extra, untimed reference run of each
# program under `qemu-system-riscv64 -icount shift=0`; that run gives the exact
# instruction count (used for the QEMU rows) and the reference checksum that
# every engine's output is compared with. Reference results are cached in
# bench/build/ref/ per ELF content hash.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=$HERE/build
LOGS=$BUILD/logs
RESULTS=$HERE/results

RUNS=3
ONLY=""
TIMEOUT=${TIMEOUT:-600}
BUILD_VMM=1
USE_VMM=1
QEMU=${QEMU:-qemu-system-riscv64}
QEMU10=${QEMU10:-}
VMM=${VMM:-$ROOT/target/release/vmm}

usage() {
    sed -n '5,6p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-2}"
}

while [ $# -gt 0 ]; do
    case "$1" in
    --runs) RUNS=${2:-}; shift 2 ;;
    --runs=*) RUNS=${1#*=}; shift ;;
    --only) ONLY=${2:-}; shift 2 ;;
    --only=*) ONLY=${1#*=}; shift ;;
    --timeout) TIMEOUT=${2:-}; shift 2 ;;
    --timeout=*) TIMEOUT=${1#*=}; shift ;;
    --no-vmm-build) BUILD_VMM=0; shift ;;
    --no-vmm) USE_VMM=0; shift ;;
    -h | --help) usage 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage 2 ;;
    esac
done
case "$RUNS" in '' | *[!0-9]* | 0) echo "run.sh: --runs needs a positive integer" >&2; exit 2 ;; esac
case "$TIMEOUT" in '' | *[!0-9]* | 0) echo "run.sh: --timeout needs a positive integer" >&2; exit 2 ;; esac

mkdir -p "$LOGS" "$BUILD/ref" "$RESULTS"

# --- guest programs -----------------------------------------------------------
echo "== building guest programs" >&2
make -s -C "$HERE" >&2 || { echo "run.sh: building the guest programs failed" >&2; exit 2; }
ALL=$(make -s -C "$HERE" list)
if [ -n "$ONLY" ]; then
    PROGRAMS=""
    for p in ${ONLY//,/ }; do
        case " $ALL " in
        *" $p "*) PROGRAMS="$PROGRAMS $p" ;;
        *) echo "run.sh: unknown program '$p' (have: $ALL)" >&2; exit 2 ;;
        esac
    done
else
    PROGRAMS=$ALL
fi

# --- engines ------------------------------------------------------------------
# VMM_STATUS is "ok" or the reason vmm rows cannot run (printed in the table).
VMM_STATUS=ok
if [ $USE_VMM -eq 0 ]; then
    VMM_STATUS="skipped (--no-vmm)"
elif [ $BUILD_VMM -eq 1 ]; then
    echo "== cargo build --release -p vmm" >&2
    if ! (cd "$ROOT" && cargo build --release -p vmm) >"$LOGS/vmm-build.log" 2>&1; then
        VMM_STATUS="vmm build failed (bench/build/logs/vmm-build.log)"
        tail -n 5 "$LOGS/vmm-build.log" >&2
    fi
fi
if [ "$VMM_STATUS" = ok ] && [ ! -x "$VMM" ]; then
    VMM_STATUS="no vmm binary at $VMM"
fi
HAVE_JIT_FLAG=0
if [ "$VMM_STATUS" = ok ] && "$VMM" run --help 2>&1 | grep -q -- --jit; then
    HAVE_JIT_FLAG=1
fi

QEMU_OK=1
command -v "$QEMU" >/dev/null 2>&1 || QEMU_OK=0
QEMU_VERSION=$([ $QEMU_OK -eq 1 ] && "$QEMU" --version | head -n 1)

ENGINES="vmm-jit vmm-nojit qemu-7.2"
QEMU10_VERSION=""
if [ -n "$QEMU10" ]; then
    ENGINES="$ENGINES qemu-10"
    if [ -x "$QEMU10" ] || command -v "$QEMU10" >/dev/null 2>&1; then
        QEMU10_VERSION=$("$QEMU10" --version | head -n 1)
    fi
fi

# Prints the command line of one run of ELF $2 on engine $1.
engine_cmd() {
    local engine=$1 elf=$2
    case "$engine" in
    vmm-jit) echo "$VMM run --accel tcg --board g233 --semihosting --bios none --memory 2G --kernel $elf" ;;
    vmm-nojit) echo "$VMM run --accel tcg --board g233 --semihosting --bios none --memory 2G --jit off --kernel $elf" ;;
    qemu-7.2) echo "$QEMU -M virt -bios none -m 2G -nographic -semihosting -kernel $elf" ;;
    qemu-10) echo "$QEMU10 -M virt -bios none -m 2G -nographic -semihosting -kernel $elf" ;;
    esac
}

# Prints the table name of engine $1.
engine_name() {
    case "$1" in
    vmm-jit) echo "vmm (default flags)" ;;
    vmm-nojit) echo "vmm --jit off" ;;
    qemu-7.2) echo "QEMU 7.2" ;;
    qemu-10) echo "QEMU 10" ;;
    esac
}

# Prints why engine $1 cannot run, or nothing when it can.
engine_unavailable() {
    case "$1" in
    vmm-jit) [ "$VMM_STATUS" = ok ] || echo "$VMM_STATUS" ;;
    vmm-nojit)
        if [ "$VMM_STATUS" != ok ]; then echo "$VMM_STATUS"
        elif [ $HAVE_JIT_FLAG -eq 0 ]; then echo "n/a (vmm has no --jit flag)"
        fi ;;
    qemu-7.2) [ $QEMU_OK -eq 1 ] || echo "$QEMU not found" ;;
    qemu-10) [ -n "$QEMU10_VERSION" ] || echo "QEMU10=$QEMU10 not runnable" ;;
    esac
}

# --- one run ------------------------------------------------------------------
# run_once ENGINE PROGRAM LOG: sets R_WALL (seconds), R_INSNS, R_SUM and R_ERR
# (empty on success). The command runs with a timeout; output (semihosting goes
# to stdout for vmm, stderr for QEMU) is collected in LOG.
run_once() {
    local engine=$1 prog=$2 log=$3 cmd t0 t1 rc line
    cmd=$(engine_cmd "$engine" "$BUILD/$prog.elf")
    t0=$EPOCHREALTIME
    # shellcheck disable=SC2086 # the command line is split on purpose
    timeout "$TIMEOUT" $cmd >"$log" 2>&1 </dev/null
    rc=$?
    t1=$EPOCHREALTIME
    R_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    R_INSNS=""
    R_SUM=""
    R_ERR=""
    line=$(grep -a -o 'RESULT name=[a-z0-9]* insns=[0-9]* checksum=0x[0-9a-f]*' "$log" | tail -n 1)
    if [ -n "$line" ]; then
        R_INSNS=$(echo "$line" | sed 's/.* insns=\([0-9]*\).*/\1/')
        R_SUM=$(echo "$line" | sed 's/.* checksum=\(0x[0-9a-f]*\).*/\1/')
    fi
    if [ $rc -eq 124 ]; then
        R_ERR="timeout after ${TIMEOUT}s"
    elif [ $rc -ne 0 ] || [ -z "$line" ]; then
        local why
        why=$(grep -a -m 1 -E 'ERROR|error|panick' "$log" || tail -n 1 "$log")
        why=$(echo "$why" | tr -d '\r|' | cut -c 1-70)
        R_ERR="exit $rc: ${why:-no output}"
    fi
}

# --- reference (QEMU -icount: exact instruction count, reference checksum) ----
# reference PROGRAM: sets REF_INSNS and REF_SUM (empty when unavailable).
reference() {
    local prog=$1 hash cache line
    REF_INSNS=""
    REF_SUM=""
    [ $QEMU_OK -eq 1 ] || return
    hash=$(sha256sum "$BUILD/$prog.elf" | cut -c 1-16)
    cache=$BUILD/ref/$prog.$hash
    if [ ! -s "$cache" ]; then
        echo "== reference run of $prog (QEMU -icount shift=0, untimed)" >&2
        timeout "$TIMEOUT" "$QEMU" -M virt -bios none -m 2G -nographic -semihosting \
            -icount shift=0,align=off -kernel "$BUILD/$prog.elf" \
            >"$LOGS/$prog.ref.log" 2>&1 </dev/null
        line=$(grep -a -o 'RESULT name=[a-z0-9]* insns=[0-9]* checksum=0x[0-9a-f]*' \
            "$LOGS/$prog.ref.log" | tail -n 1)
        [ -n "$line" ] || { echo "run.sh: reference run of $prog failed (see $LOGS/$prog.ref.log)" >&2; return; }
        echo "$line" | sed 's/.* insns=\([0-9]*\) checksum=\(0x[0-9a-f]*\).*/\1 \2/' >"$cache"
    fi
    read -r REF_INSNS REF_SUM <"$cache"
}

# median of the numbers given as arguments
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) exit
        if (NR % 2) printf "%.3f", v[(NR + 1) / 2]
        else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --- main loop ----------------------------------------------------------------
TABLE=$(mktemp)
trap 'rm -f "$TABLE"' EXIT
MISMATCHES=0
{
    echo "| program | engine | wall (s) | guest insns | MIPS | time / QEMU 7.2 | checksum |"
    echo "|---|---|---:|---:|---:|---:|---|"
} >"$TABLE"

for prog in $PROGRAMS; do
    reference "$prog"
    declare -A WALLS=() ERRS=() SUMS=() INSNS=()
    # Interleave engines run by run so that load changes hit them alike.
    for ((run = 1; run <= RUNS; run++)); do
        for engine in $ENGINES; do
            [ -z "$(engine_unavailable "$engine")" ] || continue
            [ -z "${ERRS[$engine]:-}" ] || continue
            echo "== $prog on $engine, run $run/$RUNS" >&2
            run_once "$engine" "$prog" "$LOGS/$prog.$engine.$run.log"
            if [ -n "$R_ERR" ]; then
                ERRS[$engine]=$R_ERR
                echo "   $R_ERR" >&2
                continue
            fi
            WALLS[$engine]="${WALLS[$engine]:-} $R_WALL"
            INSNS[$engine]=$R_INSNS
            # Keep the first wrong checksum seen, if any.
            if [ -z "${SUMS[$engine]:-}" ] || [ "${SUMS[$engine]}" = "$REF_SUM" ]; then
                SUMS[$engine]=$R_SUM
            fi
            echo "   ${R_WALL}s insns=$R_INSNS checksum=$R_SUM" >&2
        done
    done
    QWALL=""
    [ -n "${WALLS[qemu-7.2]:-}" ] && QWALL=$(median ${WALLS[qemu-7.2]})
    for engine in $ENGINES; do
        why=$(engine_unavailable "$engine")
        if [ -n "$why" ]; then
            echo "| $prog | $(engine_name "$engine") | $why | | | | |" >>"$TABLE"
            continue
        fi
        if [ -n "${ERRS[$engine]:-}" ]; then
            echo "| $prog | $(engine_name "$engine") | error: ${ERRS[$engine]} | | | | |" >>"$TABLE"
            continue
        fi
        wall=$(median ${WALLS[$engine]})
        # QEMU's minstret is host ticks without -icount: use the reference count.
        case "$engine" in
        qemu-*) insns=$REF_INSNS; ins_note="" ;;
        *)
            insns=${INSNS[$engine]}
            ins_note=""
            if [ -n "$REF_INSNS" ] && [ "$insns" != "$REF_INSNS" ]; then
                ins_note=" (QEMU: $REF_INSNS)"
            fi ;;
        esac
        mips=$(awk -v i="${insns:-0}" -v w="$wall" 'BEGIN { if (i > 0 && w > 0) printf "%.0f", i / w / 1e6; else printf "?" }')
        ratio=$(awk -v w="$wall" -v q="$QWALL" 'BEGIN { if (q > 0) printf "%.2f", w / q; else printf "?" }')
        if [ -z "$REF_SUM" ]; then
            verdict="? (no reference) ${SUMS[$engine]}"
        elif [ "${SUMS[$engine]}" = "$REF_SUM" ]; then
            verdict="ok"
        else
            verdict="**MISMATCH** got ${SUMS[$engine]}, want $REF_SUM"
            MISMATCHES=$((MISMATCHES + 1))
            echo "run.sh: CHECKSUM MISMATCH: $prog on $engine printed ${SUMS[$engine]}, QEMU printed $REF_SUM" >&2
        fi
        echo "| $prog | $(engine_name "$engine") | $wall | ${insns:-?}$ins_note | $mips | $ratio | $verdict |" >>"$TABLE"
    done
    unset WALLS ERRS SUMS INSNS
done

# --- report -------------------------------------------------------------------
VMM_DESC=$VMM_STATUS
if [ "$VMM_STATUS" = ok ]; then
    VMM_DESC="$VMM, built $(date -u -r "$VMM" '+%Y-%m-%d %H:%M UTC'); repository HEAD $(cd "$ROOT" && git log -1 --format='%h' 2>/dev/null)"
fi
{
    echo "# Benchmark results"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), host: $(grep -m 1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores, load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- vmm: $VMM_DESC; \`--jit\` flag: $([ $HAVE_JIT_FLAG -eq 1 ] && echo present || echo 'absent (JIT-off row n/a)')"
    echo "- QEMU 7.2: ${QEMU_VERSION:-not found}$([ -n "$QEMU10" ] && echo "; QEMU 10: ${QEMU10_VERSION:-not runnable ($QEMU10)}")"
    echo "- wall: median of $RUNS run(s), whole process (start-up included); guest insns: the program's own minstret count (QEMU rows: the exact count of an untimed \`-icount shift=0\` run, as QEMU's minstret counts host ticks otherwise); MIPS = insns / wall; time / QEMU 7.2 > 1 means slower than QEMU 7.2; checksum compared with QEMU's."
    echo
    cat "$TABLE"
} >"$RESULTS/latest.md"
cat "$RESULTS/latest.md"
[ $MISMATCHES -eq 0 ] || { echo "run.sh: $MISMATCHES checksum mismatch(es)" >&2; exit 1; }
exit 0
