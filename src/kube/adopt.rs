//! The API reads and writes of adoption (`run::adopt`): what the namespace holds with the
//! planned names, its workloads and claims, Argo CD's Applications; and the takeover steps
//! (annotations, deletion with `propagationPolicy=Orphan`, scaling to zero, removing what an
//! orphaned controller left). Reads fail closed: an answer, or an error naming what could not
//! be read.

use super::{failed, Cluster};
use crate::error::{Error, Result};
use crate::plan::adopt::ObjectRef;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Service, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PropagationPolicy};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::Scope;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const WORKLOAD_KINDS: [&str; 3] = ["Deployment", "StatefulSet", "DaemonSet"];

impl Cluster {
    /// The API of a kind, or `None` when the API server does not serve it (nothing of it exists).
    async fn resource(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<Option<(Api<DynamicObject>, ApiResource)>> {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        match kube::discovery::pinned_kind(&self.client, &gvk).await {
            Ok((resource, caps)) => {
                let api = if caps.scope == Scope::Namespaced {
                    Api::namespaced_with(self.client.clone(), &self.namespace, &resource)
                } else {
                    Api::all_with(self.client.clone(), &resource)
                };
                Ok(Some((api, resource)))
            }
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
            Err(kube::Error::Discovery(_)) => Ok(None),
            Err(e) => Err(failed(&format!("discover {api_version} {kind}"), e)),
        }
    }

    async fn get_value(&self, api_version: &str, kind: &str, name: &str) -> Result<Option<Value>> {
        let Some((api, _)) = self.resource(api_version, kind).await? else { return Ok(None) };
        let found = api.get_opt(name).await.map_err(|e| failed(&format!("read {kind}/{name}"), e))?;
        found.map(|o| serde_json::to_value(o).map_err(|e| Error::Internal(e.into()))).transpose()
    }

    /// Whether the namespace holds a workload, Service, ConfigMap or ServiceAccount that
    /// panda-install's charts did not make (they all carry `app.kubernetes.io/part-of=panda`).
    /// Claims do not count: StatefulSets' per-pod claims carry only the selector labels, kept
    /// claims are there on purpose, and the claims the values reuse are checked on their own.
    pub(crate) async fn holds_foreign_objects(&self) -> Result<bool> {
        let (deployments, statefulsets, services, config_maps, accounts) = futures::try_join!(
            self.foreign_metadata::<Deployment>("Deployment"),
            self.foreign_metadata::<StatefulSet>("StatefulSet"),
            self.foreign_metadata::<Service>("Service"),
            self.foreign_metadata::<ConfigMap>("ConfigMap"),
            self.foreign_metadata::<ServiceAccount>("ServiceAccount"),
        )?;
        // what Kubernetes itself puts into every namespace
        let named =
            |list: &[ObjectMeta], builtin: &str| list.iter().any(|m| m.name.as_deref() != Some(builtin));
        Ok(!deployments.is_empty()
            || !statefulsets.is_empty()
            || !services.is_empty()
            || named(&config_maps, "kube-root-ca.crt")
            || named(&accounts, "default"))
    }

    /// The metadata of the namespace's objects of one kind that lack `part-of=panda`.
    async fn foreign_metadata<K>(&self, kind: &str) -> Result<Vec<ObjectMeta>>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        <K as kube::Resource>::DynamicType: Default,
    {
        let list = self
            .api::<K>()
            .list_metadata(&ListParams::default().labels("app.kubernetes.io/part-of!=panda"))
            .await
            .map_err(|e| failed(&format!("list {kind}s in namespace {}", self.namespace), e))?;
        Ok(list.items.into_iter().map(|o| o.metadata).collect())
    }

    /// Live objects with the name of a rendered one: the same kind, or any workload kind for a
    /// workload (a kind change keeps the name).
    pub(crate) async fn same_named(&self, rendered: &Value) -> Result<Vec<Value>> {
        let name = rendered["metadata"]["name"].as_str().unwrap_or_default();
        let kind = rendered["kind"].as_str().unwrap_or_default();
        let api_version = rendered["apiVersion"].as_str().unwrap_or("v1");
        let kinds: Vec<(&str, &str)> = if WORKLOAD_KINDS.contains(&kind) {
            WORKLOAD_KINDS.iter().map(|k| ("apps/v1", *k)).collect()
        } else {
            vec![(api_version, kind)]
        };
        let mut out = Vec::new();
        for (v, k) in kinds {
            if let Some(found) = self.get_value(v, k, name).await? {
                out.push(found);
            }
        }
        Ok(out)
    }

    /// Every Deployment and StatefulSet of the namespace.
    pub(crate) async fn workloads(&self) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        for kind in ["Deployment", "StatefulSet"] {
            let Some((api, _)) = self.resource("apps/v1", kind).await? else { continue };
            let list = api
                .list(&ListParams::default())
                .await
                .map_err(|e| failed(&format!("list {kind}s in namespace {}", self.namespace), e))?;
            for item in list.items {
                let mut v = serde_json::to_value(item).map_err(|e| Error::Internal(e.into()))?;
                v["kind"] = json!(kind);
                v["apiVersion"] = json!("apps/v1");
                out.push(v);
            }
        }
        Ok(out)
    }

    /// Each named claim as it is (`None`: it does not exist).
    pub(crate) async fn claims_named(
        &self,
        names: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, Option<Value>>> {
        let api: Api<PersistentVolumeClaim> = self.api();
        let mut out = BTreeMap::new();
        for name in names {
            let found = api.get_opt(name).await.map_err(|e| failed(&format!("read claim {name}"), e))?;
            let value = found
                .map(|c| {
                    let mut v = serde_json::to_value(c).map_err(|e| Error::Internal(e.into()))?;
                    v["kind"] = json!("PersistentVolumeClaim");
                    v["apiVersion"] = json!("v1");
                    Ok::<_, Error>(v)
                })
                .transpose()?;
            out.insert(name.clone(), value);
        }
        Ok(out)
    }

    /// The names of Argo CD's Applications (also as `<namespace>_<name>`, the tracking form of
    /// Applications outside Argo CD's own namespace); `None` when Argo CD's API is not served.
    pub(crate) async fn argo_applications(&self) -> Result<Option<BTreeSet<String>>> {
        let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application");
        let resource = ApiResource::from_gvk_with_plural(&gvk, "applications");
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &resource);
        match api.list_metadata(&ListParams::default()).await {
            Ok(list) => Ok(Some(
                list.items
                    .iter()
                    .flat_map(|o| {
                        let name = o.metadata.name.clone().unwrap_or_default();
                        let ns = o.metadata.namespace.clone().unwrap_or_default();
                        [name.clone(), format!("{ns}_{name}")]
                    })
                    .collect(),
            )),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
            Err(e) => Err(failed("list Argo CD Applications (argoproj.io/v1alpha1)", e)),
        }
    }

    async fn object_api(&self, obj: &ObjectRef) -> Result<Api<DynamicObject>> {
        self.resource(&obj.api_version, &obj.kind).await?.map(|(api, _)| api).ok_or_else(|| {
            Error::ReleaseFailed(format!("the API server does not serve {} {}", obj.api_version, obj.kind))
        })
    }

    /// Sets (or, with `None`, removes) one annotation of an object.
    pub(crate) async fn annotate(&self, obj: &ObjectRef, key: &str, value: Option<&str>) -> Result<()> {
        let api = self.object_api(obj).await?;
        let patch = json!({"metadata": {"annotations": {key: value}}});
        api.patch(&obj.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| failed(&format!("annotate {}", obj.id()), e))?;
        Ok(())
    }

    /// Deletes a controller without its dependents and waits until it is gone.
    pub(crate) async fn orphan_delete(&self, obj: &ObjectRef, timeout: Duration) -> Result<()> {
        let api = self.object_api(obj).await?;
        let params =
            DeleteParams { propagation_policy: Some(PropagationPolicy::Orphan), ..DeleteParams::default() };
        match api.delete(&obj.name, &params).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => return Err(failed(&format!("delete {} (orphaning its pods)", obj.id()), e)),
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = api.get_opt(&obj.name).await.map_err(|e| failed(&format!("read {}", obj.id()), e))?;
            if left.is_none() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::ReleaseFailed(format!(
                    "{} is still there {} s after its deletion",
                    obj.id(),
                    timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Scales a workload to zero and waits until its pods are gone; the object stays.
    pub(crate) async fn scale_down(
        &self,
        obj: &ObjectRef,
        selector: &BTreeMap<String, String>,
        timeout: Duration,
    ) -> Result<()> {
        let api = self.object_api(obj).await?;
        let patch = json!({"spec": {"replicas": 0}});
        api.patch(&obj.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| failed(&format!("scale {} to 0", obj.id()), e))?;
        self.wait_pods_gone(selector, &obj.id(), timeout).await
    }

    /// Deletes the ReplicaSets and pods an orphaned controller left (matching its selector and
    /// not panda-install's) and waits until the pods are gone.
    pub(crate) async fn stop_leftovers(
        &self,
        selector: &BTreeMap<String, String>,
        what: &str,
        timeout: Duration,
    ) -> Result<()> {
        let params = ListParams::default().labels(&foreign_selector(selector));
        let background = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        if let Some((api, _)) = self.resource("apps/v1", "ReplicaSet").await? {
            api.delete_collection(&background, &params)
                .await
                .map_err(|e| failed(&format!("delete the ReplicaSets {what} left"), e))?;
        }
        let pods: Api<Pod> = self.api();
        pods.delete_collection(&background, &params)
            .await
            .map_err(|e| failed(&format!("delete the pods {what} left"), e))?;
        self.wait_pods_gone(selector, what, timeout).await
    }

    async fn wait_pods_gone(
        &self,
        selector: &BTreeMap<String, String>,
        what: &str,
        timeout: Duration,
    ) -> Result<()> {
        let pods: Api<Pod> = self.api();
        let params = ListParams::default().labels(&foreign_selector(selector));
        let deadline = Instant::now() + timeout;
        loop {
            let left = pods
                .list_metadata(&params)
                .await
                .map_err(|e| failed(&format!("list the pods of {what}"), e))?;
            if left.items.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::ReleaseFailed(format!(
                    "{} pod(s) of {what} are still there after {} s",
                    left.items.len(),
                    timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// A label selector for the old pods only: panda-install's own pods carry part-of=panda and may
/// match an upstream selector (`app.kubernetes.io/name=harvester`).
fn foreign_selector(selector: &BTreeMap<String, String>) -> String {
    let mut parts: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.push("app.kubernetes.io/part-of!=panda".into());
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_pod_selectors_exclude_ours() {
        let sel = BTreeMap::from([("app.kubernetes.io/name".to_string(), "harvester".to_string())]);
        assert_eq!(
            foreign_selector(&sel),
            "app.kubernetes.io/name=harvester,app.kubernetes.io/part-of!=panda"
        );
    }
}
