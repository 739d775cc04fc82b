//! Why a release is not ready, read from the cluster: unready pods with their phase and reasons,
//! container waiting/termination reasons, recent Warning events (events.k8s.io/v1, which serves
//! the core events too, latest last by when they last happened), and claims that are not Bound.

use super::{instance_selector, Cluster};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams};

/// A plain-text report for the given releases (label `app.kubernetes.io/instance`). A list that
/// fails is reported as such, never as "nothing found".
pub(crate) async fn report(cluster: &Cluster, releases: &[String]) -> String {
    if releases.is_empty() {
        return String::new();
    }
    let params = instance_selector(releases);
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let events: Api<Event> = Api::namespaced(cluster.client.clone(), &cluster.namespace);

    let mut out =
        format!("what is not ready in namespace {} ({}):\n", cluster.namespace, releases.join(", "));
    let mut unreadable = 0;
    let pod_list = match cluster.pods_of(releases).await {
        Ok(list) => list,
        Err(e) => {
            unreadable += 1;
            out.push_str(&format!("  {e}\n"));
            Vec::new()
        }
    };
    let mut culprits: Vec<String> = Vec::new();
    for pod in &pod_list {
        if let Some(line) = describe_unready(pod) {
            culprits.push(pod.metadata.name.clone().unwrap_or_default());
            out.push_str(&line);
        }
    }
    let claim_list = match claims.list(&params).await {
        Ok(l) => l.items,
        Err(e) => {
            unreadable += 1;
            out.push_str(&format!("  {}\n", super::sentence("list claims", &e)));
            Vec::new()
        }
    };
    for claim in claim_list {
        let phase = claim.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_else(|| "Unknown".into());
        if phase != "Bound" {
            let name = claim.metadata.name.clone().unwrap_or_default();
            culprits.push(name.clone());
            out.push_str(&format!("  claim {name}: {phase}\n"));
        }
    }
    let warnings = match events.list(&ListParams::default()).await {
        Ok(l) => l.items.into_iter().filter(|e| e.type_.as_deref() == Some("Warning")).collect(),
        Err(e) => {
            unreadable += 1;
            out.push_str(&format!("  {}\n", super::sentence("list events", &e)));
            Vec::new()
        }
    };
    let mut relevant: Vec<&Event> = warnings
        .iter()
        .filter(|e| {
            let name = e.regarding.as_ref().and_then(|r| r.name.as_deref()).unwrap_or_default();
            culprits.iter().any(|c| c == name) || releases.iter().any(|r| name.starts_with(r.as_str()))
        })
        .collect();
    relevant.sort_by_key(|e| last_seen(e));
    for e in relevant.iter().rev().take(10).rev() {
        out.push_str(&format!(
            "  event {}/{}: {}: {}\n",
            e.regarding.as_ref().and_then(|r| r.kind.as_deref()).unwrap_or("?"),
            e.regarding.as_ref().and_then(|r| r.name.as_deref()).unwrap_or("?"),
            e.reason.as_deref().unwrap_or("?"),
            e.note.as_deref().unwrap_or("").trim()
        ));
    }
    if culprits.is_empty() && relevant.is_empty() && unreadable == 0 {
        out.push_str("  no unready pod, unbound claim or warning event found (see helm's error above)\n");
    }
    out
}

/// When an event last happened: the latest of its series' last observation, its `eventTime` and
/// its (core) `lastTimestamp`, else when it was recorded.
fn last_seen(e: &Event) -> Option<Timestamp> {
    let series = e.series.as_ref().map(|s| s.last_observed_time.0);
    let latest =
        [series, e.event_time.as_ref().map(|t| t.0), e.deprecated_last_timestamp.as_ref().map(|t| t.0)]
            .into_iter()
            .flatten()
            .max();
    latest.or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// One line (plus container details) for a pod that is not Ready; `None` for a ready or finished pod.
pub(crate) fn describe_unready(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let phase = status.phase.clone().unwrap_or_else(|| "Unknown".into());
    if phase == "Succeeded" {
        return None;
    }
    let conditions = status.conditions.clone().unwrap_or_default();
    let ready = conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True");
    if ready && pod.metadata.deletion_timestamp.is_none() {
        return None;
    }
    let name = pod.metadata.name.clone().unwrap_or_default();
    let mut line = format!("  pod {name}: {phase}");
    if pod.metadata.deletion_timestamp.is_some() {
        line.push_str(", Terminating");
    }
    if let Some(reason) = &status.reason {
        line.push_str(&format!(", {reason}"));
    }
    for c in conditions.iter().filter(|c| c.status != "True") {
        let why =
            [c.reason.as_deref(), c.message.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(": ");
        if !why.is_empty() {
            line.push_str(&format!("; {} {}", c.type_, why));
        }
    }
    line.push('\n');
    for cs in
        status.container_statuses.iter().flatten().chain(status.init_container_statuses.iter().flatten())
    {
        let state = cs.state.as_ref();
        if let Some(w) = state.and_then(|s| s.waiting.as_ref()) {
            line.push_str(&format!(
                "    container {}: waiting: {} {}\n",
                cs.name,
                w.reason.as_deref().unwrap_or(""),
                w.message.as_deref().unwrap_or("")
            ));
        } else if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
            line.push_str(&format!(
                "    container {}: terminated: {} (exit {})\n",
                cs.name,
                t.reason.as_deref().unwrap_or(""),
                t.exit_code
            ));
        } else if !cs.ready {
            line.push_str(&format!("    container {}: not ready (restarts {})\n", cs.name, cs.restart_count));
        }
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: serde_json::Value) -> Pod {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn events_order_by_event_time_or_last_timestamp() {
        let event = |v: serde_json::Value| -> Event { serde_json::from_value(v).unwrap() };
        let at = |t: &str| Some(t.parse::<Timestamp>().unwrap());
        // a core event (lastTimestamp only), a new-style one (eventTime), one repeating (series)
        let core =
            event(serde_json::json!({"metadata": {"name": "a", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "eventTime": null, "deprecatedLastTimestamp": "2026-01-01T00:05:00Z"}));
        let new =
            event(serde_json::json!({"metadata": {"name": "b"}, "eventTime": "2026-01-01T00:03:00.000000Z"}));
        let series =
            event(serde_json::json!({"metadata": {"name": "c"}, "eventTime": "2026-01-01T00:01:00.000000Z",
            "series": {"count": 3, "lastObservedTime": "2026-01-01T00:09:00.000000Z"}}));
        assert_eq!(last_seen(&core), at("2026-01-01T00:05:00Z"));
        assert_eq!(last_seen(&new), at("2026-01-01T00:03:00Z"));
        assert_eq!(last_seen(&series), at("2026-01-01T00:09:00Z"));
        let mut all = [&series, &core, &new];
        all.sort_by_key(|e| last_seen(e));
        let names: Vec<_> = all.iter().map(|e| e.metadata.name.as_deref().unwrap()).collect();
        assert_eq!(names, ["b", "a", "c"]);
        let recorded = event(
            serde_json::json!({"metadata": {"name": "d", "creationTimestamp": "2026-01-01T00:02:00Z"}}),
        );
        assert_eq!(last_seen(&recorded), at("2026-01-01T00:02:00Z"));
    }

    #[test]
    fn ready_pods_are_not_reported() {
        let p = pod(serde_json::json!({"metadata": {"name": "a"}, "status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}]}}));
        assert!(describe_unready(&p).is_none());
    }

    #[test]
    fn unready_pods_name_their_reasons() {
        let p = pod(
            serde_json::json!({"metadata": {"name": "test-panda-server-0"}, "status": {"phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/4 nodes are available"}],
            "containerStatuses": [{"name": "server", "ready": false, "restartCount": 0, "image": "x", "imageID": "",
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": "no such image"}}}]}}),
        );
        let text = describe_unready(&p).unwrap();
        assert!(text.contains("pod test-panda-server-0: Pending"), "{text}");
        assert!(text.contains("Unschedulable: 0/4 nodes are available"), "{text}");
        assert!(text.contains("container server: waiting: ImagePullBackOff no such image"), "{text}");
    }
}
