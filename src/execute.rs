//! Runs a plan: prepare steps, then tier after tier, releases of a tier in parallel; a failure or
//! an interrupt stops new work, and the report says what succeeded, failed or was not attempted.

use crate::error::{Error, Result};
use crate::plan::{Plan, Step};
use crate::process::{Helm, Outcome};
use crate::progress::{Progress, State};
use crate::settings::Mode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Deployed already with exactly these manifests: no upgrade was run.
    Unchanged,
    Failed(String),
    /// Not attempted because an earlier tier failed or the run was interrupted.
    NotAttempted,
}

#[derive(Debug, Clone)]
pub struct ReleaseReport {
    pub release: String,
    pub tier: usize,
    pub status: Status,
    /// When helm started, from the start of the run.
    pub started: Duration,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub releases: Vec<ReleaseReport>,
    pub interrupted: bool,
    pub wall: Duration,
}

impl Report {
    pub fn failed(&self) -> bool {
        self.releases.iter().any(|r| matches!(r.status, Status::Failed(_)))
    }

    /// One line per release, then the totals.
    pub fn summary(&self) -> String {
        let mut out = String::from("summary:\n");
        for r in &self.releases {
            let status = match &r.status {
                Status::Ok => format!("ok      {:>6.1}s", r.elapsed.as_secs_f64()),
                Status::Unchanged => format!("unchanged {:>4.1}s", r.elapsed.as_secs_f64()),
                Status::Failed(why) => format!("FAILED  {:>6.1}s  {why}", r.elapsed.as_secs_f64()),
                Status::NotAttempted => "not attempted".to_string(),
            };
            out.push_str(&format!("  tier {}  {:<24} {status}\n", r.tier, r.release));
        }
        let tiers = self.tier_walls();
        for (tier, wall) in &tiers {
            out.push_str(&format!("  tier {tier} took {:.1}s\n", wall.as_secs_f64()));
        }
        if let Some((tier, _)) = tiers.iter().max_by_key(|(_, w)| *w) {
            out.push_str(&format!("  wall time {:.1}s, bounded by tier {tier}\n", self.wall.as_secs_f64()));
        }
        out
    }

    /// Wall time of each tier that ran: from its first start to its last finish.
    pub fn tier_walls(&self) -> Vec<(usize, Duration)> {
        let mut walls: Vec<(usize, Duration)> = Vec::new();
        for r in self.releases.iter().filter(|r| r.status != Status::NotAttempted) {
            let start = self.releases.iter().filter(|o| o.tier == r.tier && o.status != Status::NotAttempted).map(|o| o.started).min();
            let wall = (r.started + r.elapsed).saturating_sub(start.unwrap_or_default());
            match walls.iter_mut().find(|(t, _)| *t == r.tier) {
                Some((_, w)) => *w = (*w).max(wall),
                None => walls.push((r.tier, wall)),
            }
        }
        walls
    }
}

/// A flag set by the signal handler; checked before any new helm run starts.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    pub fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn raised(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Runs the plan's local preparation (dependency builds), which never touches the cluster.
pub async fn prepare(plan: &Plan, helm: &Helm) -> Result<()> {
    for inv in &plan.prepare {
        let out = helm.run(inv).await.map_err(|e| Error::HelmUnavailable(format!("cannot run helm: {e}")))?;
        if !out.success() {
            return Err(Error::data(inv.args.last().cloned().unwrap_or_default(), format!("helm dependency build failed: {}", out.stderr.trim())));
        }
    }
    Ok(())
}

/// How one release's task ended.
enum Ran {
    /// The probe found nothing to change; helm upgrade was not run.
    Unchanged(Duration),
    Helm(std::io::Result<Outcome>),
}

/// Runs the plan. Releases named in `deployed` (status deployed) whose step has a probe are
/// upgraded only when their rendered manifests differ from the deployed ones.
pub async fn execute(plan: &Plan, helm: &Helm, concurrency: Option<usize>, interrupt: &Interrupt, deployed: &[String]) -> Result<Report> {
    prepare(plan, helm).await?;
    if plan.mode == Mode::Template {
        return render_all(plan, helm, interrupt).await;
    }
    let verb = if plan.mode == Mode::Uninstall { "uninstalling" } else { "installing" };
    let rows = plan.tiers.iter().enumerate().flat_map(|(i, t)| t.steps.iter().map(move |s| (plan.tier_number(i), s.release.clone()))).collect();
    let progress = Progress::new(rows, verb);
    let mut report = Report::default();
    let mut stop = false;
    for (i, tier) in plan.tiers.iter().enumerate() {
        let tier_no = plan.tier_number(i);
        if stop || interrupt.raised() {
            report.interrupted |= interrupt.raised();
            report.releases.extend(tier.steps.iter().map(|s| not_attempted(s, tier_no)));
            tier.steps.iter().for_each(|s| progress.set(&s.release, State::Skipped));
            continue;
        }
        let limit = concurrency.unwrap_or(tier.steps.len()).max(1);
        let results = run_tier(&tier.steps, helm, limit, interrupt, &progress, deployed).await;
        for (step, result) in tier.steps.iter().zip(results) {
            let (status, started, elapsed) = match result {
                None => (Status::NotAttempted, Duration::ZERO, Duration::ZERO),
                Some((at, Ran::Unchanged(took))) => (Status::Unchanged, at, took),
                Some((at, Ran::Helm(Ok(out)))) if out.success() => (Status::Ok, at, out.elapsed),
                Some((at, Ran::Helm(Ok(out)))) => (Status::Failed(failure_reason(&out)), at, out.elapsed),
                Some((at, Ran::Helm(Err(e)))) => (Status::Failed(format!("cannot run helm: {e}")), at, Duration::ZERO),
            };
            stop |= !matches!(status, Status::Ok | Status::Unchanged);
            report.releases.push(ReleaseReport { release: step.release.clone(), tier: tier_no, status, started, elapsed });
        }
        report.interrupted |= interrupt.raised();
    }
    report.wall = progress.start().elapsed();
    progress.finish();
    Ok(report)
}

/// Starts the releases of one tier together (at most `limit` at a time) and waits for all.
async fn run_tier(
    steps: &[Step],
    helm: &Helm,
    limit: usize,
    interrupt: &Interrupt,
    progress: &Progress,
    deployed: &[String],
) -> Vec<Option<(Duration, Ran)>> {
    let gate = Arc::new(Semaphore::new(limit));
    let mut handles = Vec::new();
    for step in steps {
        let (helm, gate, interrupt, step, progress) = (helm.clone(), gate.clone(), interrupt.clone(), step.clone(), progress.clone());
        let probe = step.probe.clone().filter(|_| deployed.contains(&step.release));
        handles.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.ok()?;
            if interrupt.raised() {
                return None;
            }
            let began = Instant::now();
            progress.set(&step.release, State::Running(began));
            let at = progress.start().elapsed();
            if let Some(probe) = probe {
                if unchanged(&helm, &probe).await {
                    return Some((at, Ran::Unchanged(began.elapsed())));
                }
            }
            Some((at, Ran::Helm(helm.run(&step.invocation).await)))
        }));
    }
    let mut results = Vec::new();
    for (step, handle) in steps.iter().zip(handles) {
        let result = handle.await.ok().flatten();
        match &result {
            Some((_, Ran::Unchanged(took))) => progress.set(&step.release, State::Unchanged(*took)),
            Some((_, Ran::Helm(Ok(out)))) if out.success() => progress.set(&step.release, State::Done(out.elapsed)),
            Some((_, Ran::Helm(Ok(out)))) => {
                progress.set(&step.release, State::Failed(out.elapsed));
                progress.note(&format!("{}: {}", step.release, failure_reason(out)));
            }
            Some((_, Ran::Helm(Err(e)))) => {
                progress.set(&step.release, State::Failed(Duration::ZERO));
                progress.note(&format!("{}: cannot run helm: {e}", step.release));
            }
            None => progress.set(&step.release, State::Skipped),
        }
        if let Some((_, Ran::Helm(Ok(out)))) = &result {
            for line in warnings(&out.stderr) {
                progress.note(&format!("{}: {line}", step.release));
            }
        }
        results.push(result);
    }
    results
}

/// Whether the release's rendered manifests equal its deployed ones. Any doubt (a failed render,
/// no deployed manifest) means "changed", so that helm decides.
async fn unchanged(helm: &Helm, probe: &crate::plan::Probe) -> bool {
    let (render, deployed) = tokio::join!(helm.run(&probe.render), helm.run(&probe.deployed));
    match (render, deployed) {
        (Ok(r), Ok(d)) if r.success() && d.success() => {
            crate::diff::compare(&crate::diff::objects(&d.stdout), &crate::diff::objects(&r.stdout)).is_empty()
        }
        _ => false,
    }
}

/// `helm template` of every release in plan order, manifests to stdout.
async fn render_all(plan: &Plan, helm: &Helm, interrupt: &Interrupt) -> Result<Report> {
    let mut report = Report::default();
    for step in plan.steps() {
        if interrupt.raised() {
            return Err(Error::Interrupted);
        }
        let out = helm.run(&step.invocation).await.map_err(|e| Error::HelmUnavailable(format!("cannot run helm: {e}")))?;
        if !out.success() {
            return Err(Error::ReleaseFailed(format!("helm template of {} failed: {}", step.release, out.stderr.trim())));
        }
        for line in warnings(&out.stderr) {
            eprintln!("{}: {line}", step.release);
        }
        print!("{}", out.stdout);
        report.releases.push(ReleaseReport {
            release: step.release.clone(),
            tier: 0,
            status: Status::Ok,
            started: Duration::ZERO,
            elapsed: out.elapsed,
        });
    }
    Ok(report)
}

fn not_attempted(step: &Step, tier: usize) -> ReleaseReport {
    ReleaseReport { release: step.release.clone(), tier, status: Status::NotAttempted, started: Duration::ZERO, elapsed: Duration::ZERO }
}

/// The last error line helm printed, or its exit status.
fn failure_reason(out: &Outcome) -> String {
    let line = out.stderr.lines().rev().find(|l| l.contains("Error") || l.contains("error")).or_else(|| out.stderr.lines().last());
    match (line, out.code) {
        (Some(l), Some(code)) => format!("helm exited {code}: {}", l.trim()),
        (Some(l), None) => format!("helm was ended by a signal: {}", l.trim()),
        (None, Some(code)) => format!("helm exited {code}"),
        (None, None) => "helm was ended by a signal".to_string(),
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
