//! One-off Jobs (migrate-data): the claim they write to, the Job itself (an earlier Job of the
//! same name is replaced), its outcome and its log.

use super::{failed, Cluster};
use crate::error::{Error, Result};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams, PropagationPolicy};
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long a pod may wait for one of [`STUCK_REASONS`] before the Job is given up: long enough for
/// a Secret created a moment late, short of the Job's own deadline.
const STUCK_GRACE: Duration = Duration::from_secs(20);

/// Waiting reasons of a container that only an operator can clear: a missing Secret, ConfigMap or
/// key, an image that is not there.
const STUCK_REASONS: [&str; 6] = [
    "CreateContainerConfigError",
    "CreateContainerError",
    "ErrImageNeverPull",
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
];

/// "container <name>: <reason>: <message>" of the first container of the pod that waits for one of
/// [`STUCK_REASONS`].
fn stuck_reason(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let all =
        status.init_container_statuses.iter().flatten().chain(status.container_statuses.iter().flatten());
    all.into_iter().find_map(|c| {
        let waiting = c.state.as_ref()?.waiting.as_ref()?;
        let reason = waiting.reason.as_deref()?;
        STUCK_REASONS.contains(&reason).then(|| match waiting.message.as_deref() {
            Some(m) if !m.is_empty() => format!("container {}: {reason}: {m}", c.name),
            _ => format!("container {}: {reason}", c.name),
        })
    })
}

/// How a Job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobOutcome {
    pub(crate) succeeded: bool,
    /// Its pod's log, or why it could not be read.
    pub(crate) log: String,
}

impl Cluster {
    /// Creates the claim unless it exists; returns whether it was created.
    pub(crate) async fn ensure_claim(&self, claim: &Value) -> Result<bool> {
        let api: Api<PersistentVolumeClaim> = self.api();
        let name = claim["metadata"]["name"].as_str().unwrap_or_default().to_string();
        if api.get_opt(&name).await.map_err(|e| failed(&format!("read claim {name}"), e))?.is_some() {
            return Ok(false);
        }
        let pvc: PersistentVolumeClaim =
            serde_json::from_value(claim.clone()).map_err(|e| Error::Internal(e.into()))?;
        api.create(&PostParams::default(), &pvc)
            .await
            .map_err(|e| failed(&format!("create claim {name}"), e))?;
        Ok(true)
    }

    /// Whether a claim exists.
    pub(crate) async fn claim_exists(&self, name: &str) -> Result<bool> {
        let api: Api<PersistentVolumeClaim> = self.api();
        Ok(api.get_opt(name).await.map_err(|e| failed(&format!("read claim {name}"), e))?.is_some())
    }

    /// Runs a Job to its end (an earlier one of the same name is deleted first) and reads its log.
    pub(crate) async fn run_job(&self, job: &Value, timeout: Duration) -> Result<JobOutcome> {
        let api: Api<Job> = self.api();
        let name = job["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let background = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        if api.get_opt(&name).await.map_err(|e| failed(&format!("read Job {name}"), e))?.is_some() {
            api.delete(&name, &background)
                .await
                .map_err(|e| failed(&format!("delete the earlier Job {name}"), e))?;
            let deadline = Instant::now() + Duration::from_secs(120);
            while api.get_opt(&name).await.map_err(|e| failed(&format!("read Job {name}"), e))?.is_some() {
                if Instant::now() > deadline {
                    return Err(Error::ReleaseFailed(format!(
                        "the earlier Job {name} is still being deleted"
                    )));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        let typed: Job = serde_json::from_value(job.clone()).map_err(|e| Error::Internal(e.into()))?;
        api.create(&PostParams::default(), &typed)
            .await
            .map_err(|e| failed(&format!("create Job {name}"), e))?;
        let deadline = Instant::now() + timeout;
        let mut stuck_since: Option<Instant> = None;
        let mut polls = 0u32;
        let succeeded = loop {
            let current = api.get(&name).await.map_err(|e| failed(&format!("read Job {name}"), e))?;
            let conditions = current.status.and_then(|s| s.conditions).unwrap_or_default();
            let done = |t: &str| conditions.iter().any(|c| c.type_ == t && c.status == "True");
            if done("Complete") {
                break true;
            }
            if done("Failed") {
                break false;
            }
            if Instant::now() > deadline {
                return Err(Error::ReleaseFailed(format!(
                    "Job {name} did not finish within {} s",
                    timeout.as_secs()
                )));
            }
            polls += 1;
            if polls.is_multiple_of(4) {
                match self.job_pod_stuck(&name).await? {
                    None => stuck_since = None,
                    Some(why) => {
                        let since = *stuck_since.get_or_insert_with(Instant::now);
                        if since.elapsed() >= STUCK_GRACE {
                            let _ = api.delete(&name, &background).await;
                            return Err(Error::ReleaseFailed(format!(
                                "Job {name} cannot start its pod: {why} (the Job was deleted; fix that and run \
                                 the command again)"
                            )));
                        }
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        Ok(JobOutcome { succeeded, log: self.job_log(&name).await })
    }

    /// Why the Job's pod cannot start, when a container waits for a reason that does not clear by
    /// itself (see [`stuck_reason`]).
    async fn job_pod_stuck(&self, job: &str) -> Result<Option<String>> {
        let pods: Api<Pod> = self.api();
        let list = pods
            .list(&ListParams::default().labels(&format!("job-name={job}")))
            .await
            .map_err(|e| failed(&format!("list the pods of Job {job}"), e))?;
        Ok(list.items.iter().find_map(stuck_reason))
    }

    /// The log of a Job's pod; a log that cannot be read says why (the Job's status decided).
    async fn job_log(&self, job: &str) -> String {
        let pods: Api<Pod> = self.api();
        let list = match pods.list(&ListParams::default().labels(&format!("job-name={job}"))).await {
            Ok(l) => l,
            Err(e) => {
                return format!("(the log cannot be read: {})", super::sentence("list the Job's pods", &e))
            }
        };
        let Some(pod) = list.items.first().and_then(|p| p.metadata.name.clone()) else {
            return "(the log cannot be read: the Job's pod is gone)".into();
        };
        match pods.logs(&pod, &LogParams::default()).await {
            Ok(text) => text,
            Err(e) => format!("({})\n", super::sentence(&format!("read the log of pod {pod}"), &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(state: Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "status": {"containerStatuses": [{"name": "migrate", "image": "i", "imageID": "", "ready": false,
                "restartCount": 0, "state": state}]}
        }))
        .unwrap()
    }

    #[test]
    fn a_missing_secret_key_is_a_stuck_pod_named_with_the_kubelets_message() {
        let p = pod(json!({"waiting": {"reason": "CreateContainerConfigError",
            "message": "couldn't find key IDDS_USER in Secret panda/blah-secrets-idds-envs"}}));
        assert_eq!(
            stuck_reason(&p).as_deref(),
            Some("container migrate: CreateContainerConfigError: couldn't find key IDDS_USER in Secret panda/blah-secrets-idds-envs")
        );
    }

    #[test]
    fn a_pod_that_is_starting_or_running_is_not_stuck() {
        assert_eq!(stuck_reason(&pod(json!({"waiting": {"reason": "ContainerCreating"}}))), None);
        assert_eq!(stuck_reason(&pod(json!({"running": {}}))), None);
        assert_eq!(stuck_reason(&Pod::default()), None);
    }
}
