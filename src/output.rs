//! The `--output json` document: the plan, each release's result, revision and timings, and the
//! exit code. Its schema is docs/output.schema.json; `schemaVersion` changes only on a breaking change.

use crate::execute::{Report, Status};
use crate::plan::Plan;
use crate::releases::Release;
use serde_json::{json, Value};

pub const SCHEMA_VERSION: u32 = 1;

pub fn document(command: &str, plan: &Plan, helm_program: &str, report: &Report, deployed: &[Release], exit_code: i32, error: Option<String>) -> Value {
    let tiers: Vec<Value> = plan
        .tiers
        .iter()
        .map(|t| {
            json!({
                "releases": t.steps.iter().map(|s| json!({
                    "release": s.release,
                    "component": s.component.map(|c| c.name()).unwrap_or("secrets"),
                    "command": std::iter::once(helm_program.to_string()).chain(s.invocation.args.iter().cloned()).collect::<Vec<_>>(),
                })).collect::<Vec<_>>()
            })
        })
        .collect();
    let results: Vec<Value> = report
        .releases
        .iter()
        .map(|r| {
            let (status, reason) = match &r.status {
                Status::Ok => ("ok", None),
                Status::Unchanged => ("unchanged", None),
                Status::Failed(why) => ("failed", Some(why.clone())),
                Status::NotAttempted => ("not-attempted", None),
            };
            let revision = deployed.iter().find(|d| d.name == r.release).and_then(|d| d.revision.parse::<u64>().ok());
            json!({
                "release": r.release,
                "tier": r.tier,
                "status": status,
                "error": reason,
                "revision": revision,
                "startedSeconds": r.started.as_secs_f64(),
                "seconds": r.elapsed.as_secs_f64(),
            })
        })
        .collect();
    let tier_walls: Vec<Value> = report.tier_walls().into_iter().map(|(t, w)| json!({"tier": t, "seconds": w.as_secs_f64()})).collect();
    json!({
        "schemaVersion": SCHEMA_VERSION,
        "command": command,
        "helm": plan.helm.to_string(),
        "notes": plan.notes,
        "plan": {"tiers": tiers},
        "results": results,
        "tiers": tier_walls,
        "wallSeconds": report.wall.as_secs_f64(),
        "interrupted": report.interrupted,
        "exitCode": exit_code,
        "error": error,
    })
}
