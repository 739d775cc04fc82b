"""iDDS (idds-server/idds-common from PyPI, the version of the chart's image): the image's start-up steps
run for real -- merge_idds_configs.py and merge_configmap.py build idds.cfg, panda.cfg and auth.cfg
from the package defaults, our idds_configmap.json/auth.cfg.json and the pod env; create_database.py
and "alembic upgrade heads" create the schema in PostgreSQL with our credentials; the REST WSGI app
answers a ping in-process. Relocation: the configmap's /opt/idds/config/... keys are rewritten to a
private directory (merge_configmap.py only merges the key equal to its destination path) and the
database host to 127.0.0.1:<loopback port>; nothing else is changed."""
import configparser
import json
import os
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import render
from suite import Failure, check, expect_failure, test
from t_activemq import Client, broker
from t_databases import idds_pg

FILES = {"/opt/idds/config/idds/idds.cfg": ("idds.cfg", "IDDS_CFG_IDDS"),
         "/opt/idds/config/panda.cfg": ("panda.cfg", "IDDS_CFG_PANDA"),
         "/opt/idds/config/rucio.cfg": ("rucio.cfg", "IDDS_CFG_RUCIO"),
         "/opt/idds/config/idds/auth.cfg": ("auth.cfg", "IDDS_CFG_AUTH")}


def tools():
    return os.path.join(sys.prefix, "tools", "env"), os.path.join(sys.prefix, "config_default")


def build_configs(ctx, experiment, component="rest", env_edit=None, db_port=None):
    """start-daemon.sh's configuration steps with our rendered files; returns (dir, env)."""
    tool_dir, defaults = tools()
    name = "idds-%s-%s-%d" % (experiment, component, len(ctx.notes) + len(os.listdir(ctx.base)))
    base = ctx.tmpdir(name)
    ctx.tmpdir(name, "opt", "idds", "config", "idds")
    env = dict(ctx.env(experiment, "idds", component))
    if env_edit:
        env_edit(env)
    if db_port:  # loopback: only the host (and port) of the database URL change
        url = urlsplit(env["IDDS_DATABASE_URL"])
        ctx.service_port(experiment, url.hostname, url.port)
        netloc = url.netloc.rsplit("@", 1)[0] + "@127.0.0.1:%d" % db_port
        env["IDDS_DATABASE_URL"] = urlunsplit((url.scheme, netloc, url.path, url.query, url.fragment))
        env["IDDS_DATABASE_URL_ESCAPED"] = env["IDDS_DATABASE_URL"].replace("%", "%%")
    configmap = json.loads(ctx.file(experiment, "idds", component, "/opt/idds/configmap/idds_configmap.json"))
    relocated = {base + k: v for k, v in configmap.items()}
    ctx.runner.write(os.path.join(base, "idds_configmap.json"), json.dumps(relocated))
    auth = json.loads(ctx.file(experiment, "idds", component, "/opt/idds/configmap/auth.cfg.json"))
    ctx.runner.write(os.path.join(base, "auth.cfg.json"), json.dumps({base + k: v for k, v in auth.items()}))
    run_env = dict(env, PATH=os.environ["PATH"], HOME=base)
    for target, (default, prefix) in FILES.items():
        dest = base + target
        ctx.runner.run([sys.executable, os.path.join(tool_dir, "merge_idds_configs.py"), "-s",
                        os.path.join(defaults, default), "--use-env", "--prefix", prefix, "-d", dest], env=run_env, demote=False)
        if default == "auth.cfg":
            ctx.runner.run([sys.executable, os.path.join(tool_dir, "merge_configmap.py"), "-s",
                            os.path.join(base, "auth.cfg.json"), "-d", dest], env=run_env, demote=False)
        proc = ctx.runner.run([sys.executable, os.path.join(tool_dir, "merge_configmap.py"), "-s",
                               os.path.join(base, "idds_configmap.json"), "-d", dest], env=run_env, demote=False)
        check("WARN" not in proc.stdout, "%s: %s" % (target, proc.stdout.strip()))
    alembic = open(os.path.join(defaults, "alembic.ini")).read()
    site = [p for p in sys.path if p.endswith("site-packages")][0]
    alembic = alembic.replace("/opt/idds/lib/{python_version}/site-packages", site)
    ctx.runner.write(os.path.join(base, "opt/idds/config/idds/alembic.ini"), alembic)
    ctx.runner.run([sys.executable, os.path.join(tool_dir, "merge_configmap.py"), "-s",
                    os.path.join(base, "idds_configmap.json"), "-d",
                    os.path.join(base, "opt/idds/config/idds/alembic.ini")], env=run_env, demote=False)
    return base, run_env


def read_cfg(path):
    # as iDDS reads them (idds.common.config: configparser.ConfigParser(), "%%" -> "%")
    parser = configparser.ConfigParser()
    parser.read(path)
    return parser


def check_configs(experiment, base, env):
    idds = read_cfg(base + "/opt/idds/config/idds/idds.cfg")
    check(idds.get("database", "default") == env["IDDS_DATABASE_URL"], "%s: [database] default is not "
          "IDDS_DATABASE_URL" % experiment)
    check(idds.get("database", "schema") == env["IDDS_DATABASE_SCHEMA"], "%s: [database] schema" % experiment)
    for section, prefix in (("carrier", "IDDS_RECEIVER_"), ("conductor", "IDDS_CONDUCTOR_")):
        option = "plugin.receiver.channels" if section == "carrier" else "plugin.notifier.channels"
        channels = json.loads(idds.get(section, option))
        for name, channel in channels.items():
            brokers = channel["brokers"] if isinstance(channel["brokers"], list) else channel["brokers"].split(",")
            check(brokers == env[prefix + "BROKERS"].split(","), "%s: [%s] %s channel %s talks to %s, not %s" % (
                experiment, section, option, name, brokers, env[prefix + "BROKERS"]))
            check(channel["username"] == env[prefix + "USERNAME"] and channel["password"] == env[prefix + "PASSWORD"],
                  "%s: [%s] channel %s has the wrong account" % (experiment, section, name))
            check(channel["destination"] == env[prefix + "DESTINATION"], "%s: [%s] channel %s destination" % (
                experiment, section, name))
    leftovers = []
    for path in FILES:
        cfg = read_cfg(base + path)
        for section in cfg.sections():
            for key, value in cfg.items(section):
                if "${" in value:
                    leftovers.append("%s [%s] %s" % (os.path.basename(path), section, key))
    check(not leftovers, "%s: unexpanded ${VARS}: %s" % (experiment, ", ".join(leftovers)))
    panda = read_cfg(base + "/opt/idds/config/panda.cfg")
    check(panda.get("panda", "panda_url_ssl") == env["PANDA_URL_SSL"], "%s: panda.cfg panda_url_ssl" % experiment)
    auth = read_cfg(base + "/opt/idds/config/idds/auth.cfg")
    return idds, auth


@test("idds: start-daemon.sh's merge of our configmap + Secrets yields DB URL, broker channels, PanDA URLs (every experiment)")
def t_config(ctx):
    for experiment in render.experiments(ctx.root):
        base, env = build_configs(ctx, experiment)
        idds, auth = check_configs(experiment, base, env)
        vos = auth.get("common", "allow_vos").split(",")
        check(vos and all(auth.has_section(v) for v in vos), "%s: auth.cfg allow_vos %s without sections" % (
            experiment, vos))
    return "%d experiments; VOs %s" % (len(render.experiments(ctx.root)), ",".join(vos))


@test("idds: [break] without the channels the image's default talks to CERN's broker; a missing key stays literal")
def t_config_breaks(ctx):
    base, env = build_configs(ctx, "dev")
    idds_cfg = base + "/opt/idds/config/idds/idds.cfg"
    # what the chart rendered before this fix: no plugin.*.channels -> the image's default channels remain
    cfg = read_cfg(idds_cfg)
    # the image's default channels (config_default/idds.cfg of idds-server)
    cfg.set("carrier", "plugin.receiver.channels", json.dumps({"default": {
        "brokers": ["atlas-mb.cern.ch:61013"], "destination": "/topic/doma.panda_idds", "username": "user",
        "password": "password", "broker_timeout": 360}}))
    with open(idds_cfg, "w") as handle:
        cfg.write(handle)
    msg = expect_failure("image default channels", lambda: check_configs("dev", base, env), "atlas-mb.cern.ch")
    expect_failure("missing IDDS_RECEIVER_PASSWORD_ESCAPED", lambda: build_configs(
        ctx, "dev", env_edit=lambda e: e.pop("IDDS_RECEIVER_PASSWORD_ESCAPED")), "not defined in environments")
    return msg[:100]


@test("idds: broker channels of the merged idds.cfg log in to ActiveMQ and use their destinations")
def t_channels_broker(ctx):
    mq = broker(ctx)
    base, env = build_configs(ctx, "dev")
    idds = read_cfg(base + "/opt/idds/config/idds/idds.cfg")
    rx = json.loads(idds.get("carrier", "plugin.receiver.channels"))["default"]
    tx = json.loads(idds.get("conductor", "plugin.notifier.channels"))["default"]
    for channel in (rx, tx):
        host, port = channel["brokers"].split(",")[0].split(":")
        ctx.service_port("dev", host, port)
    r = Client(mq.port, rx["username"], rx["password"])
    r.subscribe(rx["destination"])
    s = Client(mq.port, tx["username"], tx["password"])
    s.send(tx["destination"], "idds conductor apptest")
    r.close()
    s.close()
    return "receiver %s, notifier %s" % (rx["destination"], tx["destination"])


@test("idds: create_database.py + alembic create the schema in PostgreSQL with our credentials")
def t_schema(ctx):
    pg = idds_pg(ctx)
    base, env = build_configs(ctx, "dev", db_port=pg.port)
    tool_dir, _ = tools()
    env = dict(env, IDDS_CONFIG=base + "/opt/idds/config/idds/idds.cfg",
               ALEMBIC_CONFIG=base + "/opt/idds/config/idds/alembic.ini",
               IDDS_AUTH_CONFIG=base + "/opt/idds/config/idds/auth.cfg")
    ctx.runner.run([sys.executable, os.path.join(tool_dir, "create_database.py")], env=env, demote=False)
    alembic = os.path.join(os.path.dirname(sys.executable), "alembic")
    proc = ctx.runner.run([alembic, "upgrade", "heads"], env=env, check=False, demote=False)
    schema = env["IDDS_DATABASE_SCHEMA"]
    tables = pg.sql("SELECT count(*) FROM information_schema.tables WHERE table_schema = '%s';" % schema,
                    db=ctx.env("dev", "idds", "postgres")["POSTGRES_DB"]).strip()
    check(int(tables) >= 10, "only %s tables in schema %s" % (tables, schema))
    check(proc.returncode == 0, "alembic upgrade heads failed: %s" % (proc.stderr or proc.stdout)[-800:])
    ctx.servers["idds-config"] = (base, env)
    return "%s tables in %s" % (tables, schema)


def wsgi(ctx):
    base, env = ctx.servers.get("idds-config") or (None, None)
    check(base, "the schema test did not run")
    code = r'''
import json, os, sys
from idds.rest.v1.app import create_app
app = create_app().test_client()
out = {}
r = app.get("/ping", headers={"X-IDDS-Auth-Type": "x509_proxy", "SSL-CLIENT-S-DN": "/DC=ch/DC=cern/OU=Users/CN=apptest",
                             "SSL-CLIENT-CERT": "apptest"})
out["x509"] = [r.status_code, r.get_data(as_text=True)]
r = app.get("/ping", headers={"X-IDDS-Auth-Type": "oidc", "X-IDDS-Auth-VO": os.environ["APPTEST_VO"],
                             "X-IDDS-Auth-Token": "not-a-token"})
out["oidc"] = [r.status_code, r.headers.get("ExceptionMessage", "")]
print(json.dumps(out))
'''
    auth = read_cfg(base + "/opt/idds/config/idds/auth.cfg")
    vo = auth.get("common", "allow_vos").split(",")[0]
    proc = ctx.runner.run([sys.executable, "-c", code], env=dict(env, APPTEST_VO=vo, IDDS_LOG_DIR=base), check=False,
                          demote=False)
    check(proc.returncode == 0, "the REST app failed: %s" % proc.stderr[-1500:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


@test("idds: the REST WSGI app answers /ping (x509 DN allowed by the merged auth.cfg)")
def t_ping(ctx):
    out = wsgi(ctx)
    check(out["x509"][0] == 200 and "OK" in out["x509"][1], "ping: %s" % out["x509"])
    return "200 %s" % out["x509"][1].strip()[:40]


@test("idds: [break] an OIDC ping with a bogus token is refused (401)")
def t_ping_break(ctx):
    out = wsgi(ctx)
    msg = expect_failure("bogus token", lambda: check(out["oidc"][0] == 200, "HTTP %s %s" % tuple(out["oidc"])), "401")
    return msg[:100]
