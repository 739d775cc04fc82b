//! A checkout's charts (`--root`, or the checkout around the current directory): whether a chart's
//! packed library (`charts/<lib>-<version>.tgz`, made by `helm dependency build`) holds the
//! library's current content, decided by content digests in a stamp beside it (never by file
//! times, which `cp -p`, `rsync -t` or a tarball carry over); and, for commands that only read,
//! a copy of a chart with the library beside it in the cache, so that they never write into the
//! checkout.

use super::cache::{cache_base, materialize};
use super::rules::{content_digest, ships};
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Every file of the chart (or library) in `dir` that belongs to it, as (path relative to `dir`,
/// content), sorted by path. `dir` is read as a chart of helm/ (packed files under `charts/` and
/// editor leftovers are left out).
fn chart_files(dir: &Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    fn walk(top: &Path, rel: &str, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(top.join(rel))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            if entry.file_type()?.is_dir() {
                walk(top, &path, out)?;
            } else if ships(&format!("helm/chart/{path}")) {
                out.push((path.clone(), std::fs::read(top.join(&path))?));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    out.sort();
    Ok(out)
}

fn digest_of(files: &[(String, Vec<u8>)]) -> String {
    content_digest(files.iter().map(|(p, b)| (p.as_str(), b.as_slice())))
}

/// The digest of a dependency's source folder, computed once per run and folder.
fn source_digest(source: &Path) -> Option<String> {
    static SEEN: Mutex<BTreeMap<PathBuf, Option<String>>> = Mutex::new(BTreeMap::new());
    let mut seen = SEEN.lock().ok()?;
    seen.entry(source.to_path_buf())
        .or_insert_with(|| chart_files(source).ok().map(|f| digest_of(&f)))
        .clone()
}

fn stamp_path(chart_dir: &Path, name: &str) -> PathBuf {
    chart_dir.join("charts").join(format!(".{name}.sha256"))
}

/// `charts/<name>-*.tgz` (the one `helm dependency build` wrote).
fn packed(chart_dir: &Path, name: &str) -> Option<PathBuf> {
    std::fs::read_dir(chart_dir.join("charts")).ok()?.flatten().map(|e| e.path()).find(|p| {
        let file = p.file_name().unwrap_or_default().to_string_lossy().into_owned();
        file.ends_with(".tgz") && file.strip_prefix(name).is_some_and(|rest| rest.starts_with('-'))
    })
}

/// What the stamp says when the archive was packed from the source as it is now.
fn expected_stamp(chart_dir: &Path, name: &str, source: &Path) -> Option<String> {
    let archive = packed(chart_dir, name)?;
    let bytes = std::fs::read(&archive).ok()?;
    let file = archive.file_name()?.to_string_lossy().into_owned();
    Some(format!("{} {file} {}\n", source_digest(source)?, content_digest([("", bytes.as_slice())])))
}

/// Whether `charts/<name>-*.tgz` was packed from `source` as its content is now.
pub(crate) fn is_fresh(chart_dir: &Path, name: &str, source: &Path) -> bool {
    let stamp = std::fs::read_to_string(stamp_path(chart_dir, name)).ok();
    stamp.is_some() && stamp == expected_stamp(chart_dir, name, source)
}

/// After `helm dependency build`: records what `charts/<name>-*.tgz` was packed from.
pub(crate) fn record(chart_dir: &Path, name: &str, source: &Path) -> Result<()> {
    let path = stamp_path(chart_dir, name);
    let stamp = expected_stamp(chart_dir, name, source).ok_or_else(|| {
        Error::data(chart_dir.join("charts"), format!("no {name}-*.tgz after helm dependency build"))
    })?;
    std::fs::write(&path, stamp).map_err(|e| Error::data(&path, format!("cannot write: {e}")))
}

/// A copy of the chart in `chart_dir` with its local dependencies (name, source folder) as
/// folders `charts/<name>/`, in the cache, named by its content: what a command that only reads
/// renders when the checkout's packed library is missing or stale. Returns the copy's chart folder.
pub(crate) fn staged(chart_dir: &Path, dependencies: &[(String, PathBuf)]) -> Result<PathBuf> {
    let unreadable = |dir: &Path, e: std::io::Error| Error::data(dir, format!("cannot read: {e}"));
    let chart =
        chart_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "chart".into());
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for (rel, bytes) in chart_files(chart_dir).map_err(|e| unreadable(chart_dir, e))? {
        files.push((PathBuf::from(&chart).join(rel), bytes));
    }
    for (name, source) in dependencies {
        for (rel, bytes) in chart_files(source).map_err(|e| unreadable(source, e))? {
            files.push((PathBuf::from(&chart).join("charts").join(name).join(rel), bytes));
        }
    }
    files.sort();
    let listed: Vec<(String, Vec<u8>)> =
        files.iter().map(|(p, b)| (p.to_string_lossy().into_owned(), b.clone())).collect();
    let id = format!("staged-{}", &digest_of(&listed)[..16]);
    let parent = cache_base()?.join("panda-install").join("charts");
    let (dir, written) = materialize(&parent, &id, &files)?;
    if written {
        tracing::debug!("staged {} with its library in {}", chart_dir.display(), dir.display());
    }
    Ok(dir.join(chart))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn freshness_follows_the_content_not_the_times() {
        let top = tempfile::tempdir().unwrap();
        let (chart, lib) = (top.path().join("panda"), top.path().join("lib"));
        write(&lib.join("templates/_a.tpl"), "{{- define \"a\" }}a{{ end }}");
        write(&chart.join("Chart.yaml"), "name: panda\n");
        assert!(!is_fresh(&chart, "panda-lib", &lib), "nothing packed");
        write(&chart.join("charts/panda-lib-0.2.0.tgz"), "packed");
        assert!(!is_fresh(&chart, "panda-lib", &lib), "packed, but not by panda-install: no stamp");
        record(&chart, "panda-lib", &lib).unwrap();
        assert!(is_fresh(&chart, "panda-lib", &lib));

        // an older archive put back (with a newer time, as cp or rsync leave it): stale
        write(&chart.join("charts/panda-lib-0.2.0.tgz"), "packed before");
        assert!(!is_fresh(&chart, "panda-lib", &lib));
        record(&chart, "panda-lib", &lib).unwrap();
        assert!(is_fresh(&chart, "panda-lib", &lib));
    }

    #[test]
    fn a_changed_library_makes_the_packed_copy_stale() {
        let top = tempfile::tempdir().unwrap();
        let (chart, lib) = (top.path().join("iam"), top.path().join("lib2"));
        write(&lib.join("templates/_a.tpl"), "one");
        write(&chart.join("charts/panda-lib-0.2.0.tgz"), "packed");
        record(&chart, "panda-lib", &lib).unwrap();
        // the digest of a source folder is kept for the run: a new folder stands for the edit
        let edited = top.path().join("lib3");
        write(&edited.join("templates/_a.tpl"), "two");
        assert!(!is_fresh(&chart, "panda-lib", &edited));
    }
}
