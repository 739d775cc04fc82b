#!/bin/sh
# node-recovery: force-delete the pods of ONE namespace that are stuck terminating on a NotReady node.
#
# When a node dies, its pods get a deletionTimestamp but the kubelet never confirms the deletion, so
# StatefulSet pods (server, JEDI, databases) are not recreated elsewhere. This script removes exactly
# those pods: deletionTimestamp set AND spec.nodeName is a node whose Ready condition is not "True".
# Nothing else is touched, and only in $NAMESPACE.
#
# Needs only kubectl (no jq): nodes get/list (cluster), pods list/delete (the namespace).
# Run it by hand against any cluster, e.g.:  NAMESPACE=panda sh helm/panda/files/node-recovery.sh
# Environment: NAMESPACE (required), SELECTOR (optional label selector), KUBECTL (default kubectl),
#              DRY_RUN=1 (print, do not delete).
set -eu

: "${NAMESPACE:?set NAMESPACE to the namespace to clean up}"
KUBECTL="${KUBECTL:-kubectl}"
SELECTOR="${SELECTOR:-}"
DRY_RUN="${DRY_RUN:-}"

not_ready=$($KUBECTL get nodes -o go-template='{{range .items}}{{$node := .metadata.name}}{{range .status.conditions}}{{if and (eq .type "Ready") (ne .status "True")}}{{$node}}{{"\n"}}{{end}}{{end}}{{end}}')
if [ -z "$not_ready" ]; then
  echo "node-recovery: every node is Ready"
  exit 0
fi
echo "node-recovery: NotReady nodes:" $not_ready

if [ -n "$SELECTOR" ]; then
  set -- -l "$SELECTOR"
else
  set --
fi
stuck=$($KUBECTL get pods -n "$NAMESPACE" "$@" -o go-template='{{range .items}}{{if .metadata.deletionTimestamp}}{{.metadata.name}} {{.spec.nodeName}}{{"\n"}}{{end}}{{end}}')

deleted=0
# "pod node" per line; the here-document keeps the loop in this shell so $deleted survives.
while read -r pod node; do
  [ -n "$pod" ] || continue
  for bad in $not_ready; do
    if [ "$node" = "$bad" ]; then
      if [ -n "$DRY_RUN" ]; then
        echo "node-recovery: would force-delete $NAMESPACE/$pod (node $node)"
      else
        echo "node-recovery: force-deleting $NAMESPACE/$pod (node $node)"
        $KUBECTL delete pod -n "$NAMESPACE" "$pod" --force --grace-period=0 --wait=false
      fi
      deleted=$((deleted + 1))
    fi
  done
done <<EOT
$stuck
EOT
echo "node-recovery: $deleted pod(s) handled in namespace $NAMESPACE"
