//! The comparison a viewer without `patch` rights gets: every field the rendered object sets,
//! compared with the live object (fields others add — defaults, status, helm's annotations — do
//! not count). Pure: the API server's canonical forms that differ from what a chart writes are
//! handled here (a Secret's `stringData` lands in `data`, zero values are omitted, quantities
//! are canonicalised); everything else must be equal.

use base64::Engine;
use serde_json::Value;

/// Dotted paths (at most 8) of the fields `desired` sets that the live object does not carry
/// with the same value; values are never recorded.
pub(crate) fn differences(desired: &Value, live: &Value) -> Vec<String> {
    let desired = as_stored(desired);
    let mut out = Vec::new();
    walk(&desired, live, "", &mut out);
    out
}

/// A Secret's `stringData` as the API server stores it: base64 in `data`.
fn as_stored(obj: &Value) -> Value {
    let mut obj = obj.clone();
    if obj["kind"] != "Secret" {
        return obj;
    }
    let Some(Value::Object(strings)) = obj.as_object_mut().and_then(|o| o.remove("stringData")) else {
        return obj;
    };
    if !obj["data"].is_object() {
        obj["data"] = Value::Object(Default::default());
    }
    for (key, value) in strings {
        let text = value.as_str().unwrap_or_default();
        obj["data"][key] = Value::String(base64::engine::general_purpose::STANDARD.encode(text));
    }
    obj
}

/// A value the API server omits when serialising (Go's `omitempty`).
fn zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

fn walk(desired: &Value, live: &Value, path: &str, out: &mut Vec<String>) {
    if out.len() >= 8 {
        return;
    }
    let here = || if path.is_empty() { "(whole object)".to_string() } else { path.to_string() };
    match (desired, live) {
        (d, Value::Null) if zero(d) => {}
        (Value::Null, _) => {}
        (Value::Object(d), Value::Object(l)) => {
            for (k, v) in d {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                walk(v, l.get(k).unwrap_or(&Value::Null), &p, out);
            }
        }
        (Value::Array(d), Value::Array(l)) if d.len() == l.len() => {
            for (i, (p, q)) in d.iter().zip(l).enumerate() {
                walk(p, q, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (Value::String(a), Value::String(b)) if a == b || same_quantity(a, b) => {}
        (d, l) if d == l => {}
        _ => out.push(here()),
    }
}

/// Whether two strings are the same Kubernetes quantity (`0.5` and `500m`, `1024Mi` and `1Gi`).
fn same_quantity(a: &str, b: &str) -> bool {
    matches!((quantity(a), quantity(b)), (Some(x), Some(y)) if (x - y).abs() <= f64::EPSILON * x.abs().max(1.0))
}

fn quantity(text: &str) -> Option<f64> {
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("Ei", 1152921504606846976.0),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let (number, factor) =
        SUFFIXES.iter().find_map(|(s, f)| text.strip_suffix(s).map(|n| (n, *f))).unwrap_or((text, 1.0));
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    number.parse::<f64>().ok().map(|n| n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_canonical_forms_match_edits_do_not() {
        let desired = json!({"kind": "Deployment", "metadata": {"name": "x", "labels": {"a": "1"}},
            "spec": {"replicas": 1, "template": {"spec": {"hostNetwork": false, "containers": [
                {"name": "c", "image": "i:1", "args": [], "env": [{"name": "E", "value": ""}],
                 "resources": {"limits": {"cpu": "0.5", "memory": "1024Mi"}}}]}}}});
        let live = json!({"kind": "Deployment", "metadata": {"name": "x", "uid": "u",
                "labels": {"a": "1", "helm": "y"}},
            "spec": {"replicas": 1.0, "progressDeadlineSeconds": 600, "template": {"spec": {"containers": [
                {"name": "c", "image": "i:1", "env": [{"name": "E"}], "imagePullPolicy": "IfNotPresent",
                 "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}}}]}}},
            "status": {"readyReplicas": 1}});
        assert!(differences(&desired, &live).is_empty(), "{:?}", differences(&desired, &live));
        let mut edited = live.clone();
        edited["spec"]["template"]["spec"]["containers"][0]["image"] = json!("i:2");
        edited["metadata"]["labels"].as_object_mut().unwrap().remove("a");
        assert_eq!(
            differences(&desired, &edited),
            ["metadata.labels.a", "spec.template.spec.containers[0].image"]
        );
    }

    #[test]
    fn string_data_is_compared_with_the_stored_data_and_never_shown() {
        let desired = json!({"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "secret"}});
        let live = json!({"kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "c2VjcmV0"}});
        assert!(differences(&desired, &live).is_empty());
        let changed = json!({"kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "b3RoZXI="}});
        let found = differences(&desired, &changed);
        assert_eq!(found, ["data.k"]);
        assert!(!format!("{found:?}").contains("secret"));
    }

    #[test]
    fn quantities_are_canonical_but_other_strings_are_not() {
        assert!(
            same_quantity("0.5", "500m") && same_quantity("2Gi", "2048Mi") && same_quantity("1k", "1000")
        );
        assert!(!same_quantity("1Gi", "1G") && !same_quantity("http", "http") && quantity("1e3").is_none());
    }
}
