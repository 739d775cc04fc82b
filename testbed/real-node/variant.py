"""A copy of one deployed workload in a namespace of its own, changed by one edit: the real node's
breaks (testbed/real-node/app-checks.sh) run the chart's own pod template with one thing wrong.

  variant.py FROM_NS TO_NS EDIT < workload.json   prints a v1 List: copies of the Secrets and
      ConfigMaps the pod template names, and the workload (one replica, claims and claim templates
      as emptyDirs, no service account), after EDIT: a Python statement over `w` (the workload), with
      drop_volume(w, name) and move_mount(w, volume, path) at hand, or "pass"
  variant.py --wait NS SECONDS   waits for the namespace's pod: prints "ready" when every container is
      Ready, or "failed: <reason and log tail>" as soon as a container has failed (restarted,
      crash-looping, terminated or refused by the kubelet), or "failed: not ready in N s"
"""

import json
import subprocess
import sys
import time


CAUSES = ("Read-only file system", "No such file", "Permission denied", "FATAL", "rror")


def kubectl(*args):
    return subprocess.run(["kubectl", *args], check=True, capture_output=True, text=True).stdout


def pod_spec(w):
    return w["spec"]["template"]["spec"]


def containers(spec):
    return spec.get("initContainers", []) + spec.get("containers", [])


def drop_volume(w, name):
    """The volume NAME and every mount of it removed."""
    spec = pod_spec(w)
    before = len(spec["volumes"])
    spec["volumes"] = [v for v in spec["volumes"] if v["name"] != name]
    assert len(spec["volumes"]) < before, "no volume %s" % name
    for c in containers(spec):
        c["volumeMounts"] = [m for m in c.get("volumeMounts", []) if m["name"] != name]


def move_mount(w, name, path):
    """Every mount of the volume NAME at PATH instead."""
    moved = 0
    for c in containers(pod_spec(w)):
        for m in c.get("volumeMounts", []):
            if m["name"] == name:
                m["mountPath"] = path
                moved += 1
    assert moved, "no mount of %s" % name


def referenced(spec):
    """(kind, name) of every Secret and ConfigMap the pod template names."""
    refs = set()
    for v in spec.get("volumes", []):
        if "secret" in v:
            refs.add(("secret", v["secret"]["secretName"]))
        if "configMap" in v:
            refs.add(("configmap", v["configMap"]["name"]))
        for s in v.get("projected", {}).get("sources", []):
            if "secret" in s:
                refs.add(("secret", s["secret"]["name"]))
            if "configMap" in s:
                refs.add(("configmap", s["configMap"]["name"]))
    for c in containers(spec):
        for f in c.get("envFrom", []):
            if "secretRef" in f:
                refs.add(("secret", f["secretRef"]["name"]))
            if "configMapRef" in f:
                refs.add(("configmap", f["configMapRef"]["name"]))
        for e in c.get("env", []):
            src = e.get("valueFrom", {})
            if "secretKeyRef" in src:
                refs.add(("secret", src["secretKeyRef"]["name"]))
            if "configMapKeyRef" in src:
                refs.add(("configmap", src["configMapKeyRef"]["name"]))
    return sorted(refs)


def copy(kind, name, from_ns, to_ns):
    o = json.loads(kubectl("-n", from_ns, "get", kind, name, "-o", "json"))
    out = {"apiVersion": "v1", "kind": o["kind"], "metadata": {"name": name, "namespace": to_ns}}
    for k in ("data", "stringData", "binaryData", "type"):
        if k in o:
            out[k] = o[k]
    return out


def variant(w, from_ns, to_ns, edit):
    spec = pod_spec(w)
    items = [copy(kind, name, from_ns, to_ns) for kind, name in referenced(spec)]
    w["metadata"] = {"name": w["metadata"]["name"], "namespace": to_ns, "labels": w["metadata"].get("labels", {})}
    w.pop("status", None)
    w["spec"]["replicas"] = 1
    claims = [t["metadata"]["name"] for t in w["spec"].pop("volumeClaimTemplates", [])]
    spec["volumes"] = [({"name": v["name"], "emptyDir": {}} if "persistentVolumeClaim" in v else v)
                       for v in spec.get("volumes", [])] + [{"name": n, "emptyDir": {}} for n in claims]
    spec.pop("serviceAccountName", None)
    spec.pop("serviceAccount", None)
    spec["automountServiceAccountToken"] = False
    exec(edit, {"w": w, "drop_volume": drop_volume, "move_mount": move_mount})
    return {"apiVersion": "v1", "kind": "List", "items": items + [w]}


def logs(ns, pod, container):
    """The failed container's log: the previous run's and the current one's (a restarted container's
    previous log is briefly unreadable while the kubelet replaces it: tried for 10 s)."""
    out = ""
    for _ in range(10):
        out = ""
        for extra in (["--previous"], []):
            proc = subprocess.run(["kubectl", "-n", ns, "logs", pod, "-c", container, *extra],
                                  capture_output=True, text=True)
            if proc.returncode == 0:
                out += proc.stdout
        if any(w in out for w in CAUSES):
            break
        time.sleep(1)
    return out


def wait(ns, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        pods = json.loads(kubectl("-n", ns, "get", "pods", "-o", "json"))["items"]
        for p in pods:
            statuses = p["status"].get("initContainerStatuses", []) + p["status"].get("containerStatuses", [])
            for s in statuses:
                state = s.get("state", {})
                waiting = state.get("waiting", {}).get("reason", "")
                terminated = state.get("terminated", {})
                failed = (s.get("restartCount", 0) > 0 or waiting in ("CrashLoopBackOff", "CreateContainerConfigError",
                                                                        "CreateContainerError", "RunContainerError")
                          or (terminated and terminated.get("exitCode", 0) != 0))
                if failed:
                    log = logs(ns, p["metadata"]["name"], s["name"])
                    why = waiting or terminated.get("reason", "") or "restarted"
                    lines = log.strip().splitlines()
                    # the first line that says what went wrong, then the end of the log
                    cause = [line for line in lines if any(w in line for w in CAUSES)][:1]
                    print("failed: %s/%s %s: %s %s" % (p["metadata"]["name"], s["name"], why,
                                                       state.get("waiting", {}).get("message", ""),
                                                       " | ".join(cause + lines[-3:])))
                    return
            ready = [c for c in p["status"].get("conditions", []) if c["type"] == "Ready" and c["status"] == "True"]
            if ready:
                print("ready")
                return
        time.sleep(1)
    print("failed: not ready in %d s" % seconds)


def main(argv):
    if argv[:1] == ["--wait"] and len(argv) == 3:
        wait(argv[1], float(argv[2]))
    elif len(argv) == 3:
        print(json.dumps(variant(json.load(sys.stdin), argv[0], argv[1], argv[2])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
