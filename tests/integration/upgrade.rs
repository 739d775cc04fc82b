//! Upgrades of a running instance across the compatibility table (issue 20, docs/moving-in.md
//! "Upgrades") on the test bed: a combination the table calls broken is refused with nothing
//! changed, `upgrade-plan` shows the steps, and the install runs the backup and schema-patch Jobs
//! (kwok completes their pods; the scripts themselves are proved on real PostgreSQL by
//! scripts/apptest, testbed/apptest/t_upgrade.py) before the workloads change; a re-run runs none.

use crate::support::*;
use serde_json::Value;

fn tags(dir: &std::path::Path, name: &str, server: &str, database: &str) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "server:\n  image:\n    tag: \"{server}\"\njedi:\n  image:\n    tag: \"{server}\"\npostgres:\n  image:\n    tag: \"{database}\"\n"
        ),
    )
    .unwrap();
    format!("panda={}", path.display())
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn image(ns: &str, workload: &str) -> String {
    let s = json(&["get", "statefulset", workload, "-n", ns, "-o", "json"]);
    s["spec"]["template"]["spec"]["containers"][0]["image"].as_str().unwrap().to_string()
}

/// The newest ControllerRevision of a StatefulSet: when its current pod template was created.
fn newest_revision_time(ns: &str, workload: &str) -> String {
    let list = json(&["get", "controllerrevisions", "-n", ns, "-o", "json"]);
    let mut times: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|o| o.iter().any(|o| o["name"] == workload))
        })
        .map(|r| r["metadata"]["creationTimestamp"].as_str().unwrap().to_string())
        .collect();
    times.sort();
    times.pop().expect("a revision")
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn an_upgrade_across_the_schema_line_backs_up_and_patches_before_the_workloads() {
    let ns = Namespace::new("upgrade");
    let helm = helm4();
    let dir = tempfile::tempdir().unwrap();
    let old = tags(dir.path(), "old.yaml", "1.0.2", "0.1.5-2");
    let out = deploy(&helm, &ns.0, "dev", &["-c", "panda", "--values", &old]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("panda-schema"), "a first install runs no schema Job: {}", text(&out));

    // panda-server 1.0.4 on schema 0.1.5: refused before anything changes
    let broken = tags(dir.path(), "broken.yaml", "1.0.4", "0.1.5-2");
    let out = deploy(&helm, &ns.0, "dev", &["-c", "panda", "--values", &broken]).output().unwrap();
    assert_eq!(out.status.code(), Some(75), "{}", text(&out));
    assert!(text(&out).contains("needs panda-database schema 0.1.6"), "{}", text(&out));
    assert!(image(&ns.0, "test-panda-server").ends_with(":1.0.2"), "the refused run changed the server");

    // the plan: versions side by side, backup, patch, workloads
    let out = panda_install()
        .args([
            "upgrade-plan",
            "--secrets",
            TEST_SECRETS,
            "-a",
            "test-",
            "-e",
            "dev",
            "-c",
            "panda",
            "-n",
            &ns.0,
        ])
        .arg("--helm")
        .arg(&helm)
        .output()
        .unwrap();
    let plan = text(&out);
    assert!(out.status.success(), "{plan}");
    assert!(plan.contains("1. back up PanDA's database") && plan.contains("0.1.6.patch.sql"), "{plan}");
    assert!(plan.contains("3. upgrade the releases"), "{plan}");

    // the upgrade to the charts' pins: backup, patch, then the workloads
    let out = deploy(&helm, &ns.0, "dev", &["-c", "panda"]).output().unwrap();
    let run = text(&out);
    assert!(out.status.success(), "{run}");
    let (backup, patch) = (
        run.find("Job test-panda-schema-backup").expect(&run),
        run.find("Job test-panda-schema-patch").expect(&run),
    );
    assert!(backup < patch, "{run}");
    let claim = json(&["get", "pvc", "test-panda-schema-backup", "-n", &ns.0, "-o", "json"]);
    assert_eq!(claim["metadata"]["annotations"]["helm.sh/resource-policy"], "keep");
    let job: Value = json(&["get", "job", "test-panda-schema-patch", "-n", &ns.0, "-o", "json"]);
    // the schema-upgrade workload of the release: PanDA's database NetworkPolicy admits it
    let labels = &job["spec"]["template"]["metadata"]["labels"];
    assert_eq!(
        (labels["app.kubernetes.io/instance"].as_str(), labels["app.kubernetes.io/component"].as_str()),
        (Some("test-panda"), Some("schema-upgrade"))
    );
    let c = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "ghcr.io/pandawms/panda-database:0.1.6", "the planned image's own patches");
    let patches =
        c["env"].as_array().unwrap().iter().find(|e| e["name"] == "PATCHES").unwrap()["value"].clone();
    assert_eq!(patches, "0.1.6");
    let done = job["status"]["completionTime"].as_str().expect("the patch Job completed").to_string();
    for workload in ["test-panda-server", "test-panda-jedi", "test-panda-postgres"] {
        assert!(
            image(&ns.0, workload).ends_with(":1.0.4") || image(&ns.0, workload).ends_with(":0.1.6"),
            "{workload}"
        );
        let changed = newest_revision_time(&ns.0, workload);
        assert!(changed >= done, "{workload} changed at {changed}, before the patch Job completed at {done}");
    }

    // converged: nothing crosses a line any more, no schema Job runs
    let out = deploy(&helm, &ns.0, "dev", &["-c", "panda"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("panda-schema"), "{}", text(&out));
}
