//! `panda-install upgrade-plan`: the deployed PanDA versions (helm's records of the instance)
//! against the planned ones (what an install with the same arguments renders), the compatibility
//! table's verdict and the upgrade's steps. Exits 0 with the steps, 75 when the table refuses the
//! planned combination. Reads only, except `--restore`: the restore Job of the latest backup.

use super::inputs::{against_deployed, Inputs};
use super::Context;
use crate::cli::args::OutputFormat;
use crate::cli::UpgradePlanArgs;
use crate::error::{Error, Result};
use crate::exit_code;
use crate::kube::Cluster;
use crate::output;
use crate::plan::install::Mode;
use crate::plan::upgrade::{self, Phase, SchemaJob};
use crate::run::executor;
use crate::run::render::Renders;
use crate::run::upgrade::compute;
use crate::settings::component::Component;
use crate::settings::wait::Wait;

pub(crate) async fn run(args: &UpgradePlanArgs, ctx: &Context) -> Result<i32> {
    let (inputs, helm, version, cluster, releases) = against_deployed(ctx, &args.inputs).await?;
    if args.restore {
        return restore(&cluster, &inputs, &releases).await;
    }
    let mode = Mode::Install { wait: Wait::default(), create_namespace: false, rollback_on_failure: false };
    let p = inputs.plan(mode, version)?;
    executor::prepare(&p, &helm).await?;
    let u = compute(&p, &releases, &Renders::new(&p, &helm), &inputs.instance).await?;
    match args.inputs.output.output {
        OutputFormat::Json => output::json(&u)?,
        OutputFormat::Text => output::print(&format!(
            "namespace {}, {}\n{}",
            inputs.target.namespace,
            inputs.instance.describe(),
            upgrade::describe(&u)
        ))?,
    }
    Ok(if u.broken.is_empty() { exit_code::SUCCESS } else { exit_code::PREFLIGHT })
}

/// The restore Job of the latest backup, with the deployed database image.
async fn restore(
    cluster: &Cluster,
    inputs: &Inputs,
    releases: &crate::kube::records::Releases,
) -> Result<i32> {
    let panda = inputs.instance.release(Component::Panda);
    let record = releases.get(&panda).ok_or_else(|| {
        Error::Preflight(format!("release {panda} is not installed: nothing to restore into"))
    })?;
    let objects =
        crate::run::manifests::objects(&record.manifest, &format!("the deployed manifest of {panda}"))?;
    let database = upgrade::database_pod(objects.values())
        .ok_or_else(|| Error::Preflight(format!("release {panda} runs no in-cluster panda-database")))?;
    let claim = upgrade::backup_claim(&panda);
    if !cluster.claim_exists(&claim).await? {
        return Err(Error::Preflight(format!("claim {claim} does not exist: no backup was taken")));
    }
    let req = SchemaJob {
        phase: Phase::Restore,
        namespace: inputs.target.namespace.clone(),
        host: format!("{panda}-postgres"),
        image: database.image,
        pull_secrets: database.pull_secrets,
        release: panda.clone(),
        secret: format!("{}-panda-envs", inputs.instance.secrets_release()),
        claim,
        patches: vec![],
        deadline_seconds: 3600,
    };
    let outcome = cluster.run_job(&upgrade::job(&req), std::time::Duration::from_secs(3600)).await?;
    output::note(outcome.log.trim_end());
    if outcome.succeeded {
        Ok(exit_code::SUCCESS)
    } else {
        Err(Error::ReleaseFailed(format!(
            "the restore Job {} failed",
            upgrade::job_name(&panda, Phase::Restore)
        )))
    }
}
