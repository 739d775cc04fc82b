//! Finding the instance a command acts on in a namespace when `-a` is not given: every secrets
//! release (recognised by its chart) records the affix it was deployed with.

use crate::error::{Error, Result};
use crate::kube::records::Releases;
use crate::settings::affix::Affix;
use crate::settings::catalog::Catalog;
use crate::settings::instance::{AffixSource, Instance};

/// `-a`, else the one instance deployed in the namespace; several make the user choose.
pub(crate) fn find(
    flag: Option<&str>,
    releases: &Releases,
    catalog: &Catalog,
    namespace: &str,
) -> Result<Instance> {
    if let Some(raw) = flag {
        return Instance::from_flag(raw);
    }
    match the_one(releases, catalog, namespace)? {
        Some(instance) => Ok(instance),
        None => Err(Error::Preflight(format!(
            "no panda-install instance in namespace {namespace}: no secrets release (chart {}) is installed there; \
             pass -a AFFIX or -n NAMESPACE",
            catalog.secrets_name
        ))),
    }
}

/// The instance deployed in the namespace: `None` when there is none; several are a usage error
/// (exit 64) listing them, so that the user chooses with `-a`.
pub(crate) fn the_one(releases: &Releases, catalog: &Catalog, namespace: &str) -> Result<Option<Instance>> {
    let mut found = deployed(releases, catalog)?;
    match found.len() {
        0 => Ok(None),
        1 => {
            let (release, affix) = found.remove(0);
            Ok(Some(Instance { affix, source: AffixSource::Deployed(release) }))
        }
        _ => {
            let list: Vec<String> = found.iter().map(|(r, a)| format!("{r} (-a {:?})", a.as_str())).collect();
            Err(Error::usage(format!(
                "namespace {namespace} holds several instances: {}; choose one with -a",
                list.join(", ")
            )))
        }
    }
}

/// Every secrets release of the namespace (by chart) with the affix it records; one whose
/// recorded affix does not name it is refused (pass -a).
fn deployed(releases: &Releases, catalog: &Catalog) -> Result<Vec<(String, Affix)>> {
    let mut found: Vec<(String, Affix)> = Vec::new();
    for record in releases.latest.values().filter(|r| r.chart_name == catalog.secrets_name) {
        let values = record.computed_values();
        let raw = values.get("affix").and_then(|a| a.as_str()).unwrap_or_default();
        let affix = Affix::parse(raw).map_err(|m| {
            Error::Preflight(format!("the secrets release {} records an invalid affix: {m}", record.name))
        })?;
        if affix.apply("secrets") != record.name {
            return Err(Error::Preflight(format!(
                "the secrets release {} records affix {raw:?}, which names it {}: pass -a",
                record.name,
                affix.apply("secrets")
            )));
        }
        found.push((record.name.clone(), affix));
    }
    Ok(found)
}
