//! Cluster-wide checks: the Kubernetes version, Pod Security admission of every pod template,
//! nodes for every nodeSelector, and the secrets release.

use super::reads::Reads;
use super::{one_release, Check, CheckId};
use crate::kube::prerequisites::{Admission, NodeInfo, ServerVersion};
use crate::kube::Cluster;
use crate::plan::requirements::{Requirements, RouteKind};
use crate::settings::instance::Instance;
use futures::stream::{self, StreamExt};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The oldest Kubernetes the charts support (their Chart.yaml `kubeVersion: ">=1.27.0-0"`).
pub(super) const MIN_KUBERNETES: (u32, u32) = (1, 27);
/// The oldest that validates TLSRoute v1 (its CRD's CEL rules need 1.31).
pub(super) const MIN_KUBERNETES_TLSROUTE: (u32, u32) = (1, 31);
/// The pinned versions of the test bed: the newest Kubernetes minor tested is its
/// `KUBERNETES_VERSION`.
const TESTBED_VERSIONS: &str = include_str!("../../../testbed/versions.env");

/// How many pod templates are dry-run at once.
const DRY_RUNS_AT_ONCE: usize = 8;

fn max_tested() -> Option<(u32, u32)> {
    let v = TESTBED_VERSIONS.lines().find_map(|l| l.strip_prefix("KUBERNETES_VERSION="))?;
    let mut parts = v.trim().trim_start_matches('v').split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

fn dotted((a, b): (u32, u32)) -> String {
    format!("{a}.{b}")
}

pub(super) fn version(v: &ServerVersion, needs: &Requirements) -> Check {
    let id = CheckId::KubernetesVersion;
    let tls = needs.routes.iter().any(|r| r.kind == RouteKind::Tls);
    let (min, why) = if tls {
        (MIN_KUBERNETES_TLSROUTE, "TLSRoute v1 (its CRD's validation rules)")
    } else {
        (MIN_KUBERNETES, "the charts' kubeVersion")
    };
    let max = max_tested();
    let expected = json!({"min": dotted(min), "maxTested": max.map(dotted)});
    let observed = json!({"version": v.git_version});
    let check = match v.minor {
        None => Check::warn(
            id,
            format!("cannot tell the Kubernetes version from {:?}", v.git_version),
            format!("make sure the cluster runs Kubernetes {} or newer", dotted(min)),
        ),
        Some(have) if have < min => Check::fail(
            id,
            format!("Kubernetes {} is older than {} ({why})", v.git_version, dotted(min)),
            format!("upgrade the cluster to Kubernetes {} or newer", dotted(min)),
        ),
        Some(have) if max.is_some_and(|m| have > m) => Check::warn(
            id,
            format!(
                "Kubernetes {} is newer than the newest version tested ({})",
                v.git_version,
                max.map(dotted).unwrap_or_default()
            ),
            "probably fine; report anything that breaks",
        ),
        Some(_) => {
            Check::pass(id, format!("Kubernetes {} (supported: {} and newer)", v.git_version, dotted(min)))
        }
    };
    check.observed(observed).expected(expected)
}

/// Every pod template of the releases, created as a Pod in dry-run mode in the namespace: the
/// API server's own Pod Security admission decides.
pub(super) async fn pod_security(reads: &Reads<'_>) -> Vec<Check> {
    let id = CheckId::NamespacePodSecurity;
    let needs = reads.needs;
    if needs.pods.is_empty() {
        return vec![Check::skip(id, "no pod templates are rendered")];
    }
    let subject = format!("Namespace {}", needs.namespace);
    let labels = match reads.namespace().await {
        Err(e) => return vec![Check::unreadable(id, e).on(None, subject)],
        Ok(None) => {
            return vec![Check::skip(
                id,
                "the namespace does not exist yet: it will be created without Pod Security labels, so the \
                 cluster's default level applies (run again once it exists)",
            )
            .on(None, subject)]
        }
        Ok(Some(labels)) => labels,
    };
    let label = |k: &str| labels.get(&format!("pod-security.kubernetes.io/{k}")).cloned();
    let (enforce, enforce_version) = (label("enforce"), label("enforce-version"));
    let judged: Vec<(String, crate::error::Result<Admission>)> = stream::iter(needs.pods.iter())
        .map(|p| async move { (p.workload.clone(), reads.cluster.dry_run_pod(&p.metadata, &p.spec).await) })
        .buffered(DRY_RUNS_AT_ONCE)
        .collect()
        .await;
    let mut violations = Vec::new();
    let mut other = Vec::new();
    for (workload, result) in judged {
        match result {
            Ok(Admission::Admitted) => {}
            Ok(Admission::Refused(m)) if m.contains("violates PodSecurity") => {
                violations.push(json!({"workload": workload, "message": m}))
            }
            Ok(Admission::Refused(m)) => other.push(format!("{workload}: {m}")),
            Err(e) => other.push(format!("{workload}: {e}")),
        }
    }
    let observed = json!({"enforce": enforce, "enforceVersion": enforce_version, "violations": violations});
    let level = enforce.clone().unwrap_or_else(|| "the cluster default".into());
    let check = if !violations.is_empty() {
        let names: Vec<&str> = violations.iter().filter_map(|v| v["workload"].as_str()).collect();
        Check::fail(
            id,
            format!(
                "Pod Security ({level}) refuses {} of {} pod templates: {}",
                names.len(),
                needs.pods.len(),
                names.join(", ")
            ),
            "label the namespace pod-security.kubernetes.io/enforce=baseline (the charts' pods meet baseline and, \
             by default, restricted) or fix the component's securityContext in its values",
        )
    } else if !other.is_empty() {
        Check::fail(
            id,
            format!(
                "cannot judge every pod template: the dry run was refused for another reason: {}",
                other.join("; ")
            ),
            "fix what the API server names (a ResourceQuota, LimitRange or admission webhook) and run again",
        )
    } else {
        Check::pass(id, format!("all {} pod templates are admitted (enforce: {level})", needs.pods.len()))
    };
    vec![check.on(None, subject).observed(observed)]
}

/// The distinct nodeSelectors: a schedulable node must carry every label of each.
pub(super) async fn node_selectors(reads: &Reads<'_>) -> Vec<Check> {
    let id = CheckId::NodesSelectors;
    let selectors = reads.needs.node_selectors();
    if selectors.is_empty() {
        return vec![Check::skip(id, "no pod template has a nodeSelector")];
    }
    let nodes = reads.cluster.nodes().await.map_err(|e| e.to_string());
    selectors
        .iter()
        .map(|(selector, workloads)| {
            let release = one_release(
                reads.needs.pods.iter().filter(|p| &p.node_selector == selector).map(|p| p.release.as_str()),
            );
            let subject = format!("nodeSelector {}", show(selector));
            let check = match &nodes {
                Err(e) => Check::unreadable(id, e),
                Ok(nodes) => judge_selector(selector, workloads, nodes),
            };
            check.on(release, subject)
        })
        .collect()
}

pub(super) fn judge_selector(
    selector: &BTreeMap<String, String>,
    workloads: &[String],
    nodes: &[NodeInfo],
) -> Check {
    let id = CheckId::NodesSelectors;
    let matching: Vec<&NodeInfo> =
        nodes.iter().filter(|n| selector.iter().all(|(k, v)| n.labels.get(k) == Some(v))).collect();
    let schedulable: Vec<&str> =
        matching.iter().filter(|n| !n.unschedulable).map(|n| n.name.as_str()).collect();
    let observed =
        json!({"selector": selector, "matching": matching.iter().map(|n| &n.name).collect::<Vec<_>>()});
    let used_by = workloads.join(", ");
    let label_hint = format!(
        "label a node: kubectl label node NODE {}",
        selector.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
    );
    let check = if !schedulable.is_empty() {
        Check::pass(
            id,
            format!("{} node(s) match ({}), used by {used_by}", schedulable.len(), schedulable.join(", ")),
        )
    } else if !matching.is_empty() {
        Check::warn(
            id,
            format!("only cordoned nodes match ({}), used by {used_by}", matching.len()),
            format!("uncordon one (kubectl uncordon NODE) or {label_hint}"),
        )
    } else {
        Check::fail(
            id,
            format!("no node has these labels; the pods of {used_by} would stay Pending"),
            format!("{label_hint} (or change nodeSelector in the values)"),
        )
    };
    check.observed(observed)
}

fn show(selector: &BTreeMap<String, String>) -> String {
    selector.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// What the secrets release must be for this run.
#[derive(Debug, Clone)]
pub(crate) enum SecretsNeed {
    /// This run deploys it (`--secrets FILE`): the file must be complete.
    ThisRun { release: String, file: PathBuf, fixme: Option<String> },
    /// It must be deployed already, complete and made for the instance's affix.
    Deployed { instance: Instance },
}

impl SecretsNeed {
    pub(crate) fn release(&self) -> String {
        match self {
            SecretsNeed::ThisRun { release, .. } => release.clone(),
            SecretsNeed::Deployed { instance } => instance.secrets_release(),
        }
    }

    pub(super) async fn check(&self, cluster: &Cluster) -> Check {
        let id = CheckId::SecretsRelease;
        let subject = format!("release {}", self.release());
        let check = match self {
            SecretsNeed::ThisRun { file, fixme: Some(why), .. } => Check::fail(
                id,
                why.clone(),
                format!(
                    "fill in every FIXME of {} (panda-install secrets init writes a complete file)",
                    file.display()
                ),
            ),
            SecretsNeed::ThisRun { file, fixme: None, .. } => {
                Check::pass(id, format!("deployed by this run from {} (no FIXME left)", file.display()))
            }
            SecretsNeed::Deployed { instance } => match cluster.releases().await {
                Err(e) => Check::unreadable(id, &e.to_string()),
                Ok(releases) => {
                    match crate::run::preflight::secrets_release(&releases, instance, &cluster.namespace) {
                        Ok(()) => Check::pass(
                            id,
                            format!("deployed, no FIXME left, affix {:?}", instance.affix.as_str()),
                        ),
                        Err(e) => Check::fail(
                            id,
                            e.to_string(),
                            "deploy it with `panda-install secrets deploy -f FILE` (or pass --secrets FILE)",
                        ),
                    }
                }
            },
        };
        check.on(None, subject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::requirements::GatewayRoute;

    fn v(s: &str, minor: Option<(u32, u32)>) -> ServerVersion {
        ServerVersion { git_version: s.into(), minor }
    }

    #[test]
    fn version_range_depends_on_tlsroutes() {
        let plain = Requirements::default();
        assert_eq!(version(&v("v1.29.1", Some((1, 29))), &plain).status, super::super::Status::Pass);
        assert_eq!(version(&v("v1.26.9", Some((1, 26))), &plain).status, super::super::Status::Fail);
        let mut tls = Requirements::default();
        tls.routes.push(GatewayRoute {
            release: "r".into(),
            kind: RouteKind::Tls,
            name: "x".into(),
            namespace: "n".into(),
            hostnames: vec![],
            parents: vec![],
        });
        let c = version(&v("v1.30.2", Some((1, 30))), &tls);
        assert_eq!(c.status, super::super::Status::Fail);
        assert!(c.message.contains("TLSRoute"), "{}", c.message);
        assert_eq!(version(&v("v1.99.0", Some((1, 99))), &plain).status, super::super::Status::Warn);
        assert_eq!(version(&v("weird", None), &plain).status, super::super::Status::Warn);
        assert!(max_tested().is_some(), "testbed/versions.env has KUBERNETES_VERSION");
    }

    #[test]
    fn the_minimum_matches_the_charts() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("helm");
        for entry in std::fs::read_dir(root).unwrap() {
            let chart = std::fs::read_to_string(entry.unwrap().path().join("Chart.yaml")).unwrap_or_default();
            if let Some(line) = chart.lines().find(|l| l.starts_with("kubeVersion:")) {
                assert!(line.contains(&format!(">={}.0-0", dotted(MIN_KUBERNETES))), "{line}");
            }
        }
    }

    #[test]
    fn selectors_need_a_schedulable_node() {
        let node = |name: &str, gpu: bool, cordoned: bool| NodeInfo {
            name: name.into(),
            labels: if gpu { BTreeMap::from([("gpu".into(), "yes".into())]) } else { BTreeMap::new() },
            unschedulable: cordoned,
        };
        let sel = BTreeMap::from([("gpu".to_string(), "yes".to_string())]);
        let w = vec!["Deployment/x".to_string()];
        use super::super::Status::*;
        assert_eq!(judge_selector(&sel, &w, &[node("a", true, false), node("b", false, false)]).status, Pass);
        assert_eq!(judge_selector(&sel, &w, &[node("a", true, true)]).status, Warn);
        let none = judge_selector(&sel, &w, &[node("b", false, false)]);
        assert_eq!(none.status, Fail);
        assert!(none.hint.unwrap().contains("kubectl label node NODE gpu=yes"));
    }
}
