#!/usr/bin/env python3
"""Chart checks on the test bed (scripts/cluster up): deploys experiments the way panda-install does,
with plain helm (experiment file first, site files with --set-file), into namespaces that enforce Pod
Security "restricted", and checks what only a cluster shows.

usage: testbed_check.py [--keep]     (KUBECONFIG must point at the test bed; --keep leaves the namespaces)

Checks: 0 PodSecurity warnings for every release; every workload Ready; the IAM MariaDB backup Job
created from its CronJob completes and its pod holds no password literal; a binary site file arrives
byte for byte in its ConfigMap; changing one site file rolls exactly the StatefulSet that mounts it;
the size of each helm release Secret (site files are stored in it twice: values and manifest).
"""
import base64
import json
import os
import pathlib
import secrets as random
import subprocess
import sys
import tempfile
import time

import render
import sitefiles
import yaml
from render import Failure

KUBECTL = os.environ.get("KUBECTL", "kubectl")


def kubectl(*args, check=True, stdin=None):
    return render.run([KUBECTL, *args], check=check, stdin=stdin)


def namespace(name):
    kubectl("create", "namespace", name)
    kubectl("label", "namespace", name, "pod-security.kubernetes.io/enforce=restricted",
            "pod-security.kubernetes.io/warn=restricted", "pod-security.kubernetes.io/audit=restricted")


def psa_warnings(stderr):
    return [line for line in stderr.splitlines() if "would violate PodSecurity" in line]


def deploy(helm, ns, experiment, components, site_root, report):
    proc = render.run([helm, "upgrade", "--install", "test-secrets", "secrets", "-n", ns, "-f", "secrets/ci/test-values.yaml",
                       "--set", "affix=test-", "--wait", "--timeout", "120s"])
    assert not psa_warnings(proc.stderr)
    for component in components:
        args = [helm, "upgrade", "--install", f"test-{component}", f"helm/{component}", "-n", ns, "--wait", "--timeout", "180s"]
        args += render.cli_args(experiment, component, extra=sitefiles.set_file_args(component, pathlib.Path(site_root) / component))
        start = time.monotonic()
        proc = render.run(args)
        warnings = psa_warnings(proc.stderr)
        if warnings:
            raise Failure(f"{experiment}/{component}: PodSecurity warnings:\n" + "\n".join(warnings))
        report.append(f"{ns} {experiment}/{component}: deployed and Ready in {time.monotonic() - start:.1f} s, 0 PodSecurity warnings")


def generations(ns):
    out = json.loads(kubectl("get", "statefulsets,deployments", "-n", ns, "-o", "json").stdout)
    return {f"{d['kind']}/{d['metadata']['name']}": d["metadata"]["generation"] for d in out["items"]}


def main(argv):
    if not os.environ.get("KUBECONFIG"):
        print("testbed_check: KUBECONFIG is not set (scripts/cluster up, then eval \"$(scripts/cluster env)\")", file=sys.stderr)
        return 1
    keep = "--keep" in argv
    helm4, helm3 = render.helm_binaries()
    render.dependency_build(helm4)
    report, namespaces = [], []
    try:
        with tempfile.TemporaryDirectory() as site_root:
            for component in render.components():
                sitefiles.sample_tree(component, site_root)
            plans = [("atlas_testbed", helm4), ("doma", helm3)]
            for experiment, helm in plans:
                ns = f"cp-{experiment.replace('_', '-')}-{random.token_hex(3)}"
                namespace(ns)
                namespaces.append(ns)
                listed = yaml.safe_load((render.ROOT / "values" / experiment / "experiment.yaml").read_text())["components"]
                # atlas_testbed runs no IAM of its own; deploy it anyway for the IAM MariaDB and its backup.
                components = [c for c in render.COMPONENTS if c in listed or c == "iam"]
                deploy(helm, ns, experiment, components, site_root, report)

            ns = namespaces[0]
            # The backup: a Job from the CronJob, as an operator (or the schedule) starts it.
            kubectl("create", "job", "-n", ns, "--from=cronjob/test-iam-mariadb-backup", "backup-now")
            kubectl("wait", "-n", ns, "--for=condition=complete", "job/backup-now", "--timeout=120s")
            pods = json.loads(kubectl("get", "pods", "-n", ns, "-l", "job-name=backup-now", "-o", "json").stdout)["items"]
            assert pods and pods[0]["status"]["phase"] == "Succeeded", pods
            secret_values = yaml.safe_load((render.ROOT / "secrets/ci/test-values.yaml").read_text())["iam"]["database"]
            if any(str(v) in json.dumps(pods[0]["spec"]) for v in secret_values.values() if isinstance(v, str) and len(v) > 6):
                raise Failure("the backup pod spec holds a password literal")
            report.append(f"{ns}: Job backup-now from CronJob test-iam-mariadb-backup Complete, pod Succeeded, no password in its spec")

            # A binary site file, byte for byte.
            sent = (pathlib.Path(site_root) / "harvester" / "sandbox" / "blob.v1.bin").read_bytes()
            cm = json.loads(kubectl("get", "configmap", "-n", ns, "test-harvester-harvester-site-sandbox", "-o", "json").stdout)
            got = base64.b64decode(cm["binaryData"]["blob.v1.bin"])
            if got != sent:
                raise Failure("the binary site file changed on its way to the ConfigMap")
            report.append(f"{ns}: binary site file blob.v1.bin ({len(sent)} bytes, all 256 byte values) identical in the ConfigMap")

            # One changed site file rolls exactly the StatefulSet that mounts it.
            before = generations(ns)
            queue = pathlib.Path(site_root) / "harvester" / "panda_queueconfig.json"
            queue.write_text('{"changed": true}\n')
            deploy(helm4, ns, "atlas_testbed", ["harvester"], site_root, [])
            after = generations(ns)
            rolled = sorted(k for k in after if after[k] != before.get(k))
            if rolled != ["StatefulSet/test-harvester-harvester"]:
                raise Failure(f"changing panda_queueconfig.json rolled {rolled}")
            report.append(f"{ns}: changed panda_queueconfig.json -> only {rolled} got a new generation")

            # Release storage: helm keeps values (site files verbatim) and manifest (base64) gzipped in a Secret.
            for s in json.loads(kubectl("get", "secrets", "-n", ns, "-l", "owner=helm", "-o", "json").stdout)["items"]:
                size = len(base64.b64decode(s["data"]["release"]))
                report.append(f"{ns}: helm release Secret {s['metadata']['name']}: {size} bytes")
    finally:
        if not keep:
            for ns in namespaces:
                kubectl("delete", "namespace", ns, "--wait=false", check=False)
    print("\n".join(report))
    print(f"testbed_check: OK ({len(report)} results)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (Failure, AssertionError) as e:
        print(f"testbed_check: FAILED: {e}", file=sys.stderr)
        sys.exit(1)
