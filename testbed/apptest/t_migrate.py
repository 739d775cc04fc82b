"""migrate-data's scripts (src/plan/migrate/<engine>.sh then phases.sh, the very text its Jobs run:
a Rust unit test checks the Job's command is that text) against real servers on loopback: an "old"
and a "new" MariaDB 10.11 and PostgreSQL 15 (Debian's; the Jobs use the 11.4 and 16 clients of our
charts' images). The old one is filled with awkward data, dumped, restored into the new one; the row
counts must match and the table contents must be identical. A deliberate break (a count changed in the dump's record) must make
the restore fail, naming the table. What this does not prove: the bitnami image's data and the
PostgreSQL 13 -> 16 step themselves (Debian has neither); both are the clients' documented paths."""
import os

from servers import MariaDB, Postgres
from suite import check, expect_failure, test

PASSWORD = "old-and-new 'pw' $x"


def script(ctx, engine):
    """The Job's script: the engine's file, a newline, then phases.sh (as src/plan/migrate/mod.rs joins them)."""
    parts = []
    for name in (engine, "phases"):
        with open(os.path.join(ctx.root, "src/plan/migrate/%s.sh" % name)) as handle:
            parts.append(handle.read())
    return "\n".join(parts)


def run_phase(ctx, engine, phase, store, port, database, user, dump_dir, check_rc=True, extra_env=None):
    env = dict(extra_env or {})
    env.update({
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": dump_dir,
        "PHASE": phase,
        "STORE": store,
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(port),
        "DB_NAME": database,
        "DB_USER": user,
        "DB_PASSWORD": PASSWORD,
        "DUMP_DIR": dump_dir,
    })
    proc = ctx.runner.run(["/bin/bash", "-c", script(ctx, engine)], env=env, check=check_rc)
    check(PASSWORD not in proc.stdout + proc.stderr, "the password appears in the script's output")
    return proc


def mariadb_pair(ctx, store):
    servers = []
    for side in ("old", "new"):
        db = MariaDB(ctx.runner, "%s-%s" % (store, side))
        db.start()
        # root over TCP from 127.0.0.1, as the Job connects to the database's Service
        db.sql("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';\n"
               "ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '%s';\n"
               "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\n"
               "ALTER USER 'root'@'localhost' IDENTIFIED BY '%s';" % (_my(PASSWORD), _my(PASSWORD)))
        servers.append(db)
    return servers


def _my(text):
    return text.replace("\\", "\\\\").replace("'", "\\'")


def mariadb_checksums(db, database):
    rows = db.sql("CHECKSUM TABLE %s.work_table, %s.job_table, %s.empty_table EXTENDED;" % ((database,) * 3),
                  password=PASSWORD)
    return sorted(line.split("\t")[1] for line in rows.strip().splitlines())


@test("migrate: harvester-mariadb and iam-mariadb dump from an old MariaDB, restore into a new one, row counts and checksums match")
def t_migrate_mariadb(ctx):
    notes = []
    for store, database in (("harvester-mariadb", "harvester"), ("iam-mariadb", "iam_db")):
        old, new = mariadb_pair(ctx, store)
        old.sql(
            "CREATE DATABASE %(d)s CHARACTER SET utf8mb4;\n"
            "CREATE TABLE %(d)s.work_table (id INT PRIMARY KEY AUTO_INCREMENT, status VARCHAR(32), note TEXT, blob_col BLOB);\n"
            "CREATE TABLE %(d)s.job_table (pandaid BIGINT PRIMARY KEY, site VARCHAR(64) NULL);\n"
            "CREATE TABLE %(d)s.empty_table (x INT);\n"
            "INSERT INTO %(d)s.work_table (status, note, blob_col) VALUES ('running', 'it''s \\n a \"quote\"', 0x00FF10),"
            " ('done', 'ünïcode ✓', NULL), ('failed', NULL, '');\n"
            "INSERT INTO %(d)s.job_table SELECT seq, IF(seq %% 3 = 0, NULL, CONCAT('SITE_', seq)) FROM %(d)s.seq_1_to_2500;\n"
            "CREATE VIEW %(d)s.running AS SELECT id FROM %(d)s.work_table WHERE status = 'running';\n"
            "CREATE TRIGGER %(d)s.stamp BEFORE INSERT ON %(d)s.work_table FOR EACH ROW SET NEW.status = COALESCE(NEW.status, 'new');\n"
            % {"d": database}, password=PASSWORD)
        # the new database exists already, as the chart's init script creates it
        new.sql("CREATE DATABASE %s;" % database, password=PASSWORD)
        dump_dir = ctx.runner.mkdir("%s-dump" % store)
        out = run_phase(ctx, "mariadb", "dump", store, old.port, database, "root", dump_dir).stdout
        check("dumped: 3 tables, 2503 rows" in out, "%s dump: %s" % (store, out))
        out = run_phase(ctx, "mariadb", "restore", store, new.port, database, "root", dump_dir).stdout
        check("row counts match: 3 tables, 2503 rows" in out, "%s restore: %s" % (store, out))
        check(mariadb_checksums(old, database) == mariadb_checksums(new, database), "%s: table contents differ" % store)
        views = new.sql("SELECT COUNT(*) FROM information_schema.views WHERE table_schema = '%s';" % database,
                        password=PASSWORD).strip()
        triggers = new.sql("SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = '%s';" % database,
                           password=PASSWORD).strip()
        check(views == "1" and triggers == "1", "%s: view/trigger not restored (%s, %s)" % (store, views, triggers))
        # deliberate break: the record of the dump says one row more than the restore finds
        counts = os.path.join(dump_dir, "%s.counts" % store)
        with open(counts) as handle:
            text = handle.read()
        with open(counts, "w") as handle:
            handle.write(text.replace("job_table 2500", "job_table 2501"))
        proc = run_phase(ctx, "mariadb", "restore", store, new.port, database, "root", dump_dir, check_rc=False)
        check(proc.returncode == 1 and "row counts differ" in proc.stderr and "job_table" in proc.stderr,
              "%s: a count mismatch did not fail the restore: rc %s, %s" % (store, proc.returncode, proc.stderr))
        notes.append(store)
    # the restore refuses to run without a dump
    empty = ctx.runner.mkdir("no-dump")
    expect_failure("restore without a dump",
                   lambda: run_phase(ctx, "mariadb", "restore", "harvester-mariadb", 1, "harvester", "root", empty),
                   "run the dump phase first")
    # a database that never answers: the Job waits CONNECT_WAIT seconds for it, then says so
    expect_failure("dump from a database that never answers",
                   lambda: run_phase(ctx, "mariadb", "dump", "harvester-mariadb", 1, "harvester", "root", empty,
                                     extra_env={"CONNECT_WAIT": "1"}),
                   "database 127.0.0.1:1 not reachable in 1 s")
    return ", ".join(notes) + ": 2503 rows each, checksums equal; a changed count fails the restore"


@test("migrate: idds-postgres dump from an old PostgreSQL, restore into a new one (schema doma_idds), row counts and contents match")
def t_migrate_postgres(ctx):
    store, database, user = "idds-postgres", "idds_db", "idds"
    servers = []
    for side in ("old", "new"):
        pg = Postgres(ctx.runner, "%s-%s" % (store, side))
        pg.start()
        pg.sql("CREATE USER %s PASSWORD '%s';\nCREATE DATABASE %s OWNER %s;" % (user, PASSWORD.replace("'", "''"), database, user))
        servers.append(pg)
    old, new = servers
    old.sql(
        "SET ROLE idds;\n"
        "CREATE SCHEMA doma_idds;\n"
        "CREATE TABLE doma_idds.requests (request_id bigserial PRIMARY KEY, name text, status int, payload jsonb);\n"
        "CREATE TABLE doma_idds.contents (content_id bigint PRIMARY KEY, request_id bigint REFERENCES doma_idds.requests, coll text);\n"
        "CREATE TABLE public.alembic_version (version_num varchar(32) PRIMARY KEY);\n"
        "INSERT INTO doma_idds.requests (name, status, payload) SELECT 'req ' || g || E' \\'q\\' ü', g % 7, "
        "jsonb_build_object('g', g, 'list', jsonb_build_array(g, NULL)) FROM generate_series(1, 1200) g;\n"
        "INSERT INTO doma_idds.contents SELECT g, 1 + g % 1200, NULL FROM generate_series(1, 3000) g;\n"
        "INSERT INTO public.alembic_version VALUES ('abc123');\n", db=database)
    dump_dir = ctx.runner.mkdir("%s-dump" % store)
    out = run_phase(ctx, "postgres", "dump", store, old.port, database, user, dump_dir).stdout
    check("dumped: 3 tables, 4201 rows" in out, "dump: %s" % out)
    out = run_phase(ctx, "postgres", "restore", store, new.port, database, user, dump_dir).stdout
    check("row counts match: 3 tables, 4201 rows" in out, "restore: %s" % out)
    digest = ("SELECT md5(string_agg(r::text, ',' ORDER BY request_id)) FROM doma_idds.requests r;\n"
              "SELECT md5(string_agg(c::text, ',' ORDER BY content_id)) FROM doma_idds.contents c;\n")
    check(old.sql(digest, db=database) == new.sql(digest, db=database), "table contents differ")
    # a second restore over the restored database (the new iDDS may have created its schema): --clean
    out = run_phase(ctx, "postgres", "restore", store, new.port, database, user, dump_dir).stdout
    check("row counts match" in out, "second restore: %s" % out)
    counts = os.path.join(dump_dir, "%s.counts" % store)
    with open(counts) as handle:
        text = handle.read()
    with open(counts, "w") as handle:
        handle.write(text.replace("doma_idds.contents 3000", "doma_idds.contents 2999"))
    proc = run_phase(ctx, "postgres", "restore", store, new.port, database, user, dump_dir, check_rc=False)
    check(proc.returncode == 1 and "doma_idds.contents" in proc.stderr,
          "a count mismatch did not fail the restore: rc %s, %s" % (proc.returncode, proc.stderr))
    return "4201 rows, contents equal (md5), restore repeatable; a changed count fails the restore"
