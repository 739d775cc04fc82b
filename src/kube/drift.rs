//! Does the cluster match a release? For every object of its manifest: it must exist, and a
//! server-side apply of it in dry-run mode (field manager `panda-install-check`, forced) must
//! leave the live object as it is — so a field the chart sets that someone changed, or a value
//! removed by hand, shows up, while fields others own (status, defaults, a restart annotation) do
//! not. Workloads must also be ready. The API server does the comparison's hard part (defaults,
//! quantities, merge keys); nothing here guesses.

use super::health::{workload, Workload};
use super::{forbidden, sentence, shallow, Cluster};
use futures::stream::{self, StreamExt};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::Scope;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// How many objects are checked at once.
const CONCURRENCY: usize = 16;
const FIELD_MANAGER: &str = "panda-install-check";

/// What the cluster says about one object of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectState {
    /// `Kind/name`.
    pub(crate) id: String,
    pub(crate) finding: Finding,
    /// Ready/desired replicas, for Deployments and StatefulSets.
    pub(crate) workload: Option<Workload>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Finding {
    Matches,
    Missing,
    /// Dotted paths of the fields that differ (never their values).
    Changed(Vec<String>),
    /// The object could not be checked; the message says why.
    Unknown(String),
}

impl ObjectState {
    /// Matches and, for a workload, ready.
    pub(crate) fn healthy(&self) -> bool {
        self.finding == Finding::Matches && self.workload.as_ref().is_none_or(Workload::ready)
    }

    /// One line for reports: `Deployment/x: missing`.
    pub(crate) fn describe(&self) -> String {
        let mut what = match &self.finding {
            Finding::Matches => String::new(),
            Finding::Missing => "missing".into(),
            Finding::Changed(paths) => format!("changed ({})", paths.join(", ")),
            Finding::Unknown(why) => format!("cannot be checked: {why}"),
        };
        if let Some(w) = self.workload.as_ref().filter(|w| !w.ready()) {
            if !what.is_empty() {
                what.push_str("; ");
            }
            let waiting = w.waiting.as_deref().unwrap_or_default();
            what.push_str(&format!("{}/{} ready ({waiting})", w.ready_replicas, w.desired));
        }
        format!("{}: {what}", self.id)
    }
}

/// A per-run cache of which API resource serves each kind, and whether a comparison ran without
/// `patch` rights.
#[derive(Clone, Default)]
pub(crate) struct Discovery(Arc<Mutex<HashMap<GroupVersionKind, (ApiResource, bool)>>>, Arc<AtomicBool>);

/// What status and diff say once when [`Cluster::compared_without_patch`].
pub(crate) const WITHOUT_PATCH: &str = "note: these credentials may not `patch`, so the live objects were \
compared with the fields the charts set; the deeper check (a server-side dry-run apply, which also \
sees values removed by hand) needs `patch` on them";

impl Cluster {
    /// The state of every object of `objects` (parsed manifests; hooks are skipped).
    pub(crate) async fn check_objects(&self, objects: &[Value]) -> Vec<ObjectState> {
        let checked = objects.iter().filter(|o| !is_hook(o)).map(|o| self.check_object(o));
        let mut out: Vec<ObjectState> = stream::iter(checked).buffer_unordered(CONCURRENCY).collect().await;
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    async fn check_object(&self, desired: &Value) -> ObjectState {
        let id = object_id(desired);
        let unknown =
            |why: String| ObjectState { id: id.clone(), finding: Finding::Unknown(why), workload: None };
        let (api, name) = match self.api_for(desired).await {
            Ok(found) => found,
            Err(why) => return unknown(why),
        };
        let live = match api.get_opt(&name).await {
            Ok(Some(live)) => live,
            Ok(None) => return ObjectState { id, finding: Finding::Missing, workload: None },
            Err(e) => return unknown(sentence(&format!("get {id}"), &e)),
        };
        let Ok(live) = serde_json::to_value(&live) else { return unknown("cannot serialise it".into()) };
        let workload = workload(&live);
        let params = PatchParams::apply(FIELD_MANAGER).force().dry_run();
        let paths = match api.patch(&name, &params, &Patch::Apply(desired)).await {
            Ok(applied) => {
                let Ok(applied) = serde_json::to_value(&applied) else {
                    return unknown("cannot serialise it".into());
                };
                let mut paths = Vec::new();
                differences(&comparable(&live), &comparable(&applied), "", &mut paths);
                paths
            }
            // A viewer without `patch`: the fields the chart sets, compared with the live ones.
            Err(e) if forbidden(&e) => {
                self.discovery.1.store(true, Ordering::Relaxed);
                shallow::differences(desired, &live)
            }
            Err(e) => return unknown(sentence(&format!("dry-run apply {id}"), &e)),
        };
        let finding = if paths.is_empty() { Finding::Matches } else { Finding::Changed(paths) };
        ObjectState { id, finding, workload }
    }

    /// Whether some object of this run was compared field by field because the credentials may
    /// not `patch` (the server-side dry-run apply): callers say so once.
    pub(crate) fn compared_without_patch(&self) -> bool {
        self.discovery.1.load(Ordering::Relaxed)
    }

    /// The API for an object's kind (discovered once per run) and its name.
    async fn api_for(&self, obj: &Value) -> Result<(Api<DynamicObject>, String), String> {
        let name = obj["metadata"]["name"].as_str().ok_or("no metadata.name")?.to_string();
        let api_version = obj["apiVersion"].as_str().ok_or("no apiVersion")?;
        let kind = obj["kind"].as_str().ok_or("no kind")?;
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let cached = self.discovery.0.lock().unwrap_or_else(|p| p.into_inner()).get(&gvk).cloned();
        let (resource, namespaced) = match cached {
            Some(found) => found,
            None => {
                let (resource, caps) = kube::discovery::pinned_kind(&self.client, &gvk)
                    .await
                    .map_err(|e| sentence(&format!("discover {api_version} {kind}"), &e))?;
                let found = (resource, caps.scope == Scope::Namespaced);
                self.discovery.0.lock().unwrap_or_else(|p| p.into_inner()).insert(gvk, found.clone());
                found
            }
        };
        let api = if namespaced {
            let ns = obj["metadata"]["namespace"].as_str().unwrap_or(&self.namespace);
            Api::namespaced_with(self.client.clone(), ns, &resource)
        } else {
            Api::all_with(self.client.clone(), &resource)
        };
        Ok((api, name))
    }
}

/// `Kind/name` of a manifest object.
pub(crate) fn object_id(obj: &Value) -> String {
    format!("{}/{}", obj["kind"].as_str().unwrap_or("?"), obj["metadata"]["name"].as_str().unwrap_or("?"))
}

fn is_hook(obj: &Value) -> bool {
    obj["metadata"]["annotations"].get("helm.sh/hook").is_some()
}

/// The object without what the server keeps for itself: bookkeeping metadata and status.
fn comparable(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in ["managedFields", "resourceVersion", "generation", "creationTimestamp", "uid", "selfLink"]
        {
            meta.remove(key);
        }
    }
    if let Some(map) = v.as_object_mut() {
        map.remove("status");
    }
    v
}

/// Dotted paths where `a` and `b` differ (at most 8); values are never recorded.
fn differences(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    if out.len() >= 8 || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                differences(x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), &p, out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differences(p, q, &format!("{path}[{i}]"), out);
            }
        }
        _ => out.push(if path.is_empty() { "(whole object)".into() } else { path.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bookkeeping_and_status_do_not_count() {
        let live = json!({"kind": "ConfigMap", "metadata": {"name": "a", "resourceVersion": "7", "managedFields": [1]},
                          "data": {"x": "1"}, "status": {"y": 1}});
        let applied = json!({"kind": "ConfigMap", "metadata": {"name": "a", "resourceVersion": "7", "managedFields": [1, 2]},
                             "data": {"x": "1"}});
        let mut paths = Vec::new();
        differences(&comparable(&live), &comparable(&applied), "", &mut paths);
        assert!(paths.is_empty(), "{paths:?}");
    }

    #[test]
    fn changed_fields_are_named_not_shown() {
        let live = json!({"spec": {"replicas": 0, "template": {"c": [{"image": "a"}]}}, "data": {"PASSWORD": "old"}});
        let applied = json!({"spec": {"replicas": 1, "template": {"c": [{"image": "a"}]}}, "data": {"PASSWORD": "new"}});
        let mut paths = Vec::new();
        differences(&live, &applied, "", &mut paths);
        assert_eq!(paths, vec!["data.PASSWORD", "spec.replicas"]);
        let state = ObjectState { id: "Secret/s".into(), finding: Finding::Changed(paths), workload: None };
        assert!(!state.describe().contains("old") && !state.describe().contains("new"));
    }

    #[test]
    fn hooks_are_skipped_and_ids_name_kind_and_name() {
        assert!(is_hook(&json!({"metadata": {"annotations": {"helm.sh/hook": "test"}}})));
        assert!(!is_hook(&json!({"metadata": {"name": "x"}})));
        assert_eq!(object_id(&json!({"kind": "Service", "metadata": {"name": "x"}})), "Service/x");
    }
}
