//! The API reads and writes of adoption (`run::adopt`): what the namespace holds with the
//! planned names, its workloads and claims, Argo CD's Applications; and the takeover steps
//! (annotations, deletion with `propagationPolicy=Orphan`, scaling to zero, removing what an
//! orphaned controller left). Reads fail closed: an answer, or an error naming what could not
//! be read.

use super::{failed, Cluster};
use crate::error::{Error, Result};
use crate::plan::adopt::{self, ObjectRef};
use crate::plan::selector::Selector;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Service, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, Preconditions, PropagationPolicy,
};
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
    /// panda-install's charts did not make (they all carry `app.kubernetes.io/part-of=panda`) and
    /// that could collide with the plan's `releases` ([`adopt::could_collide`]).
    /// Claims do not count: StatefulSets' per-pod claims carry only the selector labels, kept
    /// claims are there on purpose, and the claims the values reuse are checked on their own.
    pub(crate) async fn holds_foreign_objects(&self, releases: &BTreeSet<String>) -> Result<bool> {
        let (deployments, statefulsets, services, config_maps, accounts) = futures::try_join!(
            self.foreign_metadata::<Deployment>("Deployment"),
            self.foreign_metadata::<StatefulSet>("StatefulSet"),
            self.foreign_metadata::<Service>("Service"),
            self.foreign_metadata::<ConfigMap>("ConfigMap"),
            self.foreign_metadata::<ServiceAccount>("ServiceAccount"),
        )?;
        let lists = [
            ("Deployment", deployments),
            ("StatefulSet", statefulsets),
            ("Service", services),
            ("ConfigMap", config_maps),
            ("ServiceAccount", accounts),
        ];
        for (kind, list) in lists {
            for meta in list {
                let obj = json!({"kind": kind, "metadata": serde_json::to_value(meta).map_err(|e| Error::Internal(e.into()))?});
                if adopt::could_collide(&obj, releases) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
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
        selector: &Selector,
        timeout: Duration,
    ) -> Result<()> {
        let api = self.object_api(obj).await?;
        let patch = json!({"spec": {"replicas": 0}});
        api.patch(&obj.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| failed(&format!("scale {} to 0", obj.id()), e))?;
        let pods: Api<Pod> = self.api();
        let params = ListParams::default().labels(&selector.with(&[NOT_OURS]));
        let pods = pods
            .list_metadata(&params)
            .await
            .map_err(|e| failed(&format!("list the pods of {}", obj.id()), e))?;
        let uids = pods.items.iter().filter_map(|p| p.metadata.uid.clone()).collect();
        self.wait_pods_gone(selector, &uids, &obj.id(), timeout).await
    }

    /// Deletes what an orphaned controller left and waits until its pods are gone: the
    /// ReplicaSets and pods that match its selector, are not panda-install's and have no
    /// controller any more (pods of those ReplicaSets go with them). Pods and ReplicaSets that
    /// another controller still owns are never touched, whatever their labels. Each deletion is
    /// guarded by the object's uid.
    pub(crate) async fn stop_leftovers(
        &self,
        selector: &Selector,
        what: &str,
        timeout: Duration,
    ) -> Result<()> {
        let params = ListParams::default().labels(&selector.with(&[NOT_OURS]));
        let background = |uid: Option<String>| DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            preconditions: Some(Preconditions { uid, resource_version: None }),
            ..DeleteParams::default()
        };
        let mut orphaned_sets = BTreeSet::new();
        if let Some((api, _)) = self.resource("apps/v1", "ReplicaSet").await? {
            let sets = api
                .list_metadata(&params)
                .await
                .map_err(|e| failed(&format!("list the ReplicaSets {what} left"), e))?;
            for set in sets.items.into_iter().filter(|s| controller(&s.metadata).is_none()) {
                let name = set.metadata.name.clone().unwrap_or_default();
                gone_or(api.delete(&name, &background(set.metadata.uid.clone())).await)
                    .map_err(|e| failed(&format!("delete ReplicaSet {name}, which {what} left"), e))?;
                orphaned_sets.extend(set.metadata.uid);
            }
        }
        let pods: Api<Pod> = self.api();
        let list = pods
            .list_metadata(&params)
            .await
            .map_err(|e| failed(&format!("list the pods {what} left"), e))?;
        let mut victims = BTreeSet::new();
        for pod in list.items {
            let owner = controller(&pod.metadata);
            if owner.as_ref().is_some_and(|uid| !orphaned_sets.contains(uid)) {
                continue;
            }
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            if owner.is_none() {
                let name = pod.metadata.name.clone().unwrap_or_default();
                gone_or(pods.delete(&name, &background(Some(uid.clone()))).await)
                    .map_err(|e| failed(&format!("delete pod {name}, which {what} left"), e))?;
            }
            victims.insert(uid);
        }
        self.wait_pods_gone(selector, &victims, what, timeout).await
    }

    /// Waits until none of the pods `uids` (all matching `selector`) is left.
    async fn wait_pods_gone(
        &self,
        selector: &Selector,
        uids: &BTreeSet<String>,
        what: &str,
        timeout: Duration,
    ) -> Result<()> {
        let pods: Api<Pod> = self.api();
        let params = ListParams::default().labels(&selector.with(&[NOT_OURS]));
        let deadline = Instant::now() + timeout;
        loop {
            let list = pods
                .list_metadata(&params)
                .await
                .map_err(|e| failed(&format!("list the pods of {what}"), e))?;
            let left = list
                .items
                .iter()
                .filter(|p| p.metadata.uid.as_ref().is_some_and(|u| uids.contains(u)))
                .count();
            if left == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::ReleaseFailed(format!(
                    "{left} pod(s) of {what} are still there after {} s",
                    timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// panda-install's own pods carry part-of=panda and may match an upstream selector
/// (`app.kubernetes.io/name=harvester`): they are never the old ones.
const NOT_OURS: &str = "app.kubernetes.io/part-of!=panda";

/// The uid of an object's controller (its ownerReference with `controller: true`).
fn controller(meta: &ObjectMeta) -> Option<String> {
    meta.owner_references.as_ref()?.iter().find(|o| o.controller == Some(true)).map(|o| o.uid.clone())
}

/// A deletion that found the object already gone counts as done.
fn gone_or<T>(result: std::result::Result<T, kube::Error>) -> std::result::Result<(), kube::Error> {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    #[test]
    fn only_controllerless_objects_are_leftovers() {
        let owned = |controller: Option<bool>| ObjectMeta {
            owner_references: Some(vec![OwnerReference {
                uid: "u1".into(),
                controller,
                ..Default::default()
            }]),
            ..ObjectMeta::default()
        };
        assert_eq!(controller(&owned(Some(true))), Some("u1".into()));
        assert_eq!(controller(&owned(None)), None);
        assert_eq!(controller(&ObjectMeta::default()), None);
    }
}
