#!/usr/bin/env python3
"""Tier-parallel deployment on the test bed, against the critical path and a serial run.

Every pod gets a kwok readiness delay (databases 20 s, PanDA server 40 s, every other service 30 s),
so the time each release needs is known; the script deploys the full stack three ways and prints:
  - wall time of the parallel run against the critical path (sum over tiers of each tier's slowest
    release, measured), target: wall <= 1.05 x critical path + 2 s;
  - the serial run (--concurrency 1), target: parallel at least 1.8x faster;
  - the per-release overhead with no delays (tool + helm + API server);
  - panda-install's peak RSS (VmHWM), target under 20 MiB.
Figures only; not a test. Needs the test bed: eval "$(scripts/tools env)"; eval "$(scripts/cluster env)".
usage: benches/tiers.py
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DELAY = "pod-ready.stage.kwok.x-k8s.io/delay"
COMPONENTS = ["msgsvc", "iam", "panda", "harvester", "idds", "bigmon"]
DATABASES = {"postgres", "mariadb"}


def subcharts(component):
    """Dependencies of the chart that carry `condition: <name>.enabled`."""
    text = open(os.path.join(ROOT, "helm", component, "Chart.yaml")).read()
    names = re.findall(r"-\s*name:\s*(\S+)", text)
    return [n for n in names if re.search(rf"condition:\s*{re.escape(n)}\.enabled", text)]


def delay_for(component, sub):
    if sub in DATABASES:
        return "20s"
    if component == "panda" and sub == "server":
        return "40s"
    return "30s"


def delay_files(tmp):
    args = []
    for c in COMPONENTS:
        lines = []
        for sub in subcharts(c):
            lines += [f"{sub}:", "  podAnnotations:", f'    {DELAY}: "{delay_for(c, sub)}"']
        path = os.path.join(tmp, f"{c}.yaml")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        args += ["--values", f"{c}={path}"]
    return args


def deploy(namespace, extra):
    binary = os.path.join(ROOT, "target", "release", "panda-install")
    cmd = [binary, "--secrets", "secrets/ci/test-values.yaml", "-a", "test-", "-e", "dev", "-n", namespace,
           "--create-namespace", "--timeout", "5m", "--output", "json"] + extra
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    peak = [0]

    def watch():
        while proc.poll() is None:
            try:
                for line in open(f"/proc/{proc.pid}/status"):
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    out, _ = proc.communicate()
    watcher.join()
    wall = time.monotonic() - start
    doc = json.loads(out)
    if doc["exitCode"] != 0:
        sys.exit(f"deployment into {namespace} failed: {doc['error']}")
    subprocess.run(["kubectl", "delete", "namespace", namespace, "--wait=false"], capture_output=True)
    return wall, doc, peak[0]


def critical_path(doc):
    tiers = {}
    for r in doc["results"]:
        if r["tier"] == 0:
            continue
        tiers[r["tier"]] = max(tiers.get(r["tier"], 0), r["seconds"])
    return sum(tiers.values()), tiers


def main():
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    suffix = str(os.getpid())
    with tempfile.TemporaryDirectory() as tmp:
        delays = delay_files(tmp)
        par_wall, par_doc, par_peak = deploy(f"bench-par-{suffix}", delays)
        ser_wall, ser_doc, _ = deploy(f"bench-ser-{suffix}", delays + ["--concurrency", "1"])
    fast_wall, fast_doc, fast_peak = deploy(f"bench-fast-{suffix}", [])
    crit, tiers = critical_path(par_doc)
    secrets = next(r["seconds"] for r in par_doc["results"] if r["tier"] == 0)
    bound = 1.05 * (crit + secrets) + 2
    print("full stack with readiness delays (db 20 s, PanDA server 40 s, other services 30 s):")
    print("  slowest release per tier: " + ", ".join(f"tier {t} {s:.1f}s" for t, s in sorted(tiers.items())))
    print(f"  critical path {crit:.1f}s (+ secrets tier {secrets:.1f}s)")
    print(f"  parallel wall {par_wall:.1f}s; target <= 1.05 x {crit + secrets:.1f}s + 2 s = {bound:.1f}s: {'met' if par_wall <= bound else 'NOT met'}")
    print(f"  serial wall   {ser_wall:.1f}s (--concurrency 1); speed-up {ser_wall / par_wall:.2f}x; target >= 1.8x: {'met' if ser_wall / par_wall >= 1.8 else 'NOT met'}")
    releases = [r for r in fast_doc["results"] if r["tier"] > 0]
    mean = sum(r["seconds"] for r in releases) / len(releases)
    print("full stack without delays:")
    print(f"  wall {fast_wall:.1f}s; per release {mean:.2f}s mean, {max(r['seconds'] for r in releases):.2f}s max (panda-install + helm + API server)")
    peak = max(par_peak, fast_peak) / 1024
    print(f"panda-install peak RSS {peak:.1f} MiB; target < 20 MiB: {'met' if peak < 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
