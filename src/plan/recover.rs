//! The recover plan: each release left `pending-*` by an interrupted run is rolled back to its
//! last deployed revision, or uninstalled when it never had one. Built only from a history that
//! was read in full: an unreadable history stops the run before this point.

use super::{Action, Kind, Plan, Release, Step, Tier};
use crate::settings::component::Component;
use crate::settings::helm_version::HelmVersion;
use crate::settings::target::ClusterTarget;
use crate::settings::wait::Wait;
use std::path::PathBuf;

/// A pending release and where its history says it can go back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pending {
    pub(crate) component: Option<Component>,
    pub(crate) name: String,
    pub(crate) chart: PathBuf,
    pub(crate) status: String,
    /// The newest revision that was `deployed` or `superseded`; `None`: never deployed.
    pub(crate) last_good: Option<u64>,
}

pub(crate) fn plan(pending: &[Pending], wait: &Wait, target: &ClusterTarget, helm: HelmVersion) -> Plan {
    let mut notes = Vec::new();
    let steps: Vec<Step> = pending
        .iter()
        .map(|p| {
            let release = Release {
                component: p.component,
                name: p.name.clone(),
                chart: p.chart.clone(),
                values: vec![],
                sets: vec![],
                files: vec![],
            };
            let action = match p.last_good {
                Some(revision) => {
                    notes.push(format!("{} is {}: roll back to revision {revision}", p.name, p.status));
                    Action::Rollback { revision, wait: wait.clone() }
                }
                None => {
                    notes.push(format!("{} is {} and was never deployed: uninstall it", p.name, p.status));
                    Action::Uninstall(wait.clone())
                }
            };
            Step { release, action }
        })
        .collect();
    if steps.is_empty() {
        notes.push("no release is pending: nothing to recover".into());
    }
    let tiers = if steps.is_empty() { vec![] } else { vec![Tier { number: 1, steps }] };
    Plan {
        kind: Kind::Recover,
        helm,
        namespace: target.namespace.clone(),
        target: target.clone(),
        prepare: vec![],
        tiers,
        notes,
    }
}
