# Chart default for /data/bigmon/config/local.py (core/settings/local.py links here).
# BigMon's core/settings/config.py imports MY_SECRET_KEY, LOG_ROOT and the dbaccess_* maps from this
# module. Everything is read from the environment at start-up (the bigmon-envs Secret), so no
# credential is stored in the ConfigMap. Replace it through config.files (key local.py).
import os


def _env(name, default=""):
    return os.environ.get(name, default)


def _database(engine, prefix, search_path=None):
    settings = {
        "ENGINE": engine,
        "NAME": _env(prefix + "_NAME"),
        "HOST": _env(prefix + "_HOST"),
        "PORT": _env(prefix + "_PORT"),
        "USER": _env(prefix + "_USER"),
        "PASSWORD": _env(prefix + "_PASSWORD"),
    }
    if search_path:
        settings["OPTIONS"] = {"options": "-c search_path=" + search_path}
    return settings


MY_SECRET_KEY = _env("BIGMON_SECRET_KEY")
LOG_ROOT = "/data/bigmon/logs"
DEBUG = _env("BIGMON_DEBUG", "False") == "True"

# PostgreSQL: PanDA's schemas first (BIGMON_PG_SEARCH_PATH), iDDS in its own schema.
dbaccess_postgres = {
    "default": _database(
        "django.db.backends.postgresql",
        "PANDA_DB",
        _env("BIGMON_PG_SEARCH_PATH", "doma_pandabigmon,doma_pandameta,doma_panda,doma_pandaarch,public"),
    ),
    "idds": _database(
        "django.db.backends.postgresql",
        "IDDS_DB",
        _env("IDDS_DB_SCHEMA", "doma_idds") + ",public",
    ),
}
# Oracle (TNS_ADMIN points at /data/bigmon/config, where tnsnames.ora is copied when given).
dbaccess_oracle_atlas = {"default": _database("django.db.backends.oracle", "PANDA_DB")}
dbaccess_oracle_doma = dbaccess_oracle_atlas
dbaccess = _env("BIGMON_DB_ACCESS", "postgres")

OBJECT_STORE = {
    "host_name": _env("OBJECTSTORE_HOST"),
    "port": _env("OBJECTSTORE_PORT"),
    "bucket_name": _env("OBJECTSTORE_BUCKET"),
    "access_key": _env("OBJECTSTORE_ACCESSKEY"),
    "secret_key": _env("OBJECTSTORE_SECRETKEY"),
}

LOGS_PROVIDER = _env("LOGS_PROVIDER", "rucio")
RUCIO_ACCOUNT = _env("RUCIO_ACCOUNT")
RUCIO_AUTH_HOST = _env("RUCIO_AUTH_HOST")
RUCIO_SERVER_HOST = _env("RUCIO_SERVER_HOST")
RUCIO_REDIRECT_HOST = RUCIO_SERVER_HOST
CAPATH = "/etc/grid-security/certificates"
MEDIA_URL = "/media/"
FILEBROWSER_DIRECTORY = "filebrowser"

# Sign-in (python-social-auth). BigMon's backends read SOCIAL_AUTH_<BACKEND NAME>_KEY/_SECRET: "cernoidc"
# (CERN SSO, core/oauth/Cernauth2.py) and "indigoiam" (INDIGO IAM, core/oauth/indigoiam.py, endpoints
# under SOCIAL_AUTH_INDIGOIAM_BASEPATH). Google and GitHub use social-core's own names
# (google-oauth2, github); BigMon v1.1.7 registers no backend for them, so they only take effect with
# an image that does. The providers offered on the login page are BIGMON_AUTH_PROVIDER_LIST.
# This module is imported after core/settings/config.py, so a setting is defined here only when its
# variable is present: an empty SOCIAL_AUTH_CERNOIDC_BASEPATH would replace config.py's CERN default.
_SOCIAL_AUTH = (
    "SOCIAL_AUTH_CERNOIDC_KEY",
    "SOCIAL_AUTH_CERNOIDC_SECRET",
    "SOCIAL_AUTH_CERNOIDC_BASEPATH",
    "SOCIAL_AUTH_INDIGOIAM_KEY",
    "SOCIAL_AUTH_INDIGOIAM_SECRET",
    "SOCIAL_AUTH_INDIGOIAM_BASEPATH",
    "SOCIAL_AUTH_GOOGLE_OAUTH2_KEY",
    "SOCIAL_AUTH_GOOGLE_OAUTH2_SECRET",
    "SOCIAL_AUTH_GITHUB_KEY",
    "SOCIAL_AUTH_GITHUB_SECRET",
)
globals().update({name: os.environ[name] for name in _SOCIAL_AUTH if os.environ.get(name)})

# TLS ends in this pod's httpd (Route/Ingress passthrough or backend-protocol HTTPS).
SESSION_COOKIE_SAMESITE = None
SOCIAL_AUTH_REDIRECT_IS_HTTPS = False
SESSION_COOKIE_SECURE = False

defaultDatetimeFormatMySQL = "%Y-%m-%d %H:%M:%SZ"
defaultDatetimeFormatOracle = "%Y-%m-%d %H:%M:%S"
defaultDatetimeFormat = defaultDatetimeFormatOracle
