//! Validated settings: the command line checked against the catalog, before anything runs.
//! Every rejection here happens before the first helm call.

use crate::affix::{Affix, DEFAULT_AFFIX};
use crate::catalog::Catalog;
use crate::cli::DeployArgs;
use crate::component::Component;
use crate::error::{Error, Result};
use crate::suggest;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a run does with the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Install,
    Template,
    Plan,
    Uninstall,
}

/// Where the affix came from, so the plan can say so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AffixSource {
    Flag,
    File(PathBuf),
    Default,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    pub affix: Affix,
    pub affix_source: AffixSource,
    /// `cric.real` of the secrets values: false = components mount the local CRIC JSON files.
    pub cric_real: bool,
    pub experiment: Option<String>,
    /// Enabled components, in `Component::ALL` order.
    pub components: Vec<Component>,
    pub disabled_subcomponents: BTreeMap<Component, Vec<String>>,
    pub namespace: Option<String>,
    pub create_namespace: bool,
    pub kube_context: Option<String>,
    pub kubeconfig: Option<PathBuf>,
    pub helm: Option<PathBuf>,
    pub timeout: String,
    pub extra_values: Vec<(Component, PathBuf)>,
    pub secrets_values: Option<PathBuf>,
    pub wait: bool,
    pub concurrency: Option<usize>,
    pub rollback_on_failure: bool,
    /// Upgrade even releases whose rendered manifests equal the deployed ones.
    pub force_upgrade: bool,
    pub recover: bool,
    pub output: crate::cli::OutputFormat,
}

impl Settings {
    pub fn from_args(args: &DeployArgs, plan_subcommand: bool, catalog: &Catalog) -> Result<Settings> {
        let mode = match (args.template, args.dry_run || plan_subcommand) {
            (true, true) => return Err(Error::usage("--template and --dry-run/plan exclude each other")),
            (true, false) => Mode::Template,
            (false, true) => Mode::Plan,
            (false, false) => Mode::Install,
        };
        let secrets_values = secrets_values_file(args, catalog)?;
        let (affix, affix_source) = resolve_affix(args, secrets_values.as_ref())?;
        let cric_real = resolve_cric_real(secrets_values.as_ref())?;
        let experiment = match &args.experiment {
            None => None,
            Some(e) => Some(validate_experiment(e, catalog)?),
        };
        let (components, disabled_subcomponents) = select(&args.enable, &args.disable, catalog)?;
        // The dependency graph is input too: a cycle is reported before helm is even asked its version.
        crate::tiers::tiers(&catalog.edges(), &components)?;
        if let Some(ns) = &args.namespace {
            check_dns_label(ns).map_err(|m| Error::usage(format!("namespace {ns:?}: {m}")))?;
        }
        check_duration(&args.timeout)?;
        if args.concurrency == Some(0) {
            return Err(Error::usage("--concurrency must be at least 1"));
        }
        let extra_values = args.values.iter().map(|v| parse_extra_values(v)).collect::<Result<Vec<_>>>()?;
        if let Some(e) = &experiment {
            for c in &components {
                if let Some(file) = catalog.experiment_values(e, *c) {
                    load_yaml_mapping(&file)?;
                }
            }
        }
        Ok(Settings {
            mode,
            affix,
            affix_source,
            cric_real,
            experiment,
            components,
            disabled_subcomponents,
            namespace: args.namespace.clone(),
            create_namespace: args.create_namespace,
            kube_context: args.kube_context.clone(),
            kubeconfig: args.kubeconfig.clone(),
            helm: args.helm.clone(),
            timeout: args.timeout.clone(),
            extra_values,
            secrets_values: args.secrets.clone(),
            wait: !args.no_wait,
            concurrency: args.concurrency,
            rollback_on_failure: args.rollback_on_failure,
            force_upgrade: args.force_upgrade,
            recover: args.recover,
            output: args.output,
        })
    }

    /// The release name of a component under this run's affix.
    pub fn release(&self, component: Component) -> String {
        self.affix.apply(component.name())
    }

    /// The release name of the secrets chart under this run's affix.
    pub fn secrets_release(&self) -> String {
        self.affix.apply("secrets")
    }
}

/// The secrets values file (`--secrets`, else the bundled secrets/values.yaml) with its content.
fn secrets_values_file(args: &DeployArgs, catalog: &Catalog) -> Result<Option<(PathBuf, serde_yaml::Mapping)>> {
    let file = args.secrets.clone().unwrap_or_else(|| catalog.secrets_chart.join("values.yaml"));
    if args.secrets.is_none() && !file.is_file() {
        return Ok(None);
    }
    let doc = load_yaml_mapping(&file)?;
    Ok(Some((file, doc)))
}

/// `--affix`, else `affix` in the secrets values file, else `test-`.
fn resolve_affix(args: &DeployArgs, secrets: Option<&(PathBuf, serde_yaml::Mapping)>) -> Result<(Affix, AffixSource)> {
    if let Some(raw) = &args.affix {
        let affix = Affix::parse(raw).map_err(|m| Error::usage(format!("--affix: {m}")))?;
        return Ok((affix, AffixSource::Flag));
    }
    if let Some((file, doc)) = secrets {
        match doc.get("affix") {
            None | Some(serde_yaml::Value::Null) => {}
            Some(serde_yaml::Value::String(raw)) => {
                let affix = Affix::parse(raw).map_err(|m| Error::data(file, format!("affix: {m}")))?;
                return Ok((affix, AffixSource::File(file.clone())));
            }
            Some(other) => return Err(Error::data(file, format!("affix must be a string, found {other:?}"))),
        }
    }
    Ok((Affix::parse(DEFAULT_AFFIX).expect("the default affix is valid"), AffixSource::Default))
}

/// `cric.real` of the secrets values (true when absent, as in the secrets chart).
fn resolve_cric_real(secrets: Option<&(PathBuf, serde_yaml::Mapping)>) -> Result<bool> {
    let Some((file, doc)) = secrets else { return Ok(true) };
    match doc.get("cric").and_then(|c| c.get("real")) {
        None | Some(serde_yaml::Value::Null) => Ok(true),
        Some(serde_yaml::Value::Bool(b)) => Ok(*b),
        Some(other) => Err(Error::data(file, format!("cric.real must be true or false, found {other:?}"))),
    }
}

fn validate_experiment(name: &str, catalog: &Catalog) -> Result<String> {
    if catalog.experiments.get(name).is_some_and(|c| !c.is_empty()) {
        return Ok(name.to_string());
    }
    let known: Vec<&str> =
        catalog.experiments.iter().filter(|(_, c)| !c.is_empty()).map(|(n, _)| n.as_str()).collect();
    Err(Error::usage(format!("--experiment: {}", suggest::unknown("experiment", name, &known))))
}

type Selection = (Vec<Component>, BTreeMap<Component, Vec<String>>);

/// Applies `--enable` and `--disable`; every name is checked, unknown ones get a suggestion.
fn select(enable: &[String], disable: &[String], catalog: &Catalog) -> Result<Selection> {
    let names = Component::names();
    let parse = |flag: &str, name: &str| -> Result<Component> {
        name.parse().map_err(|()| Error::usage(format!("{flag}: {}", suggest::unknown("component", name, &names))))
    };
    let mut enabled: Vec<Component> = if enable.iter().all(|e| e.trim().is_empty()) {
        Component::ALL.to_vec()
    } else {
        enable.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).map(|s| parse("--enable", s)).collect::<Result<_>>()?
    };
    let mut subs: BTreeMap<Component, Vec<String>> = BTreeMap::new();
    for item in disable.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        match item.split_once('.') {
            None => {
                let c = parse("--disable", item)?;
                enabled.retain(|e| *e != c);
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
        return Err(Error::usage("nothing to deploy: --enable/--disable leave no component"));
    }
    subs.retain(|c, _| enabled.contains(c));
    Ok((enabled, subs))
}

fn parse_extra_values(spec: &str) -> Result<(Component, PathBuf)> {
    let Some((comp, file)) = spec.split_once('=') else {
        return Err(Error::usage(format!("--values {spec:?}: expected COMPONENT=FILE, e.g. panda=site.yaml")));
    };
    let names = Component::names();
    let c = comp
        .parse()
        .map_err(|()| Error::usage(format!("--values {spec:?}: {}", suggest::unknown("component", comp, &names))))?;
    let path = PathBuf::from(file);
    load_yaml_mapping(&path)?;
    Ok((c, path))
}

/// Reads a values file and checks that it is a YAML mapping (or empty); errors name the file and line.
pub fn load_yaml_mapping(path: &Path) -> Result<serde_yaml::Mapping> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::data(path, format!("cannot read: {e}")))?;
    let value: serde_yaml::Value =
        serde_yaml::from_str(&text).map_err(|e| Error::data(path, format!("malformed YAML: {e}")))?;
    match value {
        serde_yaml::Value::Mapping(m) => Ok(m),
        serde_yaml::Value::Null => Ok(serde_yaml::Mapping::new()),
        _ => Err(Error::data(path, "a values file must be a YAML mapping")),
    }
}

/// RFC 1123 label: what Kubernetes requires of namespace names.
fn check_dns_label(name: &str) -> Result<(), String> {
    let ok_chars = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let ok_ends = name.starts_with(|c: char| c.is_ascii_alphanumeric()) && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if name.is_empty() || name.len() > 63 || !ok_chars || !ok_ends {
        return Err("must be a DNS-1123 label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit".into());
    }
    Ok(())
}

/// Accepts what Go's time.ParseDuration accepts for whole units: 90s, 10m, 1h30m.
fn check_duration(text: &str) -> Result<()> {
    let bad = || Error::usage(format!("--timeout {text:?}: expected a duration like 300s, 10m or 1h30m"));
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return Err(bad());
        }
        rest = &rest[digits..];
        let unit = ["ms", "h", "m", "s"].into_iter().find(|u| rest.starts_with(u)).ok_or_else(bad)?;
        rest = &rest[unit.len()..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ChartInfo;
    use std::collections::BTreeSet;

    pub fn test_catalog(root: &Path) -> Catalog {
        let subs: BTreeMap<Component, Vec<&str>> = BTreeMap::from([
            (Component::Msgsvc, vec!["activemq"]),
            (Component::Iam, vec!["main", "mariadb"]),
            (Component::Panda, vec!["server", "jedi", "postgres"]),
            (Component::Harvester, vec!["harvester", "mariadb"]),
            (Component::Idds, vec!["rest", "daemon", "postgres"]),
            (Component::Bigmon, vec!["main"]),
        ]);
        let charts = subs
            .into_iter()
            .map(|(c, s)| {
                let info = ChartInfo {
                    dir: root.join("helm").join(c.name()),
                    subcomponents: s.into_iter().map(String::from).collect(),
                    depends_on: vec![],
                    local_dependencies: vec![],
                    needs_dependency_build: false,
                };
                (c, info)
            })
            .collect();
        Catalog {
            root: root.to_path_buf(),
            charts,
            secrets_chart: root.join("secrets"),
            experiments: BTreeMap::from([
                ("lsst".to_string(), BTreeSet::from([Component::Panda])),
                ("sphenix".to_string(), BTreeSet::from([Component::Harvester])),
            ]),
        }
    }

    fn args() -> DeployArgs {
        DeployArgs { timeout: "10m".into(), ..Default::default() }
    }

    fn settings(a: &DeployArgs) -> Result<Settings> {
        let dir = tempfile::tempdir().unwrap();
        Settings::from_args(a, false, &test_catalog(dir.path()))
    }

    #[test]
    fn defaults_select_everything_with_the_default_affix() {
        let s = settings(&args()).unwrap();
        assert_eq!(s.components, Component::ALL.to_vec());
        assert_eq!(s.affix.as_str(), "test-");
        assert_eq!(s.affix_source, AffixSource::Default);
        assert_eq!(s.release(Component::Panda), "test-panda");
        assert_eq!(s.secrets_release(), "test-secrets");
        assert_eq!(s.mode, Mode::Install);
    }

    #[test]
    fn affix_from_the_secrets_values_file_as_yaml() {
        let dir = tempfile::tempdir().unwrap();
        let cat = test_catalog(dir.path());
        std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
        std::fs::write(dir.path().join("secrets/values.yaml"), "# comment\naffix: \"-prod\" # inline comment\n").unwrap();
        let s = Settings::from_args(&args(), false, &cat).unwrap();
        assert_eq!(s.affix.as_str(), "-prod");
        assert_eq!(s.release(Component::Idds), "idds-prod");
        assert!(matches!(s.affix_source, AffixSource::File(_)));
        // the flag wins over the file
        let s = Settings::from_args(&DeployArgs { affix: Some("x-".into()), ..args() }, false, &cat).unwrap();
        assert_eq!(s.release(Component::Idds), "x-idds");
        // a null affix in the file falls back to the default
        std::fs::write(dir.path().join("secrets/values.yaml"), "affix: ~\n").unwrap();
        assert_eq!(Settings::from_args(&args(), false, &cat).unwrap().affix.as_str(), "test-");
        // cric.real follows the file too
        std::fs::write(dir.path().join("secrets/values.yaml"), "cric:\n  real: false\n").unwrap();
        assert!(!Settings::from_args(&args(), false, &cat).unwrap().cric_real);
        assert!(s.cric_real);
        // an invalid one in the file is a data error naming the file
        std::fs::write(dir.path().join("secrets/values.yaml"), "affix: blah\n").unwrap();
        let err = Settings::from_args(&args(), false, &cat).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit_code::DATA);
        assert!(err.to_string().contains("values.yaml"), "{err}");
    }

    #[test]
    fn unknown_components_get_suggestions() {
        let err = settings(&DeployArgs { enable: vec!["pnada".into()], ..args() }).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit_code::USAGE);
        assert!(err.to_string().contains("did you mean \"panda\""), "{err}");
        let err = settings(&DeployArgs { disable: vec!["harvestr".into()], ..args() }).unwrap_err();
        assert!(err.to_string().contains("\"harvester\""), "{err}");
    }

    #[test]
    fn disable_components_and_subcomponents() {
        let a = DeployArgs { disable: vec!["iam".into(), "panda.jedi".into(), "idds.postgres".into()], ..args() };
        let s = settings(&a).unwrap();
        assert!(!s.components.contains(&Component::Iam));
        assert_eq!(s.disabled_subcomponents[&Component::Panda], vec!["jedi"]);
        assert_eq!(s.disabled_subcomponents[&Component::Idds], vec!["postgres"]);
        let err = settings(&DeployArgs { disable: vec!["panda.jed".into()], ..args() }).unwrap_err();
        assert!(err.to_string().contains("sub-component of panda") && err.to_string().contains("\"jedi\""), "{err}");
        let err = settings(&DeployArgs { disable: vec!["panda.jedi.x".into()], ..args() }).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit_code::USAGE);
    }

    #[test]
    fn disabling_everything_is_an_error() {
        let a = DeployArgs { enable: vec!["panda".into()], disable: vec!["panda".into()], ..args() };
        assert!(settings(&a).unwrap_err().to_string().contains("nothing to deploy"));
    }

    #[test]
    fn unknown_experiment_lists_known_ones() {
        let err = settings(&DeployArgs { experiment: Some("lsts".into()), ..args() }).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("\"lsts\"") && msg.contains("known: lsst, sphenix"), "{msg}");
    }

    #[test]
    fn bad_values_specs() {
        let err = settings(&DeployArgs { values: vec!["panda".into()], ..args() }).unwrap_err();
        assert!(err.to_string().contains("COMPONENT=FILE"));
        let err = settings(&DeployArgs { values: vec!["panda=/nonexistent.yaml".into()], ..args() }).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit_code::DATA);
        assert!(err.to_string().contains("/nonexistent.yaml"));
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "a: 1\nb: [\n").unwrap();
        let err = settings(&DeployArgs { values: vec![format!("panda={}", bad.display())], ..args() }).unwrap_err();
        assert!(err.to_string().contains("bad.yaml") && err.to_string().contains("line"), "{err}");
    }

    #[test]
    fn namespaces_and_timeouts_are_checked() {
        assert!(settings(&DeployArgs { namespace: Some("Panda_NS".into()), ..args() }).is_err());
        assert!(settings(&DeployArgs { namespace: Some("panda-dev".into()), ..args() }).is_ok());
        for good in ["300s", "10m", "1h30m", "500ms"] {
            assert!(check_duration(good).is_ok(), "{good}");
        }
        for bad in ["", "10", "ten", "5d", "m"] {
            assert!(check_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn template_and_dry_run_exclude_each_other() {
        assert!(settings(&DeployArgs { template: true, dry_run: true, ..args() }).is_err());
        assert_eq!(settings(&DeployArgs { template: true, ..args() }).unwrap().mode, Mode::Template);
    }
}
