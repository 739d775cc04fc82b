#!/usr/bin/env python3
"""The NetworkPolicy edge model executed with real connections, on the real-node bed
(scripts/check-real-node; KUBECONFIG must point at a bed with PANDA_TESTBED_REAL_NODE=1).

usage: live.py [-e EXPERIMENT] [--keep]

The dev experiment's model cluster (scenario.py: three instances in `prod`, one in `dev-alice`,
intruder pods) is rendered with helm 4 as check.py renders it. Its policies are applied for real,
and a stand-in pod (busybox, the chart library's restricted securityContext) runs for replica 0 of
every workload of the instances "" and "blah-" in prod and "" in dev-alice, for each intruder pod
with the labels of instance "" and for the unlabelled ones: same namespace, same labels, listening
on the workload's TCP container ports. kube-router enforces the policies.

Then every source pod connects (TCP) to every database and broker port of instance "" in prod
(PostgreSQL, MariaDB, ActiveMQ), and each outcome must be what the model's semantics say
(semantics.Evaluator: open where allowed, blocked where not): every edge the rendered Secrets imply
connects, and another instance, another namespace or a foreign pod cannot. The stand-ins answer
nothing but TCP: this proves the policies and their enforcement, not the software (the images do).
Prints "N passed, N failed".
"""
import argparse
import concurrent.futures
import json
import os
import pathlib
import subprocess
import sys
import time

# after this directory: testbed/charts has a check.py of its own
sys.path.append(str(pathlib.Path(__file__).resolve().parents[1] / "charts"))

import render  # noqa: E402
import scenario  # noqa: E402
from check import STORES, ours  # noqa: E402
from semantics import Evaluator  # noqa: E402

KUBECTL = os.environ.get("KUBECTL", "kubectl")
NAMESPACES = ("prod", "dev-alice", "intruder")
IMAGE = "bed.local/busybox:1"


def kubectl(*args, stdin=None, check=True):
    proc = subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise SystemExit("live.py: kubectl %s failed: %s" % (" ".join(args), proc.stderr.strip()))
    return proc


def live_pods(cluster):
    """The model pods that get a stand-in: replica 0 of instances "" and "blah-" in prod and of
    dev-alice, the intruders with the labels of instance "" and the unlabelled pods."""
    instance_of = {}
    for inst in scenario_instances:
        for c in inst.components:
            instance_of[(inst.namespace, render.affixed(inst.affix, c))] = inst.affix
    out = []
    for pod in cluster.pods:
        if pod.namespace not in NAMESPACES:
            continue
        if ours(pod):
            if pod.name.endswith("-0") and instance_of.get((pod.namespace, pod.instance)) in ("", "blah-"):
                out.append(pod)
        elif not pod.labels or instance_of.get(("prod", pod.instance)) == "":
            out.append(pod)
    return out


def manifest(pod):
    ports = sorted({n for _, n, proto in pod.ports if proto == "TCP"})
    listen = "; ".join("httpd -p %d -h /tmp/www" % p for p in ports)
    script = "mkdir -p /tmp/www; %s%sexec sleep 86400" % (listen, "; " if listen else "")
    probe = {"readinessProbe": {"tcpSocket": {"port": ports[0]}, "periodSeconds": 1}} if ports else {}
    container = {
        "name": "stand-in", "image": IMAGE, "imagePullPolicy": "Never", "command": ["sh", "-c", script],
        "ports": [{"containerPort": p} for p in ports],
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "resources": {"requests": {"cpu": "1m", "memory": "4Mi"}, "limits": {"memory": "32Mi"}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    container.update(probe)
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": pod.name, "namespace": pod.namespace, "labels": pod.labels},
        "spec": {"automountServiceAccountToken": False, "terminationGracePeriodSeconds": 0,
                 "enableServiceLinks": False,
                 "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                     "seccompProfile": {"type": "RuntimeDefault"}},
                 "containers": [container], "volumes": [{"name": "tmp", "emptyDir": {}}]},
    }


def probe(src, targets):
    """{(ip, port): "open" | "blocked"} from one source pod, all targets at once."""
    script = " ".join("(echo | nc -w 2 %s %d >/dev/null 2>&1 && echo %s:%d open || echo %s:%d blocked) &" % (
        ip, port, ip, port, ip, port) for ip, port in targets) + " wait"
    proc = kubectl("-n", src.namespace, "exec", src.name, "--", "sh", "-c", script, check=False)
    out = {}
    for line in proc.stdout.splitlines():
        addr, _, result = line.partition(" ")
        ip, _, port = addr.rpartition(":")
        out[(ip, int(port))] = result
    return out


def main():
    global scenario_instances
    parser = argparse.ArgumentParser()
    parser.add_argument("-e", "--experiment", default="dev")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    helm = os.environ.get("PANDA_INSTALL_HELM") or sys.exit("live.py: PANDA_INSTALL_HELM is not set")
    start = time.time()
    # a panda-install may run beside (scripts/check-real-node): never rewrite the checkout's charts/
    render.use_private_charts()
    render.dependency_build(helm)
    cluster, scenario_instances, _, _ = scenario.build(helm, args.experiment)
    pods = live_pods(cluster)
    ev = Evaluator(cluster)
    for ns in NAMESPACES:
        kubectl("create", "namespace", ns)
    policies = [doc for ns, doc in cluster.policies if ns in NAMESPACES]
    for ns, doc in cluster.policies:
        if ns in NAMESPACES:
            doc.setdefault("metadata", {})["namespace"] = ns
    kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": policies}))
    kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": [manifest(p) for p in pods]}))
    print("live.py: %d policies, %d stand-in pods (%.1f s)" % (len(policies), len(pods), time.time() - start), flush=True)
    for ns in NAMESPACES:
        kubectl("-n", ns, "wait", "--for=condition=Ready", "pod", "--all", "--timeout=180s")
    ips = {}
    for ns in NAMESPACES:
        for item in json.loads(kubectl("-n", ns, "get", "pods", "-o", "json").stdout)["items"]:
            ips[(ns, item["metadata"]["name"])] = item["status"]["podIP"]
    print("live.py: all Ready (%.1f s)" % (time.time() - start), flush=True)
    stores = [p for p in pods if ours(p) and p.namespace == "prod" and p.key.split("/")[1] in STORES
              and p.instance == render.affixed("", p.labels.get("app.kubernetes.io/name", ""))]
    targets = [(dst, port) for dst in stores for _, port, proto in dst.ports if proto == "TCP"]
    time.sleep(2)  # kube-router syncs the new pods into its ipsets
    passed = failed = 0
    counts = {"open": 0, "blocked": 0}

    def run(src):
        wanted = [(ips[(dst.namespace, dst.name)], port) for dst, port in targets if dst is not src]
        return src, probe(src, wanted)

    def expected(src, dst, port):
        return "open" if ev.allowed(src, dst, port) else "blocked"

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(pool.map(run, pods))
    # The firewall programs a pod's address into its sets a moment after the pod is Ready, later when
    # the machine is busy (an install beside): a source whose outcomes disagree with the model is
    # probed once more, 5 s later; what still disagrees then fails.
    late = [src for src, got in results.items() if any(
        got.get((ips[(dst.namespace, dst.name)], port)) != expected(src, dst, port)
        for dst, port in targets if dst is not src)]
    if late:
        print("live.py: %d sources disagree with the model at first, probed again in 5 s" % len(late), flush=True)
        time.sleep(5)
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            results.update(pool.map(run, late))
    for src, got in results.items():
        for dst, port in targets:
            if dst is src:
                continue
            want = expected(src, dst, port)
            have = got.get((ips[(dst.namespace, dst.name)], port), "no answer")
            if have == want:
                passed += 1
                counts[want] += 1
            else:
                failed += 1
                print("live.py: FAIL %s (%s) -> %s port %d: %s, the model says %s" % (
                    src, src.key if ours(src) else src.origin, dst, port, have, want), file=sys.stderr)
    print("live.py: %d sources x %d database/broker ports: %d open as allowed, %d blocked as denied (%.1f s)" % (
        len(pods), len(targets), counts["open"], counts["blocked"], time.time() - start))
    if not args.keep:
        kubectl("delete", "namespace", *NAMESPACES, "--wait=false")
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or counts["open"] == 0 or counts["blocked"] == 0 else 0


scenario_instances = []

if __name__ == "__main__":
    sys.exit(main())
