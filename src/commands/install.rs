//! `panda-install` / `install` / `plan`: install or upgrade tier by tier; `--dry-run` (and
//! `plan`) print the plan, `--template` renders the manifests. A re-run leaves releases that match
//! the cluster alone and repairs the ones that drifted.

use super::apply::{self, Apply};
use super::inputs::{Access, Inputs};
use super::Context;
use crate::cli::args::{DeployArgs, OutputFormat};
use crate::cli::InstallArgs;
use crate::error::{Error, Result};
use crate::exit_code;
use crate::helm::Helm;
use crate::output::{
    self,
    documents::{PlanDocument, RunDocument},
};
use crate::plan::install::Mode;
use crate::plan::{text, Plan};
use crate::run::executor;
use crate::run::preflight::{self, Checks};
use crate::settings::helm_version::HelmVersion;
use crate::settings::wait::Wait;

pub(crate) async fn run(args: &InstallArgs, ctx: &Context) -> Result<i32> {
    if args.dry_run {
        return plan(&args.deploy, ctx).await;
    }
    let d = &args.deploy;
    let access = if args.template { Access::Offline } else { Access::Cluster };
    let inputs = resolve(d, ctx, access).await?;
    let wait = Wait::resolve(&d.wait)?;
    let helm = ctx.helm(&d.helm)?.with_secrets(inputs.secrets.as_ref());
    let version = helm.version().await?;
    if args.template {
        // kept until helm ran: it holds the staged secrets chart of a site (removed on drop)
        let inputs = inputs.read_only()?;
        let p = inputs.plan(Mode::Template, version)?;
        executor::render_all(&p, &helm, &ctx.interrupt).await?;
        return Ok(exit_code::SUCCESS);
    }
    if let Some(file) = &inputs.secrets {
        file.refuse_fixme(&inputs.catalog.secrets_chart)?;
    }
    let mode = Mode::Install {
        wait: wait.clone(),
        create_namespace: d.create_namespace,
        rollback_on_failure: d.rollback_on_failure,
    };
    let p = inputs.plan(mode, version)?;
    tracing::info!("using {} ({version})", helm.display());
    for line in text::render(&p, &helm.display()).lines() {
        tracing::info!("{line}");
    }
    let checks = Checks {
        plan: &p,
        instance: &inputs.instance,
        create_namespace: d.create_namespace,
        deploys_secrets: inputs.secrets.is_some(),
        recover: d.recover,
        force_recover: d.force,
        wait: &wait,
    };
    let cleared = preflight::check(&checks, &helm, &ctx.interrupt).await?;
    let interrupt = cleared.lock.interrupt().clone();
    let result = cleared
        .lock
        .bound(async {
            executor::prepare(&p, &helm).await?;
            let how = Apply {
                command: "install",
                adopt: args.adopt,
                force_upgrade: d.force_upgrade,
                concurrency: d.concurrency,
                output: d.output.output,
                upgrade: Some((&inputs.instance, wait.duration())),
            };
            apply::run(&p, &helm, &cleared, &interrupt, &how).await
        })
        .await;
    cleared.lock.release(result).await
}

/// `plan` and `--dry-run`: the plan, printed; helm is asked its version only to show exact flags.
pub(crate) async fn plan(d: &DeployArgs, ctx: &Context) -> Result<i32> {
    let inputs = resolve(d, ctx, Access::Cluster).await?;
    let wait = Wait::resolve(&d.wait)?;
    let (program, version, note) = match ctx.helm(&d.helm) {
        Ok(helm) => match helm.version().await {
            Ok(v) => (helm.display(), v, None),
            Err(e) => {
                ("helm".to_string(), HelmVersion::ASSUMED, Some(format!("{e}; flags shown for helm 4")))
            }
        },
        Err(e) => ("helm".to_string(), HelmVersion::ASSUMED, Some(format!("{e}; flags shown for helm 4"))),
    };
    let mode = Mode::Install {
        wait,
        create_namespace: d.create_namespace,
        rollback_on_failure: d.rollback_on_failure,
    };
    let mut p = inputs.plan(mode, version)?;
    p.notes.extend(note);
    if d.recover {
        p.notes.push(
            "--recover: pending releases found at run time are rolled back first (see `recover --dry-run`)"
                .into(),
        );
    }
    match d.output.output {
        OutputFormat::Text => output::print(&text::render(&p, &program))?,
        OutputFormat::Json => output::json(&PlanDocument::new("plan", &p, &program))?,
    }
    Ok(exit_code::SUCCESS)
}

async fn resolve(d: &DeployArgs, ctx: &Context, access: Access) -> Result<Inputs> {
    if d.concurrency == Some(0) {
        return Err(Error::usage("--concurrency must be at least 1"));
    }
    let secrets = d.secrets.as_deref().map(|p| (p, &d.sops));
    Inputs::resolve(ctx, &d.root, &d.instance, &d.select, secrets, &d.cluster, access).await
}

/// Prints the summary (or the JSON document) of a plan that ran and returns its exit code:
/// interrupted 130, a failure 70, otherwise 0.
pub(crate) fn finish(
    command: &'static str,
    p: &Plan,
    helm: &Helm,
    report: &crate::run::report::Report,
    format: OutputFormat,
    after_failure: &str,
) -> Result<i32> {
    let failed = report.failed();
    let error = if report.interrupted {
        Some(Error::Interrupted)
    } else if report.lock_lost {
        Some(crate::run::lock_guard::lock_lost())
    } else if !failed.is_empty() {
        Some(Error::ReleaseFailed(format!("{} failed; {after_failure} (see the summary)", failed.join(", "))))
    } else if report.unexplained_skips() {
        Some(Error::Internal(anyhow::anyhow!("releases were not attempted although nothing failed")))
    } else {
        None
    };
    let code = error.as_ref().map_or(exit_code::SUCCESS, Error::exit_code);
    match format {
        OutputFormat::Text => output::print(&report.summary())?,
        OutputFormat::Json => {
            let plan = PlanDocument::new(command, p, &helm.display());
            output::json(&RunDocument::new(plan, report, code, error.as_ref().map(|e| e.to_string())))?;
        }
    }
    match error {
        Some(e) => Err(e),
        None => Ok(exit_code::SUCCESS),
    }
}
