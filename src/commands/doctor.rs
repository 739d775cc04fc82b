//! `panda-install doctor`: the cluster prerequisites of exactly what an install with the same
//! arguments would deploy. The plan is built and rendered as the install would (same values,
//! affix, secrets release, globals); what the rendered objects need is checked against the live
//! cluster (docs/exposure.md §6). Reads only. Exits 0 when no check fails (warnings allowed), 75
//! when one does or the cluster does not answer.

use super::inputs::{Access, Inputs};
use super::Context;
use crate::cli::args::OutputFormat;
use crate::cli::DoctorArgs;
use crate::error::{Error, Result};
use crate::exit_code;
use crate::kube::Cluster;
use crate::output::documents::{DoctorDocument, Summary, DOCTOR_SCHEMA_VERSION};
use crate::output::{self};
use crate::plan::install::Mode;
use crate::plan::requirements::Requirements;
use crate::run::checks::{self, Scope, SecretsNeed, Status};
use crate::run::executor;
use crate::run::render::Renders;
use crate::settings::wait::Wait;

pub(crate) async fn run(args: &DoctorArgs, ctx: &Context) -> Result<i32> {
    let resolve = |access| {
        Inputs::resolve(
            ctx,
            &args.root,
            &args.instance,
            &args.select,
            args.secrets.as_deref().map(|p| (p, &args.sops)),
            &args.cluster,
            access,
        )
    };
    // What the secrets decide comes from the deployed secrets release, as for the install. A
    // namespace that cannot be read does not stop a doctor: it renders with the bundled values and
    // its checks report the cluster (unreachable, records unreadable) and fail.
    let inputs = match resolve(Access::Cluster).await {
        Err(Error::Preflight(_)) => resolve(Access::Offline).await?,
        other => other?,
    }
    .read_only()?;
    let helm = ctx.helm(&args.helm)?;
    let version = helm.version().await?;
    let cluster = Cluster::connect(&inputs.target).await;
    let mode = Mode::Install { wait: Wait::default(), create_namespace: false, rollback_on_failure: false };
    let p = inputs.plan(mode, version)?;
    executor::prepare(&p, &helm).await?;
    let needs = Requirements::from_manifests(&p.namespace, &Renders::new(&p, &helm).components().await?)?;
    let secrets = match &inputs.secrets {
        Some(file) => SecretsNeed::ThisRun {
            release: inputs.instance.secrets_release(),
            file: file.path.clone(),
            fixme: file.refuse_fixme(&inputs.catalog.secrets_chart).err().map(|e| e.to_string()),
        },
        None => SecretsNeed::Deployed { instance: inputs.instance.clone() },
    };
    let results = match cluster {
        Ok(cluster) => checks::run(&cluster, &needs, Some(&secrets), Scope::All).await,
        Err(Error::Preflight(why)) => checks::unreachable(&why, Scope::All),
        Err(e) => return Err(e),
    };
    let (pass, warn, fail, skip, unknown) = checks::tally(&results);
    let ok = fail == 0;
    match args.output.output {
        OutputFormat::Json => output::json(&DoctorDocument {
            schema_version: DOCTOR_SCHEMA_VERSION,
            command: "doctor",
            namespace: inputs.target.namespace.clone(),
            experiment: inputs.selection.experiment.clone(),
            exposure: needs.exposure(),
            ok,
            summary: Summary { pass, warn, fail, skip, unknown },
            checks: results,
        })?,
        OutputFormat::Text => {
            let mut out = String::new();
            for c in &results {
                out.push_str(&c.line());
                out.push('\n');
            }
            let failed: Vec<&str> =
                results.iter().filter(|c| c.status == Status::Fail).map(|c| c.id.name()).collect();
            out.push_str(&format!(
                "doctor: namespace {}: {pass} pass, {warn} warn, {fail} fail, {skip} skip, {unknown} unknown{}\n",
                inputs.target.namespace,
                if ok { String::new() } else { format!(" (failed: {})", failed.join(", ")) }
            ));
            output::print(&out)?;
        }
    }
    Ok(if ok { exit_code::SUCCESS } else { exit_code::PREFLIGHT })
}
