#!/bin/bash
# Start the PanDA server in its container, as the non-root user the pod runs as.
#  1. wait for PostgreSQL (when PANDA_DB_BACKEND=postgres);
#  2. copy the sandbox (ConfigMap + token-cache Secret) to /data/panda and render its *.template files;
#  3. install the IGTF CAs, fetch the queue configuration (schedconfig) and run the configurator;
#  4. start the periodic tasks (CA refresh, schedconfig cache, log rotation) and httpd;
#  5. stay in the foreground while httpd runs; stop httpd on SIGTERM.
set -u

log() { echo "start-server: $*"; }

if [ "${PANDA_DB_BACKEND:-}" = "postgres" ]; then
  pg_isready_bin=$(ls /usr/pgsql-*/bin/pg_isready 2>/dev/null | head -n 1)
  until "${pg_isready_bin:-pg_isready}" -q -h "${PANDA_DB_HOST}" -p "${PANDA_DB_PORT:-5432}"; do
    log "waiting for the database ${PANDA_DB_HOST}:${PANDA_DB_PORT:-5432}"
    sleep 5
  done
fi

mkdir -p /data/panda /var/log/panda/wsgisocks /var/log/panda/pandacache/jedilog "${HOME:-/home/atlpan}/.idds"
cp -L /opt/panda/sandbox/* /data/panda/
/opt/panda/bin/python /data/panda/process-templates.py /data/panda
cp /data/panda/idds.cfg "${HOME:-/home/atlpan}/.idds/idds_local.cfg"

/opt/panda/bin/panda_common-install_igtf_ca > /var/log/panda/install_igtf_ca.log 2>&1 \
  || log "warning: installing the IGTF CAs failed (see install_igtf_ca.log)"
/opt/panda/usr/bin/panda_server-schedconfig_json || log "warning: panda_server-schedconfig_json failed"
/opt/panda/usr/bin/panda_server-configurator || log "warning: panda_server-configurator failed"

( while sleep 36000; do /opt/panda/bin/panda_common-install_igtf_ca > /var/log/panda/install_igtf_ca.log 2>&1; done ) &
( while true; do /opt/cacheschedconfig/bin/cacheSC.sh >> /var/log/panda/cacheSC.out 2>&1; sleep 60; done ) &
( while true; do /usr/sbin/logrotate -s /var/log/panda/logrotate.status /data/panda/logrotate-panda >> /var/log/panda/logrotate.log 2>&1; sleep 86400; done ) &

stop() {
  log "stopping httpd"
  /etc/rc.d/init.d/httpd-pandasrv stop
  exit 0
}
trap stop TERM INT

/etc/rc.d/init.d/httpd-pandasrv start || { log "httpd did not start"; exit 1; }
log "httpd started"
while pgrep -x httpd > /dev/null; do
  sleep 30 &
  wait $!
done
log "httpd is gone: exiting so that the container restarts"
exit 1
