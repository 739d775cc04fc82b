"""Moving in keeps a site running (issue 20): every pod names each claim once (settings that share a
claim become one volume with several subPath mounts), and every absolute path that an imported site
file names under the images' directories is a file the rendered pod mounts there.

The import runs on tests/fixtures/upstream and, when PANDA_UPSTREAM_CHECKOUT names one, on a real
upstream panda-k8s checkout too (e.g. 9a889bb). It needs the panda-install binary: PANDA_INSTALL_BIN,
else `cargo build` of this checkout (a missing binary fails the check, never skips it)."""
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import render
import sitefiles
import yaml
from render import Failure, check

# The directories of the images whose files site files name, and the component whose pods hold them.
IMAGE_DIRS = {
    "/opt/harvester": "harvester", "/data/harvester": "harvester",
    "/opt/panda": "panda", "/etc/panda": "panda", "/data/panda": "panda",
    "/opt/idds": "idds", "/etc/idds": "idds", "/data/idds": "idds",
    "/data/bigmon": "bigmon", "/opt/bigmon": "bigmon",
}
# Files the images link elsewhere (panda-server's Dockerfile: ln -fs /data/panda/<f> /opt/panda/etc/panda/<f>).
IMAGE_LINKS = {f"/opt/panda/etc/panda/{f}": f"/data/panda/{f}"
               for f in ("jedi_mq_config.json", "jedi_msg_proc_config.json", "panda_mbproxy_config.json")}
# Directories the start scripts fill by copying a mounted directory, rendering "<f>.template" into "<f>"
# (prepare-panda.sh: /opt/panda/sandbox -> /data/panda; harvester.startup: /opt/harvester/sandbox -> /data/harvester).
COPIED_FROM = {"/data/panda": "/opt/panda/sandbox", "/data/harvester": "/opt/harvester/sandbox"}
PATH_RE = re.compile(r"(?<![\w.$-])(/(?:opt|data|etc)/[A-Za-z0-9_][A-Za-z0-9_./-]*[A-Za-z0-9_])")

# Each pod's storage settings put on one claim: what import writes for DOMA and the testbed.
SHARED = {
    "harvester": {"harvester": {"logs": {"type": "existingClaim", "existingClaim": "panda-shared-logs", "subPath": "harvester"},
                                "condorLogs": {"type": "existingClaim", "existingClaim": "panda-shared-logs", "subPath": "condor_logs"},
                                "wdirs": {"type": "existingClaim", "existingClaim": "panda-wdirs"}}},
    "idds": {"rest": {"logs": {"type": "existingClaim", "existingClaim": "panda-shared-logs", "subPath": "idds"},
                      "requests": {"type": "existingClaim", "existingClaim": "panda-shared-logs", "subPath": "idds-requests"}}},
    "panda": {"server": {"logs": {"type": "claim", "size": "1Gi"},
                         "cache": {"enabled": True, "type": "existingClaim", "existingClaim": "test-panda-server-logs", "subPath": "cache"}}},
}


def claims_named_twice(docs):
    """["<workload>: claim <name> in volumes a, b", ...] for every pod naming one PVC in two volumes."""
    found = []
    for doc in render.workloads(docs):
        _, spec = render.pod_spec(doc)
        seen = {}
        for volume in spec.get("volumes", []):
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                seen.setdefault(claim, []).append(volume["name"])
        found += [f"{render.name(doc)}: claim {c} in volumes {', '.join(v)}" for c, v in seen.items() if len(v) > 1]
    return found


def mounts_of(docs, workload, claim):
    """{mountPath: subPath} of the container mounts of the volume that names claim in workload."""
    for doc in render.workloads(docs):
        if doc["metadata"]["name"] != workload:
            continue
        _, spec = render.pod_spec(doc)
        names = [v["name"] for v in spec.get("volumes", []) if (v.get("persistentVolumeClaim") or {}).get("claimName") == claim]
        return {m["mountPath"]: m.get("subPath", "") for c in render.containers(spec) for m in c.get("volumeMounts", []) if m["name"] in names}
    raise Failure(f"no workload {workload}")


@check
def every_pod_names_each_claim_once_in_every_experiment_and_with_shared_claims(helm4, helm3):
    for experiment in render.experiments():
        for component in render.components():
            twice = claims_named_twice(render.template(helm4, component, experiment))
            if twice:
                raise Failure(f"{experiment}: " + "; ".join(twice))
    expected = {
        "harvester": ("test-harvester-harvester", "panda-shared-logs", {"/var/log/panda": "harvester", "/var/log/condor_logs": "condor_logs"}),
        "idds": ("test-idds-rest", "panda-shared-logs", {"/var/log/idds": "idds", "/data/idds_requests": "idds-requests"}),
        "panda": ("test-panda-server", "test-panda-server-logs", {"/var/log/panda": "", "/var/log/panda/pandacache": "cache"}),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for component, values in SHARED.items():
            overlay = pathlib.Path(tmp) / f"{component}.yaml"
            overlay.write_text(yaml.safe_dump(values))
            for helm in (helm4, helm3):
                docs = render.template(helm, component, "doma", values=[overlay])
                twice = claims_named_twice(docs)
                if twice:
                    raise Failure(f"{helm}: " + "; ".join(twice))
                workload, claim, mounts = expected[component]
                got = mounts_of(docs, workload, claim)
                if got != mounts:
                    raise Failure(f"{helm}: {workload} mounts claim {claim} at {got}, expected {mounts}")
        # A further volume of extraVolumes naming the same claim is refused by the library.
        proc = render.template(helm4, "harvester", "doma", values=[pathlib.Path(tmp) / "harvester.yaml"], check=False,
                               extra=["--set", "harvester.extraVolumes[0].name=again",
                                      "--set", "harvester.extraVolumes[0].persistentVolumeClaim.claimName=panda-shared-logs"])
        if not isinstance(proc, subprocess.CompletedProcess) or "names claim \"panda-shared-logs\"" not in proc.stderr:
            raise Failure("an extra volume naming panda-shared-logs again was not refused")


def binary():
    """The panda-install binary: PANDA_INSTALL_BIN, else built from this checkout."""
    path = os.environ.get("PANDA_INSTALL_BIN")
    if path:
        if not shutil.which(path):
            raise Failure(f"PANDA_INSTALL_BIN={path} is not an executable")
        return path
    render.run(["cargo", "build", "--locked", "--quiet", "--bin", "panda-install"])
    return str(render.ROOT / "target" / "debug" / "panda-install")


def upstreams():
    found = [render.ROOT / "tests" / "fixtures" / "upstream"]
    extra = os.environ.get("PANDA_UPSTREAM_CHECKOUT")
    if extra:
        if not (pathlib.Path(extra) / "secrets" / "values.yaml").is_file():
            raise Failure(f"PANDA_UPSTREAM_CHECKOUT={extra} is not an upstream panda-k8s checkout")
        found.append(pathlib.Path(extra))
    return found


def imported(upstream, out):
    """Imports upstream into the site directory out; returns the experiment names."""
    render.run([binary(), "import", str(upstream), "--out", str(out)])
    return sorted(p.name for p in (out / "experiments").iterdir() if p.is_dir())


def shipped_names(upstream):
    """Names of the files upstream's charts ship (its site files), outside values and templates."""
    names = set()
    for p in (upstream / "helm").rglob("*"):
        if p.is_file() and not {"values", "templates"} & set(p.relative_to(upstream / "helm").parts[:-1]):
            names.add(p.name)
    return names


def absolute_paths(files_dir):
    """[(site file, line number, path)] of the image paths named in the site files under files_dir."""
    found = []
    for p in sorted(files_dir.rglob("*")) if files_dir.is_dir() else []:
        if not p.is_file():
            continue
        text = p.read_bytes().decode("utf-8", "replace")
        for number, line in enumerate(text.splitlines(), 1):
            for path in PATH_RE.findall(line):
                if any(path == d or path.startswith(d + "/") for d in IMAGE_DIRS):
                    found.append((p, number, path))
    return found


def visible_files(docs, spec, container, path):
    """True when a mount of container makes path a file of a rendered ConfigMap or Secret."""
    objects = {(d["kind"], d["metadata"]["name"]): d for d in docs if d["kind"] in ("ConfigMap", "Secret")}
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        base = mount["mountPath"].rstrip("/")
        if path == base and "subPath" in mount:
            rel = mount["subPath"]
        elif path.startswith(base + "/") and "subPath" not in mount:
            rel = path[len(base) + 1:]
        else:
            continue
        volume = volumes[mount["name"]]
        for source in volume.get("projected", {}).get("sources", [volume]):
            for kind, key, name_key in (("ConfigMap", "configMap", "name"), ("Secret", "secret", "secretName")):
                if key not in source:
                    continue
                ref = source[key]
                doc = objects.get((kind, ref.get(name_key) or ref.get("name")))
                if doc is None:
                    continue
                keys = set(doc.get("data") or {}) | set(doc.get("binaryData") or {}) | set(doc.get("stringData") or {})
                if "items" in ref:
                    files = {i["path"] for i in ref["items"] if i["key"] in keys}
                else:
                    files = keys
                if rel in files:
                    return True
    return False


def provided(docs, path):
    """True when some pod of docs has path as a file: mounted there, or linked or copied from a
    mounted file (IMAGE_LINKS, COPIED_FROM)."""
    path = IMAGE_LINKS.get(path, path)
    candidates = [path]
    parent, name = path.rsplit("/", 1)
    if parent in COPIED_FROM:
        candidates += [f"{COPIED_FROM[parent]}/{name}", f"{COPIED_FROM[parent]}/{name}.template"]
    for doc in render.workloads(docs):
        _, spec = render.pod_spec(doc)
        if any(visible_files(docs, spec, c, p) for c in render.containers(spec) for p in candidates):
            return True
    return False


def unmounted_site_paths(upstream, out, helm):
    """(missing, dangling, number checked): "<experiment> <file>:<line> <path>" lines of the paths no pod provides,
    split into those naming a file upstream shipped (missing) and those naming a file upstream never
    shipped in a directory where it put shipped ones (dangling: broken upstream too, not a failure)."""
    shipped = shipped_names(upstream)
    missing, dangling, checked = [], [], 0
    for experiment in imported(upstream, out):
        files = out / "experiments" / experiment / "files"
        found = absolute_paths(files)
        site_dirs = {p.rsplit("/", 1)[0] for _, _, p in found if pathlib.PurePath(p).name in shipped}
        rendered = {}
        for site_file, number, path in found:
            line = f"{experiment} {site_file.relative_to(files)}:{number} {path}"
            if pathlib.PurePath(path).name not in shipped:
                if path.rsplit("/", 1)[0] in site_dirs:
                    dangling.append(line)
                continue
            checked += 1
            component = next(c for d, c in IMAGE_DIRS.items() if path == d or path.startswith(d + "/"))
            if component not in rendered:
                args = []
                for f in (out / "experiments" / experiment / "experiment.yaml", out / "experiments" / experiment / f"{component}.yaml"):
                    if f.is_file():
                        args += ["-f", str(f)]
                args += sitefiles.set_file_args(component, files / component)
                args += ["--set-string", "global.affix=test-", "--set-string", "global.secretsRelease=test-secrets"]
                proc = render.run([helm, "template", f"test-{component}", f"helm/{component}", *args])
                rendered[component] = [d for d in yaml.safe_load_all(proc.stdout) if d]
            if not provided(rendered[component], path):
                missing.append(line)
    return missing, dangling, checked


@check
def every_path_an_imported_site_file_names_is_a_file_the_pod_mounts_there(helm4, helm3):
    failures = []
    for upstream in upstreams():
        with tempfile.TemporaryDirectory() as tmp:
            missing, dangling, checked = unmounted_site_paths(upstream, pathlib.Path(tmp), helm4)
        if missing:
            failures.append(f"{upstream}: {len(missing)} path(s) named by imported site files are not files of the pods "
                            f"(and {len(dangling)} name files upstream never shipped either):\n"
                            + "\n".join(missing + [f"(not shipped upstream either) {d}" for d in dangling]))
        elif not checked:
            failures.append(f"{upstream}: no imported site file names a file upstream shipped: nothing was checked")
        else:
            print(f"    {upstream}: all {checked} path(s) naming shipped files are provided; {len(dangling)} name files upstream never shipped")
    if failures:
        raise Failure("\n".join(failures))


@check
def the_jobs_scripts_of_src_plan_pass_bash_n_and_shellcheck(helm4, helm3):
    """The scripts the CLI's Jobs run (migrate-data, the upgrade's schema steps), as the Jobs join them."""
    if not shutil.which("shellcheck"):
        raise Failure("shellcheck not found (apt-get install shellcheck)")
    plan = render.ROOT / "src" / "plan"
    phases = (plan / "migrate" / "phases.sh").read_text()
    scripts = {"upgrade/schema.sh": (plan / "upgrade" / "schema.sh").read_text()}
    for engine in ("mariadb", "postgres"):
        scripts[f"migrate/{engine}.sh + phases.sh"] = (plan / "migrate" / f"{engine}.sh").read_text() + "\n" + phases
    for name, text in scripts.items():
        for cmd in (["bash", "-n"], ["shellcheck", "-S", "warning", "-s", "bash", "-"]):
            proc = subprocess.run(cmd, input=text, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise Failure(f"{name}: {' '.join(cmd)}:\n{proc.stdout}{proc.stderr}")
