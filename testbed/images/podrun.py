"""Runs one rendered container of the real-node overlay from its scripts/images tar, without a node:
a small stand-in for the kubelet, so an image's entrypoint is proven against what the chart renders
before a real node exists.

What it does, as the kubelet and runc would: renders the experiment with the overlay
(testbed/real-node/values), takes the workload's container (image, command/args, env resolved from the
rendered Secrets/ConfigMaps, mounts, runAsUser/runAsGroup/fsGroup, readOnlyRootFilesystem); unpacks the
image's layer; materialises ConfigMap/Secret volumes as files and emptyDirs/claims as empty directories
owned by the fsGroup; then, in new mount, network and pid namespaces (loopback plus one address on a veth,
POD_IP, so remote-host authentication rules apply), bind-mounts them over a read-only root and starts
the command with `chroot --userspec`. Exec probes run the same way inside those namespaces; tcp/http
probes connect inside the network namespace.

Service names of the rendering resolve to POD_IP (/etc/hosts); --listen PORT opens a port there
that accepts and closes connections, standing in for a dependency the start script waits for.

What it does not do: no cgroup limits, no seccomp profile, no capability drop beyond running as a
non-root uid, /dev is the machine's, and no Service or DNS (the checks talk to POD_IP).

usage (root): python3 testbed/images/podrun.py --repo DIR --workload CHART/COMPONENT[/CONTAINER]
                [--experiment dev] [--secrets secrets/ci/test-values.yaml] [--keep] [--timeout S]
              --check NAME   after Ready, run a named client check (see CHECKS) and a check that fails
Exit 0 when the container became Ready (and the check passed); prints the container's log otherwise.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "apptest"))
import render  # noqa: E402  (testbed/apptest/render.py)

POD_IP = "10.213.0.2"


def image_tar(repo, ref):
    """The cache tar of a built image (scripts/images list)."""
    out = subprocess.run([os.path.join(repo, "scripts", "images"), "list"], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == ref:
            if parts[2] == "not":
                sys.exit("podrun: %s is not built (scripts/images build)" % ref)
            return parts[2]
    sys.exit("podrun: %s is not an image of scripts/images" % ref)


def unpack(tar_path, rootfs):
    """Layer into rootfs; returns the image config."""
    with tarfile.open(tar_path) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))[0]
        config = json.load(outer.extractfile(manifest["Config"]))["config"]
    extract = subprocess.Popen(["tar", "-xOf", tar_path, manifest["Layers"][0]], stdout=subprocess.PIPE)
    subprocess.run(["tar", "--numeric-owner", "-xpf", "-", "-C", rootfs], stdin=extract.stdout, check=True)
    extract.stdout.close()
    if extract.wait() != 0:
        sys.exit("podrun: cannot read %s" % tar_path)
    return config


def render_workload(repo, experiment, secrets, workload):
    chart, component = workload.split("/")[:2]
    overlay = os.path.join(repo, "testbed", "real-node", "values")
    extra = {c: ["-f", os.path.join(overlay, c + ".yaml")] for c in render.COMPONENTS
             if os.path.exists(os.path.join(overlay, c + ".yaml"))}
    helm = os.environ.get("PANDA_INSTALL_HELM") or shutil.which("helm") or sys.exit("podrun: no helm")
    rendered = render.render_experiment(repo, helm, experiment, os.path.join(repo, secrets),
                                        components=[chart], extra_component=extra)
    for w in rendered.workloads():
        if w.chart == chart and w.component == component:
            return w
    sys.exit("podrun: no workload %s in the rendering" % workload)


class Pod:
    def __init__(self, repo, workload, container, work, services=(), listen=()):
        self.w, self.c, self.work = workload, container, work
        self.rootfs = os.path.join(work, "rootfs")
        os.makedirs(self.rootfs)
        self.config = unpack(image_tar(repo, container["image"]), self.rootfs)
        sec = workload.security(container)
        self.uid = sec["runAsUser"] if sec["runAsUser"] is not None else 0
        self.gid = sec["runAsGroup"] if sec["runAsGroup"] is not None else self.uid
        self.fsgroup = sec["fsGroup"]
        self.read_only = bool(sec["readOnlyRootFilesystem"])
        env = {k: v[0] for k, v in workload.env(container).items() if k != "__missing__" and v[0] is not None}
        image_env = dict(e.split("=", 1) for e in self.config.get("Env") or [])
        self.env = {**image_env, "HOSTNAME": "pod-0", **env}
        self.env.setdefault("HOME", "/")
        self.proc = None
        self.last_probe = ""
        self.services = services
        self.listen = listen

    def argv(self):
        """command/args over the image's Entrypoint/Cmd, as Kubernetes combines them."""
        cmd = self.c.get("command")
        args = self.c.get("args")
        if cmd:
            return cmd + (args or [])
        return (self.config.get("Entrypoint") or []) + (args if args is not None else (self.config.get("Cmd") or []))

    def volumes(self):
        """[(mountPath, host path, read-only)] with the volume contents made."""
        out = []
        owner_gid = self.fsgroup if self.fsgroup is not None else self.gid
        for i, (path, name, files, writable, sub) in enumerate(self.w.mounts(self.c)):
            host = os.path.join(self.work, "vol-%d-%s" % (i, name))
            if files is not None:  # ConfigMap / Secret
                if sub:
                    with open(host, "w") as f:
                        f.write(files.get("", "") or "")
                    os.chmod(host, 0o444)
                else:
                    os.makedirs(host)
                    for fname, content in files.items():
                        fp = os.path.join(host, fname)
                        os.makedirs(os.path.dirname(fp), exist_ok=True)
                        with open(fp, "w") as f:
                            f.write(content or "")
                        os.chmod(fp, 0o444)
                        if owner_gid is not None:
                            os.chown(fp, 0, owner_gid)
                out.append((path, host, True))
            else:  # emptyDir / claim: empty, group-owned by fsGroup, setgid as the kubelet does
                os.makedirs(host)
                os.chown(host, 0, owner_gid if owner_gid is not None else 0)
                os.chmod(host, 0o2775 if self.fsgroup is not None else 0o777)
                out.append((path, host, not writable))
        return out

    def launcher(self):
        lines = ["set -e", "ip link set lo up", "ip link add pod0 type veth peer name pod1", "ip link set pod1 up", "ip addr add %s/24 dev pod0" % POD_IP,
                 "ip link set pod0 up", "r=%s" % self.rootfs, "mount --make-rprivate /",
                 'mount --bind "$r" "$r"']
        for path, host, ro in self.volumes():
            target = in_root(self.rootfs, path)
            if os.path.isdir(host):
                os.makedirs(target, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if not os.path.exists(target):
                    open(target, "w").close()
            lines.append('mount --bind "%s" "%s"' % (host, target))
            if ro:
                lines.append('mount -o remount,bind,ro "%s"' % target)
        # Service names of the rendering resolve to POD_IP (no DNS here); --listen ports answer there,
        # standing in for the pods this one waits for.
        hosts = os.path.join(self.work, "hosts")
        with open(hosts, "w") as f:
            f.write("127.0.0.1 localhost\n%s pod-0 %s\n" % (POD_IP, " ".join(self.services)))
        os.chmod(hosts, 0o644)
        etc_hosts = in_root(self.rootfs, "/etc/hosts")
        if not os.path.exists(etc_hosts):
            open(etc_hosts, "w").close()
        lines.append('mount --bind "%s" "%s"' % (hosts, etc_hosts))
        for port in self.listen:
            lines.append("python3 -c %s %d &" % (shquote(
                "import socket, sys\ns = socket.create_server(('', int(sys.argv[1])))\n"
                "while True: s.accept()[0].close()"), port))
        for d in ("proc", "dev", "sys", "tmp"):
            os.makedirs(os.path.join(self.rootfs, d), exist_ok=True)
        lines += ['mount --rbind /dev "$r/dev"', 'mount -t proc proc "$r/proc"']
        if self.read_only:
            lines.append('mount -o remount,bind,ro "$r"')
        lines.append("exec " + " ".join(shquote(a) for a in self.chroot_argv(self.argv())))
        path = os.path.join(self.work, "launch.sh")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def chroot_argv(self, argv):
        groups = ["--groups=%d" % self.fsgroup] if self.fsgroup is not None else []
        cwd = self.c.get("workingDir") or self.config.get("WorkingDir") or "/"
        inner = " ".join(shquote(a) for a in argv)
        return ["chroot", "--userspec=%d:%d" % (self.uid, self.gid)] + groups + [
            self.rootfs, "/bin/sh", "-c", "cd %s && exec %s" % (shquote(cwd), inner)]

    def start(self):
        launch = self.launcher()
        self.log = open(os.path.join(self.work, "container.log"), "w")
        self.proc = subprocess.Popen(["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child",
                                      "sh", launch], env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def nsenter(self):
        """Into the container's mount, network and pid namespaces: those of unshare's child (pid 1)."""
        with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
            children = f.read().split()
        target = children[0] if children else str(self.proc.pid)
        return ["nsenter", "-t", target, "-m", "-n", "-p"]

    def exec_in(self, argv, env=None, timeout=30):
        """Run argv in the container's namespaces, root file system and user (an exec probe)."""
        full = self.nsenter() + self.chroot_argv(argv)
        return subprocess.run(full, env={**self.env, **(env or {})}, capture_output=True, text=True,
                              timeout=timeout)

    def probe(self, spec):
        if spec is None:
            return True
        try:
            if "exec" in spec:
                r = self.exec_in(spec["exec"]["command"], timeout=spec.get("timeoutSeconds", 5) + 5)
                self.last_probe = "exec %s: %s %s%s" % (spec["exec"]["command"], r.returncode, r.stdout, r.stderr)
                return r.returncode == 0
            port = (spec.get("tcpSocket") or spec.get("httpGet"))["port"]
            if isinstance(port, str):
                port = next(p["containerPort"] for p in self.c.get("ports", []) if p["name"] == port)
            if "tcpSocket" in spec:
                code = "import socket; socket.create_connection(('127.0.0.1', %d), 3)" % port
            else:
                g = spec["httpGet"]
                scheme = g.get("scheme", "HTTP").lower()
                code = ("import ssl, urllib.request; c = ssl._create_unverified_context(); "
                        "r = urllib.request.urlopen('%s://127.0.0.1:%d%s', timeout=5, context=c); "
                        "assert 200 <= r.status < 400" % (scheme, port, g.get("path", "/")))
            r = subprocess.run(self.nsenter() + ["python3", "-c", code], capture_output=True, text=True, timeout=15)
            self.last_probe = "%s: %s %s" % (spec, r.returncode, r.stderr[-500:])
            return r.returncode == 0
        except (subprocess.TimeoutExpired, OSError):
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def logs(self):
        with open(os.path.join(self.work, "container.log")) as f:
            return f.read()


def in_root(rootfs, path):
    """path inside rootfs with every symlink resolved inside rootfs (as runc's securejoin does)."""
    parts, out, hops = [p for p in path.split("/") if p], "", 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            out = os.path.dirname(out)
            continue
        candidate = out + "/" + part
        full = rootfs + candidate
        if os.path.islink(full) and hops < 40:
            hops += 1
            link = os.readlink(full)
            parts = [p for p in link.split("/") if p] + parts
            if link.startswith("/"):
                out = ""
            continue
        out = candidate
    return rootfs + (out or "/")


def shquote(s):
    return "'" + str(s).replace("'", "'\\''") + "'"


# ---- client checks: the rendered credentials are accepted over POD_IP, a wrong one is refused
def check_postgres(pod, user_var, password_var, database_var=None, user=None, database=None):
    user = user or pod.env[user_var]
    database = database or (pod.env.get(database_var) if database_var else None) or user
    password = pod.env[password_var]

    def psql(pw):
        return pod.exec_in(["psql", "-h", POD_IP, "-U", user, "-d", database, "-tAc", "select current_user"],
                           env={"PGPASSWORD": pw})
    good, bad = psql(password), psql(password + "-wrong")
    assert good.returncode == 0 and good.stdout.strip() == user, "rendered credentials refused: %s" % good.stderr
    assert bad.returncode != 0 and "password authentication failed" in bad.stderr, "a wrong password: %s" % bad
    return "user %s logs in to %s over %s with the rendered password; a wrong one is refused" % (user, database, POD_IP)


def check_mariadb(pod, user="root", password_var="MARIADB_ROOT_PASSWORD", database=None):
    def q(pw):
        return pod.exec_in(["mariadb", "-h", POD_IP, "-u", user, "-p" + pw, "-N", "-B", "-e", "select current_user()"]
                           + ([database] if database else []))
    good, bad = q(pod.env[password_var]), q(pod.env[password_var] + "-wrong")
    assert good.returncode == 0, "rendered credentials refused: %s" % good.stderr
    assert bad.returncode != 0 and "Access denied" in bad.stderr, "a wrong password: %s" % bad
    return "%s logs in over %s with the rendered password (%s); a wrong one is refused" % (
        user, POD_IP, good.stdout.strip())


def check_stomp(pod):
    """STOMP CONNECTs with the accounts the chart's configure-broker.py generated ("system" with
    ACTIVEMQ_BASE_PASSWD, account a with "<base>_<a>") are accepted, a wrong passcode refused."""
    accounts = [a for a in pod.env.get("ACTIVEMQ_ACCOUNTS", "").split(";") if a]
    base = pod.env["ACTIVEMQ_BASE_PASSWD"]
    logins = [("system", base)] + [(a, "%s_%s" % (base, a)) for a in accounts[:1]]
    code = r"""
import socket, sys
def connect(login, passcode):
    s = socket.create_connection(("%s", 61613), 10)
    s.sendall(("CONNECT\naccept-version:1.2\nhost:/\nlogin:%%s\npasscode:%%s\n\n\0" %% (login, passcode)).encode())
    data = b""
    while b"\0" not in data:
        chunk = s.recv(4096)
        if not chunk: break
        data += chunk
    return data.split(b"\n", 1)[0].decode()
print(connect(sys.argv[1], sys.argv[2]), connect(sys.argv[1], sys.argv[2] + "-wrong"))
""" % POD_IP
    for name, password in logins:
        r = subprocess.run(pod.nsenter() + ["python3", "-c", code, name, password], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, r.stderr
        good, bad = r.stdout.split()
        assert good == "CONNECTED" and bad == "ERROR", "STOMP as %s: %s" % (name, r.stdout)
    return "STOMP CONNECT as %s is accepted, a wrong passcode refused" % ", ".join(n for n, _ in logins)


CHECKS = {
    "idds-postgres": lambda p: check_postgres(p, "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"),
    "panda-postgres": lambda p: check_postgres(p, None, "PANDA_DB_PASSWORD", user="panda", database="panda_db"),
    "panda-postgres-super": lambda p: check_postgres(p, None, "POSTGRES_PASSWORD", user="postgres", database="postgres"),
    "mariadb-root": lambda p: check_mariadb(p),
    "iam-mariadb-user": lambda p: check_mariadb(p, user=p.env["MARIADB_USER"], password_var="MARIADB_PASSWORD",
                                                database=p.env.get("MARIADB_DATABASE")),
    "stomp": check_stomp,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", default=".")
    ap.add_argument("--workload", required=True)
    ap.add_argument("--experiment", default="dev")
    ap.add_argument("--secrets", default="secrets/ci/test-values.yaml")
    ap.add_argument("--check", action="append", default=[])
    ap.add_argument("--timeout", type=int, default=240)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--listen", type=int, action="append", default=[],
                    help="a TCP port that accepts connections on POD_IP (a dependency's stand-in)")
    a = ap.parse_args()
    w = render_workload(a.repo, a.experiment, a.secrets, a.workload)
    parts = a.workload.split("/")
    container = w.container(parts[2]) if len(parts) > 2 else w.containers()[0]
    work = tempfile.mkdtemp(prefix="podrun-", dir=os.environ.get("TMPDIR", "/tmp"))
    os.chmod(work, 0o755)
    services = sorted(w.rendered.by_kind.get("Service", {}))
    pod = Pod(a.repo, w, container, work, services, a.listen)
    start = time.time()
    ok = False
    try:
        pod.start()
        while time.time() - start < a.timeout:
            if pod.proc.poll() is not None:
                print("podrun: the container exited with %s" % pod.proc.returncode)
                break
            if pod.probe(container.get("readinessProbe")) and pod.probe(container.get("livenessProbe")):
                ok = True
                break
            time.sleep(2)
        if ok:
            print("podrun: %s (%s, uid %s, read-only root %s) Ready after %.1f s" % (
                a.workload, container["image"], pod.uid, pod.read_only, time.time() - start))
            for name in a.check:
                print("podrun: check %s: %s" % (name, CHECKS[name](pod)))
    except AssertionError as e:
        ok = False
        print("podrun: check failed: %s" % e)
    finally:
        pod.stop()
        if not ok:
            print("---- last probe: %s\n---- container log\n%s" % (pod.last_probe, pod.logs()[-6000:]))
        if a.keep:
            print("podrun: kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
