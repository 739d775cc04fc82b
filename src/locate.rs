//! Finds the directory that holds helm/, secrets/ and values/ (a checkout or an installed copy).

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

fn is_root(dir: &Path) -> bool {
    dir.join("helm").is_dir() && dir.join("secrets").join("Chart.yaml").is_file()
}

/// `--root`/`PANDA_INSTALL_ROOT`, else the current directory or an ancestor, else an ancestor of
/// the executable (covers `target/debug/panda-install` in a checkout and `<prefix>/bin` installs
/// with `<prefix>/share/panda-install`). A root equal to the current directory is returned empty,
/// so that printed paths stay short and relative.
pub(crate) fn project_root(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        if !is_root(dir) {
            return Err(Error::usage(format!(
                "--root {}: no helm/ and secrets/Chart.yaml there",
                dir.display()
            )));
        }
        return Ok(dir.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(|e| Error::Internal(e.into()))?;
    if is_root(&cwd) {
        return Ok(PathBuf::new());
    }
    if let Some(dir) = cwd.ancestors().find(|d| is_root(d)) {
        return Ok(dir.to_path_buf());
    }
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors() {
            if is_root(dir) {
                return Ok(dir.to_path_buf());
            }
            let shared = dir.join("share").join("panda-install");
            if is_root(&shared) {
                return Ok(shared);
            }
        }
    }
    Err(Error::usage("cannot find the panda-install charts (helm/, secrets/, values/): run from the project directory or pass --root DIR"))
}
