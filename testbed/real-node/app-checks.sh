# shellcheck shell=bash disable=SC2154,SC2016 # $work and the helpers come from scripts/check-real-node; single-quoted scripts run in pods
# PanDA on the real node (sourced by scripts/check-real-node, which defines ok/fail/check, apply,
# now_ms/secs, $ns, $work and the kubectl of the bed): panda-install -e dev with the CI secrets file
# and the real-node overlay (testbed/real-node/values), every image imported from scripts/images; then
# the pods, their securityContext and real traffic on the bridge:
#   - PostgreSQL by the Service's DNS name with the rendered credentials, as the server; refused from
#     a foreign namespace, refused after the server's edge is removed from its NetworkPolicy, and
#     refused with a wrong password (a login error, not a timeout)
#   - iDDS' real REST service (PyPI, under httpd with mod_ssl, mod_gridsite and mod_wsgi): idds-client
#     with a client certificate of the bed's CA (installed by the idds chart's ca-certificates site
#     file, from a site directory) gets its ping answered, an anonymous call is refused (401) and a
#     certificate of an unknown CA fails the TLS handshake
#   - the PanDA server (PyPI, under httpd): panda-client's hello, its x509 call with the bed CA's
#     certificate, the anonymous call refused, an unknown CA refused; PanDA's daemon's heartbeat row
#   - JEDI (the same image): its pid file names PanDA's JediMaster, whose agents hold PostgreSQL
#     sessions as the rendered user from the JEDI pod
#   - a PanDA job-status message published as the server (its Secret, the destination of its rendered
#     mbproxy configuration) is taken from the queue by iDDS' real receiver (the daemon: PyPI, its
#     rendered channel and account), which logs it and discards it; the iDDS account may not write
#     to the queue
#   - the backup CronJob's Job dumps the PanDA database; `upgrade-plan --restore` loads it back
#   - `migrate-data dump` and `restore` of iDDS' PostgreSQL run as Jobs and the row counts match
#   - `upgrade-plan --restore`: the upgrade's schema Job gets through PanDA's database policy
#   - a killed database process: its container restarts and `status` exits 3, then 0 again
#   - `uninstall -c panda` and a reinstall keep the database claim's data
#   - breaks that must fail on a real node: a dropped emptyDir under a read-only root, a config file
#     mounted at another path (each a copy of a rendered workload in its own namespace)

app_ns=panda
app_secrets=${PANDA_REAL_NODE_SECRETS:-secrets/ci/test-values.yaml}
app_values=()
for f in testbed/real-node/values/*.yaml; do c=${f##*/}; app_values+=(--values "${c%.yaml}=$f"); done
app_bin=${PANDA_INSTALL_BIN:-$repo/target/debug/panda-install}
app_install=("$app_bin" install -e dev --secrets "$app_secrets" "${app_values[@]}" -n "$app_ns" --create-namespace --timeout 300s)
server_labels='{"app.kubernetes.io/name": "panda", "app.kubernetes.io/instance": "blah-panda", "app.kubernetes.io/component": "server"}'
idds_labels='{"app.kubernetes.io/name": "idds", "app.kubernetes.io/instance": "blah-idds", "app.kubernetes.io/component": "daemon"}'
idds_rest_labels=${idds_labels/\"daemon\"/\"rest\"}
app_pid=
# A site directory (docs/site.md) whose dev extends the bundled dev with one site file: the bed's CA for
# iDDS' client certificates. Every panda-install run of these checks reads it (make_bed_pki exports it).
app_site=

json_str() { python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))'; }

# In the background from the bed's start on, beside the bed's own checks and live.py (the install's
# tiers mostly wait for readiness; about 2 minutes off the run): the images are built (what is missing:
# all of them on a fresh machine, about 3.5 min; a hash check when cached) and go into the node (ctr
# import of about 2.6 GB), then panda-install -e dev runs. The bed's CA is made first (the install
# reads the site directory). check_panda_install waits for it and reports.
start_app_install() {
  make_bed_pki || { echo 1 >"$work/pki.rc"; return; }
  (
    rc=0
    { scripts/images build >"$work/import.log" 2>&1 &&
      scripts/images import "$PANDA_TESTBED_DIR/node/containerd/containerd.sock" >>"$work/import.log" 2>&1; } || rc=$?
    echo "$rc" >"$work/import.rc"
    [ "$rc" = 0 ] || exit 0
    t=$(now_ms)
    rc=0
    "${app_install[@]}" >"$work/install.out" 2>&1 || rc=$?
    echo "$rc $(($(now_ms) - t))" >"$work/install.rc"
  ) &
  app_pid=$!
}

# The background install and its children, when the run stops early (scripts/check-real-node's cleanup).
stop_app_install() {
  [ -n "$app_pid" ] || return 0
  pkill -TERM -P "$app_pid" 2>/dev/null || true
  kill -TERM "$app_pid" 2>/dev/null || true
  wait "$app_pid" 2>/dev/null || true
  app_pid=
}

# The bed's CA (in the site directory's idds and panda ca-certificates/, by its hash) and a client
# certificate it signed, with a DN iDDS' default auth.cfg allows (DC=cern); a second CA, unknown to the
# servers, signs the "untrusted" certificate. Client pairs (cert + key) end up in the Secret
# bed-x509-client only.
make_bed_pki() {
  app_site=$work/site
  export PANDA_INSTALL_SITE=$app_site
  local pki=$work/pki files=$app_site/experiments/dev/files ca who c
  mkdir -p "$pki" "$app_site"
  printf 'siteVersion: 1\nexperiments:\n  dev:\n    extends: dev\n' >"$app_site/panda-site.yaml"
  for ca in bed-ca other-ca; do
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/DC=org/DC=bed/CN=$ca" \
      -keyout "$pki/$ca.key" -out "$pki/$ca.pem" 2>/dev/null || return 1
  done
  for who in client:bed-ca untrusted:other-ca; do
    ca=${who#*:} who=${who%:*}
    openssl req -newkey rsa:2048 -nodes -subj "/DC=ch/DC=cern/OU=bed/CN=$who" -keyout "$pki/$who.key" \
      -out "$pki/$who.csr" 2>/dev/null || return 1
    openssl x509 -req -in "$pki/$who.csr" -CA "$pki/$ca.pem" -CAkey "$pki/$ca.key" -CAcreateserial -days 2 \
      -out "$pki/$who.pem" 2>/dev/null || return 1
    cat "$pki/$who.pem" "$pki/$who.key" >"$pki/$who-pair.pem"
  done
  for c in idds panda; do
    mkdir -p "$files/$c/ca-certificates"
    cp "$pki/bed-ca.pem" "$files/$c/ca-certificates/$(openssl x509 -noout -hash -in "$pki/bed-ca.pem").0"
  done
}

check_panda_install() {
  local t out rc ms
  [ -x "$app_bin" ] || { fail "panda-install is built ($app_bin: cargo build)"; return 1; }
  [ ! -e "$work/pki.rc" ] || { fail "the bed's CA and client certificates are made (openssl)"; return 1; }
  t=$(now_ms)
  [ -n "$app_pid" ] || start_app_install
  wait "$app_pid" || true
  app_pid=
  if [ "$(cat "$work/import.rc" 2>/dev/null)" != 0 ]; then
    fail "the images of scripts/images are built and imported into the node: $(tail -3 "$work/import.log")"; return 1
  fi
  echo "check-real-node: $(grep -c '^images: imported' "$work/import.log") images imported, $(grep -c 'already in the node' "$work/import.log") already in the node's store; the install beside the bed's checks (waited $(secs "$t") for it after them)"
  rc=1 ms=0
  [ ! -s "$work/install.rc" ] || read -r rc ms <"$work/install.rc"
  out=$(cat "$work/install.out")
  if [ "$rc" = 0 ]; then
    ok "panda-install --secrets $app_secrets -e dev with the real-node overlay: every release deployed ($(ms_text "$ms"))"
    grep -E '^  tier [0-9]+ ' <<<"$out" | sed 's/^/check-real-node:       /' || true
  else
    fail "panda-install --secrets $app_secrets -e dev with the real-node overlay (exit $rc):"; tail -30 <<<"$out" >&2
    kubectl -n "$app_ns" get pods -o wide >&2; return 1
  fi
  # Every release was Ready when helm returned, but on 2 busy cores (the real iDDS importing its app
  # while the rest start) a readiness probe can time out a moment later (CI saw 6 pods not Ready once,
  # Ready again for the next checks): up to 60 s for readiness. A restart or a securityContext
  # violation never clears, so it still fails.
  local pods_ok=1
  t=$(now_ms)
  for _ in $(seq 12); do
    out=$(kubectl -n "$app_ns" get pods -o json | python3 testbed/real-node/check_pods.py 2>&1) && { pods_ok=0; break; }
    grep '^FAIL ' <<<"$out" | grep -vq ': not Ready$\|: phase ' && break
    sleep 5
  done
  if [ "$pods_ok" = 0 ]; then
    ok "$(tail -1 <<<"$out"): every pod Running and Ready ($(secs "$t") after the install), 0 restarts, securityContext as documented"
  else
    fail "every pod Running and Ready, 0 restarts, securityContext as documented:"; grep FAIL <<<"$out" >&2
    kubectl -n "$app_ns" get events --field-selector reason=Unhealthy 2>&1 | tail -12 >&2
  fi
  check "every container runs with a non-zero uid and no effective capability (/proc/1/status)" check_app_processes
  # the scripts one-shot pods run (at /scripts)
  kubectl -n "$app_ns" create configmap bed-scripts --from-file=testbed/real-node/message_path.py \
    --from-file=testbed/real-node/idds_rest.py --from-file=testbed/real-node/panda_client.py >/dev/null
  kubectl -n "$app_ns" create secret generic bed-x509-client --from-file=CLIENT_PEM="$work/pki/client-pair.pem" \
    --from-file=UNTRUSTED_PEM="$work/pki/untrusted-pair.pem" >/dev/null
}

check_app_processes() { # in each running container: uid != 0, CapEff 0
  local pod c got bad=0
  while read -r pod c; do
    got=$(kubectl -n "$app_ns" exec "$pod" -c "$c" -- sh -c 'id -u; grep ^CapEff: /proc/1/status' 2>&1 | tr -s '\t\n' '  ')
    if ! [[ $got =~ ^[1-9][0-9]*\ CapEff:\ 0000000000000000\ ?$ ]]; then echo "  $pod/$c: $got" >&2; bad=1; fi
  done < <(kubectl -n "$app_ns" get pods -o go-template='{{range .items}}{{$p := .metadata.name}}{{range .spec.containers}}{{$p}} {{.name}}{{"\n"}}{{end}}{{end}}')
  return "$bad"
}

# ---------- one-shot pods ----------

# A restricted pod that runs SCRIPT (sh -c) once with SECRET as its environment and the ConfigMap
# bed-scripts (this directory's message_path.py) at /scripts.
# args: name, namespace, labels json, image, secret, script, [extra env json list]
one_shot_pod() {
  cat <<EOF
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "$1", "namespace": "$2", "labels": $3},
 "spec": {"automountServiceAccountToken": false, "terminationGracePeriodSeconds": 1, "restartPolicy": "Never",
  "securityContext": {"runAsNonRoot": true, "runAsUser": 10001, "runAsGroup": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
  "containers": [{"name": "main", "image": "$4", "imagePullPolicy": "Never",
    "envFrom": [{"secretRef": {"name": "$5"}}], "env": [{"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}${7:+, $7}],
    "command": ["sh", "-c", $(printf '%s' "$6" | json_str)],
    "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}},
    "volumeMounts": [{"name": "scripts", "mountPath": "/scripts"}, {"name": "tmp", "mountPath": "/tmp"}],
    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}}}],
  "volumes": [{"name": "scripts", "configMap": {"name": "bed-scripts", "optional": true}}, {"name": "tmp", "emptyDir": {}}]}}
EOF
}
run_one_shot() { # same args as one_shot_pod: prints the pod's last log line, or "failed (<phase>): <log tail>"
  local phase=
  one_shot_pod "$@" | apply
  for _ in $(seq 120); do
    phase=$(kubectl -n "$2" get pod "$1" -o jsonpath='{.status.phase}')
    case $phase in Succeeded | Failed) break ;; esac
    sleep 0.5
  done
  if [ "$phase" = Succeeded ]; then kubectl -n "$2" logs "$1" | tail -1; else echo "failed ($phase): $(kubectl -n "$2" logs "$1" 2>&1 | tail -2 | tr '\n' ' ')"; fi
  kubectl -n "$2" delete pod "$1" --wait=false >/dev/null 2>&1
}

# psql in the postgres image, SQL from stdin, with the Secret's <P>_HOST, _PORT, _USER, _NAME and
# _PASSWORD (P = PANDA_DB or IDDS_DATABASE); psql variable :schema is the Secret's <P>_SCHEMA[PANDA].
# Retried for 15 s (the policy engine admits a new pod's address a moment after it starts), except on a
# refused login.
psql_script() { # prefix, sql
  local p=$1
  cat <<EOF
export PGPASSWORD=\$${p}_PASSWORD PGCONNECT_TIMEOUT=3 PGOPTIONS="-c client_min_messages=warning"
schema=\${${p}_SCHEMAPANDA:-\${${p}_SCHEMA:-public}}
for i in \$(seq 15); do
  if out=\$(printf '%s\n' $(printf '%q' "$2") | psql -w -Atq -v ON_ERROR_STOP=1 -v schema="\$schema" -h "\$${p}_HOST.$app_ns.svc.cluster.local" -p "\$${p}_PORT" -U "\$${p}_USER" -d "\$${p}_NAME" -f - 2>&1); then
    echo "\$out" | tr '\n' ' ' | sed 's/ \$//'; echo; exit 0
  fi
  echo "\$out" >&2
  case \$out in *"authentication failed"*) exit 1 ;; esac
  sleep 1
done
exit 1
EOF
}
as_server_sql() { # name, namespace, sql, [secret], [labels json]
  run_one_shot "$1" "$2" "${5:-$server_labels}" "$(scripts/images ref postgres)" "${4:-blah-secrets-panda-envs}" "$(psql_script PANDA_DB "$3")"
}
as_idds_sql() { # name, sql
  run_one_shot "$1" "$app_ns" "$idds_labels" "$(scripts/images ref postgres)" blah-secrets-idds-envs "$(psql_script IDDS_DATABASE "$2")"
}

# ---------- the database, its NetworkPolicy and its credentials ----------

schema_sql="select current_user || ' ' || count(*) from information_schema.schemata where schema_name = lower(:'schema');"

copy_secret() { # name, from namespace, to namespace, [new name], [python edit of the dict d of stringData]
  kubectl -n "$2" get secret "$1" -o json | python3 -c '
import base64, json, sys
s = json.load(sys.stdin)
d = {k: base64.b64decode(v).decode() for k, v in s.get("data", {}).items()}
exec(sys.argv[3])
print(json.dumps({"apiVersion": "v1", "kind": "Secret", "type": s.get("type", "Opaque"),
                  "metadata": {"name": sys.argv[2], "namespace": sys.argv[1]}, "stringData": d}))' "$3" "${4:-$1}" "${5:-pass}" | apply
}

# kubectl replace of the NetworkPolicy on stdin (as read from the cluster), without the ingress rules
# whose peer is the component $1 ("" = all rules kept)
replace_policy() {
  python3 -c '
import json, sys
p, component = json.load(sys.stdin), sys.argv[1]
if component:
    keep = [r for r in p["spec"]["ingress"] if not any(
        f.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") == component
        for f in r.get("from", []))]
    assert len(keep) < len(p["spec"]["ingress"]), "no rule names " + component
    p["spec"]["ingress"] = keep
for k in ("resourceVersion", "uid", "managedFields", "generation", "creationTimestamp"):
    p["metadata"].pop(k, None)
print(json.dumps(p))' "$1" | kubectl replace -f - >/dev/null
}

check_db_traffic() {
  local got policy
  got=$(as_server_sql db-as-server "$app_ns" "$schema_sql")
  check "as the server (its labels, its rendered Secret), psql reaches PostgreSQL by blah-panda-postgres.$app_ns.svc.cluster.local and sees PanDA's schema (got: $got)" \
    test "$got" = "panda 1"
  got=$(as_server_sql db-as-jedi "$app_ns" "$schema_sql" blah-secrets-panda-envs "${server_labels/\"server\"/\"jedi\"}")
  check "as JEDI (its labels, the same Secret), psql reaches PostgreSQL too (got: $got)" test "$got" = "panda 1"
  # a denied edge: the same client and credentials, from another namespace
  kubectl create namespace bed-foreign >/dev/null 2>&1 || true
  copy_secret blah-secrets-panda-envs "$app_ns" bed-foreign
  got=$(as_server_sql db-foreign bed-foreign "$schema_sql")
  check "a foreign pod (namespace bed-foreign, the server's labels and credentials) is blocked from PostgreSQL (got: $got)" \
    grep -q '^failed' <<<"$got"
  kubectl delete namespace bed-foreign --wait=false >/dev/null 2>&1
  # break: the server's edge removed from the database's policy, then put back
  policy=$(kubectl -n "$app_ns" get networkpolicy blah-panda-postgres -o json)
  replace_policy server <<<"$policy"
  got=$(as_server_sql db-edge-removed "$app_ns" "$schema_sql")
  check "break: the server's edge removed from blah-panda-postgres's NetworkPolicy: the server is blocked (got: $got)" \
    grep -q '^failed' <<<"$got"
  replace_policy "" <<<"$policy"
  got=$(as_server_sql db-edge-back "$app_ns" "$schema_sql")
  check "the edge put back: the server reaches PostgreSQL again (got: $got)" test "$got" = "panda 1"
  # break: a wrong password in the server's Secret is refused by PostgreSQL at login
  copy_secret blah-secrets-panda-envs "$app_ns" "$app_ns" bed-wrong-password 'd["PANDA_DB_PASSWORD"] += "-wrong"'
  got=$(as_server_sql db-wrong-password "$app_ns" "$schema_sql" bed-wrong-password)
  check "break: a wrong PANDA_DB_PASSWORD is refused at login (got: ${got: -100})" \
    grep -q '^failed.*password authentication failed for user "panda"' <<<"$got"
  kubectl -n "$app_ns" delete secret bed-wrong-password >/dev/null
}

# ---------- the message path ----------

check_message_path() {
  local dest marker got
  # the destination the server's rendered mbproxy configuration publishes job status to
  dest=$(kubectl -n "$app_ns" get configmap -o json | python3 -c '
import json, sys
for cm in json.load(sys.stdin)["items"]:
    t = (cm.get("data") or {}).get("panda_mbproxy_config.json.template")
    if t:
        print(json.loads(t)["queues"]["panda_jobstatus"]["destination"])')
  marker=bed-$RANDOM$RANDOM
  got=$(run_one_shot mq-send "$app_ns" "$server_labels" "$(scripts/images ref stomp-client)" blah-secrets-panda-envs \
    "exec python3 /scripts/message_path.py send panda $dest $marker")
  check "as the server (its labels, Secret and account), a message is sent to $dest on blah-msgsvc-activemq (got: $got)" test "$got" = sent
  # iDDS' real receiver (the daemon's idds-receiver program: its Secret, account and rendered
  # channel) takes it from the queue and, as no iDDS task has that id, logs it and discards it
  local try log=/var/log/idds/idds-receiver-stdout.log
  for try in $(seq 1 30); do
    got=$(kubectl -n "$app_ns" exec blah-idds-daemon-0 -c daemon -- grep -c "No matched workload_id, discard message: .*$marker" "$log" 2>&1) && break
    sleep 3
  done
  check "iDDS' receiver (PyPI 2.6.21, the daemon's rendered channel and account) takes that message from the queue and discards it as no task of its own (log lines with the marker: $got)" \
    test "$got" = 1
  got=$(run_one_shot mq-idds-send "$app_ns" "$idds_labels" "$(scripts/images ref stomp-client)" blah-secrets-idds-envs \
    "exec python3 /scripts/message_path.py send-as-idds $dest $marker-x")
  check "the idds account, a reader of $dest only, may not write to it (got: ${got:0:120})" grep -q '^refused' <<<"$got"
}

# ---------- iDDS' REST service ----------

check_idds_rest() {
  local got
  got=$(run_one_shot idds-client "$app_ns" "$server_labels" "$(scripts/images ref idds)" bed-x509-client \
    "exec python3 /scripts/idds_rest.py https://blah-idds-rest.$app_ns.svc.cluster.local:8443/idds" '{"name": "HOME", "value": "/tmp"}')
  check "iDDS REST (PyPI 2.6.21 under httpd), as the server: anonymous refused, idds-client with the bed CA's certificate answered, an unknown CA refused (got: ${got:0:300})" \
    grep -q '^ok: ' <<<"$got"
  # the real start-daemon.sh steps ran with the rendered credentials: create_database.py and alembic
  got=$(as_idds_sql idds-schema "select count(*) from information_schema.tables where table_schema = lower(:'schema') and table_name in ('requests', 'transforms', 'contents', 'alembic_version');")
  check "iDDS' start made its schema in blah-idds-postgres (requests, transforms, contents, alembic_version: got $got of 4)" \
    test "$got" = 4
}

# iDDS' agents coordinate through the daemon pod's own NATS server (the chart's nats program: the wheel's
# nats_daemon.sh starts Debian's nats-server with JetStream and makes the stream event_stream with the
# nats CLI); the agents' coordinator, once it selected that server, fetches events through durable
# consumers of the stream. Without NATS every agent spins on an empty local queue.
check_idds_nats() {
  local got consumers=0
  for _ in $(seq 1 12); do
    got=$(kubectl -n "$app_ns" exec blah-idds-daemon-0 -c daemon -- sh -c \
      'NATS_TOKEN=${NATS_TOKEN:-my_default_token} exec nats -s nats://127.0.0.1:4222 stream info event_stream --json' 2>&1)
    consumers=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["state"].get("consumer_count", 0))' <<<"$got" 2>/dev/null) || consumers=0
    [ "$consumers" -gt 0 ] && break
    sleep 5
  done
  local note=
  [ "$consumers" -gt 0 ] || note=" (last answer: ${got:0:160})"
  check "iDDS' agents coordinate through the pod's NATS (Debian's nats-server, JetStream stream event_stream made by the nats CLI): $consumers durable consumers$note" \
    test "$consumers" -gt 0
}

# ---------- the PanDA server ----------

server_sql_until() { # name, extended regex, sql: as_server_sql up to 3 times, 10 s apart, until the
  # answer matches (the server's and JEDI's agents write on their own cycles); prints the last answer
  local try got
  for try in 1 2 3; do
    got=$(as_server_sql "$1-$try" "$app_ns" "$3")
    grep -Eq "$2" <<<"$got" && break
    [ "$try" = 3 ] || sleep 10
  done
  printf '%s\n' "$got"
}

check_panda_server() {
  local got
  got=$(run_one_shot panda-client "$app_ns" "$idds_rest_labels" "$(scripts/images ref panda-server)" bed-x509-client \
    "exec /opt/panda/bin/python3 /scripts/panda_client.py blah-panda-server.$app_ns.svc.cluster.local" '{"name": "HOME", "value": "/tmp"}')
  check "PanDA server (PyPI 1.0.4 under httpd), as iDDS: panda-client's hello answered, its x509 call sees the bed CA's certificate, anonymous refused, an unknown CA refused (got: ${got:0:400})" \
    grep -q '^ok: ' <<<"$got"
  # PanDA's daemon in the server pod (its async request processor, each cycle) writes this machine's
  # heartbeat with the rendered credentials: read back, as the server's client (a cycle is seconds)
  got=$(server_sql_until db-heartbeat '^server blah-panda-server-0' "select service_name || ' ' || split_part(machine_name, '.', 1) from :schema.machine_heartbeat order by 1;")
  check "PanDA's own daemon in the server pod wrote its heartbeat into PostgreSQL with the rendered credentials (got: $got)" \
    grep -q '^server blah-panda-server-0' <<<"$got"
}

# JEDI from the same image: the chart's start-jedi.sh ran the package's init script, whose pid file
# names PanDA's JediMaster; its agents hold sessions in PostgreSQL as the rendered user, seen from
# the JEDI pod's address (PostgreSQL shows a role its own sessions' addresses)
check_jedi() {
  local pod=blah-panda-jedi-0 cmd ip got
  cmd=$(kubectl -n "$app_ns" exec "$pod" -c jedi -- sh -c 'tr "\0" " " < "/proc/$(cat /var/run/panda/panda_jedi.pid)/cmdline"' 2>&1)
  check "JEDI's pid file names PanDA's JediMaster (PyPI 1.0.4, the package's init script): ${cmd:0:160}" \
    grep -q 'pandajedi/jediorder/JediMaster.py --pid /var/run/panda/panda_jedi.pid' <<<"$cmd"
  ip=$(kubectl -n "$app_ns" get pod "$pod" -o jsonpath='{.status.podIP}')
  got=$(server_sql_until db-jedi-sessions '^panda [1-9]' "select current_user || ' ' || count(*) from pg_stat_activity where usename = current_user and host(client_addr) = '$ip';")
  check "JEDI's agents hold sessions in PanDA's PostgreSQL as the rendered user from the JEDI pod ($ip; user and sessions: $got)" \
    grep -Eq '^panda [1-9][0-9]*$' <<<"$got"
}

# ---------- backups, migrate-data ----------

iam_sql() { # sql: as root in IAM's MariaDB pod (the password from the pod's own environment)
  kubectl -n "$app_ns" exec blah-iam-mariadb-0 -c mariadb -- sh -c 'MYSQL_PWD=$MARIADB_ROOT_PASSWORD exec mariadb -uroot -N -B -e "$1"' sh "$1" 2>&1
}
job_done() { # job name: waits for Complete or Failed (120 s); prints the last log line, or "failed: <log tail>"
  local c
  for _ in $(seq 240); do
    c=$(kubectl -n "$app_ns" get job "$1" -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type} {end}')
    case $c in *Complete*) kubectl -n "$app_ns" logs "job/$1" | tail -1; return ;; *Failed*) break ;; esac
    sleep 0.5
  done
  echo "failed (${c:-running}): $(kubectl -n "$app_ns" logs "job/$1" 2>&1 | tail -3 | tr '\n' ' ')"
}

# IAM's MariaDB backup CronJob (on in every experiment): a Job from it dumps; the same pod template with
# "restore latest" (docs/charts.md, "Backups") loads the dump back.
check_backup_restore() {
  local marker got
  marker=bed-$RANDOM$RANDOM
  got=$(iam_sql "create database if not exists bed_check; create or replace table bed_check.marker (v varchar(64)); insert into bed_check.marker values ('$marker'); select v from bed_check.marker")
  [ "$got" = "$marker" ] || { fail "a marker row written into IAM's MariaDB (got: $got)"; return; }
  kubectl -n "$app_ns" create job bed-backup-now --from=cronjob/blah-iam-mariadb-backup >/dev/null
  got=$(job_done bed-backup-now)
  check "the backup CronJob's Job (blah-iam-mariadb-backup) runs to completion on the node (got: $got)" grep -q '^wrote /backup/all-.*\.sql\.gz' <<<"$got"
  iam_sql "drop database bed_check" >/dev/null
  kubectl -n "$app_ns" get cronjob blah-iam-mariadb-backup -o json | python3 -c '
import json, sys
cj = json.load(sys.stdin)
t = cj["spec"]["jobTemplate"]
t["spec"]["template"]["spec"]["containers"][0]["args"] = ["restore", "latest"]
print(json.dumps({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "bed-restore-now", "namespace": cj["metadata"]["namespace"]}, "spec": t["spec"]}))' | apply
  got=$(job_done bed-restore-now)
  check "the same pod template with \"restore latest\" runs to completion (got: $got)" grep -q '^restored /backup/all-' <<<"$got"
  got=$(iam_sql "select v from bed_check.marker")
  check "the dump restored the dropped database: the marker row is back (got: $got)" test "$got" = "$marker"
  kubectl -n "$app_ns" delete job bed-backup-now bed-restore-now --wait=false >/dev/null
  iam_sql "drop database bed_check" >/dev/null
}

# panda-install migrate-data dump and restore of iDDS' PostgreSQL (the same instance as old and new):
# Jobs of the overlay's image, through the NetworkPolicies, with the row counts compared by the Job.
# As docs/moving-in.md says, the writers stop first: iDDS' agents write heartbeats into their health
# table every few seconds, and counts taken while they run differ (a CI run failed so: health 10 < > 9).
check_migrate_data() {
  local t
  t=$(now_ms)
  # iDDS' agents outlast supervisord's 10 s per program after TERM (one after the other: the pod used
  # its whole 60 s grace, measured): the pod is deleted with a 2 s grace (TERM, then KILL) and the
  # StatefulSet scaled to 0 right after, before the kubelet is done (a shorter grace asked for a pod
  # that is already stopping does not cut the runtime's stop short: that took the full 60 s too)
  if kubectl -n "$app_ns" delete pod blah-idds-daemon-0 --grace-period=2 --wait=false >/dev/null &&
    kubectl -n "$app_ns" scale statefulset blah-idds-daemon --replicas=0 >/dev/null &&
    kubectl -n "$app_ns" wait --for=delete pod/blah-idds-daemon-0 --timeout=30s >/dev/null 2>&1; then
    ok "the writer stopped before the dump: iDDS' daemon scaled to 0 ($(secs "$t"))"
  else
    fail "iDDS' daemon scaled to 0 before the dump"; return
  fi
  check_migrate_dump_restore
  t=$(now_ms)
  if kubectl -n "$app_ns" scale statefulset blah-idds-daemon --replicas=1 >/dev/null &&
    kubectl -n "$app_ns" rollout status statefulset/blah-idds-daemon --timeout=120s >/dev/null; then
    ok "iDDS' daemon back at 1 replica and Ready after the restore ($(secs "$t"))"
  else
    fail "iDDS' daemon back at 1 replica and Ready after the restore"
  fi
}

check_migrate_dump_restore() {
  local got out t
  got=$(as_idds_sql mig-mark "create schema if not exists :schema; drop table if exists :schema.bed_marker; create table :schema.bed_marker (v text); insert into :schema.bed_marker select 'row-' || g from generate_series(1, 3) g; select count(*) from :schema.bed_marker;")
  [ "$got" = 3 ] || { fail "3 marker rows written into iDDS' PostgreSQL (got: $got)"; return; }
  # a Secret without the keys the Job reads: the kubelet cannot start the pod; said at once, not at the deadline
  t=$(now_ms)
  out=$("$app_bin" migrate-data dump idds-postgres -e dev "${app_values[@]}" -n "$app_ns" --host blah-idds-postgres --secret blah-secrets-panda-envs --claim bed-migrate --size 64Mi 2>&1) || true
  check "migrate-data with a Secret that lacks the Job's keys stops in $(secs "$t") naming the missing key ($(grep -o "couldn't find key [A-Z_]* in Secret [a-z/-]*" <<<"$out"))" \
    grep -q "cannot start its pod: container migrate.*couldn't find key IDDS_USER in Secret $app_ns/blah-secrets-panda-envs" <<<"$out"
  t=$(now_ms)
  if out=$("$app_bin" migrate-data dump idds-postgres -e dev "${app_values[@]}" -n "$app_ns" --host blah-idds-postgres --claim bed-migrate --size 64Mi 2>&1); then
    ok "migrate-data dump idds-postgres: the Job ran on the node ($(secs "$t"); $(grep -o 'dumped: .*' <<<"$out" | head -1))"
  else
    fail "migrate-data dump idds-postgres:"; tail -15 <<<"$out" >&2; return
  fi
  as_idds_sql mig-drop "drop table :schema.bed_marker;" >/dev/null
  t=$(now_ms)
  if out=$("$app_bin" migrate-data restore idds-postgres -e dev "${app_values[@]}" -n "$app_ns" --claim bed-migrate 2>&1); then
    ok "migrate-data restore idds-postgres: the Job ran, row counts match ($(secs "$t"))"
  else
    fail "migrate-data restore idds-postgres:"; tail -15 <<<"$out" >&2; return
  fi
  got=$(as_idds_sql mig-count "select count(*) from :schema.bed_marker;")
  check "the dropped table is back with its 3 rows (got: $got)" test "$got" = 3
  kubectl -n "$app_ns" delete pvc bed-migrate --wait=false >/dev/null 2>&1
}

# upgrade-plan --restore runs the upgrade's schema Job (restore phase) against PanDA's database: it
# must get through the database's NetworkPolicy (the schema-upgrade workload) to the point where it
# looks for a backup in the (here empty) claim.
check_schema_job() {
  local out t
  kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: blah-panda-schema-backup, namespace: $app_ns}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 64Mi}}}
EOF
  t=$(now_ms)
  out=$("$app_bin" upgrade-plan --restore -n "$app_ns" 2>&1) || true
  check "upgrade-plan --restore: Job blah-panda-schema-restore reaches PanDA's database through its policy and finds the claim empty ($(secs "$t"): $(grep -o 'schema-restore: .*' <<<"$out" | head -1))" \
    grep -q 'schema-restore: no backup in /backup: run the backup phase first' <<<"$out"
  kubectl -n "$app_ns" delete pvc blah-panda-schema-backup --wait=false >/dev/null 2>&1
}

# ---------- a killed process, uninstall and reinstall ----------

status_rc() { "$app_bin" status -n "$app_ns" >"$work/status.out" 2>&1; echo $?; }

check_kill_and_status() {
  local pod=blah-idds-postgres-0 cid pid rc restarts t
  # healthy within 60 s, as the pods check after the install allows: on the 2 busy cores a probe can
  # time out once; the first answer and the last status output are shown when it never is
  local first try
  first=$(status_rc) rc=$first
  for try in $(seq 1 12); do
    [ "$rc" = 0 ] && break
    sleep 5
    rc=$(status_rc)
  done
  check "status on the real pods: healthy (exit $rc; first answer exit $first)" test "$rc" = 0
  [ "$rc" = 0 ] || head -40 "$work/status.out" >&2
  cid=$(kubectl -n "$app_ns" get pod "$pod" -o jsonpath='{.status.containerStatuses[0].containerID}')
  pid=$(ctr --address "$PANDA_TESTBED_DIR/node/containerd/containerd.sock" -n k8s.io task ls | awk -v c="${cid#containerd://}" '$1 == c {print $2}')
  [ -n "$pid" ] || { fail "the container of $pod has a task on the node ($cid)"; return; }
  kill -KILL "$pid"
  t=$(now_ms)
  for _ in $(seq 60); do rc=$(status_rc); [ "$rc" = 3 ] && break; sleep 0.5; done
  check "PostgreSQL of iDDS killed (pid $pid on the node): status exits 3 within $(secs "$t") and names blah-idds-postgres ($(grep -m1 'idds-postgres' "$work/status.out" | tr -s ' '))" \
    bash -c "[ $rc = 3 ] && grep -q 'blah-idds-postgres' '$work/status.out'"
  t=$(now_ms)
  for _ in $(seq 180); do rc=$(status_rc); [ "$rc" = 0 ] && break; sleep 0.5; done
  restarts=$(kubectl -n "$app_ns" get pod "$pod" -o jsonpath='{.status.containerStatuses[0].restartCount}')
  check "the kubelet restarted it (restartCount $restarts) and status is healthy again after $(secs "$t") (exit $rc)" \
    test "$rc:$restarts" = 0:1
  check "status shows the restart: $(grep -m1 'blah-idds-postgres: 1 restart' "$work/status.out" | sed 's/^ *//')" \
    grep -q "StatefulSet/blah-idds-postgres: 1 restart (last: $pod/postgres: Error, exit 137, at " "$work/status.out"
}

check_reinstall_keeps_data() {
  local marker got out t
  marker=bed-$RANDOM$RANDOM
  got=$(as_server_sql keep-mark "$app_ns" "create table if not exists :schema.bed_keep (v text); delete from :schema.bed_keep; insert into :schema.bed_keep values ('$marker'); select v from :schema.bed_keep;")
  [ "$got" = "$marker" ] || { fail "a marker row written into PanDA's PostgreSQL (got: $got)"; return; }
  t=$(now_ms)
  if ! out=$("$app_bin" uninstall -c panda -n "$app_ns" 2>&1); then fail "uninstall -c panda:"; tail -10 <<<"$out" >&2; return; fi
  check "uninstall -c panda ($(secs "$t")): its StatefulSets are gone, the database claim is kept" \
    bash -c "! kubectl -n $app_ns get statefulset blah-panda-postgres >/dev/null 2>&1 && kubectl -n $app_ns get pvc data-blah-panda-postgres-0 >/dev/null"
  t=$(now_ms)
  if ! out=$("${app_install[@]}" -c panda 2>&1); then fail "reinstall -c panda:"; tail -20 <<<"$out" >&2; return; fi
  got=$(as_server_sql keep-read "$app_ns" "select v from :schema.bed_keep;")
  check "reinstall -c panda ($(secs "$t")): the marker row written before the uninstall is read back (got: $got)" test "$got" = "$marker"
}

# ---------- breaks on a copy of a rendered workload ----------

# A copy of a deployed workload in its own namespace (testbed/real-node/variant.py: claims become
# emptyDirs, its Secrets and ConfigMaps copied), EDIT applied; prints "ready" or "failed: <log>".
run_variant() { # namespace, kind/name, python edit of w (the workload) or "pass"
  local out
  kubectl create namespace "$1" >/dev/null
  kubectl -n "$app_ns" get "$2" -o json | python3 testbed/real-node/variant.py "$app_ns" "$1" "$3" | apply
  out=$(python3 testbed/real-node/variant.py --wait "$1" 90 2>&1)
  echo "$out"
  kubectl delete namespace "$1" --wait=false >/dev/null 2>&1
}

check_breaks() {
  local got
  got=$(run_variant bed-variant-control statefulset/blah-idds-postgres pass)
  check "a copy of iDDS' PostgreSQL StatefulSet in its own namespace becomes Ready (control of the breaks: $got)" test "$got" = ready
  got=$(run_variant bed-break-emptydir statefulset/blah-idds-postgres 'drop_volume(w, "run")')
  check "break: without the emptyDir at /var/run/postgresql under the read-only root, PostgreSQL fails (got: ${got:0:200})" \
    grep -q '^failed.*could not create lock file "/var/run/postgresql/' <<<"$got"
  got=$(run_variant bed-break-config deployment/blah-msgsvc-activemq 'move_mount(w, "config", "/etc/panda-activemq-elsewhere")')
  check "break: ActiveMQ's configuration mounted at another path: the broker's start fails (got: ${got:0:200})" \
    grep -q '^failed.*/etc/panda-activemq' <<<"$got"
}

run_app_checks() {
  check_panda_install || return 0
  check_db_traffic
  check_idds_rest
  check_idds_nats
  check_panda_server
  check_jedi
  check_message_path
  check_backup_restore
  check_migrate_data
  check_schema_job
  check_kill_and_status
  check_breaks
  check_reinstall_keeps_data
}
