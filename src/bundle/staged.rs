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

/// A staged copy older than this was left by a run that was killed (SIGKILL, power loss): removed.
const LEFT_BEHIND: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

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
    clear_left_behind(&parent);
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

/// Removes the copies of runs that ended without removing theirs (best effort: a copy that cannot
/// be removed stays, and the run goes on).
fn clear_left_behind(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let old = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        let stale = entry.file_name().to_string_lossy().starts_with("secrets.")
            && old.is_some_and(|age| age > LEFT_BEHIND);
        if stale && fs::remove_dir_all(entry.path()).is_ok() {
            tracing::debug!("removed a staged secrets chart left behind: {}", entry.path().display());
        }
    }
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

        // a copy a killed run left a day ago goes with the next staging; a fresh one stays
        let parent = base.path().join("panda-install/staged");
        let (stale, fresh) = (parent.join("secrets.killed"), parent.join("secrets.running"));
        for dir in [&stale, &fresh] {
            fs::create_dir_all(dir.join("files")).unwrap();
        }
        let day_ago = std::time::SystemTime::now() - LEFT_BEHIND - std::time::Duration::from_secs(60);
        fs::File::open(&stale).unwrap().set_modified(day_ago).unwrap();
        let second = stage_secrets(base.path(), &chart, &site).unwrap();
        assert!(!stale.exists() && fresh.is_dir(), "only the stale copy is cleared");
        assert_ne!(second.path(), staged.path(), "one copy per run");
        drop(second);

        let copy = staged.clone();
        drop(staged);
        assert!(top.is_dir(), "a clone keeps it");
        drop(copy);
        assert!(!top.exists(), "removed with the last handle");
    }
}
