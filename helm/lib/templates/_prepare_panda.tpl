{{- /* prepare-panda.sh, sourced by the PanDA server and JEDI start scripts: what both do before
     their own daemon starts. Kept once here instead of a copy per sub-chart. */ -}}
{{- define "panda-lib.script.preparePanda" -}}
# Sourced by start-server.sh and start-jedi.sh; defines prepare_panda and uses their log().
# prepare_panda DIR...:
#  1. wait for PostgreSQL (when PANDA_DB_BACKEND=postgres);
#  2. create /data/panda, ~/.idds and the given directories, copy the sandbox to /data/panda and
#     render its *.template files;
#  3. install the IGTF CAs and the site's own CA certificates (/opt/panda/site/ca-certificates, a
#     site file) into /etc/grid-security/certificates (again every 10 hours, in the background),
#     fetch the queue configuration (schedconfig) and run the configurator where the image has those
#     scripts (before 1.0; from 1.0 PanDA's daemon runs both).
prepare_panda() {
  if [ "${PANDA_DB_BACKEND:-}" = "postgres" ]; then
    pg_isready_bin=pg_isready
    for candidate in /usr/pgsql-*/bin/pg_isready; do
      [ -x "$candidate" ] && { pg_isready_bin=$candidate; break; }
    done
    until "$pg_isready_bin" -q -h "${PANDA_DB_HOST}" -p "${PANDA_DB_PORT:-5432}"; do
      log "waiting for the database ${PANDA_DB_HOST}:${PANDA_DB_PORT:-5432}"
      sleep 5
    done
  fi

  mkdir -p /data/panda "${HOME:-/home/atlpan}/.idds" "$@"
  cp -L /opt/panda/sandbox/* /data/panda/
  /opt/panda/bin/python /data/panda/process-templates.py /data/panda
  cp /data/panda/idds.cfg "${HOME:-/home/atlpan}/.idds/idds_local.cfg"

  install_cas || log "warning: installing the CA certificates failed (see install_igtf_ca.log)"
  # images before 1.0 ship these one-shot scripts; from 1.0 PanDA's own daemon runs the configurator
  # and the schedconfig dump (its daemon config's configurator and schedconfig_json entries)
  local tool
  for tool in panda_server-schedconfig_json panda_server-configurator; do
    if [ -x "/opt/panda/usr/bin/$tool" ]; then
      "/opt/panda/usr/bin/$tool" || log "warning: $tool failed"
    else
      log "$tool is not in this image: PanDA's daemon runs it"
    fi
  done

  ( while sleep 36000; do install_cas; done ) &
}

# install_cas: the IGTF bundle, then the site's CA certificates (which win on a name clash).
install_cas() {
  local rc=0
  /opt/panda/bin/panda_common-install_igtf_ca > /var/log/panda/install_igtf_ca.log 2>&1 || rc=1
  if [ -d /opt/panda/site/ca-certificates ]; then
    cp -L /opt/panda/site/ca-certificates/* /etc/grid-security/certificates/ || rc=1
  fi
  return "$rc"
}
{{- end }}
