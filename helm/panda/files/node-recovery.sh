#!/bin/sh
# node-recovery: force-delete the pods of ONE namespace that are stuck terminating on a NotReady node.
#
# When a node dies, its pods get a deletionTimestamp but the kubelet never confirms the deletion, so
# StatefulSet pods (server, JEDI, databases) are not recreated elsewhere. This script removes exactly
# those pods: deletionTimestamp set AND spec.nodeName is a node whose Ready condition is not "True".
# Nothing else is touched, and only in $NAMESPACE.
#
# A pod that mounts a claim (a database's data directory) is skipped unless its node carries the
# node.kubernetes.io/out-of-service taint (Kubernetes' non-graceful node shutdown): a NotReady node
# may only be cut off from the API server while its pod still writes to the volume, and a second pod
# on that volume would corrupt it. Taint the node once you know it is down (powered off, fenced):
#   kubectl taint node NODE node.kubernetes.io/out-of-service=nodeshutdown:NoExecute
# (Kubernetes then also detaches its volumes; remove the taint when the node is back.)
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
out_of_service=$($KUBECTL get nodes -o go-template='{{range .items}}{{$node := .metadata.name}}{{range .spec.taints}}{{if eq .key "node.kubernetes.io/out-of-service"}}{{$node}}{{"\n"}}{{end}}{{end}}{{end}}')

if [ -n "$SELECTOR" ]; then
  set -- -l "$SELECTOR"
else
  set --
fi
# "pod node claims" per line; claims is 1 when the pod mounts a claim (persistentVolumeClaim or ephemeral)
stuck=$($KUBECTL get pods -n "$NAMESPACE" "$@" -o go-template='{{range .items}}{{if .metadata.deletionTimestamp}}{{.metadata.name}} {{.spec.nodeName}} {{$c := 0}}{{range .spec.volumes}}{{if or .persistentVolumeClaim .ephemeral}}{{$c = 1}}{{end}}{{end}}{{$c}}{{"\n"}}{{end}}{{end}}')

deleted=0
skipped=0
# the here-document keeps the loop in this shell so the counters survive.
while read -r pod node claims; do
  [ -n "$pod" ] || continue
  for bad in $not_ready; do
    if [ "$node" = "$bad" ]; then
      fenced=
      for f in $out_of_service; do
        [ "$f" = "$node" ] && fenced=1
      done
      if [ "$claims" = 1 ] && [ -z "$fenced" ]; then
        echo "node-recovery: skipping $NAMESPACE/$pod (node $node): it mounts a claim and node $node has no node.kubernetes.io/out-of-service taint, so it may still be writing to it; once the node is known to be down: kubectl taint node $node node.kubernetes.io/out-of-service=nodeshutdown:NoExecute"
        skipped=$((skipped + 1))
        continue
      fi
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
echo "node-recovery: $deleted pod(s) handled, $skipped pod(s) with claims skipped in namespace $NAMESPACE"
