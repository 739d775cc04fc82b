//! The charts (helm/, secrets/) and bundled experiments (values/) embedded in the binary by
//! build.rs, and the tree they unpack to: every embedded file at its path, plus the library chart
//! copied into each component chart as `charts/<library>/`, so that helm finds the dependency
//! without `helm dependency build` (the unpacked tree is read-only).

mod cache;
pub(crate) mod checkout;
mod rules;
mod staged;

pub(crate) use cache::{cache_base, ensure};
pub(crate) use staged::{stage_secrets, Staged, SITE_SECRETS_FILES};

use std::path::PathBuf;

include!(concat!(env!("OUT_DIR"), "/bundle.rs"));

/// The library chart's folder, which every component chart declares as `file://../lib`.
const LIBRARY_DIR: &str = "helm/lib/";

/// The name of the cache folder: the start of the content digest (the content itself is compared
/// in full whenever the folder is used, so a shorter name cannot mix two bundles up).
pub(crate) fn id() -> &'static str {
    &DIGEST[..16]
}

/// The `name:` of the library chart's Chart.yaml (the folder name helm expects under `charts/`).
fn library_name() -> &'static str {
    let chart = FILES.iter().find(|(p, _)| *p == "helm/lib/Chart.yaml").map(|(_, b)| *b).unwrap_or_default();
    std::str::from_utf8(chart)
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("name:"))
        .map(|n| n.trim().trim_matches('"'))
        .unwrap_or("panda-lib")
}

/// The component charts: `helm/<name>/Chart.yaml` besides the library's.
fn component_charts() -> Vec<&'static str> {
    FILES
        .iter()
        .filter_map(|(p, _)| p.strip_prefix("helm/")?.strip_suffix("/Chart.yaml"))
        .filter(|name| !name.contains('/') && *name != "lib")
        .collect()
}

/// Every file of the unpacked tree, relative to its top, with its content; sorted by path.
pub(crate) fn entries() -> Vec<(PathBuf, &'static [u8])> {
    let mut out: Vec<(PathBuf, &'static [u8])> = FILES.iter().map(|(p, b)| (PathBuf::from(p), *b)).collect();
    let library = library_name();
    for chart in component_charts() {
        for (path, bytes) in FILES {
            if let Some(rel) = path.strip_prefix(LIBRARY_DIR) {
                out.push((PathBuf::from(format!("helm/{chart}/charts/{library}/{rel}")), bytes));
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_holds_the_charts_and_experiments_but_no_private_or_packed_file() {
        let paths: Vec<&str> = FILES.iter().map(|(p, _)| *p).collect();
        for wanted in
            ["helm/lib/Chart.yaml", "helm/panda/Chart.yaml", "secrets/Chart.yaml", "values/lsst/panda.yaml"]
        {
            assert!(paths.contains(&wanted), "{wanted} is not embedded");
        }
        assert!(paths.iter().all(|p| !p.ends_with(".tgz")), "a packed dependency is embedded");
        assert!(paths.iter().all(|p| !p.starts_with("secrets/ci/")), "test fixtures are embedded");
        let private: Vec<&&str> = paths
            .iter()
            .filter(|p| {
                p.starts_with("secrets/files/")
                    && !p.ends_with("/README")
                    && **p != "secrets/files/.gitignore"
            })
            .collect();
        assert!(private.is_empty(), "private files embedded: {private:?}");
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(paths, sorted, "build.rs sorts the files (the digest depends on the order)");
        assert_eq!(DIGEST.len(), 64);
    }

    #[test]
    fn every_component_chart_gets_the_library_as_a_folder() {
        let entries = entries();
        let lib_files = FILES.iter().filter(|(p, _)| p.starts_with(LIBRARY_DIR)).count();
        for chart in ["msgsvc", "iam", "panda", "harvester", "idds", "bigmon", "ui"] {
            let prefix = PathBuf::from(format!("helm/{chart}/charts/panda-lib"));
            let copied = entries.iter().filter(|(p, _)| p.starts_with(&prefix)).count();
            assert_eq!(copied, lib_files, "{chart}");
        }
        assert!(!entries.iter().any(|(p, _)| p.starts_with("helm/lib/charts")));
    }
}
