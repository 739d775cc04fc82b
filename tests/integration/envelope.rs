//! The operating envelope on the test bed: destructive steps guarded (adoption over a selector it
//! cannot represent, recovery of a release another helm run is still upgrading).

use crate::charts::prepare_charts;
use crate::lifecycle::wait_for_status;
use crate::support::{deploy, helm4, helm_releases, json, kubectl_apply, root, testbed, Namespace};
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PREFLIGHT: i32 = 75;

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `name=uid` of the namespace's pods and ReplicaSets.
fn uids(ns: &str, kind: &str) -> BTreeSet<String> {
    let list = json(&["get", kind, "-n", ns, "-o", "json"]);
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            format!("{}={}", o["metadata"]["name"].as_str().unwrap(), o["metadata"]["uid"].as_str().unwrap())
        })
        .collect()
}

fn deployment(ns: &str, name: &str, labels: &str, selector: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  replicas: 2
  selector: {selector}
  template:
    metadata: {{labels: {labels}}}
    spec:
      securityContext: {{runAsNonRoot: true, runAsUser: 1000, seccompProfile: {{type: RuntimeDefault}}}}
      containers:
      - name: c
        image: registry.k8s.io/pause:3.10
        securityContext: {{allowPrivilegeEscalation: false, capabilities: {{drop: [ALL]}}}}
"#
    )
}

fn wait(limit: Duration, what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A Deployment with a planned name (`test-msgsvc-activemq`) that selects with a negated
/// matchExpression, beside an unrelated Deployment: `--adopt` is refused with a report, and no
/// pod or ReplicaSet of either is touched (adoption once deleted every non-panda pod here).
#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn adoption_refuses_a_selector_it_cannot_represent_and_touches_no_unrelated_pod() {
    testbed();
    let helm = helm4();
    prepare_charts(&helm);
    let ns = Namespace::new("adopt-sel");
    kubectl_apply(&deployment(
        &ns.0,
        "test-msgsvc-activemq",
        "{app: broker}",
        "{matchExpressions: [{key: app, operator: NotIn, values: [web]}]}",
    ));
    kubectl_apply(&deployment(&ns.0, "unrelated", "{app: other}", "{matchLabels: {app: other}}"));
    wait(Duration::from_secs(60), "4 pods", || uids(&ns.0, "pods").len() == 4);
    let (pods, sets) = (uids(&ns.0, "pods"), uids(&ns.0, "replicasets"));

    let out = deploy(&helm, &ns.0, "dev", &["-c", "msgsvc", "--adopt", "--timeout", "30s"]).output().unwrap();
    let report = text(&out);
    assert_eq!(uids(&ns.0, "pods"), pods, "pods were deleted:\n{report}");
    assert_eq!(uids(&ns.0, "replicasets"), sets, "ReplicaSets were deleted:\n{report}");
    assert_eq!(out.status.code(), Some(PREFLIGHT), "{report}");
    assert!(report.contains("refused even with --adopt"), "{report}");
    assert!(
        report
            .contains("Deployment/test-msgsvc-activemq: its selector (app notin (web)) only excludes labels"),
        "{report}"
    );
    assert!(
        !helm_releases(&helm, &ns.0).iter().any(|(n, _)| n == "test-msgsvc"),
        "msgsvc was installed after a refusal"
    );
}

/// A release a concurrent `helm upgrade --wait` made pending seconds ago: `recover` refuses
/// naming it, and `--force` recovers it.
#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn recover_leaves_a_release_another_helm_is_upgrading_unless_forced() {
    testbed();
    let helm = helm4();
    prepare_charts(&helm);
    let ns = Namespace::new("young-pending");
    let out = deploy(&helm, &ns.0, "dev", &["-c", "msgsvc"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let dir = tempfile::tempdir().unwrap();
    let stuck = crate::lifecycle::delay_values(dir.path(), "msgsvc", "1h");
    let mut upgrade = Command::new(&helm)
        .args(["upgrade", "test-msgsvc"])
        .arg(root().join("helm/msgsvc"))
        .args(["-n", &ns.0, "--reuse-values", "-f"])
        .arg(&stuck)
        .args(["--wait", "--timeout", "10m"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_status(&helm, &ns.0, "test-msgsvc", "pending-upgrade", Duration::from_secs(60));
    let recover = |extra: &[&str]| {
        crate::support::panda_install()
            .args(["recover", "-a", "test-", "-c", "msgsvc", "-n", &ns.0, "--helm"])
            .arg(&helm)
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = recover(&[]);
    assert_eq!(refused.status.code(), Some(PREFLIGHT), "{}", text(&refused));
    assert!(
        text(&refused).contains("test-msgsvc (pending-upgrade") && text(&refused).contains("--force"),
        "{}",
        text(&refused)
    );
    assert!(helm_releases(&helm, &ns.0).contains(&("test-msgsvc".into(), "pending-upgrade".into())));
    upgrade.kill().unwrap();
    upgrade.wait().unwrap();
    let forced = recover(&["--force"]);
    assert!(forced.status.success(), "{}", text(&forced));
    assert!(
        helm_releases(&helm, &ns.0).iter().all(|(_, s)| s == "deployed"),
        "{:?}",
        helm_releases(&helm, &ns.0)
    );
}
