//! Node failure on the test bed: a node goes NotReady with a StatefulSet pod on it, the pod is
//! evicted and stays Terminating (nobody plays its kubelet), and the node-recovery CronJob's own
//! script, run with real kubectl against the API server, force-deletes it so that the StatefulSet
//! recreates it on a Ready node; a pod that mounts a claim is skipped until its node carries the
//! out-of-service taint.

use crate::support::{kubectl, kubectl_apply, root, testbed, Namespace};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn statefulset(ns: &str) -> String {
    statefulset_mounting(ns, "")
}

/// db: one pod that tolerates a dead node for 2 s; `extra` is appended to its StatefulSet spec.
fn statefulset_mounting(ns: &str, extra: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db, namespace: {ns}}}
spec:
  serviceName: db
  replicas: 1
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      securityContext: {{runAsNonRoot: true, runAsUser: 1000, seccompProfile: {{type: RuntimeDefault}}}}
      tolerations:
      - {{key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2}}
      - {{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}}
      containers:
      - name: db
        image: registry.k8s.io/pause:3.10
        securityContext: {{allowPrivilegeEscalation: false, capabilities: {{drop: [ALL]}}}}
{extra}"#
    )
}

/// db-0 as JSON, or null while it does not exist (before the StatefulSet creates it, or between
/// its deletion and its recreation).
fn pod(ns: &str) -> serde_json::Value {
    let text = kubectl(&["get", "pod", "db-0", "-n", ns, "-o", "json", "--ignore-not-found"]);
    if text.trim().is_empty() {
        return serde_json::Value::Null;
    }
    serde_json::from_str(&text).unwrap()
}

fn wait(limit: Duration, what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn cluster(args: &[&str]) {
    let status =
        Command::new(root().join("scripts/cluster")).args(args).stdout(Stdio::null()).status().unwrap();
    assert!(status.success(), "scripts/cluster {args:?} failed");
}

/// Brings the node back even when the test fails half-way.
struct NodeDown(String);

impl Drop for NodeDown {
    fn drop(&mut self) {
        let _ = Command::new("kubectl")
            .args(["taint", "node", &self.0, "node.kubernetes.io/out-of-service-"])
            .output();
        let _ = Command::new(root().join("scripts/cluster"))
            .args(["node-ready", &self.0])
            .stdout(Stdio::null())
            .status();
    }
}

fn ready(p: &serde_json::Value) -> bool {
    p["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn node_recovery_script_frees_a_statefulset_pod_stuck_on_a_dead_node() {
    testbed();
    let ns = Namespace::new("recovery");
    kubectl_apply(&statefulset(&ns.0));
    wait(Duration::from_secs(60), "db-0 Ready", || ready(&pod(&ns.0)));
    let node = pod(&ns.0)["spec"]["nodeName"].as_str().unwrap().to_string();
    let uid = pod(&ns.0)["metadata"]["uid"].as_str().unwrap().to_string();

    let down_at = Instant::now();
    cluster(&["node-notready", &node]);
    let _restore = NodeDown(node.clone());
    wait(Duration::from_secs(90), "db-0 Terminating on the dead node", || {
        !pod(&ns.0)["metadata"]["deletionTimestamp"].is_null()
    });
    let stuck_at = down_at.elapsed();

    // The script the CronJob runs, unchanged, with the real kubectl against the real API server.
    let out = Command::new("sh")
        .arg(root().join("helm/panda/files/node-recovery.sh"))
        .env("NAMESPACE", &ns.0)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{log}{}", String::from_utf8_lossy(&out.stderr));
    assert!(log.contains(&format!("force-deleting {}/db-0 (node {node})", ns.0)), "{log}");

    wait(Duration::from_secs(60), "db-0 recreated and Ready on another node", || {
        let p = pod(&ns.0);
        p["metadata"]["uid"].as_str().is_some_and(|u| u != uid) && ready(&p)
    });
    let recovered = down_at.elapsed();
    let new_node = pod(&ns.0)["spec"]["nodeName"].as_str().unwrap().to_string();
    assert_ne!(new_node, node, "recreated on the dead node");
    println!(
        "node recovery: pod Terminating {:.1}s after the node went down, Ready again on {new_node} after {:.1}s",
        stuck_at.as_secs_f64(),
        recovered.as_secs_f64()
    );
    // the script touches nothing in another namespace: a dry run elsewhere finds nothing to do
    let other = Command::new("sh")
        .arg(root().join("helm/panda/files/node-recovery.sh"))
        .env("NAMESPACE", "kube-system")
        .env("DRY_RUN", "1")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&other.stdout).contains("0 pod(s) handled, 0 pod(s) with claims skipped"),
        "{}",
        String::from_utf8_lossy(&other.stdout)
    );
    assert!(kubectl(&["get", "nodes"]).contains(&node));
}

/// A database pod (it mounts a claim) stuck terminating on a NotReady node: node-recovery skips it
/// and says why (the node may only be cut off and its pod still writing); once the node carries the
/// out-of-service taint it is freed.
#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn node_recovery_skips_a_pod_with_a_claim_until_its_node_is_out_of_service() {
    testbed();
    let ns = Namespace::new("recovery-claim");
    let claim = "        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Mi}}}
";
    kubectl_apply(&statefulset_mounting(&ns.0, claim));
    wait(Duration::from_secs(90), "db-0 Ready", || ready(&pod(&ns.0)));
    let node = pod(&ns.0)["spec"]["nodeName"].as_str().unwrap().to_string();
    let uid = pod(&ns.0)["metadata"]["uid"].as_str().unwrap().to_string();
    cluster(&["node-notready", &node]);
    let _restore = NodeDown(node.clone());
    wait(Duration::from_secs(90), "db-0 Terminating", || {
        !pod(&ns.0)["metadata"]["deletionTimestamp"].is_null()
    });
    let run = || {
        let out = Command::new("sh")
            .arg(root().join("helm/panda/files/node-recovery.sh"))
            .env("NAMESPACE", &ns.0)
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{log}{}", String::from_utf8_lossy(&out.stderr));
        log
    };
    let log = run();
    assert!(log.contains(&format!("skipping {}/db-0 (node {node}): it mounts a claim", ns.0)), "{log}");
    assert!(log.contains("0 pod(s) handled, 1 pod(s) with claims skipped"), "{log}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(pod(&ns.0)["metadata"]["uid"].as_str(), Some(uid.as_str()), "the pod was deleted:\n{log}");

    kubectl(&["taint", "node", &node, "node.kubernetes.io/out-of-service=nodeshutdown:NoExecute"]);
    // Kubernetes may free it first (its pod garbage collector honours the taint too)
    let log =
        if pod(&ns.0)["metadata"]["uid"].as_str() == Some(uid.as_str()) { run() } else { String::new() };
    assert!(!log.contains("skipping"), "{log}");
    wait(Duration::from_secs(60), "db-0 recreated", || {
        pod(&ns.0)["metadata"]["uid"].as_str().is_some_and(|u| u != uid)
    });
}
