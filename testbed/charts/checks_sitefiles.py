"""Site files: every kind of helm/<component>/site-files.yaml lands, byte for byte, where the entry says,
in every pod of the sub-charts it names; a changed file rolls exactly those pods; bad input is refused."""
import base64
import json
import os
import pathlib
import tempfile

import render
import sitefiles
from render import Failure, check


def objects_at(spec, container, directory):
    """(kind, name) of the ConfigMaps and Secrets whose keys appear as files in directory."""
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    found = []
    for mount in container.get("volumeMounts", []):
        if mount["mountPath"].rstrip("/") != directory.rstrip("/") or "subPath" in mount:
            continue
        volume = volumes[mount["name"]]
        sources = volume.get("projected", {}).get("sources", [volume])
        for source in sources:
            if "configMap" in source:
                found.append(("ConfigMap", source["configMap"]["name"]))
            if "secret" in source:
                found.append(("Secret", source["secret"].get("secretName") or source["secret"].get("name")))
    return found


def data_of(doc):
    encoded = doc.get("binaryData", {}) if doc["kind"] == "ConfigMap" else doc.get("data", {})
    return {k: base64.b64decode(v) for k, v in encoded.items()}


def render_with_site_files(helm, component, tmp, variant=""):
    written = sitefiles.sample_tree(component, tmp, variant)
    args = sitefiles.set_file_args(component, pathlib.Path(tmp) / component)
    return written, render.template(helm, component, "atlas_testbed", extra=args)


def site_components():
    return [c for c in render.components() if sitefiles.catalogue(c)]


@check
def every_site_file_kind_lands_byte_for_byte_at_its_mount_path(helm4, helm3):
    kinds = 0
    for helm in (helm4, helm3):
        for component in site_components():
            with tempfile.TemporaryDirectory() as tmp:
                written, docs = render_with_site_files(helm, component, tmp)
            by_name = {(d["kind"], d["metadata"]["name"]): d for d in docs}
            for entry in sitefiles.catalogue(component):
                kinds += 1
                directory = entry["mountPath"] if entry["path"].endswith("/") else os.path.dirname(entry["mountPath"])
                expected_kind = "Secret" if entry["sensitive"] else "ConfigMap"
                for key in entry["keys"]:
                    sub = key.split(".")[0]
                    pods = [d for d in render.workloads(docs) if d["metadata"]["name"] == render.affixed("test-", component) + "-" + sub]
                    if not pods:
                        raise Failure(f"{component}: no workload of sub-chart {sub} for {key}")
                    for doc in pods:
                        _, spec = render.pod_spec(doc)
                        seen = {}
                        for kind, name in objects_at(spec, spec["containers"][0], directory):
                            if (kind, name) in by_name:
                                seen.update({f: (kind, name) for f in data_of(by_name[(kind, name)])})
                        for file_name, content in written[entry["path"]].items():
                            if file_name not in seen:
                                raise Failure(f"{helm}: {component} {entry['path']}: {file_name} is not visible in {directory} of {render.name(doc)}")
                            kind, name = seen[file_name]
                            if data_of(by_name[(kind, name)])[file_name] != content:
                                raise Failure(f"{helm}: {component} {entry['path']}: {file_name} differs in {kind}/{name}")
                            if kind != expected_kind:
                                raise Failure(f"{component} {entry['path']}: in a {kind}, the entry says {expected_kind}")
    assert kinds >= 9, kinds


@check
def a_changed_site_file_changes_exactly_the_checksums_of_the_pods_that_mount_it(helm4, helm3):
    def annotations():
        result = {}
        for component in render.components():
            docs = render.template(helm4, component, "atlas_testbed", extra=base_args.get(component, []))
            for doc in render.workloads(docs):
                meta, _ = render.pod_spec(doc)
                result[(component, doc["metadata"]["name"])] = meta.get("annotations", {})
        return result

    with tempfile.TemporaryDirectory() as tmp:
        base_args = {}
        for component in site_components():
            sitefiles.sample_tree(component, tmp)
            base_args[component] = sitefiles.set_file_args(component, pathlib.Path(tmp) / component)
        before = annotations()
        changed = 0
        for component in site_components():
            for entry in sitefiles.catalogue(component):
                target = pathlib.Path(tmp) / component / entry["path"].rstrip("/")
                victim = sorted(target.iterdir())[0] if target.is_dir() else target
                original = victim.read_bytes()
                victim.write_bytes(original + b"\n# changed\n")
                base_args[component] = sitefiles.set_file_args(component, pathlib.Path(tmp) / component)
                after = annotations()
                victim.write_bytes(original)
                base_args[component] = sitefiles.set_file_args(component, pathlib.Path(tmp) / component)
                mounting = {render.affixed("test-", component) + "-" + k.split(".")[0] for k in entry["keys"]}
                for (comp, workload), ann in after.items():
                    diff = {k for k in set(ann) | set(before[(comp, workload)]) if ann.get(k) != before[(comp, workload)].get(k)}
                    should = comp == component and workload in mounting
                    if should and not diff:
                        raise Failure(f"{component} {entry['path']}: changing it left {workload}'s checksums alone")
                    if not should and diff:
                        raise Failure(f"{component} {entry['path']}: changing it changed {workload}: {sorted(diff)}")
                    if should and not all(k.startswith("checksum/site-") for k in diff):
                        raise Failure(f"{component} {entry['path']}: changed more than a site checksum on {workload}: {sorted(diff)}")
                    changed += should
        assert changed >= 9, changed


@check
def site_files_yaml_and_the_charts_agree_on_the_keys(helm4, helm3):
    for component in render.components():
        declared = {k for e in sitefiles.catalogue(component) for k in e["keys"]}
        schema_keys = set()
        for sub_schema in (render.ROOT / "helm" / component / "charts").glob("*/values.schema.json"):
            props = json.loads(sub_schema.read_text())["properties"].get("siteFiles", {}).get("properties", {})
            schema_keys |= {f"{sub_schema.parent.name}.siteFiles.{k}" for k in props}
        if declared != schema_keys:
            raise Failure(f"{component}: site-files.yaml keys {sorted(declared ^ schema_keys)} are not in both site-files.yaml and the sub-chart schemas")
        for entry in sitefiles.catalogue(component):
            missing = {"path", "keys", "sensitive", "mountPath", "description"} - set(entry)
            if missing:
                raise Failure(f"helm/{component}/site-files.yaml {entry.get('path')}: lacks {sorted(missing)}")


@check
def bad_site_files_are_refused_with_their_name(helm4, helm3):
    with tempfile.TemporaryDirectory() as tmp:
        big = pathlib.Path(tmp) / "big.ora"
        big.write_bytes(b"x" * (sitefiles.CONFIGMAP_LIMIT + 1))
        for helm in (helm4, helm3):
            proc = render.template(helm, "bigmon", check=False, extra=["--set-file", f"main.siteFiles.tnsnames={big}"])
            if proc.returncode == 0 or "tnsnames.ora (1048577 bytes)" not in proc.stderr:
                raise Failure(f"{helm}: a 1 MiB + 1 byte tnsnames.ora was not refused by name:\n{proc.stderr}")
            proc = render.template(helm, "panda", check=False, extra=["--set-file", f"server.siteFiles.bogus={big}"])
            if proc.returncode == 0 or "bogus" not in proc.stderr:
                raise Failure(f"{helm}: an unknown site-file key was accepted:\n{proc.stderr}")
            proc = render.template(helm, "harvester", check=False, extra=["--set-file", "harvester.siteFiles.sandbox.bad name=" + str(big)])
            if proc.returncode == 0 or "bad name" not in proc.stderr:
                raise Failure(f"{helm}: a file name with a space was accepted:\n{proc.stderr}")
        # The CLI's side, as sitefiles.set_file_args does it: an unknown file names the known kinds.
        stray = pathlib.Path(tmp) / "panda"
        stray.mkdir()
        (stray / "notes.txt").write_text("x")
        try:
            sitefiles.set_file_args("panda", stray)
        except Failure as e:
            assert "notes.txt" in str(e) and "tnsnames.ora" in str(e), str(e)
        else:
            raise Failure("an unknown site file was accepted")
