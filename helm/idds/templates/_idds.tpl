{{/*
Named templates shared by the rest and daemon sub-charts (templates are global across the chart
tree; values are not, so each sub-chart passes its own context).

How the image starts (HSF/iDDS Dockerfile and start-daemon.sh): the entrypoint start-daemon.sh
renders /opt/idds/config/idds/{idds.cfg,auth.cfg,alembic.ini} and /opt/idds/config/{panda.cfg,rucio.cfg}
from defaults, IDDS_CFG_* variables and /opt/idds/configmap/idds_configmap.json (whose ${VARS} it
expands from the environment), creates/upgrades the database schema, starts redis and copies the
supervisord program files into /opt/idds/config/idds. With "rest", "daemon" or "all" it then runs one
supervisord with every program linked in /etc/supervisord.d (httpd and all agents alike); with any
other first argument it ends with exec "$@". The chart uses that hook: it hands over a small launcher
that starts supervisord with only the programs of this role (idds.supervisordPrograms).
*/}}

{{/*
idds.defaultConfigMap: the default idds_configmap.json (file -> section -> key). Values are filled
from the idds-envs / idds-db-envs Secrets at start, so no password lands in a ConfigMap. iDDS 2.6's
MessagingReceiver/Sender connect only to plugin.*.channels (the image's idds.cfg points them at CERN's
brokers); the plugin.*.brokers/destination/... keys are kept for older images. Values that may hold
"%" use the *_ESCAPED copies of idds-envs ("%%"): iDDS reads its cfg files with configparser.
Argument: the sub-chart context (unused; kept for symmetry).
*/}}
{{- define "idds.defaultConfigMap" -}}
{
  "/opt/idds/config/idds/idds.cfg": {
    "database": {
      "default": "${IDDS_DATABASE_URL_ESCAPED}",
      "schema": "${IDDS_DATABASE_SCHEMA}",
      "pool_size": 20,
      "pool_recycle": 3600,
      "echo": 0,
      "pool_reset_on_return": "rollback"
    },
    "rest": {
      "host": "${IDDS_REST_URL}"
    },
    "carrier": {
      "plugin.receiver": "idds.agents.common.plugins.messaging.MessagingReceiver",
      "plugin.receiver.brokers": "${IDDS_RECEIVER_BROKERS}",
      "plugin.receiver.port": "${IDDS_RECEIVER_PORT}",
      "plugin.receiver.destination": "${IDDS_RECEIVER_DESTINATION}",
      "plugin.receiver.username": "${IDDS_RECEIVER_USERNAME}",
      "plugin.receiver.password": "${IDDS_RECEIVER_PASSWORD_ESCAPED}",
      "plugin.receiver.broker_timeout": 600,
      "plugin.receiver.channels": {
        "default": {
          "brokers": "${IDDS_RECEIVER_BROKERS}",
          "destination": "${IDDS_RECEIVER_DESTINATION}",
          "username": "${IDDS_RECEIVER_USERNAME}",
          "password": "${IDDS_RECEIVER_PASSWORD_ESCAPED}",
          "broker_timeout": 600
        }
      }
    },
    "conductor": {
      "plugin.notifier": "idds.agents.common.plugins.messaging.MessagingSender",
      "plugin.notifier.brokers": "${IDDS_CONDUCTOR_BROKERS}",
      "plugin.notifier.port": "${IDDS_CONDUCTOR_PORT}",
      "plugin.notifier.destination": "${IDDS_CONDUCTOR_DESTINATION}",
      "plugin.notifier.username": "${IDDS_CONDUCTOR_USERNAME}",
      "plugin.notifier.password": "${IDDS_CONDUCTOR_PASSWORD_ESCAPED}",
      "plugin.notifier.broker_timeout": 600,
      "plugin.notifier.channels": {
        "default": {
          "brokers": "${IDDS_CONDUCTOR_BROKERS}",
          "destination": "${IDDS_CONDUCTOR_DESTINATION}",
          "username": "${IDDS_CONDUCTOR_USERNAME}",
          "password": "${IDDS_CONDUCTOR_PASSWORD_ESCAPED}",
          "broker_timeout": 600
        }
      }
    }
  },
  "/opt/idds/config/idds/alembic.ini": {
    "alembic": {
      "sqlalchemy.url": "${IDDS_DATABASE_URL_ESCAPED}",
      "version_table_schema": "${IDDS_DATABASE_SCHEMA}"
    }
  },
  "/opt/idds/config/panda.cfg": {
    "panda": {
      "panda_url": "${PANDA_URL}",
      "panda_url_ssl": "${PANDA_URL_SSL}",
      "panda_monitor_url": "${PANDA_MONITOR_URL}",
      "pandacache_url": "${PANDACACHE_URL}",
      "panda_auth": "${PANDA_AUTH}",
      "panda_auth_vo": "${PANDA_AUTH_VO}",
      "panda_config_root": "${PANDA_CONFIG_ROOT}",
      "panda_verify_host": "${PANDA_VERIFY_HOST}"
    }
  }
}
{{- end -}}

{{/*
idds.configMap: ConfigMap "<fullname>-config" with idds_configmap.json (the default merged with
.Values.config.iddsConfigMap, which wins key by key) and, when set, tnsnames.ora.
Argument: the sub-chart context.
*/}}
{{- define "idds.configMap" -}}
{{- $merged := mergeOverwrite (include "idds.defaultConfigMap" . | fromJson) (deepCopy (.Values.config.iddsConfigMap | default dict)) -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "panda-lib.fullname" . }}-config
  labels:
    {{- include "panda-lib.labels" . | nindent 4 }}
data:
  idds_configmap.json: |
    {{- toPrettyJson $merged | nindent 4 }}
  {{- with .Values.config.tnsnames }}
  tnsnames.ora: |
    {{- . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/*
idds.startup: the container's bash script. Waits for PostgreSQL (pg_isready needs no password),
writes the launcher, then runs the image's start-daemon.sh with the launcher as its "$@".
Argument: dict "ctx" <sub-chart context> "role" <rest|daemon>.
*/}}
{{- define "idds.startup" -}}
{{- $ctx := .ctx -}}
set -u
{{- if $ctx.Values.database.waitFor }}
if [ "${IDDS_DB_BACKEND:-postgres}" != "oracle" ] && [ -n "${IDDS_DATABASE_HOST:-}" ]; then
  until pg_isready -q -h "${IDDS_DATABASE_HOST}" -p "${IDDS_DATABASE_PORT:-5432}"; do
    echo "waiting for the database ${IDDS_DATABASE_HOST}"
    sleep 5
  done
fi
{{- end }}
{{- if and (eq .role "daemon") $ctx.Values.waitForRest }}
# Let the REST pod run the schema creation/upgrade first (both roles run it at start).
rest_host={{ include "panda-lib.fullnameFor" (dict "ctx" $ctx "component" "rest") | quote }}
until (exec 3<>"/dev/tcp/${rest_host}/8443") 2>/dev/null; do
  echo "waiting for ${rest_host}:8443"
  sleep 5
done
{{- end }}
{{- if and (eq .role "daemon") $ctx.Values.promptProcessing }}
{{- $prompt := dig "/opt/idds/config/idds/idds.cfg" "prompt" dict ($ctx.Values.config.iddsConfigMap | default dict) }}
{{- if not (and (get $prompt "worker_subscriber_broker") (get $prompt "worker_publisher_broker")) }}
{{- fail "daemon.promptProcessing needs the transceiver's brokers: set worker_subscriber_broker and worker_publisher_broker under daemon.config.iddsConfigMap.\"/opt/idds/config/idds/idds.cfg\".prompt (the image's idds.cfg points them at localhost:61612)" }}
{{- end }}
# Prompt processing: the transceiver agent as its own program (the image ships no program file for it).
cat > /tmp/supervisord_idds_transceiver.ini <<'PROGRAM'
[program:idds-transceiver]
environment =
    RUCIO_HOME="/opt/idds/",
    RUCIO_ACCOUNT="pilot",
    RUCIO_AUTH_TYPE="x509_proxy",
    PANDA_USE_NATIVE_HTTPLIB="true",
    X509_USER_PROXY="/opt/idds/config/x509up",
    IDDS_CONFIG="/opt/idds/etc/idds/idds.cfg",
    IDDS_AGENTS="transceiver"
command=bash -c "trap 'kill -TERM $PID; wait $PID' TERM && source /etc/profile.d/conda.sh && conda activate /opt/idds && /opt/idds/bin/run-idds && PID=$! && wait $PID"
childlogdir=/var/log/idds
stdout_logfile=/var/log/idds/%(program_name)s-stdout.log
stderr_logfile=/var/log/idds/%(program_name)s-stderr.log
redirect_stderr=false
autorestart=true
stopsignal=TERM
stopasgroup=true
exitcodes=1
PROGRAM
{{- end }}
if [ -d /opt/idds/site/ca-certificates ]; then
  # the site's CAs (a site file), next to the image's IGTF bundle, before httpd reads the directory
  cp -L /opt/idds/site/ca-certificates/* /etc/grid-security/certificates/
fi
cat > /tmp/idds-{{ .role }}-launch.sh <<'LAUNCH'
#!/bin/bash
# supervisord with the {{ .role }} programs only; the socket path is the one of
# /etc/supervisord.conf, so supervisorctl (used by iDDS' logrotate hook) still finds it.
conf=/tmp/supervisord-{{ .role }}.conf
{
  echo "[unix_http_server]"
  echo "file=/run/supervisor/supervisor.sock"
  echo "[supervisord]"
  echo "nodaemon=true"
  echo "logfile=/var/log/idds/supervisord-{{ .role }}.log"
  echo "pidfile=/tmp/supervisord.pid"
  echo "childlogdir=/var/log/idds"
  echo "[rpcinterface:supervisor]"
  echo "supervisor.rpcinterface_factory=supervisor.rpcinterface:make_main_rpcinterface"
  echo "[supervisorctl]"
  echo "serverurl=unix:///run/supervisor/supervisor.sock"
  echo "[include]"
  printf "files ="
  {{- range $ctx.Values.supervisordPrograms }}
  printf " %s" /opt/idds/config/idds/supervisord_{{ . }}.ini
  {{- end }}
  {{- if and (eq .role "daemon") $ctx.Values.promptProcessing }}
  printf " %s" /tmp/supervisord_idds_transceiver.ini
  {{- end }}
  echo
} > "$conf"
exec /usr/bin/supervisord -c "$conf"
LAUNCH
exec /opt/idds/bin/start-daemon.sh /bin/bash /tmp/idds-{{ .role }}-launch.sh
{{- end -}}

{{/*
idds.podEnv: env entries common to rest and daemon. Argument: the sub-chart context.
*/}}
{{- define "idds.podEnv" -}}
- name: IDDS_REST_HOST
  value: {{ .Values.restHost | default (printf "https://%s:8443" (include "panda-lib.fullnameFor" (dict "ctx" . "component" "rest"))) | quote }}
- name: IDDS_REST_URL
  value: {{ printf "https://%s:8443/idds" (include "panda-lib.fullnameFor" (dict "ctx" . "component" "rest")) | quote }}
{{- with .Values.bigmonUrl }}
- name: PANDAMON_URL
  value: {{ . | quote }}
{{- end }}
{{- with include "panda-lib.env.extra" (dict "ctx" . "fixed" (list "IDDS_REST_HOST" "IDDS_REST_URL" "PANDAMON_URL" "IDDS_SERVER_CONF_MIN_WORKERS" "IDDS_SERVER_CONF_MAX_WORKERS" "IDDS_SERVER_CONF_NUM_WSGI" "IDDS_SERVER_CONF_NUM_WSGI_THREAD" "IDDS_SERVER_CONF_MAX_BACKLOG")) }}
{{ . }}
{{- end }}
{{- end -}}

{{/*
idds.envFrom: the Secrets both roles read. Argument: the sub-chart context.
*/}}
{{- define "idds.envFrom" -}}
- secretRef:
    name: {{ include "panda-lib.secretName" (dict "ctx" . "suffix" "idds-envs") }}
- secretRef:
    name: {{ include "panda-lib.secretName" (dict "ctx" . "suffix" "idds-db-envs") }}
{{- end -}}

{{/*
idds.configVolumes / idds.configMounts: idds_configmap.json (+ tnsnames.ora, from config.tnsnames or
the site file), each directory site file at /opt/idds/site/<kind in kebab case> (ca-certificates, when
given), and the idds-auth Secret (auth.cfg.json) projected into /opt/idds/configmap, the idds-certs Secret at /opt/idds/certs
(start-daemon.sh links hostkey/hostcert/chain.pem into /etc/grid-security), /tmp.
Argument: the sub-chart context.
*/}}
{{- define "idds.configVolumes" -}}
- name: configmap
  projected:
    defaultMode: 0440
    sources:
      - configMap:
          name: {{ include "panda-lib.fullname" . }}-config
      - secret:
          name: {{ include "panda-lib.secretName" (dict "ctx" . "suffix" "idds-auth") }}
      {{- range $kind := include "idds.siteFileKinds" . | fromYamlArray }}
      {{- if $kind.file }}
      {{- with include "panda-lib.siteFiles.source" (dict "ctx" $ "kind" $kind) }}
      {{- . | nindent 6 }}
      {{- end }}
      {{- end }}
      {{- end }}
{{- range $kind := include "idds.siteFileKinds" . | fromYamlArray }}
{{- if not $kind.file }}
{{- with include "panda-lib.siteFiles.volume" (dict "ctx" $ "kind" $kind) }}
{{ . }}
{{- end }}
{{- end }}
{{- end }}
- name: certs
  secret:
    secretName: {{ include "panda-lib.secretName" (dict "ctx" . "suffix" "idds-certs") }}
    defaultMode: 0440
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "idds.configMounts" -}}
- name: configmap
  mountPath: /opt/idds/configmap
  readOnly: true
- name: certs
  mountPath: /opt/idds/certs
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- range $kind := include "idds.siteFileKinds" . | fromYamlArray }}
{{- if not $kind.file }}
{{- with include "panda-lib.siteFiles.mount" (dict "ctx" $ "kind" $kind "mountPath" (printf "/opt/idds/site/%s" (kebabcase $kind.name))) }}
{{ . }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}


{{/*
idds.agents: the iDDS agents the daemon's programs run, comma-separated (idds_<agent> programs, plus
the transceiver with promptProcessing); panda-install's compatibility table reads it from the
StatefulSet's annotation panda-install/idds-agents. Argument: the daemon sub-chart context.
*/}}
{{- define "idds.agents" -}}
{{- $agents := list -}}
{{- range .Values.supervisordPrograms }}
{{- if hasPrefix "idds_" . }}{{ $agents = append $agents (trimPrefix "idds_" .) }}{{ end }}
{{- end }}
{{- if .Values.promptProcessing }}{{ $agents = append $agents "transceiver" }}{{ end }}
{{- join "," $agents -}}
{{- end -}}
