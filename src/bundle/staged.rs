//! The secrets chart staged for one run with a site's secrets files (`<site>/secrets/files/`)
//! laid over its `files/`: helm reads certificates, CRIC JSONs and IAM files through `.Files`
//! only from inside the chart, and neither the checkout nor the read-only cache may receive them.
//! The copy goes into a private (0700) folder of the user's cache, one per run, and is removed
//! when the run ends (the catalog holding it is dropped).

use crate::error::{Error, Result};
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The folder of the site's secrets files, relative to the site directory.
pub(crate) const SITE_SECRETS_FILES: &str = "secrets/files";

/// A staged copy of the secrets chart, removed when the last handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Staged(Arc<tempfile::TempDir>);

impl PartialEq for Staged {
    fn eq(&self, other: &Self) -> bool {
        self.path() == other.path()
    }
}
impl Eq for Staged {}

impl Staged {
    /// The staged chart's folder.
    pub(crate) fn path(&self) -> PathBuf {
        self.0.path().join("secrets")
    }
}

/// The secrets chart `chart` copied under `<base>/panda-install/staged/` (0700) with every file of
/// `site_files` laid over its `files/` by relative path. The file names and contents never reach
/// a log line.
pub(crate) fn stage_secrets(base: &Path, chart: &Path, site_files: &Path) -> Result<Staged> {
    let parent = base.join("panda-install").join("staged");
    let failed = |path: &Path, e: std::io::Error| {
        Error::data(path, format!("cannot stage the secrets chart with the site's files: {e}"))
    };
    fs::create_dir_all(&parent).map_err(|e| failed(&parent, e))?;
    fs::set_permissions(&parent, fs::Permissions::from_mode(0o700)).map_err(|e| failed(&parent, e))?;
    let dir =
        tempfile::Builder::new().prefix("secrets.").tempdir_in(&parent).map_err(|e| failed(&parent, e))?;
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).map_err(|e| failed(dir.path(), e))?;
    let staged = Staged(Arc::new(dir));
    let top = staged.path();
    copy_tree(chart, &top).map_err(|e| failed(chart, e))?;
    copy_tree(site_files, &top.join("files")).map_err(|e| failed(site_files, e))?;
    tracing::debug!("staged the secrets chart with the site's secrets files in {}", top.display());
    Ok(staged)
}

/// Copies every file under `from` to the same relative path under `to` (replacing one there),
/// writable by the owner only.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    fs::set_permissions(to, fs::Permissions::from_mode(0o700))?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            if target.exists() {
                fs::remove_file(&target)?;
            }
            fs::write(&target, fs::read(entry.path())?)?;
            fs::set_permissions(&target, fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_files_are_laid_over_the_chart_and_removed_with_the_last_handle() {
        let base = tempfile::tempdir().unwrap();
        let chart = base.path().join("chart");
        fs::create_dir_all(chart.join("files/panda_certs")).unwrap();
        fs::write(chart.join("Chart.yaml"), "name: secrets\n").unwrap();
        fs::write(chart.join("files/panda_certs/README"), "readme\n").unwrap();
        fs::write(chart.join("files/panda_certs/hostkey.pem"), "chart's\n").unwrap();
        let site = base.path().join("site-files");
        fs::create_dir_all(site.join("panda_certs")).unwrap();
        fs::write(site.join("panda_certs/hostkey.pem"), "site's\n").unwrap();
        fs::create_dir_all(site.join("cric_jsons")).unwrap();
        fs::write(site.join("cric_jsons/panda_queues.json"), "{}\n").unwrap();

        let staged = stage_secrets(base.path(), &chart, &site).unwrap();
        let top = staged.path();
        assert_eq!(fs::read_to_string(top.join("Chart.yaml")).unwrap(), "name: secrets\n");
        assert_eq!(fs::read_to_string(top.join("files/panda_certs/README")).unwrap(), "readme\n");
        assert_eq!(fs::read_to_string(top.join("files/panda_certs/hostkey.pem")).unwrap(), "site's\n");
        assert_eq!(fs::read_to_string(top.join("files/cric_jsons/panda_queues.json")).unwrap(), "{}\n");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&base.path().join("panda-install/staged")), 0o700);
        assert_eq!(mode(top.parent().unwrap()), 0o700);
        assert_eq!(mode(&top.join("files/panda_certs/hostkey.pem")), 0o600);
        assert_eq!(fs::read_to_string(chart.join("files/panda_certs/hostkey.pem")).unwrap(), "chart's\n");

        let copy = staged.clone();
        drop(staged);
        assert!(top.is_dir(), "a clone keeps it");
        drop(copy);
        assert!(!top.exists(), "removed with the last handle");
    }
}
