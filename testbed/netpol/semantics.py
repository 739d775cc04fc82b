"""NetworkPolicy semantics (networking.k8s.io/v1), evaluated on rendered objects.

A connection src -> dst:port/protocol is allowed when
  - src is not selected by any policy of its namespace with policyType Egress, or one such policy
    has an egress rule whose `to` is empty or has a peer matching dst and whose `ports` are empty or
    match the port; and
  - the same holds for dst with Ingress, `from` peers matching src.
Peers: ipBlock (address in cidr and in no except), namespaceSelector (labels of src/dst's namespace;
without it, the policy's own namespace) and podSelector (pod labels; without it, every pod). A
namespaceSelector or podSelector never matches an address outside the cluster. Named ports resolve
against the destination pod's container ports. policyTypes defaults to Ingress, plus Egress when
the spec has egress rules. A pod never blocks itself (not asked here: src and dst are distinct).
"""
import ipaddress

from model import External


def selector_matches(selector, labels):
    """A label selector against a label map; {} matches everything."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and not (key in labels and labels[key] in values):
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def peer_matches(cluster, peer, policy_namespace, other):
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        net = ipaddress.ip_network(block["cidr"], strict=False)
        if other.ip.version != net.version or other.ip not in net:
            return False
        return not any(other.ip in ipaddress.ip_network(e, strict=False) for e in block.get("except") or []
                       if ipaddress.ip_network(e, strict=False).version == other.ip.version)
    if isinstance(other, External):
        return False
    ns_selector = peer.get("namespaceSelector")
    if ns_selector is None:
        if other.namespace != policy_namespace:
            return False
    elif not selector_matches(ns_selector, cluster.namespaces.get(other.namespace, {})):
        return False
    pod_selector = peer.get("podSelector")
    return pod_selector is None or selector_matches(pod_selector, other.labels)


def port_matches(ports, dst, port, protocol):
    if not ports:
        return True
    for p in ports:
        if p.get("protocol", "TCP") != protocol:
            continue
        if "port" not in p:
            return True
        value = p["port"]
        if isinstance(value, str) and not value.isdigit():
            if not isinstance(dst, External) and any(n == value and num == port and pr == protocol for n, num, pr in dst.ports):
                return True
            continue
        low = int(value)
        if low <= port <= int(p.get("endPort", low)):
            return True
    return False


def policy_types(spec):
    if spec.get("policyTypes"):
        return spec["policyTypes"]
    return ["Ingress"] + (["Egress"] if "egress" in spec else [])


class Evaluator:
    """Answers allowed(src, dst, port, protocol) for one Cluster; caches which policies select a pod."""

    def __init__(self, cluster):
        self.cluster = cluster
        self._selecting = {}

    def selecting(self, pod, direction):
        key = (id(pod), direction)
        if key not in self._selecting:
            self._selecting[key] = [(ns, doc) for ns, doc in self.cluster.policies
                                    if ns == pod.namespace and direction in policy_types(doc["spec"])
                                    and selector_matches(doc["spec"].get("podSelector") or {}, pod.labels)]
        return self._selecting[key]

    def _side(self, pod, other, direction, dst, port, protocol):
        policies = self.selecting(pod, direction)
        if not policies:
            return True
        field, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
        for ns, doc in policies:
            for rule in doc["spec"].get(field) or []:
                peers = rule.get(peers_key)
                if peers and not any(peer_matches(self.cluster, p, ns, other) for p in peers):
                    continue
                if port_matches(rule.get("ports"), dst, port, protocol):
                    return True
        return False

    def allowed(self, src, dst, port, protocol="TCP"):
        if not isinstance(src, External) and not self._side(src, dst, "Egress", dst, port, protocol):
            return False
        if not isinstance(dst, External) and not self._side(dst, src, "Ingress", dst, port, protocol):
            return False
        return True
