//! `panda-install diff`: what an install would change, per release and object: the rendered
//! manifests against the deployed ones, and every live object against what the chart sets
//! (missing, changed by hand, not ready). Secret values are redacted. Exits 0 when nothing would
//! change, 2 when something would. Reads only: no lock, no change.

use super::inputs;
use super::Context;
use crate::cli::args::OutputFormat;
use crate::cli::DiffArgs;
use crate::error::Result;
use crate::exit_code;
use crate::kube::drift::WITHOUT_PATCH;
use crate::output::documents::{DiffDocument, ReleaseDiff, SCHEMA_VERSION};
use crate::output::{self};
use crate::plan::install::Mode;
use crate::run::convergence::compare_plan;
use crate::run::executor;
use crate::run::render::Renders;
use crate::settings::wait::Wait;

pub(crate) async fn run(args: &DiffArgs, ctx: &Context) -> Result<i32> {
    let (inputs, helm, version, cluster, releases) = inputs::against_deployed(ctx, args).await?;
    let mode = Mode::Install { wait: Wait::default(), create_namespace: false, rollback_on_failure: false };
    let p = inputs.plan(mode, version)?;
    executor::prepare(&p, &helm).await?;
    let compared = compare_plan(&p, &cluster, &releases, true, &Renders::new(&p, &helm)).await?;
    let diffs: Vec<ReleaseDiff> = p
        .steps()
        .filter_map(|s| compared.get(&s.release.name))
        .map(|c| ReleaseDiff {
            release: c.release.clone(),
            installed: c.deployed.is_some(),
            changes: c.changes.clone(),
            drift: c.drift.iter().map(|o| o.describe()).collect(),
        })
        .collect();
    let changed = diffs.iter().any(|d| !d.changes.is_empty() || !d.drift.is_empty());
    match args.output.output {
        OutputFormat::Json => output::json(&DiffDocument {
            schema_version: SCHEMA_VERSION,
            command: "diff",
            namespace: inputs.target.namespace.clone(),
            changed,
            releases: diffs,
        })?,
        OutputFormat::Text => {
            let mut out = String::new();
            for d in &diffs {
                if d.changes.is_empty() && d.drift.is_empty() {
                    out.push_str(&format!("{}: no change\n", d.release));
                    continue;
                }
                let state = if d.installed { "" } else { " (not installed)" };
                out.push_str(&format!("{}{state}:\n", d.release));
                for c in &d.changes {
                    out.push_str(&format!("  {} {}\n", c.kind, c.object));
                    for line in &c.lines {
                        out.push_str(&format!("      {line}\n"));
                    }
                }
                for drift in &d.drift {
                    out.push_str(&format!("  drifted {drift}\n"));
                }
            }
            output::print(&out)?;
        }
    }
    if cluster.compared_without_patch() {
        output::note(WITHOUT_PATCH);
    }
    Ok(if changed { exit_code::DIFF_CHANGES } else { exit_code::SUCCESS })
}
