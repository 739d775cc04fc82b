#!/bin/bash
# Start the PanDA server in its container, as the non-root user the pod runs as.
#  0. fill /opt/panda/etc/cert from the certs Secret (self-signed pair and chain.pem when missing);
#  1. wait for PostgreSQL (when PANDA_DB_BACKEND=postgres);
#  2. copy the sandbox (ConfigMap + token-cache Secret) to /data/panda and render its *.template files;
#  3. install the IGTF CAs, fetch the queue configuration (schedconfig) and run the configurator;
#  4. start the periodic tasks (CA refresh, schedconfig cache, log rotation) and httpd;
#  5. stay in the foreground while httpd runs; stop httpd on SIGTERM.
set -u

log() { echo "start-server: $*"; }

# httpd reads /etc/grid-security/{hostcert,hostkey,chain}.pem, which the image links to
# /opt/panda/etc/cert (an in-memory volume here). Fill it from the certs Secret; without a host
# certificate make a self-signed one (clients must then skip verification), and without chain.pem use
# the host certificate as its own chain, as httpd refuses to start on a missing SSLCertificateChainFile.
certs=/opt/panda/etc/cert
for f in /opt/panda/etc/cert-secret/*; do
  [ -f "$f" ] && cp -L "$f" "$certs/"
done
if [ ! -s "$certs/hostcert.pem" ] || [ ! -s "$certs/hostkey.pem" ]; then
  log "no hostcert.pem/hostkey.pem in the certs Secret: generating a self-signed certificate"
  openssl req -x509 -nodes -days 365 -newkey rsa:2048 -subj "/CN=${PANDA_SERVER_CONF_SERVERNAME:-$(hostname)}" \
    -keyout "$certs/hostkey.pem" -out "$certs/hostcert.pem" 2> /dev/null || log "warning: openssl req failed"
fi
if [ ! -s "$certs/chain.pem" ]; then
  log "no chain.pem in the certs Secret: using the host certificate as its chain"
  cp "$certs/hostcert.pem" "$certs/chain.pem"
fi
chmod 600 "$certs/hostkey.pem" 2> /dev/null

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
