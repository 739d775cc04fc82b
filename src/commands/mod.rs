//! One module per command. Each turns its own arguments into validated settings, builds a typed
//! plan and runs it through the shared [`Context`].

mod apply;
pub(crate) mod argocd;
pub(crate) mod completions;
pub(crate) mod diff;
pub(crate) mod doctor;
pub(crate) mod flux;
mod generated;
pub(crate) mod import;
pub(crate) mod inputs;
pub(crate) mod install;
mod instance;
pub(crate) mod migrate_data;
pub(crate) mod package;
mod plaintext;
pub(crate) mod rbac;
pub(crate) mod recover;
pub(crate) mod secrets;
mod secrets_derived;
pub(crate) mod site;
pub(crate) mod status;
pub(crate) mod uninstall;
pub(crate) mod upgrade_plan;
pub(crate) mod version;

use crate::cli::args::{HelmArgs, RootArgs, SiteArgs, SopsArgs};
use crate::cli::{Cli, Command, SecretsCommand, SiteCommand};
use crate::error::Result;
use crate::helm::Helm;
use crate::locate::chart_source;
use crate::process::Runner;
use crate::run::interrupt::Interrupt;
use crate::settings::catalog::Catalog;
use crate::settings::site::Site;
use crate::sops::Sops;

/// What every command shares: the process runner (so an interrupt reaches every child), the
/// interrupt flag, and how to find the charts, helm and sops.
pub(crate) struct Context {
    pub(crate) runner: Runner,
    pub(crate) interrupt: Interrupt,
}

impl Context {
    /// The charts' catalog, from `--root` or found.
    pub(crate) fn catalog(&self, root: &RootArgs) -> Result<Catalog> {
        let source = chart_source(root.dir.as_deref())?;
        tracing::info!("charts: {}", source.describe());
        Catalog::load(source.dir())
    }

    /// The charts' catalog with the site's experiments (`--site`, else one found) layered over
    /// the bundled ones.
    pub(crate) fn catalog_with_site(&self, root: &RootArgs, site: &SiteArgs) -> Result<Catalog> {
        let catalog = self.catalog(root)?;
        match Site::find(site.dir.as_deref())? {
            Some(site) => {
                tracing::info!("site: {}", site.dir.display());
                let mut catalog = crate::settings::site::layer(catalog, &site)?;
                let files = site.dir.join(crate::bundle::SITE_SECRETS_FILES);
                if files.is_dir() {
                    let base = crate::bundle::cache_base()?;
                    let staged = crate::bundle::stage_secrets(&base, &catalog.secrets_chart, &files)?;
                    tracing::info!("secrets chart: staged with the site's {}", files.display());
                    catalog.secrets_chart = staged.path();
                    catalog.staged_secrets = Some(staged);
                }
                Ok(catalog)
            }
            None => Ok(catalog),
        }
    }

    /// helm, located (its version is asked where it is needed).
    pub(crate) fn helm(&self, args: &HelmArgs) -> Result<Helm> {
        Helm::locate(args.program.as_deref(), self.runner.clone())
    }

    /// sops, located and its version checked (only for a sops-encrypted file).
    pub(crate) async fn sops(&self, args: &SopsArgs) -> Result<Sops> {
        Sops::ready(args.sops_binary.as_deref(), self.runner.clone()).await
    }
}

/// Runs the command the user typed and returns the exit code.
pub(crate) async fn run(cli: Cli, ctx: &Context) -> Result<i32> {
    if cli.version {
        return version::run(&cli.install.deploy.root, cli.verbose > 0);
    }
    match cli.command {
        None => install::run(&cli.install, ctx).await,
        Some(Command::Install(args)) => install::run(&args, ctx).await,
        Some(Command::Plan(args)) => install::plan(&args.deploy, ctx).await,
        Some(Command::Status(args)) => status::run(&args, ctx).await,
        Some(Command::Diff(args)) => diff::run(&args, ctx).await,
        Some(Command::Doctor(args)) => doctor::run(&args, ctx).await,
        Some(Command::Uninstall(args)) => uninstall::run(&args, ctx).await,
        Some(Command::Recover(args)) => recover::run(&args, ctx).await,
        Some(Command::Secrets(SecretsCommand::Init(args))) => secrets::init::run(&args, ctx).await,
        Some(Command::Secrets(SecretsCommand::Deploy(args))) => secrets::deploy::run(&args, ctx).await,
        Some(Command::Secrets(SecretsCommand::Edit(args))) => secrets::edit::run(&args, ctx).await,
        Some(Command::Secrets(SecretsCommand::Rotate(args))) => secrets::rotate::run(&args, ctx).await,
        Some(Command::Site(SiteCommand::Init(args))) => site::init(&args, ctx),
        Some(Command::Argocd(args)) => argocd::run(&args, ctx).await,
        Some(Command::Flux(args)) => flux::run(&args, ctx).await,
        Some(Command::Package(args)) => package::run(&args, ctx).await,
        Some(Command::Import(args)) => import::run(&args, ctx).await,
        Some(Command::MigrateData(args)) => migrate_data::run(&args, ctx).await,
        Some(Command::Rbac(args)) => rbac::run(&args),
        Some(Command::UpgradePlan(args)) => upgrade_plan::run(&args, ctx).await,
        Some(Command::Completions(args)) => completions::completions(&args, ctx),
        Some(Command::Man) => completions::man(),
        Some(Command::Version(args)) => version::run(&args.root, true),
    }
}
