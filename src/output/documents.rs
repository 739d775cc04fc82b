//! The `--output json` documents, one type per command family; their schemas are
//! docs/run.schema.json, docs/plan.schema.json, docs/status.schema.json, docs/diff.schema.json and
//! docs/doctor.schema.json.
//! `schemaVersion` changes only on a breaking change.

use crate::plan::{helm_args, Plan};
use crate::run::checks::Check;
use crate::run::manifests::Change;
use crate::run::report::{Report, Status, TierWall};
use serde::Serialize;

pub(crate) const SCHEMA_VERSION: u32 = 2;

/// A step of the plan as JSON: its release, component, action and the exact argument vector.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PlannedStep {
    pub(crate) release: String,
    pub(crate) component: String,
    pub(crate) action: &'static str,
    pub(crate) command: Vec<String>,
    pub(crate) values: Vec<String>,
    /// Site files passed with `--set-file`, as `key=path`.
    pub(crate) files: Vec<String>,
    /// The sops-encrypted values file helm gets decrypted on its standard input (`-f -`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stdin: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct PlannedTier {
    pub(crate) tier: usize,
    pub(crate) releases: Vec<PlannedStep>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PlanDocument {
    pub(crate) schema_version: u32,
    pub(crate) command: &'static str,
    pub(crate) helm: String,
    pub(crate) namespace: String,
    pub(crate) notes: Vec<String>,
    pub(crate) prepare: Vec<Vec<String>>,
    pub(crate) tiers: Vec<PlannedTier>,
}

impl PlanDocument {
    pub(crate) fn new(command: &'static str, plan: &Plan, helm_program: &str) -> PlanDocument {
        let argv =
            |args: Vec<String>| std::iter::once(helm_program.to_string()).chain(args).collect::<Vec<_>>();
        PlanDocument {
            schema_version: SCHEMA_VERSION,
            command,
            helm: plan.helm.to_string(),
            namespace: plan.namespace.clone(),
            notes: plan.notes.clone(),
            prepare: plan.prepare.iter().map(|c| argv(helm_args::dependency_build(c))).collect(),
            tiers: plan
                .tiers
                .iter()
                .map(|t| PlannedTier {
                    tier: t.number,
                    releases: t
                        .steps
                        .iter()
                        .map(|s| PlannedStep {
                            release: s.release.name.clone(),
                            component: s.release.component.map_or("secrets", |c| c.name()).to_string(),
                            action: match s.action {
                                crate::plan::Action::Upgrade(_) => "upgrade",
                                crate::plan::Action::Template => "template",
                                crate::plan::Action::Uninstall(_) => "uninstall",
                                crate::plan::Action::Rollback { .. } => "rollback",
                            },
                            command: argv(helm_args::step(s, &plan.target, plan.helm)),
                            values: s.release.values.iter().map(|v| v.path.display().to_string()).collect(),
                            files: s
                                .release
                                .files
                                .iter()
                                .map(|f| format!("{}={}", f.key, f.path.display()))
                                .collect(),
                            stdin: s.release.stdin_values().map(|v| v.path.display().to_string()),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReleaseResult {
    pub(crate) release: String,
    pub(crate) tier: usize,
    pub(crate) status: &'static str,
    /// Why it failed, or what was repaired.
    pub(crate) detail: Vec<String>,
    pub(crate) started_seconds: f64,
    pub(crate) seconds: f64,
}

/// The result of a command that ran a plan (install, secrets deploy, uninstall, recover).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunDocument {
    pub(crate) schema_version: u32,
    pub(crate) command: &'static str,
    pub(crate) plan: PlanDocument,
    pub(crate) results: Vec<ReleaseResult>,
    pub(crate) tiers: Vec<TierWall>,
    pub(crate) wall_seconds: f64,
    pub(crate) interrupted: bool,
    pub(crate) exit_code: i32,
    pub(crate) error: Option<String>,
}

impl RunDocument {
    pub(crate) fn new(
        plan: PlanDocument,
        report: &Report,
        exit_code: i32,
        error: Option<String>,
    ) -> RunDocument {
        RunDocument {
            schema_version: SCHEMA_VERSION,
            command: plan.command,
            results: report
                .releases
                .iter()
                .map(|r| ReleaseResult {
                    release: r.release.clone(),
                    tier: r.tier,
                    status: r.status.name(),
                    detail: match &r.status {
                        Status::Failed(why) => vec![why.clone()],
                        Status::Repaired(what) => what.clone(),
                        _ => vec![],
                    },
                    started_seconds: r.started.as_secs_f64(),
                    seconds: r.elapsed.as_secs_f64(),
                })
                .collect(),
            plan,
            tiers: report.tier_walls(),
            wall_seconds: report.wall.as_secs_f64(),
            interrupted: report.interrupted,
            exit_code,
            error,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WorkloadState {
    pub(crate) object: String,
    pub(crate) ready: i64,
    pub(crate) desired: i64,
    /// The restarts of its pods' containers (a restart does not make it unhealthy; it is shown).
    pub(crate) restarts: i64,
    /// How the latest terminated container ended ("<pod>/<container>: <reason>, exit <code>, at
    /// <time>"), when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_restart: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReleaseHealth {
    pub(crate) release: String,
    pub(crate) component: String,
    pub(crate) installed: bool,
    pub(crate) revision: Option<u64>,
    pub(crate) chart: Option<String>,
    pub(crate) chart_version: Option<String>,
    /// helm's status (`deployed`, `failed`, `pending-upgrade`, ...).
    pub(crate) status: Option<String>,
    pub(crate) healthy: bool,
    pub(crate) workloads: Vec<WorkloadState>,
    /// Missing, changed or unready objects, pending or failed states, each as a sentence.
    pub(crate) problems: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusDocument {
    pub(crate) schema_version: u32,
    pub(crate) command: &'static str,
    pub(crate) namespace: String,
    pub(crate) affix: String,
    pub(crate) affix_source: String,
    pub(crate) healthy: bool,
    pub(crate) releases: Vec<ReleaseHealth>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReleaseDiff {
    pub(crate) release: String,
    pub(crate) installed: bool,
    pub(crate) changes: Vec<Change>,
    /// Live objects that are missing, changed or not ready.
    pub(crate) drift: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DiffDocument {
    pub(crate) schema_version: u32,
    pub(crate) command: &'static str,
    pub(crate) namespace: String,
    pub(crate) changed: bool,
    pub(crate) releases: Vec<ReleaseDiff>,
}

/// `secrets rotate --output json` (docs/rotate.schema.json). Names values and objects, never values.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RotateDocument {
    pub(crate) schema_version: u32,
    pub(crate) command: &'static str,
    pub(crate) file: String,
    pub(crate) encrypted: bool,
    pub(crate) dry_run: bool,
    pub(crate) rotated: Vec<RotatedValue>,
    pub(crate) skipped: Vec<RotationSkip>,
    /// The workloads to restart after the file is deployed.
    pub(crate) restart: Vec<RotationRestart>,
}

#[derive(Debug, Serialize)]
pub(crate) struct RotatedValue {
    pub(crate) key: String,
    /// The Secrets (full names) it is rendered into.
    pub(crate) secrets: Vec<String>,
    /// The in-cluster database workload that keeps its own copy, if any.
    pub(crate) database: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct RotationSkip {
    pub(crate) key: String,
    pub(crate) reason: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct RotationRestart {
    pub(crate) component: String,
    pub(crate) workload: String,
    /// `deployment` or `statefulset`.
    pub(crate) kind: String,
}

/// `schemaVersion` of the doctor document (docs/doctor.schema.json), versioned on its own.
pub(crate) const DOCTOR_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    pub(crate) pass: usize,
    pub(crate) warn: usize,
    pub(crate) fail: usize,
    pub(crate) skip: usize,
    /// Checks the credentials may not make (403): neither pass nor fail.
    pub(crate) unknown: usize,
}

/// The result of `doctor` (docs/doctor.schema.json).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DoctorDocument {
    pub(crate) schema_version: u32,
    pub(crate) command: &'static str,
    pub(crate) namespace: String,
    pub(crate) experiment: Option<String>,
    /// The exposure modes of the rendered components.
    pub(crate) exposure: Vec<&'static str>,
    /// No check failed.
    pub(crate) ok: bool,
    pub(crate) summary: Summary,
    pub(crate) checks: Vec<Check>,
}
