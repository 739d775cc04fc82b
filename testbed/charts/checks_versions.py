"""Current versions (issue 20): iDDS' transceiver agent (prompt processing) runs exactly when
daemon.promptProcessing is on, as its own supervisord program in the daemon's launcher, and the daemon
StatefulSet announces its agents to panda-install's compatibility table; every chart's appVersion
names the version it deploys."""
import subprocess

import render
import yaml
from render import Failure, check

DAEMON = "test-idds-daemon"


def daemon(docs):
    found = [d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == DAEMON]
    if len(found) != 1:
        raise Failure(f"no StatefulSet {DAEMON}")
    return found[0]


def startup(doc):
    _, spec = render.pod_spec(doc)
    return spec["containers"][0]["args"][0]


@check
def the_idds_transceiver_runs_exactly_with_prompt_processing(helm4, helm3):
    for experiment in render.experiments():
        doc = daemon(render.template(helm4, "idds", experiment))
        notes = doc["metadata"].get("annotations", {})
        if "transceiver" in startup(doc) or notes.get("panda-install/idds-prompt-processing") != "false":
            raise Failure(f"{experiment}: prompt processing is on, but no upstream experiment runs the transceiver")
        if "transceiver" in notes.get("panda-install/idds-agents", "transceiver") or "clerk" not in notes["panda-install/idds-agents"]:
            raise Failure(f"{experiment}: agents annotation {notes.get('panda-install/idds-agents')!r}")
    prompt = ["--set", "daemon.promptProcessing=true"]
    brokers = ["--set-json", 'daemon.config.iddsConfigMap={"/opt/idds/config/idds/idds.cfg": {"prompt": '
               '{"worker_subscriber_broker": "{}", "worker_publisher_broker": "{}"}}}']
    proc = render.template(helm4, "idds", "dev", check=False, extra=prompt)
    if not isinstance(proc, subprocess.CompletedProcess) or "worker_subscriber_broker" not in proc.stderr:
        raise Failure("prompt processing without the transceiver's brokers was not refused")
    for helm in (helm4, helm3):
        doc = daemon(render.template(helm, "idds", "dev", extra=prompt + brokers))
        script = startup(doc)
        notes = doc["metadata"]["annotations"]
        if not notes["panda-install/idds-agents"].endswith(",transceiver") or notes["panda-install/idds-prompt-processing"] != "true":
            raise Failure(f"{helm}: the annotations do not announce the transceiver: {notes}")
        for needle in ('IDDS_AGENTS="transceiver"', "[program:idds-transceiver]",
                       'printf " %s" /tmp/supervisord_idds_transceiver.ini'):
            if needle not in script:
                raise Failure(f"{helm}: the daemon's startup lacks {needle!r}")
        proc = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise Failure(f"{helm}: the daemon's startup is not valid bash: {proc.stderr}")
    proc = render.template(helm4, "idds", "dev", check=False, extra=["--set", "daemon.promptProcessing=yes"])
    if not isinstance(proc, subprocess.CompletedProcess) or "promptProcessing" not in proc.stderr:
        raise Failure("a non-boolean promptProcessing was not refused by the schema")


# The sub-chart whose version an umbrella chart's appVersion names.
MAIN_SUBCHART = {"bigmon": "main", "harvester": "harvester", "iam": "main", "idds": "daemon",
                 "msgsvc": "activemq", "panda": "server", "ui": "backend"}
# appVersion names the software, not the image tag: panda-activemq 0.0.4 carries ActiveMQ 5.17.1.
SOFTWARE_VERSION = {"msgsvc/activemq": "5.17.1"}


def chart_yaml(path):
    return yaml.safe_load((render.ROOT / path / "Chart.yaml").read_text())


@check
def every_charts_app_version_names_the_version_it_deploys(helm4, helm3):
    wrong = []
    for umbrella, main in MAIN_SUBCHART.items():
        for sub in sorted((render.ROOT / "helm" / umbrella / "charts").iterdir()):
            if not (sub / "values.yaml").is_file():
                continue
            key = f"{umbrella}/{sub.name}"
            tag = str((yaml.safe_load((sub / "values.yaml").read_text()).get("image") or {}).get("tag", ""))
            app = str(chart_yaml(f"helm/{umbrella}/charts/{sub.name}").get("appVersion", ""))
            want = SOFTWARE_VERSION.get(key, tag)
            if tag and app != want:
                wrong.append(f"helm/{umbrella}/charts/{sub.name}: appVersion {app!r}, deploys {want!r}")
        top = str(chart_yaml(f"helm/{umbrella}").get("appVersion", ""))
        sub = str(chart_yaml(f"helm/{umbrella}/charts/{main}").get("appVersion", ""))
        if top != sub:
            wrong.append(f"helm/{umbrella}: appVersion {top!r}, its {main} deploys {sub!r}")
    if wrong:
        raise Failure("; ".join(wrong))
