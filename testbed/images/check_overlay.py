"""scripts/images check-overlay: the real-node values overlay (testbed/real-node/values/<component>.yaml)
leaves no container image that scripts/images does not build.

Renders the experiment (default: --template -e dev --secrets secrets/ci/test-values.yaml) twice with
every overlay file: as is, and with every optional workload that runs an image switched on (PanDA's
node-recovery CronJob, the backup CronJobs of every database), so hooks and backup Jobs are covered.
Every container and init container of every pod template must use an image that `scripts/images refs`
prints, with imagePullPolicy Never or IfNotPresent (the node pulls nothing). Prints each rendered image
once; exits 1 on a violation, 2 when the render fails.

usage: python3 testbed/images/check_overlay.py --repo DIR [PANDA_INSTALL_ARGS...]
Environment: PANDA_INSTALL_BIN (default: DIR/target/debug/panda-install, else panda-install on PATH).
"""

import os
import shutil
import subprocess
import sys
import tempfile

import yaml

POD_KINDS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}
PULL_POLICIES = {"Never", "IfNotPresent"}

# Workloads that are off in the experiments but run an image when an operator turns them on.
OPTIONAL_ON = {
    "panda": {"nodeRecovery": {"enabled": True}, "postgres": {"backup": {"enabled": True}}},
    "idds": {"postgres": {"backup": {"enabled": True}}},
    "harvester": {"mariadb": {"backup": {"enabled": True}}},
    "iam": {"mariadb": {"backup": {"enabled": True}}},
}


def pod_spec(doc):
    """The pod spec of a workload object, or None."""
    if not isinstance(doc, dict) or doc.get("kind") not in POD_KINDS:
        return None
    spec = doc.get("spec") or {}
    if doc["kind"] == "Pod":
        return spec
    if doc["kind"] == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("spec")


def containers(manifest):
    """(object, container name, image, pull policy) of every container in a multi-document YAML."""
    out = []
    for doc in yaml.safe_load_all(manifest):
        spec = pod_spec(doc)
        if spec is None:
            continue
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            out.append((where, c["name"], c.get("image", ""), c.get("imagePullPolicy", "")))
    return out


def violations(found, refs):
    """Messages for every container whose image is not built here or that may pull."""
    bad = []
    for where, name, image, policy in found:
        if image not in refs:
            bad.append(f"{where} container {name}: image {image} is not one of scripts/images refs")
        if policy not in PULL_POLICIES:
            bad.append(f"{where} container {name}: imagePullPolicy {policy or '(default)'} may pull {image}")
    return bad


def main(argv):
    repo = argv[argv.index("--repo") + 1] if "--repo" in argv else "."
    args = [a for i, a in enumerate(argv) if a != "--repo" and (i == 0 or argv[i - 1] != "--repo")]
    args = args or ["--template", "-e", "dev", "--secrets", "secrets/ci/test-values.yaml"]
    binary = os.environ.get("PANDA_INSTALL_BIN") or os.path.join(repo, "target", "debug", "panda-install")
    if not os.path.exists(binary):
        binary = shutil.which("panda-install") or sys.exit("check-overlay: no panda-install (cargo build)")
    overlay_dir = os.path.join(repo, "testbed", "real-node", "values")
    overlays = sorted(f[:-5] for f in os.listdir(overlay_dir) if f.endswith(".yaml"))
    refs = set(subprocess.run([os.path.join(repo, "scripts", "images"), "refs"], check=True,
                              capture_output=True, text=True).stdout.split())
    bad, seen = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, extra in (("as is", {}), ("optional workloads on", OPTIONAL_ON)):
            values = []
            for c in overlays:
                values += ["--values", f"{c}={os.path.join(overlay_dir, c + '.yaml')}"]
                if c in extra:
                    path = os.path.join(tmp, f"{c}-on.yaml")
                    with open(path, "w") as f:
                        yaml.safe_dump(extra[c], f)
                    values += ["--values", f"{c}={path}"]
            r = subprocess.run([binary] + args + values, cwd=repo, capture_output=True, text=True)
            if r.returncode != 0:
                sys.stderr.write(r.stderr)
                print(f"check-overlay: the render ({label}) failed (exit {r.returncode})", file=sys.stderr)
                return 2
            found = containers(r.stdout)
            if not found:
                print(f"check-overlay: the render ({label}) has no container", file=sys.stderr)
                return 1
            for where, name, image, policy in found:
                seen.setdefault(image, set()).add(f"{where}/{name}")
            bad += [f"({label}) {m}" for m in violations(found, refs)]
    for image in sorted(seen):
        print(f"{image:45} {len(seen[image])} container(s)")
    for m in bad:
        print("FAIL " + m, file=sys.stderr)
    print(f"check-overlay: {len(seen)} images, {len(bad)} violations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
