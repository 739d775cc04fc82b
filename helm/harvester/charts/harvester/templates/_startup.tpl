{{/*
harvester.startup: the container's start script (bash), replacing upstream's runuser wrapper.
The image's CMD only sleeps; its /opt/harvester/etc/rc.d/init.d/run-harvester-services runs
/data/harvester/{init-harvester,run-harvester-crons,setup-harvester}, unpacks HTCondor, links
/data/harvester/condor_config.local and starts condor_master, httpd and the Harvester uWSGI daemon,
all in the background. The pod already runs as atlpan (uid 1000), so there is no chmod 777 and no
runuser.
*/}}
{{- define "harvester.startup" -}}
set -u
{{- if .Values.database.waitFor }}
if [ -n "${HARVESTER_DB_HOST:-}" ] && [ "${HARVESTER_DB_HOST}" != "localhost" ]; then
  # mysqladmin ping exits 0 as soon as the server answers, even with "access denied",
  # so no password is put on a command line.
  until mysqladmin --connect-timeout=5 -h "${HARVESTER_DB_HOST}" ping >/dev/null 2>&1; do
    echo "waiting for the database ${HARVESTER_DB_HOST}"
    sleep 5
  done
fi
{{- end }}
# Host certificate files from the harvester-certs Secret; without hostkey.pem the image's
# run-harvester-services links its built-in localhost pair into this (writable) directory.
for f in /opt/harvester/etc/certs-secret/*; do
  [ -f "$f" ] && cp -L "$f" /opt/harvester/etc/certs/
done
chmod 600 /opt/harvester/etc/certs/hostkey.pem 2>/dev/null || true
# The sandbox (the chart's files merged with the site's, which win: /opt/harvester/sandbox, where
# upstream's site files name them) goes to /data/harvester, where the image's scripts look for it.
for f in /opt/harvester/sandbox/*; do
  [ -e "$f" ] || continue
  cp -L "$f" "/data/harvester/$(basename "$f")"
done
chmod u+x /data/harvester/* 2>/dev/null || true
for f in init-harvester run-harvester-crons setup-harvester condor_config.local; do
  if [ ! -f "/data/harvester/$f" ]; then
    echo "missing sandbox file /data/harvester/$f (set sandbox.defaults or provide it in sandbox.files)" >&2
    exit 1
  fi
done
/opt/harvester/etc/rc.d/init.d/run-harvester-services
{{- if .Values.healthMonitor.enabled }}
# The health monitor (healthMonitor): HTCondor is unpacked and condor_master started by now; its
# condor.sh puts condor_q on PATH. Log lines go to the container's output (kubectl logs).
(
  set +u
  [ -f /data/condor/condor/condor.sh ] && . /data/condor/condor/condor.sh
  exec /opt/harvester/bin/python /opt/harvester/health-monitor/health-monitor.py /opt/harvester/health-monitor/settings.json
) &
{{- end }}
trap : TERM INT
sleep infinity &
wait
{{- end -}}
