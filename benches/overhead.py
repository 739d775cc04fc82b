#!/usr/bin/env python3
"""Orchestration overhead of panda-install: the full-stack plan executed with a helm that exits
at once, so what is measured is panda-install itself (settings, catalog, plan, process handling).
Prints the median, min and max wall time of repeated runs and the peak RSS. Not a test: figures only.

usage: benches/overhead.py [RUNS]   (builds the release binary first)
"""
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 50
TARGET_MS = 20.0


def main():
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target", "release", "panda-install")
    with tempfile.TemporaryDirectory() as tmp:
        helm = os.path.join(tmp, "helm")
        with open(helm, "w") as f:
            # answers `helm version` like helm 4 and every other call with success, at once
            f.write('#!/bin/sh\n[ "$1" = version ] && printf v4.3.1\nexit 0\n')
        os.chmod(helm, 0o755)
        secrets = os.path.join(ROOT, "secrets", "ci", "test-values.yaml")
        cmd = [binary, "--helm", helm, "-e", "dev", "-n", "bench", "--secrets", secrets]
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)  # warm the page cache
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
            times.append((time.perf_counter() - start) * 1000)
        calls = 1 + 6 + 1  # version, six components, secrets
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    median = statistics.median(times)
    print(f"full-stack run with an instant helm ({calls}+ helm processes), {RUNS} runs:")
    print(f"  median {median:.2f} ms   min {min(times):.2f} ms   max {max(times):.2f} ms   target < {TARGET_MS:.0f} ms: {'met' if median < TARGET_MS else 'NOT met'}")
    print(f"  peak RSS of a child process: {peak_kib / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
