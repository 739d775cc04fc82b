//! The recover plan: each release left `pending-*` by an interrupted run is rolled back to its
//! last deployed revision, or uninstalled when it never had one. Built only from a history that
//! was read in full: an unreadable history stops the run before this point.

use super::{Action, Kind, Plan, Release, Step, Tier};
use crate::error::{Error, Result};
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
    /// When helm last wrote its pending record (Unix seconds), if the record says.
    pub(crate) written_at: Option<u64>,
}

/// Refuses to recover a release whose pending record is younger than the timeout (`now` and
/// `written_at` in Unix seconds): helm, CI or Flux may still be working on it, and a rollback
/// would run under its feet. `force` recovers anyway. A record without a time counts as old.
pub(crate) fn refuse_young(
    pending: &[Pending],
    now: u64,
    timeout: std::time::Duration,
    force: bool,
) -> Result<()> {
    if force {
        return Ok(());
    }
    let young: Vec<String> = pending
        .iter()
        .filter_map(|p| {
            let age = now.saturating_sub(p.written_at?);
            (age < timeout.as_secs()).then(|| format!("{} ({} {age} s ago)", p.name, p.status))
        })
        .collect();
    if young.is_empty() {
        return Ok(());
    }
    Err(Error::Preflight(format!(
        "{} became pending less than the timeout ({} s) ago: a helm run (a colleague's, CI's or Flux's) may \
         still be working on it, and recovering now would roll it back under its feet. Wait until it is older \
         than the timeout, or pass --force if you know nothing else is running",
        young.join(", "),
        timeout.as_secs()
    )))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pending(name: &str, written_at: Option<u64>) -> Pending {
        Pending {
            component: None,
            name: name.into(),
            chart: PathBuf::from("helm/msgsvc"),
            status: "pending-upgrade".into(),
            last_good: Some(1),
            written_at,
        }
    }

    #[test]
    fn a_pending_record_younger_than_the_timeout_is_refused_unless_forced() {
        let ten = Duration::from_secs(600);
        let young = [pending("t-msgsvc", Some(1_000)), pending("t-panda", Some(100))];
        let e = refuse_young(&young, 1_005, ten, false).unwrap_err().to_string();
        assert!(e.contains("t-msgsvc (pending-upgrade 5 s ago)") && e.contains("--force"), "{e}");
        assert!(!e.contains("t-panda"), "{e}");
        assert!(refuse_young(&young, 1_005, ten, true).is_ok());
        assert!(refuse_young(&young, 1_600, ten, false).is_ok(), "older than the timeout");
        assert!(refuse_young(&[pending("x", None)], 5, ten, false).is_ok());
    }
}
