//! Finds the directory that holds helm/, secrets/ and values/ (a checkout or an installed copy),
//! and the programs panda-install runs (helm, sops).

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
