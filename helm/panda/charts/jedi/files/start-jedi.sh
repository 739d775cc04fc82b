#!/bin/bash
# Start JEDI in its container, as the non-root user the pod runs as.
#  1. wait for PostgreSQL (when PANDA_DB_BACKEND=postgres);
#  2. copy the sandbox to /data/panda and render its *.template files (message-queue configs, idds, rucio);
#  3. install the IGTF CAs, fetch the queue configuration (schedconfig) and run the configurator;
#  4. start the periodic tasks (CA refresh, log rotation) and the JEDI daemon;
#  5. stay in the foreground while JEDI runs; stop it on SIGTERM.
set -u

log() { echo "start-jedi: $*"; }
PIDFILE=/var/run/panda/panda_jedi.pid

if [ "${PANDA_DB_BACKEND:-}" = "postgres" ]; then
  pg_isready_bin=$(ls /usr/pgsql-*/bin/pg_isready 2>/dev/null | head -n 1)
  until "${pg_isready_bin:-pg_isready}" -q -h "${PANDA_DB_HOST}" -p "${PANDA_DB_PORT:-5432}"; do
    log "waiting for the database ${PANDA_DB_HOST}:${PANDA_DB_PORT:-5432}"
    sleep 5
  done
fi

mkdir -p /data/panda /var/run/panda "${HOME:-/home/atlpan}/.idds"
cp -L /opt/panda/sandbox/* /data/panda/
/opt/panda/bin/python /data/panda/process-templates.py /data/panda
cp /data/panda/idds.cfg "${HOME:-/home/atlpan}/.idds/idds_local.cfg"

/opt/panda/bin/panda_common-install_igtf_ca > /var/log/panda/install_igtf_ca.log 2>&1 \
  || log "warning: installing the IGTF CAs failed (see install_igtf_ca.log)"
/opt/panda/usr/bin/panda_server-schedconfig_json || log "warning: panda_server-schedconfig_json failed"
/opt/panda/usr/bin/panda_server-configurator || log "warning: panda_server-configurator failed"

( while sleep 36000; do /opt/panda/bin/panda_common-install_igtf_ca > /var/log/panda/install_igtf_ca.log 2>&1; done ) &
( while true; do /usr/sbin/logrotate -s /var/log/panda/logrotate-jedi.status /data/panda/logrotate-jedi >> /var/log/panda/logrotate.log 2>&1; sleep 86400; done ) &

stop() {
  log "stopping JEDI"
  /etc/rc.d/init.d/panda-jedi stop
  exit 0
}
trap stop TERM INT

/etc/rc.d/init.d/panda-jedi start || { log "JEDI did not start"; exit 1; }
log "JEDI started"
sleep 10 & wait $!
while [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2> /dev/null; do
  sleep 30 &
  wait $!
done
log "JEDI is gone: exiting so that the container restarts"
exit 1
