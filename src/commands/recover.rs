//! `panda-install recover`: roll the instance's releases left `pending-*` by an interrupted run
//! back to their last deployed revision, or uninstall those never deployed. The history must be
//! read in full first: an unreadable record stops the command, it never guesses "never deployed".

use super::install::finish;
use super::instance;
use super::Context;
use crate::cli::args::OutputFormat;
use crate::cli::RecoverArgs;
use crate::error::Result;
use crate::exit_code;
use crate::kube::Cluster;
use crate::output::documents::PlanDocument;
use crate::output::{self};
use crate::plan::{recover, text};
use crate::run::executor::{self, Options};
use crate::run::lock_guard::LockGuard;
use crate::run::preflight::pending;
use crate::settings::selection;
use crate::settings::target::{ClusterTarget, ProcessEnv};
use crate::settings::wait::Wait;
use std::collections::BTreeMap;

pub(crate) async fn run(args: &RecoverArgs, ctx: &Context) -> Result<i32> {
    let catalog = ctx.catalog(&args.root)?;
    let components = selection::components(&args.components, &catalog)?;
    let wait = Wait::resolve(&args.wait)?;
    let target = ClusterTarget::resolve(&args.cluster, &ProcessEnv)?;
    let helm = ctx.helm(&args.helm)?;
    let version = helm.version().await?;
    let cluster = Cluster::connect(&target).await?;
    let releases = cluster.releases().await?;
    let instance = instance::find(args.instance.affix.as_deref(), &releases, &catalog, &target.namespace)?;
    let mut names: Vec<_> =
        components.iter().map(|c| (Some(*c), instance.release(*c), catalog.chart(*c).dir.clone())).collect();
    names.push((None, instance.secrets_release(), catalog.secrets_chart.clone()));
    let stuck = pending(&releases, &names);
    if !args.dry_run {
        recover::refuse_young(&stuck, crate::kube::records::unix_now(), wait.duration(), args.force)?;
    }
    let p = recover::plan(&stuck, &wait, &target, version);
    if args.dry_run || p.tiers.is_empty() {
        match args.output.output {
            OutputFormat::Text => output::print(&text::render(&p, &helm.display()))?,
            OutputFormat::Json => output::json(&PlanDocument::new("recover", &p, &helm.display()))?,
        }
        return Ok(exit_code::SUCCESS);
    }
    let lock = LockGuard::take(&cluster, &ctx.interrupt).await?;
    let interrupt = lock.interrupt().clone();
    let decisions = BTreeMap::new();
    let report = lock
        .bound(executor::execute(
            &p,
            &helm,
            &Options { concurrency: None, interrupt: &interrupt, decisions: &decisions },
        ))
        .await;
    let report = lock.release(report).await?;
    finish("recover", &p, &helm, &report, args.output.output, "the others were left as they are")
}
