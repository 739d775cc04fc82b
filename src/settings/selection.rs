//! Which components, sub-components, experiment and extra values a command acts on: `-c`, `-d`,
//! `-e` and `--values`, each name checked against the catalog with a suggestion for typos.

use super::catalog::Catalog;
use super::component::Component;
use super::site_files::{self, SetFile};
use super::yaml;
use crate::cli::args::{ComponentArgs, SelectArgs};
use crate::error::{Error, Result};
use crate::suggest;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The validated `-e -c -d --values` of install, plan, diff and argocd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selection {
    pub(crate) experiment: Option<String>,
    /// Enabled components, in `Component::ALL` order.
    pub(crate) components: Vec<Component>,
    pub(crate) disabled_subcomponents: BTreeMap<Component, Vec<String>>,
    /// `--values COMPONENT=FILE`, in the order given.
    pub(crate) extra_values: Vec<(Component, PathBuf)>,
    /// The experiment's site files per component, as `--set-file` pairs.
    pub(crate) site_files: BTreeMap<Component, Vec<SetFile>>,
}

impl Selection {
    pub(crate) fn resolve(args: &SelectArgs, catalog: &Catalog) -> Result<Selection> {
        let experiment = args.experiment.as_deref().map(|e| validate_experiment(e, catalog)).transpose()?;
        let defaults = experiment.as_ref().and_then(|e| catalog.experiments[e].default_components.clone());
        let (components, disabled_subcomponents) = select(&args.components, catalog, true, defaults)?;
        // The dependency graph is input too: a cycle is reported before helm is even asked its version.
        super::tiers::tiers(&catalog.edges(), &components)?;
        let extra_values = args.values.iter().map(|v| parse_extra_values(v)).collect::<Result<Vec<_>>>()?;
        let mut site_files = BTreeMap::new();
        if let Some(e) = &experiment {
            for c in &components {
                for file in catalog.experiment_values(e, *c) {
                    yaml::load_mapping(&file)?;
                }
                let files = site_files::set_files(catalog, e, *c)?;
                if !files.is_empty() {
                    site_files.insert(*c, files);
                }
            }
        }
        Ok(Selection { experiment, components, disabled_subcomponents, extra_values, site_files })
    }

    /// No component at all (the plan of `secrets deploy`).
    pub(crate) fn none() -> Selection {
        Selection {
            experiment: None,
            components: vec![],
            disabled_subcomponents: BTreeMap::new(),
            extra_values: vec![],
            site_files: BTreeMap::new(),
        }
    }

    /// The disabled sub-components of one component.
    pub(crate) fn disabled(&self, component: Component) -> &[String] {
        self.disabled_subcomponents.get(&component).map_or(&[], Vec::as_slice)
    }
}

/// `-c`/`-d` of commands that act on whole releases (uninstall, recover): components only.
pub(crate) fn components(args: &ComponentArgs, catalog: &Catalog) -> Result<Vec<Component>> {
    Ok(select(args, catalog, false, None)?.0)
}

/// `-c LIST` of status and package: components only, all when empty.
pub(crate) fn enabled_components(enable: &[String]) -> Result<Vec<Component>> {
    let names = Component::names();
    let mut out: Vec<Component> = enable
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|()| Error::usage(format!("--enable: {}", suggest::unknown("component", s, &names))))
        })
        .collect::<Result<_>>()?;
    if out.is_empty() {
        out = Component::ALL.to_vec();
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn validate_experiment(name: &str, catalog: &Catalog) -> Result<String> {
    let real = super::catalog::Experiment::is_real;
    if catalog.experiments.get(name).is_some_and(real) {
        return Ok(name.to_string());
    }
    let known: Vec<&str> =
        catalog.experiments.iter().filter(|(_, e)| real(e)).map(|(n, _)| n.as_str()).collect();
    Err(Error::usage(format!("--experiment: {}", suggest::unknown("experiment", name, &known))))
}

type Picked = (Vec<Component>, BTreeMap<Component, Vec<String>>);

/// Applies `--enable` (else the experiment's default set, else all) and `--disable`; every name is
/// checked, unknown ones get a suggestion.
fn select(
    args: &ComponentArgs,
    catalog: &Catalog,
    subcomponents_allowed: bool,
    defaults: Option<Vec<Component>>,
) -> Result<Picked> {
    let names = Component::names();
    let parse = |flag: &str, name: &str| -> Result<Component> {
        name.parse()
            .map_err(|()| Error::usage(format!("{flag}: {}", suggest::unknown("component", name, &names))))
    };
    let mut enabled: Vec<Component> = if args.enable.iter().all(|e| e.trim().is_empty()) {
        defaults.unwrap_or_else(|| Component::ALL.to_vec())
    } else {
        args.enable
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| parse("--enable", s))
            .collect::<Result<_>>()?
    };
    let mut subs: BTreeMap<Component, Vec<String>> = BTreeMap::new();
    for item in args.disable.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        match item.split_once('.') {
            None => {
                let c = parse("--disable", item)?;
                enabled.retain(|e| *e != c);
            }
            Some(_) if !subcomponents_allowed => {
                return Err(Error::usage(format!(
                "--disable {item}: this command acts on whole releases; a sub-component is switched off by \
                     deploying with -d {item}"
            )))
            }
            Some((comp, sub)) => {
                let c = parse("--disable", comp)?;
                let known: Vec<&str> = catalog.chart(c).subcomponents.iter().map(String::as_str).collect();
                if !known.contains(&sub) {
                    let what = format!("sub-component of {c}");
                    return Err(Error::usage(format!("--disable: {}", suggest::unknown(&what, sub, &known))));
                }
                let list = subs.entry(c).or_default();
                if !list.iter().any(|s| s == sub) {
                    list.push(sub.to_string());
                }
            }
        }
    }
    enabled.sort();
    enabled.dedup();
    if enabled.is_empty() {
        return Err(Error::usage("nothing to act on: --enable/--disable leave no component"));
    }
    subs.retain(|c, _| enabled.contains(c));
    Ok((enabled, subs))
}

fn parse_extra_values(spec: &str) -> Result<(Component, PathBuf)> {
    let Some((comp, file)) = spec.split_once('=') else {
        return Err(Error::usage(format!(
            "--values {spec:?}: expected COMPONENT=FILE, e.g. panda=site.yaml"
        )));
    };
    let names = Component::names();
    let c = comp.parse().map_err(|()| {
        Error::usage(format!("--values {spec:?}: {}", suggest::unknown("component", comp, &names)))
    })?;
    let path = PathBuf::from(file);
    yaml::load_mapping(&path)?;
    Ok((c, path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::catalog::tests::test_catalog;

    fn args(enable: &[&str], disable: &[&str]) -> SelectArgs {
        SelectArgs {
            experiment: None,
            components: ComponentArgs {
                enable: enable.iter().map(|s| s.to_string()).collect(),
                disable: disable.iter().map(|s| s.to_string()).collect(),
            },
            values: vec![],
            site: Default::default(),
        }
    }

    fn resolve(a: &SelectArgs) -> Result<Selection> {
        let dir = tempfile::tempdir().unwrap();
        Selection::resolve(a, &test_catalog(dir.path()))
    }

    #[test]
    fn defaults_select_everything_or_the_experiments_set() {
        assert_eq!(resolve(&args(&[], &[])).unwrap().components, Component::ALL.to_vec());
        let dir = tempfile::tempdir().unwrap();
        let mut catalog = test_catalog(dir.path());
        let lsst = catalog.experiments.get_mut("lsst").unwrap();
        lsst.default_components = Some(vec![Component::Panda, Component::Msgsvc]);
        lsst.component_files.clear();
        let file = dir.path().join("values/lsst/experiment.yaml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "components: [panda, msgsvc]\n").unwrap();
        lsst.file = Some(file);
        let a = SelectArgs { experiment: Some("lsst".into()), ..args(&[], &["msgsvc"]) };
        assert_eq!(Selection::resolve(&a, &catalog).unwrap().components, vec![Component::Panda]);
        let a = SelectArgs { experiment: Some("lsst".into()), ..args(&["iam"], &[]) };
        assert_eq!(Selection::resolve(&a, &catalog).unwrap().components, vec![Component::Iam], "-c wins");
    }

    #[test]
    fn unknown_components_get_suggestions() {
        let err = resolve(&args(&["pnada"], &[])).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit_code::USAGE);
        assert!(err.to_string().contains("did you mean \"panda\""), "{err}");
        let err = resolve(&args(&[], &["harvestr"])).unwrap_err();
        assert!(err.to_string().contains("\"harvester\""), "{err}");
    }

    #[test]
    fn disable_components_and_subcomponents() {
        let s = resolve(&args(&[], &["iam", "panda.jedi", "idds.postgres"])).unwrap();
        assert!(!s.components.contains(&Component::Iam));
        assert_eq!(s.disabled(Component::Panda), ["jedi"]);
        assert_eq!(s.disabled(Component::Idds), ["postgres"]);
        let err = resolve(&args(&[], &["panda.jed"])).unwrap_err();
        assert!(
            err.to_string().contains("sub-component of panda") && err.to_string().contains("\"jedi\""),
            "{err}"
        );
        assert!(resolve(&args(&[], &["panda.jedi.x"])).is_err());
        let dir = tempfile::tempdir().unwrap();
        let whole = ComponentArgs { enable: vec![], disable: vec!["panda.jedi".into()] };
        let err = components(&whole, &test_catalog(dir.path())).unwrap_err();
        assert!(err.to_string().contains("whole releases"), "{err}");
    }

    #[test]
    fn disabling_everything_is_an_error() {
        assert!(resolve(&args(&["panda"], &["panda"]))
            .unwrap_err()
            .to_string()
            .contains("nothing to act on"));
    }

    #[test]
    fn unknown_experiment_lists_known_ones() {
        let a = SelectArgs { experiment: Some("lsts".into()), ..args(&[], &[]) };
        let msg = resolve(&a).unwrap_err().to_string();
        assert!(msg.contains("\"lsts\"") && msg.contains("known: lsst, sphenix"), "{msg}");
    }

    #[test]
    fn bad_values_specs() {
        let with = |v: &str| SelectArgs { values: vec![v.to_string()], ..args(&[], &[]) };
        assert!(resolve(&with("panda")).unwrap_err().to_string().contains("COMPONENT=FILE"));
        let err = resolve(&with("panda=/nonexistent.yaml")).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit_code::DATA);
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "a: 1\nb: [\n").unwrap();
        let err = resolve(&with(&format!("panda={}", bad.display()))).unwrap_err();
        assert!(err.to_string().contains("bad.yaml") && err.to_string().contains("line"), "{err}");
    }

    #[test]
    fn status_components() {
        assert_eq!(enabled_components(&[]).unwrap(), Component::ALL.to_vec());
        assert_eq!(
            enabled_components(&["panda".into(), "iam".into()]).unwrap(),
            vec![Component::Iam, Component::Panda]
        );
        assert!(enabled_components(&["x".into()]).is_err());
    }
}
