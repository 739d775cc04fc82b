"""PanDA server and JEDI: the configuration loaders of the real panda-server package (PyPI, the version
the chart's image tag ships) read the rendered config JSONs, cfg files and pod env and must yield what
the chart intends. The loaders run in a fresh interpreter per experiment with the image's layout,
relocated: PANDA_HOME=<tmp>/opt/panda (etc/config_json from the ConfigMap, etc/panda/*.cfg from the
package's own templates, as the image installs them) and the PYTHONPATH of the image's sysconfig."""
import ast
import importlib.util
import json
import os
import subprocess
import sys

import render
from suite import Failure, check, expect_failure, test

# What each experiment must end up with (facts from upstream panda-k8s 9a889bb config JSONs).
INTENDED = {
    "atlas_testbed": {"server": {"pserveralias": "pandaserver-tb.cern.ch", "closer_plugins":
                                 "atlas:dataservice.closer_atlas_plugin:CloserAtlasPlugin"},
                      "daemon": {"n_proc": 8, "async_request_daemon": True},
                      "jedi": {"ddm.voWithScope": "atlas", "tasksetup.modConfig":
                               "atlas:any:pandajedi.jedisetup.AtlasTaskSetupper:AtlasTaskSetupper"}},
    "doma": {"server": {"pserveralias": "pandaserver-doma.cern.ch"},
             "daemon": {"async_request_daemon": True},
             "plugins": {("adder_plugins", "wlcg_sphenix"): "AdderSimplePlugin"},
             "jedi": {"watchdog.procConfig": "wlcg:any:1:async_request:10"}},
    "sphenix": {"plugins": {("adder_plugins", "wlcg_sphenix"): "AdderSimplePlugin"},
                "jedi_plugins": {("ddm", "AtlasDDMClient")}},
}

LOADER = r'''
import json, os, sys
from pandaserver.config import panda_config, daemon_config
panda_config.setupPlugin()
server = {k: v for k, v in vars(panda_config).items() if not k.startswith("_") and isinstance(v, (str, int, bool, list, dict, type(None)))}
plugins = {cfg: {vo: c.__name__ for vo, c in m.items()} for cfg, m in panda_config.g_pluginMap.items()}
daemon = {k: v for k, v in vars(daemon_config).items() if not k.startswith("_") and isinstance(v, (str, int, bool, list, dict, type(None)))}
out = {"server": server, "plugins": plugins, "daemon": daemon}
if os.environ.get("APPTEST_JEDI"):
    from pandajedi.jediconfig import jedi_config
    out["jedi"] = {s: dict(vars(getattr(jedi_config, s))) for s in dir(jedi_config)
                   if type(getattr(jedi_config, s)).__name__ == "_SectionClass"}
print(json.dumps(out, default=str))
'''


def site_packages():
    import pandaserver
    return os.path.dirname(os.path.dirname(pandaserver.__file__))


def package_cfg(name):
    """The cfg template the package installs (<venv>/etc/panda/<name>.rpmnew), as the image moves it."""
    path = os.path.join(sys.prefix, "etc", "panda", name + ".rpmnew")
    check(os.path.exists(path), "panda-server did not install %s" % path)
    return open(path).read()


def load(ctx, experiment, component, env_edit=None):
    """Run the real loaders with the rendered files and env of panda/<component>; returns their values."""
    w = ctx.workload(experiment, "panda", component)
    home = ctx.tmpdir("panda-home-%s-%s" % (experiment, component), "opt", "panda")
    for sub in ("etc/config_json", "etc/panda", "etc/panda/auth"):
        ctx.tmpdir("panda-home-%s-%s" % (experiment, component), "opt", "panda", *sub.split("/"))
    names = ["panda_server_config.json"] + (["panda_jedi_config.json"] if component == "jedi" else [])
    for name in names:
        text = ctx.file(experiment, "panda", component, "/opt/panda/etc/config_json/" + name)
        doc = json.loads(text)
        if name == "panda_server_config.json":
            # relocation: the auth files are mounted at /opt/panda/etc/panda/auth in the pod
            doc["server"]["auth_config"] = os.path.join(home, "etc/panda/auth/")
        ctx.runner.write(os.path.join(home, "etc/config_json", name), json.dumps(doc))
        if name == "panda_server_config.json":
            rendered_server = sorted(doc["server"])
    if component == "server":
        for key, text in ctx.rendered(experiment).secret_data("test-secrets-panda-auth").items():
            ctx.runner.write(os.path.join(home, "etc/panda/auth", key), text)
    ctx.runner.write(os.path.join(home, "etc/panda/panda_server.cfg"), package_cfg("panda_server.cfg"))
    ctx.runner.write(os.path.join(home, "etc/panda/panda_jedi.cfg"), package_cfg("panda_jedi.cfg"))
    env = ctx.env(experiment, "panda", component)
    check(env.get("PANDA_HOME") == "/opt/panda", "PANDA_HOME is %r" % env.get("PANDA_HOME"))
    env = dict(env)
    if env_edit:
        env_edit(env)
    sp = site_packages()
    env.update({"PANDA_HOME": home, "HOME": home, "PATH": os.environ["PATH"],
                "PYTHONPATH": "%s/pandacommon:%s/pandaserver:%s" % (sp, sp, sp)})
    if component == "jedi":
        env["APPTEST_JEDI"] = "1"
    proc = subprocess.run([sys.executable, "-c", LOADER], env=env, capture_output=True, text=True, cwd=home)
    if proc.returncode != 0:
        raise Failure("%s loader failed: %s" % (component, proc.stderr[-1500:]))
    out = json.loads(proc.stdout)
    out["rendered"] = rendered_server
    return out, env


def class_exists(module, cls):
    """The real package defines <cls> in <module> (checked in its source, not imported: plugins pull in
    runtime dependencies the loader test does not install)."""
    spec = importlib.util.find_spec(module.split(".")[0])
    if spec is None:
        return False
    path = os.path.join(site_packages(), *module.split(".")) + ".py"
    if not os.path.exists(path):
        return False
    tree = ast.parse(open(path).read())
    return any(isinstance(n, ast.ClassDef) and n.name == cls for n in ast.walk(tree))


def server_plugin_specs(value):
    for item in [x.strip() for x in (value or "").split(",") if x.strip()]:
        parts = item.split(":")
        yield item, "pandaserver." + parts[1], parts[2]


def jedi_plugin_specs(value):
    for item in [x.strip() for x in (value or "").split(",") if x.strip()]:
        parts = item.split(":")
        yield item, parts[2], parts[3]


def check_server(experiment, out, env):
    s = out["server"]
    expect = {"dbhost": env["PANDA_DB_HOST"], "dbport": int(env["PANDA_DB_PORT"]), "dbname": env["PANDA_DB_NAME"],
              "dbuser": env["PANDA_DB_USER"], "dbpasswd": env["PANDA_DB_PASSWORD"], "backend": env["PANDA_DB_BACKEND"],
              "schemaPANDA": env["PANDA_DB_SCHEMAPANDA"], "schemaMETA": env["PANDA_DB_SCHEMAMETA"],
              "schemaJEDI": env["PANDA_DB_SCHEMAJEDI"], "pserverhost": env["PANDA_HOSTNAME"],
              "CRIC_URL_SCHEDCONFIG": env["PANDA_CRIC_SCHEDCONFIG"], "CRIC_URL_SITES": env["PANDA_CRIC_SITES"],
              "mq_configFile": "/opt/panda/etc/panda/panda_mbproxy_config.json",
              "token_cache_config": "/data/panda/token_cache_config.json"}
    for key, value in expect.items():
        check(s.get(key) == value, "%s: server.%s is %r, the chart intends %r" % (experiment, key, s.get(key), value))
    unexpanded = sorted(k for k, v in s.items() if isinstance(v, str) and v.startswith("$"))
    check(not unexpanded, "%s: server values left unexpanded (variable missing from the pod env): %s" % (
        experiment, ", ".join(unexpanded)))
    # the plugin settings the chart renders (the image's panda_server.cfg carries other defaults, e.g. a
    # closer_plugins module that 1.0.2 no longer has; 1.0.2 parses only adder and setupper plugins)
    for cfg in [c for c in ("adder_plugins", "setupper_plugins", "closer_plugins") if c in out["rendered"]]:
        for item, module, cls in server_plugin_specs(s.get(cfg)):
            check(class_exists(module, cls), "%s: %s %r: panda-server has no class %s in %s" % (
                experiment, cfg, item, cls, module))
    for cfg in ("adder_plugins", "setupper_plugins"):
        for item, _module, cls in server_plugin_specs(s.get(cfg)):
            vo = item.split(":")[0] + ("_" + item.split(":")[3] if len(item.split(":")) > 3 else "")
            got = out["plugins"].get(cfg, {}).get(vo)
            # the plugin map is filled by importing the module; without the runtime dependencies the import
            # fails silently, so a missing entry is checked statically above and only a wrong class fails here
            check(got in (None, cls), "%s: %s for %s resolves to %s, not %s" % (experiment, cfg, vo, got, cls))
    want = INTENDED.get(experiment, {})
    for key, value in want.get("server", {}).items():
        check(s.get(key) == value, "%s: server.%s is %r, intended %r" % (experiment, key, s.get(key), value))
    for (cfg, vo), cls in want.get("plugins", {}).items():
        specs = {(i.split(":")[0] + ("_" + i.split(":")[3] if len(i.split(":")) > 3 else "")): c
                 for i, _m, c in server_plugin_specs(s.get(cfg))}
        check(specs.get(vo) == cls, "%s: %s for %s is %r, intended %s" % (experiment, cfg, vo, specs.get(vo), cls))
    d = out["daemon"]
    check(d.get("enable") is True, "%s: daemon.enable is %r" % (experiment, d.get("enable")))
    for key, value in want.get("daemon", {}).items():
        if key == "async_request_daemon":
            got = (d.get("config") or {}).get("async_request_daemon", {}).get("enable")
            check(got is value, "%s: daemon.config.async_request_daemon.enable is %r" % (experiment, got))
        else:
            check(d.get(key) == value, "%s: daemon.%s is %r, intended %r" % (experiment, key, d.get(key), value))


def check_jedi(experiment, out, env):
    j = out["jedi"]
    for key, var in (("dbhost", "PANDA_DB_HOST"), ("dbname", "PANDA_DB_NAME"), ("dbuser", "PANDA_DB_USER"),
                     ("dbpasswd", "PANDA_DB_PASSWORD"), ("schemaJEDI", "PANDA_DB_SCHEMAJEDI")):
        check(j["db"].get(key) == env[var], "%s: jedi db.%s is %r, not %s" % (experiment, key, j["db"].get(key), var))
    check(j["db"].get("dbport") == int(env["PANDA_DB_PORT"]), "%s: jedi db.dbport" % experiment)
    check(j["mq"]["configFile"] == "/opt/panda/etc/panda/jedi_mq_config.json", "%s: mq.configFile" % experiment)
    check(j["msgprocessor"]["configFile"] == "/opt/panda/etc/panda/jedi_msg_proc_config.json",
          "%s: msgprocessor.configFile" % experiment)
    check(j["ddm"]["endpoints_json_path"] == env["PANDA_CRIC_URL_DDMENDPOINTS"], "%s: ddm.endpoints_json_path" % experiment)
    unexpanded = sorted("%s.%s" % (s, k) for s, d in j.items() for k, v in d.items() if isinstance(v, str) and v.startswith("$"))
    check(not unexpanded, "%s: JEDI values left unexpanded: %s" % (experiment, ", ".join(unexpanded)))
    classes = set()
    for section, values in j.items():
        if "modConfig" in values:
            for item, module, cls in jedi_plugin_specs(values["modConfig"]):
                check(class_exists(module, cls), "%s: jedi %s.modConfig %r: no class %s in %s" % (
                    experiment, section, item, cls, module))
                classes.add((section, cls))
    want = INTENDED.get(experiment, {})
    for dotted, value in want.get("jedi", {}).items():
        section, key = dotted.split(".")
        check(j.get(section, {}).get(key) == value, "%s: jedi %s is %r, intended %r" % (
            experiment, dotted, j.get(section, {}).get(key), value))
    for pair in want.get("jedi_plugins", set()):
        check(pair in classes, "%s: JEDI lacks the %s plugin %s" % (experiment, *pair))


@test("panda: panda-server's config loader yields the chart's DB, URLs, broker config and plugins (every experiment)")
def t_server_config(ctx):
    for experiment in render.experiments(ctx.root):
        out, env = load(ctx, experiment, "server")
        check_server(experiment, out, env)
        vos = sorted(k for k in out["server"].get("auth_vo_dict", {}))
        check(vos, "%s: no OIDC VO from the panda-auth Secret was loaded" % experiment)
    return "%d experiments; VOs %s" % (len(render.experiments(ctx.root)), ", ".join(vos))


@test("panda: JEDI's config loader yields the chart's DB, queues and plugins (every experiment)")
def t_jedi_config(ctx):
    for experiment in render.experiments(ctx.root):
        out, env = load(ctx, experiment, "jedi")
        check_jedi(experiment, out, env)
    return "%d experiments" % len(render.experiments(ctx.root))


@test("panda: [break] a missing Secret key leaves '$PANDA_DB_HOST' as host; a misspelt plugin module is caught")
def t_breaks(ctx):
    out, env = load(ctx, "dev", "server", env_edit=lambda e: e.pop("PANDA_DB_HOST"))
    msg = expect_failure("PANDA_DB_HOST missing", lambda: check_server("dev", out, dict(env, PANDA_DB_HOST="x")),
                         "dbhost")
    check("$PANDA_DB_HOST" in msg, "the loader did not keep the literal: %s" % msg)
    out, env = load(ctx, "dev", "server")
    out["server"]["adder_plugins"] = "local:dataservice.AdderDummyPlugin:AdderDummyPlugin"  # upstream's testbed value
    expect_failure("upstream's atlas_testbed adder module", lambda: check_server("dev", out, env), "no class")
    return msg[:90]
