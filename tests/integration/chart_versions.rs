//! scripts/check-chart-versions: a chart whose content changed under an unchanged version fails
//! the check, by name; `--update` will not record it under the same version.

use crate::support::root;
use std::path::Path;
use std::process::{Command, Output};

/// A copy of what the script reads: Cargo.toml, the charts and the recorded digests.
fn repo_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for part in ["Cargo.toml", "helm", "secrets", "scripts", "testbed/chart-digests.tsv"] {
        let to = dir.path().join(part);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        let status = Command::new("cp").arg("-R").arg(root().join(part)).arg(&to).status().unwrap();
        assert!(status.success());
    }
    dir
}

fn check(repo: &Path, args: &[&str]) -> Output {
    Command::new(repo.join("scripts/check-chart-versions")).args(args).output().unwrap()
}

#[test]
fn a_chart_changed_without_a_version_bump_is_named() {
    let repo = repo_copy();
    let out = check(repo.path(), &[]);
    assert!(out.status.success(), "the shipped charts pass: {}", String::from_utf8_lossy(&out.stderr));

    let templates = repo.path().join("helm/msgsvc/templates");
    let file = std::fs::read_dir(&templates).unwrap().flatten().find(|e| e.path().is_file()).unwrap().path();
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("\n{{- /* changed */}}\n");
    std::fs::write(&file, text).unwrap();

    let out = check(repo.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        stderr.contains(&format!("helm/msgsvc: its content changed but its version ({version}) did not")),
        "{stderr}"
    );
    assert_eq!(stderr.matches("content changed").count(), 1, "only msgsvc: {stderr}");

    let out = check(repo.path(), &["--update"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("new content under the recorded version {version}: helm/msgsvc")),
        "{stderr}"
    );
    let out = check(repo.path(), &["--update", "--unreleased"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(check(repo.path(), &[]).status.success(), "recorded");
}

#[test]
fn a_chart_version_other_than_the_tools_is_named() {
    let repo = repo_copy();
    let chart = repo.path().join("helm/ui/charts/frontend/Chart.yaml");
    let text = std::fs::read_to_string(&chart).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    std::fs::write(&chart, text.replace(&format!("version: {version}"), "version: 9.9.9")).unwrap();
    let out = check(repo.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "helm/ui/charts/frontend/Chart.yaml:5: version 9.9.9, but Cargo.toml says {version}"
        )),
        "{stderr}"
    );
}
