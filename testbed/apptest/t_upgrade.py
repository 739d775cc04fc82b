"""The schema step of an upgrade (src/plan/upgrade/schema.sh, the very text its Jobs run: a Rust unit
test checks the Job's command is that text) against a real PostgreSQL 15 on loopback: a PanDA database
at schema 0.1.5 is backed up, patched to 0.1.6 (once: a second run skips it), and a write of the new
columns and a lookup through the new index succeed; a deliberately failing patch is rolled back whole
(schema, columns and record unchanged) and the backup restores the database as it was.

STAND-IN, said plainly: the panda-database image's own files (/docker-entrypoint-initdb.d/sqls/...,
from PanDAWMS/panda-database schema/postgres) cannot be had here (no registry or GitHub access from the
test bed). The 0.1.5 tables below and the 0.1.6 patch are ours, written from the facts of that
repository's 0.1.6.patch.sql (2026-07-20: index jedi_tasks_reqid_idx on jedi_tasks (reqid, username),
bigint columns SPACE_MIN_FREE and SPACE_UNAVAILABLE on DDM_ENDPOINT, pandadb_version bumped to 0.1.6);
the Job reads the image's file of the same name instead."""
import os

from servers import Postgres
from suite import check, test

PASSWORD = "super 'user' $pw"

SCHEMA_015 = """
CREATE DATABASE panda_db;
\\connect panda_db
CREATE SCHEMA doma_panda;
CREATE TABLE doma_panda.pandadb_version (component varchar(100) PRIMARY KEY, major int, minor int, patch int);
INSERT INTO doma_panda.pandadb_version VALUES ('PanDA', 0, 1, 5);
CREATE TABLE doma_panda.ddm_endpoint (ddm_endpoint_name varchar(52) PRIMARY KEY, site_name varchar(52),
  space_total bigint, space_free bigint, space_used bigint, space_expired bigint, space_timestamp timestamp);
CREATE TABLE doma_panda.jedi_tasks (jeditaskid bigint PRIMARY KEY, reqid int, username varchar(128),
  modificationtime timestamp, status varchar(64));
INSERT INTO doma_panda.ddm_endpoint SELECT 'SITE_' || g || '_DATADISK', 'SITE_' || g, 1000 * g, 10 * g, 990 * g, 0, now()
  FROM generate_series(1, 50) g;
INSERT INTO doma_panda.jedi_tasks SELECT g, g % 97, 'user' || (g % 13), now(), 'running' FROM generate_series(1, 3000) g;
"""

# Ours, from the facts of panda-database's 0.1.6.patch.sql (see the module's docstring).
PATCH_016 = """-- stand-in of panda-database 0.1.6.patch.sql (written for the app test)
SET search_path = doma_panda, public;
CREATE INDEX IF NOT EXISTS jedi_tasks_reqid_idx ON doma_panda.jedi_tasks (reqid, username);
ALTER TABLE doma_panda.ddm_endpoint ADD COLUMN IF NOT EXISTS space_min_free bigint;
ALTER TABLE doma_panda.ddm_endpoint ADD COLUMN IF NOT EXISTS space_unavailable bigint;
UPDATE doma_panda.pandadb_version SET major = 0, minor = 1, patch = 6 WHERE component = 'PanDA';
"""

# A patch that fails half-way: its first statements must not survive.
BROKEN_017 = """SET search_path = doma_panda, public;
ALTER TABLE doma_panda.ddm_endpoint ADD COLUMN half_done bigint;
UPDATE doma_panda.pandadb_version SET major = 0, minor = 1, patch = 7 WHERE component = 'PanDA';
ALTER TABLE doma_panda.no_such_table ADD COLUMN x int;
"""


def script(ctx):
    with open(os.path.join(ctx.root, "src/plan/upgrade/schema.sh")) as handle:
        return handle.read()


def run_phase(ctx, pg, phase, dump_dir, patch_dir, patches="0.1.6", check_rc=True):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": dump_dir,
        "PHASE": phase,
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(pg.port),
        "DB_NAME": "panda_db",
        "DB_USER": "postgres",
        "DB_PASSWORD": PASSWORD,
        "DUMP_DIR": dump_dir,
        "PATCHES": patches,
        "PATCH_DIR": patch_dir,
    }
    proc = ctx.runner.run(["/bin/bash", "-c", script(ctx)], env=env, check=check_rc)
    check(PASSWORD not in proc.stdout + proc.stderr, "the password appears in the script's output")
    return proc


def state(pg):
    """(schema version, ddm_endpoint columns, jedi_tasks indexes, recorded patches, md5 of ddm_endpoint)."""
    out = pg.sql(
        "SELECT major || '.' || minor || '.' || patch FROM doma_panda.pandadb_version;\n"
        "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns"
        " WHERE table_schema = 'doma_panda' AND table_name = 'ddm_endpoint';\n"
        "SELECT coalesce(string_agg(indexname, ',' ORDER BY indexname), '') FROM pg_indexes WHERE tablename = 'jedi_tasks';\n"
        "SELECT md5(string_agg(d::text, ',' ORDER BY ddm_endpoint_name)) FROM doma_panda.ddm_endpoint d;\n", db="panda_db")
    lines = out.strip().split("\n")
    recorded = ""
    if pg.sql("SELECT to_regclass('public.panda_install_schema_patches') IS NOT NULL;", db="panda_db").strip() == "t":
        recorded = pg.sql("SELECT coalesce(string_agg(version, ','), '') FROM public.panda_install_schema_patches;",
                          db="panda_db").strip()
    return lines[:3] + [recorded] + lines[3:]


@test("upgrade: a 0.1.5 PanDA database is backed up, patched to 0.1.6 once, the new columns written; a failing patch rolls back and the backup restores")
def t_upgrade_schema(ctx):
    pg = Postgres(ctx.runner, "panda-upgrade")
    pg.start()
    pg.sql("ALTER USER postgres PASSWORD '%s';\n" % PASSWORD.replace("'", "''") + SCHEMA_015)
    dump_dir = ctx.runner.mkdir("upgrade-backup")
    patch_dir = ctx.runner.mkdir("upgrade-patches")
    ctx.runner.write(os.path.join(patch_dir, "0.1.6.patch.sql"), PATCH_016, 0o644)
    before = state(pg)
    check(before[0] == "0.1.5" and "space_min_free" not in before[1], "not a 0.1.5 database: %s" % before)

    out = run_phase(ctx, pg, "backup", dump_dir, patch_dir).stdout
    check("at schema 0.1.5" in out, "backup: %s" % out)
    with open(os.path.join(dump_dir, "latest")) as handle:
        backup = handle.read().strip()
    check(backup.startswith("panda_db-schema-0.1.5-") and os.path.getsize(os.path.join(dump_dir, backup)) > 0,
          "backup file %r" % backup)

    out = run_phase(ctx, pg, "patch", dump_dir, patch_dir).stdout
    check("0.1.6: applied" in out and "schema 0.1.6" in out, "patch: %s" % out)
    after = state(pg)
    check(after[0] == "0.1.6", "schema after the patch: %s" % after[0])
    check("space_min_free" in after[1] and "space_unavailable" in after[1], "columns: %s" % after[1])
    check("jedi_tasks_reqid_idx" in after[2], "indexes: %s" % after[2])
    check(after[3] == "0.1.6", "record: %r" % after[3])
    # once: a second run applies nothing
    out = run_phase(ctx, pg, "patch", dump_dir, patch_dir).stdout
    check("skipped" in out and "0 patch(es) applied" in out, "second patch run: %s" % out)
    # what panda-server 1.0.4's configurator does: write the new columns (values in GB) and look tasks
    # up by reqid and user through the new index
    pg.sql("UPDATE doma_panda.ddm_endpoint SET space_min_free = 100, space_unavailable = 7"
           " WHERE ddm_endpoint_name = 'SITE_3_DATADISK';\n"
           "INSERT INTO doma_panda.ddm_endpoint (ddm_endpoint_name, site_name, space_min_free, space_unavailable)"
           " VALUES ('NEW_DATADISK', 'NEW', 5, 0);", db="panda_db")
    written = pg.sql("SELECT space_min_free, space_unavailable FROM doma_panda.ddm_endpoint"
                     " WHERE ddm_endpoint_name = 'SITE_3_DATADISK';\n"
                     "SET enable_seqscan = off;\n"
                     "EXPLAIN SELECT jeditaskid FROM doma_panda.jedi_tasks WHERE reqid = 5 AND username = 'user5';",
                     db="panda_db")
    check(written.startswith("100|7") and "jedi_tasks_reqid_idx" in written, "write/lookup: %s" % written)

    # deliberate break: a patch failing half-way changes nothing and says how to restore
    ctx.runner.write(os.path.join(patch_dir, "0.1.7.patch.sql"), BROKEN_017, 0o644)
    out = run_phase(ctx, pg, "backup", dump_dir, patch_dir).stdout
    check("at schema 0.1.6" in out, "second backup: %s" % out)
    pre_break = state(pg)
    proc = run_phase(ctx, pg, "patch", dump_dir, patch_dir, patches="0.1.6 0.1.7", check_rc=False)
    check(proc.returncode == 1 and "0.1.7 failed and was rolled back" in proc.stderr and "PHASE=restore" in proc.stderr,
          "a failing patch: rc %s, %s" % (proc.returncode, proc.stderr[-800:]))
    check(state(pg) == pre_break, "the failing patch left something behind: %s vs %s" % (state(pg), pre_break))

    # the backup restores: damage the data, restore the latest backup, compare
    pg.sql("DELETE FROM doma_panda.ddm_endpoint WHERE site_name LIKE 'SITE_1%';\n"
           "ALTER TABLE doma_panda.ddm_endpoint DROP COLUMN space_unavailable;", db="panda_db")
    check(state(pg) != pre_break, "the damage did not change anything")
    out = run_phase(ctx, pg, "restore", dump_dir, patch_dir).stdout
    check("restored" in out, "restore: %s" % out)
    check(state(pg) == pre_break, "restore: %s vs %s" % (state(pg), pre_break))
    # and the first backup takes the database back to 0.1.5, after which the patch applies again
    proc = ctx.runner.run(["/bin/bash", "-c", script(ctx)], env={
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": dump_dir, "PHASE": "restore", "DB_HOST": "127.0.0.1",
        "DB_PORT": str(pg.port), "DB_NAME": "panda_db", "DB_USER": "postgres", "DB_PASSWORD": PASSWORD,
        "DUMP_DIR": dump_dir, "RESTORE_FILE": os.path.join(dump_dir, backup)})
    check("schema is at 0.1.5" in proc.stdout, "restore of the 0.1.5 backup: %s" % proc.stdout)
    restored = state(pg)
    check(restored[1] == before[1] and restored[4] == before[4], "the 0.1.5 backup did not restore the 0.1.5 data")
    out = run_phase(ctx, pg, "patch", dump_dir, patch_dir).stdout
    check("0.1.6: applied" in out, "patch after restoring 0.1.5: %s" % out)
    return "backup %s; 0.1.5 -> 0.1.6 once; a failing 0.1.7 rolled back whole; restore to 0.1.6 and to 0.1.5 exact" % backup
