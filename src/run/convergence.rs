//! Does each planned release already match the cluster? A release is left alone (`unchanged`)
//! only when helm deployed it, its rendered manifests equal the deployed ones, and every object
//! of them is live, matches what the chart sets and (for workloads) is ready. A release whose
//! objects drifted is upgraded and reported `repaired`, with what was missing or changed.

use super::flux;
use super::manifests::{compare, objects, Change};
use super::render::Renders;
use crate::error::Result;
use crate::kube::drift::ObjectState;
use crate::kube::records::Releases;
use crate::kube::Cluster;
use crate::plan::{Action, Plan, Step};
use futures::future::try_join_all;
use std::collections::BTreeMap;

/// How one release compares with the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Comparison {
    pub(crate) release: String,
    /// Revision and status of the deployed release; `None`: not installed.
    pub(crate) deployed: Option<(u64, String)>,
    /// Rendered against deployed manifests.
    pub(crate) changes: Vec<Change>,
    /// Live objects that are missing, changed or not ready (checked against the rendered objects).
    pub(crate) drift: Vec<ObjectState>,
}

/// What the run does with a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Not installed, not `deployed`, or its manifests change: helm upgrade --install.
    Apply,
    /// Matches the cluster: nothing to run.
    Unchanged,
    /// Same manifests, but live objects drifted: upgrade, taking fields back.
    Repair(Vec<String>),
}

impl Comparison {
    pub(crate) fn decision(&self) -> Decision {
        match &self.deployed {
            Some((_, status)) if status == "deployed" && self.changes.is_empty() => {
                if self.drift.is_empty() {
                    Decision::Unchanged
                } else {
                    Decision::Repair(self.drift.iter().map(ObjectState::describe).collect())
                }
            }
            _ => Decision::Apply,
        }
    }
}

/// Compares every upgrade step of `plan` with the cluster. With `always_drift` (diff) live
/// objects are checked even when the manifests change; otherwise only when they do not (an
/// upgrade happens anyway). The manifests come from `renders` (each rendered once per run).
pub(crate) async fn compare_plan(
    plan: &Plan,
    cluster: &Cluster,
    releases: &Releases,
    always_drift: bool,
    renders: &Renders<'_>,
) -> Result<BTreeMap<String, Comparison>> {
    let steps: Vec<&Step> = plan.steps().filter(|s| matches!(s.action, Action::Upgrade(_))).collect();
    let compared = try_join_all(steps.into_iter().map(|step| {
        async move {
            let record = releases.get(&step.release.name);
            let deployed = record.map(|r| (r.revision, r.status.clone()));
            if !always_drift && record.is_none_or(|r| r.status != "deployed") {
                // nothing deployed to compare with: install or upgrade without rendering twice
                return Ok::<_, crate::error::Error>(Comparison {
                    release: step.release.name.clone(),
                    deployed,
                    changes: vec![],
                    drift: vec![],
                });
            }
            let rendered = renders.get(&step.release.name).await?;
            let rendered = objects(&rendered, &format!("helm template of {}", step.release.name))?;
            let recorded = match record {
                Some(r) => objects(&r.manifest, &format!("the deployed manifest of {}", r.name))?,
                None => BTreeMap::new(),
            };
            // Drift is the live objects against what helm deployed (the record), whoever deployed it.
            let deployed_objects: Vec<serde_json::Value> = recorded.values().cloned().collect();
            let changes = compare(&flux::plain(&recorded), &rendered);
            let drift = if record.is_some() && (changes.is_empty() || always_drift) {
                cluster.check_objects(&deployed_objects).await.into_iter().filter(|o| !o.healthy()).collect()
            } else {
                vec![]
            };
            Ok(Comparison { release: step.release.name.clone(), deployed, changes, drift })
        }
    }))
    .await?;
    Ok(compared.into_iter().map(|c| (c.release.clone(), c)).collect())
}
