"""A cluster model built from rendered manifests: namespaces, pods, Services, Secrets, ConfigMaps,
exposure objects and NetworkPolicies, as the API server would hold them after an install.

Pods are the workloads' pod templates, two per workload (every replica carries the same labels and
ports). Every pod gets an address from POD_CIDR, so ipBlock rules are evaluated
against in-cluster addresses too (whether a CNI matches pod IPs with ipBlock is implementation
defined; assuming it does is the strict reading for "nothing else is allowed").
"""
import base64
import ipaddress
import itertools

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
EXPOSURE_KINDS = ("Ingress", "Route", "HTTPRoute", "TLSRoute")
POD_CIDR = ipaddress.ip_network("10.244.0.0/16")
REPLICAS = 2


class Pod:
    """One pod: where it runs, its labels, its container ports and what it reads."""

    _addresses = itertools.count(10)

    def __init__(self, namespace, name, labels, spec=None, kind="Pod", origin=""):
        self.namespace = namespace
        self.name = name
        self.labels = dict(labels)
        self.spec = spec or {"containers": []}
        self.kind = kind
        self.origin = origin  # what this pod stands for, for messages
        self.ip = POD_CIDR.network_address + next(Pod._addresses)
        self.ports = []  # (name or None, number, protocol)
        for container in self.spec.get("initContainers", []) + self.spec.get("containers", []):
            for p in container.get("ports", []):
                self.ports.append((p.get("name"), int(p["containerPort"]), p.get("protocol", "TCP")))

    @property
    def key(self):
        """<component>/<sub-chart> from the recommended labels ("?" for foreign pods)."""
        return "%s/%s" % (self.labels.get("app.kubernetes.io/name", "?"), self.labels.get("app.kubernetes.io/component", "?"))

    @property
    def instance(self):
        return self.labels.get("app.kubernetes.io/instance", "")

    def port_number(self, port):
        """A container port given by name or number, as a number (None when the pod has no such name)."""
        if isinstance(port, int) or str(port).isdigit():
            return int(port)
        for name, number, _ in self.ports:
            if name == port:
                return number
        return None

    def __repr__(self):
        return "%s/%s" % (self.namespace, self.name)


class External:
    """An address outside the cluster (an external database, a site service)."""

    def __init__(self, ip, origin):
        self.ip = ipaddress.ip_address(ip)
        self.namespace = None
        self.labels = {}
        self.origin = origin
        self.name = str(ip)

    def __repr__(self):
        return "external %s (%s)" % (self.ip, self.origin)


def decoded(doc):
    """{key: text} of a Secret or ConfigMap (stringData/data/binaryData)."""
    out = {}
    for field in ("stringData",):
        for k, v in (doc.get(field) or {}).items():
            out[k] = str(v)
    for field in ("data", "binaryData"):
        for k, v in (doc.get(field) or {}).items():
            if doc["kind"] == "Secret" or field == "binaryData":
                out[k] = base64.b64decode(v).decode("utf-8", "replace")
            else:
                out[k] = str(v)
    return out


def pod_template(doc):
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]


class Cluster:
    """Everything rendered into one model cluster."""

    def __init__(self):
        self.namespaces = {}  # name -> labels
        self.pods = []
        self.services = []  # (namespace, doc)
        self.secrets = {}  # (namespace, name) -> {key: text}
        self.configmaps = {}
        self.exposures = []  # (namespace, doc)
        self.policies = []  # (namespace, doc)
        self.externals = {}  # address -> External
        self.objects = {}  # (namespace, kind, name) -> origin: a second one would replace the first

    def claim(self, namespace, kind, name, origin):
        """Record an object; two of one kind and name in a namespace are one object on a cluster
        (the later apply replaces the earlier), so the model refuses them."""
        key = (namespace, kind, name)
        if key in self.objects:
            raise ValueError("two objects %s/%s in namespace %s: %s and %s (on a cluster the second replaces the first)"
                             % (kind, name, namespace, self.objects[key], origin))
        self.objects[key] = origin

    def external(self, ip, origin=""):
        """The External at an address (one object per address)."""
        if ip not in self.externals:
            self.externals[ip] = External(ip, origin)
        return self.externals[ip]

    def namespace(self, name, labels=None):
        merged = {"kubernetes.io/metadata.name": name}
        merged.update(labels or {})
        self.namespaces.setdefault(name, {}).update(merged)

    def add(self, namespace, docs, origin=""):
        """Add rendered documents as if installed into namespace."""
        self.namespace(namespace)
        for doc in docs:
            kind, name = doc["kind"], doc["metadata"]["name"]
            self.claim(namespace, kind, name, "%s %s/%s" % (origin, kind, name))
            if kind in WORKLOAD_KINDS:
                # Two replicas, so that a workload talking to its own Service (another replica) is a
                # connection between two pods, as on a cluster.
                template = pod_template(doc)
                for replica in range(REPLICAS):
                    self.pods.append(Pod(namespace, "%s-%d" % (name, replica), template.get("metadata", {}).get("labels", {}),
                                         template["spec"], kind, "%s %s/%s" % (origin, kind, name)))
            elif kind == "Service":
                self.services.append((namespace, doc))
            elif kind == "Secret":
                self.secrets[(namespace, name)] = decoded(doc)
            elif kind == "ConfigMap":
                self.configmaps[(namespace, name)] = decoded(doc)
            elif kind in EXPOSURE_KINDS:
                self.exposures.append((namespace, doc))
            elif kind == "NetworkPolicy":
                self.policies.append((namespace, doc))

    def add_pod(self, namespace, name, labels, ports=(), origin=""):
        """A pod that is not ours (an ingress controller, kube-dns, an intruder)."""
        self.namespace(namespace)
        spec = {"containers": [{"name": "c", "ports": [{"name": n, "containerPort": p, "protocol": proto}
                                                         for n, p, proto in ports]}]}
        pod = Pod(namespace, name, labels, spec, "Pod", origin or name)
        self.claim(namespace, "Pod", name, origin or name)
        self.pods.append(pod)
        return pod

    def service(self, namespace, name):
        for ns, doc in self.services:
            if ns == namespace and doc["metadata"]["name"] == name:
                return doc
        return None

    def selected(self, namespace, selector):
        """Pods of a namespace whose labels include a Service's selector."""
        return [p for p in self.pods if p.namespace == namespace and selector
                and all(p.labels.get(k) == v for k, v in selector.items())]

    def service_backends(self, namespace, name, port):
        """[(pod, pod port number)] behind Service port (name or number) of Service name."""
        doc = self.service(namespace, name)
        if doc is None:
            return None
        for p in doc["spec"].get("ports", []):
            if port in (p.get("name"), p["port"]) or str(port) == str(p["port"]):
                target = p.get("targetPort", p["port"])
                out = []
                for pod in self.selected(namespace, doc["spec"].get("selector") or {}):
                    number = pod.port_number(target)
                    if number is not None:
                        out.append((pod, number, p.get("protocol", "TCP")))
                return out
        return None
