{{- /* process-templates.py, shared by the PanDA server and JEDI sandboxes: renders every "<name>.template" of a
     directory from the environment. Kept once here instead of a copy per sub-chart. */ -}}
{{- define "panda-lib.script.processTemplates" -}}
#!/usr/bin/env python3
"""Render every "<name>.template" file of a directory into "<name>", replacing ${VAR} by the value of
the environment variable VAR. Unknown variables are left as they are (and reported), so a missing
Secret key is visible in the log instead of silently becoming an empty string.
Usage: process-templates.py <directory>
"""
import os
import re
import sys

PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def render(text, missing):
    def value(match):
        name = match.group(1)
        if name in os.environ:
            return os.environ[name]
        missing.add(name)
        return match.group(0)
    return PLACEHOLDER.sub(value, text)


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "."
    for entry in sorted(os.listdir(directory)):
        if not entry.endswith(".template"):
            continue
        source = os.path.join(directory, entry)
        target = source[: -len(".template")]
        missing = set()
        with open(source) as handle:
            text = render(handle.read(), missing)
        with open(target, "w") as handle:
            handle.write(text)
        os.chmod(target, 0o600)
        note = " (unset: %s)" % ", ".join(sorted(missing)) if missing else ""
        print("process-templates: wrote %s%s" % (target, note))


if __name__ == "__main__":
    main()
{{- end }}
