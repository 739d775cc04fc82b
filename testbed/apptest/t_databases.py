"""Databases on loopback: PostgreSQL 15 and MariaDB 10.11 (Debian) initialised the way the images do it
(panda-database's init script with its own sed substitution, the official postgres and mariadb
entrypoints' user creation) from the rendered env and init SQL; then every component logs in with
the host, port, database, user and password of its own env Secret and uses the privileges it needs.
Hosts: the Secret's in-cluster host must be a rendered Service exposing the Secret's port; the
connection then goes to 127.0.0.1 and the loopback server's port (/etc/hosts is not touched)."""
import os
import subprocess
from urllib.parse import unquote, urlsplit

import psycopg2
import pymysql

from servers import MariaDB, Postgres
from suite import Failure, check, expect_failure, test

EXP = "dev"
PANDA_SCHEMAS = ["doma_panda", "doma_pandameta", "doma_pandaarch", "doma_deft", "doma_pandabigmon"]


def panda_pg(ctx):
    """PanDA's database as the panda-database 0.1.5-2 image creates it (contracts/panda-database.yaml)."""
    if "panda-pg" in ctx.servers:
        return ctx.servers["panda-pg"]
    env = ctx.env(EXP, "panda", "postgres")
    pg = Postgres(ctx.runner, "panda-postgres")
    pg.start()
    # the image: POSTGRES_PASSWORD for the postgres superuser (official entrypoint), then panda_db_init.sh
    # runs init_step.sql after sed 's/${PANDA_DB_PASSWORD}/'"${PANDA_DB_PASSWORD}"'/g' (run with real sed here)
    pg.sql("ALTER USER postgres PASSWORD %s;" % _pg_literal(env["POSTGRES_PASSWORD"]))
    init_step = ("SELECT 'CREATE DATABASE panda_db' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'panda_db')\\gexec\n"
                 "SELECT E'CREATE USER panda PASSWORD \\'${PANDA_DB_PASSWORD}\\'' WHERE NOT EXISTS "
                 "(SELECT FROM pg_catalog.pg_roles WHERE rolname = 'panda')\\gexec\n"
                 "ALTER ROLE panda SET search_path = doma_panda,public;\n")
    sql = image_sed(init_step, env["PANDA_DB_PASSWORD"])
    pg.sql(sql)
    # stand-in for the schema files (not on any package registry): the schemas, owned by panda
    pg.sql("".join("CREATE SCHEMA IF NOT EXISTS %s AUTHORIZATION panda;\n" % s for s in PANDA_SCHEMAS), db="panda_db")
    ctx.servers["panda-pg"] = pg
    return pg


def image_sed(text, password):
    """panda_db_init.sh's substitution, done by sed itself."""
    return subprocess.run(["sed", "s/${PANDA_DB_PASSWORD}/" + password + "/g"], input=text, capture_output=True,
                          text=True, check=True).stdout


def _pg_literal(text):
    return "'" + text.replace("'", "''") + "'"


def pg_login(ctx, pg, host, port, db, user, password, experiment=EXP):
    ctx.service_port(experiment, host, port)
    return psycopg2.connect(host="127.0.0.1", port=pg.port, dbname=db, user=user, password=password,
                            connect_timeout=5)


@test("postgres: panda-database init from the postgres pod's env; server, JEDI, BigMon log in with their Secret")
def t_panda_db(ctx):
    pg = panda_pg(ctx)
    done = []
    for chart, component in (("panda", "server"), ("panda", "jedi"), ("bigmon", "main")):
        env = ctx.env(EXP, chart, component)
        check(env["PANDA_DB_BACKEND"] == "postgres", "%s: backend %s" % (component, env["PANDA_DB_BACKEND"]))
        conn = pg_login(ctx, pg, env["PANDA_DB_HOST"], env["PANDA_DB_PORT"], env["PANDA_DB_NAME"],
                        env["PANDA_DB_USER"], env["PANDA_DB_PASSWORD"])
        cur = conn.cursor()
        if chart == "panda":
            schema = env["PANDA_DB_SCHEMAPANDA"].lower()
            cur.execute("CREATE TABLE %s.apptest_%s (id int)" % (schema, component))
            cur.execute("INSERT INTO %s.apptest_%s VALUES (1)" % (schema, component))
            cur.execute("SELECT count(*) FROM %s.apptest_%s" % (schema, component))
            check(cur.fetchone()[0] == 1, "insert/select failed")
            cur.execute("DROP TABLE %s.apptest_%s" % (schema, component))
            for var in ("PANDA_DB_SCHEMAMETA", "PANDA_DB_SCHEMAPANDAARCH", "PANDA_DB_SCHEMADEFT"):
                cur.execute("SELECT has_schema_privilege(%s, 'USAGE')", (env[var].lower(),))
                check(cur.fetchone()[0], "%s: no usage of schema %s" % (component, env[var]))
        conn.commit()
        conn.close()
        done.append(component)
    return "as %s to %s (Service %s:%s -> 127.0.0.1:%d)" % (env["PANDA_DB_USER"], env["PANDA_DB_NAME"],
                                                            env["PANDA_DB_HOST"], env["PANDA_DB_PORT"], pg.port)


@test("postgres: [break] a wrong password, and a password the image's sed mangles ('&'), are refused")
def t_panda_db_breaks(ctx):
    pg = panda_pg(ctx)
    env = ctx.env(EXP, "panda", "server")
    msg = expect_failure("wrong PanDA DB password", lambda: pg_login(
        ctx, pg, env["PANDA_DB_HOST"], env["PANDA_DB_PORT"], env["PANDA_DB_NAME"], env["PANDA_DB_USER"],
        env["PANDA_DB_PASSWORD"] + "x"), "password authentication failed")
    # what the secrets chart's validation prevents: the image's sed turns '&' into the matched text
    bad = "pass&word"
    stored = image_sed("PASSWORD '${PANDA_DB_PASSWORD}'", bad)
    check(stored != "PASSWORD '%s'" % bad, "sed kept %r intact" % bad)
    pg.sql("CREATE USER apptest_amp PASSWORD %s;" % stored.split(" ", 1)[1])
    expect_failure("login with a password containing '&'", lambda: psycopg2.connect(
        host="127.0.0.1", port=pg.port, dbname="panda_db", user="apptest_amp", password=bad, connect_timeout=5),
        "password authentication failed")
    return msg.splitlines()[0][:80]


def idds_pg(ctx):
    """iDDS' database as the official postgres image creates it from POSTGRES_USER/PASSWORD/DB."""
    if "idds-pg" in ctx.servers:
        return ctx.servers["idds-pg"]
    env = ctx.env(EXP, "idds", "postgres")
    pg = Postgres(ctx.runner, "idds-postgres")
    pg.start()
    pg.sql('CREATE DATABASE "%s";\nCREATE USER "%s" WITH SUPERUSER PASSWORD %s;\n' % (
        env["POSTGRES_DB"], env["POSTGRES_USER"], _pg_literal(env["POSTGRES_PASSWORD"])))
    ctx.servers["idds-pg"] = pg
    return pg


def idds_url_parts(env):
    url = urlsplit(env["IDDS_DATABASE_URL"])
    return url, unquote(url.username or ""), unquote(url.password or "")


@test("postgres: iDDS rest and daemon log in with IDDS_DATABASE_URL (percent-encoded credentials)")
def t_idds_db(ctx):
    pg = idds_pg(ctx)
    for component in ("rest", "daemon"):
        env = ctx.env(EXP, "idds", component)
        url, user, password = idds_url_parts(env)
        check(url.scheme == "postgresql+psycopg2", "scheme %s: the image has psycopg2 only" % url.scheme)
        check(user == env["IDDS_DATABASE_USER"] and password == env["IDDS_DATABASE_PASSWORD"],
              "%s: the URL's credentials do not decode to IDDS_DATABASE_USER/PASSWORD" % component)
        conn = pg_login(ctx, pg, url.hostname, url.port, url.path.lstrip("/"), user, password)
        conn.cursor().execute("SELECT 1")
        conn.close()
    return "user %r, password with %d characters incl. ' @:/%%+'" % (user, len(password))


# ---------------------------------------------------------------------------- MariaDB
def mariadb_like_image(ctx, name, env, initdb):
    """The official mariadb image's first start: root password (root@'%' too), MARIADB_DATABASE/USER if
    given, then every *.sql of /docker-entrypoint-initdb.d as root."""
    key = "mariadb-" + name
    if key in ctx.servers:
        return ctx.servers[key]
    db = MariaDB(ctx.runner, name)
    db.start()
    root = env["MARIADB_ROOT_PASSWORD"]
    lit = _my_literal(root)
    db.sql("ALTER USER 'root'@'localhost' IDENTIFIED BY %s;\nCREATE USER 'root'@'%%' IDENTIFIED BY %s;\n"
           "GRANT ALL ON *.* TO 'root'@'%%' WITH GRANT OPTION;\n" % (lit, lit))
    if env.get("MARIADB_DATABASE"):
        db.sql("CREATE DATABASE IF NOT EXISTS `%s`;" % env["MARIADB_DATABASE"], password=root)
    if env.get("MARIADB_USER"):
        db.sql("CREATE USER '%s'@'%%' IDENTIFIED BY %s;" % (env["MARIADB_USER"], _my_literal(env["MARIADB_PASSWORD"])),
               password=root)
        if env.get("MARIADB_DATABASE"):
            db.sql("GRANT ALL ON `%s`.* TO '%s'@'%%';" % (env["MARIADB_DATABASE"], env["MARIADB_USER"]), password=root)
    for sql in initdb:
        db.sql(sql, password=root)
    ctx.servers[key] = db
    return db


def _my_literal(text):
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def my_login(ctx, db, host, port, database, user, password):
    ctx.service_port(EXP, host, port)
    return pymysql.connect(host="127.0.0.1", port=db.port, user=user, password=password, database=database,
                           connect_timeout=5)


def _use(conn, table="apptest"):
    cur = conn.cursor()
    cur.execute("CREATE TABLE %s (id INT PRIMARY KEY)" % table)
    cur.execute("INSERT INTO %s VALUES (1)" % table)
    cur.execute("SELECT COUNT(*) FROM %s" % table)
    check(cur.fetchone()[0] == 1, "insert/select failed")
    cur.execute("DROP TABLE %s" % table)
    conn.commit()


def harvester_db(ctx):
    env = ctx.env(EXP, "harvester", "mariadb")
    init = ctx.file(EXP, "harvester", "mariadb", "/docker-entrypoint-initdb.d/init_harvester_db.sql")
    return mariadb_like_image(ctx, "harvester-mariadb", env, [init])


@test("mariadb: Harvester's MariaDB from its pod env + init SQL; Harvester logs in to its DB and replica DBs")
def t_harvester_db(ctx):
    db = harvester_db(ctx)
    env = ctx.env(EXP, "harvester", "harvester")
    conn = my_login(ctx, db, env["HARVESTER_DB_HOST"], 3306, env["MARIADB_DATABASE"], env["MARIADB_USER"],
                    env["MARIADB_PASSWORD"])
    _use(conn)
    conn.close()
    sql = ctx.file(EXP, "harvester", "mariadb", "/docker-entrypoint-initdb.d/init_harvester_db.sql")
    replicas = sorted(set(line.split("`")[1] for line in sql.splitlines()
                          if line.startswith("CREATE DATABASE") and "_" in line.split("`")[1]
                          and line.split("`")[1] != env["MARIADB_DATABASE"]))
    for name in replicas:
        conn = my_login(ctx, db, env["HARVESTER_DB_HOST"], 3306, name, env["MARIADB_USER"], env["MARIADB_PASSWORD"])
        _use(conn)
        conn.close()
    return "user %s on %s and %s (Service %s:3306 -> 127.0.0.1:%d)" % (
        env["MARIADB_USER"], env["MARIADB_DATABASE"], ", ".join(replicas) or "no replica DBs",
        env["HARVESTER_DB_HOST"], db.port)


@test("mariadb: [break] Harvester with a wrong password, and without the init SQL's grants, is refused")
def t_harvester_db_breaks(ctx):
    db = harvester_db(ctx)
    env = ctx.env(EXP, "harvester", "harvester")
    msg = expect_failure("wrong Harvester DB password", lambda: my_login(
        ctx, db, env["HARVESTER_DB_HOST"], 3306, env["MARIADB_DATABASE"], env["MARIADB_USER"],
        env["MARIADB_PASSWORD"] + "x"), "access denied")
    expect_failure("a database the init SQL did not grant", lambda: my_login(
        ctx, db, env["HARVESTER_DB_HOST"], 3306, "mysql", env["MARIADB_USER"], env["MARIADB_PASSWORD"]),
        "access denied")
    return msg[:80]


@test("mariadb: IAM's MariaDB from iam-db-envs + init SQL; IAM logs in with IAM_DB_* of iam-envs")
def t_iam_db(ctx):
    env = ctx.env(EXP, "iam", "mariadb")
    init = ctx.file(EXP, "iam", "mariadb", "/docker-entrypoint-initdb.d/init_org_db.sql")
    db = mariadb_like_image(ctx, "iam-mariadb", env, [init])
    iam = ctx.env(EXP, "iam", "main")
    conn = my_login(ctx, db, iam["IAM_DB_HOST"], iam["IAM_DB_PORT"], iam["IAM_DB_NAME"], iam["IAM_DB_USERNAME"],
                    iam["IAM_DB_PASSWORD"])
    _use(conn, "apptest_iam")  # flyway creates IAM's tables at first start: it needs CREATE
    conn.close()
    expect_failure("IAM with the Harvester DB user's password", lambda: my_login(
        ctx, db, iam["IAM_DB_HOST"], iam["IAM_DB_PORT"], iam["IAM_DB_NAME"], iam["IAM_DB_USERNAME"], "wrong"),
        "access denied")
    return "user %s on %s" % (iam["IAM_DB_USERNAME"], iam["IAM_DB_NAME"])
