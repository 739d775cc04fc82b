//! Whether a workload is ready, from its live status: the controller has seen the latest spec,
//! and as many replicas are updated and ready as the spec asks for.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Workload {
    pub(crate) desired: i64,
    pub(crate) ready_replicas: i64,
    pub(crate) updated_replicas: i64,
    /// The controller has observed the current generation.
    pub(crate) observed: bool,
}

impl Workload {
    pub(crate) fn ready(&self) -> bool {
        self.observed && self.ready_replicas >= self.desired && self.updated_replicas >= self.desired
    }
}

/// The readiness of a Deployment or StatefulSet; `None` for other kinds.
pub(crate) fn workload(live: &Value) -> Option<Workload> {
    if !matches!(live["kind"].as_str(), Some("Deployment" | "StatefulSet")) {
        return None;
    }
    let status = &live["status"];
    let count = |v: &Value| v.as_i64().unwrap_or(0);
    let generation = count(&live["metadata"]["generation"]);
    Some(Workload {
        desired: live["spec"]["replicas"].as_i64().unwrap_or(1),
        ready_replicas: count(&status["readyReplicas"]),
        updated_replicas: count(&status["updatedReplicas"]),
        observed: count(&status["observedGeneration"]) >= generation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ready_needs_observed_updated_and_ready_replicas() {
        let sts = |gen: i64, observed: i64, ready: i64| {
            json!({"kind": "StatefulSet", "metadata": {"generation": gen}, "spec": {"replicas": 1},
                   "status": {"observedGeneration": observed, "readyReplicas": ready, "updatedReplicas": ready}})
        };
        assert!(workload(&sts(2, 2, 1)).unwrap().ready());
        assert!(!workload(&sts(3, 2, 1)).unwrap().ready());
        assert!(!workload(&sts(2, 2, 0)).unwrap().ready());
        let zero = json!({"kind": "Deployment", "metadata": {"generation": 1}, "spec": {"replicas": 0}, "status": {"observedGeneration": 1}});
        assert!(workload(&zero).unwrap().ready(), "scaled to zero by the chart is what it asks for");
        assert!(workload(&json!({"kind": "Service"})).is_none());
    }
}
