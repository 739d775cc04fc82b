"""global.networkPolicy over the library's defaults: a key of dns or apiServer left out keeps its
default (dns.to alone must not open every port on the new DNS peer, as it did before: found on the
real node, where the API server listens on the DNS address)."""
import render
from render import Failure, check

BED_DNS = ['--set-json', 'global.networkPolicy.dns={"to": [{"ipBlock": {"cidr": "10.244.0.1/32"}}]}']


def dns_rules(docs):
    """Every egress rule of every NetworkPolicy whose peers name the given DNS address."""
    rules = []
    for doc in docs:
        if doc.get("kind") != "NetworkPolicy":
            continue
        for rule in doc["spec"].get("egress", []):
            if any(peer.get("ipBlock", {}).get("cidr") == "10.244.0.1/32" for peer in rule.get("to", [])):
                rules.append((doc["metadata"]["name"], rule))
    return rules


@check
def dns_to_alone_keeps_the_dns_ports(helm4, helm3):
    for helm in (helm4, helm3):
        for component in ("panda", "idds"):
            rules = dns_rules(render.template(helm, component, "dev", extra=BED_DNS))
            if not rules:
                raise Failure(f"{helm} {component}: no egress rule to the DNS peer that was set")
            for name, rule in rules:
                ports = sorted((p.get("port"), p.get("protocol")) for p in rule.get("ports", []))
                if ports != [(53, "TCP"), (53, "UDP")]:
                    raise Failure(f"{helm} {component}: {name} opens {ports or 'every port'} to the DNS peer")
    return "dns.to alone: port 53 UDP/TCP kept (panda, idds; helm 4 and 3)"
