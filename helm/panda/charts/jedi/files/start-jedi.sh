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

# shellcheck source=/dev/null
. /opt/panda/sandbox/prepare-panda.sh
prepare_panda /var/run/panda

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
