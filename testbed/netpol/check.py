#!/usr/bin/env python3
"""NetworkPolicy edge test (scripts/check-netpol): the rendered policies allow every connection the
rendered Secrets, Services and exposure objects imply, and nothing else.

usage: check.py [-e EXPERIMENT]... [--helm 4|3]... [--break NAME] [--no-self-test] [--graph] [-v]

Per helm major and experiment (plus "dev+ui": dev with the UI against its in-cluster IAM, and
"doma+gateway": doma exposed through Gateway API routes; scenario.VARIANTS), one model
cluster (scenario.py): three instances ("", "blah-", "-blah") in namespace prod, a fourth in
dev-alice, intruder pods, kube-dns and the controllers. Then (edges.py, semantics.py):
  needed   every derived connection is allowed by the policies (ingress and egress side);
  extra    no other connection is: every pod to every container port of every pod with a policy,
           and every pod of ours to the API server, the external databases and an internet address
           on common ports; outside the cluster only what the experiment file opens on purpose
           (global.networkPolicy.egress, the apiServer default) is tolerated, and never for a
           database or the broker;
  isolation  the numbers of denied probes from other instances and other namespaces to databases
           and the broker (all of them are "extra" probes; printed so a reader sees what was asked).
Afterwards the self-test applies each deliberate break of BREAKS to the dev model and fails unless
the check catches it. --break NAME runs the whole matrix with that break (it must fail).
"""
import argparse
import ipaddress
import pathlib
import sys
import time

# Rendering like panda-install: the chart checks' helper (testbed/charts/render.py).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "charts"))

import edges as E  # noqa: E402
import render  # noqa: E402
import scenario  # noqa: E402
from model import External  # noqa: E402
from semantics import Evaluator  # noqa: E402

EXTERNAL_PORTS = [80, 443, 3306, 5432, 6443, 10121, 61613]
STORES = ("postgres", "mariadb", "activemq")  # databases and the broker


def ours(pod):
    return not isinstance(pod, External) and pod.kind != "Pod"


def releases(inst):
    return {render.affixed(inst.affix, c) for c in inst.components}


def derive(cluster, instances, platform):
    """(needed edges, derivation problems)."""
    needed, problems = [], []
    for inst in instances:
        pods = [p for p in cluster.pods if ours(p) and p.namespace == inst.namespace and p.instance in releases(inst)]
        found, trouble, _ = E.secret_edges(cluster, pods, inst.hosts)
        needed += found
        problems += trouble
    controllers = {k: platform[k] for k in ("ingress", "route", "gateway")}
    found, trouble = E.exposure_edges(cluster, controllers)
    needed += found
    problems += trouble
    needed += E.peer_edges(cluster)
    needed += E.platform_edges(cluster, [p for p in cluster.pods if ours(p)], platform["dns"], cluster.externals[scenario.API_SERVER])
    return [e for e in needed if e.src is not e.dst], problems


def site_opened(site, src, dst, port):
    """True when the experiment file opens src -> dst:port on purpose (global.networkPolicy.egress),
    or it is the API server default (any address on 6443 for pods with a service-account token)."""
    if port == 6443 and src.spec.get("automountServiceAccountToken"):
        return True
    component = src.key.split("/")[0]
    for rule in (site.get("egress") or {}).values():
        if not any(s in ("*", component, src.key) for s in rule.get("pods", [])):
            continue
        if rule.get("ports") and not any(int(p["port"]) <= port <= int(p.get("endPort", p["port"])) for p in rule["ports"]):
            continue
        for peer in rule["to"]:
            block = peer.get("ipBlock")
            if not block:
                continue
            net = ipaddress.ip_network(block["cidr"], strict=False)
            if net.version == dst.ip.version and dst.ip in net and not any(
                    dst.ip in ipaddress.ip_network(e, strict=False) for e in block.get("except") or []
                    if ipaddress.ip_network(e, strict=False).version == dst.ip.version):
                return True
    return False


def check(cluster, instances, platform, intruders, site):
    """(failures, stats) of one model cluster."""
    ev = Evaluator(cluster)
    needed, problems = derive(cluster, instances, platform)
    failures = ["derivation: %s" % p for p in problems]
    index = {(id(e.src), id(e.dst), e.port, e.protocol): e for e in needed}
    for e in index.values():
        if not ev.allowed(e.src, e.dst, e.port, e.protocol):
            failures.append("missing: %s -> %s port %d/%s (%s)" % (e.src, e.dst, e.port, e.protocol, e.why))
    stats = {"needed": len(index), "probes": 0, "isolation_instances": 0, "isolation_namespaces": 0}
    pods = cluster.pods
    for dst in pods:
        for src in pods:
            if src is dst or not (ours(src) or ours(dst)):
                continue
            for name, port, proto in dst.ports:
                stats["probes"] += 1
                allowed = ev.allowed(src, dst, port, proto)
                if ours(dst) and dst.key.split("/")[1] in STORES and not allowed:
                    if src.namespace != dst.namespace:
                        stats["isolation_namespaces"] += 1
                    elif src.instance != dst.instance and ours(src):
                        stats["isolation_instances"] += 1
                if allowed and (id(src), id(dst), port, proto) not in index:
                    failures.append("extra: %s (%s) -> %s (%s) port %d/%s is allowed but nothing needs it" % (
                        src, src.key if ours(src) else src.origin, dst, dst.key if ours(dst) else dst.origin, port, proto))
    for src in [p for p in pods if ours(p)]:
        for dst in cluster.externals.values():
            for port in EXTERNAL_PORTS:
                stats["probes"] += 1
                if not ev.allowed(src, dst, port) or (id(src), id(dst), port, "TCP") in index:
                    continue
                store = src.key.split("/")[1] in STORES
                if store or not site_opened(site, src, dst, port):
                    failures.append("extra: %s (%s) -> %s port %d is allowed but nothing needs it%s" % (
                        src, src.key, dst, port, " (a database or the broker)" if store else ""))
    stats["pods"] = len(pods)
    stats["policies"] = len(cluster.policies)
    return failures, stats


def _policy(cluster, namespace, name):
    for ns, doc in cluster.policies:
        if ns == namespace and doc["metadata"]["name"] == name:
            return doc
    raise KeyError("no NetworkPolicy %s/%s rendered" % (namespace, name))


def _drop_rule(cluster):
    """Drop the ingress rule of PanDA's PostgreSQL that admits the PanDA server."""
    doc = _policy(cluster, "prod", "panda-postgres")
    doc["spec"]["ingress"] = [r for r in doc["spec"]["ingress"]
                              if r["from"][0].get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") != "server"]


def _open_db(cluster):
    """IAM's MariaDB admits any pod of its namespace (podSelector {} instead of the instance labels)."""
    doc = _policy(cluster, "prod", "blah-iam-mariadb")
    doc["spec"]["ingress"][0]["from"] = [{"podSelector": {}}]


def _any_namespace(cluster):
    """The broker's consumers matched in every namespace (namespaceSelector {} added)."""
    doc = _policy(cluster, "prod", "msgsvc-blah-activemq")
    for rule in doc["spec"]["ingress"]:
        for peer in rule["from"]:
            peer["namespaceSelector"] = {}


def _no_dns(cluster):
    """JEDI loses its DNS egress rule."""
    doc = _policy(cluster, "prod", "panda-jedi")
    doc["spec"]["egress"] = [r for r in doc["spec"]["egress"] if not any("namespaceSelector" in p for p in r.get("to", []))]


def _no_migrate(cluster):
    """IAM's MariaDB no longer admits the restore Job of panda-install migrate-data."""
    doc = _policy(cluster, "prod", "blah-iam-mariadb")
    doc["spec"]["ingress"] = [r for r in doc["spec"]["ingress"]
                              if r["from"][0].get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") != "migrate-data"]


BREAKS = {"drop-rule": (_drop_rule, "missing"), "no-migrate": (_no_migrate, "missing"), "open-db": (_open_db, "extra"),
          "any-namespace": (_any_namespace, "extra"), "no-dns": (_no_dns, "missing")}


def graph(needed, instance):
    """The derived edges that start or end at one instance, by workload: "src -> dst ports"."""
    def mine(pod):
        return ours(pod) and pod.namespace == instance.namespace and pod.instance in releases(instance)

    def label(pod):
        return pod.key if ours(pod) else pod.origin

    lines = {}
    for e in needed:
        if mine(e.src) or mine(e.dst):
            lines.setdefault((label(e.src), label(e.dst)), set()).add("%d/%s" % (e.port, e.protocol))
    return ["%-24s -> %-34s %s" % (s, d, " ".join(sorted(p))) for (s, d), p in sorted(lines.items())]


def run_matrix(helms, experiments, brk=None, verbose=False, show_graph=False):
    failed = 0
    for major, helm in helms:
        for experiment in experiments:
            start = time.monotonic()
            base = experiment.partition("+")[0]
            try:
                cluster, instances, platform, intruders = scenario.build(helm, experiment)
            except ValueError as e:  # the model refuses what a cluster could not hold (model.Cluster.claim)
                failed += 1
                print("FAIL helm %s %-14s %s" % (major, experiment, e))
                continue
            if brk:
                BREAKS[brk][0](cluster)
            site = scenario.experiment_global(base).get("networkPolicy") or {}
            failures, st = check(cluster, instances, platform, intruders, site)
            if show_graph:
                print("\n".join(graph(derive(cluster, instances, platform)[0], instances[0])))
            took = time.monotonic() - start
            head = "helm %s %-14s %d instances, %d pods, %d policies: %d needed connections, %d probes" % (
                major, experiment, len(instances), st["pods"], st["policies"], st["needed"], st["probes"])
            if failures:
                failed += 1
                print("FAIL %s (%.1f s)" % (head, took))
                for f in failures[: None if verbose else 12]:
                    print("    " + f)
                if len(failures) > 12 and not verbose:
                    print("    ... %d more (-v)" % (len(failures) - 12))
            else:
                print("ok   %s, all needed allowed, 0 extra; denied: %d other-instance and %d other-namespace "
                      "probes to databases/broker (%.1f s)" % (head, st["isolation_instances"], st["isolation_namespaces"], took))
    return failed


def self_test(helm):
    """Every deliberate break must make the check fail with the expected kind of failure."""
    bad = 0
    for name, (mutate, kind) in BREAKS.items():
        try:
            cluster, instances, platform, intruders = scenario.build(helm, "dev")
        except ValueError as e:
            print("FAIL break %-13s cannot be tried: %s" % (name, e))
            return bad + 1
        mutate(cluster)
        failures, _ = check(cluster, instances, platform, intruders, {})
        hits = [f for f in failures if f.startswith(kind + ":")]
        if hits:
            print("ok   break %-13s caught: %d %s, e.g. %s" % (name, len(hits), kind, hits[0]))
        else:
            bad += 1
            print("FAIL break %-13s not caught (%s)" % (name, BREAKS[name][0].__doc__))
    return bad


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-e", "--experiment", action="append", default=[])
    parser.add_argument("--helm", action="append", default=[], choices=["4", "3"])
    parser.add_argument("--break", dest="brk", choices=sorted(BREAKS))
    parser.add_argument("--no-self-test", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--graph", action="store_true", help="print the derived edges of the first instance")
    args = parser.parse_args(argv)
    helm4, helm3 = render.helm_binaries()
    render.dependency_build(helm4)
    helms = [(m, h) for m, h in (("4", helm4), ("3", helm3)) if not args.helm or m in args.helm]
    experiments = args.experiment or render.experiments() + ["dev+ui", "doma+gateway"]
    failed = run_matrix(helms, experiments, args.brk, args.verbose, args.graph)
    if not args.no_self_test and not args.brk:
        failed += self_test(helm4)
    print("check-netpol: %s" % ("FAILED" if failed else "OK"))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except render.Failure as e:
        print("check-netpol: %s" % e, file=sys.stderr)
        sys.exit(1)
