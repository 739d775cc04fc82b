//! YAML in and out, with one parser (serde-saphyr: duplicate keys refused, errors with line and
//! column) reading scalars the way helm and Kubernetes do (sigs.k8s.io/yaml, YAML 1.1: `0755` is
//! octal, `yes`/`no`/`on`/`off` are booleans), and `serde_json::Value` as the document model —
//! the JSON an object is sent to the API server as.

use crate::error::{Error, Result};
use serde_json::Value;
use std::path::Path;

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! { strict_booleans: false, legacy_octal_numbers: true }
}

/// Parses one YAML document; `what` names the source in the error.
pub(crate) fn parse(text: &str, what: &Path) -> Result<Value> {
    serde_saphyr::from_str_with_options(text, options())
        .map_err(|e| Error::data(what, format!("malformed YAML: {}", first_line(&e.to_string()))))
}

/// Parses a stream of documents (`---` separated); empty documents are dropped.
pub(crate) fn parse_stream(text: &str, what: &str) -> Result<Vec<Value>> {
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(text, options())
        .map_err(|e| Error::data(what, format!("malformed YAML: {}", first_line(&e.to_string()))))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// Typed parse (Chart.yaml and friends).
pub(crate) fn parse_as<T: serde::de::DeserializeOwned>(text: &str, what: &Path) -> Result<T> {
    serde_saphyr::from_str_with_options(text, options())
        .map_err(|e| Error::data(what, format!("malformed YAML: {}", first_line(&e.to_string()))))
}

/// Reads a values file and checks that it is a YAML mapping (or empty); errors name the file and line.
pub(crate) fn load_mapping(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::data(path, format!("cannot read: {e}")))?;
    mapping(parse(&text, path)?, path)
}

/// Checks that a parsed document is a mapping (or empty, which counts as an empty mapping).
pub(crate) fn mapping(value: Value, path: &Path) -> Result<Value> {
    match value {
        Value::Object(_) => Ok(value),
        Value::Null => Ok(Value::Object(Default::default())),
        _ => Err(Error::data(path, "a values file must be a YAML mapping")),
    }
}

/// Serialises to YAML.
pub(crate) fn to_string(value: &impl serde::Serialize) -> Result<String> {
    serde_saphyr::to_string(value).map_err(|e| Error::Internal(anyhow::anyhow!("cannot write YAML: {e}")))
}

/// serde-saphyr's messages carry a source snippet after the first line; the first line has the
/// line and column, which is what a one-line error needs.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or_default().trim_start_matches("error: ").to_string()
}

/// The value at a dotted path (`panda.database.password`), if there is one.
pub(crate) fn at<'a>(values: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(values, |v, k| v.get(k))
}

/// helm's coalescing for plain values: maps merge key by key, a `null` deletes, anything else
/// (lists included) replaces.
pub(crate) fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                if v.is_null() {
                    b.remove(k);
                } else {
                    merge(b.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (b, o) if !o.is_null() => *b = o.clone(),
        _ => {}
    }
}

/// Dotted paths of every string value that is exactly `FIXME` (what a human must still fill).
pub(crate) fn fixme_paths(values: &Value) -> Vec<String> {
    fn walk(v: &Value, path: &str, out: &mut Vec<String>) {
        match v {
            Value::String(s) if s.trim() == "FIXME" => out.push(path.to_string()),
            Value::Object(map) => {
                for (k, v) in map {
                    let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    walk(v, &p, out);
                }
            }
            Value::Array(items) => {
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
    fn errors_name_the_file_and_line() {
        let err = parse("a: 1\nb: [\n", Path::new("x/values.yaml")).unwrap_err().to_string();
        assert!(err.starts_with("x/values.yaml: malformed YAML: line 2"), "{err}");
        let dup = parse("a: 1\na: 2\n", Path::new("d.yaml")).unwrap_err().to_string();
        assert!(dup.contains("duplicate"), "{dup}");
    }

    #[test]
    fn scalars_as_kubernetes_reads_them_and_streams() {
        let v = parse("a: no\nb: yes\nc: \"yes\"\nd: 0755\ne: 0o17\nf: 10\n", Path::new("x")).unwrap();
        assert_eq!(v, serde_json::json!({"a": false, "b": true, "c": "yes", "d": 493, "e": 15, "f": 10}));
        let docs = parse_stream("---\n# Source: x\nkind: A\n---\n---\nkind: B\n", "s").unwrap();
        assert_eq!(docs.len(), 2);
        assert!(mapping(Value::Array(vec![]), Path::new("l.yaml")).is_err());
    }

    #[test]
    fn finds_fixme_paths() {
        let v = serde_json::json!({
            "affix": "test-",
            "msgsvc": {"basePassword": "FIXME", "accounts": ["panda", "FIXME"]},
            "panda": {"database": {"password": "s3cret"}}
        });
        assert_eq!(fixme_paths(&v), vec!["msgsvc.accounts[1]", "msgsvc.basePassword"]);
    }
}
