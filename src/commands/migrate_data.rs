//! `panda-install migrate-data dump|restore STORE`: copies a database whose layout changed
//! between upstream and our charts (plan::migrate) with a Job in the namespace: `dump` against
//! the old database before the switch, `restore` into the new one after it (row counts checked).
//! `--dry-run` prints the claim and the Job. Credentials stay in their Secret.

use super::{instance, Context};
use crate::cli::args::OutputFormat;
use crate::cli::args::{ComponentArgs, SelectArgs};
use crate::cli::MigrateDataArgs;
use crate::error::{Error, Result};
use crate::exit_code;
use crate::kube::Cluster;
use crate::output;
use crate::plan::install;
use crate::plan::migrate::{self, Phase, Request};
use crate::run::lock_guard::LockGuard;
use crate::settings::catalog::Catalog;
use crate::settings::chart_image::{self, ChartImage};
use crate::settings::instance::Instance;
use crate::settings::selection::Selection;
use crate::settings::target::{ClusterTarget, ProcessEnv};
use crate::settings::wait::Wait;
use crate::settings::yaml;
use std::path::PathBuf;

pub(crate) async fn run(args: &MigrateDataArgs, ctx: &Context) -> Result<i32> {
    let info = args.store.info();
    let wait = Wait::resolve(&args.wait)?;
    let target = ClusterTarget::resolve(&args.cluster, &ProcessEnv)?;
    let database = args.database.clone().unwrap_or_else(|| info.default_database.to_string());
    migrate::check_database(&database).map_err(Error::usage)?;
    if let Some(image) = &args.image {
        migrate::check_image(image).map_err(Error::usage)?;
    }
    let catalog = ctx.catalog_with_site(&args.root, &args.site)?;
    let chart = chart_image(args, &catalog)?;
    let cluster = if args.dry_run { None } else { Some(Cluster::connect(&target).await?) };
    let releases = match &cluster {
        Some(c) => Some(c.releases().await?),
        None => None,
    };
    let instance = match (&releases, args.instance.affix.as_deref()) {
        (_, Some(flag)) => Instance::from_flag(flag)?,
        (Some(r), None) => instance::find(None, r, &catalog, &target.namespace)?,
        (None, None) => Instance::default_affix(),
    };
    let host = match (&args.host, args.phase) {
        (Some(h), _) => h.clone(),
        (None, Phase::Restore) => format!("{}-{}", instance.release(info.component), info.sub),
        (None, Phase::Dump) => {
            return Err(Error::usage(
                "migrate-data dump needs --host: the old database's Service (e.g. test-harvester-mariadb, panda-harvester-mariadb)",
            ))
        }
    };
    let policy_peer =
        migrate::policy_peer(args.phase, args.store, &host, &instance.release(info.component), |r| {
            releases.as_ref().is_some_and(|all| all.get(r).is_some())
        });
    let req = Request {
        policy_peer,
        phase: args.phase,
        store: args.store,
        namespace: target.namespace.clone(),
        host,
        database,
        secret: args
            .secret
            .clone()
            .unwrap_or_else(|| format!("{}-{}", instance.secrets_release(), info.secret_suffix)),
        claim: args.claim.clone().unwrap_or_else(|| migrate::default_claim(args.store)),
        size: args.size.clone(),
        deadline_seconds: wait.duration().as_secs().max(60),
        job: migrate::job_name(&instance, args.store, args.phase),
        image: args.image.clone().unwrap_or(chart.image),
        pull_secrets: chart.pull_secrets,
    };
    let claim = migrate::claim(&req);
    let job = migrate::job(&req);
    let Some(cluster) = cluster else {
        let docs = if args.phase == Phase::Dump { vec![claim, job] } else { vec![job] };
        match args.output.output {
            OutputFormat::Json => output::json(&docs)?,
            OutputFormat::Text => {
                let text: Vec<String> = docs.iter().map(yaml::to_string).collect::<Result<_>>()?;
                output::print(&format!("---\n{}", text.join("---\n")))?;
            }
        }
        return Ok(exit_code::SUCCESS);
    };
    // one run per namespace: no install, uninstall or other migration beside this Job
    let lock = LockGuard::take(&cluster, &ctx.interrupt).await?;
    let result = lock
        .bound(async {
            match args.phase {
                Phase::Dump => {
                    if cluster.ensure_claim(&claim).await? {
                        output::note(&format!("created claim {} (helm.sh/resource-policy: keep)", req.claim));
                    }
                }
                Phase::Restore => {
                    if !cluster.claim_exists(&req.claim).await? {
                        return Err(Error::Preflight(format!(
                            "claim {} does not exist in namespace {}: run `migrate-data dump {}` first",
                            req.claim, req.namespace, info.name
                        )));
                    }
                }
            }
            output::note(&format!(
                "migrate-data {} {}: database {} at {} (credentials from Secret {}), dump in claim {}",
                req.phase.name(),
                info.name,
                req.database,
                req.host,
                req.secret,
                req.claim
            ));
            let outcome = cluster.run_job(&job, wait.duration()).await?;
            output::print(&outcome.log)?;
            if !outcome.succeeded {
                return Err(Error::ReleaseFailed(format!(
                    "Job {} failed: its log (above) says why; the claim {} keeps the dump",
                    req.job, req.claim
                )));
            }
            output::note(&format!("Job {} completed", req.job));
            Ok(exit_code::SUCCESS)
        })
        .await;
    lock.release(result).await
}

/// The image and pull Secrets of the store's database as the charts derive them from the values
/// an install with the same `-e`, `--values` and `--site` layers.
fn chart_image(args: &MigrateDataArgs, catalog: &Catalog) -> Result<ChartImage> {
    let info = args.store.info();
    let select = SelectArgs {
        experiment: args.experiment.clone(),
        components: ComponentArgs { enable: vec![info.component.name().to_string()], disable: vec![] },
        values: args.values.clone(),
        site: args.site.clone(),
    };
    let selection = Selection::resolve(&select, catalog)?;
    let (files, _) = install::component_values(&selection, catalog, info.component);
    let files: Vec<PathBuf> = files.into_iter().map(|f| f.path).collect();
    let values = chart_image::coalesced(&catalog.chart(info.component).dir, info.sub, &files)?;
    chart_image::of(&values, info.sub, &files)
}
