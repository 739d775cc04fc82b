"""What panda-install does with site files, done with plain helm arguments (for the checks and for
testbed/charts/deploy.sh): files under values/<exp>/files/<component>/ become --set-file arguments."""
import json
import os
import pathlib

import render
import yaml

CONFIGMAP_LIMIT = 1048576


def catalogue(component):
    """The entries of helm/<component>/site-files.yaml."""
    path = render.ROOT / "helm" / component / "site-files.yaml"
    return yaml.safe_load(path.read_text()) or []


def escape(name):
    """A file name as one segment of a --set key: helm's parser splits on "." unless escaped."""
    return name.replace("\\", "\\\\").replace(".", "\\.").replace(",", "\\,").replace("=", "\\=")


def set_file_args(component, files_dir):
    """The --set-file arguments for the site files under files_dir (values/<exp>/files/<component>);
    refuses a file that matches no entry, naming the known ones, and a kind over the size limit."""
    files_dir = pathlib.Path(files_dir)
    entries = catalogue(component)
    args, used = [], set()
    for entry in entries:
        if entry["path"].endswith("/"):
            directory = files_dir / entry["path"].rstrip("/")
            files = sorted(p for p in directory.iterdir() if p.is_file()) if directory.is_dir() else []
            used |= set(files)
            if sum(p.stat().st_size for p in files) > CONFIGMAP_LIMIT:
                raise render.Failure(f"{directory}: more than {CONFIGMAP_LIMIT} bytes")
            for key in entry["keys"]:
                for p in files:
                    args += ["--set-file", f"{key}.{escape(p.name)}={p}"]
        else:
            p = files_dir / entry["path"]
            if p.is_file():
                used.add(p)
                if p.stat().st_size > CONFIGMAP_LIMIT:
                    raise render.Failure(f"{p}: more than {CONFIGMAP_LIMIT} bytes")
                for key in entry["keys"]:
                    args += ["--set-file", f"{key}={p}"]
    if files_dir.is_dir():
        unknown = [p for p in sorted(files_dir.rglob("*")) if p.is_file() and p not in used]
        if unknown:
            known = ", ".join(e["path"] for e in entries) or "none"
            raise render.Failure(f"unknown site file(s) {[str(p) for p in unknown]}; {component} knows: {known}")
    return args


def sample_tree(component, root, variant=""):
    """Writes one file per entry (two per directory, one of them binary with a dotted name) under
    root/<component>/ and returns {entry path: {file name: bytes}}."""
    base = pathlib.Path(root) / component
    written = {}
    for entry in catalogue(component):
        if entry["path"].endswith("/"):
            directory = base / entry["path"].rstrip("/")
            directory.mkdir(parents=True, exist_ok=True)
            contents = {"site.example.sh": f"#!/bin/sh\necho {entry['path']}{variant}\n".encode(),
                        "blob.v1.bin": bytes(range(256)) * 3 + variant.encode() + b"\x00\xff"}
        else:
            directory = base / os.path.dirname(entry["path"])
            directory.mkdir(parents=True, exist_ok=True)
            name = os.path.basename(entry["path"])
            text = json.dumps({"site": entry["path"], "variant": variant}) if name.endswith(".json") else f"# {entry['path']}{variant}\n"
            contents = {name: text.encode()}
        for name, data in contents.items():
            (directory / name).write_bytes(data)
        written[entry["path"]] = contents
    return written
