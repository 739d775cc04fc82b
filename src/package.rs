//! `panda-install package`: helm package of every chart, optional push to OCI (issue 6; in progress).

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::settings::Settings;

#[derive(Debug, Clone, clap::Args)]
pub struct PackageArgs {}

pub async fn run(_args: &PackageArgs, _settings: &Settings, _catalog: &Catalog) -> Result<i32> {
    Err(Error::usage("panda-install package is not available yet"))
}
