//! `panda-install uninstall`: the instance's releases in reverse tier order, each tier gone
//! before the next; the secrets release last with `--with-secrets`; claims kept unless
//! `--delete-data`. `--dry-run` reads the cluster, prints what would happen and changes nothing
//! (it does not even take the lock).

use super::install::finish;
use super::instance;
use super::Context;
use crate::cli::args::OutputFormat;
use crate::cli::UninstallArgs;
use crate::error::Result;
use crate::exit_code;
use crate::kube::Cluster;
use crate::output::documents::PlanDocument;
use crate::output::{self};
use crate::plan::text;
use crate::plan::uninstall::{self, Request};
use crate::run::executor::{self, Options};
use crate::run::lock_guard::LockGuard;
use crate::settings::selection;
use crate::settings::target::{ClusterTarget, ProcessEnv};
use crate::settings::wait::Wait;
use std::collections::BTreeMap;

pub(crate) async fn run(args: &UninstallArgs, ctx: &Context) -> Result<i32> {
    let catalog = ctx.catalog(&args.root)?;
    let components = selection::components(&args.components, &catalog)?;
    let wait = Wait::resolve(&args.wait)?;
    let target = ClusterTarget::resolve(&args.cluster, &ProcessEnv)?;
    let helm = ctx.helm(&args.helm)?;
    let version = helm.version().await?;
    let cluster = Cluster::connect(&target).await?;
    if !cluster.namespace_exists().await? {
        return Err(crate::error::Error::Preflight(format!("namespace {} does not exist", target.namespace)));
    }
    let releases = cluster.releases().await?;
    let instance = instance::find(args.instance.affix.as_deref(), &releases, &catalog, &target.namespace)?;
    let present: Vec<String> = releases.latest.keys().cloned().collect();
    let req = Request {
        instance: &instance,
        components: &components,
        with_secrets: args.with_secrets,
        wait: &wait,
        target: &target,
        present: &present,
    };
    let p = uninstall::plan(&req, &catalog, version)?;

    // Claims outlive their release: those of every selected release (planned now or gone earlier).
    let mut owners: Vec<String> = components.iter().map(|c| instance.release(*c)).collect();
    if args.with_secrets {
        owners.push(instance.secrets_release());
    }
    let mut claims = Vec::new();
    for release in &owners {
        let names: Vec<String> =
            cluster.claims_of(release).await?.into_iter().filter_map(|c| c.metadata.name).collect();
        if !names.is_empty() {
            claims.push((release.clone(), names));
        }
    }
    let verb = if args.delete_data { "delete" } else { "keep" };
    let why = if args.delete_data { "" } else { " (--delete-data would delete them)" };
    let claim_notes: Vec<String> = claims
        .iter()
        .map(|(r, names)| format!("{r}: {verb} PersistentVolumeClaim(s) {}{why}", names.join(", ")))
        .collect();

    if args.dry_run {
        let mut shown = p.clone();
        shown.notes.extend(claim_notes);
        match args.output.output {
            OutputFormat::Text => output::print(&text::render(&shown, &helm.display()))?,
            OutputFormat::Json => output::json(&PlanDocument::new("uninstall", &shown, &helm.display()))?,
        }
        return Ok(exit_code::SUCCESS);
    }
    for note in &p.notes {
        output::note(note);
    }
    let lock = LockGuard::take(&cluster, &ctx.interrupt).await?;
    let interrupt = lock.interrupt().clone();
    let result = lock
        .bound(async {
            let decisions = BTreeMap::new();
            let report = executor::execute(
                &p,
                &helm,
                &Options { concurrency: None, interrupt: &interrupt, decisions: &decisions },
            )
            .await?;
            if report.failed().is_empty() && !report.interrupted {
                delete_or_keep(&cluster, &claims, args.delete_data).await?;
            }
            finish("uninstall", &p, &helm, &report, args.output.output, "earlier tiers were left in place")
        })
        .await;
    lock.release(result).await
}

/// After the releases are gone: deletes their claims with `--delete-data`, else names them.
async fn delete_or_keep(cluster: &Cluster, claims: &[(String, Vec<String>)], delete: bool) -> Result<()> {
    for (release, names) in claims {
        if delete {
            cluster.delete_claims_of(release).await?;
            output::note(&format!("{release}: deleted PersistentVolumeClaim(s) {}", names.join(", ")));
        } else {
            output::note(&format!(
                "{release}: kept PersistentVolumeClaim(s) {} (--delete-data removes them)",
                names.join(", ")
            ));
        }
    }
    Ok(())
}
