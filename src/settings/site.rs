//! A site directory: the operator's own repository of experiments (`experiments/<name>/` with
//! `experiment.yaml`, `<component>.yaml` and `files/<component>/`), found by `--site`,
//! `PANDA_INSTALL_SITE` or a `panda-site.yaml` in the current directory or a parent. Its marker
//! file says which of its experiments extend a bundled one (docs/site.md has the merge rules).

use super::catalog::{self, Catalog};
use super::yaml;
use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The marker file at the top of a site directory.
pub(crate) const MARKER: &str = "panda-site.yaml";
/// The folder of a site's experiments (the same layout as the bundled `values/`).
pub(crate) const EXPERIMENTS: &str = "experiments";
/// The layout version this binary reads and writes.
pub(crate) const VERSION: u32 = 1;

/// A loaded site directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Site {
    pub(crate) dir: PathBuf,
    /// Per site experiment, the bundled experiment it extends.
    pub(crate) extends: BTreeMap<String, String>,
    /// `repository:`: where GitOps engines read the site from.
    pub(crate) repository: Option<Repository>,
}

/// The site's own Git repository as Argo CD reads it (`repository:` of panda-site.yaml).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Repository {
    pub(crate) url: String,
    pub(crate) revision: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Marker {
    site_version: u32,
    #[serde(default)]
    experiments: BTreeMap<String, MarkerExperiment>,
    #[serde(default)]
    repository: Option<Repository>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkerExperiment {
    #[serde(default)]
    extends: Option<String>,
}

impl Site {
    /// `--site`/`PANDA_INSTALL_SITE` (`explicit`), else a `panda-site.yaml` in the current
    /// directory or a parent, else none.
    pub(crate) fn find(explicit: Option<&Path>) -> Result<Option<Site>> {
        if let Some(dir) = explicit {
            if !dir.join(MARKER).is_file() {
                return Err(Error::usage(format!(
                    "--site {}: no {MARKER} there (make one with `panda-install site init {}`)",
                    dir.display(),
                    dir.display()
                )));
            }
            return Site::load(dir).map(Some);
        }
        let cwd = std::env::current_dir().map_err(|e| Error::Internal(e.into()))?;
        match cwd.ancestors().find(|d| d.join(MARKER).is_file()) {
            Some(dir) => Site::load(dir).map(Some),
            None => Ok(None),
        }
    }

    pub(crate) fn load(dir: &Path) -> Result<Site> {
        let path = dir.join(MARKER);
        let text =
            std::fs::read_to_string(&path).map_err(|e| Error::data(&path, format!("cannot read: {e}")))?;
        let marker: Marker = yaml::parse_as(&text, &path)?;
        if marker.site_version != VERSION {
            return Err(Error::data(
                &path,
                format!(
                    "siteVersion {} is not one this binary reads (it reads {VERSION})",
                    marker.site_version
                ),
            ));
        }
        if let Some(r) = marker.repository.as_ref().filter(|r| r.url.is_empty() || r.revision.is_empty()) {
            return Err(Error::data(
                &path,
                format!("repository: url {:?} and revision {:?} must not be empty", r.url, r.revision),
            ));
        }
        let extends =
            marker.experiments.into_iter().filter_map(|(name, e)| Some((name, e.extends?))).collect();
        Ok(Site { dir: dir.to_path_buf(), extends, repository: marker.repository })
    }

    /// The folder of the site's experiments.
    pub(crate) fn experiments_dir(&self) -> PathBuf {
        self.dir.join(EXPERIMENTS)
    }
}

/// The catalog with the site's experiments layered over the bundled ones: a site experiment
/// replaces a bundled one of the same name; one that `extends` a bundled experiment gets it as its
/// base (its default components and Image Updater images unless it sets its own).
pub(crate) fn layer(mut catalog: Catalog, site: &Site) -> Result<Catalog> {
    let dir = site.experiments_dir();
    let mut found = BTreeMap::new();
    if dir.is_dir() {
        for entry in std::fs::read_dir(&dir).map_err(|e| Error::data(&dir, format!("cannot read: {e}")))? {
            let path = entry.map_err(|e| Error::data(&dir, format!("cannot read: {e}")))?.path();
            if path.is_dir() {
                let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
                found.insert(name, catalog::load_experiment(&path, &catalog.charts)?);
            }
        }
    }
    let marker = site.dir.join(MARKER);
    for (name, base_name) in &site.extends {
        let Some(own) = found.get_mut(name) else {
            return Err(Error::data(
                &marker,
                format!("experiments.{name}: no folder {}", dir.join(name).display()),
            ));
        };
        let Some(base) = catalog.experiments.get(base_name).filter(|b| b.is_real()) else {
            let known: Vec<&str> =
                catalog.experiments.iter().filter(|(_, e)| e.is_real()).map(|(n, _)| n.as_str()).collect();
            let what = crate::suggest::unknown("bundled experiment", base_name, &known);
            return Err(Error::data(&marker, format!("experiments.{name}.extends: {what}")));
        };
        if own.default_components.is_none() {
            own.default_components.clone_from(&base.default_components);
        }
        let mut images = base.image_updater.clone();
        images.append(&mut own.image_updater);
        own.image_updater = images;
        own.base = Some(Box::new(base.clone()));
    }
    catalog.experiments.extend(found);
    Ok(catalog)
}

/// The marker of a new site: `extends` per experiment.
pub(crate) fn marker_text(extends: &BTreeMap<String, String>) -> String {
    let mut out = format!(
        "# A panda-install site directory (docs/site.md): its experiments are found before the bundled ones.\n\
         siteVersion: {VERSION}\n"
    );
    if extends.is_empty() {
        out.push_str("experiments: {}\n");
    } else {
        out.push_str(
            "# -- Per experiment of experiments/, the bundled experiment whose values and site files come first.\n\
             experiments:\n",
        );
        for (name, base) in extends {
            out.push_str(&format!("  {name}:\n    extends: {base}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_bad_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let extends = BTreeMap::from([("mine".to_string(), "doma".to_string())]);
        std::fs::write(dir.path().join(MARKER), marker_text(&extends)).unwrap();
        let site = Site::find(Some(dir.path())).unwrap().unwrap();
        assert_eq!(site.extends, extends);
        assert_eq!(site.repository, None);
        let with_repo = format!(
            "{}repository:\n  url: https://example.org/s.git\n  revision: main\n",
            marker_text(&extends)
        );
        std::fs::write(dir.path().join(MARKER), with_repo).unwrap();
        let repo = Site::load(dir.path()).unwrap().repository.unwrap();
        assert_eq!((repo.url.as_str(), repo.revision.as_str()), ("https://example.org/s.git", "main"));
        std::fs::write(dir.path().join(MARKER), "siteVersion: 1\nrepository: {url: '', revision: main}\n")
            .unwrap();
        assert!(Site::load(dir.path()).unwrap_err().to_string().contains("must not be empty"));
        std::fs::write(dir.path().join(MARKER), "siteVersion: 2\n").unwrap();
        let err = Site::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("siteVersion 2"), "{err}");
        std::fs::write(dir.path().join(MARKER), "siteVersion: 1\nextra: 1\n").unwrap();
        assert!(Site::load(dir.path()).unwrap_err().to_string().contains("extra"));
        let empty = tempfile::tempdir().unwrap();
        let err = Site::find(Some(empty.path())).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit_code::USAGE);
    }

    #[test]
    fn site_experiments_extend_and_shadow_bundled_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut catalog = catalog::tests::test_catalog(dir.path());
        catalog.experiments.get_mut("lsst").unwrap().default_components =
            Some(vec![crate::settings::component::Component::Panda]);
        let site_dir = dir.path().join("site");
        std::fs::create_dir_all(site_dir.join("experiments/mine")).unwrap();
        std::fs::write(site_dir.join("experiments/mine/panda.yaml"), "server: {}\n").unwrap();
        let extends = BTreeMap::from([("mine".to_string(), "lsst".to_string())]);
        let site = Site { dir: site_dir.clone(), extends, repository: None };
        let layered = layer(catalog.clone(), &site).unwrap();
        let c = crate::settings::component::Component::Panda;
        assert_eq!(
            layered.experiment_values("mine", c),
            [dir.path().join("values/lsst/panda.yaml"), site_dir.join("experiments/mine/panda.yaml")]
        );
        assert_eq!(layered.experiments["mine"].default_components, Some(vec![c]), "the base's set");
        let bad = Site {
            dir: site_dir,
            extends: BTreeMap::from([("mine".into(), "lsts".into())]),
            repository: None,
        };
        let err = layer(catalog, &bad).unwrap_err().to_string();
        assert!(err.contains("extends") && err.contains("\"lsst\""), "{err}");
    }
}
