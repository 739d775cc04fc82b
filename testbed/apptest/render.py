"""Render the charts the way panda-install does and index what a pod sees.

panda-install --template runs, per component, `helm template <affixed comp> helm/<comp>
-f values/<exp>/<comp>.yaml --set-string global.affix=<affix> --set-string
global.secretsRelease=<affixed secrets> --set global.cric.real=<cric.real>` and, for the
secrets chart, `helm template <affixed secrets> secrets/ -f <secrets values> --set-string
affix=<affix>` (src/plan.rs). This module builds the same argument vectors and runs helm
directly, so the tests need neither the Rust build nor a cluster.
"""
import base64
import os
import re
import subprocess

import yaml

COMPONENTS = ["msgsvc", "iam", "panda", "harvester", "idds", "bigmon"]
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


def affixed(affix, name):
    if affix.startswith("-"):
        return name + affix
    return affix + name


def experiments(root):
    base = os.path.join(root, "values")
    return sorted(d for d in os.listdir(base) if os.path.isdir(os.path.join(base, d)))


def helm_binaries():
    """{major: path} for the helm binaries given by PANDA_INSTALL_HELM / PANDA_INSTALL_HELM3."""
    found = {}
    for var in ("PANDA_INSTALL_HELM", "PANDA_INSTALL_HELM3"):
        path = os.environ.get(var)
        if not path:
            continue
        out = subprocess.run([path, "version", "--short"], capture_output=True, text=True, check=True).stdout
        major = re.match(r"v(\d+)", out.strip()).group(1)
        found[major] = path
    return found


def _run(helm, args):
    proc = subprocess.run([helm] + args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError("helm %s failed:\n%s" % (" ".join(args[:3]), proc.stderr.strip()))
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def secrets_args(root, affix, secrets_values, extra=()):
    return ["template", affixed(affix, "secrets"), os.path.join(root, "secrets"),
            "-f", secrets_values, "--set-string", "affix=%s" % affix] + list(extra)


def component_args(root, component, experiment, affix, cric_real, extra=()):
    args = ["template", affixed(affix, component), os.path.join(root, "helm", component)]
    # as panda-install layers them: the experiment file first, then the component's own
    for values in (os.path.join(root, "values", experiment, "experiment.yaml"),
                   os.path.join(root, "values", experiment, component + ".yaml")):
        if os.path.exists(values):
            args += ["-f", values]
    args += ["--set-string", "global.affix=%s" % affix,
             "--set-string", "global.secretsRelease=%s" % affixed(affix, "secrets"),
             "--set", "global.cric.real=%s" % ("true" if cric_real else "false")]
    return args + list(extra)


def cric_real_of(secrets_values):
    with open(secrets_values) as handle:
        doc = yaml.safe_load(handle) or {}
    real = (doc.get("cric") or {}).get("real")
    return True if real is None else bool(real)


class Rendered:
    """Every object of one experiment (secrets release + all components) rendered by one helm."""

    def __init__(self, experiment, helm_major, docs, affix):
        self.experiment = experiment
        self.helm_major = helm_major
        self.affix = affix
        self.docs = docs
        self.by_kind = {}
        for doc in docs:
            self.by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc

    def get(self, kind, name):
        return self.by_kind.get(kind, {}).get(name)

    def secret_data(self, name):
        """Decoded {key: text} of a rendered Secret, or None when it is not rendered."""
        obj = self.get("Secret", name)
        if obj is None:
            return None
        data = {k: str(v) for k, v in (obj.get("stringData") or {}).items()}
        for k, v in (obj.get("data") or {}).items():
            data[k] = base64.b64decode(v).decode("utf-8", "replace")
        return data

    def configmap_data(self, name):
        obj = self.get("ConfigMap", name)
        if obj is None:
            return None
        data = dict(obj.get("data") or {})
        for k, v in (obj.get("binaryData") or {}).items():
            data[k] = base64.b64decode(v).decode("utf-8", "replace")
        return data

    def workloads(self):
        for kind in WORKLOAD_KINDS:
            for name, obj in sorted(self.by_kind.get(kind, {}).items()):
                yield Workload(self, obj)


def render_experiment(root, helm, experiment, secrets_values, affix="test-", components=COMPONENTS,
                      extra_secrets=(), extra_component=None):
    cric_real = cric_real_of(secrets_values)
    docs = _run(helm, secrets_args(root, affix, secrets_values, extra_secrets))
    for component in components:
        extra = (extra_component or {}).get(component, ())
        docs += _run(helm, component_args(root, component, experiment, affix, cric_real, extra))
    major = re.match(r"v(\d+)", subprocess.run([helm, "version", "--short"], capture_output=True,
                                                text=True).stdout.strip()).group(1)
    return Rendered(experiment, major, docs, affix)


VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


class Workload:
    """A rendered workload: its pod spec and, per container, what the container sees."""

    def __init__(self, rendered, obj):
        self.rendered = rendered
        self.obj = obj
        self.kind = obj["kind"]
        self.name = obj["metadata"]["name"]
        spec = obj["spec"]
        if self.kind == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        self.template = spec["template"]
        self.pod = self.template["spec"]
        labels = self.template["metadata"].get("labels", {})
        self.chart = labels.get("app.kubernetes.io/name", "")
        self.component = labels.get("app.kubernetes.io/component", "")
        self.volumes = {v["name"]: v for v in self.pod.get("volumes", [])}
        self.claim_templates = {t["metadata"]["name"] for t in obj["spec"].get("volumeClaimTemplates", [])}

    def label(self):
        return "%s/%s (%s %s, helm %s)" % (self.kind, self.name, self.chart, self.component,
                                           self.rendered.helm_major)

    def containers(self):
        return self.pod.get("containers", [])

    def container(self, name):
        for c in self.pod.get("containers", []) + self.pod.get("initContainers", []):
            if c["name"] == name:
                return c
        return None

    def security(self, container):
        """Effective runAsUser/runAsGroup/fsGroup: container settings override the pod's."""
        pod = self.pod.get("securityContext") or {}
        ctr = container.get("securityContext") or {}
        out = {}
        for key in ("runAsUser", "runAsGroup", "runAsNonRoot", "readOnlyRootFilesystem"):
            out[key] = ctr.get(key, pod.get(key))
        out["fsGroup"] = pod.get("fsGroup")
        return out

    def env(self, container):
        """{name: (value or None, origin)}: envFrom first, then env; $(VAR) expanded as the kubelet does.
        value None = the referenced Secret/ConfigMap or key is not rendered (unknown here)."""
        out = {}
        for source in container.get("envFrom", []):
            prefix = source.get("prefix", "")
            if "secretRef" in source:
                name = source["secretRef"]["name"]
                data = self.rendered.secret_data(name)
                origin = "Secret %s" % name
            else:
                name = source["configMapRef"]["name"]
                data = self.rendered.configmap_data(name)
                origin = "ConfigMap %s" % name
            if data is None:
                out.setdefault("__missing__", []).append(origin)
                continue
            for k, v in data.items():
                out[prefix + k] = (v, origin)
        for item in container.get("env", []):
            name = item["name"]
            if "value" in item:
                value = VAR_REF.sub(lambda m: out[m.group(1)][0] if m.group(1) in out and out[m.group(1)][0] is not None
                                    else m.group(0), str(item["value"]))
                out[name] = (value, "env")
            else:
                ref = item.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    data = self.rendered.secret_data(ref["secretKeyRef"]["name"]) or {}
                    out[name] = (data.get(ref["secretKeyRef"]["key"]), "Secret %s key %s" % (
                        ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"]))
                elif "configMapKeyRef" in ref:
                    data = self.rendered.configmap_data(ref["configMapKeyRef"]["name"]) or {}
                    out[name] = (data.get(ref["configMapKeyRef"]["key"]), "ConfigMap %s key %s" % (
                        ref["configMapKeyRef"]["name"], ref["configMapKeyRef"]["key"]))
                else:
                    out[name] = ("<runtime>", "fieldRef")
        return out

    def _source_files(self, volume):
        """(kind, {file name: content or None}, writable) of a volume; None for emptyDir/claims."""
        if "configMap" in volume:
            data = self.rendered.configmap_data(volume["configMap"]["name"])
            return self._items(volume["configMap"], data), False
        if "secret" in volume:
            data = self.rendered.secret_data(volume["secret"]["secretName"])
            return self._items(volume["secret"], data), False
        if "projected" in volume:
            files = {}
            for src in volume["projected"]["sources"]:
                if "configMap" in src:
                    files.update(self._items(src["configMap"], self.rendered.configmap_data(src["configMap"]["name"])) or {})
                elif "secret" in src:
                    files.update(self._items(src["secret"], self.rendered.secret_data(src["secret"]["name"])) or {})
            return files, False
        return None, True

    @staticmethod
    def _items(ref, data):
        if data is None:
            return {}
        if ref.get("items"):
            return {i["path"]: data.get(i["key"]) for i in ref["items"]}
        return dict(data)

    def mounts(self, container):
        """[(mountPath, volume name, files or None, writable, subPath)] sorted by path depth."""
        out = []
        for m in container.get("volumeMounts", []):
            name = m["name"]
            volume = self.volumes.get(name)
            if volume is None and name in self.claim_templates:
                volume = {"name": name, "persistentVolumeClaim": {"claimName": "<template>"}}
            if volume is None:
                out.append((m["mountPath"], name, None, False, m.get("subPath")))
                continue
            files, writable = self._source_files(volume)
            if files is not None and m.get("subPath"):
                sub = m["subPath"]
                files = {"": files.get(sub)} if sub in files else {}
            out.append((m["mountPath"].rstrip("/") or "/", name, files, writable and not m.get("readOnly", False),
                        m.get("subPath")))
        return sorted(out, key=lambda t: t[0].count("/"))

    def file_at(self, container, path):
        """What the container finds at path from its mounts: ("file", content, mount) for a
        ConfigMap/Secret key, ("dir", None, mount) for a path inside a writable volume,
        (None, None, None) when no mount provides it (the image's own file system)."""
        best = None
        for mount in self.mounts(container):
            mpath = mount[0]
            if path == mpath or path.startswith(mpath.rstrip("/") + "/"):
                best = mount
        if best is None:
            return None, None, None
        mpath, _name, files, writable, sub = best
        rel = path[len(mpath):].lstrip("/")
        if files is None:
            return ("dir" if writable else "volume"), None, best
        if sub is not None and rel == "":
            return ("file", files.get(""), best) if "" in files else ("missing", None, best)
        if rel in files:
            return "file", files[rel], best
        if rel == "":
            return "dir", None, best
        return "missing", None, best
