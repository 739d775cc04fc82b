"""Database backups: which databases get a CronJob, and what its script does, run for real against
stand-ins of the database clients that record their arguments (no database server needed)."""
import os
import pathlib
import shutil
import subprocess
import tempfile

import render
from render import Failure, check

DATABASES = {  # component -> (sub-chart, engine, backup on by default)
    "iam": ("mariadb", "mariadb", True),
    "harvester": ("mariadb", "mariadb", False),
    "panda": ("postgres", "postgres", False),
    "idds": ("postgres", "postgres", False),
}
PASSWORD = 'p"a\\ss w$rd'


def backup_docs(helm, component, enabled=None):
    sub = DATABASES[component][0]
    extra = [] if enabled is None else ["--set", f"{sub}.backup.enabled={'true' if enabled else 'false'}"]
    return render.template(helm, component, extra=extra)


def script_of(docs, name):
    return next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == name)["data"]["backup.sh"]


@check
def iam_mariadb_is_backed_up_by_default_and_the_other_databases_on_request(helm4, helm3):
    for component, (sub, _, default) in DATABASES.items():
        name = f"test-{component}-{sub}-backup"
        for helm in (helm4, helm3):
            jobs = [d for d in backup_docs(helm, component) if d["kind"] == "CronJob" and d["metadata"]["name"] == name]
            if bool(jobs) != default:
                raise Failure(f"{helm}: {component}: backup CronJob {'missing' if default else 'present'} by default")
        docs = backup_docs(helm4, component, enabled=True)
        job = next(d for d in docs if d["kind"] == "CronJob" and d["metadata"]["name"] == name)
        assert job["spec"]["concurrencyPolicy"] == "Forbid", name
        _, spec = render.pod_spec(job)
        container = spec["containers"][0]
        # No password on any command line or in a literal variable: only through a Secret reference.
        flat = " ".join(container.get("command", []) + container.get("args", []))
        assert "PASSWORD" not in flat.upper().replace("DB_PASSWORD", ""), flat
        env = {e["name"]: e for e in container["env"]}
        assert "secretKeyRef" in env["DB_PASSWORD"].get("valueFrom", {}), env["DB_PASSWORD"]
        claims = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
        assert name in claims, f"{name}: no claim among {claims}"
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes[mounts["/backup"]]["persistentVolumeClaim"]["claimName"] == name
        assert volumes[mounts["/tmp"]]["emptyDir"].get("medium") == "Memory", "the option file must not touch disk"


READY = ('printf "%s\\n" "$*" >> "$LOG"; n=$(cat "$LOG.ready" 2>/dev/null || echo 0); echo $((n + 1)) > "$LOG.ready"; '
         '[ -z "${READY_NEVER:-}" ] && [ "$n" -ge 2 ]')


def stand_ins(bindir, log):
    """Client programs that record their arguments in log and write or read a fake dump."""
    programs = {
        "mariadb-dump": 'printf "%s\\n" "$*" >> "$LOG"; printf -- "-- MariaDB dump\\nSELECT 1;\\n-- Dump completed on now\\n"',
        "mariadb": 'printf "%s\\n" "$*" >> "$LOG"; cat > "$LOG.restored"',
        "pg_dump": 'printf "%s\\n" "$*" >> "$LOG"; for a; do case $a in --file=*) echo PGDMP > "${a#--file=}";; esac; done',
        "pg_restore": 'printf "%s\\n" "$*" >> "$LOG"; printf "%s\\n" "$PGPASSWORD" > "$LOG.pgpassword"',
        "date": 'n=$(cat "$LOG.clock" 2>/dev/null || echo 0); echo $((n + 1)) > "$LOG.clock"; printf "20261201T0000%02dZ\\n" "$n"',
        # the database answers from the third probe on (the policy engine admits a new pod late);
        # READY_NEVER=1: it never does
        "mariadb-admin": READY,
        "pg_isready": READY,
    }
    for name, body in programs.items():
        path = bindir / name
        path.write_text(f"#!/bin/bash\n{body}\n")
        path.chmod(0o755)


@check
def the_backup_script_keeps_n_dumps_restores_and_keeps_the_password_off_command_lines(helm4, helm3):
    for component, (sub, engine, _) in DATABASES.items():
        script = script_of(backup_docs(helm4, component, enabled=True), f"test-{component}-{sub}-backup")
        with tempfile.TemporaryDirectory() as tmp:
            tmp = pathlib.Path(tmp)
            (tmp / "bin").mkdir()
            (tmp / "backup").mkdir()
            (tmp / "tmp").mkdir()
            log = tmp / "calls.log"
            stand_ins(tmp / "bin", log)
            (tmp / "backup.sh").write_text(script)
            env = {"PATH": f"{tmp / 'bin'}:{os.environ['PATH']}", "LOG": str(log), "BACKUP_DIR": str(tmp / "backup"),
                   "TMPDIR": str(tmp / "tmp"), "DB_HOST": "db", "DB_PORT": "3306", "DB_USER": "root",
                   "DB_PASSWORD": PASSWORD, "DB_NAME": "" if engine == "mariadb" else "panda", "KEEP": "3"}
            for _ in range(5):
                proc = subprocess.run(["bash", str(tmp / "backup.sh")], env=env, capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    raise Failure(f"{component}: backup.sh failed:\n{proc.stdout}{proc.stderr}")
            dumps = sorted(p.name for p in (tmp / "backup").iterdir())
            ext = "sql.gz" if engine == "mariadb" else "dump"
            prefix = "all" if engine == "mariadb" else "panda"
            want = [f"{prefix}-20261201T0000{n:02d}Z.{ext}" for n in (2, 3, 4)]
            if dumps != want:
                raise Failure(f"{component}: after 5 runs with KEEP=3 the claim holds {dumps}, want {want}")
            proc = subprocess.run(["bash", str(tmp / "backup.sh"), "restore", "latest"], env=env, capture_output=True, text=True, check=False)
            if proc.returncode != 0 or want[-1] not in proc.stdout:
                raise Failure(f"{component}: restore latest failed:\n{proc.stdout}{proc.stderr}")
            probes = int((tmp / "calls.log.ready").read_text())
            if probes != 2 + 6:  # two refused probes, then one per run (5 dumps, 1 restore)
                raise Failure(f"{component}: {probes} readiness probes, want 8: the script does not wait for the database")
            calls = log.read_text()
            if "ss w" in calls or PASSWORD in calls:
                raise Failure(f"{component}: the password reached a command line:\n{calls}")
            if engine == "mariadb":
                cnf = (tmp / "tmp" / "client.cnf").read_text()
                assert 'password="p\\"a\\\\ss w$rd"' in cnf, cnf
                assert "--defaults-extra-file=" in calls and "--all-databases" in calls, calls
                assert "SELECT 1;" in (tmp / "calls.log.restored").read_text()
            else:
                assert (tmp / "calls.log.pgpassword").read_text().strip() == PASSWORD
                restore = calls.strip().splitlines()[-1]
                assert "--clean" in restore and restore.endswith(str(tmp / "backup" / want[-1])), restore
            env_never = dict(env, READY_NEVER="1", CONNECT_WAIT="1")
            proc = subprocess.run(["bash", str(tmp / "backup.sh")], env=env_never, capture_output=True, text=True, check=False)
            if proc.returncode == 0 or "db:3306 not reachable in 1 s" not in proc.stderr:
                raise Failure(f"{component}: a database that never answers: exit {proc.returncode}, {proc.stderr!r}")


@check
def every_shell_script_of_the_charts_passes_bash_n_and_shellcheck(helm4, helm3):
    """Backup scripts, prepare-panda.sh, every container's "sh -c"/"bash -c" script of every experiment
    and every shell file under the charts' files/ directories (shellcheck: warnings and errors)."""
    if not shutil.which("shellcheck"):
        raise Failure("shellcheck not found (apt-get install shellcheck)")
    scripts = {f"{c} backup.sh": ("bash", script_of(backup_docs(helm4, c, enabled=True), f"test-{c}-{s}-backup"))
               for c, (s, _, _) in DATABASES.items()}
    for experiment in [None] + render.experiments():
        for component in render.components():
            for doc in render.template(helm4, component, experiment):
                if doc["kind"] == "ConfigMap" and "prepare-panda.sh" in doc.get("data", {}):
                    scripts[f"{doc['metadata']['name']}/prepare-panda.sh"] = ("bash", doc["data"]["prepare-panda.sh"])
                if doc["kind"] not in render.WORKLOAD_KINDS:
                    continue
                for c in render.containers(render.pod_spec(doc)[1]):
                    command = c.get("command", [])
                    if len(command) == 2 and command[1] == "-c" and c.get("args"):
                        shell = "bash" if command[0].endswith("bash") else "sh"
                        scripts[f"{experiment}: {render.name(doc)}/{c['name']}"] = (shell, c["args"][0])
    for path in sorted(render.ROOT.glob("helm/**/files/**/*")):
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if text.startswith("#!") and text.splitlines()[0].endswith(("sh", "bash")):
            scripts[str(path.relative_to(render.ROOT))] = ("bash" if "bash" in text.splitlines()[0] else "sh", text)
    checked = set()
    for name, (shell, text) in scripts.items():
        if (shell, text) in checked:
            continue
        checked.add((shell, text))
        for cmd in ([shell, "-n"], ["shellcheck", "-S", "warning", "-s", shell, "-"]):
            proc = subprocess.run(cmd, input=text, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise Failure(f"{name}: {' '.join(cmd)}:\n{proc.stdout}{proc.stderr}")
    assert len(checked) >= 15, f"only {len(checked)} scripts found"
