"""Every experiment renders and lints with helm 4 and helm 3, alike; experiment files are well formed."""
import render
import yaml
from render import Failure, check


@check
def every_experiment_renders_alike_with_helm4_and_helm3(helm4, helm3):
    count = 0
    for experiment in [None] + render.experiments():
        for component in render.components():
            docs4 = render.template(helm4, component, experiment)
            docs3 = render.template(helm3, component, experiment)
            if docs4 != docs3:
                raise Failure(f"{experiment}/{component}: helm 4 and helm 3 render differently")
            if not render.workloads(docs4):
                raise Failure(f"{experiment}/{component}: no workload rendered")
            count += len(docs4)
    assert count > 300, f"only {count} documents rendered"


@check
def every_chart_lints_strictly_with_every_experiment(helm4, helm3):
    failures = []
    for helm in (helm4, helm3):
        for experiment in [None] + render.experiments():
            for component in render.components():
                args = [helm, "lint", "--strict", f"helm/{component}"] + render.cli_args(experiment, component)
                proc = render.run(args, check=False)
                if proc.returncode != 0:
                    failures.append(f"{helm} {experiment}/{component}:\n{proc.stdout[-800:]}{proc.stderr[-800:]}")
    if failures:
        raise Failure("\n".join(failures))


@check
def experiment_files_hold_only_components_and_global(helm4, helm3):
    known = set(render.COMPONENTS)
    for experiment in render.experiments():
        path = render.ROOT / "values" / experiment / "experiment.yaml"
        if not path.is_file():
            raise Failure(f"values/{experiment} has no experiment.yaml")
        data = yaml.safe_load(path.read_text()) or {}
        # imageUpdater is read by `panda-install argocd`; every chart's schema accepts and ignores it
        extra = set(data) - {"components", "global", "imageUpdater"}
        if extra:
            raise Failure(f"{path}: only components, global and imageUpdater belong here (every chart gets this file), not {sorted(extra)}")
        listed = data.get("components") or []
        if not listed or not set(listed) <= known:
            raise Failure(f"{path}: components must name some of {sorted(known)}, got {listed}")
        for component in listed:
            if not (render.ROOT / "helm" / component / "Chart.yaml").is_file():
                raise Failure(f"{path}: component {component} has no chart")


@check
def a_misspelt_global_key_in_an_experiment_file_is_refused_by_every_chart(helm4, helm3, tmp=None):
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        bad = f"{tmp}/experiment.yaml"
        with open(bad, "w") as f:
            f.write("components: [panda]\nglobal:\n  tolerationz: []\n")
        for helm in (helm4, helm3):
            for component in render.components():
                proc = render.template(helm, component, check=False, values=[bad])
                if not hasattr(proc, "returncode") or proc.returncode == 0:
                    raise Failure(f"{helm}: {component} accepted global.tolerationz")
                if "tolerationz" not in proc.stderr:
                    raise Failure(f"{helm}: {component}'s error does not name the key:\n{proc.stderr}")
