//! `version` and `-V` (`-V -v`): the binary's version; in full, also the digest of the charts
//! embedded in it, where the charts are read from, and the version of every chart read.

use crate::cli::args::RootArgs;
use crate::error::Result;
use crate::exit_code;
use crate::locate::chart_source;
use crate::settings::catalog::{load_chart, Catalog};

pub(crate) fn run(root: &RootArgs, full: bool) -> Result<i32> {
    let mut text = format!("panda-install {}\n", env!("CARGO_PKG_VERSION"));
    if full {
        let source = chart_source(root.dir.as_deref())?;
        let catalog = Catalog::load(source.dir())?;
        let secrets = load_chart(&catalog.secrets_chart)?;
        let versions: Vec<String> = std::iter::once(&catalog.library)
            .chain(catalog.charts.values())
            .chain([&secrets])
            .map(|c| format!("{} {}", c.name, c.version))
            .collect();
        text.push_str(&format!("embedded charts: sha256:{}\n", crate::bundle::DIGEST));
        text.push_str(&format!("charts read from: {}\n", source.describe()));
        text.push_str(&format!("chart versions: {}\n", versions.join(", ")));
    }
    crate::output::print(&text)?;
    Ok(exit_code::SUCCESS)
}
