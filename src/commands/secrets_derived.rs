//! What the secrets decide for every component release, from one place: the affix (hence the
//! release names and `global.secretsRelease`) and `global.cric.real`. In order: `--secrets FILE`;
//! else the secrets release deployed in the namespace (read from helm's records: a cluster that
//! does not answer stops the command, exit 75, it never counts as "nothing deployed"); else, only
//! when nothing is deployed there, the bundled `secrets/values.yaml` (bin/install's rule for a
//! first install). `--template` reads no cluster and keeps the bundled rule.

use super::instance;
use crate::error::{Error, Result};
use crate::kube::records::{Record, Releases};
use crate::kube::Cluster;
use crate::settings::catalog::Catalog;
use crate::settings::instance::{AffixSource, Instance};
use crate::settings::secrets_file::SecretsFile;
use crate::settings::target::ClusterTarget;
use serde_json::Value;

/// The secrets-derived settings of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Derived {
    pub(crate) instance: Instance,
    pub(crate) cric_real: bool,
}

/// Where the command may look.
pub(crate) enum Reads<'a> {
    /// The namespace's helm records (install, plan, diff, doctor, argocd, flux).
    Cluster(&'a ClusterTarget),
    /// No cluster access (`--template`): the bundled values.
    Offline,
}

/// The settings from `--secrets FILE` when given, else from the namespace (or the bundled values).
pub(crate) async fn resolve(
    flag: Option<&str>,
    file: Option<&SecretsFile>,
    catalog: &Catalog,
    reads: Reads<'_>,
) -> Result<Derived> {
    if let Some(file) = file {
        return Ok(Derived { instance: Instance::resolve(flag, Some(file))?, cric_real: file.cric_real()? });
    }
    let bundled = Bundled(catalog);
    match reads {
        Reads::Offline => bundled.derive(flag),
        Reads::Cluster(target) => {
            let cluster = Cluster::connect(target).await.map_err(|e| unreadable(e, &target.namespace))?;
            let releases = cluster.releases().await.map_err(|e| unreadable(e, &target.namespace))?;
            from_releases(flag, &releases, catalog, &target.namespace)
        }
    }
}

/// The settings from helm's records of the namespace: the instance `-a` names (or the one
/// deployed there; several: exit 64 asking for -a), its `cric.real` from the deployed secrets
/// release's values (chart defaults merged under what it was given); the bundled values when that
/// instance has no secrets release yet.
pub(crate) fn from_releases(
    flag: Option<&str>,
    releases: &Releases,
    catalog: &Catalog,
    namespace: &str,
) -> Result<Derived> {
    let instance = match flag {
        Some(raw) => Instance::from_flag(raw)?,
        None => match instance::the_one(releases, catalog, namespace)? {
            Some(found) => found,
            None => return Bundled(catalog).derive(None),
        },
    };
    let record = releases
        .get(&instance.secrets_release())
        .filter(|r| r.chart_name == catalog.secrets_name && r.made_by_panda_install());
    match record {
        Some(record) => Ok(Derived { cric_real: deployed_cric_real(record)?, instance }),
        None => Ok(Derived { cric_real: Bundled(catalog).derive(None)?.cric_real, instance }),
    }
}

/// `cric.real` of a deployed secrets release (the chart's default when its values leave it out).
fn deployed_cric_real(record: &Record) -> Result<bool> {
    match record.computed_values().pointer("/cric/real") {
        None | Some(Value::Null) => Ok(true),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(Error::Preflight(format!(
            "the secrets release {} records cric.real {other}, not true or false",
            record.name
        ))),
    }
}

/// A failure to read the namespace, saying why nothing is assumed and how to decide without it.
fn unreadable(e: Error, namespace: &str) -> Error {
    match e {
        Error::Preflight(why) => Error::Preflight(format!(
            "{why}: the affix and cric.real come from the secrets release deployed in namespace {namespace}, \
             which could not be read (nothing is assumed); pass --secrets FILE to take them from a file"
        )),
        other => other,
    }
}

/// The bundled `secrets/values.yaml`: the rule for a namespace with nothing deployed.
struct Bundled<'a>(&'a Catalog);

impl Bundled<'_> {
    fn derive(&self, flag: Option<&str>) -> Result<Derived> {
        let path = self.0.secrets_chart.join("values.yaml");
        let file = if path.is_file() { Some(SecretsFile::load(&path)?) } else { None };
        let mut instance = Instance::resolve(flag, file.as_ref())?;
        if let AffixSource::File(_) = instance.source {
            instance.source = AffixSource::Bundled(path.clone());
        }
        let cric_real = file.as_ref().map(SecretsFile::cric_real).transpose()?.unwrap_or(true);
        Ok(Derived { instance, cric_real })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::catalog::tests::test_catalog;
    use serde_json::json;
    use std::path::Path;

    fn record(name: &str, chart: &str, config: Value) -> Record {
        Record {
            name: name.into(),
            revision: 1,
            status: "deployed".into(),
            chart_name: chart.into(),
            chart_version: "0.1.0".into(),
            manifest: String::new(),
            config,
            chart_values: json!({"auth": {"method": "oidc"}, "cric": {"real": true}, "affix": "test-"}),
            written_at: None,
        }
    }

    fn releases(records: Vec<Record>) -> Releases {
        Releases { latest: records.into_iter().map(|r| (r.name.clone(), r)).collect(), ..Default::default() }
    }

    fn catalog() -> (tempfile::TempDir, Catalog) {
        let dir = tempfile::tempdir().unwrap();
        let mut c = test_catalog(Path::new(""));
        c.secrets_chart = dir.path().to_path_buf();
        std::fs::write(dir.path().join("values.yaml"), "affix: \"test-\"\ncric:\n  real: true\n").unwrap();
        (dir, c)
    }

    #[test]
    fn the_deployed_release_decides_the_affix_and_cric() {
        let (_d, c) = catalog();
        let there = releases(vec![record(
            "blah-secrets",
            "secrets",
            json!({"affix": "blah-", "cric": {"real": false}}),
        )]);
        let d = from_releases(None, &there, &c, "ns").unwrap();
        assert_eq!(d.instance.affix.as_str(), "blah-");
        assert_eq!(d.instance.source, AffixSource::Deployed("blah-secrets".into()));
        assert!(!d.cric_real, "the deployed cric.real, not the bundled true");
        // -a naming the deployed instance: its values; -a naming another: the bundled rule
        assert!(!from_releases(Some("blah-"), &there, &c, "ns").unwrap().cric_real);
        let other = from_releases(Some("new-"), &there, &c, "ns").unwrap();
        assert!(other.cric_real && other.instance.affix.as_str() == "new-");
        // the chart's default when the release's values leave cric out
        let plain = releases(vec![record("blah-secrets", "secrets", json!({"affix": "blah-"}))]);
        assert!(from_releases(None, &plain, &c, "ns").unwrap().cric_real);
    }

    #[test]
    fn nothing_deployed_takes_the_bundled_values_and_several_ask_for_a() {
        let (_d, c) = catalog();
        let d = from_releases(None, &releases(vec![]), &c, "ns").unwrap();
        assert_eq!(d.instance.affix.as_str(), "test-");
        assert!(matches!(d.instance.source, AffixSource::Bundled(_)), "{:?}", d.instance.source);
        assert!(d.cric_real);
        // a release of another chart is no instance
        let foreign =
            releases(vec![record("test-secrets", "upstream-secrets", json!({"cric": {"real": false}}))]);
        assert!(from_releases(None, &foreign, &c, "ns").unwrap().cric_real);
        let two = releases(vec![
            record("a-secrets", "secrets", json!({"affix": "a-"})),
            record("b-secrets", "secrets", json!({"affix": "b-"})),
        ]);
        let e = from_releases(None, &two, &c, "ns").unwrap_err();
        assert_eq!(e.exit_code(), crate::exit_code::USAGE);
        assert!(e.to_string().contains(r#"a-secrets (-a "a-"), b-secrets (-a "b-")"#), "{e}");
        let bad =
            releases(vec![record("a-secrets", "secrets", json!({"affix": "a-", "cric": {"real": "no"}}))]);
        assert_eq!(from_releases(None, &bad, &c, "ns").unwrap_err().exit_code(), crate::exit_code::PREFLIGHT);
    }

    #[tokio::test]
    async fn an_unreachable_cluster_stops_the_command_and_a_file_needs_none() {
        let (dir, c) = catalog();
        let kubeconfig = dir.path().join("config");
        std::fs::write(&kubeconfig, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
            .unwrap();
        let target = ClusterTarget {
            namespace: "ns".into(),
            namespace_source: crate::settings::target::NamespaceSource::Flag,
            context: None,
            kubeconfig: Some(kubeconfig),
        };
        let e = resolve(None, None, &c, Reads::Cluster(&target)).await.unwrap_err();
        assert_eq!(e.exit_code(), crate::exit_code::PREFLIGHT);
        assert!(e.to_string().contains("pass --secrets FILE"), "{e}");
        let offline = resolve(None, None, &c, Reads::Offline).await.unwrap();
        assert!(offline.cric_real && offline.instance.affix.as_str() == "test-");
        let path = dir.path().join("s.yaml");
        std::fs::write(&path, "affix: \"x-\"\ncric:\n  real: false\n").unwrap();
        let file = SecretsFile::load(&path).unwrap();
        let d = resolve(None, Some(&file), &c, Reads::Cluster(&target)).await.unwrap();
        assert!(!d.cric_real && d.instance.affix.as_str() == "x-");
    }
}
