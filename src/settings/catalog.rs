//! What the bundled charts declare: sub-components, dependency edges and the known experiments.
//! Read once from the repository's files; everything after this works on the loaded data.

use super::component::Component;
use super::yaml;
use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The Chart.yaml annotation that lists the components a chart must be deployed after.
pub(crate) const DEPENDS_ON_ANNOTATION: &str = "panda-install.io/depends-on";

/// One component chart as declared in its Chart.yaml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChartInfo {
    pub(crate) dir: PathBuf,
    /// `name` and `version` of its Chart.yaml.
    pub(crate) name: String,
    pub(crate) version: String,
    /// Sub-components that can be switched off: dependencies with `condition: <name>.enabled`.
    pub(crate) subcomponents: Vec<String>,
    /// Components this one must be deployed after.
    pub(crate) depends_on: Vec<Component>,
    /// A `file://` dependency is missing from `charts/` or older than its source: run
    /// `helm dependency build` before using the chart.
    pub(crate) needs_dependency_build: bool,
    /// The operator's files it can mount (`site-files.yaml` beside its Chart.yaml).
    pub(crate) site_files: Vec<SiteFileKind>,
}

/// One known kind of site file: `values/<experiment>/files/<component>/<path>`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SiteFileKind {
    /// Relative to `files/<component>/`; ending in `/`: a directory of files.
    pub(crate) path: String,
    /// The values keys it is passed as (`--set-file`), one per sub-chart that mounts it.
    pub(crate) keys: Vec<String>,
    /// Kept in a Secret by the chart (else a ConfigMap).
    pub(crate) sensitive: bool,
    pub(crate) mount_path: String,
    #[serde(default)]
    pub(crate) copied_to: Option<String>,
    pub(crate) description: String,
}

impl SiteFileKind {
    pub(crate) fn is_directory(&self) -> bool {
        self.path.ends_with('/')
    }
}

/// An experiment: `values/<name>/` (or a site's `experiments/<name>/`) with its experiment file and
/// component files.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Experiment {
    /// Its folder.
    pub(crate) dir: PathBuf,
    /// The bundled experiment a site experiment extends (`extends:` in panda-site.yaml): its
    /// values and site files come first.
    pub(crate) base: Option<Box<Experiment>>,
    /// `experiment.yaml`: layered first into every component chart.
    pub(crate) file: Option<PathBuf>,
    /// Its `components:` (else its base's), the default set when no `-c` is given.
    pub(crate) default_components: Option<Vec<Component>>,
    /// The components its own folder has a `<component>.yaml` for.
    pub(crate) component_files: BTreeSet<Component>,
    /// Its `imageUpdater:` (over its base's, per component): per component, sub-chart -> the image (with the tag) Argo CD Image
    /// Updater follows by digest.
    pub(crate) image_updater: BTreeMap<Component, BTreeMap<String, String>>,
}

/// Everything the planner needs to know about the bundled charts and values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Catalog {
    pub(crate) root: PathBuf,
    pub(crate) charts: BTreeMap<Component, ChartInfo>,
    /// The library chart every component chart embeds (`helm/lib`).
    pub(crate) library: ChartInfo,
    pub(crate) secrets_chart: PathBuf,
    /// The `name` in the secrets chart's Chart.yaml: how its releases are recognised in a namespace.
    pub(crate) secrets_name: String,
    pub(crate) experiments: BTreeMap<String, Experiment>,
    /// The run's staged copy of the secrets chart with a site's secrets files (then
    /// `secrets_chart` is its folder); removed when the last catalog holding it is dropped.
    pub(crate) staged_secrets: Option<crate::bundle::Staged>,
}

#[derive(Deserialize)]
struct ChartYaml {
    name: String,
    version: String,
    #[serde(default)]
    dependencies: Vec<DependencyYaml>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct DependencyYaml {
    name: String,
    #[serde(default)]
    condition: Option<String>,
    #[serde(default)]
    repository: Option<String>,
}

impl Experiment {
    /// The base it extends (if any), then itself: the order its files are layered in.
    pub(crate) fn layers(&self) -> Vec<&Experiment> {
        let mut out: Vec<&Experiment> = self.base.as_deref().map(Experiment::layers).unwrap_or_default();
        out.push(self);
        out
    }

    /// Its own folder's `<component>.yaml`, if it has one.
    pub(crate) fn values(&self, component: Component) -> Option<PathBuf> {
        self.component_files.contains(&component).then(|| self.dir.join(format!("{component}.yaml")))
    }

    /// It (or its base) has an experiment file or a component file.
    pub(crate) fn is_real(&self) -> bool {
        self.layers().iter().any(|e| e.file.is_some() || !e.component_files.is_empty())
    }
}

impl Catalog {
    /// Loads the catalog from a checkout (or installed copy) of the project.
    pub(crate) fn load(root: &Path) -> Result<Catalog> {
        let mut charts = BTreeMap::new();
        for component in Component::ALL {
            let dir = root.join("helm").join(component.name());
            charts.insert(component, load_chart(&dir)?);
        }
        let library = load_chart(&root.join("helm").join("lib"))?;
        let secrets_chart = root.join("secrets");
        if !secrets_chart.join("Chart.yaml").is_file() {
            return Err(Error::data(secrets_chart.join("Chart.yaml"), "the secrets chart is missing"));
        }
        let secrets_name = load_chart(&secrets_chart)?.name;
        let experiments = load_experiments(root, &charts)?;
        Ok(Catalog {
            root: root.to_path_buf(),
            charts,
            library,
            secrets_chart,
            secrets_name,
            experiments,
            staged_secrets: None,
        })
    }

    pub(crate) fn chart(&self, component: Component) -> &ChartInfo {
        &self.charts[&component]
    }

    /// The values files of `experiment` for `component`, the base's first (none: chart defaults).
    pub(crate) fn experiment_values(&self, experiment: &str, component: Component) -> Vec<PathBuf> {
        let layers = self.experiments.get(experiment).map(Experiment::layers).unwrap_or_default();
        layers.into_iter().filter_map(|e| e.values(component)).collect()
    }

    /// The directories of an experiment's site files for a component, the base's first.
    pub(crate) fn site_files_dirs(&self, experiment: &str, component: Component) -> Vec<PathBuf> {
        let layers = self.experiments.get(experiment).map(Experiment::layers).unwrap_or_default();
        layers.into_iter().map(|e| e.dir.join("files").join(component.name())).collect()
    }

    /// The dependency edges of every component, as the charts declare them.
    pub(crate) fn edges(&self) -> BTreeMap<Component, Vec<Component>> {
        self.charts.iter().map(|(c, info)| (*c, info.depends_on.clone())).collect()
    }
}

pub(crate) fn load_chart(dir: &Path) -> Result<ChartInfo> {
    let path = dir.join("Chart.yaml");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::data(&path, format!("cannot read: {e}")))?;
    let chart: ChartYaml = yaml::parse_as(&text, &path)?;
    if chart.version.trim().is_empty() {
        return Err(Error::data(&path, "version is empty"));
    }
    let mut subcomponents = Vec::new();
    let mut needs_dependency_build = false;
    for dep in &chart.dependencies {
        if dep.condition.as_deref() == Some(&format!("{}.enabled", dep.name)) {
            subcomponents.push(dep.name.clone());
        }
    }
    for (name, source) in local_dependencies(dir, &chart) {
        needs_dependency_build |= !packed_is_fresh(dir, &name, &source);
    }
    let depends_on = match chart.annotations.get(DEPENDS_ON_ANNOTATION) {
        None => Vec::new(),
        Some(list) => parse_depends_on(list).map_err(|m| Error::data(&path, m))?,
    };
    let site_files = load_site_files(dir)?;
    Ok(ChartInfo {
        dir: dir.to_path_buf(),
        name: chart.name,
        version: chart.version,
        subcomponents,
        depends_on,
        needs_dependency_build,
        site_files,
    })
}

fn load_site_files(dir: &Path) -> Result<Vec<SiteFileKind>> {
    let path = dir.join("site-files.yaml");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(yaml::parse_as::<Option<Vec<SiteFileKind>>>(&text, &path)?.unwrap_or_default()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::data(&path, format!("cannot read: {e}"))),
    }
}

/// The dependencies packed from a folder (`repository: file://...`): name and source folder.
fn local_dependencies(dir: &Path, chart: &ChartYaml) -> Vec<(String, PathBuf)> {
    chart
        .dependencies
        .iter()
        .filter_map(|d| {
            let source = d.repository.as_deref()?.strip_prefix("file://")?;
            Some((d.name.clone(), dir.join(source)))
        })
        .collect()
}

/// The local dependencies of the chart in `dir`, read from its Chart.yaml.
pub(crate) fn file_dependencies(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let path = dir.join("Chart.yaml");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::data(&path, format!("cannot read: {e}")))?;
    Ok(local_dependencies(dir, &yaml::parse_as(&text, &path)?))
}

/// Whether the dependency is ready to use: a folder `charts/<name>/` (the embedded charts and the
/// staged copies, read-only) is; a `charts/<name>-*.tgz` is when its stamp says it was packed
/// from the source's current content (src/bundle/checkout.rs).
fn packed_is_fresh(chart_dir: &Path, name: &str, source: &Path) -> bool {
    chart_dir.join("charts").join(name).join("Chart.yaml").is_file()
        || crate::bundle::checkout::is_fresh(chart_dir, name, source)
}

fn parse_depends_on(list: &str) -> Result<Vec<Component>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| {
            name.parse().map_err(|()| {
                format!(
                    "annotation {DEPENDS_ON_ANNOTATION} names unknown component {name:?} (known: {})",
                    Component::names().join(", ")
                )
            })
        })
        .collect()
}

fn load_experiments(
    root: &Path,
    charts: &BTreeMap<Component, ChartInfo>,
) -> Result<BTreeMap<String, Experiment>> {
    let dir = root.join("values");
    let mut experiments = BTreeMap::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(experiments),
        Err(e) => return Err(Error::data(&dir, format!("cannot read: {e}"))),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::data(&dir, format!("cannot read: {e}")))?;
        if !entry.path().is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        experiments.insert(name, load_experiment(&entry.path(), charts)?);
    }
    Ok(experiments)
}

/// The experiment in `dir` (its own files only; a site's `extends` is applied by the caller).
pub(crate) fn load_experiment(dir: &Path, charts: &BTreeMap<Component, ChartInfo>) -> Result<Experiment> {
    let component_files =
        Component::ALL.into_iter().filter(|c| dir.join(format!("{c}.yaml")).is_file()).collect();
    let file = Some(dir.join("experiment.yaml")).filter(|f| f.is_file());
    let (default_components, image_updater) = match &file {
        Some(f) => {
            let doc = yaml::load_mapping(f)?;
            (default_components(f, &doc)?, image_updater(f, &doc, charts)?)
        }
        None => (None, BTreeMap::new()),
    };
    Ok(Experiment {
        dir: dir.to_path_buf(),
        base: None,
        file,
        default_components,
        component_files,
        image_updater,
    })
}

/// `imageUpdater:` of an experiment file, component and sub-chart names checked.
fn image_updater(
    file: &Path,
    doc: &serde_json::Value,
    charts: &BTreeMap<Component, ChartInfo>,
) -> Result<BTreeMap<Component, BTreeMap<String, String>>> {
    let Some(map) = doc.get("imageUpdater") else { return Ok(BTreeMap::new()) };
    let bad = |m: String| Error::data(file, format!("imageUpdater: {m}"));
    let mut out = BTreeMap::new();
    for (name, subs) in
        map.as_object().ok_or_else(|| bad("must map components to {sub-chart: image}".into()))?
    {
        let c: Component = name
            .parse()
            .map_err(|()| bad(crate::suggest::unknown("component", name, &Component::names())))?;
        let known: Vec<&str> = charts[&c].subcomponents.iter().map(String::as_str).collect();
        let mut images = BTreeMap::new();
        for (sub, image) in
            subs.as_object().ok_or_else(|| bad(format!("{name} must map sub-charts to images")))?
        {
            if !known.contains(&sub.as_str()) {
                return Err(bad(format!("{name}: {}", crate::suggest::unknown("sub-chart", sub, &known))));
            }
            let image =
                image.as_str().ok_or_else(|| bad(format!("{name}.{sub} must be an image reference")))?;
            images.insert(sub.clone(), image.to_string());
        }
        out.insert(c, images);
    }
    Ok(out)
}

/// `components:` of an experiment file, each name checked.
fn default_components(file: &Path, doc: &serde_json::Value) -> Result<Option<Vec<Component>>> {
    let Some(list) = doc.get("components") else { return Ok(None) };
    let names =
        list.as_array().ok_or_else(|| Error::data(file, "components must be a list of component names"))?;
    names
        .iter()
        .map(|n| {
            let name = n.as_str().unwrap_or_default();
            name.parse().map_err(|()| {
                Error::data(
                    file,
                    format!(
                        "components: {}",
                        crate::suggest::unknown("component", name, &Component::names())
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A catalog of the shipped shape (components, sub-components, the seed dependency graph and
    /// two experiments) rooted at `root`, without reading any file.
    pub(crate) fn test_catalog(root: &Path) -> Catalog {
        let subs: BTreeMap<Component, Vec<&str>> = BTreeMap::from([
            (Component::Msgsvc, vec!["activemq"]),
            (Component::Iam, vec!["main", "mariadb"]),
            (Component::Panda, vec!["server", "jedi", "postgres"]),
            (Component::Harvester, vec!["harvester", "mariadb"]),
            (Component::Idds, vec!["rest", "daemon", "postgres"]),
            (Component::Bigmon, vec!["main"]),
            (Component::Ui, vec!["backend", "frontend"]),
        ]);
        let edges = crate::settings::tiers::seed_edges();
        let info = |dir: PathBuf, name: &str, subs: Vec<&str>, deps: Vec<Component>| ChartInfo {
            dir,
            name: name.to_string(),
            version: "0.1.0".into(),
            subcomponents: subs.into_iter().map(String::from).collect(),
            depends_on: deps,
            needs_dependency_build: false,
            site_files: vec![],
        };
        let charts = subs
            .into_iter()
            .map(|(c, s)| (c, info(root.join("helm").join(c.name()), c.name(), s, edges[&c].clone())))
            .collect();
        Catalog {
            root: root.to_path_buf(),
            charts,
            library: info(root.join("helm/lib"), "panda-lib", vec![], vec![]),
            secrets_chart: root.join("secrets"),
            secrets_name: "secrets".into(),
            staged_secrets: None,
            experiments: BTreeMap::from([
                (
                    "lsst".to_string(),
                    Experiment {
                        dir: root.join("values/lsst"),
                        component_files: BTreeSet::from([Component::Msgsvc, Component::Panda]),
                        ..Default::default()
                    },
                ),
                (
                    "sphenix".to_string(),
                    Experiment {
                        dir: root.join("values/sphenix"),
                        component_files: BTreeSet::from([Component::Harvester]),
                        ..Default::default()
                    },
                ),
            ]),
        }
    }

    #[test]
    fn depends_on_lists_parse_and_unknown_names_are_named() {
        assert_eq!(parse_depends_on("msgsvc, iam").unwrap(), vec![Component::Msgsvc, Component::Iam]);
        assert_eq!(parse_depends_on("").unwrap(), vec![]);
        let err = parse_depends_on("panda,msgsv").unwrap_err();
        assert!(err.contains("\"msgsv\""), "{err}");
    }

    #[test]
    fn subcomponents_come_from_conditions() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Chart.yaml"),
            "apiVersion: v2\nname: x\nversion: 0.1.0\nannotations:\n  panda-install.io/depends-on: msgsvc\n\
             dependencies:\n- name: panda-lib\n  version: 0.1.0\n  repository: file://../lib\n\
             - name: server\n  version: 0.1.0\n  condition: server.enabled\n\
             - name: extra\n  version: 0.1.0\n  condition: other.enabled\n",
        )
        .unwrap();
        let info = load_chart(dir.path()).unwrap();
        assert_eq!(info.subcomponents, vec!["server"]);
        assert_eq!(info.depends_on, vec![Component::Msgsvc]);
        assert!(info.needs_dependency_build, "no charts/panda-lib-*.tgz yet");
    }

    #[test]
    fn malformed_chart_yaml_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Chart.yaml"), "dependencies: [unclosed\n").unwrap();
        let err = load_chart(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("Chart.yaml") && err.contains("malformed YAML") && err.contains("line 1"),
            "{err}"
        );
    }
}
