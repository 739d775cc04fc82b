#!/bin/bash
# start-daemon.sh of the test bed's idds image (scripts/images), our own, doing what the chart relies on
# from the upstream image's (contracts/idds.yaml): link the host certificate from /opt/idds/certs (else
# a self-signed one), render idds.cfg, alembic.ini, auth.cfg, panda.cfg and rucio.cfg with the wheel's
# merge tools from the defaults, IDDS_CFG_* variables and /opt/idds/configmap/idds_configmap.json,
# copy the supervisord programs and httpd files into /opt/idds/config/idds, create and upgrade the
# schema, start redis, then run supervisord for "rest", "daemon" or "all", or exec "$@".
# Not done here (nothing on the test bed needs them): fetch-crl and VOMS proxy renewal, the monitor's
# conf.js (idds-monitor is not installed), NATS.
set -euo pipefail
export IDDS_HOME=/opt/idds ALEMBIC_CONFIG=/opt/idds/config/idds/alembic.ini IDDS_CONFIG=/opt/idds/etc/idds/idds.cfg
say() { echo "start-daemon.sh: $*"; }
tools=/opt/idds/tools/env
defaults=/opt/idds/config_default
configmap=/opt/idds/configmap/idds_configmap.json
config=/opt/idds/config
mkdir -p "$config/idds" "$config/.panda"

# the host certificate: the certs Secret when it has one, else self-signed
if [ -f /opt/idds/certs/hostkey.pem ]; then
  ln -fs /opt/idds/certs/hostkey.pem /etc/grid-security/hostkey.pem
  ln -fs /opt/idds/certs/hostcert.pem /etc/grid-security/hostcert.pem
fi
if [ ! -e /etc/grid-security/hostkey.pem ]; then
  say "no host certificate in /opt/idds/certs: a self-signed one"
  # a CN holds at most 64 characters: a StatefulSet pod's FQDN (pod.headless-service.namespace.svc...)
  # can be longer, so the CN is the short name and every name goes into subjectAltName
  fqdn=$(hostname -f)
  openssl req -x509 -nodes -days 365 -newkey rsa:2048 -subj "/DC=IDDS/OU=computers/CN=$(hostname -s)" \
    -addext "subjectAltName=DNS:$fqdn,DNS:$(hostname -s)" \
    -keyout "$config/hostkey.pem" -out "$config/hostcert.pem" 2>"$config/openssl.err" ||
    { cat "$config/openssl.err" >&2; exit 1; }
  ln -fs "$config/hostkey.pem" /etc/grid-security/hostkey.pem
  ln -fs "$config/hostcert.pem" /etc/grid-security/hostcert.pem
fi
if [ ! -e /etc/grid-security/chain.pem ]; then
  if [ -f /opt/idds/certs/chain.pem ]; then
    ln -fs /opt/idds/certs/chain.pem /etc/grid-security/chain.pem
  else
    ln -fs /etc/grid-security/hostcert.pem /etc/grid-security/chain.pem
  fi
fi

# render FILE from DEFAULT (with IDDS_CFG_<PREFIX>_* variables), then the configmap's key for FILE
render() {
  local dest=$1 default=$2 prefix=$3
  if [ -f "$dest" ]; then say "$dest already there"; return 0; fi
  python3 "$tools/merge_idds_configs.py" -s "$default" --use-env --prefix "$prefix" -d "$dest"
  if [ "$dest" = "$config/idds/auth.cfg" ] && [ -f /opt/idds/configmap/auth.cfg.json ]; then
    python3 "$tools/merge_configmap.py" -s /opt/idds/configmap/auth.cfg.json -d "$dest"
  fi
  python3 "$tools/merge_configmap.py" -s "$configmap" -d "$dest"
}
render "$config/idds/idds.cfg" "$defaults/idds.cfg" IDDS_CFG_IDDS
render "$config/idds/auth.cfg" "$defaults/auth.cfg" IDDS_CFG_AUTH
render "$config/panda.cfg" "$defaults/panda.cfg" IDDS_CFG_PANDA
render "$config/rucio.cfg" "$defaults/rucio.cfg" IDDS_CFG_RUCIO
if [ ! -f "$config/idds/alembic.ini" ]; then
  cp "$defaults/alembic.ini" "$config/idds/alembic.ini"
  python3 "$tools/merge_configmap.py" -s "$configmap" -d "$config/idds/alembic.ini"
fi
[ -e "$config/idds/gacl" ] || ln -s "$defaults/gacl" "$config/idds/gacl"
python3 "$tools/merge_configmap.py" --create_oidc_token

# httpd: the wheel's file for Python 3.11 (its WSGI paths are the venv's), linked from conf.d
[ -f "$config/idds/httpd-idds.conf" ] || cp "$defaults/httpd-idds-443-py311-al9.conf" "$config/idds/httpd-idds.conf"
cp "$defaults/httpd_daemon.sh" "$config/idds/httpd_daemon.sh"
chmod a+rx "$config/idds/httpd_daemon.sh"

# supervisord programs (the chart's launcher includes the ones of its role)
for f in "$defaults"/supervisord_*.ini "$defaults/logrotate_idds" "$defaults/logrotate_daemon" \
  "$defaults/healthmonitor_daemon" "$defaults/idds_health_check.py" "$defaults/nats_daemon.sh"; do
  [ -e "$config/idds/$(basename "$f")" ] || cp "$f" "$config/idds/"
done
chmod a+x "$config/idds/logrotate_daemon" "$config/idds/healthmonitor_daemon" "$config/idds/nats_daemon.sh"

export IDDS_SERVER_CONF_MIN_WORKERS=${IDDS_SERVER_CONF_MIN_WORKERS:-32}
export IDDS_SERVER_CONF_MAX_WORKERS=${IDDS_SERVER_CONF_MAX_WORKERS:-512}
export IDDS_SERVER_CONF_NUM_WSGI=${IDDS_SERVER_CONF_NUM_WSGI:-32}
export IDDS_SERVER_CONF_MAX_BACKLOG=${IDDS_SERVER_CONF_MAX_BACKLOG:-511}
export IDDS_SERVER_CONF_NUM_WSGI_THREAD=${IDDS_SERVER_CONF_NUM_WSGI_THREAD:-32}

say "creating and upgrading the schema"
python3 "$tools/create_database.py"
(cd "$config/idds" && alembic upgrade heads)

if [ ! -e "$config/.token" ] && [ -f /opt/idds/configmap/idds2panda_token ]; then
  ln -s /opt/idds/configmap/idds2panda_token "$config/.token"
fi

mkdir -p /var/log/idds/redis
redis-server --bind 127.0.0.1 --port 6379 --dir /var/log/idds/redis --logfile /var/log/idds/redis/redis.log \
  --daemonize yes
python3 "$tools/clean_heartbeat.py" || say "clean_heartbeat.py failed (a first start has none)"

case ${1:-all} in
  rest|daemon|all) say "starting iDDS $1"; exec /usr/bin/supervisord -n -c /etc/supervisor/supervisord.conf ;;
  *) exec "$@" ;;
esac
