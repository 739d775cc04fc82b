//! Site files: the operator's own files under `values/<experiment>/files/<component>/`, matched
//! against the kinds the component's chart declares (`helm/<component>/site-files.yaml`) and
//! turned into `helm --set-file KEY=PATH` pairs (paths only: a sensitive file's content never
//! reaches a command line or a log). Anything unknown, empty, badly named or too big is refused
//! before helm runs, naming the file.

use super::catalog::{Catalog, SiteFileKind};
use super::component::Component;
use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What one ConfigMap or Secret can hold.
pub(crate) const MAX_ENTRY_BYTES: u64 = 1024 * 1024;
/// helm keeps a release's record (values and manifest, gzip, base64) in one Secret of at most 1 MiB.
const MAX_RECORD_BYTES: u64 = 1024 * 1024;
/// Room kept in the record for the chart's own values and manifests.
const RECORD_RESERVE_BYTES: u64 = 64 * 1024;

/// One `--set-file` of a release.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct SetFile {
    /// The values key, file names escaped for helm's `--set` parser.
    pub(crate) key: String,
    pub(crate) path: PathBuf,
    /// The chart keeps it in a Secret (it may hold credentials).
    #[serde(skip)]
    pub(crate) sensitive: bool,
}

/// The `--set-file` pairs of `component` in `experiment` (none when it has no files directory). A
/// site experiment's file replaces its base's file of the same relative path.
pub(crate) fn set_files(catalog: &Catalog, experiment: &str, component: Component) -> Result<Vec<SetFile>> {
    let mut files = std::collections::BTreeMap::new();
    for dir in catalog.site_files_dirs(experiment, component) {
        if dir.exists() {
            files.extend(walk(&dir)?);
        }
    }
    let kinds = &catalog.chart(component).site_files;
    let mut out = Vec::new();
    let mut contents = Vec::new();
    for (relative, path) in files {
        let kind = kinds
            .iter()
            .find(|k| {
                if k.is_directory() {
                    relative.starts_with(&k.path) && !relative[k.path.len()..].contains('/')
                } else {
                    k.path == relative
                }
            })
            .ok_or_else(|| unknown(&path, component, kinds))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)) {
            return Err(Error::data(
                &path,
                "a site file name may hold only letters, digits, '-', '.' and '_'",
            ));
        }
        let size =
            std::fs::metadata(&path).map_err(|e| Error::data(&path, format!("cannot read: {e}")))?.len();
        if size == 0 {
            return Err(Error::data(&path, "the site file is empty"));
        }
        for key in &kind.keys {
            let key = if kind.is_directory() { format!("{key}.{}", escape(&name)) } else { key.clone() };
            out.push(SetFile { key, path: path.clone(), sensitive: kind.sensitive });
        }
        contents.push((kind.path.clone(), path, size));
    }
    check_sizes(component, &contents)?;
    Ok(out)
}

/// Every file below `dir` as (path relative to it, `/`-separated; full path), sorted.
fn walk(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| Error::data(&d, format!("cannot read: {e}")))?;
        for entry in entries {
            let path = entry.map_err(|e| Error::data(&d, format!("cannot read: {e}")))?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().replace('\\', "/");
                out.push((relative, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn unknown(path: &Path, component: Component, kinds: &[SiteFileKind]) -> Error {
    let known: Vec<String> = kinds.iter().map(|k| format!("{} ({})", k.path, k.description)).collect();
    let list = if known.is_empty() { "none".to_string() } else { known.join("; ") };
    Error::data(
        path,
        format!("not a site file the {component} chart knows; its kinds under files/{component}/: {list}"),
    )
}

/// helm's `--set` parser splits keys at `.` and `,` and values at `=`: escape them in file names.
fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '\\' | '.' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Each kind within one ConfigMap/Secret, and the whole within what helm's release record can
/// carry: the files appear there twice (as values and, base64, in the manifest), gzip'd, base64'd.
fn check_sizes(component: Component, contents: &[(String, PathBuf, u64)]) -> Result<()> {
    let mut kinds: Vec<&str> = contents.iter().map(|(k, _, _)| k.as_str()).collect();
    kinds.dedup();
    for kind in kinds {
        let files: Vec<&(String, PathBuf, u64)> = contents.iter().filter(|(k, _, _)| k == kind).collect();
        let total: u64 = files.iter().map(|(_, _, s)| s).sum();
        if total > MAX_ENTRY_BYTES {
            let list: Vec<String> =
                files.iter().map(|(_, p, s)| format!("{} ({s} bytes)", p.display())).collect();
            return Err(Error::data(
                &files[0].1,
                format!("site files of kind {kind} hold {total} bytes; one ConfigMap or Secret holds at most {MAX_ENTRY_BYTES}: {}", list.join(", ")),
            ));
        }
    }
    if contents.is_empty() {
        return Ok(());
    }
    let mut raw = Vec::new();
    for (_, path, _) in contents {
        raw.extend(std::fs::read(path).map_err(|e| Error::data(path, format!("cannot read: {e}")))?);
    }
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&raw);
    let record = 4 * (gzip_len(&raw) + gzip_len(encoded.as_bytes())) / 3 + RECORD_RESERVE_BYTES;
    if record > MAX_RECORD_BYTES {
        return Err(Error::data(
            &contents[0].1,
            format!(
                "the site files of {component} ({} bytes) would make helm's release record about {record} bytes; \
                 it holds at most {MAX_RECORD_BYTES}: keep large, incompressible files out of site files",
                raw.len()
            ),
        ));
    }
    Ok(())
}

fn gzip_len(bytes: &[u8]) -> u64 {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = gz.write_all(bytes);
    gz.finish().map(|v| v.len() as u64).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::catalog::tests::test_catalog;

    fn kind(path: &str, key: &str) -> SiteFileKind {
        SiteFileKind {
            path: path.into(),
            keys: vec![key.into()],
            sensitive: false,
            mount_path: "/x".into(),
            copied_to: None,
            description: format!("the {path}"),
        }
    }

    fn setup() -> (tempfile::TempDir, Catalog) {
        let dir = tempfile::tempdir().unwrap();
        let mut catalog = test_catalog(dir.path());
        catalog.charts.get_mut(&Component::Harvester).unwrap().site_files = vec![
            kind("queue.json", "harvester.siteFiles.queue"),
            kind("sandbox/", "harvester.siteFiles.sandbox"),
        ];
        std::fs::create_dir_all(dir.path().join("values/x/files/harvester/sandbox")).unwrap();
        let x =
            crate::settings::catalog::Experiment { dir: dir.path().join("values/x"), ..Default::default() };
        catalog.experiments.insert("x".into(), x);
        (dir, catalog)
    }

    fn write(dir: &Path, rel: &str, bytes: &[u8]) {
        std::fs::write(dir.join("values/x/files/harvester").join(rel), bytes).unwrap();
    }

    #[test]
    fn files_and_directories_become_set_file_pairs() {
        let (dir, catalog) = setup();
        write(dir.path(), "queue.json", b"{}");
        write(dir.path(), "sandbox/run.sh", b"#!/bin/sh\n");
        write(dir.path(), "sandbox/pilot.v2.py", b"x");
        let keys: Vec<String> =
            set_files(&catalog, "x", Component::Harvester).unwrap().into_iter().map(|s| s.key).collect();
        assert_eq!(
            keys,
            [
                "harvester.siteFiles.queue",
                "harvester.siteFiles.sandbox.pilot\\.v2\\.py",
                "harvester.siteFiles.sandbox.run\\.sh"
            ]
        );
        assert_eq!(escape("a,b=c\\d"), "a\\,b\\=c\\\\d");
        write(dir.path(), "sandbox/a b.sh", b"x");
        let err = set_files(&catalog, "x", Component::Harvester).unwrap_err().to_string();
        assert!(err.contains("a b.sh") && err.contains("only letters"), "{err}");
        assert!(set_files(&catalog, "other", Component::Harvester).unwrap().is_empty());
    }

    #[test]
    fn unknown_empty_and_oversized_files_are_named() {
        let (dir, catalog) = setup();
        write(dir.path(), "stray.txt", b"x");
        let err = set_files(&catalog, "x", Component::Harvester).unwrap_err().to_string();
        assert!(
            err.contains("stray.txt")
                && err.contains("queue.json (the queue.json)")
                && err.contains("sandbox/"),
            "{err}"
        );
        std::fs::remove_file(dir.path().join("values/x/files/harvester/stray.txt")).unwrap();
        write(dir.path(), "queue.json", b"");
        assert!(set_files(&catalog, "x", Component::Harvester).unwrap_err().to_string().contains("empty"));
        write(dir.path(), "queue.json", &vec![b'a'; MAX_ENTRY_BYTES as usize + 1]);
        let err = set_files(&catalog, "x", Component::Harvester).unwrap_err().to_string();
        assert!(err.contains("queue.json") && err.contains("at most 1048576"), "{err}");
        // incompressible bytes fill helm's record long before 1 MiB
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let random: Vec<u8> = (0..500_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        write(dir.path(), "queue.json", &random);
        let err = set_files(&catalog, "x", Component::Harvester).unwrap_err().to_string();
        assert!(err.contains("release record"), "{err}");
        write(dir.path(), "queue.json", &vec![b'a'; 900_000]);
        assert!(set_files(&catalog, "x", Component::Harvester).is_ok(), "compressible text fits");
    }

    #[test]
    fn a_site_experiments_files_replace_its_bases_by_path() {
        let (dir, mut catalog) = setup();
        write(dir.path(), "queue.json", b"base");
        write(dir.path(), "sandbox/base.sh", b"x");
        let site = dir.path().join("site/experiments/mine");
        std::fs::create_dir_all(site.join("files/harvester/sandbox")).unwrap();
        std::fs::write(site.join("files/harvester/queue.json"), b"site").unwrap();
        std::fs::write(site.join("files/harvester/sandbox/own.sh"), b"y").unwrap();
        let base = Box::new(catalog.experiments["x"].clone());
        let mine = crate::settings::catalog::Experiment {
            dir: site.clone(),
            base: Some(base),
            ..Default::default()
        };
        catalog.experiments.insert("mine".into(), mine);
        let pairs: Vec<(String, PathBuf)> = set_files(&catalog, "mine", Component::Harvester)
            .unwrap()
            .into_iter()
            .map(|s| (s.key, s.path))
            .collect();
        assert_eq!(
            pairs,
            [
                ("harvester.siteFiles.queue".to_string(), site.join("files/harvester/queue.json")),
                (
                    "harvester.siteFiles.sandbox.base\\.sh".to_string(),
                    dir.path().join("values/x/files/harvester/sandbox/base.sh")
                ),
                (
                    "harvester.siteFiles.sandbox.own\\.sh".to_string(),
                    site.join("files/harvester/sandbox/own.sh")
                ),
            ]
        );
    }
}
