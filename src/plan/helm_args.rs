//! A plan step as helm's argument vector: the one place that knows helm's flags for each action,
//! for helm 4 and helm 3.

use super::{Action, Release, Step};
use crate::settings::helm_version::HelmVersion;
use crate::settings::target::ClusterTarget;
use crate::settings::wait::Wait;
use std::path::Path;

/// The arguments after the program name for one step.
pub(crate) fn step(step: &Step, target: &ClusterTarget, helm: HelmVersion) -> Vec<String> {
    let r = &step.release;
    match &step.action {
        Action::Template => {
            // template renders for a namespace but never contacts the cluster: no kube flags
            let mut args = vec!["template".to_string(), r.name.clone(), path(&r.chart)];
            args.extend(["--namespace".into(), target.namespace.clone()]);
            args.extend(values(r));
            args
        }
        Action::Upgrade(u) => {
            let mut args = vec!["upgrade".into(), "--install".into(), r.name.clone(), path(&r.chart)];
            args.extend(["--namespace".into(), target.namespace.clone()]);
            if u.create_namespace {
                args.push("--create-namespace".into());
            }
            args.extend(kube_flags(target));
            args.extend(values(r));
            if u.wait.enabled || u.rollback_on_failure {
                args.extend(helm.wait_flags());
            }
            args.extend(["--timeout".into(), u.wait.timeout.clone()]);
            if u.rollback_on_failure {
                args.push(helm.rollback_on_failure_flag().into());
            }
            if u.take_ownership {
                args.push("--take-ownership".into());
            }
            if u.force_conflicts && helm.major >= 4 {
                // repairing: helm 4's server-side apply must take back fields kubectl changed
                args.extend(["--server-side=true".into(), "--force-conflicts".into()]);
            }
            args
        }
        Action::Uninstall(wait) => {
            let mut args = vec!["uninstall".into(), r.name.clone()];
            args.extend(cluster(target));
            args.extend(waiting(wait, helm));
            args
        }
        Action::Rollback { revision, wait } => {
            let mut args = vec!["rollback".into(), r.name.clone(), revision.to_string()];
            args.extend(cluster(target));
            args.extend(waiting(wait, helm));
            args
        }
    }
}

/// `helm dependency build CHART`: packs the library chart into a component chart.
pub(crate) fn dependency_build(chart: &Path) -> Vec<String> {
    vec!["dependency".into(), "build".into(), path(chart)]
}

fn values(r: &Release) -> Vec<String> {
    let mut args = Vec::new();
    for v in &r.values {
        // an encrypted file reaches helm decrypted, on its standard input: never as a path
        args.extend(["-f".into(), if v.stdin { "-".into() } else { path(&v.path) }]);
    }
    for f in &r.files {
        args.extend(["--set-file".into(), format!("{}={}", f.key, path(&f.path))]);
    }
    for s in &r.sets {
        let flag = if s.string { "--set-string" } else { "--set" };
        args.extend([flag.into(), format!("{}={}", s.key, s.value)]);
    }
    args
}

/// `--namespace` plus the kube flags.
fn cluster(target: &ClusterTarget) -> Vec<String> {
    let mut args = vec!["--namespace".to_string(), target.namespace.clone()];
    args.extend(kube_flags(target));
    args
}

fn kube_flags(target: &ClusterTarget) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(ctx) = &target.context {
        args.extend(["--kube-context".into(), ctx.clone()]);
    }
    if let Some(cfg) = &target.kubeconfig {
        args.extend(["--kubeconfig".into(), path(cfg)]);
    }
    args
}

fn waiting(wait: &Wait, helm: HelmVersion) -> Vec<String> {
    let mut args = Vec::new();
    if wait.enabled {
        args.extend(helm.wait_flags());
    }
    args.extend(["--timeout".into(), wait.timeout.clone()]);
    args
}

/// Paths are checked to be UTF-8 when settings are resolved; this never loses anything.
fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
