//! Checks before any change, in order: cluster reachable, namespace present (or created), the
//! namespace lock taken, helm's records readable, no planned release pending (or recovered
//! first with `--recover`), and the secrets release deployed, complete (no FIXME left) and made
//! for the same affix. Anything that cannot be read stops the run here. Then, once the releases
//! are rendered and compared with the cluster, [`prerequisites`]: the doctor's cheap and certain
//! checks for the releases the run will install or upgrade.

use super::checks::{self, Scope, Status};
use super::executor::{self, Options};
use super::interrupt::Interrupt;
use crate::error::{Error, Result};
use crate::helm::Helm;
use crate::kube::lock::Lock;
use crate::kube::records::Releases;
use crate::kube::Cluster;
use crate::plan::recover::{self, Pending};
use crate::plan::requirements::Requirements;
use crate::plan::Plan;
use crate::settings::instance::Instance;
use crate::settings::secrets_file::refuse_fixme;
use crate::settings::wait::Wait;
use std::collections::BTreeMap;

/// What a run holds once its preflight passed.
pub(crate) struct Cleared {
    pub(crate) cluster: Cluster,
    pub(crate) lock: Lock,
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
    pub(crate) wait: &'a Wait,
}

pub(crate) async fn check(checks: &Checks<'_>, helm: &Helm, interrupt: &Interrupt) -> Result<Cleared> {
    let cluster = Cluster::connect(&checks.plan.target).await?;
    cluster.ensure_namespace(checks.create_namespace).await?;
    let lock = Lock::acquire(&cluster).await?;
    let interrupt = interrupt.with_lock(lock.lost());
    match check_releases(checks, &cluster, helm, &interrupt).await {
        Ok(releases) => Ok(Cleared { cluster, lock, releases }),
        Err(e) => {
            lock.release().await;
            Err(e)
        }
    }
}

/// The doctor's preflight checks (CheckId::preflight: version, Pod Security, storage classes, CSI
/// driver, Route API, Gateway API CRDs) against what the rendered releases need. A
/// failure stops the run before any release changes; warnings are noted on stderr.
pub(crate) async fn prerequisites(cluster: &Cluster, needs: &Requirements) -> Result<()> {
    let results = checks::run(cluster, needs, None, Scope::Preflight).await;
    for c in results.iter().filter(|c| c.status == Status::Warn) {
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
            return Err(Error::Preflight(format!(
                "the secrets release {secrets} is not installed in namespace {ns}: deploy it first \
                 (`panda-install secrets deploy -f FILE`, or --secrets FILE)"
            )))
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
