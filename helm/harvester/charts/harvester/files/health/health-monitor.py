#!/usr/bin/env python3
"""Harvester health monitor (chart harvester, value healthMonitor; docs/charts.md "Harvester").

Runs inside the Harvester container (started by the chart's start script after HTCondor is up) and
checks, every intervalSeconds:
  condor-schedd   a condor_schedd process (scheddProcess) exists, read from /proc
  condor-q        `condor_q` exits 0 within condorQTimeoutSeconds
  shared-logs     the usage of sharedLogsPath (the condor logs volume, the experiments' shared logs
                  claim) is below diskUsagePercent
A check whose result changes writes one log line (stdout). A check that starts failing creates a
Warning Event on this pod, sends one mail (mail.to, when mail.smtpHost is set) and leaves a marker
file <stateDir>/.health-monitor.<pod>.<check>.failing; when it passes again: a Normal Event, a
RECOVERED mail, the marker removed. The markers keep "one mail per episode" across restarts of the
container (named by pod: replicas may share the logs volume).

usage: health-monitor.py SETTINGS.json [--once | --rounds N]
"""
import json
import os
import shutil
import smtplib
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from email.message import EmailMessage

COMPONENT = "harvester-health-monitor"
# check name -> (Event reason when it fails, Event reason when it passes again)
REASONS = {
    "condor-schedd": ("CondorScheddMissing", "CondorScheddRunning"),
    "condor-q": ("CondorQUnresponsive", "CondorQResponsive"),
    "shared-logs": ("SharedLogsFull", "SharedLogsRecovered"),
}


def log(message):
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"{stamp} health-monitor: {message}", flush=True)


def check_schedd(settings):
    name = settings["scheddProcess"]
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0", 1)[0].decode(errors="replace")
        except OSError:
            continue  # the process ended meanwhile, or is not ours to read
        if comm == name[:15] or os.path.basename(argv0) == name:
            return True, f"{name} runs (pid {pid})"
    return False, f"no {name} process"


def check_condor_q(settings):
    timeout = settings["condorQTimeoutSeconds"]
    try:
        proc = subprocess.run(["condor_q"], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"condor_q did not answer within {timeout} s"
    except OSError as exc:
        return False, f"condor_q could not be run: {exc}"
    if proc.returncode != 0:
        last = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or [""]
        return False, f"condor_q exited {proc.returncode}: {last[0][:200]}"
    return True, "condor_q answered"


def check_shared_logs(settings):
    path, limit = settings["sharedLogsPath"], settings["diskUsagePercent"]
    try:
        usage = shutil.disk_usage(path)
    except OSError as exc:
        return False, f"{path} cannot be read: {exc}"
    percent = 100 * usage.used / usage.total if usage.total else 100
    gib = 1024 ** 3
    text = f"{path} at {percent:.0f}% ({usage.used // gib} GiB of {usage.total // gib} GiB)"
    if percent >= limit:
        return False, f"{text}, at or above {limit}%"
    return True, f"{text}, below {limit}%"


CHECKS = {"condor-schedd": check_schedd, "condor-q": check_condor_q, "shared-logs": check_shared_logs}


def post_event(settings, check, ok, message):
    """Creates a core/v1 Event on this pod with the pod's ServiceAccount token."""
    sa_dir = settings["serviceAccountDir"]
    base = settings["apiServer"]
    if not base:
        host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            raise RuntimeError("KUBERNETES_SERVICE_HOST is not set")
        base = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    with open(os.path.join(sa_dir, "token")) as f:
        token = f.read().strip()
    namespace = os.environ["POD_NAMESPACE"]
    pod = os.environ["POD_NAME"]
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    reason = REASONS[check][1 if ok else 0]
    body = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{pod}.{time.time_ns():x}", "namespace": namespace},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod, "namespace": namespace,
                           "uid": os.environ.get("POD_UID", "")},
        "reason": reason,
        "message": message[:1024],
        "type": "Normal" if ok else "Warning",
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": pod,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    request = urllib.request.Request(
        f"{base}/api/v1/namespaces/{namespace}/events", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    context = ssl.create_default_context(cafile=os.path.join(sa_dir, "ca.crt"))
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            response.read()
    except urllib.error.HTTPError as exc:  # the API server's Status says why (e.g. forbidden: no Role)
        try:
            detail = json.loads(exc.read()).get("message", "")
        except ValueError:
            detail = ""
        raise RuntimeError(f"HTTP {exc.code} from the API server: {detail or exc.reason}") from None
    return reason


def send_mail(settings, subject, text):
    mail = settings["mail"]
    if not (mail["smtpHost"] and mail["to"]):
        return False
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = mail["from"]
    msg["To"] = ", ".join(mail["to"])
    msg.set_content(text + "\n")
    with smtplib.SMTP(mail["smtpHost"], mail["smtpPort"], timeout=30) as smtp:
        if mail["startTls"]:
            smtp.starttls(context=ssl.create_default_context())
        smtp.send_message(msg)
    return True


def report(settings, check, ok, message):
    """A changed result: the Event, the mail (failing: once per episode) and the marker file."""
    pod = os.environ.get("POD_NAME", os.uname().nodename)
    marker = os.path.join(settings["stateDir"], f".health-monitor.{pod}.{check}.failing")
    failing_before = os.path.exists(marker)
    if ok != failing_before:
        return  # no new episode (a restart in the middle of one, or never failed)
    state = "RECOVERED" if ok else "FAILING"
    try:
        reason = post_event(settings, check, ok, message)
        log(f"{check}: Event {reason} created on pod {pod}")
    except Exception as exc:  # noqa: BLE001 - any failure to report is logged, the checks go on
        log(f"{check}: could not create the Event: {exc}")
    try:
        if send_mail(settings, f"[harvester {pod}] {check} {state}: {message}", f"{state}: {message}"):
            log(f"{check}: mail sent to {', '.join(settings['mail']['to'])}")
    except Exception as exc:  # noqa: BLE001
        log(f"{check}: could not send the mail: {exc}")
    if ok:
        os.remove(marker)
    else:
        with open(marker, "w") as f:
            f.write(message + "\n")


def round_(settings, last):
    for check, fn in CHECKS.items():
        try:
            ok, message = fn(settings)
        except Exception as exc:  # noqa: BLE001 - a broken check counts as failing
            ok, message = False, f"check failed: {exc}"
        if last.get(check) != ok:
            log(f"{check}: {'ok' if ok else 'FAILING'}: {message}")
            last[check] = ok
        report(settings, check, ok, message)


def main(argv):
    if len(argv) not in (1, 2, 3) or (len(argv) > 1 and argv[1] not in ("--once", "--rounds")):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    with open(argv[0]) as f:
        settings = json.load(f)
    rounds = 1 if argv[1:2] == ["--once"] else int(argv[2]) if len(argv) == 3 else 0
    log(f"checking every {settings['intervalSeconds']} s: condor_schedd, condor_q "
        f"({settings['condorQTimeoutSeconds']} s), {settings['sharedLogsPath']} below {settings['diskUsagePercent']}%")
    last = {}
    done = 0
    while True:
        round_(settings, last)
        done += 1
        if rounds and done >= rounds:
            return 0
        time.sleep(settings["intervalSeconds"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
