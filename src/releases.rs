//! What helm knows about the releases in a namespace (`helm list -a -o json`), read through the
//! process module, and the checks on it: pending releases and the deployed secrets release.

use crate::error::{Error, Result};
use crate::helm::HelmVersion;
use crate::plan::Invocation;
use crate::process::Helm;
use crate::settings::Settings;
use serde::Deserialize;

/// One row of `helm list -a -o json`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Release {
    pub name: String,
    pub namespace: String,
    pub revision: String,
    pub status: String,
    pub chart: String,
    #[serde(default)]
    pub app_version: String,
}

impl Release {
    pub fn is_pending(&self) -> bool {
        self.status.starts_with("pending-")
    }
}

pub use crate::plan::cluster_selection as cluster_flags;

/// Every release of the namespace, whatever its status.
pub async fn list(helm: &Helm, version: HelmVersion, settings: &Settings) -> Result<Vec<Release>> {
    let mut args: Vec<String> = ["list", "--max", "0", "--output", "json"].map(String::from).to_vec();
    args.extend(version.list_all_flags());
    args.extend(cluster_flags(settings));
    let out = helm.run(&Invocation { args }).await.map_err(|e| Error::HelmUnavailable(format!("cannot run helm: {e}")))?;
    if !out.success() {
        return Err(Error::Preflight(format!("cannot list helm releases: {}", out.stderr.trim())));
    }
    parse_list(&out.stdout)
}

pub fn parse_list(json: &str) -> Result<Vec<Release>> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(json).map_err(|e| Error::Internal(anyhow::anyhow!("unexpected `helm list` output: {e}")))
}

/// The computed values of a release (`helm get values --all -o json`: the chart's defaults merged
/// with what was supplied), e.g. the secrets release's. They may hold secrets: callers only inspect
/// them and never print values.
pub async fn deployed_values(helm: &Helm, settings: &Settings, release: &str) -> Result<serde_json::Value> {
    let mut args: Vec<String> = vec!["get".into(), "values".into(), release.into(), "--all".into(), "--output".into(), "json".into()];
    args.extend(cluster_flags(settings));
    let out = helm.run(&Invocation { args }).await.map_err(|e| Error::HelmUnavailable(format!("cannot run helm: {e}")))?;
    if !out.success() {
        return Err(Error::Preflight(format!("cannot read the values of {release}: {}", out.stderr.trim())));
    }
    serde_json::from_str(&out.stdout).map_err(|e| Error::Internal(anyhow::anyhow!("unexpected `helm get values` output: {e}")))
}

/// Dotted paths of every string value that is exactly `FIXME` (what a human must still fill).
pub fn fixme_paths(values: &serde_json::Value) -> Vec<String> {
    fn walk(v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) if s.trim() == "FIXME" => out.push(path.to_string()),
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    walk(v, &p, out);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(values, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_helm_list_and_spots_pending() {
        let json = r#"[{"name":"test-panda","namespace":"p","revision":"3","updated":"x","status":"pending-upgrade","chart":"panda-0.1.0","app_version":"1.0"},
                       {"name":"test-iam","namespace":"p","revision":"1","updated":"x","status":"deployed","chart":"iam-0.1.0","app_version":""}]"#;
        let list = parse_list(json).unwrap();
        assert_eq!(list.len(), 2);
        assert!(list[0].is_pending());
        assert!(!list[1].is_pending());
        assert!(parse_list("").unwrap().is_empty());
    }

    #[test]
    fn finds_fixme_paths() {
        let v: serde_json::Value = serde_json::json!({
            "affix": "test-",
            "msgsvc": {"basePassword": "FIXME", "accounts": ["panda", "FIXME"]},
            "panda": {"database": {"password": "s3cret"}}
        });
        assert_eq!(fixme_paths(&v), vec!["msgsvc.accounts[1]", "msgsvc.basePassword"]);
    }
}
