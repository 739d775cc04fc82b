"""Harvester's health monitor (harvester.healthMonitor): off in the chart, on for the experiments upstream
runs it for; when on, the pod gets the script, its settings, a ServiceAccount token allowed to create
Events (Role + RoleBinding, nothing more) and an egress rule to the API server; the schema refuses bad
settings."""
import json

import render
from render import Failure, check

# Upstream panda-k8s (9a889bb) starts health_monitor.sh every 600 s from the common sandbox file
# helm/harvester/charts/harvester/sandbox/run-harvester-crons, which every experiment's Harvester runs:
# every experiment with upstream Harvester values (helm/harvester/values/values-*.yaml).
UPSTREAM_ON = {"atlas_testbed", "dev", "doma", "lsst", "lsst-prod", "sphenix"}
API_PORT = 6443


def monitor(docs, release="test-harvester-harvester"):
    """What the render says about the monitor: a dict of its pieces (empty values when off)."""
    by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    sts = by[("StatefulSet", release)]
    meta, spec = render.pod_spec(sts)
    box = spec["containers"][0]
    egress = by[("NetworkPolicy", release)]["spec"].get("egress", [])
    return {
        "configMap": by.get(("ConfigMap", f"{release}-health-monitor")),
        "role": by.get(("Role", f"{release}-health-monitor")),
        "binding": by.get(("RoleBinding", f"{release}-health-monitor")),
        "account": by.get(("ServiceAccount", release)),
        "spec": spec,
        "checksum": meta.get("annotations", {}).get("checksum/health-monitor"),
        "started": "health-monitor.py" in box["args"][0],
        "env": {e["name"] for e in box.get("env", [])},
        "mounted": any(m["name"] == "health-monitor" for m in box["volumeMounts"]),
        "apiEgress": any(p.get("port") == API_PORT for r in egress for p in r.get("ports", [])),
    }


def assert_off(m, what):
    present = [k for k in ("configMap", "role", "binding", "account", "checksum") if m[k]]
    present += [k for k in ("started", "mounted", "apiEgress") if m[k]]
    if present or m["spec"].get("automountServiceAccountToken") is not False or "POD_NAME" in m["env"]:
        raise Failure(f"{what}: the monitor is off, but the render has {present or 'a token or POD_NAME'}")


def assert_on(m, what):
    missing = [k for k in ("configMap", "role", "binding", "account", "checksum", "started", "mounted", "apiEgress")
               if not m[k]]
    if missing:
        raise Failure(f"{what}: the monitor is on, but the render lacks {missing}")
    rules = m["role"]["rules"]
    if rules != [{"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}]:
        raise Failure(f"{what}: the Role grants more (or other) than events create: {rules}")
    account = m["spec"].get("serviceAccountName")
    subjects = m["binding"]["subjects"]
    if account != m["account"]["metadata"]["name"] or [s["name"] for s in subjects] != [account]:
        raise Failure(f"{what}: the pod's account {account!r} is not the one bound: {subjects}")
    if m["binding"]["roleRef"]["name"] != m["role"]["metadata"]["name"]:
        raise Failure(f"{what}: the RoleBinding names another Role: {m['binding']['roleRef']}")
    if m["spec"].get("automountServiceAccountToken") is not True or not {"POD_NAME", "POD_NAMESPACE", "POD_UID"} <= m["env"]:
        raise Failure(f"{what}: the monitor cannot name its pod or has no token")


@check
def the_health_monitor_is_on_exactly_where_upstream_runs_it(helm4, helm3):
    for helm in (helm4, helm3):
        assert_off(monitor(render.template(helm, "harvester")), f"{helm}: the chart's default")
        for experiment in render.experiments():
            m = monitor(render.template(helm, "harvester", experiment))
            what = f"{helm} {experiment}"
            if experiment in UPSTREAM_ON:
                assert_on(m, what)
                settings = json.loads(m["configMap"]["data"]["settings.json"])
                want = {"intervalSeconds": 600, "condorQTimeoutSeconds": 10, "diskUsagePercent": 90, "scheddProcess": "condor_schedd",
                        "sharedLogsPath": "/var/log/condor_logs", "stateDir": "/var/log/panda"}
                got = {k: settings.get(k) for k in want}
                if got != want or settings["mail"]["smtpHost"]:
                    raise Failure(f"{what}: settings {settings}, want {want} and no mail")
            else:
                assert_off(m, what)
        # Off in an experiment that has it on: everything goes, the API server rule too.
        assert_off(monitor(render.template(helm, "harvester", "dev", extra=["--set", "harvester.healthMonitor.enabled=false"])),
                   f"{helm} dev with healthMonitor.enabled=false")


@check
def the_health_monitor_settings_reach_the_script_and_bad_ones_are_refused(helm4, helm3):
    mail = ["--set-json", 'harvester.healthMonitor.mail={"to": ["ops@example.org"], "from": "harvester@example.org", '
            '"smtpHost": "smtp.example.org", "smtpPort": 587, "startTls": true}',
            "--set", "harvester.healthMonitor.diskUsagePercent=80"]
    m = monitor(render.template(helm4, "harvester", "doma", extra=mail))
    settings = json.loads(m["configMap"]["data"]["settings.json"])
    if settings["mail"] != {"to": ["ops@example.org"], "from": "harvester@example.org", "smtpHost": "smtp.example.org",
                            "smtpPort": 587, "startTls": True} or settings["diskUsagePercent"] != 80:
        raise Failure(f"the settings did not reach settings.json: {settings}")
    bad = {
        "harvester.healthMonitor.diskUsagePercent=101": "diskUsagePercent",
        "harvester.healthMonitor.intervalSeconds=1": "intervalSeconds",
        "harvester.healthMonitor.everySeconds=60": "everySeconds",
        "harvester.healthMonitor.mail.to[0]=nobody": "to",
        "harvester.healthMonitor.mail.to[0]=ops@example.org": "give to, from and smtpHost together",
    }
    for helm in (helm4, helm3):
        for setting, needle in bad.items():
            proc = render.template(helm, "harvester", "doma", check=False, extra=["--set", setting])
            if isinstance(proc, list) or needle not in proc.stderr:
                raise Failure(f"{helm}: --set {setting} was not refused naming {needle!r}:\n"
                              f"{'' if isinstance(proc, list) else proc.stderr}")
