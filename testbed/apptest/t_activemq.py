"""ActiveMQ (Debian's activemq 5.17) with the broker configuration our configure-broker.py writes from
the msgsvc-envs Secret; the accounts, channels and ACL of the secrets chart over STOMP (stomp.py, the
client PanDA and iDDS use); the destinations of PanDA's, JEDI's and iDDS' rendered configurations."""
import json
import os
import queue
import subprocess
import sys
import uuid

import stomp

from suite import Failure, check, expect_failure, test
from servers import ActiveMQ

EXP = "dev"


class _Listener(stomp.ConnectionListener):
    def __init__(self, events):
        self.events = events

    def on_error(self, frame):
        self.events.put(("error", frame.headers.get("receipt-id"), frame.headers.get("message", "") + " " + frame.body))

    def on_receipt(self, frame):
        self.events.put(("receipt", frame.headers.get("receipt-id"), ""))

    def on_message(self, frame):
        self.events.put(("message", frame.headers.get("destination"), frame.body))

    def on_disconnected(self):
        self.events.put(("disconnected", None, ""))


class Client:
    def __init__(self, port, user, password):
        self.user = user
        self.events = queue.Queue()
        self.conn = stomp.Connection12([("127.0.0.1", port)], reconnect_attempts_max=1)
        self.conn.set_listener("t", _Listener(self.events))
        self.conn.connect(user, password, wait=True, headers={"client-id": "%s-%s" % (user, uuid.uuid4().hex[:6])})

    def _await(self, receipt, what, timeout=10):
        while True:
            try:
                kind, rid, text = self.events.get(timeout=timeout)
            except queue.Empty:
                raise Failure("%s: no receipt from the broker within %ss" % (what, timeout))
            if kind == "receipt" and rid == receipt:
                return
            if kind in ("error", "disconnected"):
                raise Failure("%s refused: %s" % (what, text.strip()[:300]))

    def send(self, destination, body):
        rid = uuid.uuid4().hex
        self.conn.send(destination, body, headers={"receipt": rid, "persistent": "true"})
        self._await(rid, "%s SEND %s" % (self.user, destination))

    def subscribe(self, destination):
        rid = uuid.uuid4().hex
        self.conn.subscribe(destination, id=uuid.uuid4().hex, ack="auto", headers={"receipt": rid})
        self._await(rid, "%s SUBSCRIBE %s" % (self.user, destination))

    def receive(self, body, timeout=10):
        while True:
            try:
                kind, dest, text = self.events.get(timeout=timeout)
            except queue.Empty:
                raise Failure("%s: message %r not delivered within %ss" % (self.user, body, timeout))
            if kind == "message" and text == body:
                return dest
            if kind in ("error", "disconnected"):
                raise Failure("%s: %s" % (self.user, text.strip()[:300]))

    def close(self):
        try:
            self.conn.disconnect()
        except Exception:  # noqa: BLE001
            pass


def broker(ctx):
    if "activemq" in ctx.servers:
        return ctx.servers["activemq"]
    w = ctx.workload(EXP, "msgsvc", "activemq")
    env = ctx.env(EXP, "msgsvc", "activemq")
    cfg = ctx.rendered(EXP).configmap_data("test-msgsvc-activemq-config")
    mq = ActiveMQ(ctx.runner, "activemq")
    work = ctx.tmpdir("activemq", "chart")
    for name in ("activemq.xml.in", "configure-broker.py"):
        ctx.runner.write(os.path.join(work, name), cfg[name], 0o644)
    generated = ctx.tmpdir("activemq", "generated")
    # our start script, as the container runs it: configure-broker.py <template> <output dir>
    ctx.runner.run([sys.executable, os.path.join(work, "configure-broker.py"), os.path.join(work, "activemq.xml.in"),
                    generated], env={"PATH": os.environ["PATH"], **{k: env[k] for k in env if k.startswith("ACTIVEMQ_")}}, demote=False)
    xml = open(os.path.join(generated, "activemq.xml")).read()
    # loopback relocation (the only edits): data directory and the STOMP listener address/port
    for needle in ("/appdata/activemq", "stomp://0.0.0.0:61613"):
        check(needle in xml, "rendered activemq.xml lacks %r" % needle)
    xml = xml.replace("/appdata/activemq", mq.data).replace("stomp://0.0.0.0:61613", "stomp://127.0.0.1:%d" % mq.port)
    ctx.runner.write(os.path.join(mq.conf, "activemq.xml"), xml)
    for name in ("users.properties", "groups.properties", "login.config"):
        ctx.runner.write(os.path.join(mq.conf, name), open(os.path.join(generated, name)).read())
    check(any(p["containerPort"] == 61613 for p in w.containers()[0]["ports"]), "no STOMP port 61613")
    mq.start(env["ACTIVEMQ_OPTS_MEMORY"], env.get("JAVA_TOOL_OPTIONS", ""))
    ctx.servers["activemq"] = mq
    return mq


def accounts(ctx):
    """{account: password as its consumer's Secret carries it}."""
    msg = ctx.env(EXP, "msgsvc", "activemq")
    panda = ctx.env(EXP, "panda", "server")
    idds = ctx.env(EXP, "idds", "rest")
    out = {}
    for account in msg["ACTIVEMQ_ACCOUNTS"].split(";"):
        out[account] = "%s_%s" % (msg["ACTIVEMQ_BASE_PASSWD"], account)
    out["panda"] = panda["PANDA_ACTIVEMQ_PASSWD_panda"]
    out["jedi"] = panda["PANDA_ACTIVEMQ_PASSWD_jedi"]
    check(idds["IDDS_CONDUCTOR_USERNAME"] == "idds" and idds["IDDS_RECEIVER_USERNAME"] == "idds", "iDDS user is not idds")
    out["idds"] = idds["IDDS_CONDUCTOR_PASSWORD"]
    check(idds["IDDS_RECEIVER_PASSWORD"] == out["idds"], "iDDS conductor and receiver passwords differ")
    return out


def rendered_mq_configs(ctx):
    """PanDA's and JEDI's message-queue JSONs, rendered by the chart's own process-templates.py with the pod env."""
    out = {}
    for component, names in (("server", ["panda_mbproxy_config.json"]),
                             ("jedi", ["jedi_mq_config.json", "jedi_msg_proc_config.json"])):
        sandbox = ctx.rendered(EXP).configmap_data("test-panda-%s-sandbox" % component)
        work = ctx.tmpdir("panda-%s-sandbox" % component)
        for key, text in sandbox.items():
            ctx.runner.write(os.path.join(work, key), text, 0o644)
        env = ctx.env(EXP, "panda", component)
        proc = ctx.runner.run([sys.executable, os.path.join(work, "process-templates.py"), work],
                              env={"PATH": os.environ["PATH"], **env}, demote=False)
        check("unset" not in proc.stdout, "process-templates: %s" % proc.stdout.strip())
        for name in names:
            out[name] = json.load(open(os.path.join(work, name)))
    return out


@test("activemq: our configure-broker.py + Debian activemq 5.17 start on loopback")
def t_start(ctx):
    mq = broker(ctx)
    return "STOMP on 127.0.0.1:%d" % mq.port


@test("activemq: every account logs in with the password its consumer's Secret carries")
def t_accounts(ctx):
    mq = broker(ctx)
    for account, password in accounts(ctx).items():
        Client(mq.port, account, password).close()
    return ", ".join(sorted(accounts(ctx)))


@test("activemq: [break] a wrong password and an unknown user are refused")
def t_wrong_password(ctx):
    mq = broker(ctx)
    pw = accounts(ctx)["panda"]
    a = expect_failure("panda with a wrong password", lambda: Client(mq.port, "panda", pw + "x"), "connect")
    expect_failure("unknown user", lambda: Client(mq.port, "nobody", pw), "connect")
    return a[:80]


@test("activemq: each channel: writers send, readers receive (queue and topic), others are refused")
def t_channels(ctx):
    mq = broker(ctx)
    pw = accounts(ctx)
    channels = ctx.env(EXP, "msgsvc", "activemq")["ACTIVEMQ_CHANNELS"].split(";")
    denied = 0
    for channel in channels:
        name, writers, readers = channel.split(":")
        writers, readers = writers.split(","), readers.split(",")
        # a queue hands each message to one consumer: every reader is checked on its own
        for reader in readers:
            dest = "/queue/" + name
            c = Client(mq.port, reader, pw[reader])
            c.subscribe(dest)
            for writer in writers:
                body = "apptest %s %s->%s %s" % (dest, writer, reader, uuid.uuid4().hex[:8])
                w = Client(mq.port, writer, pw[writer])
                w.send(dest, body)
                w.close()
                c.receive(body)
            c.close()
        # a topic hands each message to every subscriber
        dest = "/topic/" + name
        subs = []
        for reader in readers:
            c = Client(mq.port, reader, pw[reader])
            c.subscribe(dest)
            subs.append(c)
        body = "apptest %s %s" % (dest, uuid.uuid4().hex[:8])
        w = Client(mq.port, writers[0], pw[writers[0]])
        w.send(dest, body)
        w.close()
        for c in subs:
            c.receive(body)
            c.close()
        for outsider in sorted(set(pw) - set(writers) - set(readers)):
            c = Client(mq.port, outsider, pw[outsider])
            expect_failure("%s writing %s" % (outsider, name), lambda: c.send("/queue/" + name, "x"), "not authorized")
            c.close()
            c = Client(mq.port, outsider, pw[outsider])
            expect_failure("%s reading %s" % (outsider, name), lambda: c.subscribe("/queue/" + name), "not authorized")
            c.close()
            denied += 2
    return "%d channels, %d refusals verified" % (len(channels), denied)


def _queue_user(cfg, queue_name):
    q = cfg["queues"][queue_name]
    server = cfg["mb_servers"][q["server"]]
    return q["destination"], server["username"], server["passcode"]


@test("activemq: PanDA's and JEDI's rendered mq configs: every producer may send, every consumer may subscribe")
def t_panda_configs(ctx):
    mq = broker(ctx)
    configs = rendered_mq_configs(ctx)
    checked = []
    mbproxy = configs["panda_mbproxy_config.json"]
    for qname in mbproxy["queues"]:
        dest, user, passcode = _queue_user(mbproxy, qname)
        c = Client(mq.port, user, passcode)
        c.send(dest, "apptest")
        c.close()
        checked.append("server:%s" % qname)
    jmq = configs["jedi_mq_config.json"]
    for qname in jmq["queues"]:
        dest, user, passcode = _queue_user(jmq, qname)
        c = Client(mq.port, user, passcode)
        c.send(dest, "apptest")
        c.close()
        checked.append("jedi-mq:%s" % qname)
    proc = configs["jedi_msg_proc_config.json"]
    for pname, p in proc["processors"].items():
        if p.get("enable") is False:
            continue
        dest, user, passcode = _queue_user(proc, p["in_queue"])
        c = Client(mq.port, user, passcode)
        c.subscribe(dest)
        c.close()
        if p.get("out_queue"):
            dest, user, passcode = _queue_user(proc, p["out_queue"])
            c = Client(mq.port, user, passcode)
            c.send(dest, "apptest")
            c.close()
        checked.append("jedi-proc:%s" % pname)
    return "%d destinations" % len(checked)


@test("activemq: a PanDA job-status message reaches iDDS' receiver; an iDDS message reaches JEDI")
def t_end_to_end(ctx):
    mq = broker(ctx)
    configs = rendered_mq_configs(ctx)
    idds = ctx.env(EXP, "idds", "rest")
    # PanDA server -> iDDS (panda_jobstatus of the mbproxy config -> IDDS_RECEIVER_DESTINATION)
    receiver = Client(mq.port, idds["IDDS_RECEIVER_USERNAME"], idds["IDDS_RECEIVER_PASSWORD"])
    receiver.subscribe(idds["IDDS_RECEIVER_DESTINATION"])
    dest, user, passcode = _queue_user(configs["panda_mbproxy_config.json"], "panda_jobstatus")
    sender = Client(mq.port, user, passcode)
    body = "job status %s" % uuid.uuid4().hex[:8]
    sender.send(dest, body)
    try:
        receiver.receive(body, timeout=5)
    except Failure:
        raise Failure("PanDA publishes job status to %s but iDDS' receiver subscribes to %s: the message is lost"
                      % (dest, idds["IDDS_RECEIVER_DESTINATION"]))
    # JEDI's forwarding of task status (to-idds) -> iDDS receiver
    proc = configs["jedi_msg_proc_config.json"]
    dest, user, passcode = _queue_user(proc, "to-idds")
    sender2 = Client(mq.port, user, passcode)
    body = "task status %s" % uuid.uuid4().hex[:8]
    sender2.send(dest, body)
    try:
        receiver.receive(body, timeout=5)
    except Failure:
        raise Failure("JEDI forwards to %s but iDDS subscribes to %s" % (dest, idds["IDDS_RECEIVER_DESTINATION"]))
    # iDDS conductor -> JEDI's "idds" in-queue
    dest_in, user, passcode = _queue_user(proc, "idds")
    jedi = Client(mq.port, user, passcode)
    jedi.subscribe(dest_in)
    conductor = Client(mq.port, idds["IDDS_CONDUCTOR_USERNAME"], idds["IDDS_CONDUCTOR_PASSWORD"])
    body = "idds msg %s" % uuid.uuid4().hex[:8]
    conductor.send(idds["IDDS_CONDUCTOR_DESTINATION"], body)
    try:
        jedi.receive(body, timeout=5)
    except Failure:
        raise Failure("iDDS sends to %s but JEDI listens on %s" % (idds["IDDS_CONDUCTOR_DESTINATION"], dest_in))
    for c in (receiver, sender, sender2, jedi, conductor):
        c.close()
    return "server->iDDS, JEDI->iDDS, iDDS->JEDI delivered"


@test("activemq: [break] JEDI's work queues are refused to the panda account")
def t_acl_break(ctx):
    mq = broker(ctx)
    c = Client(mq.port, "panda", accounts(ctx)["panda"])
    text = expect_failure("panda writing jedi_job_generator", lambda: c.send("/queue/jedi_job_generator", "x"),
                          "not authorized")
    c.close()
    return text[:90]
