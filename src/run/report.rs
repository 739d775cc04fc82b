//! What a run did, release by release: the outcome, when it started and how long it took, the
//! wall time of each tier and the tier that bounded the run.

use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Status {
    /// helm ran and succeeded (installed, upgraded, uninstalled, rolled back).
    Ok,
    /// Matched the cluster already: nothing was run.
    Unchanged,
    /// Its objects had drifted (what, in the message); upgraded and now matching.
    Repaired(Vec<String>),
    Failed(String),
    /// Not attempted: an earlier tier failed, or the run was interrupted.
    NotAttempted,
}

impl Status {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Unchanged => "unchanged",
            Status::Repaired(_) => "repaired",
            Status::Failed(_) => "failed",
            Status::NotAttempted => "not-attempted",
        }
    }

    pub(crate) fn succeeded(&self) -> bool {
        matches!(self, Status::Ok | Status::Unchanged | Status::Repaired(_))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ReleaseReport {
    pub(crate) release: String,
    pub(crate) tier: usize,
    pub(crate) status: Status,
    /// When it started, from the start of the run.
    pub(crate) started: Duration,
    pub(crate) elapsed: Duration,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Report {
    pub(crate) releases: Vec<ReleaseReport>,
    pub(crate) interrupted: bool,
    pub(crate) lock_lost: bool,
    pub(crate) wall: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct TierWall {
    pub(crate) tier: usize,
    pub(crate) seconds: f64,
}

impl Report {
    pub(crate) fn failed(&self) -> Vec<String> {
        self.releases
            .iter()
            .filter(|r| matches!(r.status, Status::Failed(_)))
            .map(|r| r.release.clone())
            .collect()
    }

    /// Releases not attempted although nothing failed and nothing interrupted the run: a bug.
    pub(crate) fn unexplained_skips(&self) -> bool {
        self.failed().is_empty()
            && !self.interrupted
            && !self.lock_lost
            && self.releases.iter().any(|r| r.status == Status::NotAttempted)
    }

    /// One line per release, then the totals. `verb` is what "ok" did (installed, uninstalled).
    pub(crate) fn summary(&self) -> String {
        let mut out = String::from("summary:\n");
        for r in &self.releases {
            let secs = r.elapsed.as_secs_f64();
            let status = match &r.status {
                Status::Ok => format!("ok        {secs:>6.1}s"),
                Status::Unchanged => format!("unchanged {secs:>6.1}s"),
                Status::Repaired(what) => format!("repaired  {secs:>6.1}s  {}", what.join("; ")),
                Status::Failed(why) => format!("FAILED    {secs:>6.1}s  {why}"),
                Status::NotAttempted => "not attempted".to_string(),
            };
            out.push_str(&format!("  tier {}  {:<24} {status}\n", r.tier, r.release));
        }
        let tiers = self.tier_walls();
        for t in &tiers {
            out.push_str(&format!("  tier {} took {:.1}s\n", t.tier, t.seconds));
        }
        if let Some(t) = tiers.iter().max_by(|a, b| a.seconds.total_cmp(&b.seconds)) {
            out.push_str(&format!(
                "  wall time {:.1}s, bounded by tier {}\n",
                self.wall.as_secs_f64(),
                t.tier
            ));
        }
        out
    }

    /// Wall time of each tier that ran: from its first start to its last finish.
    pub(crate) fn tier_walls(&self) -> Vec<TierWall> {
        let mut walls: Vec<(usize, Duration)> = Vec::new();
        let ran = || self.releases.iter().filter(|r| r.status != Status::NotAttempted);
        for r in ran() {
            let start = ran().filter(|o| o.tier == r.tier).map(|o| o.started).min().unwrap_or_default();
            let wall = (r.started + r.elapsed).saturating_sub(start);
            match walls.iter_mut().find(|(t, _)| *t == r.tier) {
                Some((_, w)) => *w = (*w).max(wall),
                None => walls.push((r.tier, wall)),
            }
        }
        walls.into_iter().map(|(tier, w)| TierWall { tier, seconds: w.as_secs_f64() }).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(release: &str, tier: usize, status: Status, started: u64, elapsed: u64) -> ReleaseReport {
        ReleaseReport {
            release: release.into(),
            tier,
            status,
            started: Duration::from_secs(started),
            elapsed: Duration::from_secs(elapsed),
        }
    }

    #[test]
    fn summary_and_tier_walls() {
        let report = Report {
            releases: vec![
                r("a", 1, Status::Ok, 0, 3),
                r("b", 1, Status::Repaired(vec!["Deployment/b: missing".into()]), 1, 4),
                r("c", 2, Status::Unchanged, 5, 0),
                r("d", 3, Status::NotAttempted, 0, 0),
            ],
            wall: Duration::from_secs(6),
            ..Default::default()
        };
        let walls: Vec<(usize, f64)> = report.tier_walls().iter().map(|t| (t.tier, t.seconds)).collect();
        assert_eq!(walls, vec![(1, 5.0), (2, 0.0)]);
        let text = report.summary();
        assert!(text.contains("repaired") && text.contains("Deployment/b: missing"), "{text}");
        assert!(text.contains("bounded by tier 1"), "{text}");
        assert!(report.unexplained_skips(), "d was skipped with nothing failed");
    }
}
