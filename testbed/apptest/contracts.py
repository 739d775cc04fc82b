"""Check the image contracts (contracts/*.yaml) against what the charts render.

Every experiment under values/ is rendered with each helm major found (PANDA_INSTALL_HELM,
PANDA_INSTALL_HELM3), plus the variants below; each fact of each contract is checked against every
workload the contract names. A failure names the workload, the contract file and line, and the
fact's source (repository, path, commit).

Fact kinds (see contracts/README.md): tag, user, port, env, file, copied, writable, script,
probe, configRefs, jsonKeys, consumerEnv.
"""
import json
import os
import re
import sys

import yaml

import render

HEX40 = re.compile(r"^[0-9a-f]{40}$")


# ---------------------------------------------------------------- loading with line numbers
class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node):
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _clean(node):
    """Remove the line markers of nested mappings."""
    if isinstance(node, dict):
        node.pop("__line__", None)
        for value in node.values():
            _clean(value)
    elif isinstance(node, list):
        for item in node:
            _clean(item)
    return node


class Contract:
    def __init__(self, path):
        self.path = path
        self.file = os.path.basename(path)
        with open(path) as handle:
            self.doc = yaml.load(handle, Loader=_LineLoader)
        self.doc["sources"].pop("__line__", None)
        for item in list(self.doc["facts"]) + list(self.doc["sources"].values()):
            line = item["__line__"]
            _clean(item)
            item["__line__"] = line
        _clean(self.doc["workloads"])
        self.image = self.doc["image"]
        self.sources = self.doc["sources"]
        self.workloads = self.doc["workloads"]
        self.facts = self.doc["facts"]

    def problems(self):
        """Contract self-check: every fact has a resolvable source with repo, path and commit."""
        out = []
        for name, src in self.sources.items():
            for key in ("repo", "path", "commit"):
                if not src.get(key):
                    out.append("%s:%s: source %s lacks %s" % (self.file, src["__line__"], name, key))
            if src.get("commit") and not HEX40.match(str(src["commit"])):
                out.append("%s:%s: source %s: commit is not 40 hex digits" % (self.file, src["__line__"], name))
        for fact in self.facts:
            if fact.get("source") not in self.sources:
                out.append("%s:%s: fact %s: unknown source %r" % (self.file, fact["__line__"], fact.get("id"),
                                                                   fact.get("source")))
            if not fact.get("says"):
                out.append("%s:%s: fact %s: no 'says' (what the source states)" % (self.file, fact["__line__"],
                                                                                   fact.get("id")))
        return out

    def cite(self, fact):
        src = self.sources[fact["source"]]
        return "%s %s@%s" % (src["repo"], src["path"], str(src["commit"])[:12])


def load_contracts(root):
    base = os.path.join(root, "contracts")
    return [Contract(os.path.join(base, f)) for f in sorted(os.listdir(base)) if f.endswith(".yaml")]


# ---------------------------------------------------------------- helpers
def version_key(tag):
    return [int(x) if x.isdigit() else x for x in re.split(r"[.\-]", tag.lstrip("v"))]


def in_range(tag, spec):
    """spec: {min, max} (inclusive min, exclusive max) or {exact: [..]}."""
    if "exact" in spec:
        return tag in spec["exact"]
    key = version_key(tag)
    if "min" in spec and key < version_key(str(spec["min"])):
        return False
    if "below" in spec and not key < version_key(str(spec["below"])):
        return False
    return True


def scripts_of(workload, container):
    """The text the container runs: command, args and every sandbox script they may call."""
    parts = [" ".join(container.get("command") or []), " ".join(str(a) for a in container.get("args") or [])]
    for mount in workload.mounts(container):
        files = mount[2]
        if files:
            for name, content in files.items():
                if content and (name.endswith(".sh") or name.startswith("start") or name.startswith("init")
                                or name.startswith("prepare") or name in ("run-harvester-crons", "setup-harvester")):
                    parts.append(content)
    return "\n".join(parts)


def condition_holds(fact, env):
    when = fact.get("when") or {}
    for name, value in (when.get("env") or {}).items():
        if (env.get(name) or (None,))[0] != value:
            return False
    for name, pattern in (when.get("envMatches") or {}).items():
        if not re.search(pattern, (env.get(name) or ("",))[0] or ""):
            return False
    return True


DOLLAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def string_values(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from string_values(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from string_values(v)
    elif isinstance(obj, str):
        yield obj


# ---------------------------------------------------------------- fact checks
def check_fact(contract, fact, workload, container, env):
    """None when the fact holds, else a sentence saying what is wrong."""
    kind = fact["kind"]
    if kind == "tag":
        repo, _, tag = container["image"].partition("@")[0].rpartition(":")
        if repo not in fact.get("repositories", [contract.image]):
            return "image %s is not %s" % (container["image"], " or ".join(fact.get("repositories", [contract.image])))
        if not in_range(tag, fact["tags"]):
            return "tag %s outside %s" % (tag, fact["tags"])
        return None
    if kind == "user":
        sec = workload.security(container)
        uid, gid = sec["runAsUser"], sec["runAsGroup"]
        if uid is None:
            if not fact.get("anyUid"):
                return "runAsUser is unset (platform-assigned) but the image needs uid %s" % fact["uid"]
            return None
        if uid == 0:
            return "runs as root"
        if uid != fact["uid"] and not fact.get("anyUid"):
            return "runAsUser %s, the image's user is %s" % (uid, fact["uid"])
        if gid is not None and "gid" in fact and gid != fact["gid"] and not fact.get("anyUid"):
            return "runAsGroup %s, the image's group is %s" % (gid, fact["gid"])
        if sec.get("readOnlyRootFilesystem") and fact.get("writesImageFs"):
            return "readOnlyRootFilesystem but the image writes %s" % fact["writesImageFs"]
        return None
    if kind == "port":
        ports = {p["containerPort"]: p.get("name") for p in container.get("ports", [])}
        if fact["port"] not in ports:
            return "containerPort %s is not declared (declared: %s)" % (fact["port"], sorted(ports))
        return None
    if kind == "env":
        name = fact["name"]
        if "__missing__" in env:
            return "envFrom source(s) not rendered: %s" % ", ".join(env["__missing__"])
        if name not in env:
            return "%s is not set" % name
        value = env[name][0]
        if value is None:
            return "%s comes from %s, which is not rendered" % (name, env[name][1])
        if fact.get("nonEmpty") and value == "":
            return "%s is empty (from %s)" % (name, env[name][1])
        if "equals" in fact and value != str(fact["equals"]):
            return "%s is %r, must be %r" % (name, value, fact["equals"])
        if "oneOf" in fact and value not in [str(x) for x in fact["oneOf"]]:
            return "%s is %r, must be one of %s" % (name, value, fact["oneOf"])
        if "matches" in fact and not re.search(fact["matches"], value):
            return "%s=%r does not match %s" % (name, value, fact["matches"])
        if "notMatches" in fact and re.search(fact["notMatches"], value):
            return "%s contains a character the image cannot handle (%s)" % (name, fact["notMatches"])
        return None
    if kind == "file":
        what, content, _mount = workload.file_at(container, fact["path"])
        if what == "file" and (content or fact.get("allowEmpty")):
            return None
        generated = fact.get("orGeneratedBy")
        if generated and generated in scripts_of(workload, container):
            where = fact.get("generatedIn")
            if not where or workload.file_at(container, where)[0] == "dir":
                return None
        if what in ("file",):
            return "%s is empty" % fact["path"]
        if what is None:
            return "%s is not provided by any mount" % fact["path"]
        return "%s is missing from mount %s" % (fact["path"], _mount[0] if _mount else "?")
    if kind == "copied":
        # the image reads <target>/<name>; our start script copies <from>/<name> or renders <name>.template
        for name in fact["names"]:
            found = False
            for candidate in (name, name + ".template"):
                what, _c, _m = workload.file_at(container, os.path.join(fact["from"], candidate))
                if what == "file":
                    found = True
            if not found:
                return "%s/%s: neither %s nor %s.template is in %s" % (fact["target"], name, name, name, fact["from"])
        if fact.get("copyCommand") and fact["copyCommand"] not in scripts_of(workload, container):
            return "the start script does not copy %s to %s (%r not found)" % (fact["from"], fact["target"],
                                                                               fact["copyCommand"])
        return None
    if kind == "writable":
        what, _c, mount = workload.file_at(container, fact["path"])
        if what == "dir":
            return None
        if what is None and fact.get("imageWritable"):
            if workload.security(container).get("readOnlyRootFilesystem"):
                return "%s is on the image file system, which is read-only here" % fact["path"]
            return None
        if what is None:
            return "%s is not on a writable volume" % fact["path"]
        return "%s is shadowed by the read-only mount %s" % (fact["path"], mount[0])
    if kind == "script":
        text = scripts_of(workload, container)
        for needle in fact["contains"]:
            if needle not in text:
                return "start-up does not contain %r" % needle
        return None
    if kind == "probe":
        probe = container.get(fact["probe"])
        if not probe:
            return "no %s" % fact["probe"]
        if "port" in fact:
            target = (probe.get("tcpSocket") or probe.get("httpGet") or {}).get("port")
            ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
            number = ports.get(target, target)
            if number != fact["port"]:
                return "%s targets port %s (%s), the image serves %s" % (fact["probe"], target, number, fact["port"])
        if "path" in fact and (probe.get("httpGet") or {}).get("path") != fact["path"]:
            return "%s path is %s, the image answers %s" % (fact["probe"], (probe.get("httpGet") or {}).get("path"),
                                                            fact["path"])
        if "execContains" in fact:
            cmd = " ".join((probe.get("exec") or {}).get("command") or [])
            if fact["execContains"] not in cmd:
                return "%s does not run %r" % (fact["probe"], fact["execContains"])
        return None
    if kind in ("configRefs", "jsonKeys"):
        what, content, _m = workload.file_at(container, fact["path"])
        if what != "file" or not content:
            return "%s is not provided" % fact["path"]
        doc = json.loads(content)
        if kind == "jsonKeys":
            keys = list(doc.keys()) if fact.get("level", 1) == 1 else [k for v in doc.values() for k in v]
            bad = [k for k in keys if k not in fact["allowed"]]
            if bad:
                return "%s has keys the image ignores: %s" % (fact["path"], ", ".join(bad))
            for k in fact.get("required", []):
                if k not in keys:
                    return "%s lacks %s" % (fact["path"], k)
            return None
        missing = []
        for text in string_values(doc):
            if fact.get("wholeValue") and not text.startswith("$"):
                continue
            for name in DOLLAR.findall(text):
                if name in fact.get("ignore", []):
                    continue
                if name not in env or env[name][0] is None or (fact.get("nonEmpty") and env[name][0] == ""):
                    missing.append(name)
        if missing:
            return "%s references variables the container lacks: %s" % (fact["path"], ", ".join(sorted(set(missing))))
        return None
    if kind == "consumerEnv":
        return None  # checked per rendering in check_consumers
    raise ValueError("%s:%s: unknown fact kind %s" % (contract.file, fact["__line__"], kind))


def matches(spec, workload, container):
    return (workload.chart == spec["chart"] and workload.component == spec["component"]
            and container["name"] == spec["container"])


def check_consumers(contract, fact, rendered):
    """consumerEnv: workloads that connect to this image's Service must use what the image creates."""
    failures = []
    services = set()
    for workload in rendered.workloads():
        for container in workload.containers():
            if any(matches(s, workload, container) for s in contract.workloads):
                services.add(workload.name)
    for workload in rendered.workloads():
        for spec in fact["consumers"]:
            container = workload.container(spec["container"])
            if container is None or workload.chart != spec["chart"] or workload.component != spec["component"]:
                continue
            env = workload.env(container)
            if not condition_holds(fact, env):
                continue
            host = (env.get(fact["hostVar"]) or (None,))[0]
            if host not in services:
                continue
            for name, expected in fact["expect"].items():
                value = (env.get(name) or (None,))[0]
                ok = (value or "").lower() == str(expected).lower() if fact.get("ignoreCase") else value == str(expected)
                if not ok:
                    failures.append((workload, "%s=%r but %s creates %r" % (name, value, host, expected)))
    return failures


# ---------------------------------------------------------------- driver
class Result:
    def __init__(self):
        self.failures = []
        self.gaps = []
        self.stale_gaps = []
        self.checked = 0

    def add(self, contract, fact, workload, message):
        line = "%s: %s:%s [%s] %s\n      source: %s (%s)" % (
            workload.label() + " exp=" + workload.rendered.experiment, contract.file, fact["__line__"],
            fact["id"], message, contract.cite(fact), fact["says"])
        (self.gaps if fact.get("gap") else self.failures).append(line + ("\n      known gap: " + fact["gap"]
                                                                         if fact.get("gap") else ""))


def check_rendered(contracts, rendered, result, gap_hits):
    for contract in contracts:
        for fact in contract.facts:
            key = (contract.file, fact["id"])
            if fact["kind"] == "consumerEnv":
                result.checked += 1
                for workload, message in check_consumers(contract, fact, rendered):
                    result.add(contract, fact, workload, message)
                continue
            for workload in rendered.workloads():
                for container in workload.containers():
                    specs = [s for s in contract.workloads if matches(s, workload, container)]
                    if not specs:
                        continue
                    if fact.get("only") and not ({workload.component, "%s/%s" % (workload.chart, workload.component)}
                                                 & set(fact["only"])):
                        continue
                    env = workload.env(container)
                    if not condition_holds(fact, env):
                        continue
                    result.checked += 1
                    message = check_fact(contract, fact, workload, container, env)
                    if message:
                        result.add(contract, fact, workload, message)
                        gap_hits.setdefault(key, 0)
                        gap_hits[key] += 1
                    elif fact.get("gap"):
                        gap_hits.setdefault(key, 0)


def coverage(contracts, renderings):
    """Every rendered container must be covered by exactly one contract."""
    out = []
    for rendered in renderings:
        for workload in rendered.workloads():
            for container in workload.containers():
                owners = [c.file for c in contracts for s in c.workloads if matches(s, workload, container)]
                if len(owners) != 1:
                    out.append("%s container %s: covered by %s contracts (%s) exp=%s" % (
                        workload.label(), container["name"], len(owners), ", ".join(owners) or "none",
                        rendered.experiment))
    return sorted(set(out))


def run(root, secrets_values, experiments=None, variants=None, mutate=None):
    contracts = load_contracts(root)
    result = Result()
    problems = [p for c in contracts for p in c.problems()]
    helms = render.helm_binaries()
    if not helms:
        raise SystemExit("contracts: set PANDA_INSTALL_HELM (and PANDA_INSTALL_HELM3) to the helm binaries")
    jobs = [(experiment, major, helm, variant, extra)
            for experiment in experiments or render.experiments(root)
            for major, helm in sorted(helms.items())
            for variant, extra in (variants or {"default": ()}).items()]

    def one(job):
        experiment, _major, helm, variant, extra = job
        rendered = render.render_experiment(root, helm, experiment, secrets_values, extra_secrets=extra)
        rendered.experiment = experiment if variant == "default" else "%s+%s" % (experiment, variant)
        if mutate:
            mutate(rendered)
        return rendered

    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=4) as pool:
        renderings = list(pool.map(one, jobs))
    gap_hits = {}
    for rendered in renderings:
        check_rendered(contracts, rendered, result, gap_hits)
    for contract in contracts:
        for fact in contract.facts:
            if fact.get("gap") and gap_hits.get((contract.file, fact["id"])) == 0:
                result.stale_gaps.append("%s:%s [%s] is marked as a known gap but holds everywhere: remove the "
                                         "gap marker" % (contract.file, fact["__line__"], fact["id"]))
    return contracts, renderings, result, problems, coverage(contracts, renderings)


def main(argv):
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.getcwd())
    parser.add_argument("--secrets", default="secrets/ci/test-values.yaml")
    parser.add_argument("-e", "--experiment", action="append")
    args = parser.parse_args(argv)
    secrets = os.path.join(args.root, args.secrets)
    contracts, renderings, result, problems, uncovered = run(
        args.root, secrets, args.experiment, VARIANTS)
    return report(contracts, renderings, result, problems, uncovered)


# Secrets variants rendered besides the test values: an Oracle PanDA/iDDS backend and CRIC-free mode
# switch on facts with a "when" condition.
VARIANTS = {
    "default": (),
    "oracle": ("--set", "panda.database.backend=oracle", "--set", "idds.database.backend=oracle",
               "--set", "bigmon.deployment=ORACLE_DOMA", "--set", "bigmon.dbAccess=dbaccess_oracle_doma"),
}


def report(contracts, renderings, result, problems, uncovered):
    print("contracts: %d contracts, %d facts, %d renderings (%s), %d fact checks" % (
        len(contracts), sum(len(c.facts) for c in contracts), len(renderings),
        ", ".join(sorted({"helm %s" % r.helm_major for r in renderings})), result.checked))
    for p in problems:
        print("CONTRACT ERROR " + p)
    for u in uncovered:
        print("UNCOVERED " + u)
    for g in sorted(set(result.gaps)):
        print("KNOWN GAP " + g)
    for s in result.stale_gaps:
        print("STALE GAP " + s)
    for f in sorted(set(result.failures)):
        print("FAIL " + f)
    bad = len(problems) + len(uncovered) + len(set(result.failures)) + len(result.stale_gaps)
    print("contracts: %d failed, %d known gaps" % (len(set(result.failures)), len(set(result.gaps))))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
