//! `panda-install diff`: the manifests an install would apply (helm template) against the deployed
//! ones (helm get manifest), per release and object, with Secret values redacted.

use crate::catalog::Catalog;
use crate::cli::OutputFormat;
use crate::error::{Error, Result};
use crate::exit_code;
use crate::plan::{plan, Invocation};
use crate::process::Helm;
use crate::settings::{Mode, Settings};
use serde::Deserialize;
use serde_json::json;
use serde_yaml::Value;
use std::collections::BTreeMap;

/// What changed for one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub object: String,
    pub kind: &'static str,
    /// `-`/`+` prefixed lines of the object's YAML (redacted).
    pub lines: Vec<String>,
}

pub async fn run(settings: &Settings, catalog: &Catalog, helm: &Helm) -> Result<i32> {
    let version = helm.version().await?;
    // The install plan's probes are exactly the pair to compare: helm template and helm get manifest.
    let install = Settings { mode: Mode::Install, force_upgrade: false, ..settings.clone() };
    let p = plan(&install, catalog, version)?;
    crate::execute::prepare(&p, helm).await?;
    let mut all = Vec::new();
    for step in p.steps() {
        let probe = step.probe.as_ref().expect("install steps carry a probe");
        let rendered = run_helm(helm, probe.render.args.clone()).await?;
        let out = helm.run(&probe.deployed).await.map_err(|e| Error::HelmUnavailable(format!("cannot run helm: {e}")))?;
        let deployed = if out.success() { out.stdout } else { String::new() };
        all.push((step.release.clone(), compare(&objects(&deployed), &objects(&rendered))));
    }
    let changed = all.iter().any(|(_, c)| !c.is_empty());
    match settings.output {
        OutputFormat::Json => {
            let releases: Vec<serde_json::Value> = all
                .iter()
                .map(|(r, changes)| {
                    json!({"release": r, "changes": changes.iter().map(|c| json!({"object": c.object, "change": c.kind, "lines": c.lines})).collect::<Vec<_>>()})
                })
                .collect();
            let doc = json!({"schemaVersion": 1, "command": "diff", "changed": changed, "releases": releases});
            println!("{}", serde_json::to_string_pretty(&doc).expect("JSON of plain values"));
        }
        OutputFormat::Text => {
            for (release, changes) in &all {
                if changes.is_empty() {
                    println!("{release}: no change");
                    continue;
                }
                println!("{release}:");
                for c in changes {
                    println!("  {} {}", c.kind, c.object);
                    for line in &c.lines {
                        println!("      {line}");
                    }
                }
            }
        }
    }
    Ok(if changed { exit_code::DIFF_CHANGES } else { exit_code::SUCCESS })
}

async fn run_helm(helm: &Helm, args: Vec<String>) -> Result<String> {
    let out = helm.run(&Invocation { args }).await.map_err(|e| Error::HelmUnavailable(format!("cannot run helm: {e}")))?;
    if !out.success() {
        return Err(Error::ReleaseFailed(format!("helm template failed: {}", out.stderr.trim())));
    }
    Ok(out.stdout)
}

/// The objects of a manifest stream by `Kind/name`, Secret values replaced by `<redacted>`.
pub fn objects(manifest: &str) -> BTreeMap<String, Value> {
    serde_yaml::Deserializer::from_str(manifest)
        .filter_map(|d| Value::deserialize(d).ok())
        .filter(|v| v.get("kind").is_some())
        .map(|v| {
            let key = format!("{}/{}", v["kind"].as_str().unwrap_or("?"), v["metadata"]["name"].as_str().unwrap_or("?"));
            (key, v)
        })
        .collect()
}

/// Removed, added and changed objects between the deployed and the rendered manifests.
pub fn compare(deployed: &BTreeMap<String, Value>, rendered: &BTreeMap<String, Value>) -> Vec<Change> {
    let mut changes = Vec::new();
    for (key, old) in deployed {
        match rendered.get(key) {
            None => changes.push(Change { object: key.clone(), kind: "removed", lines: vec![] }),
            Some(new) if new != old => {
                let (old, new) = redact_pair(old, new);
                changes.push(Change { object: key.clone(), kind: "changed", lines: line_diff(&yaml(&old), &yaml(&new)) });
            }
            Some(_) => {}
        }
    }
    for key in rendered.keys().filter(|k| !deployed.contains_key(*k)) {
        changes.push(Change { object: key.clone(), kind: "added", lines: vec![] });
    }
    changes
}

fn yaml(v: &Value) -> String {
    serde_yaml::to_string(v).unwrap_or_default()
}

/// Replaces the values of a Secret's `data` and `stringData` by markers that only say whether each
/// key changed, so a diff shows which keys differ and never what they hold.
fn redact_pair(old: &Value, new: &Value) -> (Value, Value) {
    if old["kind"] != "Secret" && new["kind"] != "Secret" {
        return (old.clone(), new.clone());
    }
    let (mut old, mut new) = (old.clone(), new.clone());
    for field in ["data", "stringData"] {
        let old_map = old.get(field).and_then(Value::as_mapping).cloned().unwrap_or_default();
        let new_map = new.get(field).and_then(Value::as_mapping).cloned().unwrap_or_default();
        // the deployed side always reads <redacted>; the rendered side says whether the value changed
        let mark = |map: &serde_yaml::Mapping, other: Option<&serde_yaml::Mapping>| -> serde_yaml::Mapping {
            map.iter()
                .map(|(k, v)| {
                    let changed = other.is_some_and(|o| o.get(k) != Some(v));
                    (k.clone(), Value::String(if changed { "<redacted, changed>".into() } else { "<redacted>".into() }))
                })
                .collect()
        };
        if old.get(field).is_some() {
            old[field] = Value::Mapping(mark(&old_map, None));
        }
        if new.get(field).is_some() {
            new[field] = Value::Mapping(mark(&new_map, Some(&old_map)));
        }
    }
    (old, new)
}

/// A minimal line diff (longest common subsequence): changed lines with `-`/`+`, no context.
pub fn line_diff(old: &str, new: &str) -> Vec<String> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(format!("- {}", a[i]));
            i += 1;
        } else {
            out.push(format!("+ {}", b[j]));
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYED: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: \"1\"\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  PASSWORD: old-canary-value\n  USER: panda\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: gone\n";
    const RENDERED: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: \"2\"\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  PASSWORD: new-canary-value\n  USER: panda\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: new\n";

    #[test]
    fn finds_added_removed_and_changed_objects() {
        let changes = compare(&objects(DEPLOYED), &objects(RENDERED));
        let summary: Vec<(String, &str)> = changes.iter().map(|c| (c.object.clone(), c.kind)).collect();
        assert_eq!(
            summary,
            vec![
                ("ConfigMap/a".to_string(), "changed"),
                ("Secret/s".to_string(), "changed"),
                ("Service/gone".to_string(), "removed"),
                ("Service/new".to_string(), "added")
            ]
        );
        assert_eq!(changes[0].lines, vec!["-   x: '1'", "+   x: '2'"]);
    }

    #[test]
    fn secret_values_never_appear() {
        let changes = compare(&objects(DEPLOYED), &objects(RENDERED));
        let text = changes.iter().flat_map(|c| c.lines.clone()).collect::<Vec<_>>().join("\n");
        assert!(!text.contains("canary"), "{text}");
        assert!(text.contains("-   PASSWORD: <redacted>\n+   PASSWORD: <redacted, changed>"), "{text}");
        assert!(!text.contains("USER"), "an unchanged key is no diff line: {text}");
    }

    #[test]
    fn identical_manifests_have_no_change() {
        assert!(compare(&objects(RENDERED), &objects(RENDERED)).is_empty());
    }
}
