"""The secrets chart's schema refuses every FIXME placeholder of its defaults, one at a time.

panda-install refuses a secrets file that leaves a generated password out before any helm call
(src/settings/secrets_file.rs); this check proves that plain helm, with the same file, cannot
deploy the placeholder either: for each FIXME default, a file that fills every other one fails
helm's schema validation at exactly that key, and the file that fills all of them renders.
"""
import copy
import tempfile

import render
import yaml
from render import Failure, check

CHART = render.ROOT / "secrets"


def fixme_paths(node, path=()):
    """JSON-pointer paths (tuples) of every string value that is exactly FIXME."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from fixme_paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from fixme_paths(v, path + (i,))
    elif node == "FIXME":
        yield path


def fill_all(node):
    if isinstance(node, dict):
        return {k: fill_all(v) for k, v in node.items()}
    if isinstance(node, list):
        return [fill_all(v) for v in node]
    return "filled-by-the-check" if node == "FIXME" else node


def leave_out(values, path):
    """Removes the key at path; a key inside a list removes the whole list (a list a file sets
    replaces the chart's, so leaving the list out is how a file falls back to the default)."""
    keys = list(path)
    if any(isinstance(k, int) for k in keys):
        keys = keys[: next(i for i, k in enumerate(keys) if isinstance(k, int))]
    node = values
    for k in keys[:-1]:
        node = node[k]
    del node[keys[-1]]


def helm_template(helm, values):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(values, f)
        f.flush()
        return render.run([helm, "template", "test-secrets", str(CHART), "-f", f.name], check=False)


@check
def the_secrets_schema_refuses_each_fixme_default_left_out(helm4, helm3):
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    paths = list(fixme_paths(defaults))
    # 37 keys (grep -c FIXME counts 40 lines: three comments mention the word)
    assert len(paths) == 37, f"the chart's FIXME defaults changed: {len(paths)} keys"
    filled = fill_all(defaults)
    failures = []
    for helm in (helm4, helm3):
        proc = helm_template(helm, filled)
        if proc.returncode != 0:
            failures.append(f"{helm}: the file filling every FIXME does not render:\n{proc.stderr.strip()}")
        for path in paths:
            values = copy.deepcopy(filled)
            leave_out(values, path)
            proc = helm_template(helm, values)
            pointer = "/" + "/".join(str(k) for k in path)
            if proc.returncode == 0 or f"'{pointer}'" not in proc.stderr:
                failures.append(f"{helm}: {pointer} left out: exit {proc.returncode}, schema error not at that key:\n"
                                f"{proc.stderr.strip()[:600]}")
    if failures:
        raise Failure("\n".join(failures))
