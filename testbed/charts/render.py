"""Rendering the charts the way panda-install does, with real helm (4 and 3), for the chart checks.

A component is rendered as
  helm template <affix><component> helm/<component> -f values/<exp>/experiment.yaml
       -f values/<exp>/<component>.yaml [-f extra...] --set-string global.affix=<affix>
       --set-string global.secretsRelease=<affixed secrets> --set global.cric.real=<bool> [extra args]
which is the command line the CLI builds (experiment file first, see docs/charts.md).
"""
import atexit
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:  # pragma: no cover - the message is the point
    sys.exit("check-charts: PyYAML is required (pip install -r testbed/charts/requirements.txt)")

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The charts rendered: the checkout's helm/, or a private copy (use_private_charts).
CHARTS = ROOT / "helm"
COMPONENTS = ["msgsvc", "iam", "panda", "harvester", "idds", "bigmon", "ui"]
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "CronJob", "Job", "DaemonSet"}


class Failure(Exception):
    """A check failed; the message says what and where."""


CHECKS = []


def check(fn):
    """Register a check: a function of (helm4, helm3) raising Failure or AssertionError when it fails."""
    CHECKS.append(fn)
    return fn


def helm_binaries():
    """(helm 4, helm 3) from PANDA_INSTALL_HELM / PANDA_INSTALL_HELM3 or the tool cache; fails if absent."""
    found = []
    for env, name in (("PANDA_INSTALL_HELM", "helm 4"), ("PANDA_INSTALL_HELM3", "helm 3")):
        path = os.environ.get(env) or ""
        if not path:
            out = subprocess.run([str(ROOT / "scripts" / "tools"), "env"], capture_output=True, text=True, check=False).stdout
            for line in out.splitlines():
                if line.startswith(f"export {env}="):
                    path = line.split("=", 1)[1].strip('"')
        if not path or not shutil.which(path):
            raise Failure(f"{name} not found (set {env} or run scripts/tools build)")
        found.append(path)
    return tuple(found)


def components():
    return [c for c in COMPONENTS if (ROOT / "helm" / c / "Chart.yaml").is_file()]


def experiments():
    return sorted(p.name for p in (ROOT / "values").iterdir() if p.is_dir())


def affixed(affix, name):
    return f"{name}{affix}" if affix.startswith("-") else f"{affix}{name}"


def run(args, check=True, stdin=None):
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, check=False, input=stdin)
    if check and proc.returncode != 0:
        raise Failure(f"{' '.join(map(str, args))} failed:\n{proc.stderr.strip()}")
    return proc


def chart_dir(component):
    """Where a component's chart is rendered from: helm/<component>, or its private copy."""
    return str(CHARTS / component)


def use_private_charts():
    """Render from a copy of helm/ in a temporary directory from here on, so that this process's
    `helm dependency build` never rewrites the checkout's charts/ while another process (a
    panda-install beside it) reads them. Removed at exit."""
    global CHARTS
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="panda-install-charts."))
    atexit.register(shutil.rmtree, tmp, True)
    CHARTS = tmp / "helm"
    shutil.copytree(ROOT / "helm", CHARTS, ignore=shutil.ignore_patterns("*.tgz", ".*.sha256"))


def dependency_build(helm):
    for c in components():
        run([helm, "dependency", "build", chart_dir(c)])


def cli_args(experiment, component, affix="test-", cric_real=True, values=(), extra=()):
    """The values arguments the CLI passes for one component."""
    args = []
    if experiment:
        exp = ROOT / "values" / experiment
        for f in (exp / "experiment.yaml", exp / f"{component}.yaml"):
            if f.is_file():
                args += ["-f", str(f)]
    for f in values:
        args += ["-f", str(f)]
    args += ["--set-string", f"global.affix={affix}",
             "--set-string", f"global.secretsRelease={affixed(affix, 'secrets')}",
             "--set", f"global.cric.real={'true' if cric_real else 'false'}"]
    return args + list(extra)


def template(helm, component, experiment=None, affix="test-", check=True, **kw):
    """Rendered documents of one component (a list of dicts), or the failed process when check=False."""
    args = [helm, "template", affixed(affix, component), chart_dir(component)]
    args += cli_args(experiment, component, affix, **kw)
    proc = run(args, check=check)
    if proc.returncode != 0:
        return proc
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def pod_spec(doc):
    """(pod template metadata, pod spec) of a workload document."""
    template = doc["spec"]["template"] if doc["kind"] != "CronJob" else doc["spec"]["jobTemplate"]["spec"]["template"]
    return template.get("metadata", {}), template["spec"]


def workloads(docs):
    return [d for d in docs if d["kind"] in WORKLOAD_KINDS]


def containers(spec):
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def name(doc):
    return f"{doc['kind']}/{doc['metadata']['name']}"
