//! The validated inputs of the commands that render the stack (install, plan, diff, argocd):
//! the catalog, the instance, the selection, the cluster target and the secrets values.

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
    /// `cric.real` of the secrets values (the file given, else the bundled secrets/values.yaml).
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

impl Inputs {
    pub(crate) async fn resolve(
        ctx: &Context,
        root: &RootArgs,
        instance: &InstanceArgs,
        select: &SelectArgs,
        secrets: Option<(&Path, &SopsArgs)>,
        cluster: &ClusterArgs,
    ) -> Result<Inputs> {
        let catalog = ctx.catalog(root)?;
        let secrets = match secrets {
            Some((path, sops)) => Some(load_secrets(ctx, path, sops).await?),
            None => None,
        };
        // Without --secrets, the affix and cric.real come from the bundled values, as in bin/install.
        let bundled_path = catalog.secrets_chart.join("values.yaml");
        let bundled = match &secrets {
            None if bundled_path.is_file() => Some(SecretsFile::load(&bundled_path)?),
            _ => None,
        };
        let source = secrets.as_ref().or(bundled.as_ref());
        let instance = Instance::resolve(instance.affix.as_deref(), source)?;
        let cric_real = source.map(SecretsFile::cric_real).transpose()?.unwrap_or(true);
        let selection = Selection::resolve(select, &catalog)?;
        let target = ClusterTarget::resolve(cluster, &ProcessEnv)?;
        Ok(Inputs { catalog, instance, selection, target, secrets, cric_real })
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
