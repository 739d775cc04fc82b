{{/*
Database backups: a CronJob that dumps one database into a claim on a schedule and keeps the newest
N dumps. The dump runs in the database's own image (its client tools match the server), as the
database's user, with a read-only root; the password reaches the client through the environment
(PGPASSWORD) or a client option file in a memory-backed emptyDir (MariaDB), never a command line.

Values (the sub-chart's "backup" map):
  backup:
    enabled: false
    schedule: "17 3 * * *"     # cron, in timeZone ("" = the controller's, usually UTC)
    timeZone: ""
    keep: 7                    # dumps kept; older ones are deleted after a successful dump
    activeDeadlineSeconds: 3600
    volume: {type: claim, size: 10Gi, storageClass: "", accessModes: [ReadWriteOnce], keep: true,
             existingClaim: "", subPath: ""}   # a library volume spec (claim or existingClaim)
    resources: {requests: {...}, limits: {...}}

Restore: the same pod template with the arguments "restore <file>" (docs/charts.md, "Backups").
*/}}

{{/*
panda-lib.backup.objects: the ConfigMap with the script, the claim (type claim) and the CronJob,
"<fullname>-backup", each a "---" document; nothing when backup.enabled is false.
Argument: dict
  "ctx"    <root context of the database sub-chart>
  "engine" "mariadb" | "postgres"
  "port"   <database port>
  "env"    <list of EnvVar maps: DB_USER, DB_PASSWORD and DB_NAME ("" = every database, MariaDB only)>
The pod takes image, imagePullSecrets, podLabels, podAnnotations, podSecurityContext, securityContext,
nodeSelector, tolerations and affinity from the database's values.
*/}}
{{- define "panda-lib.backup.objects" -}}
{{- $ctx := .ctx -}}
{{- $v := $ctx.Values -}}
{{- $b := $v.backup | default dict -}}
{{- if $b.enabled -}}
{{- if not (has .engine (list "mariadb" "postgres")) -}}
{{- fail (printf "panda-lib.backup.objects: engine must be mariadb or postgres (got %q)" .engine) -}}
{{- end -}}
{{- if not (has $b.volume.type (list "claim" "existingClaim")) -}}
{{- fail (printf "%s.backup.volume.type must be claim or existingClaim (got %q): dumps must outlive the job" $ctx.Chart.Name (toString $b.volume.type)) -}}
{{- end -}}
{{- $name := printf "%s-backup" (include "panda-lib.fullname" $ctx) -}}
{{- $component := printf "%s-backup" $ctx.Chart.Name -}}
{{- $labels := include "panda-lib.labelsFor" (dict "ctx" $ctx "component" $component) -}}
{{- $pod := dict "resources" $b.resources -}}
{{- range $key := list "image" "imagePullSecrets" "podLabels" "podAnnotations" "podSecurityContext" "securityContext" "nodeSelector" "tolerations" "affinity" -}}
{{- if hasKey $v $key }}{{ $_ := set $pod $key (get $v $key) }}{{ end -}}
{{- end -}}
{{- $script := include "panda-lib.backup.script" . }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $name }}
  labels:
    {{- $labels | nindent 4 }}
data:
  backup.sh: |
    {{- $script | nindent 4 }}
{{ include "panda-lib.storage.pvc" (dict "ctx" $ctx "name" "backup" "spec" $b.volume) }}
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: {{ $name }}
  labels:
    {{- $labels | nindent 4 }}
spec:
  schedule: {{ $b.schedule | quote }}
  {{- with $b.timeZone }}
  timeZone: {{ . | quote }}
  {{- end }}
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: 3600
  successfulJobsHistoryLimit: 1
  failedJobsHistoryLimit: 3
  jobTemplate:
    metadata:
      labels:
        {{- $labels | nindent 8 }}
    spec:
      backoffLimit: 1
      activeDeadlineSeconds: {{ $b.activeDeadlineSeconds | default 3600 | int }}
      ttlSecondsAfterFinished: 86400
      template:
        {{- include "panda-lib.podMetadata" (dict "ctx" $ctx "values" $pod "component" $component "annotations" (dict "checksum/script" ($script | sha256sum))) | nindent 8 }}
        spec:
          {{- include "panda-lib.podSpec.common" (dict "ctx" $ctx "values" $pod) | nindent 10 }}
          restartPolicy: Never
          containers:
            - name: backup
              {{- include "panda-lib.container.common" (dict "ctx" $ctx "values" $pod) | nindent 14 }}
              command: ["/bin/bash", "/scripts/backup.sh"]
              env:
                - name: DB_HOST
                  value: {{ include "panda-lib.fullname" $ctx | quote }}
                - name: DB_PORT
                  value: {{ .port | quote }}
                - name: KEEP
                  value: {{ $b.keep | default 7 | quote }}
                {{- toYaml .env | nindent 16 }}
                {{- with include "panda-lib.env.extra" (dict "ctx" $ctx "values" $pod "fixed" (list "DB_HOST" "DB_PORT" "KEEP" "DB_USER" "DB_PASSWORD" "DB_NAME")) }}
                {{- . | nindent 16 }}
                {{- end }}
              volumeMounts:
                - name: scripts
                  mountPath: /scripts
                  readOnly: true
                - name: backup
                  mountPath: /backup
                  {{- with $b.volume.subPath }}
                  subPath: {{ . }}
                  {{- end }}
                - name: tmp
                  mountPath: /tmp
          volumes:
            - name: scripts
              configMap:
                name: {{ $name }}
            {{- include "panda-lib.storage.volume" (dict "ctx" $ctx "name" "backup" "spec" $b.volume) | nindent 12 }}
            # The client option file holds the password: memory-backed.
            - name: tmp
              emptyDir:
                medium: Memory
                sizeLimit: 1Mi
{{- end -}}
{{- end -}}

{{/*
panda-lib.backup.script: the bash script of the backup pod. Without arguments it dumps DB_NAME (or
every database) of DB_HOST:DB_PORT as DB_USER into /backup/<name>-<UTC time>.<ext>, through a
".partial" file renamed only after the dump is complete and checked, then deletes all but the KEEP
newest dumps. "restore <file>" loads /backup/<file> (or the newest dump for "latest") into the
database instead. Argument: dict "engine" <mariadb|postgres> (the rest is read from the environment).
*/}}
{{- define "panda-lib.backup.script" -}}
#!/bin/bash
# Dump or restore one database (engine: {{ .engine }}); see docs/charts.md, "Backups".
set -euo pipefail
shopt -s nullglob
umask 077
dir=${BACKUP_DIR:-/backup}
prefix=${DB_NAME:-all}
{{- if eq .engine "mariadb" }}
ext=sql.gz
# The password goes into a client option file on a memory-backed volume, never on a command line.
cnf=${TMPDIR:-/tmp}/client.cnf
password=$(printf '%s' "$DB_PASSWORD" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')
printf '[client]\nuser="%s"\npassword="%s"\nhost="%s"\nport=%s\n' "$DB_USER" "$password" "$DB_HOST" "$DB_PORT" > "$cnf"
unset password DB_PASSWORD
dump() {
  local what=(--all-databases)
  [ -n "${DB_NAME:-}" ] && what=(--databases "$DB_NAME")
  mariadb-dump --defaults-extra-file="$cnf" --single-transaction --routines --events --triggers "${what[@]}" | gzip > "$1"
  # mariadb-dump ends a complete dump with this line.
  gzip -dc "$1" | tail -n 1 | grep -q '^-- Dump completed'
}
load() {
  gzip -dc "$1" | mariadb --defaults-extra-file="$cnf"
}
reachable() {
  mariadb-admin --defaults-extra-file="$cnf" --connect-timeout=3 ping > /dev/null 2>&1
}
{{- else }}
ext=dump
# libpq reads the password from PGPASSWORD (set from the Secret), never from a command line.
export PGPASSWORD="$DB_PASSWORD"
unset DB_PASSWORD
dump() {
  pg_dump --host="$DB_HOST" --port="$DB_PORT" --username="$DB_USER" --dbname="$DB_NAME" --format=custom --file="$1"
  pg_restore --list "$1" > /dev/null
}
load() {
  pg_restore --host="$DB_HOST" --port="$DB_PORT" --username="$DB_USER" --dbname="$DB_NAME" --clean --if-exists --no-owner "$1"
}
reachable() {
  pg_isready --quiet --host="$DB_HOST" --port="$DB_PORT" --timeout=3
}
{{- end }}

# A NetworkPolicy engine admits a new pod's address a moment after the pod starts (kube-router,
# Calico): wait up to CONNECT_WAIT seconds (60) for the database before the first real connection.
for ((waited = 0; ; waited++)); do
  reachable && break
  if [ "$waited" -ge "${CONNECT_WAIT:-60}" ]; then
    echo "database $DB_HOST:$DB_PORT not reachable in ${CONNECT_WAIT:-60} s" >&2
    exit 1
  fi
  sleep 1
done

if [ "${1:-}" = restore ]; then
  file=${2:?usage: backup.sh restore <file>|latest}
  if [ "$file" = latest ]; then
    dumps=("$dir/$prefix"-*."$ext")
    [ "${#dumps[@]}" -gt 0 ] || { echo "no dump in $dir" >&2; exit 1; }
    file=${dumps[-1]}
  else
    file=$dir/$(basename "$file")
  fi
  echo "restoring $file into ${DB_NAME:-every database} on $DB_HOST:$DB_PORT"
  load "$file"
  echo "restored $file"
  exit 0
fi

target=$dir/$prefix-$(date -u +%Y%m%dT%H%M%SZ).$ext
dump "$target.partial"
mv "$target.partial" "$target"
echo "wrote $target ($(du -h "$target" | cut -f1))"
# Keep the newest KEEP dumps: a glob lists them sorted by name, which is their time.
dumps=("$dir/$prefix"-*."$ext")
old=$((${#dumps[@]} - ${KEEP:-7}))
for ((i = 0; i < old; i++)); do
  rm -f -- "${dumps[i]}"
  echo "removed ${dumps[i]}"
done
# Left-overs of runs that failed half-way.
rm -f -- "$dir"/*.partial
{{- end -}}
