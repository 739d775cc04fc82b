#!/usr/bin/env python3
"""The no-op re-run: the full stack (7 releases) already deployed, the same install again. Every
release is rendered, compared with helm's record and every live object checked through the API
server (drift detection: a server-side dry-run apply per object) before it is left alone.
Target: median <= 1.0 s on the test bed.

For comparison, on the same deployment and machine:
  - helmfile-style: what `helmfile apply` does to decide (helm-diff: one `helm template` and one
    `helm get manifest` process per release, all at once), with no live-object check;
  - --force-upgrade: `helm upgrade` of every release, tier by tier (what bin/install-style tools do).
Not a test: figures only. Needs the test bed (KUBECONFIG) and helm 4 (PANDA_INSTALL_HELM).

usage: benches/noop.py [RUNS]   (builds the release binary first)
"""
import concurrent.futures
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
TARGET_S = 1.0
NS = "bench-noop"
COMPONENTS = ["msgsvc", "iam", "panda", "harvester", "idds", "bigmon"]


def timed(cmd, **kw):
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, **kw)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return elapsed, done


def report(label, times):
    print(f"{label}: median {statistics.median(times):.3f} s   min {min(times):.3f} s   max {max(times):.3f} s   ({len(times)} runs)")


def main():
    if not os.environ.get("KUBECONFIG") or not os.environ.get("PANDA_INSTALL_HELM"):
        sys.exit("needs the test bed and helm: eval \"$(scripts/tools env)\"; eval \"$(scripts/cluster env)\"")
    helm = os.environ["PANDA_INSTALL_HELM"]
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target", "release", "panda-install")
    secrets = os.path.join("secrets", "ci", "test-values.yaml")
    install = [binary, "--secrets", secrets, "-e", "dev", "-a", "test-", "-n", NS, "--create-namespace", "--helm", helm]
    try:
        first, _ = timed(install)
        print(f"first install of the full stack: {first:.1f} s")
        times = []
        for _ in range(RUNS):
            t, done = timed(install)
            unchanged = sum(1 for l in done.stdout.splitlines() if " unchanged " in l)
            if unchanged != 7:
                sys.exit(f"a no-op re-run did not leave all 7 releases unchanged:\n{done.stdout}")
            times.append(t)
        report("no-op re-run, drift detection included (panda-install)", times)
        print(f"  target <= {TARGET_S:.1f} s: {'met' if statistics.median(times) <= TARGET_S else 'NOT met'}")

        # helmfile-style decision: template + get manifest per release, all at once
        releases = ["test-secrets"] + [f"test-{c}" for c in COMPONENTS]
        def pair(release):
            comp = release.removeprefix("test-")
            chart = "secrets" if comp == "secrets" else os.path.join("helm", comp)
            tmpl = [helm, "template", release, chart, "-n", NS]
            if comp == "secrets":
                tmpl += ["-f", secrets]
            else:
                tmpl += ["-f", os.path.join("values", "dev", f"{comp}.yaml"), "--set-string", "global.secretsRelease=test-secrets"]
            subprocess.run(tmpl, cwd=ROOT, capture_output=True, check=True)
            subprocess.run([helm, "get", "manifest", release, "-n", NS], cwd=ROOT, capture_output=True, check=True)
        hf = []
        for _ in range(RUNS):
            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(len(releases)) as pool:
                list(pool.map(pair, releases))
            hf.append(time.perf_counter() - start)
        report("helmfile-style decision (helm template + helm get manifest per release, no live check)", hf)

        force = []
        for _ in range(max(1, RUNS // 3)):
            t, _ = timed(install + ["--force-upgrade"])
            force.append(t)
        report("--force-upgrade (helm upgrade of every release)", force)
        print(f"no-op re-run vs --force-upgrade: {statistics.median(force) / statistics.median(times):.1f}x faster")
    finally:
        subprocess.run([binary, "uninstall", "--with-secrets", "--delete-data", "--no-wait", "-n", NS, "--helm", helm], cwd=ROOT, capture_output=True)
        subprocess.run(["kubectl", "delete", "namespace", NS, "--wait=false"], capture_output=True)


if __name__ == "__main__":
    main()
