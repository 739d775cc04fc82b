"""Real servers on loopback for the application tests: PostgreSQL 15, MariaDB 10.11 and ActiveMQ 5.17
from Debian, each started as an unprivileged process on a free 127.0.0.1 port in a private directory,
and stopped (with its whole process group) by stop()."""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time

PG_BIN = "/usr/lib/postgresql/15/bin"
ACTIVEMQ_HOME = "/usr/share/activemq"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port, seconds, proc=None, log=None):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("server exited with %s; log %s:\n%s" % (proc.returncode, log, tail(log)))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("nothing listens on 127.0.0.1:%d after %ss; log %s:\n%s" % (port, seconds, log, tail(log)))


def tail(path, lines=30):
    if not path or not os.path.exists(path):
        return ""
    with open(path, errors="replace") as handle:
        return "".join(handle.readlines()[-lines:])


class Runner:
    """Runs commands as the unprivileged user (when we are root) and remembers what it started."""

    def __init__(self, base, user):
        self.base = base
        self.user = user
        self.procs = []
        if os.getuid() == 0:
            entry = pwd.getpwnam(user)
            self.uid, self.gid = entry.pw_uid, entry.pw_gid
        else:
            self.uid, self.gid = os.getuid(), os.getgid()

    def mkdir(self, *parts):
        """base/parts..., every level owned by the unprivileged user."""
        path = self.base
        for part in parts:
            path = os.path.join(path, part)
            if not os.path.isdir(path):
                os.mkdir(path)
                if os.getuid() == 0:
                    os.chown(path, self.uid, self.gid)
        return path

    def write(self, path, text, mode=0o600):
        with open(path, "w") as handle:
            handle.write(text)
        os.chmod(path, mode)
        if os.getuid() == 0:
            os.chown(path, self.uid, self.gid)

    def _demote(self):
        os.setsid()
        if os.getuid() == 0:
            os.setgroups([])
            os.setgid(self.gid)
            os.setuid(self.uid)

    def run(self, argv, env=None, input_text=None, check=True, demote=True):
        """Run a command as the unprivileged user (demote=False: as ourselves, for the test venv's Python
        tools, which the unprivileged user cannot reach inside root's cache)."""
        proc = subprocess.run(argv, env=env, input=input_text, capture_output=True, text=True,
                              preexec_fn=self._demote if demote else os.setsid, cwd=self.base)
        if check and proc.returncode != 0:
            raise RuntimeError("%s failed (%s):\n%s%s" % (argv[0], proc.returncode, proc.stdout[-2000:],
                                                          proc.stderr[-2000:]))
        return proc

    def start(self, argv, log, env=None):
        handle = open(log, "w")
        if os.getuid() == 0:
            os.chown(log, self.uid, self.gid)
        proc = subprocess.Popen(argv, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                preexec_fn=self._demote, cwd=self.base)
        handle.close()
        self.procs.append(proc)
        return proc

    def stop_all(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 20
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()


class Postgres:
    """One PostgreSQL 15 cluster; sql() runs statements as the bootstrap superuser over the socket."""

    def __init__(self, runner, name):
        self.runner = runner
        self.dir = runner.mkdir(name)
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.log = os.path.join(self.dir, "postgres.log")

    def start(self):
        self.runner.run([PG_BIN + "/initdb", "-D", self.data, "-U", "postgres", "--auth-local=trust",
                         "--auth-host=md5", "-E", "UTF8", "--no-sync"])
        # both images hash passwords with md5 (panda-database's postgresql.conf says so)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as handle:
            handle.write("listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n"
                         "password_encryption = md5\nfsync = off\n" % (self.port, self.dir))
        self.proc = self.runner.start([PG_BIN + "/postgres", "-D", self.data], self.log)
        wait_port(self.port, 30, self.proc, self.log)

    def sql(self, statements, db="postgres"):
        return self.runner.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.dir, "-p", str(self.port),
                                "-U", "postgres", "-d", db, "-At"], input_text=statements).stdout


class MariaDB:
    """One MariaDB 10.11 server initialised the way the official image's entrypoint does."""

    def __init__(self, runner, name):
        self.runner = runner
        self.dir = runner.mkdir(name)
        self.data = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mysqld.sock")
        self.port = free_port()
        self.log = os.path.join(self.dir, "mariadb.log")

    def start(self):
        self.runner.run(["mariadb-install-db", "--no-defaults", "--datadir=" + self.data,
                         "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"])
        self.proc = self.runner.start(
            ["mariadbd", "--no-defaults", "--datadir=" + self.data, "--socket=" + self.socket,
             "--port=%d" % self.port, "--bind-address=127.0.0.1", "--skip-name-resolve",
             "--pid-file=" + os.path.join(self.dir, "mariadb.pid"), "--innodb-buffer-pool-size=32M",
             "--skip-log-bin", "--innodb-flush-log-at-trx-commit=0"], self.log)
        wait_port(self.port, 60, self.proc, self.log)

    def sql(self, statements, password=None):
        env = dict(os.environ)
        env["MYSQL_PWD"] = password or ""
        return self.runner.run(["mariadb", "--no-defaults", "--protocol=socket", "-uroot", "-hlocalhost",
                                "--socket=" + self.socket, "--batch", "--skip-column-names"], env=env,
                               input_text=statements).stdout


class ActiveMQ:
    def __init__(self, runner, name):
        self.runner = runner
        self.dir = runner.mkdir(name)
        self.conf = runner.mkdir(name, "conf")
        self.data = runner.mkdir(name, "data")
        self.tmp = runner.mkdir(name, "tmp")
        self.port = free_port()
        self.log = os.path.join(self.dir, "activemq.log")

    def start(self, memory_opts, tool_opts):
        log4j = "/etc/activemq/instances-available/main/log4j2.properties"
        if os.path.exists(log4j):
            shutil.copy(log4j, self.conf)
            os.chown(os.path.join(self.conf, "log4j2.properties"), self.runner.uid, self.runner.gid) \
                if os.getuid() == 0 else None
        # Debian's /usr/bin/activemq wrapper forces its own options file (-Xmx512M) and its console mode
        # does not run under dash, so the broker's Main is started the way the upstream bin/activemq
        # script (the image's) does for "console": same system properties, the image's memory options.
        argv = ["java", "-XX:-UsePerfData"] + memory_opts.split() + [
            "-Djava.awt.headless=true", "-Djava.io.tmpdir=" + self.tmp,
            "-Djava.security.auth.login.config=" + os.path.join(self.conf, "login.config"),
            "-Dactivemq.classpath=" + self.conf, "-Dactivemq.home=" + ACTIVEMQ_HOME,
            "-Dactivemq.base=" + self.dir, "-Dactivemq.conf=" + self.conf, "-Dactivemq.data=" + self.data,
            "--add-reads=java.xml=java.logging", "--add-opens", "java.base/java.lang=ALL-UNNAMED",
            "-jar", os.path.join(ACTIVEMQ_HOME, "bin", "activemq.jar"), "start",
            "xbean:file:" + os.path.join(self.conf, "activemq.xml")]
        env = {"PATH": "/usr/bin:/bin", "HOME": self.dir}
        if tool_opts:
            env["JAVA_TOOL_OPTIONS"] = tool_opts
        self.proc = self.runner.start(argv, self.log, env=env)
        wait_port(self.port, 90, self.proc, self.log)
