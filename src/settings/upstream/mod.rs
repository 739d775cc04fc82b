//! Moving in from upstream panda-k8s: its secrets values (snake_case, `secrets/values.yaml`), its
//! experiment files (`helm/<chart>/values/values-<exp>.yaml`) and the site files kept inside its
//! charts, mapped onto this project's secrets chart, experiment directories and site-files layout.
//! Pure: the `import` command reads the checkout and writes the result; everything here works on
//! parsed values and file lists, deterministically (sorted maps, sorted notes).

pub(crate) mod experiments;
pub(crate) mod names;
pub(crate) mod secrets;
pub(crate) mod site;

use serde::Serialize;
use serde_json::{Map, Value};

/// What became of one upstream key (or file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Outcome {
    /// Carried over to the named key.
    Mapped,
    /// Our key computed from upstream keys or from what upstream's templates hard-coded, so
    /// that the running identity carries over (derived passwords, the Harvester ID, ...).
    Derived,
    /// Added by the import: our charts need it and upstream had no key for it.
    Added,
    /// Not carried over; the reason says why and what to do.
    NotMapped,
}

impl Outcome {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Outcome::Mapped => "mapped",
            Outcome::Derived => "derived",
            Outcome::Added => "added",
            Outcome::NotMapped => "not mapped",
        }
    }
}

/// One line of the import report. Never holds a value: keys, file names and reasons only.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub(crate) struct Note {
    /// `secrets/values.yaml` or `helm/<chart>/values/values-<exp>.yaml`, or an upstream file.
    pub(crate) source: String,
    /// The upstream key (dotted) or file.
    pub(crate) key: String,
    pub(crate) outcome: Outcome,
    /// Our file and key (`secrets: panda.database.host`, `values/doma/panda.yaml: server.logs`).
    pub(crate) target: String,
    pub(crate) reason: String,
}

/// Collects notes for one source file.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    pub(crate) source: String,
    pub(crate) list: Vec<Note>,
}

impl Notes {
    pub(crate) fn new(source: impl Into<String>) -> Notes {
        Notes { source: source.into(), list: Vec::new() }
    }

    pub(crate) fn add(&mut self, key: &str, outcome: Outcome, target: &str, reason: &str) {
        self.list.push(Note {
            source: self.source.clone(),
            key: key.to_string(),
            outcome,
            target: target.to_string(),
            reason: reason.to_string(),
        });
    }

    pub(crate) fn mapped(&mut self, key: &str, target: &str) {
        self.add(key, Outcome::Mapped, target, "");
    }

    pub(crate) fn not_mapped(&mut self, key: &str, reason: &str) {
        self.add(key, Outcome::NotMapped, "", reason);
    }
}

/// The value at a dotted path (`a.b.c`) of a mapping.
pub(crate) fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k)).filter(|v| !v.is_null())
}

/// Sets a dotted path in a mapping, creating intermediate mappings.
pub(crate) fn set(root: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap_or_default();
    let mut map = root;
    for part in parts {
        let entry = map.entry(part.to_string()).or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        map = entry.as_object_mut().expect("just made a mapping");
    }
    map.insert(last.to_string(), value);
}

/// Every leaf path of a mapping (lists are leaves), sorted.
pub(crate) fn leaf_paths(v: &Value) -> Vec<String> {
    fn walk(v: &Value, path: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(map) if !map.is_empty() => {
                for (k, x) in map {
                    let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    walk(x, &p, out);
                }
            }
            _ if !path.is_empty() => out.push(path.to_string()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, "", &mut out);
    out
}

/// A scalar as text (numbers and booleans as YAML writes them); `None` for null, lists, maps.
pub(crate) fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Upstream's string booleans ("true", "false", "", "True") and real ones.
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "yes" | "1" | "on"),
        Value::Number(n) => n.as_i64().unwrap_or(0) != 0,
        _ => false,
    }
}

/// A port or count given as a number or a numeric string.
pub(crate) fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_set_get_and_leaves() {
        let mut m = Map::new();
        set(&mut m, "a.b.c", json!(1));
        set(&mut m, "a.d", json!([1, 2]));
        let v = Value::Object(m);
        assert_eq!(get(&v, "a.b.c"), Some(&json!(1)));
        assert_eq!(get(&v, "a.x"), None);
        assert_eq!(leaf_paths(&v), ["a.b.c", "a.d"]);
        assert!(truthy(&json!("True")) && !truthy(&json!("false")) && !truthy(&json!("")));
        assert_eq!(integer(&json!("5432")), Some(5432));
    }
}
