"""Harvester's health monitor (harvester.healthMonitor): the rendered script and settings, run for real on
loopback. HTCondor is stood in for by a fake schedd process and a fake condor_q on PATH (only to inject
the failures: no schedd, a condor_q that hangs), the shared logs volume by a directory whose filesystem
is over (threshold 1%) or under (100%) the limit, the API server by a local HTTPS server with its own
CA (it records the Events posted with the token), the SMTP relay by a local SMTP catcher."""
import email
import json
import os
import shutil
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import render
from suite import check, test

TOKEN = "health-monitor-test-token"
POD = {"POD_NAME": "test-harvester-0", "POD_NAMESPACE": "panda", "POD_UID": "0a1b2c3d-uid"}
CHECKS = ("condor-schedd", "condor-q", "shared-logs")
FAILING = {"condor-schedd": "CondorScheddMissing", "condor-q": "CondorQUnresponsive", "shared-logs": "SharedLogsFull"}
RECOVERED = {"condor-schedd": "CondorScheddRunning", "condor-q": "CondorQResponsive", "shared-logs": "SharedLogsRecovered"}


class Events(BaseHTTPRequestHandler):
    posted = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Events.posted.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": json.loads(body)})
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


class Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib.send_message: one message per connection, kept in `mails`."""
    mails = []

    def reply(self, line):
        self.wfile.write((line + "\r\n").encode())

    def handle(self):
        self.reply("220 catcher")
        sender, rcpts = None, []
        while True:
            line = self.rfile.readline().decode().rstrip("\r\n")
            verb = line[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 catcher")
            elif verb == "MAIL":
                sender = line.split(":", 1)[1].strip().strip("<>")
                self.reply("250 ok")
            elif verb == "RCPT":
                rcpts.append(line.split(":", 1)[1].strip().strip("<>"))
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    data += self.rfile.readline()
                Smtp.mails.append({"from": sender, "to": rcpts, "msg": email.message_from_bytes(data[:-5])})
                self.reply("250 queued")
            elif verb == "QUIT" or not line:
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


def tls_files(work):
    """A CA and a server certificate for 127.0.0.1 signed by it (the ServiceAccount mount's ca.crt)."""
    def ossl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)
    ca, key, csr, crt = (os.path.join(work, n) for n in ("ca.crt", "server.key", "server.csr", "server.crt"))
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca",
         "-keyout", os.path.join(work, "ca.key"), "-out", ca)
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", csr)
    ext = os.path.join(work, "san.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    ossl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", os.path.join(work, "ca.key"), "-CAcreateserial",
         "-days", "1", "-extfile", ext, "-out", crt)
    return ca, crt, key


class Bed:
    """The script, its settings pointed at the stand-ins, and a way to run it."""

    def __init__(self, ctx):
        rendered = render.render_experiment(
            ctx.root, ctx.helm, "doma", ctx.secrets, components=("harvester",), extra_component={"harvester": [
                "--set-json", 'harvester.healthMonitor.mail={"to": ["ops@example.org"], '
                '"from": "harvester@example.org", "smtpHost": "smtp.example.org", "smtpPort": 25, "startTls": false}']})
        data = rendered.configmap_data("test-harvester-harvester-health-monitor")
        check(data is not None, "doma renders no test-harvester-harvester-health-monitor ConfigMap")
        self.work = tempfile.mkdtemp(prefix="health.", dir=ctx.base)
        self.script = os.path.join(self.work, "health-monitor.py")
        with open(self.script, "w") as f:
            f.write(data["health-monitor.py"])
        self.settings = json.loads(data["settings.json"])
        check(self.settings["mail"]["to"] == ["ops@example.org"], f"mail.to not rendered: {self.settings}")
        for d in ("sa", "state", "logs", "bin"):
            os.makedirs(os.path.join(self.work, d))
        ca, crt, key = tls_files(self.work)
        shutil.copy(ca, os.path.join(self.work, "sa", "ca.crt"))
        with open(os.path.join(self.work, "sa", "token"), "w") as f:
            f.write(TOKEN + "\n")
        self.api = ThreadingHTTPServer(("127.0.0.1", 0), Events)
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(crt, key)
        self.api.socket = tls.wrap_socket(self.api.socket, server_side=True)
        self.smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Smtp)
        for server in (self.api, self.smtp):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        # the stand-ins: a schedd process of a name no real process has, and condor_q driven by a file
        self.schedd_name = f"schedd{os.getpid() % 100000}"
        shutil.copy(shutil.which("sleep"), os.path.join(self.work, "bin", self.schedd_name))
        self.mode = os.path.join(self.work, "condor_q.mode")
        with open(os.path.join(self.work, "bin", "condor_q"), "w") as f:
            f.write(f'#!/bin/sh\ncase "$(cat {self.mode})" in\n  hang) exec sleep 30 ;;\n'
                    '  refused) echo "Failed to fetch ads from: <127.0.0.1:9618>" >&2; exit 1 ;;\n'
                    '  *) echo "-- Schedd: test : <127.0.0.1:9618> 0 jobs"; exit 0 ;;\nesac\n')
        os.chmod(os.path.join(self.work, "bin", "condor_q"), 0o755)
        self.schedd = None
        self.settings.update({
            "scheddProcess": self.schedd_name, "condorQTimeoutSeconds": 1, "intervalSeconds": 0,
            "sharedLogsPath": os.path.join(self.work, "logs"), "stateDir": os.path.join(self.work, "state"),
            "serviceAccountDir": os.path.join(self.work, "sa"), "apiServer": f"https://127.0.0.1:{self.api.server_address[1]}"})
        self.settings["mail"].update({"smtpHost": "127.0.0.1", "smtpPort": self.smtp.server_address[1]})

    def healthy(self, ok):
        """Every stand-in healthy (ok) or failing."""
        if ok and self.schedd is None:
            self.schedd = subprocess.Popen([os.path.join(self.work, "bin", self.schedd_name), "300"])
        if not ok and self.schedd is not None:
            self.schedd.kill()
            self.schedd.wait()
            self.schedd = None
        with open(self.mode, "w") as f:
            f.write("ok" if ok else "hang")
        self.settings["diskUsagePercent"] = 100 if ok else 1

    def run(self, *args, pod=None):
        path = os.path.join(self.work, "settings.json")
        with open(path, "w") as f:
            json.dump(self.settings, f)
        env = dict(os.environ, PATH=os.path.join(self.work, "bin") + os.pathsep + os.environ["PATH"], **POD)
        if pod:
            env["POD_NAME"] = pod
        proc = subprocess.run([sys.executable, self.script, path, *args], env=env, capture_output=True, text=True, timeout=60)
        check(proc.returncode == 0, f"the monitor exited {proc.returncode}: {proc.stderr[-2000:]}")
        return [line for line in proc.stdout.splitlines() if "health-monitor:" in line]

    def markers(self):
        return sorted(n for n in os.listdir(self.settings["stateDir"]) if n.endswith(".failing"))

    def close(self):
        self.healthy(False)
        self.api.shutdown()
        self.smtp.shutdown()


def lines_of(lines, word):
    return [line for line in lines if f": {word}: " in line]


def assert_episode(bed, events, mails, ok):
    reasons = RECOVERED if ok else FAILING
    check(sorted(e["body"]["reason"] for e in events) == sorted(reasons.values()),
          f"Events {[e['body']['reason'] for e in events]}, want {sorted(reasons.values())}")
    for e in events:
        body = e["body"]
        check(e["path"] == "/api/v1/namespaces/panda/events", f"Event posted to {e['path']}")
        check(e["auth"] == f"Bearer {TOKEN}", f"Event posted with {e['auth']!r}, not the pod's token")
        check(body["involvedObject"] == {"apiVersion": "v1", "kind": "Pod", "name": POD["POD_NAME"],
                                         "namespace": "panda", "uid": POD["POD_UID"]}, f"involvedObject {body['involvedObject']}")
        check(body["type"] == ("Normal" if ok else "Warning") and body["message"], f"Event {body}")
    check(sorted(m["msg"]["Subject"].split()[2] for m in mails) == sorted(CHECKS), f"mails {[m['msg']['Subject'] for m in mails]}")
    for m in mails:
        check(m["to"] == ["ops@example.org"] and m["msg"]["From"] == "harvester@example.org", f"mail {m['to']} {m['msg']['From']}")
        check(("RECOVERED" if ok else "FAILING") in m["msg"]["Subject"], f"mail subject {m['msg']['Subject']}")
    check(bed.markers() == ([] if ok else sorted(f".health-monitor.{POD['POD_NAME']}.{c}.failing" for c in CHECKS)), f"markers {bed.markers()}")


@test("harvester-health-monitor")
def harvester_health_monitor(ctx):
    Events.posted.clear()
    Smtp.mails.clear()
    bed = Bed(ctx)
    try:
        # All well: one "ok" line per check, nothing reported.
        bed.healthy(True)
        lines = bed.run("--once")
        check(len(lines_of(lines, "ok")) == 3 and not Events.posted and not Smtp.mails,
              f"healthy: lines {lines}, events {len(Events.posted)}, mails {len(Smtp.mails)}")
        # No schedd, condor_q hangs, the volume over the limit: three rounds of one run give one line,
        # one Event and one mail per check (the first round), no more.
        bed.healthy(False)
        lines = bed.run("--rounds", "3")
        check(len(lines_of(lines, "FAILING")) == 3, f"failing: want one FAILING line per check: {lines}")
        check(any("did not answer within 1 s" in line for line in lines), f"no condor_q timeout line: {lines}")
        assert_episode(bed, Events.posted, Smtp.mails, ok=False)
        # A restart in the same episode (the markers on the logs volume): no second Event or mail.
        bed.run("--once")
        check(len(Events.posted) == 3 and len(Smtp.mails) == 3,
              f"a second run of the same episode reported again: {len(Events.posted)} events, {len(Smtp.mails)} mails")
        # All well again: one RECOVERED Event and mail per check, the markers gone.
        bed.healthy(True)
        lines = bed.run("--once")
        check(len(lines_of(lines, "ok")) == 3, f"recovered: lines {lines}")
        assert_episode(bed, Events.posted[3:], Smtp.mails[3:], ok=True)
        # condor_q answering with an error counts as failing; a second replica sharing the logs
        # volume has episodes of its own (its markers carry its name).
        with open(bed.mode, "w") as f:
            f.write("refused")
        for pod in ("test-harvester-0", "test-harvester-1"):
            lines = bed.run("--once", pod=pod)
            check(any("condor-q: FAILING: condor_q exited 1: Failed to fetch ads" in line for line in lines), f"{pod}: {lines}")
        reported = [(e["body"]["involvedObject"]["name"], e["body"]["reason"]) for e in Events.posted[6:]]
        check(reported == [("test-harvester-0", "CondorQUnresponsive"), ("test-harvester-1", "CondorQUnresponsive")],
              f"one Event per replica: {reported}")
    finally:
        bed.close()
    return f"{len(Events.posted)} Events, {len(Smtp.mails)} mails"
