"""Application tests: the real PanDA software, started on loopback with what the charts render.

The runner is apptest.py; this module holds the registry, the assertions and the shared context.
"""
import os
import shutil
import tempfile

import render
import servers

TESTS = []


def test(name):
    def register(fn):
        TESTS.append((name, fn))
        return fn
    return register


class Failure(AssertionError):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def expect_failure(what, fn, needle):
    """A deliberate break: fn() must fail and its message must contain needle. Returns the message."""
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - any failure of the checked software counts
        text = "%s: %s" % (type(exc).__name__, exc)
        check(needle.lower() in text.lower(), "%s failed, but not as expected (%r not in %r)" % (what, needle, text))
        return text
    raise Failure("deliberate break %r did not fail: the test cannot see this break" % what)


class Context:
    """Renders the charts once per experiment and starts the servers on demand."""

    def __init__(self, root, secrets, user, keep):
        self.root = root
        self.secrets = secrets
        self.helm = render.helm_binaries()["4"]
        self.base = tempfile.mkdtemp(prefix="panda-apptest.")
        os.chmod(self.base, 0o755)
        self.runner = servers.Runner(self.base, user)
        self.keep = keep
        self._rendered = {}
        self.servers = {}
        self.notes = []

    def rendered(self, experiment):
        if experiment not in self._rendered:
            self._rendered[experiment] = render.render_experiment(self.root, self.helm, experiment, self.secrets)
        return self._rendered[experiment]

    def workload(self, experiment, chart, component):
        for w in self.rendered(experiment).workloads():
            if w.chart == chart and w.component == component:
                return w
        raise Failure("experiment %s renders no %s/%s workload" % (experiment, chart, component))

    def env(self, experiment, chart, component, container=None):
        w = self.workload(experiment, chart, component)
        c = w.container(container) if container else w.containers()[0]
        env = w.env(c)
        check("__missing__" not in env, "%s: envFrom of unrendered %s" % (w.label(), env.get("__missing__")))
        return {k: v for k, (v, _origin) in env.items() if v is not None}

    def file(self, experiment, chart, component, path, container=None):
        w = self.workload(experiment, chart, component)
        c = w.container(container) if container else w.containers()[0]
        what, content, _mount = w.file_at(c, path)
        check(what == "file", "%s: %s is not provided by a mount (%s)" % (w.label(), path, what))
        return content

    def service_port(self, experiment, host, port):
        """The in-cluster Service <host> must exist and expose <port>; returns nothing. The tests then
        connect to 127.0.0.1 and the loopback port of the server standing in for it."""
        svc = self.rendered(experiment).get("Service", host)
        check(svc is not None, "no Service %s is rendered (experiment %s)" % (host, experiment))
        ports = [p["port"] for p in svc["spec"]["ports"]]
        check(int(port) in ports, "Service %s exposes %s, not %s" % (host, ports, port))

    def tmpdir(self, *parts):
        return self.runner.mkdir(*parts)

    def close(self):
        self.runner.stop_all()
        if not self.keep:
            shutil.rmtree(self.base, ignore_errors=True)
