"""The pinned distributions of requirement files, fetched from PyPI's JSON API (/pypi/NAME/json) into a directory (the
image cache's wheel folder): for each `name==version`, a wheel this image's Python can install (Debian
bookworm: CPython 3.11, glibc 2.36, x86_64), else the sdist; every file checked against the sha256 PyPI
lists, and kept when already there. Reads https://pypi.org (the package registry); PIP_CERT / REQUESTS_CA_BUNDLE for the CA bundle and the usual *_proxy variables.

usage: pypi_fetch.py DIR REQUIREMENTS...   prints one line per file fetched, and a summary"""
import hashlib
import json
import os
import re
import ssl
import sys
import urllib.parse
import urllib.request

PY_TAGS = {"py3", "py2.py3", "cp311"}
ABI_TAGS = {"none", "cp311", "abi3"}
GLIBC = (2, 36)


def platform_ok(tag):
    if tag == "any":
        return True
    for one in tag.split("."):
        m = re.fullmatch(r"manylinux_(\d+)_(\d+)_x86_64", one)
        if m and (int(m.group(1)), int(m.group(2))) <= GLIBC:
            return True
        if one in ("manylinux1_x86_64", "manylinux2010_x86_64", "manylinux2014_x86_64"):
            return True
    return False


def wheel_ok(filename):
    parts = filename[:-4].split("-")
    py, abi, plat = parts[-3], parts[-2], parts[-1]
    py_ok = any(p in PY_TAGS or (p.startswith("cp3") and abi == "abi3" and int(p[3:]) <= 11) for p in py.split("."))
    return py_ok and any(a in ABI_TAGS for a in abi.split(".")) and platform_ok(plat)


def pins(paths):
    for path in paths:
        for line in open(path):
            line = line.split("#", 1)[0].strip()
            if line:
                name, _, version = line.partition("==")
                if not version:
                    sys.exit("pypi_fetch: %s: %r is not pinned (name==version)" % (path, line))
                yield name.strip(), version.strip()


def main():
    target, files = sys.argv[1], sys.argv[2:]
    os.makedirs(target, exist_ok=True)
    context = ssl.create_default_context(cafile=os.environ.get("PIP_CERT") or os.environ.get("REQUESTS_CA_BUNDLE"))
    fetched = kept = 0
    for name, version in pins(files):
        index = "https://pypi.org/pypi/%s/json" % name
        with urllib.request.urlopen(index, context=context) as r:
            urls = json.load(r)["releases"].get(version)
        if not urls:
            sys.exit("pypi_fetch: PyPI has no release %s of %s" % (version, name))
        wheels = [u for u in urls if u["packagetype"] == "bdist_wheel" and wheel_ok(u["filename"])]
        sdists = [u for u in urls if u["packagetype"] == "sdist"]
        # the most specific wheel (a compiled one before a pure one), else the sdist
        chosen = sorted(wheels, key=lambda u: ("none-any" in u["filename"], u["filename"]))[:1] or sdists[:1]
        if not chosen:
            sys.exit("pypi_fetch: %s==%s has no wheel for CPython 3.11 on x86_64 and no sdist" % (name, version))
        u = chosen[0]
        path = os.path.join(target, u["filename"])
        if os.path.exists(path) and hashlib.sha256(open(path, "rb").read()).hexdigest() == u["digests"]["sha256"]:
            kept += 1
            continue
        with urllib.request.urlopen(urllib.parse.urljoin(index, u["url"]), context=context) as r:
            data = r.read()
        if hashlib.sha256(data).hexdigest() != u["digests"]["sha256"]:
            sys.exit("pypi_fetch: %s: sha256 differs from PyPI's" % u["filename"])
        with open(path + ".part", "wb") as f:
            f.write(data)
        os.replace(path + ".part", path)
        fetched += 1
        print("pypi_fetch: %s" % u["filename"])
    print("pypi_fetch: %d fetched, %d already there (%s)" % (fetched, kept, target))


if __name__ == "__main__":
    main()
