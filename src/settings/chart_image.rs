//! The image and image pull Secrets one sub-chart's pods get, derived from the values helm
//! coalesces for it the way the library chart derives them (helm/lib `panda-lib.image`:
//! `global.imageRegistryMirrors` replaces the registry host, a repository without one is
//! docker.io, a `<tag>@<digest>` tag is split; `panda-lib.pod`: the sub-chart's
//! `imagePullSecrets` then `global.imagePullSecrets`, names or `{name:}` maps, each once). For
//! objects panda-install builds itself beside the charts (the `migrate-data` Jobs).

use super::yaml;
use crate::error::{Error, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// What the pods of one sub-chart pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChartImage {
    /// The image reference, mirrored.
    pub(crate) image: String,
    /// The names of the pull Secrets, in the charts' order.
    pub(crate) pull_secrets: Vec<String>,
}

/// `global` and `<sub>` of the values helm gives the sub-chart `sub` of the component chart
/// `chart`: the sub-chart's defaults, the component chart's, then `files` in order.
pub(crate) fn coalesced(chart: &Path, sub: &str, files: &[PathBuf]) -> Result<Value> {
    let mut defaults = yaml::load_mapping(&chart.join("charts").join(sub).join("values.yaml"))?;
    let global = defaults.as_object_mut().and_then(|d| d.remove("global")).unwrap_or_else(|| json!({}));
    let mut merged = json!({ "global": global, sub: defaults });
    for file in std::iter::once(chart.join("values.yaml")).chain(files.iter().cloned()) {
        let values = yaml::load_mapping(&file)?;
        // only the two keys (a key left out stays as it was; a null in the file deletes, as in helm)
        let part: serde_json::Map<String, Value> = ["global", sub]
            .into_iter()
            .filter_map(|k| values.get(k).map(|v| (k.to_string(), v.clone())))
            .collect();
        yaml::merge(&mut merged, &Value::Object(part));
    }
    Ok(merged)
}

/// The image and pull Secrets of `sub` in `values` (of [`coalesced`] with `files`); an image
/// the chart would refuse is refused with the same reason, naming the last file layered.
pub(crate) fn of(values: &Value, sub: &str, files: &[PathBuf]) -> Result<ChartImage> {
    let image = &values[sub]["image"];
    let mirrors = &values["global"]["imageRegistryMirrors"];
    let reference = reference(image, mirrors).map_err(|m| {
        let last = files.last().cloned().unwrap_or_else(|| PathBuf::from("values.yaml"));
        Error::data(last, format!("{sub}.image, as the values layered up to this file set it: {m}"))
    })?;
    let mut pull_secrets = Vec::new();
    for list in [&values[sub]["imagePullSecrets"], &values["global"]["imagePullSecrets"]] {
        for entry in list.as_array().into_iter().flatten() {
            let name = entry.as_str().or_else(|| entry["name"].as_str()).unwrap_or_default().to_string();
            if !name.is_empty() && !pull_secrets.contains(&name) {
                pull_secrets.push(name);
            }
        }
    }
    Ok(ChartImage { image: reference, pull_secrets })
}

/// `panda-lib.image` of an image map with the mirrors of `global.imageRegistryMirrors`.
fn reference(image: &Value, mirrors: &Value) -> std::result::Result<String, String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let repository = text(&image["repository"]);
    if repository.is_empty() {
        return Err("image.repository is required".into());
    }
    let (mut tag, mut digest) = (text(&image["tag"]), text(&image["digest"]));
    if let Some((t, d)) = tag.clone().split_once('@') {
        if !digest.is_empty() && digest != d {
            return Err(format!(
                "image {repository}: the tag {tag:?} and image.digest {digest:?} name two different digests"
            ));
        }
        (tag, digest) = (t.to_string(), d.to_string());
    }
    let hex = digest.strip_prefix("sha256:").unwrap_or_default();
    let well_formed = hex.len() == 64 && hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'));
    if !digest.is_empty() && !well_formed {
        return Err(format!("image {repository}: digest {digest:?} is not sha256:<64 hex digits>"));
    }
    if digest.is_empty() && (tag.is_empty() || tag == "latest") {
        return Err(format!("image {repository} needs a pinned tag or a digest (got tag {tag:?})"));
    }
    let (registry, path) = match repository.split_once('/') {
        Some((first, rest)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            (first.to_string(), rest.to_string())
        }
        _ => ("docker.io".to_string(), repository.clone()),
    };
    let mut out = match mirrors.get(&registry).and_then(Value::as_str).filter(|m| !m.is_empty()) {
        Some(mirror) => format!("{}/{path}", mirror.trim_end_matches('/')),
        None => repository,
    };
    if !tag.is_empty() {
        out = format!("{out}:{tag}");
    }
    if !digest.is_empty() {
        out = format!("{out}@{digest}");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_mirror_replaces_the_registry_host_and_docker_io_is_the_default_one() {
        let mirrors = json!({"docker.io": "harbor.example.org/hub/", "ghcr.io": "harbor.example.org/ghcr"});
        let image = |repository: &str, tag: &str| json!({"repository": repository, "tag": tag});
        let cases = [
            ("docker.io/library/mariadb", "harbor.example.org/hub/library/mariadb:11.4.7"),
            ("library/mariadb", "harbor.example.org/hub/library/mariadb:11.4.7"),
            ("ghcr.io/pandawms/db", "harbor.example.org/ghcr/pandawms/db:11.4.7"),
            ("quay.io/x/y", "quay.io/x/y:11.4.7"),
            ("localhost:5000/x", "localhost:5000/x:11.4.7"),
        ];
        for (repository, want) in cases {
            assert_eq!(reference(&image(repository, "11.4.7"), &mirrors).unwrap(), want, "{repository}");
        }
        assert_eq!(
            reference(&image("docker.io/library/mariadb", "11.4.7"), &Value::Null).unwrap(),
            "docker.io/library/mariadb:11.4.7"
        );
    }

    #[test]
    fn digests_and_unpinned_images_are_read_as_the_library_reads_them() {
        let none = Value::Null;
        let at = json!({"repository": "r.io/x", "tag": format!("1.0@{DIGEST}")});
        assert_eq!(reference(&at, &none).unwrap(), format!("r.io/x:1.0@{DIGEST}"));
        let only = json!({"repository": "r.io/x", "digest": DIGEST});
        assert_eq!(reference(&only, &none).unwrap(), format!("r.io/x@{DIGEST}"));
        let two = json!({"repository": "r.io/x", "tag": format!("1.0@{DIGEST}"), "digest": "sha256:aa"});
        assert!(reference(&two, &none).unwrap_err().contains("two different digests"));
        assert!(reference(&json!({"repository": "r.io/x", "tag": "latest"}), &none).is_err());
        assert!(reference(&json!({"repository": "r.io/x", "digest": "md5:1"}), &none).is_err());
        assert!(reference(&json!({"tag": "1"}), &none).is_err());
    }

    #[test]
    fn pull_secrets_are_the_sub_charts_then_the_global_ones_each_once() {
        let values = json!({
            "global": {"imagePullSecrets": ["site-pull", {"name": "own"}]},
            "mariadb": {"image": {"repository": "docker.io/library/mariadb", "tag": "11.4.7"},
                        "imagePullSecrets": [{"name": "own"}]},
        });
        let got = of(&values, "mariadb", &[]).unwrap();
        assert_eq!(got.pull_secrets, ["own", "site-pull"]);
        assert_eq!(got.image, "docker.io/library/mariadb:11.4.7");
    }

    #[test]
    fn values_files_layer_over_the_sub_chart_and_component_defaults() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let chart = root.join("helm/harvester");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("site.yaml");
        std::fs::write(
            &file,
            "global:\n  imageRegistryMirrors: {docker.io: mirror.example.org/hub}\n  imagePullSecrets: [pull]\n\
             mariadb:\n  image: {tag: 11.4.9}\nharvester:\n  image: {tag: v9}\n",
        )
        .unwrap();
        let plain = of(&coalesced(&chart, "mariadb", &[]).unwrap(), "mariadb", &[]).unwrap();
        let sub = yaml::load_mapping(&chart.join("charts/mariadb/values.yaml")).unwrap();
        let own = format!(
            "{}:{}",
            sub["image"]["repository"].as_str().unwrap(),
            sub["image"]["tag"].as_str().unwrap()
        );
        assert_eq!(plain, ChartImage { image: own, pull_secrets: vec![] });
        let files = [file];
        let layered = of(&coalesced(&chart, "mariadb", &files).unwrap(), "mariadb", &files).unwrap();
        assert_eq!(layered.image, "mirror.example.org/hub/library/mariadb:11.4.9");
        assert_eq!(layered.pull_secrets, ["pull"]);
    }
}
