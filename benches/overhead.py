#!/usr/bin/env python3
"""Orchestration overhead of panda-install: the full-stack plan executed with a helm that exits
at once, so what is measured is panda-install itself (settings, catalog, plan, preflight against the
API server: namespace and Lease, process handling). Prints the median, min and max wall time of
repeated runs, the same for `--template` (no cluster at all), and the peak RSS.
Not a test: figures only. Needs the test bed for the install figure (KUBECONFIG).

usage: benches/overhead.py [RUNS]   (builds the release binary first)
"""
import os
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
        base = [binary, "--helm", helm, "-e", "dev", "--secrets", secrets]
        runs = [("--template (no cluster)", base + ["--template"])]
        if os.environ.get("KUBECONFIG"):
            runs.insert(0, ("install (preflight on the test bed)", base + ["-n", "bench-overhead", "--create-namespace"]))
        else:
            print("KUBECONFIG not set: install figure skipped (start the test bed: eval \"$(scripts/cluster env)\")")
        for label, cmd in runs:
            subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)  # warm caches
            times = []
            for _ in range(RUNS):
                start = time.perf_counter()
                subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
                times.append((time.perf_counter() - start) * 1000)
            median = statistics.median(times)
            print(f"full stack, {label}, instant helm, {RUNS} runs:")
            print(f"  median {median:.2f} ms   min {min(times):.2f} ms   max {max(times):.2f} ms   target < {TARGET_MS:.0f} ms: {'met' if median < TARGET_MS else 'NOT met'}")
            # Peak RSS of this run alone, measured in a fresh interpreter whose only children are
            # panda-install and the fake helm (this script's own children include cargo).
            probe = "import resource,subprocess,sys; subprocess.run(sys.argv[1:], capture_output=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
            peak_kib = int(subprocess.run([sys.executable, "-c", probe] + cmd, cwd=ROOT, capture_output=True, text=True).stdout)
            print(f"  peak RSS {peak_kib / 1024:.1f} MiB (max of panda-install and the fake helm); target < 20 MiB: {'met' if peak_kib < 20 * 1024 else 'NOT met'}")


if __name__ == "__main__":
    main()
