//! Releases Flux's helm-controller made from panda-install's output: helm records their chart
//! version with the OCI digest (`panda-0.1.0+f2368fc49fb5`), so the `helm.sh/chart` label of their
//! objects reads `panda-0.1.0_f2368fc49fb5`, and helm-controller adds its own
//! `helm.toolkit.fluxcd.io/*` labels. Seen through [`plain`], such a release compares equal to the
//! chart panda-install renders, so `diff` and `status` judge it by what it deploys.

use serde_json::Value;
use std::collections::BTreeMap;

const FLUX_LABEL_PREFIX: &str = "helm.toolkit.fluxcd.io/";

/// Whether a deployed manifest was applied by Flux's helm-controller.
pub(crate) fn made_by_flux(manifest: &str) -> bool {
    manifest.contains("helm.toolkit.fluxcd.io/name")
}

/// The objects without what Flux adds: its labels, and the digest in `helm.sh/chart`.
pub(crate) fn plain(objects: &BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    objects.iter().map(|(k, v)| (k.clone(), strip(v))).collect()
}

fn strip(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.starts_with(FLUX_LABEL_PREFIX))
                .map(|(k, v)| {
                    let v = match (k.as_str(), v.as_str()) {
                        ("helm.sh/chart", Some(chart)) => Value::String(without_digest(chart).to_string()),
                        _ => strip(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
        other => other.clone(),
    }
}

/// `panda-0.1.0_f2368fc49fb5` -> `panda-0.1.0`; a label without a digest stays as it is.
fn without_digest(chart: &str) -> &str {
    match chart.rsplit_once('_') {
        Some((plain, digest)) if digest.len() >= 12 && digest.chars().all(|c| c.is_ascii_hexdigit()) => plain,
        _ => chart,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flux_labels_and_digests_are_taken_away() {
        let flux = json!({"metadata": {"labels": {"helm.sh/chart": "panda-0.1.0_f2368fc49fb5",
            "helm.toolkit.fluxcd.io/name": "x", "helm.toolkit.fluxcd.io/namespace": "y", "app": "a"}},
            "spec": {"template": {"metadata": {"labels": {"helm.sh/chart": "panda-0.1.0_f2368fc49fb5"}}}}});
        let want = json!({"metadata": {"labels": {"helm.sh/chart": "panda-0.1.0", "app": "a"}},
            "spec": {"template": {"metadata": {"labels": {"helm.sh/chart": "panda-0.1.0"}}}}});
        let objects = BTreeMap::from([("K/n".to_string(), flux)]);
        assert_eq!(plain(&objects)["K/n"], want);
        assert_eq!(without_digest("my_chart-1.0"), "my_chart-1.0");
        assert!(made_by_flux("labels:\n    helm.toolkit.fluxcd.io/name: x\n"));
    }
}
