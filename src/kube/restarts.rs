//! Container restarts of a workload's pods, for `status`: how many, and how the last one ended.

use super::{failed, Cluster};
use crate::error::Result;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde_json::Value;

/// The restarts of the containers of a set of pods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Restarts {
    /// The sum of the containers' restart counts.
    pub(crate) count: i64,
    /// How the latest terminated container ended: "<pod>/<container>: <reason>, exit <code>, at
    /// <time>".
    pub(crate) last: Option<String>,
}

impl Cluster {
    /// The restarts of the pods a workload's `spec.selector.matchLabels` selects (no selector:
    /// none).
    pub(crate) async fn restarts(&self, workload: &Value) -> Result<Restarts> {
        let Some(labels) = workload["spec"]["selector"]["matchLabels"].as_object() else {
            return Ok(Restarts::default());
        };
        let selector: Vec<String> =
            labels.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect();
        let pods: Api<Pod> = self.api();
        let list = pods
            .list(&ListParams::default().labels(&selector.join(",")))
            .await
            .map_err(|e| failed(&format!("list the pods of {}", super::drift::object_id(workload)), e))?;
        Ok(summarize(&list.items))
    }
}

/// The restart counts summed; the last termination is the one that finished latest (RFC 3339
/// times of one clock compare as text).
pub(crate) fn summarize(pods: &[Pod]) -> Restarts {
    let mut out = Restarts::default();
    let mut latest: Option<(String, String)> = None;
    for pod in pods {
        let name = pod.metadata.name.as_deref().unwrap_or("?");
        let Some(status) = &pod.status else { continue };
        let containers =
            status.init_container_statuses.iter().flatten().chain(status.container_statuses.iter().flatten());
        for c in containers {
            out.count += i64::from(c.restart_count);
            let Some(t) = c.last_state.as_ref().and_then(|s| s.terminated.as_ref()) else { continue };
            let at = t.finished_at.as_ref().map(|f| f.0.to_string()).unwrap_or_default();
            let text = format!(
                "{name}/{}: {}, exit {}{}",
                c.name,
                t.reason.as_deref().unwrap_or("terminated"),
                t.exit_code,
                if at.is_empty() { String::new() } else { format!(", at {at}") }
            );
            if latest.as_ref().is_none_or(|(when, _)| at > *when) {
                latest = Some((at, text));
            }
        }
    }
    out.last = latest.map(|(_, text)| text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, restarts: i32, last: Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "status": {"containerStatuses": [{"name": "db", "image": "i", "imageID": "", "ready": true,
                "restartCount": restarts, "lastState": last}]}
        }))
        .unwrap()
    }

    #[test]
    fn restarts_are_summed_and_the_latest_termination_is_named() {
        let a = pod(
            "db-0",
            1,
            json!({"terminated": {"exitCode": 137, "reason": "Error", "finishedAt": "2026-12-05T23:21:30Z"}}),
        );
        let b = pod(
            "db-1",
            2,
            json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-12-05T23:25:00Z"}}),
        );
        let r = summarize(&[a, b]);
        assert_eq!(r.count, 3);
        assert_eq!(r.last.as_deref(), Some("db-1/db: Error, exit 1, at 2026-12-05T23:25:00Z"));
    }

    #[test]
    fn pods_that_never_restarted_have_no_last_termination() {
        let r = summarize(&[pod("db-0", 0, json!({})), Pod::default()]);
        assert_eq!(r, Restarts::default());
    }
}
