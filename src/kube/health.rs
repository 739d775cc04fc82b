//! Whether a workload is rolled out, from its live status, by `kubectl rollout status`'s rules:
//! the controller has seen the latest spec, every replica runs the new template and is available
//! (no old replica left: an old ready pod beside a new unready one is not ready), a StatefulSet's
//! current revision is its update revision, a DaemonSet is updated and available on every node.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Workload {
    pub(crate) desired: i64,
    pub(crate) ready_replicas: i64,
    pub(crate) updated_replicas: i64,
    /// The controller has observed the current generation.
    pub(crate) observed: bool,
    /// What the rollout still waits for, in kubectl's words; `None`: complete.
    pub(crate) waiting: Option<String>,
}

impl Workload {
    pub(crate) fn ready(&self) -> bool {
        self.waiting.is_none()
    }
}

/// The readiness of a Deployment, StatefulSet or DaemonSet; `None` for other kinds.
pub(crate) fn workload(live: &Value) -> Option<Workload> {
    let kind = live["kind"].as_str()?;
    let (spec, status) = (&live["spec"], &live["status"]);
    let count = |v: &Value| v.as_i64().unwrap_or(0);
    let observed_generation = count(&status["observedGeneration"]);
    let observed = observed_generation >= count(&live["metadata"]["generation"]);
    let rolling =
        |default: &str| spec["updateStrategy"]["type"].as_str().unwrap_or(default) == "RollingUpdate";
    let (desired, ready, updated, waiting) = match kind {
        "Deployment" => {
            let desired = spec["replicas"].as_i64().unwrap_or(1);
            let (replicas, updated) = (count(&status["replicas"]), count(&status["updatedReplicas"]));
            let available = count(&status["availableReplicas"]);
            let waiting = if !observed {
                Some("waiting for the controller to observe the new spec".to_string())
            } else if updated < desired {
                Some(format!("{updated} of {desired} updated replicas"))
            } else if replicas > updated {
                Some(format!("{} old replicas pending termination", replicas - updated))
            } else if available < updated {
                Some(format!("{available} of {updated} updated replicas available"))
            } else {
                None
            };
            (desired, count(&status["readyReplicas"]), updated, waiting)
        }
        "StatefulSet" => {
            let desired = spec["replicas"].as_i64().unwrap_or(1);
            let (ready, updated) = (count(&status["readyReplicas"]), count(&status["updatedReplicas"]));
            let (current, update) = (&status["currentRevision"], &status["updateRevision"]);
            let waiting = if !rolling("RollingUpdate") {
                None
            } else if observed_generation == 0 || !observed {
                Some("waiting for the controller to observe the new spec".to_string())
            } else if ready < desired {
                Some(format!("{ready} of {desired} replicas ready"))
            } else if spec["updateStrategy"]["rollingUpdate"]["partition"].as_i64().unwrap_or(0) > 0 {
                None
            } else if current != update {
                Some(format!("{updated} of {desired} replicas on the update revision"))
            } else {
                None
            };
            (desired, ready, updated, waiting)
        }
        "DaemonSet" => {
            let desired = count(&status["desiredNumberScheduled"]);
            let updated = count(&status["updatedNumberScheduled"]);
            let available = count(&status["numberAvailable"]);
            let waiting = if !rolling("RollingUpdate") {
                None
            } else if !observed {
                Some("waiting for the controller to observe the new spec".to_string())
            } else if updated < desired {
                Some(format!("{updated} of {desired} updated pods scheduled"))
            } else if available < desired {
                Some(format!("{available} of {desired} updated pods available"))
            } else {
                None
            };
            (desired, count(&status["numberReady"]), updated, waiting)
        }
        _ => return None,
    };
    Some(Workload { desired, ready_replicas: ready, updated_replicas: updated, observed, waiting })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_statefulset_is_ready_observed_ready_and_on_its_update_revision() {
        let sts = |gen: i64, observed: i64, ready: i64, revision: &str| {
            json!({"kind": "StatefulSet", "metadata": {"generation": gen}, "spec": {"replicas": 1},
                   "status": {"observedGeneration": observed, "readyReplicas": ready, "updatedReplicas": ready,
                              "currentRevision": "a", "updateRevision": revision}})
        };
        assert!(workload(&sts(2, 2, 1, "a")).unwrap().ready());
        assert!(!workload(&sts(3, 2, 1, "a")).unwrap().ready());
        assert!(!workload(&sts(2, 2, 0, "a")).unwrap().ready());
        let rolling = workload(&sts(2, 2, 1, "b")).unwrap();
        assert_eq!(rolling.waiting.as_deref(), Some("1 of 1 replicas on the update revision"));
        let mut on_delete = sts(2, 2, 1, "b");
        on_delete["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
        assert!(workload(&on_delete).unwrap().ready(), "kubectl: no rollout status for OnDelete");
        assert!(workload(&json!({"kind": "Service"})).is_none());
    }

    #[test]
    fn a_deployment_mid_rollout_is_not_ready() {
        let deploy = |status: Value| json!({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 1}, "status": status});
        // the old pod ready and available, the new one created but not ready
        let mid = deploy(json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1,
                                "readyReplicas": 1, "availableReplicas": 1}));
        let w = workload(&mid).unwrap();
        assert!(!w.ready(), "{w:?}");
        assert_eq!(w.waiting.as_deref(), Some("1 old replicas pending termination"));
        // the old pod gone, the new one not available yet
        let new = deploy(json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1,
                                "readyReplicas": 0, "availableReplicas": 0}));
        assert!(!workload(&new).unwrap().ready());
        let done = deploy(json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1,
                                 "readyReplicas": 1, "availableReplicas": 1}));
        assert!(workload(&done).unwrap().ready());
        let unseen = deploy(json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                                   "readyReplicas": 1, "availableReplicas": 1}));
        assert!(!workload(&unseen).unwrap().ready());
        let zero = json!({"kind": "Deployment", "metadata": {"generation": 1}, "spec": {"replicas": 0}, "status": {"observedGeneration": 1}});
        assert!(workload(&zero).unwrap().ready(), "scaled to zero by the chart is what it asks for");
    }

    #[test]
    fn a_daemonset_is_ready_updated_and_available_on_every_node() {
        let ds = |updated: i64, available: i64| {
            json!({"kind": "DaemonSet", "metadata": {"generation": 1}, "spec": {},
                   "status": {"observedGeneration": 1, "desiredNumberScheduled": 2, "updatedNumberScheduled": updated,
                              "numberAvailable": available, "numberReady": available}})
        };
        assert!(workload(&ds(2, 2)).unwrap().ready());
        assert!(!workload(&ds(1, 2)).unwrap().ready());
        assert!(!workload(&ds(2, 1)).unwrap().ready());
    }
}
