{{/*
bigmon.startup: the container's bash script. The image's entrypoint start-daemon.sh links
/data/bigmon/config/*-httpd.conf into /etc/httpd/conf.d, links the certificates from
/opt/bigmon/etc/cert (or makes a self-signed pair), starts httpd and runs daphne in the foreground
("all"). Before that, the chart's files are copied from the ConfigMap (/data/bigmon/configmap) to
/data/bigmon/config, expanding ${VARS} in *.template files with the environment (python's
string.Template; unknown names stay as they are). The pod runs as uid 1000: no chmod 777, no root.
*/}}
{{- define "bigmon.startup" -}}
set -u
/opt/bigmon/bin/python - <<'RENDER'
import os
import pathlib
import string

source = pathlib.Path("/data/bigmon/configmap")
target = pathlib.Path("/data/bigmon/config")
for item in sorted(source.iterdir()):
    if item.name.startswith("..") or not item.is_file():
        continue
    name = item.name
    if name.endswith(".template"):
        text = string.Template(item.read_text()).safe_substitute(os.environ)
        (target / name[: -len(".template")]).write_text(text)
    else:
        (target / name).write_bytes(item.read_bytes())
RENDER
if [ -f /data/bigmon/config/idds.cfg ]; then
  mkdir -p /opt/bigmon/etc/idds && mv /data/bigmon/config/idds.cfg /opt/bigmon/etc/idds/
fi
if [ -f /data/bigmon/config/rucio.cfg ]; then
  mv /data/bigmon/config/rucio.cfg /opt/bigmon/etc/
fi
{{- if .Values.database.waitFor }}
if [ "${PANDA_DB_BACKEND:-postgres}" != "oracle" ] && [ -n "${PANDA_DB_HOST:-}" ]; then
  pg_isready=""
  for candidate in /usr/pgsql-*/bin/pg_isready; do
    [ -x "$candidate" ] && { pg_isready=$candidate; break; }
  done
  until [ -z "$pg_isready" ] || "$pg_isready" -q -h "${PANDA_DB_HOST}" -p "${PANDA_DB_PORT:-5432}"; do
    echo "waiting for the database ${PANDA_DB_HOST}"
    sleep 5
  done
fi
{{- end }}
# Without a host certificate in /opt/bigmon/etc/cert the image's start-daemon.sh writes a self-signed
# pair to /opt/bigmon/config, which its Dockerfile never creates (/opt/bigmon is world-writable).
mkdir -p /opt/bigmon/config
exec /usr/local/bin/start-daemon.sh all
{{- end -}}
