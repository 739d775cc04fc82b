#!/usr/bin/env python3
"""The rendered NetworkPolicies on the test bed (scripts/check-netpol --testbed).

usage: testbed.py [--keep]      (KUBECONFIG must point at the test bed: scripts/cluster up)

1. Every NetworkPolicy of every experiment, for the affixes "", "blah-" and "-blah" (three instances
   per namespace np-<experiment>), rendered with helm 4 like panda-install, is applied with
   server-side apply; the API server must accept each one and store the spec as rendered (after its
   own defaulting: protocol TCP).
2. Two instances of the dev experiment (affixes "" and "blah-") are installed with helm 4
   (--server-side true, --wait) into one namespace that enforces Pod Security "restricted": every
   Deployment and StatefulSet must be ready, every pod Ready, and the release's policies present.
The test bed runs kwok nodes: pods never run, so nothing enforces the policies here (the semantics
are checked by check.py); this proves the objects are valid and do not keep the stack from deploying.
"""
import json
import os
import pathlib
import secrets as random
import sys
import time

import yaml

# Rendering like panda-install: the chart checks' helper (testbed/charts/render.py).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "charts"))

import render  # noqa: E402
import scenario  # noqa: E402

KUBECTL = os.environ.get("KUBECTL", "kubectl")


def kubectl(*args, stdin=None, check_rc=True):
    return render.run([KUBECTL, *args], check=check_rc, stdin=stdin)


def normalised(spec):
    """A policy spec with the API server's defaults applied (protocol TCP on every port)."""
    spec = json.loads(json.dumps(spec))
    for field in ("ingress", "egress"):
        for rule in spec.get(field) or []:
            for port in rule.get("ports") or []:
                port.setdefault("protocol", "TCP")
    return spec


def apply_all(helm, report, namespaces):
    for experiment in render.experiments():
        ns = "np-%s-%s" % (experiment.replace("_", "-"), random.token_hex(2))
        kubectl("create", "namespace", ns)
        namespaces.append(ns)
        components = scenario.experiment_components(experiment)
        policies = []
        for affix in scenario.AFFIXES:
            for component in components:
                policies += [d for d in render.template(helm, component, experiment, affix=affix) if d["kind"] == "NetworkPolicy"]
        names = [p["metadata"]["name"] for p in policies]
        if len(set(names)) != len(names):
            raise render.Failure("%s: two policies share a name across the affixes" % experiment)
        stream = "\n---\n".join(yaml.safe_dump(p) for p in policies)
        kubectl("apply", "--server-side", "--field-manager=check-netpol", "-n", ns, "-f", "-", stdin=stream)
        stored = {i["metadata"]["name"]: i["spec"] for i in
                  json.loads(kubectl("get", "networkpolicies", "-n", ns, "-o", "json").stdout)["items"]}
        for p in policies:
            name = p["metadata"]["name"]
            if name not in stored:
                raise render.Failure("%s/%s: applied but not stored" % (ns, name))
            if normalised(p["spec"]) != stored[name]:
                raise render.Failure("%s/%s: the API server stored a different spec:\nrendered %s\nstored   %s" % (
                    ns, name, json.dumps(normalised(p["spec"]), sort_keys=True), json.dumps(stored[name], sort_keys=True)))
        report.append("%s: %d NetworkPolicies (3 instances) accepted by server-side apply, stored as rendered" % (ns, len(policies)))


def deploy(helm, report, namespaces):
    ns = "np-deploy-%s" % random.token_hex(3)
    kubectl("create", "namespace", ns)
    namespaces.append(ns)
    kubectl("label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted")
    components = scenario.experiment_components("dev")
    expected = 0
    for affix in ("", "blah-"):
        start = time.monotonic()
        render.run([helm, "upgrade", "--install", render.affixed(affix, "secrets"), "secrets", "-n", ns,
                    "-f", str(scenario.SECRETS_VALUES), "--set-string", "affix=%s" % affix, "--server-side", "true", "--wait", "--timeout", "120s"])
        for component in components:
            args = [helm, "upgrade", "--install", render.affixed(affix, component), "helm/%s" % component, "-n", ns,
                    "--server-side", "true", "--wait", "--timeout", "240s"]
            render.run(args + render.cli_args("dev", component, affix=affix))
            expected += len([d for d in render.template(helm, component, "dev", affix=affix) if d["kind"] == "NetworkPolicy"])
        report.append("%s: dev with affix %r installed (helm 4, server-side) and ready in %.1f s" % (ns, affix, time.monotonic() - start))
    workloads = json.loads(kubectl("get", "deployments,statefulsets", "-n", ns, "-o", "json").stdout)["items"]
    unready = ["%s/%s" % (w["kind"], w["metadata"]["name"]) for w in workloads
               if (w["status"].get("readyReplicas") or 0) != w["spec"].get("replicas", 1)]
    pods = json.loads(kubectl("get", "pods", "-n", ns, "-o", "json").stdout)["items"]
    not_ready = [p["metadata"]["name"] for p in pods if p["status"].get("phase") != "Succeeded" and not any(
        c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))]
    policies = json.loads(kubectl("get", "networkpolicies", "-n", ns, "-o", "json").stdout)["items"]
    if unready or not_ready:
        raise render.Failure("%s: not ready: %s" % (ns, ", ".join(unready + not_ready)))
    if len(policies) != expected:
        raise render.Failure("%s: %d NetworkPolicies stored, %d rendered" % (ns, len(policies), expected))
    report.append("%s: %d workloads ready, %d pods Ready, %d NetworkPolicies in place (2 instances)" % (
        ns, len(workloads), len(pods), len(policies)))


def main(argv):
    if not os.environ.get("KUBECONFIG"):
        print("check-netpol --testbed: KUBECONFIG is not set (scripts/cluster up)", file=sys.stderr)
        return 1
    helm4, _ = render.helm_binaries()
    render.dependency_build(helm4)
    report, namespaces = [], []
    try:
        apply_all(helm4, report, namespaces)
        deploy(helm4, report, namespaces)
    finally:
        if "--keep" not in argv:
            for ns in namespaces:
                kubectl("delete", "namespace", ns, "--wait=false", check_rc=False)
    print("\n".join(report))
    print("check-netpol --testbed: OK (kwok nodes: the policies are accepted and deployed, not enforced)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (render.Failure, AssertionError) as e:
        print("check-netpol --testbed: FAILED: %s" % e, file=sys.stderr)
        sys.exit(1)
