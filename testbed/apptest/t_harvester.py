"""Harvester: pandaharvester is not on any package registry (only on GitHub), so its loader cannot be
installed here. The test applies harvester_config.py's rules (HSF/harvester v0.6.5, read for the
contract: only sections of panda_harvester.cfg are updated from the configmap; a string value that
starts with "$" is replaced as a whole by the variable named in it, KeyError if undefined; "True",
"False", "None" and digits are converted) to the image's cfg defaults and our rendered
panda_harvester_configmap.json + pod env, then logs in to the real MariaDB exactly as db_proxy.py does
(MySQLdb.connect(user, passwd, db, host, port, charset)), with PyMySQL standing in for mysqlclient."""
import json
import os
import re
import socket

import pymysql
import yaml

import render
from suite import Failure, check, expect_failure, test
from t_databases import harvester_db

# The image's panda_harvester.cfg (templates/panda/panda_harvester.cfg.rpmnew.template at v0.6.5):
# the values a Harvester without our configmap would run with.
IMAGE_CFG = {
    "master": {"harvester_id": "FIXME", "uname": "FIXME", "gname": "FIXME"},
    "db": {"engine": "sqlite", "database_filename": "FIXME", "useMySQLdb": "False", "user": "harvester",
           "password": "FIXME", "schema": "HARVESTER", "host": "localhost", "port": "3306"},
    "pandacon": {"pandaURL": "http://pandaserver.cern.ch:25080/server/panda",
                 "pandaURLSSL": "https://pandaserver.cern.ch:25443/server/panda",
                 "server_api_url_ssl": "https://pandaserver.cern.ch:25443/api/v1", "auth_type": "x509"},
    "qconf": {"configFile": "panda_queueconfig.json"},
    "cacher": {"data": "\n panda_queues.json||https://atlas-cric.cern.ch/api/atlas/pandaqueue/query/?json"},
    "service_monitor": {"pidfile": "/var/log/harvester/panda_harvester.pid"},
}
ENV_REF = re.compile(r"\$\{*([^\}]+)\}*")


def cfg_sections(ctx):
    """The sections of the image's cfg, from contracts/harvester.yaml (fact configmap-sections)."""
    doc = yaml.safe_load(open(os.path.join(ctx.root, "contracts", "harvester.yaml")))
    return [f for f in doc["facts"] if f["id"] == "configmap-sections"][0]["allowed"]


def resolve(sections, configmap, env):
    """harvester_config.py's merge and expansion."""
    result = {}
    for section in sections:
        values = dict(IMAGE_CFG.get(section, {}))
        values.update(configmap.get(section, {}))
        out = {}
        for key, value in values.items():
            if isinstance(value, str) and value.startswith("$"):
                name = ENV_REF.search(value).group(1)
                if name.upper() == "HOSTNAME":
                    value = socket.gethostname().split(".")[0]
                elif name not in env:
                    raise KeyError("%s in the cfg is an undefined environment variable." % name)
                else:
                    value = env[name]
            if isinstance(value, str):
                if value in ("True", "False", "None"):
                    value = {"True": True, "False": False, "None": None}[value]
                elif re.match(r"^\d+$", value):
                    value = int(value)
            out[key] = value
        result[section] = out
    return result


def cacher_url(entry, env):
    """cacher.get_data's expansion of one 'file||url' entry."""
    url = entry.split("||", 1)[1]
    m = ENV_REF.search(url)
    if m:
        check(m.group(1) in env, "cacher: undefined environment variable %s" % m.group(1))
        url = env[m.group(1)]
    return url


def check_resolved(experiment, cfg, env):
    want = {("master", "harvester_id"): env["HARVESTER_ID"], ("db", "engine"): "mariadb", ("db", "useMySQLdb"): True,
            ("db", "host"): env["HARVESTER_DB_HOST"], ("db", "schema"): env["MARIADB_DATABASE"],
            ("db", "user"): env["MARIADB_USER"], ("db", "password"): env["MARIADB_PASSWORD"],
            ("pandacon", "pandaURLSSL"): env["PANDA_URL_SSL"], ("pandacon", "pandaURL"): env["PANDA_URL_SSL"],
            ("pandacon", "server_api_url_ssl"): env["PANDA_API_URL_SSL"], ("pandacon", "auth_type"): "oidc",
            ("pandacon", "auth_token"): env["PANDA_AUTH_ID_TOKEN"], ("pandacon", "auth_origin"): env["PANDA_AUTH_VO"],
            ("service_monitor", "pidfile"): "/var/run/panda/panda_harvester.pid"}
    for (section, key), value in want.items():
        got = cfg.get(section, {}).get(key)
        check(got == value, "%s: [%s] %s resolves to %r, the chart intends %r" % (experiment, section, key, got, value))
    for entry in cfg["cacher"]["data"]:
        if "||panda_server:" in entry:
            continue
        url = cacher_url(entry, env)
        check(url.startswith("http") and "atlas-cric.cern.ch" not in url, "%s: cacher %s -> %s" % (experiment, entry, url))
    return cfg


def load(ctx, experiment, rendered=None):
    rendered = rendered or ctx.rendered(experiment)
    w = [x for x in rendered.workloads() if x.chart == "harvester" and x.component == "harvester"][0]
    c = w.containers()[0]
    what, text, _m = w.file_at(c, "/opt/harvester/etc/configmap/panda_harvester_configmap.json")
    configmap = json.loads(text) if what == "file" else {}
    env = {k: v for k, (v, _o) in w.env(c).items() if v is not None}
    return configmap, env


@test("harvester: cfg + rendered configmap JSON + env resolve harvester ID, MariaDB and PanDA URLs (every experiment)")
def t_config(ctx):
    sections = cfg_sections(ctx)
    for experiment in render.experiments(ctx.root):
        configmap, env = load(ctx, experiment)
        check_resolved(experiment, resolve(sections, configmap, env), env)
    return "%d experiments; harvester_id %s" % (len(render.experiments(ctx.root)), env["HARVESTER_ID"])


@test("harvester: the resolved [db] section logs in to MariaDB the way db_proxy.py connects")
def t_db_login(ctx):
    db = harvester_db(ctx)
    configmap, env = load(ctx, "dev")
    cfg = resolve(cfg_sections(ctx), configmap, env)["db"]
    ctx.service_port("dev", cfg["host"], cfg["port"])
    import warnings
    warnings.simplefilter("ignore", DeprecationWarning)  # PyMySQL flags the MySQLdb-style keywords
    pymysql.install_as_MySQLdb()
    import MySQLdb  # noqa: E402 (PyMySQL's shim, the API db_proxy.py calls)
    conn = MySQLdb.connect(user=cfg["user"], passwd=cfg["password"], db=cfg["schema"], host="127.0.0.1",
                           port=db.port, charset="utf8")
    cur = conn.cursor()
    cur.execute("CREATE TABLE apptest_work (workerID BIGINT PRIMARY KEY)")
    cur.execute("DROP TABLE apptest_work")
    conn.close()
    return "%s@%s/%s" % (cfg["user"], cfg["host"], cfg["schema"])


@test("harvester: [break] without our default configmap Harvester runs with FIXME/sqlite/CERN; a missing variable raises")
def t_breaks(ctx):
    rendered = render.render_experiment(ctx.root, ctx.helm, "dev", ctx.secrets,
                                        extra_component={"harvester": ("--set", "harvester.config.defaultConfigMap=false")})
    configmap, env = load(ctx, "dev", rendered)
    msg = expect_failure("defaultConfigMap=false", lambda: check_resolved(
        "dev", resolve(cfg_sections(ctx), configmap, env), env), "FIXME")
    configmap, env = load(ctx, "dev")
    env.pop("MARIADB_PASSWORD")
    expect_failure("MARIADB_PASSWORD missing", lambda: resolve(cfg_sections(ctx), configmap, env), "undefined")
    return msg[:100]
