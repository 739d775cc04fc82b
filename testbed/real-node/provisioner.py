#!/usr/bin/env python3
"""Volume provisioner of the test bed's real node (scripts/cluster with PANDA_TESTBED_REAL_NODE=1).

usage: provisioner.py --server URL --ca FILE --cert FILE --key FILE --root DIR --node NAME --class NAME [--once]

Serves the claims of one StorageClass (provisioner bed.local/local-dir) with `local` PersistentVolumes:
a directory <root>/<pv name> (root:root 0755) per claim, node affinity to the one real node. The
kubelet applies a pod's fsGroup to `local` volumes (group ownership, setgid, g+rwx), as it does for
most CSI volumes, so non-root pods with fsGroup write to them and pods without fsGroup do not: the
in-tree hostPath provisioner of the kwok bed makes 0750 root directories and fsGroup never applies.

Every second: a Pending claim of the class without a volume gets one (bound through claimRef); a
volume of ours whose claim is gone (Released) is deleted with its directory. Runs until SIGTERM;
talks to the API server with a client certificate (stdlib only).
"""
import argparse
import json
import os
import shutil
import signal
import ssl
import sys
import time
import urllib.error
import urllib.request

PROVISIONER = "bed.local/local-dir"


class Api:
    def __init__(self, server, ca, cert, key):
        self.server = server
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.load_cert_chain(cert, key)

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, context=self.ctx, timeout=10) as resp:
            return json.load(resp)


def volume_for(claim, node, root):
    name = "pvc-" + claim["metadata"]["uid"]
    spec = claim["spec"]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
        "spec": {
            "capacity": {"storage": spec["resources"]["requests"]["storage"]},
            "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
            "volumeMode": spec.get("volumeMode", "Filesystem"),
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": spec["storageClassName"],
            "local": {"path": os.path.join(root, name)},
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": claim["metadata"]["namespace"],
                "name": claim["metadata"]["name"],
                "uid": claim["metadata"]["uid"],
            },
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}},
        },
    }


def reconcile(api, args):
    volumes = {v["metadata"]["name"]: v for v in api.call("GET", "/api/v1/persistentvolumes")["items"]}
    for claim in api.call("GET", "/api/v1/persistentvolumeclaims")["items"]:
        if claim["spec"].get("storageClassName") != args.klass or claim["status"].get("phase") != "Pending":
            continue
        if claim["spec"].get("volumeName"):
            continue
        pv = volume_for(claim, args.node, args.root)
        if pv["metadata"]["name"] in volumes:
            continue
        path = pv["spec"]["local"]["path"]
        os.makedirs(path, mode=0o755, exist_ok=True)
        os.chmod(path, 0o755)
        api.call("POST", "/api/v1/persistentvolumes", pv)
        print(f"provisioner: {path} for {claim['metadata']['namespace']}/{claim['metadata']['name']}", flush=True)
    for name, pv in volumes.items():
        ours = pv["metadata"].get("annotations", {}).get("pv.kubernetes.io/provisioned-by") == PROVISIONER
        if not ours or pv.get("status", {}).get("phase") not in ("Released", "Failed"):
            continue
        path = pv["spec"]["local"]["path"]
        if os.path.dirname(path) == args.root:
            shutil.rmtree(path, ignore_errors=True)
        try:
            api.call("DELETE", "/api/v1/persistentvolumes/" + name)
        except urllib.error.HTTPError as e:
            if e.code != 404:
                raise
        print(f"provisioner: deleted {name} and {path}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    for arg in ("--server", "--ca", "--cert", "--key"):
        parser.add_argument(arg, required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--node", required=True)
    parser.add_argument("--class", dest="klass", required=True)
    parser.add_argument("--once", action="store_true")
    args = parser.parse_args()
    args.root = os.path.abspath(args.root)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    api = Api(args.server, args.ca, args.cert, args.key)
    while True:
        try:
            reconcile(api, args)
        except (urllib.error.URLError, OSError, KeyError) as e:
            print(f"provisioner: {e}", file=sys.stderr, flush=True)
        if args.once:
            return
        time.sleep(1)


if __name__ == "__main__":
    main()
