//! The unpacked bundle in the user's cache, `<cache>/panda-install/charts/<id>` (and staged
//! copies of a checkout's charts beside it): used when its content equals the expected one (every
//! file compared, no file more), otherwise (missing, partial, edited) unpacked again. Unpacking holds a lock, writes into a temporary folder beside
//! the final one, syncs it, makes it read-only and renames it into place, so a concurrent run
//! either waits for the lock and finds the finished folder, or sees none at all.

use super::{entries, id};
use crate::error::{Error, Result};
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// `$XDG_CACHE_HOME` (when absolute), else `$HOME/.cache`.
pub(crate) fn cache_base() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).filter(|d| d.is_absolute()) {
        return Ok(dir);
    }
    match std::env::var_os("HOME").map(PathBuf::from).filter(|d| d.is_absolute()) {
        Some(home) => Ok(home.join(".cache")),
        None => Err(Error::usage(
            "cannot place the charts cache: neither XDG_CACHE_HOME nor HOME is set (or pass --root DIR)",
        )),
    }
}

/// The unpacked bundle under `base`, unpacked (again) when missing or not intact. Returns its
/// folder and whether this call unpacked it.
pub(crate) fn ensure(base: &Path) -> Result<(PathBuf, bool)> {
    materialize(&base.join("panda-install").join("charts"), id(), &entries())
}

/// `parent/id` holding exactly `files` (relative path, content; sorted by path), written when
/// missing or not intact. Returns the folder and whether this call wrote it.
pub(crate) fn materialize<B: AsRef<[u8]>>(
    parent: &Path,
    id: &str,
    files: &[(PathBuf, B)],
) -> Result<(PathBuf, bool)> {
    let dir = parent.join(id);
    if intact(&dir, files) {
        return Ok((dir, false));
    }
    let failed = |what: &str, path: &Path, e: std::io::Error| {
        Error::data(path, format!("cannot {what} the charts cache: {e}"))
    };
    fs::create_dir_all(parent).map_err(|e| failed("create", parent, e))?;
    let lock_path = parent.join(format!(".{id}.lock"));
    let lock = File::create(&lock_path).map_err(|e| failed("lock", &lock_path, e))?;
    lock.lock().map_err(|e| failed("lock", &lock_path, e))?;
    // another run may have finished it while this one waited
    if intact(&dir, files) {
        return Ok((dir, false));
    }
    if dir.exists() {
        tracing::warn!("the charts cache {} is damaged or incomplete: unpacking it again", dir.display());
        remove(&dir).map_err(|e| failed("replace", &dir, e))?;
    }
    // what a run that died while unpacking left behind (no other unpacker runs: the lock is ours)
    for entry in fs::read_dir(parent).map_err(|e| failed("read", parent, e))?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&format!(".{id}.")) && name.ends_with(".tmp") {
            remove(&entry.path()).map_err(|e| failed("clear", &entry.path(), e))?;
        }
    }
    let scratch = parent.join(format!(".{id}.{}.tmp", std::process::id()));
    let written = unpack(&scratch, files).and_then(|()| {
        fs::rename(&scratch, &dir)?;
        File::open(parent)?.sync_all()
    });
    if let Err(e) = written {
        let _ = remove(&scratch);
        return Err(failed("write", &dir, e));
    }
    tracing::debug!("unpacked the embedded charts into {}", dir.display());
    Ok((dir, true))
}

/// Whether `dir` holds exactly `expected`, byte for byte, and no other file.
fn intact<B: AsRef<[u8]>>(dir: &Path, expected: &[(PathBuf, B)]) -> bool {
    let mut found = BTreeSet::new();
    if list(dir, Path::new(""), &mut found).is_err() || found.len() != expected.len() {
        return false;
    }
    expected
        .iter()
        .all(|(rel, bytes)| found.contains(rel) && fs::read(dir.join(rel)).is_ok_and(|b| b == bytes.as_ref()))
}

fn list(top: &Path, rel: &Path, out: &mut BTreeSet<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(top.join(rel))? {
        let entry = entry?;
        let path = rel.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            list(top, &path, out)?;
        } else {
            out.insert(path);
        }
    }
    Ok(())
}

/// Writes every entry under `top` (new), synced, then makes files and folders read-only.
fn unpack<B: AsRef<[u8]>>(top: &Path, files: &[(PathBuf, B)]) -> std::io::Result<()> {
    let mut dirs = BTreeSet::from([top.to_path_buf()]);
    for (rel, bytes) in files {
        let path = top.join(rel);
        let parent = path.parent().expect("an entry has a folder");
        if !dirs.contains(parent) {
            fs::create_dir_all(parent)?;
            dirs.extend(parent.ancestors().filter(|a| a.starts_with(top)).map(Path::to_path_buf));
        }
        let mut file = File::create_new(&path)?;
        file.write_all(bytes.as_ref())?;
        file.sync_all()?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o444))?;
    }
    // deepest first: a folder is read-only only after everything in it is written
    for dir in dirs.iter().rev() {
        File::open(dir)?.sync_all()?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o555))?;
    }
    Ok(())
}

/// Removes a (read-only) tree: folders made writable again first.
fn remove(dir: &Path) -> std::io::Result<()> {
    fn writable(dir: &Path) -> std::io::Result<()> {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                writable(&entry.path())?;
            }
        }
        Ok(())
    }
    writable(dir)?;
    fs::remove_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_once_then_reuses_and_replaces_a_damaged_tree() {
        let base = tempfile::tempdir().unwrap();
        let (dir, unpacked) = ensure(base.path()).unwrap();
        let intact = |dir: &Path| intact(dir, &entries());
        assert!(unpacked && intact(&dir));
        assert_eq!(dir, base.path().join("panda-install/charts").join(id()));
        let chart = dir.join("helm/panda/Chart.yaml");
        assert!(fs::metadata(&chart).unwrap().permissions().readonly());
        assert!(dir.join("helm/panda/charts/panda-lib/Chart.yaml").is_file());
        assert_eq!(ensure(base.path()).unwrap(), (dir.clone(), false), "an intact tree is reused");

        // one byte changed: detected and replaced
        fs::set_permissions(&chart, fs::Permissions::from_mode(0o644)).unwrap();
        let mut text = fs::read(&chart).unwrap();
        text[0] ^= 1;
        fs::write(&chart, text).unwrap();
        assert!(!intact(&dir));
        assert_eq!(ensure(base.path()).unwrap(), (dir.clone(), true));
        assert!(intact(&dir));

        // a file more (a template dropped in) or a file less: not intact either
        fs::set_permissions(dir.join("helm/ui/templates"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(dir.join("helm/ui/templates/extra.yaml"), "kind: ConfigMap\n").unwrap();
        assert!(!intact(&dir));
        assert!(ensure(base.path()).unwrap().1);
        fs::set_permissions(dir.join("values/lsst"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::remove_file(dir.join("values/lsst/panda.yaml")).unwrap();
        assert!(!intact(&dir));
        assert!(ensure(base.path()).unwrap().1);
        let leftovers: Vec<_> = fs::read_dir(dir.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
