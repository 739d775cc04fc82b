//! What every deploy runs once its preflight passed (install, `secrets deploy`): the adoption
//! preflight (what the plan would collide with or run beside: refused without `--adopt`, taken
//! over with it), the comparison with the cluster (a release that matches is left `unchanged`:
//! no helm call, no new revision, no new copy of its values in helm's records), the prerequisite
//! checks of what will change, then the plan.

use super::install::finish;
use crate::cli::args::OutputFormat;
use crate::error::{Error, Result};
use crate::helm::Helm;
use crate::kube::diagnose;
use crate::output;
use crate::plan::requirements::Requirements;
use crate::plan::Plan;
use crate::run::adopt;
use crate::run::convergence::{compare_plan, Decision};
use crate::run::executor::{self, Options};
use crate::run::interrupt::Interrupt;
use crate::run::preflight::{self, Cleared};
use crate::run::render::Renders;
use crate::run::upgrade;
use crate::settings::instance::Instance;
use std::collections::BTreeMap;
use std::time::Duration;

/// How the deploy was asked for.
pub(crate) struct Apply<'a> {
    /// The command, for the JSON document.
    pub(crate) command: &'static str,
    pub(crate) adopt: bool,
    pub(crate) force_upgrade: bool,
    pub(crate) concurrency: Option<usize>,
    pub(crate) output: OutputFormat,
    /// The install's instance and wait: the compatibility table and the schema steps
    /// ([`upgrade::prepare`]) run before any workload changes. `None` for the secrets release.
    pub(crate) upgrade: Option<(&'a Instance, Duration)>,
}

/// Runs `p` against the cleared cluster and returns the exit code (see [`finish`]).
pub(crate) async fn run(
    p: &Plan,
    helm: &Helm,
    cleared: &Cleared,
    interrupt: &Interrupt,
    how: &Apply<'_>,
) -> Result<i32> {
    // Each release is rendered once, for the comparison with the cluster and then for the
    // prerequisite checks of the releases this run will apply (one left unchanged needs nothing
    // new from the cluster, so a no-op re-run makes no extra request); the adoption preflight
    // reads the same renders.
    let renders = Renders::new(p, helm);
    let inspected = std::time::Instant::now();
    let adoption = adopt::inspect(p, &renders, &cleared.cluster, &cleared.releases).await?;
    tracing::debug!(
        "adoption preflight: {} finding(s) in {:?}",
        adoption.findings.len(),
        inspected.elapsed()
    );
    if !adoption.is_empty() {
        if !how.adopt || !adoption.refusals.is_empty() {
            return Err(Error::Preflight(adoption.report(how.adopt)));
        }
        output::note(adoption.report(true).trim_end());
        let manifests = renders.components_rendering(|_| true).await;
        if !manifests.is_empty() {
            let needs = Requirements::from_manifests(&p.namespace, &manifests)?;
            preflight::prerequisites(&cleared.cluster, &needs).await?;
        }
        let decisions = BTreeMap::new();
        let opts = Options { concurrency: how.concurrency, interrupt, decisions: &decisions };
        let report = adopt::execute(p, &adoption, helm, &cleared.cluster, &opts).await?;
        let failed = report.failed();
        if !failed.is_empty() && !interrupt.raised() {
            // an interrupted run (a signal, the lock lost) ends without reading the cluster again
            output::note(diagnose::report(&cleared.cluster, &failed).await.trim_end());
        }
        return finish(
            how.command,
            p,
            helm,
            &report,
            how.output,
            "later tiers and their takeover steps were not attempted",
        );
    }
    let decisions: BTreeMap<String, Decision> = if how.force_upgrade {
        BTreeMap::new()
    } else {
        compare_plan(p, &cleared.cluster, &cleared.releases, false, &renders)
            .await?
            .into_iter()
            .map(|(name, c)| (name, c.decision()))
            .collect()
    };
    let applied = |name: &str| decisions.get(name) != Some(&Decision::Unchanged);
    let manifests = renders.components_rendering(applied).await;
    if !manifests.is_empty() {
        let needs = Requirements::from_manifests(&p.namespace, &manifests)?;
        preflight::prerequisites(&cleared.cluster, &needs).await?;
    }
    // The compatibility table, then the schema steps, before any workload changes.
    if let Some((instance, timeout)) = how.upgrade {
        upgrade::prepare(p, cleared, &renders, instance, timeout).await?;
    }
    let opts = Options { concurrency: how.concurrency, interrupt, decisions: &decisions };
    let report = executor::execute(p, helm, &opts).await?;
    let failed = report.failed();
    if !failed.is_empty() && !interrupt.raised() {
        // an interrupted run (a signal, the lock lost) ends without reading the cluster again
        output::note(diagnose::report(&cleared.cluster, &failed).await.trim_end());
    }
    finish(how.command, p, helm, &report, how.output, "later tiers were not attempted")
}
