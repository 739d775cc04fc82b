//! Checks before any change, in order: cluster reachable, namespace present (or created), the
//! namespace lock taken, helm's records readable, no planned release pending (or recovered
//! first with `--recover`), and the secrets release deployed, complete (no FIXME left) and made
//! for the same affix. Anything that cannot be read stops the run here. Then, once the releases
//! are rendered and compared with the cluster, [`prerequisites`]: the doctor's cheap and certain
//! checks for the releases the run will install or upgrade.

use super::checks::{self, Scope, Status};
use super::executor::{self, Options};
use super::interrupt::Interrupt;
use super::lock_guard::LockGuard;
use crate::error::{Error, Result};
use crate::helm::Helm;
use crate::kube::records::Releases;
use crate::kube::Cluster;
use crate::plan::recover::{self, Pending};
use crate::plan::requirements::Requirements;
use crate::plan::Plan;
use crate::settings::affix::Affix;
use crate::settings::instance::Instance;
use crate::settings::secrets_file::refuse_fixme;
use crate::settings::wait::Wait;
use std::collections::BTreeMap;

/// What a run holds once its preflight passed.
pub(crate) struct Cleared {
    pub(crate) cluster: Cluster,
    pub(crate) lock: LockGuard,
    /// helm's records as they were after the checks (and any recovery).
    pub(crate) releases: Releases,
}

pub(crate) struct Checks<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) instance: &'a Instance,
    pub(crate) create_namespace: bool,
    /// This run deploys the secrets release itself (from a file already checked).
    pub(crate) deploys_secrets: bool,
    pub(crate) recover: bool,
    /// Recover pending releases younger than the timeout too (`--force`).
    pub(crate) force_recover: bool,
    pub(crate) wait: &'a Wait,
}

pub(crate) async fn check(checks: &Checks<'_>, helm: &Helm, interrupt: &Interrupt) -> Result<Cleared> {
    let cluster = Cluster::connect(&checks.plan.target).await?;
    cluster.ensure_namespace(checks.create_namespace).await?;
    let lock = LockGuard::take(&cluster, interrupt).await?;
    let interrupt = lock.interrupt().clone();
    match lock.bound(check_releases(checks, &cluster, helm, &interrupt)).await {
        Ok(releases) => Ok(Cleared { cluster, lock, releases }),
        Err(e) => lock.release(Err(e)).await,
    }
}

/// The doctor's preflight checks (CheckId::preflight: version, Pod Security, storage classes, CSI
/// driver, Route API, Gateway API CRDs) against what the rendered releases need. A
/// failure stops the run before any release changes; warnings are noted on stderr.
pub(crate) async fn prerequisites(cluster: &Cluster, needs: &Requirements) -> Result<()> {
    let results = checks::run(cluster, needs, None, Scope::Preflight).await;
    for c in results.iter().filter(|c| matches!(c.status, Status::Warn | Status::Unknown)) {
        crate::output::note(&format!("preflight: {}", c.line()));
    }
    let failed: Vec<String> = results.iter().filter(|c| c.status == Status::Fail).map(|c| c.line()).collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(Error::Preflight(format!(
        "the cluster lacks what this deployment needs (nothing was changed; `panda-install doctor` runs every check):\n{}",
        failed.join("\n")
    )))
}

/// The pending releases among `names`, each with where its history lets it go back to.
pub(crate) fn pending(
    releases: &Releases,
    names: &[(Option<crate::settings::component::Component>, String, std::path::PathBuf)],
) -> Vec<Pending> {
    names
        .iter()
        .filter_map(|(component, name, chart)| {
            let record = releases.get(name).filter(|r| r.is_pending())?;
            Some(Pending {
                component: *component,
                name: name.clone(),
                chart: chart.clone(),
                status: record.status.clone(),
                last_good: releases.last_good(name),
                written_at: record.written_at,
            })
        })
        .collect()
}

async fn check_releases(
    checks: &Checks<'_>,
    cluster: &Cluster,
    helm: &Helm,
    interrupt: &Interrupt,
) -> Result<Releases> {
    let mut releases = cluster.releases().await?;
    let planned: Vec<_> = checks
        .plan
        .steps()
        .map(|s| (s.release.component, s.release.name.clone(), s.release.chart.clone()))
        .collect();
    let flux_made: Vec<&str> = planned
        .iter()
        .filter_map(|(_, name, _)| releases.get(name))
        .filter(|r| super::flux::made_by_flux(&r.manifest))
        .map(|r| r.name.as_str())
        .collect();
    if !flux_made.is_empty() {
        return Err(Error::Preflight(format!(
            "{} {} managed by Flux (its objects carry helm.toolkit.fluxcd.io labels): change it through Git \
             and `panda-install flux`, or suspend its HelmRelease first (flux suspend helmrelease NAME)",
            flux_made.join(", "),
            if flux_made.len() == 1 { "is" } else { "are" }
        )));
    }
    let stuck = pending(&releases, &planned);
    if !stuck.is_empty() {
        if !checks.recover {
            let list: Vec<String> = stuck.iter().map(|p| format!("{} ({})", p.name, p.status)).collect();
            return Err(Error::Preflight(format!(
                "release(s) left pending by an interrupted or concurrent helm run: {}. Their state is unknown; \
                 run again with --recover (or `panda-install recover`) to roll each back to its last deployed \
                 revision (or uninstall one that was never deployed)",
                list.join(", ")
            )));
        }
        recover::refuse_young(
            &stuck,
            crate::kube::records::unix_now(),
            checks.wait.duration(),
            checks.force_recover,
        )?;
        let plan = recover::plan(&stuck, checks.wait, &checks.plan.target, checks.plan.helm);
        for note in &plan.notes {
            crate::output::note(&format!("recover: {note}"));
        }
        let decisions = BTreeMap::new();
        let report =
            executor::execute(&plan, helm, &Options { concurrency: None, interrupt, decisions: &decisions })
                .await?;
        if let Some(failed) = report.failed().first() {
            return Err(Error::Preflight(format!("recovering {failed} failed; nothing else was changed")));
        }
        if interrupt.raised() {
            return Err(Error::Interrupted);
        }
        releases = cluster.releases().await?;
    }
    if checks.deploys_secrets {
        return Ok(releases);
    }
    secrets_release(&releases, checks.instance, &cluster.namespace)?;
    Ok(releases)
}

/// The secrets release of `instance` is deployed, has no FIXME left in its values and was made
/// for the same affix (else its hosts would not match the releases).
pub(crate) fn secrets_release(releases: &Releases, instance: &Instance, ns: &str) -> Result<()> {
    let secrets = instance.secrets_release();
    let record = match releases.get(&secrets) {
        Some(r) if r.status == "deployed" => r,
        Some(r) => {
            return Err(Error::Preflight(format!(
            "the secrets release {secrets} is {}, not deployed: fix it with `panda-install secrets deploy`",
            r.status
        )))
        }
        None => {
            let others = other_instances(releases);
            let hint = if others.is_empty() {
                String::new()
            } else {
                format!(". Namespace {ns} holds {}: pass its -a to act on that instance", others.join(", "))
            };
            return Err(Error::Preflight(format!(
                "the secrets release {secrets} is not installed in namespace {ns}: deploy it first \
                 (`panda-install secrets deploy -f FILE`, or --secrets FILE){hint}"
            )));
        }
    };
    let values = record.computed_values();
    refuse_fixme(&values, &format!("the secrets release {secrets}"))?;
    let affix = values.get("affix").and_then(|a| a.as_str()).unwrap_or_default();
    if affix != instance.affix.as_str() {
        return Err(Error::Preflight(format!(
            "the secrets release {secrets} was deployed with affix {affix:?} but this run uses {:?}: its hosts \
             would not match these releases",
            instance.affix.as_str()
        )));
    }
    Ok(())
}

/// The secrets releases of the namespace's instances, as `NAME (-a "AFFIX")`: a release whose
/// recorded affix names it `<affix>secrets`. Used to point a run without `-a` at what is there.
fn other_instances(releases: &Releases) -> Vec<String> {
    releases
        .latest
        .values()
        .filter_map(|r| {
            let values = r.computed_values();
            let raw = values.get("affix")?.as_str()?;
            let affix = Affix::parse(raw).ok()?;
            (affix.apply("secrets") == r.name).then(|| format!("{} (-a {raw:?})", r.name))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::records::Record;
    use serde_json::json;

    fn record(name: &str, config: serde_json::Value) -> Record {
        Record {
            name: name.into(),
            revision: 1,
            status: "deployed".into(),
            chart_name: "secrets".into(),
            chart_version: "0.1.0".into(),
            manifest: String::new(),
            config,
            chart_values: json!({}),
            written_at: None,
        }
    }

    fn releases(records: Vec<Record>) -> Releases {
        Releases { latest: records.into_iter().map(|r| (r.name.clone(), r)).collect(), ..Default::default() }
    }

    #[test]
    fn a_missing_secrets_release_names_the_instances_that_are_there() {
        let there = releases(vec![
            record("blah-secrets", json!({"affix": "blah-"})),
            // a release of another chart that happens to carry an affix value is no instance
            record("blah-panda", json!({"affix": "blah-"})),
        ]);
        let instance = Instance::from_flag("test-").unwrap();
        let e = secrets_release(&there, &instance, "panda").unwrap_err().to_string();
        assert!(e.contains("test-secrets is not installed in namespace panda"), "{e}");
        assert!(e.contains(r#"holds blah-secrets (-a "blah-")"#), "{e}");
        assert!(!e.contains("blah-panda"), "{e}");

        let e = secrets_release(&releases(vec![]), &instance, "panda").unwrap_err().to_string();
        assert!(!e.contains("holds"), "{e}");
    }
}
