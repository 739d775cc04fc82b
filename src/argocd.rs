//! `panda-install argocd`: Argo CD Applications generated from the component graph (issue 6; in progress).

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::settings::Settings;

#[derive(Debug, Clone, clap::Args)]
pub struct ArgocdArgs {}

pub fn run(_args: &ArgocdArgs, _settings: &Settings, _catalog: &Catalog) -> Result<i32> {
    Err(Error::usage("panda-install argocd is not available yet"))
}
