//! Argo CD Image Updater (v1, CRD mode) for the images an experiment follows by digest
//! (`imageUpdater:` of its experiment.yaml): annotations on the component's Application saying
//! which image each sub-chart runs and where its tag goes, and an `ImageUpdater` object that
//! points the controller at that Application (`useAnnotations`). Image Updater then writes
//! `<tag>@sha256:...` into `<sub>.image.tag`, which the charts render as `repo:tag@digest`.

use serde::Serialize;
use std::collections::BTreeMap;

const PREFIX: &str = "argocd-image-updater.argoproj.io";

/// The Application annotations for `images` (sub-chart -> image with its tag).
pub(crate) fn annotations(images: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let list: Vec<String> = images.iter().map(|(sub, image)| format!("{sub}={image}")).collect();
    let mut out = BTreeMap::from([(format!("{PREFIX}/image-list"), list.join(","))]);
    for sub in images.keys() {
        out.insert(format!("{PREFIX}/{sub}.update-strategy"), "digest".into());
        out.insert(format!("{PREFIX}/{sub}.helm.image-name"), format!("{sub}.image.repository"));
        out.insert(format!("{PREFIX}/{sub}.helm.image-tag"), format!("{sub}.image.tag"));
    }
    out
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImageUpdater {
    pub(crate) api_version: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) metadata: Meta,
    pub(crate) spec: Spec,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Meta {
    pub(crate) name: String,
    pub(crate) namespace: String,
    pub(crate) labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Spec {
    pub(crate) application_refs: Vec<ApplicationRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApplicationRef {
    pub(crate) name_pattern: String,
    pub(crate) use_annotations: bool,
}

/// The `ImageUpdater` of one Application (same namespace, name `<app>-image-updater`).
pub(crate) fn object(app: &str, namespace: &str, labels: BTreeMap<String, String>) -> ImageUpdater {
    ImageUpdater {
        api_version: "argocd-image-updater.argoproj.io/v1alpha1",
        kind: "ImageUpdater",
        metadata: Meta { name: format!("{app}-image-updater"), namespace: namespace.into(), labels },
        spec: Spec {
            application_refs: vec![ApplicationRef { name_pattern: app.into(), use_annotations: true }],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_name_the_image_and_where_its_tag_goes() {
        let images = BTreeMap::from([
            ("jedi".to_string(), "ghcr.io/pandawms/panda-server:latest".to_string()),
            ("server".to_string(), "ghcr.io/pandawms/panda-server:latest".to_string()),
        ]);
        let a = annotations(&images);
        assert_eq!(
            a["argocd-image-updater.argoproj.io/image-list"],
            "jedi=ghcr.io/pandawms/panda-server:latest,server=ghcr.io/pandawms/panda-server:latest"
        );
        assert_eq!(a["argocd-image-updater.argoproj.io/server.update-strategy"], "digest");
        assert_eq!(a["argocd-image-updater.argoproj.io/jedi.helm.image-tag"], "jedi.image.tag");
        let o = object("test-panda", "argocd", BTreeMap::new());
        assert_eq!(o.spec.application_refs[0].name_pattern, "test-panda");
        assert_eq!(o.metadata.name, "test-panda-image-updater");
    }
}
