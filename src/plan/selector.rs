//! A workload's label selector (`matchLabels` and `matchExpressions`) as the exact label-selector
//! string the API server evaluates, or why adoption must not select pods by it. Pure.
//!
//! Every operator of a `LabelSelector` has an exact string form (`k=v`, `k in (a,b)`,
//! `k notin (a,b)`, `k`, `!k`), so a selector is refused only when it is empty (it selects every
//! pod), holds an operator or value list the API would not accept, or has no positive
//! requirement (a selector of `notin`/`!k` alone also matches the pods of unrelated workloads).

use serde_json::Value;

/// A selector adoption may list and delete by: its requirements, sorted, in string form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub(crate) struct Selector(Vec<String>);

impl Selector {
    /// The selector of a workload (`spec.selector`), or why it cannot be used.
    pub(crate) fn of_workload(obj: &Value) -> Result<Selector, String> {
        Selector::parse(&obj["spec"]["selector"])
    }

    /// A `LabelSelector` object.
    pub(crate) fn parse(selector: &Value) -> Result<Selector, String> {
        let mut parts = Vec::new();
        let mut positive = false;
        if let Some(labels) = selector["matchLabels"].as_object() {
            for (k, v) in labels {
                let v = v.as_str().ok_or_else(|| format!("matchLabels {k} is not a string"))?;
                parts.push(format!("{k}={v}"));
                positive = true;
            }
        }
        for e in selector["matchExpressions"].as_array().into_iter().flatten() {
            let key = e["key"].as_str().filter(|k| !k.is_empty()).ok_or("a matchExpression has no key")?;
            let op = e["operator"].as_str().unwrap_or_default();
            let values: Vec<&str> =
                e["values"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let listed = e["values"].as_array().map_or(0, Vec::len);
            if values.len() != listed {
                return Err(format!("matchExpression {key} {op} has a value that is not a string"));
            }
            let mut sorted = values.clone();
            sorted.sort_unstable();
            let part = match (op, values.is_empty()) {
                ("In", false) => {
                    positive = true;
                    format!("{key} in ({})", sorted.join(","))
                }
                ("NotIn", false) => format!("{key} notin ({})", sorted.join(",")),
                ("Exists", true) => {
                    positive = true;
                    key.to_string()
                }
                ("DoesNotExist", true) => format!("!{key}"),
                _ => {
                    return Err(format!(
                        "matchExpression {key} {op:?} with {} value(s) is not valid",
                        values.len()
                    ))
                }
            };
            parts.push(part);
        }
        if parts.is_empty() {
            return Err("is empty (it selects every pod of the namespace)".into());
        }
        if !positive {
            return Err(format!(
                "({}) only excludes labels, so it also selects the pods of unrelated workloads",
                parts.join(",")
            ));
        }
        parts.sort();
        parts.dedup();
        Ok(Selector(parts))
    }

    /// The string form, with extra requirements (ANDed).
    pub(crate) fn with(&self, extra: &[&str]) -> String {
        let mut parts = self.0.clone();
        parts.extend(extra.iter().map(|s| s.to_string()));
        parts.join(",")
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_operator_has_its_exact_string_form() {
        let s = Selector::parse(&json!({
            "matchLabels": {"app": "broker"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["b", "a"]},
                {"key": "track", "operator": "NotIn", "values": ["canary"]},
                {"key": "owner", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist", "values": []},
            ]
        }))
        .unwrap();
        assert_eq!(s.to_string(), "!legacy,app=broker,owner,tier in (a,b),track notin (canary)");
        assert_eq!(
            s.with(&["app.kubernetes.io/part-of!=panda"]),
            "!legacy,app=broker,owner,tier in (a,b),track notin (canary),app.kubernetes.io/part-of!=panda"
        );
        // the same selector written differently compares equal
        let again = Selector::parse(&json!({"matchExpressions": [
            {"key": "legacy", "operator": "DoesNotExist"}, {"key": "owner", "operator": "Exists"},
            {"key": "track", "operator": "NotIn", "values": ["canary"]}, {"key": "tier", "operator": "In", "values": ["a", "b"]},
            {"key": "app", "operator": "In", "values": ["broker"]}]}))
        .unwrap();
        assert_ne!(again, s, "app in (broker) and app=broker are written apart, so compared apart");
    }

    #[test]
    fn empty_negated_and_invalid_selectors_are_refused() {
        let empty = Selector::parse(&json!({})).unwrap_err();
        assert!(empty.contains("selects every pod"), "{empty}");
        let negated = Selector::parse(&json!({"matchExpressions": [
            {"key": "app", "operator": "NotIn", "values": ["web"]}]}))
        .unwrap_err();
        assert!(negated.contains("app notin (web)") && negated.contains("unrelated"), "{negated}");
        let bad = Selector::parse(
            &json!({"matchExpressions": [{"key": "app", "operator": "Gt", "values": ["1"]}]}),
        )
        .unwrap_err();
        assert!(bad.contains("not valid"), "{bad}");
        let in_without_values =
            Selector::parse(&json!({"matchExpressions": [{"key": "app", "operator": "In", "values": []}]}));
        assert!(in_without_values.is_err());
    }
}
