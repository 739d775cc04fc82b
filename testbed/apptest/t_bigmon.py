"""BigMon: panda-bigmon-core is not on any package registry, so its settings package cannot be installed.
The test builds a settings package with BigMon's structure (core/settings/__init__.py imports base, then
config, then local with "import *"; config.py imports MY_SECRET_KEY, LOG_ROOT and dbaccess_postgres from
local.py and picks DATABASES by BIGMON_DEPLOYMENT -- facts of v1.1.7, see contracts/bigmon.yaml) around
our rendered local.py, then runs the real Django 5.2 and social-auth (BigMon's pinned versions): Django
connects to the real PostgreSQL with the settings local.py builds from bigmon-envs, and every enabled
login provider finds its key and secret under the name social-auth looks up."""
import json
import os
import subprocess
import sys

from suite import Failure, check, expect_failure, test
from t_databases import panda_pg

EXP = "dev"
BACKEND_NAMES = {"indigoiam": "indigoiam", "cern": "cernoidc", "google": "google-oauth2", "github": "github"}

# Stand-ins of BigMon's settings modules, reduced to the facts local.py must satisfy.
SETTINGS_INIT = "from core.settings.base import *\nfrom core.settings.config import *\nfrom core.settings.local import *\n"
SETTINGS_BASE = ("INSTALLED_APPS = ['django.contrib.auth', 'django.contrib.contenttypes', 'social_django']\n"
                 "USE_TZ = True\n")
SETTINGS_CONFIG = r'''
import os
from core.settings.local import MY_SECRET_KEY, LOG_ROOT
try:
    from core.settings.local import dbaccess_postgres
except ImportError:
    dbaccess_postgres = None
SECRET_KEY = MY_SECRET_KEY
DEPLOYMENT = os.environ.get('BIGMON_DEPLOYMENT', 'ORACLE_ATLAS')
AUTH_PROVIDER_LIST = ['indigoiam', 'cern']
if os.environ.get('BIGMON_AUTH_PROVIDER_LIST'):
    AUTH_PROVIDER_LIST = os.environ['BIGMON_AUTH_PROVIDER_LIST'].split(',')
if 'cern' in AUTH_PROVIDER_LIST:
    SOCIAL_AUTH_CERNOIDC_BASEPATH = os.environ.get('SOCIAL_AUTH_CERNOIDC_BASEPATH', 'https://auth.cern.ch/auth/realms/cern/protocol/openid-connect/')
if DEPLOYMENT == 'POSTGRES':
    DATABASES = dbaccess_postgres
'''
CHILD = r'''
import json, os, sys
from django.conf import settings
out = {"host": settings.DATABASES["default"]["HOST"], "port": settings.DATABASES["default"]["PORT"]}
settings.DATABASES["default"]["HOST"] = "127.0.0.1"          # loopback: host and port only
settings.DATABASES["default"]["PORT"] = os.environ["APPTEST_PG_PORT"]
import django
django.setup()
from django.db import connection
with connection.cursor() as cur:
    cur.execute("SHOW search_path")
    out["search_path"] = cur.fetchone()[0]
    cur.execute("SELECT current_user, current_database()")
    out["who"] = list(cur.fetchone())
from social_core.utils import setting_name
out["providers"] = {}
for provider in settings.AUTH_PROVIDER_LIST:
    backend = json.loads(os.environ["APPTEST_BACKENDS"]).get(provider)
    names = [setting_name(backend, k) for k in ("KEY", "SECRET")] if backend else []
    out["providers"][provider] = {n: getattr(settings, n, None) for n in names}
out["cern_basepath"] = getattr(settings, "SOCIAL_AUTH_CERNOIDC_BASEPATH", None)
out["secret_key"] = bool(settings.SECRET_KEY)
print(json.dumps(out))
'''


def run_settings(ctx, env_edit=None, local_py=None):
    pg = panda_pg(ctx)
    base = ctx.tmpdir("bigmon-%d" % len(os.listdir(ctx.base)))
    settings_dir = ctx.tmpdir(os.path.basename(base), "core", "settings")
    ctx.runner.write(os.path.join(base, "core", "__init__.py"), "", 0o644)
    ctx.runner.write(os.path.join(settings_dir, "__init__.py"), SETTINGS_INIT, 0o644)
    ctx.runner.write(os.path.join(settings_dir, "base.py"), SETTINGS_BASE, 0o644)
    ctx.runner.write(os.path.join(settings_dir, "config.py"), SETTINGS_CONFIG, 0o644)
    text = local_py or ctx.file(EXP, "bigmon", "main", "/data/bigmon/configmap/local.py")
    ctx.runner.write(os.path.join(settings_dir, "local.py"), text, 0o644)
    env = dict(ctx.env(EXP, "bigmon", "main"))
    if env_edit:
        env_edit(env)
    env.update({"PATH": os.environ["PATH"], "PYTHONPATH": base, "DJANGO_SETTINGS_MODULE": "core.settings",
                "APPTEST_PG_PORT": str(pg.port), "APPTEST_BACKENDS": json.dumps(BACKEND_NAMES), "HOME": base})
    proc = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, cwd=base)
    if proc.returncode != 0:
        raise Failure("BigMon settings failed: %s" % proc.stderr[-1500:])
    return json.loads(proc.stdout), env


def check_settings(out, env):
    ctx_host, port = out["host"], out["port"]
    check(ctx_host == env["PANDA_DB_HOST"] and str(port) == env["PANDA_DB_PORT"], "DATABASES host/port %s:%s" % (
        ctx_host, port))
    check(out["who"] == [env["PANDA_DB_USER"], env["PANDA_DB_NAME"]], "connected as %s" % out["who"])
    path = out["search_path"].replace(" ", "").split(",")
    check(path[:3] == ["doma_pandabigmon", "doma_pandameta", "doma_panda"], "search_path %s" % out["search_path"])
    check(out["secret_key"], "SECRET_KEY is empty")
    for provider, values in out["providers"].items():
        check(values, "provider %s is not one BigMon knows" % provider)
        for name, value in values.items():
            check(value, "provider %s: %s is not set (social-auth reads it)" % (provider, name))
            check(value == env.get(name), "provider %s: %s differs from bigmon-envs" % (provider, name))
    if "cern" in out["providers"]:
        check(out["cern_basepath"], "SOCIAL_AUTH_CERNOIDC_BASEPATH lost its default")


@test("bigmon: our local.py under BigMon's settings chain: Django logs in to PostgreSQL, login providers configured")
def t_settings(ctx):
    out, env = run_settings(ctx)
    ctx.service_port(EXP, out["host"], out["port"])
    check_settings(out, env)
    return "providers %s; search_path %s" % (",".join(out["providers"]), out["search_path"].split(",")[0])


@test("bigmon: [break] without the IAM client key, and with the previous local.py (no SOCIAL_AUTH_*), login is unconfigured")
def t_breaks(ctx):
    out, env = run_settings(ctx, env_edit=lambda e: e.pop("SOCIAL_AUTH_INDIGOIAM_KEY"))
    msg = expect_failure("SOCIAL_AUTH_INDIGOIAM_KEY missing", lambda: check_settings(out, env), "not set")
    text = ctx.file(EXP, "bigmon", "main", "/data/bigmon/configmap/local.py")
    start = text.index("_SOCIAL_AUTH = (")
    end = text.index("globals().update")
    end = text.index("\n", end) + 1
    out, env = run_settings(ctx, local_py=text[:start] + text[end:])
    expect_failure("local.py without the login block (the chart before this change)", lambda: check_settings(out, env),
                   "not set")
    return msg[:100]
