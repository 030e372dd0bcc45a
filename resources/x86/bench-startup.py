#!/usr/bin/env python3
"""Side-by-side start-up measurement: this project's microvm (accel-kvm example `microvm_run`)
and `qemu-system-x86_64 -M microvm -enable-kvm` on the same PVH guest (guests/hello_pvh.S).

Reports medians over N runs of: wall time (launch to exit), time from launch to the first
KVM_RUN (from `strace -f -ttt -e trace=execve,ioctl`, the same way for both VMMs; strace slows
both), and peak RSS (ru_maxrss of the VMM launched from a tiny C program; the guest touches ~40 KiB of
its RAM, so this is essentially the VMM's own memory).

usage: resources/x86/bench-startup.py [N]   (builds the example and the guest first)
"""
import os, re, statistics, subprocess, sys, tempfile, time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, "..", ".."))
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
tmp = tempfile.mkdtemp(prefix="vmm-bench-")
guest = os.path.join(tmp, "hello_pvh.elf")
g = os.path.join(here, "guests")
subprocess.run(["gcc", "-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none",
                "-Wl,-T," + os.path.join(g, "link-pvh.ld"), "-o", guest,
                os.path.join(g, "hello_pvh.S")], check=True)
subprocess.run(["cargo", "build", "-q", "--release", "-p", "accel-kvm", "--example", "microvm_run"],
               cwd=root, check=True)
ours = [os.path.join(target, "release", "examples", "microvm_run"), guest, "64"]
qemu = ["qemu-system-x86_64", "-M", "microvm,x-option-roms=off,rtc=off", "-enable-kvm", "-m", "64M",
        "-nodefaults", "-no-user-config", "-nographic", "-display", "none", "-serial", "stdio",
        "-kernel", guest, "-device", "isa-debug-exit,iobase=0x501,iosize=1"]


def run(cmd):
    t = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=120)
    wall = (time.monotonic() - t) * 1e3
    assert b"HELLO" in p.stdout, (cmd, p.stdout)
    return wall


# Peak RSS through a tiny static C launcher: Linux folds the pre-exec image's high-water mark into
# ru_maxrss, so launching from Python would add Python's ~10 MiB.
MAXRSS_C = r"""
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
int main(int c, char **v) {
    pid_t p = fork();
    if (p == 0) { int n = open("/dev/null", O_WRONLY); dup2(n, 1); dup2(n, 2); execvp(v[1], v + 1); _exit(127); }
    int st; struct rusage ru; wait4(p, &st, 0, &ru); printf("%ld\n", ru.ru_maxrss); return 0;
}
"""
maxrss = os.path.join(tmp, "maxrss")
open(maxrss + ".c", "w").write(MAXRSS_C)
subprocess.run(["gcc", "-O2", "-static", "-o", maxrss, maxrss + ".c"], check=True)


def peak_rss(cmd):
    return int(subprocess.run([maxrss] + cmd, capture_output=True, text=True).stdout)


def first_run(cmd):
    log = os.path.join(tmp, "trace")
    subprocess.run(["strace", "-f", "-ttt", "-e", "trace=execve,ioctl", "-o", log] + cmd,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    start = first = None
    for line in open(log):
        m = re.search(r"(\d+\.\d+) ", line)
        if not m:
            continue
        if start is None and "execve(" in line:
            start = float(m.group(1))
        if first is None and "KVM_RUN" in line:
            first = float(m.group(1))
    return (first - start) * 1e3


for name, cmd in (("vmm microvm (accel-kvm)", ours), ("qemu -M microvm", qemu)):
    walls = [run(cmd) for _ in range(N)]
    firsts = [first_run(cmd) for _ in range(max(3, N // 2))]
    rss = statistics.median(peak_rss(cmd) for _ in range(3))
    print(f"{name:26s} wall median {statistics.median(walls):7.1f} ms (min {min(walls):6.1f}) | "
          f"launch->first KVM_RUN (strace) median {statistics.median(firsts):7.1f} ms | "
          f"peak RSS {rss/1024:6.1f} MiB")
