//! Runs a plan: the local preparation, then tier after tier, the releases of a tier in parallel.
//! A failure, an interrupt or a lost lock stops new work; the report says what succeeded, was
//! left alone, repaired, failed or not attempted. `helm template` plans print manifests instead.

use super::convergence::Decision;
use super::interrupt::Interrupt;
use super::progress::{Progress, State};
use super::report::{ReleaseReport, Report, Status};
use crate::error::{Error, Result};
use crate::helm::Helm;
use crate::output;
use crate::plan::{Action, Kind, Plan, Step};
use crate::process::Outcome;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How to run a plan.
pub(crate) struct Options<'a> {
    /// Most releases of one tier at once (default: the whole tier).
    pub(crate) concurrency: Option<usize>,
    pub(crate) interrupt: &'a Interrupt,
    /// Per release: leave alone, repair, or apply (the default when absent).
    pub(crate) decisions: &'a BTreeMap<String, Decision>,
}

/// Packs local chart dependencies; never touches the cluster.
pub(crate) async fn prepare(plan: &Plan, helm: &Helm) -> Result<()> {
    for chart in &plan.prepare {
        helm.dependency_build(chart).await?;
    }
    Ok(())
}

/// How one release's task ended.
enum Ran {
    Unchanged,
    Helm {
        outcome: Outcome,
        repaired: Option<Vec<String>>,
    },
    /// helm could not be started, or the task died.
    Broken(String),
}

/// Runs the tiers; the caller has run [`prepare`] when the plan needs it.
pub(crate) async fn execute(plan: &Plan, helm: &Helm, opts: &Options<'_>) -> Result<Report> {
    let verb = match plan.kind {
        Kind::Uninstall => "uninstalling",
        Kind::Recover => "recovering",
        _ => "installing",
    };
    let rows = plan
        .tiers
        .iter()
        .flat_map(|t| t.steps.iter().map(move |s| (t.number, s.release.name.clone())))
        .collect();
    let progress = Progress::new(rows, verb);
    let mut report = Report::default();
    let mut stop = false;
    for tier in &plan.tiers {
        if stop || opts.interrupt.raised() {
            report.releases.extend(tier.steps.iter().map(|s| not_attempted(s, tier.number)));
            tier.steps.iter().for_each(|s| progress.set(&s.release.name, State::Skipped));
            continue;
        }
        let limit = opts.concurrency.unwrap_or(tier.steps.len()).max(1);
        let results = run_tier(plan, &tier.steps, helm, limit, opts, &progress).await;
        for (step, (at, ran)) in tier.steps.iter().zip(results) {
            let (status, elapsed) = match ran {
                None => (Status::NotAttempted, Duration::ZERO),
                Some((Ran::Unchanged, took)) => (Status::Unchanged, took),
                Some((Ran::Helm { outcome, repaired }, took)) if outcome.success() => {
                    (repaired.map_or(Status::Ok, Status::Repaired), took)
                }
                Some((Ran::Helm { outcome, .. }, took)) => {
                    (Status::Failed(format!("helm {}", outcome.reason())), took)
                }
                Some((Ran::Broken(why), took)) => (Status::Failed(why), took),
            };
            stop |= !status.succeeded();
            report.releases.push(ReleaseReport {
                release: step.release.name.clone(),
                tier: tier.number,
                status,
                started: at,
                elapsed,
            });
        }
    }
    report.interrupted = opts.interrupt.signalled();
    report.lock_lost = opts.interrupt.lock_lost();
    report.wall = progress.start().elapsed();
    progress.finish();
    Ok(report)
}

type TierResult = (Duration, Option<(Ran, Duration)>);

/// Starts the releases of one tier together (at most `limit` at a time) and waits for all.
async fn run_tier(
    plan: &Plan,
    steps: &[Step],
    helm: &Helm,
    limit: usize,
    opts: &Options<'_>,
    progress: &Progress,
) -> Vec<TierResult> {
    let gate = Arc::new(Semaphore::new(limit));
    let mut handles = Vec::new();
    for step in steps {
        let decision = opts.decisions.get(&step.release.name).cloned().unwrap_or(Decision::Apply);
        let step = with_repair(step, &decision);
        let (helm, gate, interrupt, progress) =
            (helm.clone(), gate.clone(), opts.interrupt.clone(), progress.clone());
        let (target, version) = (plan.target.clone(), plan.helm);
        handles.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.ok()?;
            if interrupt.raised() {
                return None;
            }
            let began = Instant::now();
            progress.set(&step.release.name, State::Running(began));
            let at = progress.start().elapsed();
            let ran = match decision {
                Decision::Unchanged => Ran::Unchanged,
                other => match helm.step(&step, &target, version).await {
                    Ok(outcome) => {
                        let repaired = match other {
                            Decision::Repair(what) => Some(what),
                            _ => None,
                        };
                        Ran::Helm { outcome, repaired }
                    }
                    Err(e) => Ran::Broken(e.to_string()),
                },
            };
            Some((at, (ran, began.elapsed())))
        }));
    }
    let mut results = Vec::new();
    for (step, handle) in steps.iter().zip(handles) {
        let result = match handle.await {
            Ok(Some((at, ran))) => (at, Some(ran)),
            Ok(None) => (Duration::ZERO, None),
            // a task that died is a failure, never "not attempted"
            Err(e) => (
                Duration::ZERO,
                Some((Ran::Broken(format!("internal error: the task died: {e}")), Duration::ZERO)),
            ),
        };
        let name = &step.release.name;
        match &result.1 {
            Some((Ran::Unchanged, took)) => progress.set(name, State::Unchanged(*took)),
            Some((Ran::Helm { outcome, repaired }, took)) if outcome.success() => progress
                .set(name, if repaired.is_some() { State::Repaired(*took) } else { State::Done(*took) }),
            Some((Ran::Helm { outcome, .. }, took)) => {
                progress.set(name, State::Failed(*took));
                progress.note(&format!("{name}: helm {}", outcome.reason()));
            }
            Some((Ran::Broken(why), took)) => {
                progress.set(name, State::Failed(*took));
                progress.note(&format!("{name}: {why}"));
            }
            None => progress.set(name, State::Skipped),
        }
        if let Some((Ran::Helm { outcome, .. }, _)) = &result.1 {
            for line in warnings(&outcome.stderr) {
                progress.note(&format!("{name}: {line}"));
            }
        }
        results.push(result);
    }
    results
}

/// A release being repaired takes its fields back (helm 4 server-side apply, forced).
fn with_repair(step: &Step, decision: &Decision) -> Step {
    let mut step = step.clone();
    if let (Decision::Repair(_), Action::Upgrade(u)) = (decision, &mut step.action) {
        u.force_conflicts = true;
    }
    step
}

/// `helm template` of every release in plan order, manifests to stdout.
pub(crate) async fn render_all(plan: &Plan, helm: &Helm, interrupt: &Interrupt) -> Result<()> {
    prepare(plan, helm).await?;
    for step in plan.steps() {
        if interrupt.raised() {
            return Err(Error::Interrupted);
        }
        let out = helm.step(step, &plan.target, plan.helm).await?;
        if !out.success() {
            return Err(Error::ReleaseFailed(format!(
                "helm template of {} {}",
                step.release.name,
                out.reason()
            )));
        }
        for line in warnings(&out.stderr) {
            output::note(&format!("{}: {line}", step.release.name));
        }
        output::print(&out.stdout)?;
    }
    Ok(())
}

fn not_attempted(step: &Step, tier: usize) -> ReleaseReport {
    ReleaseReport {
        release: step.release.name.clone(),
        tier,
        status: Status::NotAttempted,
        started: Duration::ZERO,
        elapsed: Duration::ZERO,
    }
}

/// helm's warnings, to pass through tagged with the release. The API server's warnings (PodSecurity,
/// deprecations) reach helm's stderr as client-go log lines from `warnings.go`; client-go's other log
/// lines (`I1121 19:40:10.98 ... reflector.go ...`) are noise about helm's watches, not the release.
fn warnings(stderr: &str) -> impl Iterator<Item = &str> {
    let klog = |l: &str| {
        let b = l.as_bytes();
        b.len() > 5 && b"IWEF".contains(&b[0]) && b[1..5].iter().all(u8::is_ascii_digit) && b[5] == b' '
    };
    stderr.lines().filter(move |l| {
        let warning = l.contains("WARNING") || l.contains("Warning") || l.contains("warning");
        warning && (!klog(l) || l.contains("warnings.go"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_keep_pod_security_and_drop_client_go_logs() {
        let psa = r#"I1121 19:41:57.739173   32104 warnings.go:107] "Warning: would violate PodSecurity \"restricted:latest\": x""#;
        let noise = r#"I1121 19:40:10.984696   30733 reflector.go:664] "Warning: watch ended with error""#;
        let plain = "WARNING: Kubernetes configuration file is group-readable";
        let stderr = format!("{psa}\n{noise}\n{plain}\n");
        let kept: Vec<&str> = warnings(&stderr).collect();
        assert_eq!(kept, vec![psa, plain]);
    }
}
