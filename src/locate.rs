//! Finds the directory that holds helm/, secrets/ and values/ (a checkout, or the charts embedded
//! in the binary), and the programs panda-install runs (helm, sops).

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

pub(crate) fn is_root(dir: &Path) -> bool {
    dir.join("helm").is_dir() && dir.join("secrets").join("Chart.yaml").is_file()
}

/// Where the charts, the secrets chart and the bundled experiments are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChartSource {
    /// `--root DIR` / `PANDA_INSTALL_ROOT`.
    Explicit(PathBuf),
    /// A checkout found in the current directory or one of its parents.
    Checkout(PathBuf),
    /// The charts embedded in the binary, unpacked into the cache (`unpacked`: by this run).
    Embedded { dir: PathBuf, unpacked: bool },
}

impl ChartSource {
    /// The folder holding helm/, secrets/ and values/ (empty: the current directory).
    pub(crate) fn dir(&self) -> &Path {
        match self {
            ChartSource::Explicit(d) | ChartSource::Checkout(d) | ChartSource::Embedded { dir: d, .. } => d,
        }
    }

    /// One line for `version` and `-v`: where the charts come from and why.
    pub(crate) fn describe(&self) -> String {
        let shown =
            |d: &Path| if d.as_os_str().is_empty() { ".".to_string() } else { d.display().to_string() };
        match self {
            ChartSource::Explicit(d) => format!("{} (--root / PANDA_INSTALL_ROOT)", shown(d)),
            ChartSource::Checkout(d) => format!("{} (the checkout around the current directory)", shown(d)),
            ChartSource::Embedded { dir, .. } => format!("{} (embedded in this binary)", dir.display()),
        }
    }
}

/// `--root`/`PANDA_INSTALL_ROOT`, else a checkout in the current directory or an ancestor (a
/// developer's `cargo run`: paths stay short and relative, and match the repository that Argo CD
/// reads), else the charts embedded in the binary, unpacked into the user's cache. A checkout equal
/// to the current directory is returned empty, so that printed paths stay short and relative.
pub(crate) fn chart_source(explicit: Option<&Path>) -> Result<ChartSource> {
    if let Some(dir) = explicit {
        if !is_root(dir) {
            return Err(Error::usage(format!(
                "--root {}: no helm/ and secrets/Chart.yaml there",
                dir.display()
            )));
        }
        return Ok(ChartSource::Explicit(dir.to_path_buf()));
    }
    let cwd = std::env::current_dir().map_err(|e| Error::Internal(e.into()))?;
    if is_root(&cwd) {
        return Ok(ChartSource::Checkout(PathBuf::new()));
    }
    if let Some(dir) = cwd.ancestors().find(|d| is_root(d)) {
        return Ok(ChartSource::Checkout(dir.to_path_buf()));
    }
    let (dir, unpacked) = crate::bundle::ensure(&crate::bundle::cache_base()?)?;
    Ok(ChartSource::Embedded { dir, unpacked })
}

/// A program: `explicit` (a path, or a bare name looked up on PATH), else `name` on PATH. The
/// error says what was looked for; `hint` tells how to provide it when nothing was given.
pub(crate) fn program(
    explicit: Option<&Path>,
    name: &str,
    hint: &str,
) -> std::result::Result<PathBuf, String> {
    match explicit {
        Some(p) if p.components().count() > 1 => {
            if p.is_file() {
                Ok(p.to_path_buf())
            } else {
                Err(format!("{name} not found at {}", p.display()))
            }
        }
        Some(bare) => which::which(bare).map_err(|_| format!("{} is not on PATH", bare.display())),
        None => which::which(name).map_err(|_| format!("{name} is not on PATH: {hint}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_by_path_name_or_default() {
        assert_eq!(program(Some(Path::new("/bin/sh")), "x", "h").unwrap(), Path::new("/bin/sh"));
        assert_eq!(
            program(Some(Path::new("/no/such/sops")), "sops", "h").unwrap_err(),
            "sops not found at /no/such/sops"
        );
        assert!(program(Some(Path::new("sh")), "x", "h").is_ok());
        let err = program(None, "no-such-program-here", "pass --x").unwrap_err();
        assert_eq!(err, "no-such-program-here is not on PATH: pass --x");
    }
}
