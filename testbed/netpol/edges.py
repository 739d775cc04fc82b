"""The connections an installation needs, derived from what is rendered, never from the policies.

- Secrets (and the ConfigMaps and env values a pod reads): every in-cluster host the secrets chart
  writes (secrets/templates/_helpers.tpl: Service names, `host:port`, URLs, `*_HOST` with a sibling
  `*_PORT`) is resolved through the rendered Service to the pods behind it and their container port;
  every IPv4 literal is an external address the pod must reach.
- Exposure objects (Ingress, Route, HTTPRoute, TLSRoute): the controller of that kind reaches the
  backend Service's pods on the target port.
- Headless Services: a port only a headless Service publishes is the pods' own peer port (iDDS' NATS).
- Every pod resolves names (the cluster DNS pods, on their ports); a pod with a service-account token talks to
  the API server.

An Edge is (source pod, destination pod or External, port number, protocol, why).
"""
import collections
import ipaddress
import re

Edge = collections.namedtuple("Edge", "src dst port protocol why")

# Keys that name hosts without connecting to them: the proxy bypass lists, and the PanDA server's own
# name (httpd ServerName and the CN of its fallback certificate, helm/panda/charts/server), and the
# store a migrate-data Job copies (src/plan/migrate: "iam-mariadb" names the store, its DB_HOST the host).
IGNORED_KEYS = {"no_proxy", "NO_PROXY", "PANDA_SERVER_CONF_SERVERNAME", "STORE"}
DEFAULT_PORTS = {"http": 80, "https": 443}
# Host keys without a port key beside them: harvester-envs has HARVESTER_DB_HOST only (Harvester
# connects to MariaDB's default port, the port of the in-cluster <harvester>-mariadb Service).
PORTLESS_HOSTS = {"HARVESTER_DB_HOST": 3306}
IPV4 = re.compile(r"(?<![\w.])((?:\d{1,3}\.){3}\d{1,3})(?::(\d+))?(?![\w.])")


class DerivationError(Exception):
    """A reference the derivation cannot resolve (a wiring bug or a gap in this test)."""


def _sources(cluster, pod):
    """[(origin, {key: text})]: every Secret/ConfigMap the pod reads, whole, and each container's env."""
    ns = pod.namespace
    out = []
    seen = set()

    def add(kind, name, keys=None):
        store = cluster.secrets if kind == "Secret" else cluster.configmaps
        data = store.get((ns, name))
        if data is None:
            return
        if keys is None:
            if (kind, name) in seen:
                return
            seen.add((kind, name))
            out.append(("%s %s" % (kind, name), data))
        else:
            out.append(("%s %s keys %s" % (kind, name, ",".join(keys)), {k: data[k] for k in keys if k in data}))

    spec = pod.spec
    for container in spec.get("initContainers", []) + spec.get("containers", []):
        env = {}
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                add("Secret", source["secretRef"]["name"])
            elif "configMapRef" in source:
                add("ConfigMap", source["configMapRef"]["name"])
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = str(item["value"])
            ref = item.get("valueFrom", {})
            for kind, field in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                if field in ref:
                    store = cluster.secrets if kind == "Secret" else cluster.configmaps
                    value = (store.get((ns, ref[field]["name"])) or {}).get(ref[field]["key"])
                    if value is not None:
                        env[item["name"]] = value
        if env:
            out.append(("env of container %s" % container["name"], env))
    for volume in spec.get("volumes", []):
        if "secret" in volume:
            add("Secret", volume["secret"]["secretName"])
        elif "configMap" in volume:
            add("ConfigMap", volume["configMap"]["name"])
        elif "projected" in volume:
            for src in volume["projected"].get("sources", []):
                if "secret" in src:
                    add("Secret", src["secret"]["name"])
                elif "configMap" in src:
                    add("ConfigMap", src["configMap"]["name"])
    return out


def _host_pattern(names):
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    # A Service name after a URL scheme (and user info), or standing alone (not inside a word, a
    # dotted name or a path such as /etc/rc.d/init.d/panda-jedi); optionally qualified (.ns, .ns.svc,
    # .ns.svc.cluster.local) and followed by :port.
    return re.compile(r"(?:(?P<scheme>[a-z][a-z0-9+.-]*)://(?:[^@/\s]*@)?|(?<![\w./-]))(?P<host>%s)"
                      r"(?:\.[a-z0-9-]+)*(?::(?P<port>\d+))?(?![\w-])" % alternatives)


def _sibling_port(data, key):
    if key.endswith("HOST"):
        value = data.get(key[:-4] + "PORT")
        if value is not None and str(value).strip().isdigit():
            return int(value)
    return None


def secret_edges(cluster, pods, instance_hosts=()):
    """Edges from what each of pods reads. instance_hosts: in-cluster names the instance may refer to
    (every <affixed component>-<sub>); one that is referenced but not rendered fails the derivation."""
    edges, problems, external_names = [], [], set()
    by_ns = collections.defaultdict(list)
    for ns, doc in cluster.services:
        by_ns[ns].append(doc["metadata"]["name"])
    for pod in pods:
        names = set(by_ns[pod.namespace]) | set(instance_hosts)
        pattern = _host_pattern(names)
        for origin, data in _sources(cluster, pod):
            for key, text in sorted(data.items()):
                if key in IGNORED_KEYS:
                    continue
                for m in pattern.finditer(text):
                    host = m.group("host")
                    port = m.group("port")
                    if port is not None:
                        port = int(port)
                    elif m.group("scheme"):
                        port = DEFAULT_PORTS.get(m.group("scheme"))
                        if port is None:
                            problems.append("%s: %s %s: %s without a port" % (pod, origin, key, m.group(0)))
                            continue
                    else:
                        port = _sibling_port(data, key)
                    doc = cluster.service(pod.namespace, host)
                    if doc is None:
                        problems.append("%s: %s %s names %s, which is not rendered in %s" % (pod, origin, key, host, pod.namespace))
                        continue
                    if port is None:
                        ports = doc["spec"].get("ports", [])
                        if len(ports) != 1:
                            problems.append("%s: %s %s names %s without a port and the Service has %d" % (pod, origin, key, host, len(ports)))
                            continue
                        port = ports[0]["port"]
                    backends = cluster.service_backends(pod.namespace, host, port)
                    if backends is None:
                        problems.append("%s: %s %s: Service %s has no port %s" % (pod, origin, key, host, port))
                        continue
                    for dst, number, proto in backends:
                        edges.append(Edge(pod, dst, number, proto, "%s %s -> %s:%s" % (origin, key, host, port)))
                for m in IPV4.finditer(text):
                    ip = ipaddress.ip_address(m.group(1))
                    if ip.is_loopback or ip.is_unspecified:
                        continue
                    port = int(m.group(2)) if m.group(2) else (_sibling_port(data, key) or PORTLESS_HOSTS.get(key))
                    if port is None:
                        problems.append("%s: %s %s: address %s without a port" % (pod, origin, key, ip))
                        continue
                    edges.append(Edge(pod, cluster.external(str(ip), "%s %s" % (origin, key)), port, "TCP",
                                      "%s %s -> %s:%d" % (origin, key, ip, port)))
                for m in re.finditer(r"(?:https?|[a-z+]+)://(?:[^@/\s]*@)?([a-z0-9.-]+\.[a-z]{2,})", text):
                    external_names.add(m.group(1))
    return edges, problems, external_names


def exposure_edges(cluster, controllers):
    """Edges from the controller pods of each exposure kind ({"ingress": [pods], ...}) to backends."""
    edges, problems = [], []
    kinds = {"Ingress": "ingress", "Route": "route", "HTTPRoute": "gateway", "TLSRoute": "gateway"}
    for ns, doc in cluster.exposures:
        kind = doc["kind"]
        refs = []
        if kind == "Ingress":
            for rule in doc["spec"].get("rules", []):
                for path in rule.get("http", {}).get("paths", []):
                    svc = path["backend"]["service"]
                    refs.append((svc["name"], svc["port"].get("name", svc["port"].get("number"))))
        elif kind == "Route":
            refs.append((doc["spec"]["to"]["name"], doc["spec"]["port"]["targetPort"]))
        else:
            for rule in doc["spec"].get("rules", []):
                for ref in rule.get("backendRefs", []):
                    refs.append((ref["name"], ref["port"]))
        for service, port in refs:
            backends = cluster.service_backends(ns, service, port)
            if backends is None:
                problems.append("%s %s/%s: backend %s:%s is not a rendered Service port" % (kind, ns, doc["metadata"]["name"], service, port))
                continue
            for src in controllers[kinds[kind]]:
                for dst, number, proto in backends:
                    edges.append(Edge(src, dst, number, proto, "%s %s -> %s:%s" % (kind, doc["metadata"]["name"], service, port)))
    return edges, problems


def peer_edges(cluster):
    """A port only a headless Service publishes: the selected pods talk to each other on it."""
    edges = []
    for ns, doc in cluster.services:
        if doc["spec"].get("clusterIP") != "None":
            continue
        selector = doc["spec"].get("selector") or {}
        published = set()
        for ns2, other in cluster.services:
            if ns2 == ns and other["spec"].get("clusterIP") != "None" and other["spec"].get("selector") == selector:
                published |= {str(p.get("targetPort", p["port"])) for p in other["spec"]["ports"]}
        for p in doc["spec"]["ports"]:
            if str(p.get("targetPort", p["port"])) in published:
                continue
            pods = cluster.selected(ns, selector)
            for src in pods:
                for dst in pods:
                    number = dst.port_number(p.get("targetPort", p["port"]))
                    edges.append(Edge(src, dst, number, p.get("protocol", "TCP"),
                                      "headless Service %s port %s (peers)" % (doc["metadata"]["name"], p["port"])))
    return edges


def platform_edges(cluster, pods, dns_pods, api_server):
    """DNS for every pod; the API server for pods that mount a service-account token."""
    edges = []
    for pod in pods:
        for dns in dns_pods:
            for _, port, proto in dns.ports:
                edges.append(Edge(pod, dns, port, proto, "name resolution"))
        if pod.spec.get("automountServiceAccountToken"):
            edges.append(Edge(pod, api_server, 6443, "TCP", "service-account token: the API server"))
    return edges
