//! Issue-9 guarantees on the test bed: every dry run changes nothing (helm's releases, revisions
//! and every object of the namespace but its status), every command's JSON validates against
//! its schema, a plain re-run repairs drift (deleted Deployment and Service, edited ConfigMap,
//! StatefulSet scaled to zero) that `status` and `diff` report first, and an unreadable helm
//! history stops `recover` before anything changes.

use crate::charts::prepare_charts;
use crate::support::{
    command, deploy, helm4, kubectl, panda_install, testbed, validate, HelmSpy, Namespace, TEST_SECRETS,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every object of the namespace (events aside) by `kind/name`, with what a client can change: the
/// object without its status, resourceVersion and managedFields. Status is left out because the
/// test bed's controllers write it on their own time (the ingress status stand-in of scripts/gitops
/// publishes an address whenever it gets to it); panda-install never writes status, and any write
/// of labels, annotations, spec or data shows here. helm's releases are their record Secrets.
fn namespace_state(ns: &str) -> BTreeMap<String, Value> {
    let kinds = kubectl(&["api-resources", "--namespaced", "--verbs=list", "-o", "name"]);
    let kinds: Vec<&str> = kinds.lines().filter(|k| !k.starts_with("events")).collect();
    let list: Value =
        serde_json::from_str(&kubectl(&["get", &kinds.join(","), "-n", ns, "-o", "json"])).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let key = format!("{}/{}", o["kind"].as_str().unwrap(), o["metadata"]["name"].as_str().unwrap());
            let mut object = o.clone();
            let map = object.as_object_mut().unwrap();
            map.remove("status");
            let meta = map["metadata"].as_object_mut().unwrap();
            meta.remove("resourceVersion");
            meta.remove("managedFields");
            (key, object)
        })
        .collect()
}

/// The objects that appeared, went or changed between two states, by name.
fn changed(before: &BTreeMap<String, Value>, after: &BTreeMap<String, Value>) -> Vec<String> {
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    names.into_iter().filter(|n| before.get(*n) != after.get(*n)).cloned().collect()
}

fn stdout_json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

fn installed(helm: &Path, ns: &str, components: &str) {
    let out = deploy(helm, ns, "dev", &["-c", components]).output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn every_dry_run_changes_nothing_and_every_document_matches_its_schema() {
    testbed();
    let helm = helm4();
    prepare_charts(&helm);
    let ns = Namespace::new("dryrun");
    installed(&helm, &ns.0, "msgsvc,panda");
    let dir = tempfile::tempdir().unwrap();
    let change = dir.path().join("change.yaml");
    std::fs::write(&change, "server:\n  podAnnotations:\n    example.org/changed: \"yes\"\n").unwrap();
    let values = format!("panda={}", change.display());
    let before = namespace_state(&ns.0);
    assert!(before.contains_key("StatefulSet/test-panda-server"), "{:?}", before.keys());

    let json = ["--output", "json"];
    let runs: Vec<(&str, Vec<&str>, &str, i32)> = vec![
        (
            "install --dry-run",
            vec![
                "--dry-run",
                "--secrets",
                TEST_SECRETS,
                "-e",
                "dev",
                "-c",
                "msgsvc,panda",
                "--values",
                &values,
            ],
            "plan.schema.json",
            0,
        ),
        ("plan", vec!["plan", "-e", "dev", "--values", &values], "plan.schema.json", 0),
        (
            "uninstall --dry-run",
            vec!["uninstall", "--dry-run", "--delete-data", "--with-secrets"],
            "plan.schema.json",
            0,
        ),
        ("recover --dry-run", vec!["recover", "--dry-run"], "plan.schema.json", 0),
        (
            "secrets deploy --dry-run",
            vec!["secrets", "deploy", "--dry-run", "-f", TEST_SECRETS],
            "plan.schema.json",
            0,
        ),
        ("diff", vec!["diff", "-e", "dev", "-c", "msgsvc,panda", "--values", &values], "diff.schema.json", 2),
        ("status", vec!["status"], "status.schema.json", 0),
    ];
    for (what, args, schema, expected) in runs {
        let out = command(&helm, &args, &ns.0, &json);
        assert_eq!(code(&out), Some(expected), "{what}: {}", String::from_utf8_lossy(&out.stderr));
        let doc = stdout_json(&out);
        validate(schema, &doc);
        let after = namespace_state(&ns.0);
        assert!(changed(&before, &after).is_empty(), "{what} changed {:?}", changed(&before, &after));
    }
    // the uninstall dry run names the claims it would delete
    let out = command(&helm, &["uninstall", "--dry-run", "--delete-data"], &ns.0, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("delete PersistentVolumeClaim(s)") && text.contains(" uninstall test-panda "),
        "{text}"
    );
    // package --dry-run builds and pushes nothing
    let dist = dir.path().join("dist");
    let out = panda_install()
        .args(["package", "--dry-run", "--push", "oci://127.0.0.1:9/nothing", "--out"])
        .arg(&dist)
        .arg("--helm")
        .arg(&helm)
        .output()
        .unwrap();
    assert!(out.status.success() && !dist.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(" push "),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // the real commands' documents: an install (nothing to do) and an uninstall
    let out = deploy(&helm, &ns.0, "dev", &["-c", "msgsvc,panda", "--output", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc = stdout_json(&out);
    validate("run.schema.json", &doc);
    let statuses: Vec<&str> =
        doc["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["unchanged", "unchanged", "unchanged"], "{doc:#}");
    let out = command(&helm, &["uninstall", "-c", "panda"], &ns.0, &json);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    validate("run.schema.json", &stdout_json(&out));
}

/// One drift case: break something by hand, see status (found without -a) and diff report it,
/// re-run the same install, see it repaired and healthy again.
fn drift_case(helm: &Path, ns: &str, what: &str, object: &str, break_it: &[&str]) {
    kubectl(break_it);
    let out = command(helm, &["status"], ns, &["--output", "json"]);
    assert_eq!(code(&out), Some(3), "status after {what}: {}", String::from_utf8_lossy(&out.stdout));
    let doc = stdout_json(&out);
    let problems: Vec<String> = doc["releases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["problems"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()))
        .collect();
    assert!(
        problems.iter().any(|p| p.starts_with(object)),
        "{what}: status does not name {object}: {problems:?}"
    );

    let out = command(helm, &["diff", "-e", "dev", "-c", "msgsvc,panda"], ns, &["--output", "json"]);
    assert_eq!(code(&out), Some(2), "diff after {what}: {}", String::from_utf8_lossy(&out.stdout));
    let drift = stdout_json(&out).to_string();
    assert!(drift.contains(object), "{what}: diff does not show {object}: {drift}");

    let out = deploy(helm, ns, "dev", &["-c", "msgsvc,panda"]).output().unwrap();
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "re-run after {what}: {summary}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        summary.lines().any(|l| l.contains("repaired") && l.contains(object)),
        "{what}: not repaired:\n{summary}"
    );
    let out = command(helm, &["status"], ns, &[]);
    assert_eq!(
        code(&out),
        Some(0),
        "status after repairing {what}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn a_plain_rerun_repairs_drift_that_status_and_diff_report() {
    testbed();
    let helm = helm4();
    prepare_charts(&helm);
    let ns = Namespace::new("drift");
    installed(&helm, &ns.0, "msgsvc,panda");
    let n = ns.0.as_str();
    drift_case(
        &helm,
        n,
        "a deleted Deployment",
        "Deployment/test-msgsvc-activemq",
        &["delete", "deployment", "test-msgsvc-activemq", "-n", n],
    );
    drift_case(
        &helm,
        n,
        "a deleted Service",
        "Service/test-panda-server",
        &["delete", "service", "test-panda-server", "-n", n],
    );
    let configmap =
        kubectl(&["get", "configmap", "-n", n, "-l", "app.kubernetes.io/instance=test-panda", "-o", "name"]);
    let configmap = configmap
        .lines()
        .next()
        .expect("panda renders a ConfigMap")
        .trim_start_matches("configmap/")
        .to_string();
    let object = format!("ConfigMap/{configmap}");
    // a value the chart sets, edited by hand (a key someone adds is theirs: server-side apply keeps it)
    let data: Value =
        serde_json::from_str(&kubectl(&["get", "configmap", &configmap, "-n", n, "-o", "jsonpath={.data}"]))
            .unwrap();
    let key = data.as_object().unwrap().keys().next().expect("the ConfigMap has data").clone();
    let patch = serde_json::json!({"data": {key: "edited by hand"}}).to_string();
    drift_case(
        &helm,
        n,
        "an edited ConfigMap",
        &object,
        &["patch", "configmap", &configmap, "-n", n, "--type", "merge", "-p", &patch],
    );
    drift_case(
        &helm,
        n,
        "a StatefulSet scaled to zero",
        "StatefulSet/test-panda-server",
        &["scale", "statefulset", "test-panda-server", "-n", n, "--replicas=0"],
    );
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn an_unreadable_history_stops_recover_before_any_change() {
    testbed();
    let helm = helm4();
    prepare_charts(&helm);
    let ns = Namespace::new("badrecord");
    installed(&helm, &ns.0, "msgsvc");
    let record = "sh.helm.release.v1.test-msgsvc.v1";
    // "bm90IGd6aXAK" is base64 of "not gzip": helm's payload is base64 of gzip of JSON
    kubectl(&[
        "patch",
        "secret",
        record,
        "-n",
        &ns.0,
        "--type",
        "merge",
        "-p",
        r#"{"data":{"release":"bm90IGd6aXAK"}}"#,
    ]);
    let spy = HelmSpy::wrapping(Some(&helm));
    for args in [&["recover"][..], &["status"], &["uninstall"]] {
        let out = command(&spy.program, args, &ns.0, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code(&out), Some(75), "{args:?}: {stderr}");
        assert!(stderr.contains(record), "{args:?} does not name the record: {stderr}");
    }
    let out = deploy(&spy.program, &ns.0, "dev", &["-c", "msgsvc"]).output().unwrap();
    assert_eq!(code(&out), Some(75), "{}", String::from_utf8_lossy(&out.stderr));
    let changes: Vec<String> = spy
        .calls()
        .into_iter()
        .filter(|c| ["upgrade", "rollback", "uninstall", "install"].iter().any(|v| c.starts_with(v)))
        .collect();
    assert!(changes.is_empty(), "helm changed something: {changes:?}");
}
