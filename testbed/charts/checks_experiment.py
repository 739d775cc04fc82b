"""Experiment-wide settings (values/<experiment>/experiment.yaml, global.*) reach every workload."""
import tempfile

import render
import yaml
from render import Failure, check

NODE_FAILURE = {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}


def every_pod(helm, experiment=None, **kw):
    """(component, workload doc, pod metadata, pod spec) of every workload of every chart."""
    for component in render.components():
        for doc in render.workloads(render.template(helm, component, experiment, **kw)):
            meta, spec = render.pod_spec(doc)
            yield component, doc, meta, spec


@check
def atlas_testbed_and_doma_give_every_pod_30s_node_failure_tolerations_and_the_spread_rule(helm4, helm3):
    for experiment in ("atlas_testbed", "doma"):
        seen = 0
        for component, doc, _, spec in every_pod(helm4, experiment):
            seen += 1
            fast = {t["key"]: t.get("tolerationSeconds") for t in spec.get("tolerations", []) if t.get("key") in NODE_FAILURE}
            if fast != {k: 30 for k in NODE_FAILURE}:
                raise Failure(f"{experiment}: {render.name(doc)} ({component}) has node-failure tolerations {fast}")
            terms = spec.get("affinity", {}).get("podAntiAffinity", {}).get("preferredDuringSchedulingIgnoredDuringExecution", [])
            if not any("matchExpressions" in t["podAffinityTerm"]["labelSelector"] for t in terms):
                raise Failure(f"{experiment}: {render.name(doc)} ({component}) has no component spread rule")
        assert seen >= 10, f"{experiment}: only {seen} workloads"
    # The IAM MariaDB StatefulSet is the one the issue names: no iam values file in atlas_testbed.
    assert not (render.ROOT / "values/atlas_testbed/iam.yaml").exists()


GLOBALS = """
global:
  tolerations: [{key: dedicated, operator: Equal, value: panda, effect: NoSchedule}]
  nodeSelector: {pool: panda}
  podLabels: {site: example}
  podAnnotations: {example.org/owner: panda}
  imagePullSecrets: [mirror-pull]
  imageRegistryMirrors: {ghcr.io: mirror.example.org/ghcr, docker.io: mirror.example.org/hub, registry.k8s.io: mirror.example.org/k8s}
  storageClass: fast
  proxy: {httpProxy: "http://proxy.example.org:3128", httpsProxy: "http://proxy.example.org:3128"}
  topologySpread: {enabled: true}
  platformAssignsIds: true
"""


@check
def every_global_key_reaches_every_workload_container_and_claim(helm4, helm3):
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/experiment.yaml"
        with open(path, "w") as f:
            f.write("components: [panda]\n" + GLOBALS)
        claims = 0
        for component in render.components():
            for doc in render.template(helm4, component, values=[path], affix="-x"):
                if doc["kind"] == "PersistentVolumeClaim" and "-cvmfs-" not in doc["metadata"]["name"]:
                    claims += 1
                    assert doc["spec"].get("storageClassName") == "fast", render.name(doc)
        for component, doc, meta, spec in every_pod(helm4, values=[path], affix="-x"):
            where = f"{render.name(doc)} ({component})"
            assert {"key": "dedicated", "operator": "Equal", "value": "panda", "effect": "NoSchedule"} in spec.get("tolerations", []), where
            assert spec.get("nodeSelector", {}).get("pool") == "panda", where
            assert meta["labels"].get("site") == "example", where
            assert meta.get("annotations", {}).get("example.org/owner") == "panda", where
            assert {"name": "mirror-pull"} in spec.get("imagePullSecrets", []), where
            assert spec.get("topologySpreadConstraints"), where
            assert not {"runAsUser", "runAsGroup", "fsGroup"} & set(spec["securityContext"]), where
            for c in render.containers(spec):
                assert c["image"].startswith("mirror.example.org/"), f"{where}: {c['image']}"
                env = {e["name"]: e.get("value") for e in c.get("env", [])}
                assert env.get("https_proxy") == "http://proxy.example.org:3128", f"{where}/{c['name']}: no proxy"
                assert "panda-x-server" in env.get("no_proxy", ""), f"{where}/{c['name']}: no_proxy lacks the instance"
            for vct in doc["spec"].get("volumeClaimTemplates", []):
                claims += 1
                assert vct["spec"].get("storageClassName") == "fast", f"{where}: {vct['metadata']['name']}"
        assert claims >= 8, f"only {claims} claim templates seen"


@check
def a_workload_value_wins_over_the_experiment_wide_one(helm4, helm3):
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/override.yaml"
        with open(path, "w") as f:
            f.write("server:\n  nodeSelector: {pool: servers}\n  podAntiAffinity: {enabled: false}\n"
                    "  logs: {storageClass: slow}\n")
        docs = render.template(helm4, "panda", "atlas_testbed", values=[path], extra=["--set", "global.nodeSelector.pool=panda", "--set-string", "global.storageClass=fast"])
        server = next(d for d in render.workloads(docs) if d["metadata"]["name"] == "test-panda-server")
        jedi = next(d for d in render.workloads(docs) if d["metadata"]["name"] == "test-panda-jedi")
        _, s = render.pod_spec(server)
        _, j = render.pod_spec(jedi)
        assert s["nodeSelector"] == {"pool": "servers"}, s["nodeSelector"]
        assert j["nodeSelector"] == {"pool": "panda"}, j["nodeSelector"]
        spread = lambda spec: [t for t in spec.get("affinity", {}).get("podAntiAffinity", {}).get("preferredDuringSchedulingIgnoredDuringExecution", []) if "matchExpressions" in t["podAffinityTerm"]["labelSelector"]]
        assert not spread(s), "server.podAntiAffinity.enabled=false did not switch the experiment's rule off"
        assert spread(j), "jedi lost the experiment's spread rule"
        assert server["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "slow"
        assert jedi["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "fast"
