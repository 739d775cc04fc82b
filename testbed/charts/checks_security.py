"""Issue 16 item 2, for every workload of every chart and experiment: read-only roots except the
documented image exceptions, ephemeral-storage requests and limits, distinct readiness and liveness
checks, a headless serviceName, a PodDisruptionBudget exactly where replicas > 1, the pull-policy
rule, the Pod Security "restricted" fields, and no duplicate variable names."""
import re

import render
from render import Failure, check

# Containers whose image writes all over its root filesystem; the reason is in the sub-chart's
# values.yaml next to "readOnlyRootFilesystem: false" (and in docs/charts.md, "Security").
WRITABLE_ROOT = {"server", "jedi", "activemq", "harvester", "rest", "daemon", "main@bigmon"}
SAFE_SYSCTLS = {"net.ipv4.ip_unprivileged_port_start"}


def every_render(helm):
    for experiment in [None] + render.experiments():
        for component in render.components():
            extra = ["--set", "nodeRecovery.enabled=true"] if component == "panda" else []
            yield experiment, component, render.template(helm, component, experiment, extra=extra)


def container_key(doc, container):
    name = container["name"]
    return f"{name}@bigmon" if name == "main" and doc["metadata"]["labels"]["app.kubernetes.io/name"] == "bigmon" else name


def events_only(docs, spec):
    """The pod's ServiceAccount is bound to Roles of this render that grant nothing but creating Events
    (Harvester's health monitor)."""
    account = spec.get("serviceAccountName")
    roles = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Role"}
    bound = [roles.get(b["roleRef"]["name"]) for b in docs if b["kind"] == "RoleBinding"
             and any(s.get("kind") == "ServiceAccount" and s["name"] == account for s in b["subjects"])]
    only = [{"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}]
    return bool(account and bound) and all(r is not None and r["rules"] == only for r in bound) and not any(
        d["kind"] == "ClusterRoleBinding" and any(s["name"] == account for s in d.get("subjects", [])) for d in docs)


@check
def every_container_meets_the_security_rules(helm4, helm3):
    counts = {"containers": 0, "statefulsets": 0, "pdbs": 0}
    for experiment, component, docs in every_render(helm4):
        services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
        pdbs = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
        counts["pdbs"] += len(pdbs)
        for doc in render.workloads(docs):
            where = f"{experiment}/{component}: {render.name(doc)}"
            meta, spec = render.pod_spec(doc)
            psc = spec["securityContext"]
            if psc.get("runAsNonRoot") is not True or psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
                raise Failure(f"{where}: pod securityContext is not restricted: {psc}")
            for sysctl in psc.get("sysctls", []):
                if sysctl["name"] not in SAFE_SYSCTLS:
                    raise Failure(f"{where}: sysctl {sysctl['name']} is not in the safe set")
            if spec.get("automountServiceAccountToken") and doc["kind"] != "CronJob" and not events_only(docs, spec):
                raise Failure(f"{where}: mounts a service account token (a long-running pod may have one only to create Events)")
            long_running = doc["kind"] in ("Deployment", "StatefulSet")
            for c in render.containers(spec):
                counts["containers"] += 1
                csc = c["securityContext"]
                if csc.get("allowPrivilegeEscalation") is not False or csc.get("capabilities", {}).get("drop") != ["ALL"]:
                    raise Failure(f"{where}/{c['name']}: container securityContext is not restricted: {csc}")
                writable = container_key(doc, c) in WRITABLE_ROOT
                if csc.get("readOnlyRootFilesystem") is not (not writable):
                    raise Failure(f"{where}/{c['name']}: readOnlyRootFilesystem {csc.get('readOnlyRootFilesystem')}, want {not writable}")
                for part in ("requests", "limits"):
                    if "ephemeral-storage" not in c["resources"].get(part, {}):
                        raise Failure(f"{where}/{c['name']}: no ephemeral-storage in resources.{part}")
                digest = "@sha256:" in c["image"]
                if c["imagePullPolicy"] != ("IfNotPresent" if digest else "Always"):
                    raise Failure(f"{where}/{c['name']}: {c['image']} with pull policy {c['imagePullPolicy']}")
                names = [e["name"] for e in c.get("env", [])]
                if len(names) != len(set(names)):
                    raise Failure(f"{where}/{c['name']}: duplicate env names {sorted(n for n in names if names.count(n) > 1)}")
                if long_running:
                    ready, alive = c.get("readinessProbe"), c.get("livenessProbe")
                    if not ready or not alive:
                        raise Failure(f"{where}/{c['name']}: needs a readiness and a liveness probe")
                    handler = lambda p: {k: v for k, v in p.items() if k in ("exec", "httpGet", "tcpSocket", "grpc")}
                    if handler(ready) == handler(alive):
                        raise Failure(f"{where}/{c['name']}: readiness and liveness run the same check {handler(ready)}")
            if doc["kind"] == "StatefulSet":
                counts["statefulsets"] += 1
                governing = services.get(doc["spec"]["serviceName"])
                if not governing or governing["spec"].get("clusterIP") != "None":
                    raise Failure(f"{where}: serviceName {doc['spec']['serviceName']} is not a headless Service of this release")
                if any(meta["labels"].get(k) != v for k, v in governing["spec"]["selector"].items()):
                    raise Failure(f"{where}: its headless Service does not select its pods")
            if long_running:
                replicas = doc["spec"].get("replicas", 1)
                covering = [p for p in pdbs if all(meta["labels"].get(k) == v for k, v in p["spec"]["selector"]["matchLabels"].items())]
                if (replicas > 1) != bool(covering):
                    raise Failure(f"{where}: {replicas} replicas and {len(covering)} PodDisruptionBudgets")
    assert counts["containers"] > 100 and counts["statefulsets"] > 50 and counts["pdbs"] >= 5, counts


@check
def every_writable_root_exception_is_explained_in_its_values(helm4, helm3):
    explained = 0
    for path in sorted(render.ROOT.glob("helm/*/charts/*/values.yaml")):
        text = path.read_text()
        for match in re.finditer(r"((?:#[^\n]*\n)+)securityContext:\n  readOnlyRootFilesystem: false", text):
            if "writable" not in match.group(1):
                raise Failure(f"{path}: readOnlyRootFilesystem: false without the reason in its comment")
            explained += 1
    assert explained == len(WRITABLE_ROOT), f"{explained} explained exceptions, {len(WRITABLE_ROOT)} expected"
