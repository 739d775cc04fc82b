"""Images: every image of every chart accepts tag, tag + digest, a digest alone and Image Updater's
"tag@digest"; "latest" or nothing without a digest is refused; the pull-policy rule follows the digest."""
import json

import render
from render import Failure, check

DIGEST = "sha256:" + "ab" * 32


def image_paths():
    """(component, dotted values path of an image map, extra --set arguments to render it)."""
    found = []
    for component in render.components():
        chart = render.ROOT / "helm" / component
        for schema in sorted(chart.glob("charts/*/values.schema.json")):
            props = json.loads(schema.read_text())["properties"]
            if props.get("image", {}).get("$ref") == "#/definitions/image":
                found.append((component, f"{schema.parent.name}.image", []))
        parent = json.loads((chart / "values.schema.json").read_text())["properties"]
        for key, node in parent.items():
            if node.get("properties", {}).get("image", {}).get("$ref") == "#/definitions/image":
                found.append((component, f"{key}.image", ["--set", f"{key}.enabled=true"]))
    return found


def images(docs):
    return {(c["image"], c["imagePullPolicy"]) for d in render.workloads(docs) for c in render.containers(render.pod_spec(d)[1])}


@check
def every_image_takes_tag_digest_and_both_and_refuses_an_unpinned_latest(helm4, helm3):
    paths = image_paths()
    assert len(paths) >= 15, paths
    for component, path, extra in paths:
        base = render.template(helm4, component, extra=extra)
        cases = {
            "tag+digest": (["--set-string", f"{path}.tag=9.9", "--set-string", f"{path}.digest={DIGEST}"], ":9.9@" + DIGEST, "IfNotPresent"),
            "digest only": (["--set-string", f"{path}.tag=", "--set-string", f"{path}.digest={DIGEST}"], "@" + DIGEST, "IfNotPresent"),
            "image updater": (["--set-string", f"{path}.tag=latest@{DIGEST}"], ":latest@" + DIGEST, "IfNotPresent"),
            "tag only": (["--set-string", f"{path}.tag=9.9"], ":9.9", "Always"),
        }
        for helm in (helm4, helm3):
            for case, (args, suffix, policy) in cases.items():
                docs = render.template(helm, component, extra=extra + args)
                new = images(docs) - images(base)
                hits = {i for i in new if i[0].endswith(suffix) and "@" + DIGEST + "@" not in i[0]}
                if not hits or any(p != policy for _, p in hits):
                    raise Failure(f"{helm}: {component} {path} {case}: new images {new}, want one ending in {suffix!r} with {policy}")
                if case == "digest only" and any(":" in i[0].split("/")[-1].split("@")[0] for i in hits):
                    raise Failure(f"{component} {path}: a digest alone still renders a tag: {hits}")
            for case, args, word in (
                ("latest", ["--set-string", f"{path}.tag=latest"], "latest"),
                ("nothing", ["--set-string", f"{path}.tag="], "tag"),
                ("bad digest", ["--set-string", f"{path}.digest=sha256:xyz"], "digest"),
                ("two digests", ["--set-string", f"{path}.tag=1@{DIGEST}", "--set-string", f"{path}.digest=sha256:{'cd' * 32}"], "digest"),
            ):
                proc = render.template(helm, component, check=False, extra=extra + args)
                if not hasattr(proc, "returncode") or proc.returncode == 0:
                    raise Failure(f"{helm}: {component} {path}: {case} was accepted")
                if word not in proc.stderr:
                    raise Failure(f"{helm}: {component} {path}: {case} refused without naming the {word}:\n{proc.stderr}")
