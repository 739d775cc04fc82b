"""One model cluster per experiment, rendered with real helm the way panda-install renders it.

Namespaces:
  prod        three instances of the experiment, affixes "", "blah-" and "-blah" (two instances in one
              namespace, and one more), plus a stray pod without labels
  dev-alice   a fourth instance with affix "" (the same release names and labels as prod's first one:
              a personal development namespace on the same cluster)
  intruder    one pod with the labels of each workload of prod (every instance), and one without labels
  kube-system (openshift-dns for OPENSHIFT experiments), ingress-nginx, openshift-ingress,
              envoy-gateway-system: the cluster DNS and the controllers, labelled as their upstream
              charts/operators label them (not as our values say)
A database the experiment does not run in the cluster (or the UI's, always external) gets an address
of its own per instance (192.0.2.0/24, TEST-NET-1), written into the secrets values as the host and
opened with global.networkPolicy.databases in an extra values file, as an operator would.
"""
import ipaddress
import json
import os
import tempfile

import yaml

import render
from model import Cluster

AFFIXES = ["", "blah-", "-blah"]
API_SERVER = "192.0.2.1"
INTERNET = "198.51.100.7"  # TEST-NET-2: an address on the internet no rule of ours names
SECRETS_VALUES = render.ROOT / "secrets" / "ci" / "test-values.yaml"

# External database per key of global.networkPolicy.databases: (component and sub-chart of the
# in-cluster database or None, consumer components, secrets values key, port).
DATABASES = {
    "panda": (("panda", "postgres"), ["panda", "bigmon"], "panda.database.host", 5432),
    "idds": (("idds", "postgres"), ["idds", "bigmon"], "idds.database.host", 5432),
    "harvester": (("harvester", "mariadb"), ["harvester"], "harvester.database.host", 3306),
    "iam": (("iam", "mariadb"), ["iam"], "iam.database.host", 3306),
    "ui": (None, ["ui"], "ui.database.host", 5432),
}

# Controllers and kube-dns as their own charts label them: (namespace, namespace labels, pod labels, ports).
PLATFORM = {
    "ingress": ("ingress-nginx", {}, {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}, []),
    "route": ("openshift-ingress", {"policy-group.network.openshift.io/ingress": "", "network.openshift.io/policy-group": "ingress"},
              {"ingresscontroller.operator.openshift.io/deployment-ingresscontroller": "default"}, []),
    "gateway": ("envoy-gateway-system", {}, {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy",
                                             "app.kubernetes.io/managed-by": "envoy-gateway"}, []),
    "dns": ("kube-system", {}, {"k8s-app": "kube-dns"}, [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")]),
}
# Experiments that run on OpenShift/OKD (their experiment file says so): the cluster DNS is the
# DNS operator's daemon set in openshift-dns, listening on 5353.
OPENSHIFT = {"sphenix"}
OPENSHIFT_DNS = ("openshift-dns", {}, {"dns.operator.openshift.io/daemonset-dns": "default"}, [("dns", 5353, "UDP"), ("dns-tcp", 5353, "TCP")])


def experiment_components(experiment, extra=()):
    doc = yaml.safe_load((render.ROOT / "values" / experiment / "experiment.yaml").read_text())
    return [c for c in render.COMPONENTS if c in doc["components"] or c in extra]


def experiment_global(experiment):
    doc = yaml.safe_load((render.ROOT / "values" / experiment / "experiment.yaml").read_text())
    return doc.get("global") or {}


def instance_hosts(affix, components):
    """Every in-cluster Service name an instance may refer to: <affixed component>-<sub>."""
    subs = {"msgsvc": ["activemq"], "iam": ["main", "mariadb"], "panda": ["server", "jedi", "postgres"],
            "harvester": ["harvester", "mariadb"], "idds": ["rest", "daemon", "postgres"], "bigmon": ["main"],
            "ui": ["backend", "frontend"]}
    return ["%s-%s" % (render.affixed(affix, c), s) for c in subs for s in subs[c]]


# The stores `panda-install migrate-data` restores (src/plan/migrate): component and database sub-chart.
MIGRATE_STORES = {"harvester-mariadb": ("harvester", "mariadb"), "iam-mariadb": ("iam", "mariadb"),
                  "idds-postgres": ("idds", "postgres")}
_BINARY = []


def panda_install():
    """The panda-install binary: PANDA_INSTALL_BIN, else built from this checkout (once)."""
    if not _BINARY:
        path = os.environ.get("PANDA_INSTALL_BIN")
        if not path:
            render.run(["cargo", "build", "--locked", "--quiet", "--bin", "panda-install"])
            path = str(render.ROOT / "target" / "debug" / "panda-install")
        _BINARY.append(path)
    return _BINARY[0]


def migrate_job(store, affix, namespace):
    """The restore Job `panda-install migrate-data` runs for an instance, as it prints it (--dry-run)."""
    args = [panda_install(), "migrate-data", "restore", store, "-n", namespace, "--affix=%s" % affix, "--dry-run",
            "--output", "json"]
    return [d for d in json.loads(render.run(args).stdout) if d["kind"] == "Job"]


class Instance:
    """One installation: its affix, namespace, rendered documents and external database addresses."""

    def __init__(self, helm, experiment, affix, namespace, index, components, secrets_extra=(), tmpdir=None, values=()):
        self.experiment, self.affix, self.namespace, self.components = experiment, affix, namespace, components
        self.external_dbs = {}  # key -> (ip, port)
        values = list(values)
        first = {c: render.template(helm, c, experiment, affix=affix, values=values) for c in components}
        rendered = {(d["kind"], d["metadata"]["name"]) for docs in first.values() for d in docs}
        secrets_args = ["--set-string", "affix=%s" % affix] + list(secrets_extra)
        policy = {}
        for n, (key, (db, consumers, host_key, port)) in enumerate(sorted(DATABASES.items())):
            if not any(c in components for c in consumers):
                continue
            if db and ("StatefulSet", "%s-%s" % (render.affixed(affix, db[0]), db[1])) in rendered:
                continue
            ip = str(ipaddress.ip_address("192.0.2.10") + 10 * index + n)
            self.external_dbs[key] = (ip, port)
            secrets_args += ["--set-string", "%s=%s" % (host_key, ip)]
            policy[key] = {"to": [{"ipBlock": {"cidr": ip + "/32"}}], "ports": [{"port": port}]}
        if policy:
            path = os.path.join(tmpdir, "%s-%s-%d.yaml" % (experiment, namespace, index))
            with open(path, "w") as handle:
                json.dump({"global": {"networkPolicy": {"databases": policy}}}, handle)
            values.append(path)
        self.docs = []
        proc = render.run([helm, "template", render.affixed(affix, "secrets"), "secrets", "-f", str(SECRETS_VALUES)] + secrets_args)
        self.docs += [d for d in yaml.safe_load_all(proc.stdout) if d]
        for c in components:
            self.docs += first[c] if not policy else render.template(helm, c, experiment, affix=affix, values=values)
        # the restore Job of `panda-install migrate-data` beside each database it copies into
        for store, (component, db) in sorted(MIGRATE_STORES.items()):
            if ("StatefulSet", "%s-%s" % (render.affixed(affix, component), db)) in rendered:
                self.docs += migrate_job(store, affix, namespace)
        self.hosts = instance_hosts(affix, components)

    @property
    def label(self):
        return "%s/%s affix %r" % (self.namespace, self.experiment, self.affix)


# Variants of an experiment ("<experiment>+<variant>"): what is added to every component's values.
#   ui       the UI as well, against the instance's own IAM through its Service (AUTH_IAM_ENDPOINT)
#   gateway  every exposure through Gateway API routes (a named Gateway in namespace gateway-system)
VARIANTS = {
    "ui": {},
    "gateway": {"global": {"exposure": "gateway", "gateway": {"name": "panda-gateway", "namespace": "gateway-system"}}},
}


def build(helm, name):
    """(cluster, instances, platform pods {name: [pods]}, intruders) for "<experiment>[+<variant>]"."""
    experiment, _, variant = name.partition("+")
    with_ui = variant == "ui"
    cluster = Cluster()
    instances = []
    components = experiment_components(experiment, ["ui"] if with_ui else ())
    with tempfile.TemporaryDirectory() as tmpdir:
        values = []
        if VARIANTS.get(variant):
            values.append(os.path.join(tmpdir, "variant.yaml"))
            with open(values[0], "w") as handle:
                json.dump(VARIANTS[variant], handle)
        plan = [(a, "prod") for a in AFFIXES] + [("", "dev-alice")]
        for index, (affix, namespace) in enumerate(plan):
            extra = []
            if with_ui:
                # The UI against the instance's own IAM through its Service (AUTH_IAM_ENDPOINT).
                extra = ["--set-string", "ui.iam.endpoint=http://%s-main:8443/" % render.affixed(affix, "iam")]
            inst = Instance(helm, experiment, affix, namespace, index, components, extra, tmpdir, values)
            cluster.add(namespace, inst.docs, inst.label)
            instances.append(inst)
    platform = {}
    for name, (ns, ns_labels, labels, ports) in dict(PLATFORM, **({"dns": OPENSHIFT_DNS} if experiment in OPENSHIFT else {})).items():
        cluster.namespace(ns, ns_labels)
        platform[name] = [cluster.add_pod(ns, name, labels, ports, "%s pod" % name)]
    intruders = [cluster.add_pod("prod", "stray", {}, [], "unlabelled pod in prod")]
    cluster.namespace("intruder")
    for pod in [p for p in cluster.pods if p.namespace == "prod" and p.kind != "Pod" and p.name.endswith("-0")]:
        intruders.append(cluster.add_pod("intruder", "copy-" + pod.name, pod.labels, pod.ports,
                                         "pod in namespace intruder with the labels of %s" % pod))
    intruders.append(cluster.add_pod("intruder", "bare", {}, [], "unlabelled pod in namespace intruder"))
    cluster.external(API_SERVER, "the API server")
    cluster.external(INTERNET, "an address on the internet")
    return cluster, instances, platform, intruders
