//! Manifest streams as objects, and what changed between two of them: added, removed and
//! changed objects with a line diff of each change, Secret values redacted (a diff says which
//! keys differ, never what they hold).

use crate::error::Result;
use crate::kube::drift::object_id;
use crate::settings::yaml;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// What changed for one object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Change {
    pub(crate) object: String,
    #[serde(rename = "change")]
    pub(crate) kind: &'static str,
    /// `-`/`+` prefixed lines of the object's YAML (redacted).
    pub(crate) lines: Vec<String>,
}

/// The objects of a manifest stream by `Kind/name`; `what` names the stream in a parse error.
pub(crate) fn objects(manifest: &str, what: &str) -> Result<BTreeMap<String, Value>> {
    Ok(yaml::parse_stream(manifest, what)?
        .into_iter()
        .filter(|v| v.get("kind").is_some())
        .map(|v| (object_id(&v), v))
        .collect())
}

/// Removed, added and changed objects between the deployed and the rendered manifests.
pub(crate) fn compare(deployed: &BTreeMap<String, Value>, rendered: &BTreeMap<String, Value>) -> Vec<Change> {
    let mut changes = Vec::new();
    for (key, old) in deployed {
        match rendered.get(key) {
            None => changes.push(Change { object: key.clone(), kind: "removed", lines: vec![] }),
            Some(new) if new != old => {
                let (old, new) = redact_pair(old, new);
                changes.push(Change {
                    object: key.clone(),
                    kind: "changed",
                    lines: line_diff(&as_yaml(&old), &as_yaml(&new)),
                });
            }
            Some(_) => {}
        }
    }
    for key in rendered.keys().filter(|k| !deployed.contains_key(*k)) {
        changes.push(Change { object: key.clone(), kind: "added", lines: vec![] });
    }
    changes
}

fn as_yaml(v: &Value) -> String {
    yaml::to_string(v).unwrap_or_default()
}

/// Replaces the values of a Secret's `data` and `stringData` by markers that only say whether each
/// key changed, so a diff shows which keys differ and never what they hold.
fn redact_pair(old: &Value, new: &Value) -> (Value, Value) {
    if old["kind"] != "Secret" && new["kind"] != "Secret" {
        return (old.clone(), new.clone());
    }
    let (mut old, mut new) = (old.clone(), new.clone());
    for field in ["data", "stringData"] {
        let old_map = old.get(field).and_then(Value::as_object).cloned().unwrap_or_default();
        let new_map = new.get(field).and_then(Value::as_object).cloned().unwrap_or_default();
        // the deployed side always reads <redacted>; the rendered side says whether the value changed
        let mark = |map: &Map<String, Value>, other: Option<&Map<String, Value>>| -> Map<String, Value> {
            map.iter()
                .map(|(k, v)| {
                    let changed = other.is_some_and(|o| o.get(k) != Some(v));
                    (
                        k.clone(),
                        Value::String(if changed {
                            "<redacted, changed>".into()
                        } else {
                            "<redacted>".into()
                        }),
                    )
                })
                .collect()
        };
        if old.get(field).is_some() {
            old[field] = Value::Object(mark(&old_map, None));
        }
        if new.get(field).is_some() {
            new[field] = Value::Object(mark(&new_map, Some(&old_map)));
        }
    }
    (old, new)
}

/// A minimal line diff (Myers, in O((n+m)·d) time and linear memory): changed lines with
/// `-`/`+`, no context.
pub(crate) fn line_diff(old: &str, new: &str) -> Vec<String> {
    use similar::{Algorithm, ChangeTag, TextDiff};
    let diff = TextDiff::configure().algorithm(Algorithm::Myers).diff_lines(old, new);
    diff.iter_all_changes()
        .filter_map(|c| {
            let sign = match c.tag() {
                ChangeTag::Equal => return None,
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
            };
            let line = c.value();
            Some(format!(
                "{sign} {}",
                line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(line)
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYED: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: \"1\"\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  PASSWORD: old-canary-value\n  USER: panda\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: gone\n";
    const RENDERED: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: \"2\"\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  PASSWORD: new-canary-value\n  USER: panda\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: new\n";

    #[test]
    fn finds_added_removed_and_changed_objects() {
        let changes = compare(&objects(DEPLOYED, "d").unwrap(), &objects(RENDERED, "r").unwrap());
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
        assert_eq!(changes[0].lines, vec!["-   x: \"1\"", "+   x: \"2\""]);
    }

    #[test]
    fn secret_values_never_appear() {
        let changes = compare(&objects(DEPLOYED, "d").unwrap(), &objects(RENDERED, "r").unwrap());
        let text = changes.iter().flat_map(|c| c.lines.clone()).collect::<Vec<_>>().join("\n");
        assert!(!text.contains("canary"), "{text}");
        assert!(text.contains("-   PASSWORD: <redacted>\n+   PASSWORD: <redacted, changed>"), "{text}");
        assert!(!text.contains("USER"), "an unchanged key is no diff line: {text}");
    }

    #[test]
    fn a_long_manifest_diffs_in_linear_memory() {
        // 12,000 lines with two changes: a table of n*m cells would be 1.1 GB and take seconds
        let old: String = (0..12_000).map(|i| format!("  key{i}: value{i}\n")).collect();
        let new =
            old.replace("  key10: value10\n", "  key10: changed\n").replace("  key11999: value11999\n", "");
        let start = std::time::Instant::now();
        let lines = line_diff(&old, &new);
        assert!(start.elapsed() < std::time::Duration::from_millis(500), "{:?}", start.elapsed());
        assert_eq!(lines, ["-   key10: value10", "+   key10: changed", "-   key11999: value11999"]);
        assert_eq!(line_diff("a\r\nb\n", "a\r\nc"), ["- b", "+ c"]);
    }

    #[test]
    fn identical_manifests_have_no_change() {
        assert!(compare(&objects(RENDERED, "r").unwrap(), &objects(RENDERED, "r").unwrap()).is_empty());
    }
}
