# PanDA on the real node (sourced by scripts/check-real-node, which defines ok/fail/check, apply,
# now_ms/secs, $ns, $work and the kubectl of the bed): panda-install -e dev with the CI secrets file
# and the real-node overlay (testbed/real-node/values), every image imported from scripts/images; then
# the pods, their securityContext and real traffic on the bridge:
#   - PostgreSQL by the Service's DNS name with the rendered credentials, as the server; refused from
#     a foreign namespace, refused after the server's edge is removed from its NetworkPolicy, and
#     refused with a wrong password (a login error, not a timeout)
#   - a message published as the server (its Secret, the destination of its rendered mbproxy
#     configuration) reaches iDDS' receiver queue (its Secret) through the real ActiveMQ; the iDDS
#     account may not write to it
#   - the backup CronJob's Job dumps the PanDA database; `upgrade-plan --restore` loads it back
#   - `migrate-data dump` and `restore` of iDDS' PostgreSQL run as Jobs and the row counts match
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
import_pid=

json_str() { python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))'; }

# The images go into the node while the bed's own checks run (ctr import of about 1 GB).
start_image_import() {
  (scripts/images import "$PANDA_TESTBED_DIR/node/containerd/containerd.sock" >"$work/import.log" 2>&1
    echo $? >"$work/import.rc") &
  import_pid=$!
}

check_panda_install() {
  local t out
  [ -x "$app_bin" ] || { fail "panda-install is built ($app_bin: cargo build)"; return 1; }
  t=$(now_ms)
  [ -n "$import_pid" ] || start_image_import
  wait "$import_pid" || true
  if [ "$(cat "$work/import.rc" 2>/dev/null)" != 0 ]; then
    fail "the images of scripts/images are imported into the node: $(tail -3 "$work/import.log")"; return 1
  fi
  echo "check-real-node: $(grep -c imported "$work/import.log") images imported (waited $(secs "$t") for the import)"
  t=$(now_ms)
  if out=$("${app_install[@]}" 2>&1); then
    ok "panda-install --secrets $app_secrets -e dev with the real-node overlay: every release deployed ($(secs "$t"))"
  else
    fail "panda-install --secrets $app_secrets -e dev with the real-node overlay:"; tail -30 <<<"$out" >&2
    kubectl -n "$app_ns" get pods -o wide >&2; return 1
  fi
  if out=$(kubectl -n "$app_ns" get pods -o json | python3 testbed/real-node/check_pods.py 2>&1); then
    ok "$(tail -1 <<<"$out"): every pod Running and Ready, 0 restarts, securityContext as documented"
  else
    fail "every pod Running and Ready, 0 restarts, securityContext as documented:"; grep FAIL <<<"$out" >&2
  fi
  check "every container runs with a non-zero uid and no effective capability (/proc/1/status)" check_app_processes
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
export PGPASSWORD=\$${p}_PASSWORD PGCONNECT_TIMEOUT=3
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
as_server_sql() { # name, namespace, sql, [secret]
  run_one_shot "$1" "$2" "$server_labels" "$(scripts/images ref postgres)" "${4:-blah-secrets-panda-envs}" "$(psql_script PANDA_DB "$3")"
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

check_db_traffic() {
  local got policy
  got=$(as_server_sql db-as-server "$app_ns" "$schema_sql")
  check "as the server (its labels, its rendered Secret), psql reaches PostgreSQL by blah-panda-postgres.$app_ns.svc.cluster.local and sees PanDA's schema (got: $got)" \
    test "$got" = "panda 1"
  # a denied edge: the same client and credentials, from another namespace
  kubectl create namespace bed-foreign >/dev/null 2>&1 || true
  copy_secret blah-secrets-panda-envs "$app_ns" bed-foreign
  got=$(as_server_sql db-foreign bed-foreign "$schema_sql")
  check "a foreign pod (namespace bed-foreign, the server's labels and credentials) is blocked from PostgreSQL (got: $got)" \
    grep -q '^failed' <<<"$got"
  kubectl delete namespace bed-foreign --wait=false >/dev/null 2>&1
  # break: the server's edge removed from the database's policy, then put back
  policy=$(kubectl -n "$app_ns" get networkpolicy blah-panda-postgres -o json)
  python3 -c '
import json, sys
p = json.load(sys.stdin)
keep = [r for r in p["spec"]["ingress"] if not any(f.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") == "server" for f in r.get("from", []))]
assert len(keep) < len(p["spec"]["ingress"]), "no rule names the server"
p["spec"]["ingress"] = keep
for k in ("resourceVersion", "uid", "managedFields", "generation", "creationTimestamp"):
    p["metadata"].pop(k, None)
print(json.dumps(p))' <<<"$policy" | kubectl replace -f - >/dev/null
  got=$(as_server_sql db-edge-removed "$app_ns" "$schema_sql")
  check "break: the server's edge removed from blah-panda-postgres's NetworkPolicy: the server is blocked (got: $got)" \
    grep -q '^failed' <<<"$got"
  python3 -c '
import json, sys
p = json.load(sys.stdin)
for k in ("resourceVersion", "uid", "managedFields", "generation", "creationTimestamp"):
    p["metadata"].pop(k, None)
print(json.dumps(p))' <<<"$policy" | kubectl replace -f - >/dev/null
  got=$(as_server_sql db-edge-back "$app_ns" "$schema_sql")
  check "the edge put back: the server reaches PostgreSQL again (got: $got)" test "$got" = "panda 1"
  # break: a wrong password in the server's Secret is refused by PostgreSQL at login
  copy_secret blah-secrets-panda-envs "$app_ns" "$app_ns" bed-wrong-password 'd["PANDA_DB_PASSWORD"] += "-wrong"'
  got=$(as_server_sql db-wrong-password "$app_ns" "$schema_sql" bed-wrong-password)
  check "break: a wrong PANDA_DB_PASSWORD is refused at login (got: ${got:0:160})" \
    grep -q '^failed.*password authentication failed for user "panda"' <<<"$got"
  kubectl -n "$app_ns" delete secret bed-wrong-password >/dev/null
}

# ---------- the message path ----------

check_message_path() {
  local dest marker got
  kubectl -n "$app_ns" create configmap bed-scripts --from-file=testbed/real-node/message_path.py >/dev/null
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
  got=$(run_one_shot mq-receive "$app_ns" "$idds_labels" "$(scripts/images ref stomp-client)" blah-secrets-idds-envs \
    "exec python3 /scripts/message_path.py receive $marker 20")
  check "iDDS' receiver (its labels, Secret, account and IDDS_RECEIVER_DESTINATION) gets that message (got: $got)" test "$got" = received
  got=$(run_one_shot mq-idds-send "$app_ns" "$idds_labels" "$(scripts/images ref stomp-client)" blah-secrets-idds-envs \
    "exec python3 /scripts/message_path.py send-as-idds $dest $marker-x")
  check "the idds account, a reader of $dest only, may not write to it (got: ${got:0:120})" grep -q '^refused' <<<"$got"
}

run_app_checks() {
  check_panda_install || return 0
  check_db_traffic
  check_message_path
}
