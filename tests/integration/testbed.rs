//! Tests of the test bed itself (scripts/cluster): real kube-apiserver, controllers and scheduler,
//! kwok nodes. They prove the properties the panda-install tests rely on: nodes are Ready,
//! workloads go Ready, claims bind, the API server validates strictly and enforces `PodSecurity`,
//! Jobs complete.
//!
//! Each test needs KUBECONFIG (scripts/test exports it; by hand: `eval "$(scripts/cluster env)"`)
//! and `kubectl` on PATH; without KUBECONFIG it prints why and passes. Every test works in its own
//! namespace and deletes it at the end.

use std::fmt::Write as _;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The number of kwok nodes scripts/cluster registers.
const NODES: usize = 4;
/// How long a workload may take to become Ready on the test bed (kwok makes pods Ready at once).
const WAIT: &str = "60s";

/// A Deployment with a readiness probe, a StatefulSet with an init container and a claim template, a standalone claim.
const WORKLOADS: &str = r"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.k8s.io/pause:3.10
        readinessProbe:
          httpGet: {path: /, port: 8080}
---
apiVersion: v1
kind: Service
metadata:
  name: db
spec:
  clusterIP: None
  selector: {app: db}
  ports:
  - {name: pg, port: 5432}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  replicas: 2
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      initContainers:
      - name: init
        image: registry.k8s.io/pause:3.10
      containers:
      - name: db
        image: registry.k8s.io/pause:3.10
        volumeMounts:
        - {name: data, mountPath: /data}
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests: {storage: 1Gi}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: standalone
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests: {storage: 2Gi}
";

/// A ConfigMap with a misspelt top-level field.
const UNKNOWN_FIELD: &str = r"
apiVersion: v1
kind: ConfigMap
metadata:
  name: unknown-field
data:
  a: b
dataa:
  c: d
";

/// A Deployment with a negative replica count.
const NEGATIVE_REPLICAS: &str = r"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: negative
spec:
  replicas: -1
  selector:
    matchLabels: {app: negative}
  template:
    metadata:
      labels: {app: negative}
    spec:
      containers:
      - name: c
        image: registry.k8s.io/pause:3.10
";

/// A privileged pod: forbidden by every `PodSecurity` level but privileged.
const PRIVILEGED_POD: &str = r"
apiVersion: v1
kind: Pod
metadata:
  name: privileged
spec:
  containers:
  - name: c
    image: registry.k8s.io/pause:3.10
    securityContext:
      privileged: true
";

/// A pod that meets the restricted `PodSecurity` level.
const RESTRICTED_POD: &str = r"
apiVersion: v1
kind: Pod
metadata:
  name: compliant
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: c
    image: registry.k8s.io/pause:3.10
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
";

/// A two-pod Job and a suspended CronJob to create a Job from.
const JOBS: &str = r"
apiVersion: batch/v1
kind: Job
metadata:
  name: once
spec:
  completions: 2
  parallelism: 2
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: registry.k8s.io/pause:3.10
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: '0 3 * * *'
  suspend: true
  jobTemplate:
    spec:
      backoffLimit: 0
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: c
            image: registry.k8s.io/pause:3.10
";

fn kubectl_cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new("kubectl");
    cmd.args(args);
    cmd
}

/// Runs kubectl, optionally feeding `stdin`; returns the raw output whatever the exit status.
fn kubectl_output(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = kubectl_cmd(args);
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child =
        cmd.spawn().unwrap_or_else(|e| panic!("cannot run kubectl {args:?}: {e} (is it on PATH?)"));
    if let Some(input) = stdin {
        child.stdin.take().expect("stdin is piped").write_all(input.as_bytes()).expect("write kubectl stdin");
    }
    child.wait_with_output().expect("wait for kubectl")
}

/// Runs kubectl and panics with its stderr unless it succeeds; returns stdout.
fn kubectl(args: &[&str], stdin: Option<&str>) -> String {
    let out = kubectl_output(args, stdin);
    assert!(
        out.status.success(),
        "kubectl {args:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("kubectl output is UTF-8")
}

/// Runs kubectl, expects it to fail, returns its stderr.
fn kubectl_fails(args: &[&str], stdin: Option<&str>) -> String {
    let out = kubectl_output(args, stdin);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "kubectl {args:?} succeeded but should have failed:\n{}{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

fn kubectl_json(args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&kubectl(&all, None)).expect("kubectl -o json output parses")
}

/// A namespace of one test, deleted (without waiting) when the test ends, pass or fail.
struct Namespace(String);

impl Namespace {
    fn create(test: &str, labels: &[(&str, &str)]) -> Namespace {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!(
            "tb-{test}-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            nanos % 100_000
        );
        let mut manifest = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels:\n");
        manifest.push_str("    panda-install.testbed/test: \"true\"\n");
        for (k, v) in labels {
            let _ = writeln!(manifest, "    {k}: \"{v}\"");
        }
        kubectl(&["create", "-f", "-"], Some(&manifest));
        // Pods are refused until the service-account controller has created `default`.
        wait_until(Duration::from_secs(30), "the default ServiceAccount", || {
            kubectl_output(&["-n", &name, "get", "serviceaccount", "default"], None).status.success()
        });
        Namespace(name)
    }

    fn name(&self) -> &str {
        &self.0
    }

    /// kubectl with `-n <namespace>` in front of `args`.
    fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> String {
        let mut all = vec!["-n", self.name()];
        all.extend_from_slice(args);
        kubectl(&all, stdin)
    }

    fn kubectl_fails(&self, args: &[&str], stdin: Option<&str>) -> String {
        let mut all = vec!["-n", self.name()];
        all.extend_from_slice(args);
        kubectl_fails(&all, stdin)
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["-n", self.name()];
        all.extend_from_slice(args);
        kubectl_json(&all)
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = kubectl_output(&["delete", "namespace", &self.0, "--wait=false", "--ignore-not-found"], None);
    }
}

fn wait_until(timeout: Duration, what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn condition<'a>(obj: &'a serde_json::Value, kind: &str) -> Option<&'a str> {
    obj["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == kind)?.get("status")?.as_str()
}

/// (a) The 4 kwok nodes are registered, Ready and schedulable.
#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn testbed_nodes_are_ready() {
    crate::support::testbed();
    // Another test may be taking a node down and back (node recovery): allow it to come back.
    let start = Instant::now();
    loop {
        let nodes = kubectl_json(&["get", "nodes", "-l", "type=kwok"]);
        let items = nodes["items"].as_array().expect("node list");
        let ready: Vec<&str> = items
            .iter()
            .filter(|n| condition(n, "Ready") == Some("True"))
            .filter(|n| n["spec"]["unschedulable"] != true)
            .filter_map(|n| n["metadata"]["name"].as_str())
            .collect();
        if items.len() == NODES && ready.len() == NODES {
            for n in items {
                assert_eq!(n["status"]["capacity"]["cpu"], "16", "node capacity: {n}");
                assert_eq!(n["status"]["capacity"]["pods"], "110", "node capacity: {n}");
            }
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "expected {NODES} Ready kwok nodes; {} kwok nodes, Ready: {ready:?}",
            items.len()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // The plain kubectl view a user sees.
    let table = kubectl(&["get", "nodes", "--no-headers"], None);
    assert_eq!(table.lines().filter(|l| l.contains(" Ready")).count(), NODES, "{table}");
}

/// (b) A Deployment and a StatefulSet with a `volumeClaimTemplate` become Ready, claims Bound.
#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn testbed_workloads_become_ready_and_claims_bind() {
    crate::support::testbed();
    let ns = Namespace::create("workloads", &[]);
    ns.kubectl(&["apply", "-f", "-"], Some(WORKLOADS));
    let timeout = format!("--timeout={WAIT}");
    ns.kubectl(&["rollout", "status", "deployment/web", &timeout], None);
    ns.kubectl(&["rollout", "status", "statefulset/db", &timeout], None);

    let deploy = ns.json(&["get", "deployment", "web"]);
    assert_eq!(deploy["status"]["readyReplicas"], 3, "{deploy}");
    let sts = ns.json(&["get", "statefulset", "db"]);
    assert_eq!(sts["status"]["readyReplicas"], 2, "{sts}");

    // Every pod Running and Ready with a pod IP, spread over kwok nodes.
    let pods = ns.json(&["get", "pods"]);
    let pods = pods["items"].as_array().expect("pod list");
    assert_eq!(pods.len(), 5, "3 web + 2 db pods");
    for p in pods {
        assert_eq!(p["status"]["phase"], "Running", "{p}");
        assert_eq!(condition(p, "Ready"), Some("True"), "{p}");
        assert!(p["status"]["podIP"].as_str().is_some_and(|ip| !ip.is_empty()), "{p}");
        assert!(p["spec"]["nodeName"].as_str().is_some_and(|n| n.starts_with("testbed-node-")), "{p}");
    }

    // The claims (2 from the template, 1 standalone) are Bound to PVs of the default class.
    let mut claims = Vec::new();
    wait_until(Duration::from_secs(60), "3 Bound PersistentVolumeClaims", || {
        let list = ns.json(&["get", "pvc"]);
        claims = list["items"].as_array().cloned().unwrap_or_default();
        claims.len() == 3 && claims.iter().all(|c| c["status"]["phase"] == "Bound")
    });
    for c in &claims {
        assert_eq!(c["spec"]["storageClassName"], "standard", "{c}");
        assert!(c["spec"]["volumeName"].as_str().is_some_and(|v| !v.is_empty()), "{c}");
    }

    // Services get ClusterIPs from --service-cluster-ip-range.
    ns.kubectl(&["expose", "deployment", "web", "--port=80", "--target-port=8080"], None);
    let svc = ns.json(&["get", "service", "web"]);
    let ip = svc["spec"]["clusterIP"].as_str().unwrap_or_default();
    assert!(ip.starts_with("10.96."), "ClusterIP from the service range: {svc}");
}

/// (c) The API server rejects unknown fields (strict field validation) and invalid values.
#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn testbed_api_server_validates() {
    crate::support::testbed();
    let ns = Namespace::create("validation", &[]);
    let err = ns.kubectl_fails(&["apply", "--validate=strict", "-f", "-"], Some(UNKNOWN_FIELD));
    assert!(err.contains("unknown field") && err.contains("dataa"), "{err}");
    // The same through server-side apply, which always validates strictly on the server.
    let err = ns.kubectl_fails(
        &["apply", "--server-side", "--field-manager=testbed", "--validate=strict", "-f", "-"],
        Some(UNKNOWN_FIELD),
    );
    assert!(err.contains("dataa"), "{err}");

    let err = ns.kubectl_fails(&["apply", "-f", "-"], Some(NEGATIVE_REPLICAS));
    assert!(err.contains("Invalid value") && err.contains("spec.replicas"), "{err}");

    let bad_name = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_Valid_Name\n";
    let err = ns.kubectl_fails(&["create", "-f", "-"], Some(bad_name));
    assert!(err.contains("Invalid value"), "{err}");

    // Nothing of the rejected objects was stored.
    let left = ns.json(&["get", "configmaps,deployments"]);
    let names: Vec<&str> = left["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["metadata"]["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(!names.iter().any(|n| *n == "unknown-field" || *n == "negative"), "{names:?}");
}

/// (d) PodSecurity admission: a restricted namespace refuses a privileged pod and admits a
/// compliant one.
#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn testbed_pod_security_restricted_rejects_privileged() {
    crate::support::testbed();
    let ns = Namespace::create(
        "podsecurity",
        &[
            ("pod-security.kubernetes.io/enforce", "restricted"),
            ("pod-security.kubernetes.io/enforce-version", "latest"),
        ],
    );
    let err = ns.kubectl_fails(&["create", "-f", "-"], Some(PRIVILEGED_POD));
    assert!(err.contains("violates PodSecurity") && err.contains("restricted"), "{err}");
    assert!(err.contains("privileged"), "{err}");

    ns.kubectl(&["create", "-f", "-"], Some(RESTRICTED_POD));
    ns.kubectl(&["wait", "--for=condition=Ready", "pod/compliant", &format!("--timeout={WAIT}")], None);
}

/// (e) A Job runs to completion, and so does a Job created from a CronJob.
#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn testbed_job_completes() {
    crate::support::testbed();
    let ns = Namespace::create("job", &[]);
    ns.kubectl(&["apply", "-f", "-"], Some(JOBS));
    ns.kubectl(&["create", "job", "manual", "--from=cronjob/nightly"], None);
    let timeout = format!("--timeout={WAIT}");
    ns.kubectl(&["wait", "--for=condition=Complete", "job/once", "job/manual", &timeout], None);
    let job = ns.json(&["get", "job", "once"]);
    assert_eq!(job["status"]["succeeded"], 2, "{job}");
}
