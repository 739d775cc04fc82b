//! The validated inputs of the commands that render the stack (install, plan, diff, argocd):
//! the catalog, the instance, the selection, the cluster target and the secrets values.

use super::secrets_derived::{self, Reads};
use super::Context;
use crate::cli::args::{ClusterArgs, InstanceArgs, RootArgs, SelectArgs, SopsArgs};
use crate::error::Result;
use crate::plan::install::{self, Mode, Request};
use crate::plan::Plan;
use crate::settings::catalog::Catalog;
use crate::settings::helm_version::HelmVersion;
use crate::settings::instance::Instance;
use crate::settings::secrets_file::{Read, SecretsFile};
use crate::settings::selection::Selection;
use crate::settings::target::{ClusterTarget, ProcessEnv};
use std::path::Path;

pub(crate) struct Inputs {
    pub(crate) catalog: Catalog,
    pub(crate) instance: Instance,
    pub(crate) selection: Selection,
    pub(crate) target: ClusterTarget,
    /// `--secrets FILE`, loaded (decrypted in memory when sops-encrypted).
    pub(crate) secrets: Option<SecretsFile>,
    /// `cric.real` as the secrets decide it ([`secrets_derived`]).
    pub(crate) cric_real: bool,
}

/// The secrets file given as it is when plain; decrypted by sops into memory when encrypted (a
/// file sops cannot decrypt, or no usable sops, stops the command here, before any helm call).
pub(crate) async fn load_secrets(ctx: &Context, path: &Path, sops: &SopsArgs) -> Result<SecretsFile> {
    match SecretsFile::read(path)? {
        Read::Plain(file) => Ok(file),
        Read::Encrypted(path) => {
            let text = ctx.sops(sops).await?.decrypt(&path).await?;
            SecretsFile::from_decrypted(&path, text)
        }
    }
}

/// Whether [`Inputs::resolve`] reads the namespace for what the secrets decide when no `--secrets`
/// is given (`--template` does not: no cluster access).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Cluster,
    Offline,
}

impl Inputs {
    pub(crate) async fn resolve(
        ctx: &Context,
        root: &RootArgs,
        instance: &InstanceArgs,
        select: &SelectArgs,
        secrets: Option<(&Path, &SopsArgs)>,
        cluster: &ClusterArgs,
        access: Access,
    ) -> Result<Inputs> {
        let catalog = ctx.catalog_with_site(root, &select.site)?;
        let secrets = match secrets {
            Some((path, sops)) => Some(load_secrets(ctx, path, sops).await?),
            None => None,
        };
        let selection = Selection::resolve(select, &catalog)?;
        let target = ClusterTarget::resolve(cluster, &ProcessEnv)?;
        let reads = match access {
            Access::Cluster => Reads::Cluster(&target),
            Access::Offline => Reads::Offline,
        };
        let derived =
            secrets_derived::resolve(instance.affix.as_deref(), secrets.as_ref(), &catalog, reads).await?;
        Ok(Inputs {
            catalog,
            instance: derived.instance,
            selection,
            target,
            secrets,
            cric_real: derived.cric_real,
        })
    }

    /// For commands that only read (diff, doctor, --template): a chart whose packed library is
    /// missing or stale is rendered from a copy with the library beside it in the cache, so that
    /// nothing is written into the checkout.
    pub(crate) fn read_only(mut self) -> Result<Inputs> {
        for info in self.catalog.charts.values_mut().filter(|i| i.needs_dependency_build) {
            let dependencies = crate::settings::catalog::file_dependencies(&info.dir)?;
            info.dir = crate::bundle::checkout::staged(&info.dir, &dependencies)?;
            info.needs_dependency_build = false;
        }
        Ok(self)
    }

    /// The install plan of these inputs in `mode` (install, dry run, template, and the render
    /// that diff and doctor compare or check).
    pub(crate) fn plan(&self, mode: Mode, version: HelmVersion) -> Result<Plan> {
        let req = Request {
            instance: &self.instance,
            selection: &self.selection,
            target: &self.target,
            secrets: self.secrets.as_ref(),
            deploy_secrets: self.secrets.is_some(),
            cric_real: self.cric_real,
            mode,
        };
        install::plan(&req, &self.catalog, version)
    }
}

/// The inputs of a command that compares the plan with the deployed instance (diff,
/// upgrade-plan): the inputs, helm and its version, the cluster and helm's records. Without `-a`
/// and `--secrets` the instance is the one deployed in the namespace (like status and uninstall).
pub(crate) async fn against_deployed(
    ctx: &Context,
    args: &crate::cli::DiffArgs,
) -> Result<(Inputs, crate::helm::Helm, HelmVersion, crate::kube::Cluster, crate::kube::records::Releases)> {
    let secrets = args.secrets.as_deref().map(|p| (p, &args.sops));
    let inputs = Inputs::resolve(
        ctx,
        &args.root,
        &args.instance,
        &args.select,
        secrets,
        &args.cluster,
        Access::Cluster,
    )
    .await?;
    let helm = ctx.helm(&args.helm)?.with_secrets(inputs.secrets.as_ref());
    let version = helm.version().await?;
    let cluster = crate::kube::Cluster::connect(&inputs.target).await?;
    let releases = cluster.releases().await?;
    Ok((inputs, helm, version, cluster, releases))
}
