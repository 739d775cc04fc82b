"""The pods of a panda-install deployment on the real node: each Running and Ready with no restart,
and each container under the charts' securityContext (docs/charts.md, "Security").

Reads `kubectl get pods -o json` on stdin; prints one line per pod and one per violation; exits 1 on
any violation. Every container must: run as non-root (pod or container runAsNonRoot, a non-zero
runAsUser), not escalate privileges, drop ALL capabilities and add none, and have a read-only root
filesystem unless it is one of the documented exceptions below (docs/charts.md lists them with the
reason; the sub-chart's values say it next to the setting).

usage: kubectl get pods -o json | python3 testbed/real-node/check_pods.py
"""

import json
import sys

# (app.kubernetes.io/name, container name): the documented writable roots (docs/charts.md "Security").
WRITABLE_ROOT = {
    ("panda", "server"),
    ("panda", "jedi"),
    ("msgsvc", "activemq"),
    ("harvester", "harvester"),
    ("idds", "rest"),
    ("idds", "daemon"),
    ("bigmon", "main"),
}


def container_violations(chart, pod_sc, c):
    """Messages for one container whose securityContext breaks the charts' rules."""
    sc = c.get("securityContext") or {}
    bad = []
    non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
    uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
    if non_root is not True:
        bad.append("runAsNonRoot is not true")
    if uid == 0:
        bad.append("runAsUser is 0")
    if sc.get("allowPrivilegeEscalation") is not False:
        bad.append("allowPrivilegeEscalation is not false")
    if sc.get("privileged"):
        bad.append("privileged")
    caps = sc.get("capabilities") or {}
    if "ALL" not in (caps.get("drop") or []):
        bad.append("capabilities do not drop ALL")
    if caps.get("add"):
        bad.append(f"capabilities added: {caps['add']}")
    read_only = sc.get("readOnlyRootFilesystem") is True
    if not read_only and (chart, c["name"]) not in WRITABLE_ROOT:
        bad.append("writable root filesystem (not a documented exception)")
    return bad


def pod_violations(pod):
    """Messages for one pod: not Running/Ready, restarts, and every container's violations."""
    name = pod["metadata"]["name"]
    chart = pod["metadata"].get("labels", {}).get("app.kubernetes.io/name", "")
    status = pod.get("status") or {}
    bad = []
    if status.get("phase") != "Running":
        bad.append(f"phase {status.get('phase')}")
    ready = [c for c in status.get("conditions") or [] if c["type"] == "Ready"]
    if not ready or ready[0]["status"] != "True":
        bad.append("not Ready")
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        if cs.get("restartCount", 0) != 0:
            last = (cs.get("lastState") or {}).get("terminated") or {}
            bad.append(f"container {cs['name']} restarted {cs['restartCount']} time(s)"
                       f" (last: {last.get('reason')} exit {last.get('exitCode')})")
    spec = pod["spec"]
    pod_sc = spec.get("securityContext") or {}
    for c in (spec.get("initContainers") or []) + spec["containers"]:
        bad += [f"container {c['name']}: {m}" for m in container_violations(chart, pod_sc, c)]
    return [f"{name}: {m}" for m in bad]


def main():
    pods = json.load(sys.stdin)["items"]
    if not pods:
        print("check_pods: no pod", file=sys.stderr)
        return 1
    bad = []
    for pod in pods:
        v = pod_violations(pod)
        bad += v
        print(f"{pod['metadata']['name']:45} {'ok' if not v else 'FAIL'}")
    for m in bad:
        print("FAIL " + m, file=sys.stderr)
    print(f"check_pods: {len(pods)} pods, {len(bad)} violations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
