//! `panda-install doctor`: the cluster prerequisites of exactly what an install with the same
//! arguments would deploy. The plan is built and rendered as the install would (same values,
//! affix, secrets release, globals); what the rendered objects need is checked against the live
//! cluster (docs/exposure.md §6). Reads only. Exits 0 when no check fails (warnings allowed), 75
//! when one does or the cluster does not answer.

use super::inputs::Inputs;
use super::instance;
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
    let mut inputs = Inputs::resolve(
        ctx,
        &args.root,
        &args.instance,
        &args.select,
        args.secrets.as_deref().map(|p| (p, &args.sops)),
        &args.cluster,
    )
    .await?
    .read_only()?;
    let helm = ctx.helm(&args.helm)?;
    let version = helm.version().await?;
    let cluster = Cluster::connect(&inputs.target).await;
    if let (Ok(cluster), None, None) = (&cluster, &args.instance.affix, &args.secrets) {
        // like status and diff: the instance deployed in the namespace, if there is one; before
        // the first deployment, the affix the install would use. Records that cannot be read do
        // not stop a doctor: the secrets.release check reads them again and reports them unreadable
        if let Ok(releases) = cluster.releases().await {
            if releases.latest.values().any(|r| r.chart_name == inputs.catalog.secrets_name) {
                inputs.instance = instance::find(None, &releases, &inputs.catalog, &inputs.target.namespace)?;
            }
        }
    }
    let mode = Mode::Install { wait: Wait::default(), create_namespace: false, rollback_on_failure: false };
    let p = inputs.plan(mode, version)?;
    executor::prepare(&p, &helm).await?;
    let needs = Requirements::from_manifests(&p.namespace, &Renders::new(&p, &helm).components().await?)?;
    let secrets = match &inputs.secrets {
        Some(file) => SecretsNeed::ThisRun {
            release: inputs.instance.secrets_release(),
            file: file.path.clone(),
            fixme: file.refuse_fixme().err().map(|e| e.to_string()),
        },
        None => SecretsNeed::Deployed { instance: inputs.instance.clone() },
    };
    let results = match cluster {
        Ok(cluster) => checks::run(&cluster, &needs, Some(&secrets), Scope::All).await,
        Err(Error::Preflight(why)) => checks::unreachable(&why, Scope::All),
        Err(e) => return Err(e),
    };
    let (pass, warn, fail, skip) = checks::tally(&results);
    let ok = fail == 0;
    match args.output.output {
        OutputFormat::Json => output::json(&DoctorDocument {
            schema_version: DOCTOR_SCHEMA_VERSION,
            command: "doctor",
            namespace: inputs.target.namespace.clone(),
            experiment: inputs.selection.experiment.clone(),
            exposure: needs.exposure(),
            ok,
            summary: Summary { pass, warn, fail, skip },
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
                "doctor: namespace {}: {pass} pass, {warn} warn, {fail} fail, {skip} skip{}\n",
                inputs.target.namespace,
                if ok { String::new() } else { format!(" (failed: {})", failed.join(", ")) }
            ));
            output::print(&out)?;
        }
    }
    Ok(if ok { exit_code::SUCCESS } else { exit_code::PREFLIGHT })
}
