#!/bin/bash
# Start the PanDA server in its container, as the non-root user the pod runs as.
#  1. wait for PostgreSQL (when PANDA_DB_BACKEND=postgres);
#  2. copy the sandbox (ConfigMap + token-cache Secret) to /data/panda and render its *.template files;
#  3. install the IGTF CAs, fetch the queue configuration (schedconfig) and run the configurator;
#  4. start the periodic tasks (CA refresh, schedconfig cache, log rotation) and httpd;
#  5. stay in the foreground while httpd runs; stop httpd on SIGTERM.
set -u

log() { echo "start-server: $*"; }

# shellcheck source=/dev/null
. /opt/panda/sandbox/prepare-panda.sh
prepare_panda /var/log/panda/wsgisocks /var/log/panda/pandacache/jedilog

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
