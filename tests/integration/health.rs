//! Harvester's health monitor against the real API server of the test bed: the chart's
//! ServiceAccount, Role and RoleBinding (as doma renders them) let the rendered script, holding a
//! token of that account, create its Warning Events on the pod, which the API server accepts as
//! written; without the RoleBinding the same run is refused (403) and says so in its log line.

use crate::charts::prepare_charts;
use crate::support::{
    bed_api_server, helm4, json, kubectl, kubectl_apply, root, testbed, yaml_documents, Namespace,
};
use std::path::Path;
use std::process::Command;

const ACCOUNT: &str = "test-harvester-harvester";
const POD: &str = "test-harvester-0";

/// Runs the script once with the settings pointed at the bed; returns its log lines.
fn run_once(dir: &Path, ns: &str) -> String {
    let out = Command::new("python3")
        .arg(dir.join("health-monitor.py"))
        .arg(dir.join("settings.json"))
        .arg("--once")
        .env("POD_NAME", POD)
        .env("POD_NAMESPACE", ns)
        .env("POD_UID", "6f1c0c8e-0000-4000-8000-000000000001")
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn warnings(ns: &str) -> Vec<serde_json::Value> {
    let list = json(&["get", "events", "-n", ns, "-o", "json"]);
    list["items"].as_array().unwrap().iter().filter(|e| e["type"] == "Warning").cloned().collect()
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn the_health_monitor_creates_its_events_with_the_charts_role_only() {
    testbed();
    let helm = helm4();
    prepare_charts(&helm);
    let ns = Namespace::new("health");
    let out = Command::new(&helm)
        .args(["template", "test-harvester"])
        .arg(root().join("helm/harvester"))
        .args([
            "-n",
            &ns.0,
            "--set-string",
            "global.affix=test-",
            "-s",
            "charts/harvester/templates/health-monitor.yaml",
        ])
        .args(["-f", "values/doma/experiment.yaml", "-f", "values/doma/harvester.yaml"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut docs = yaml_documents(&String::from_utf8_lossy(&out.stdout));
    for doc in &mut docs {
        doc["metadata"]["namespace"] = ns.0.clone().into();
    }
    kubectl_apply(&serde_json::json!({"apiVersion": "v1", "kind": "List", "items": docs}).to_string());
    let data = &docs.iter().find(|d| d["kind"] == "ConfigMap").expect("doma renders the monitor's ConfigMap")
        ["data"];

    // The pod's view: the token and CA where the kubelet mounts them, the script and its settings.
    let dir = tempfile::tempdir().unwrap();
    let sa = dir.path().join("sa");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&sa).unwrap();
    std::fs::create_dir_all(&state).unwrap();
    let (server, ca) = bed_api_server();
    std::fs::write(sa.join("ca.crt"), ca).unwrap();
    std::fs::write(
        sa.join("token"),
        kubectl(&["create", "token", ACCOUNT, "-n", &ns.0, "--duration", "10m"]),
    )
    .unwrap();
    std::fs::write(dir.path().join("health-monitor.py"), data["health-monitor.py"].as_str().unwrap())
        .unwrap();
    let mut settings: serde_json::Value =
        serde_json::from_str(data["settings.json"].as_str().unwrap()).unwrap();
    // no condor_schedd here, condor_q not on PATH, any filesystem is above 1%
    settings["scheddProcess"] = "no-such-schedd".into();
    settings["sharedLogsPath"] = dir.path().to_str().unwrap().into();
    settings["stateDir"] = state.to_str().unwrap().into();
    settings["serviceAccountDir"] = sa.to_str().unwrap().into();
    settings["apiServer"] = server.into();
    settings["diskUsagePercent"] = 1.into();
    std::fs::write(dir.path().join("settings.json"), settings.to_string()).unwrap();

    let log = run_once(dir.path(), &ns.0);
    let events = warnings(&ns.0);
    let mut reasons: Vec<&str> = events.iter().map(|e| e["reason"].as_str().unwrap()).collect();
    reasons.sort_unstable();
    assert_eq!(reasons, ["CondorQUnresponsive", "CondorScheddMissing", "SharedLogsFull"], "{log}");
    for e in &events {
        assert_eq!(e["involvedObject"]["kind"], "Pod");
        assert_eq!(e["involvedObject"]["name"], POD);
        assert_eq!(e["reportingComponent"], "harvester-health-monitor");
    }

    // The same episode again, without the RoleBinding: the markers stop a second report at all; with
    // the markers gone, the API server refuses and the log line says why.
    assert!(!run_once(dir.path(), &ns.0).contains("Event"));
    kubectl(&["delete", "rolebinding", "test-harvester-harvester-health-monitor", "-n", &ns.0]);
    for entry in std::fs::read_dir(&state).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let log = run_once(dir.path(), &ns.0);
    assert!(log.contains("could not create the Event: HTTP 403"), "{log}");
    assert_eq!(warnings(&ns.0).len(), 3, "{log}");
}
