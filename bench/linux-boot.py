#!/usr/bin/env python3
"""Wall time from process start to the initramfs marker ("VMM-INIT:"), for the same Linux Image
and initramfs on `vmm --board g233` and on `qemu-system-riscv64 -M virt` (OpenSBI fw_dynamic),
medians of several runs in one session, with the ratio.

    bench/linux-boot.py [--runs N] [--vmm PATH] [--qemu PATH ...] [--vmm-args "..."]

The kernel and initramfs come from resources/linux/build-kernel.sh and build-initramfs.sh
(cached per machine). Prints a Markdown table and writes it to bench/results/linux-boot.md.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = b"VMM-INIT:"
FW = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"


def build(script):
    out = subprocess.run([os.path.join(ROOT, "resources/linux", script)],
                         stdout=subprocess.PIPE, check=True)
    return out.stdout.decode().strip()


def time_to_marker(cmd, timeout=300):
    """Seconds from spawn to the marker on stdout, or None (and the tail of the output)."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    seen = b""
    try:
        while time.monotonic() - start < timeout:
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                break
            seen += chunk
            if MARKER in seen:
                return time.monotonic() - start, None
        return None, seen[-400:].decode(errors="replace")
    finally:
        p.kill()
        p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--vmm", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release/vmm"))
    ap.add_argument("--vmm-args", default="", help="extra vmm run arguments, e.g. '--jit off'")
    ap.add_argument("--qemu", action="append", default=None,
                    help="QEMU binaries to compare (default: qemu-system-riscv64, and $QEMU10)")
    args = ap.parse_args()

    image, initramfs = build("build-kernel.sh"), build("build-initramfs.sh")
    qemus = args.qemu or [q for q in [shutil.which("qemu-system-riscv64"),
                                      os.environ.get("QEMU10")] if q]
    # The command runs VMM_RUN then powers off; only the time to the marker counts.
    engines = [(f"vmm g233 tcg {args.vmm_args}".strip(),
                [args.vmm, "run", "--accel", "tcg", "--board", "g233", "--kernel", image,
                 "--initrd", initramfs, "--append", "console=ttyAMA0 VMM_RUN=true"]
                + args.vmm_args.split())]
    for q in qemus:
        ver = subprocess.run([q, "--version"], stdout=subprocess.PIPE).stdout.decode().split()
        name = f"qemu {ver[3] if len(ver) > 3 else '?'} virt"
        engines.append((name, [q, "-M", "virt", "-m", "1G", "-nographic", "-bios", FW,
                               "-kernel", image, "-initrd", initramfs,
                               "-append", "console=ttyS0 VMM_RUN=true"]))
    results = {}
    for run in range(args.runs):
        for name, cmd in engines:
            t, tail = time_to_marker(cmd)
            if t is None:
                print(f"{name}: no marker; output ended with:\n{tail}", file=sys.stderr)
            results.setdefault(name, []).append(t)
            print(f"run {run + 1}/{args.runs} {name}: "
                  f"{'failed' if t is None else f'{t:.3f}s'}", file=sys.stderr)
    ref = None
    lines = ["| engine | median to init marker (s) | runs (s) | ratio to QEMU |",
             "|---|---|---|---|"]
    meds = {n: statistics.median([t for t in ts if t is not None]) if any(
        t is not None for t in ts) else None for n, ts in results.items()}
    for name, _ in engines:
        if name.startswith("qemu") and meds[name] is not None and ref is None:
            ref = meds[name]
    for name, _ in engines:
        m = meds[name]
        runs = " ".join("x" if t is None else f"{t:.2f}" for t in results[name])
        ratio = f"{m / ref:.2f}×" if m is not None and ref else "n/a"
        lines.append(f"| {name} | {'failed' if m is None else f'{m:.3f}'} | {runs} | {ratio} |")
    table = "\n".join(lines)
    print(table)
    os.makedirs(os.path.join(ROOT, "bench/results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench/results/linux-boot.md"), "w") as f:
        f.write(f"Linux {os.path.basename(image)} + {os.path.basename(initramfs)}, "
                f"{args.runs} runs, {time.strftime('%Y-%m-%d %H:%M')}\n\n{table}\n")


if __name__ == "__main__":
    main()
