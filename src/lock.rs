//! One run per namespace: a coordination.k8s.io Lease held for the run, renewed while it lasts and
//! deleted at its end. A lease whose holder stopped renewing expires and can be taken over.

use crate::cluster::Cluster;
use crate::error::{Error, Result};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::chrono::{DateTime, Utc};
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

pub const LEASE_NAME: &str = "panda-install-lock";
/// How long a lease stays valid without renewal.
pub const LEASE_SECONDS: i32 = 30;
const RENEW_EVERY: Duration = Duration::from_secs(10);

/// A held lock; call `release` at the end of the run.
pub struct Lock {
    api: Api<Lease>,
    /// The resourceVersion of the lease as this run last wrote it: a delete guarded by it can only
    /// remove our own lease, never one another run took over since.
    version: Arc<Mutex<Option<String>>>,
    renewer: JoinHandle<()>,
}

fn holder_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("panda-install@{}/pid-{}/{}", host.trim(), std::process::id(), Utc::now().format("%H%M%S%.3f"))
}

fn expired(spec: &LeaseSpec, now: DateTime<Utc>) -> bool {
    let last = spec.renew_time.as_ref().or(spec.acquire_time.as_ref()).map(|t| t.0);
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(LEASE_SECONDS));
    last.is_none_or(|t| (now - t).num_seconds() > duration)
}

fn lease(holder: &str, resource_version: Option<String>) -> Lease {
    let now = MicroTime(Utc::now());
    let mut lease = Lease {
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.to_string()),
            lease_duration_seconds: Some(LEASE_SECONDS),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            ..Default::default()
        }),
        ..Default::default()
    };
    lease.metadata.name = Some(LEASE_NAME.to_string());
    lease.metadata.resource_version = resource_version;
    lease.metadata.labels = Some([("app.kubernetes.io/managed-by".to_string(), "panda-install".to_string())].into());
    lease
}

impl Lock {
    /// Takes the namespace's lock, or fails at once naming the run that holds it.
    pub async fn acquire(cluster: &Cluster) -> Result<Lock> {
        let api: Api<Lease> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
        let holder = holder_identity();
        let failed = |e: kube::Error| Error::Preflight(format!("cannot take the lock (Lease {LEASE_NAME}): {e}"));
        // Create first: the common case (no lock) costs one request.
        let written = match api.create(&PostParams::default(), &lease(&holder, None)).await {
            Ok(created) => created,
            Err(kube::Error::Api(e)) if e.code == 409 => {
                let existing = api.get(LEASE_NAME).await.map_err(failed)?;
                let spec = existing.spec.clone().unwrap_or_default();
                if !expired(&spec, Utc::now()) {
                    let other = spec.holder_identity.unwrap_or_else(|| "an unknown holder".into());
                    return Err(busy(&cluster.namespace, &other));
                }
                // Expired: take it over; the resourceVersion makes a racing takeover fail.
                let rv = existing.metadata.resource_version.clone();
                api.replace(LEASE_NAME, &PostParams::default(), &lease(&holder, rv)).await.map_err(|e| match e {
                    kube::Error::Api(ref a) if a.code == 409 => busy(&cluster.namespace, "another run (it took over the stale lock just now)"),
                    e => failed(e),
                })?
            }
            Err(e) => return Err(failed(e)),
        };
        let version = Arc::new(Mutex::new(written.metadata.resource_version));
        let renewer = tokio::spawn(renew(api.clone(), holder, version.clone()));
        Ok(Lock { api, version, renewer })
    }

    /// Stops renewing and deletes the lease, unless another run has taken it over since.
    pub async fn release(self) {
        self.renewer.abort();
        let version = self.version.lock().unwrap().clone();
        let guard = DeleteParams { preconditions: Some(Preconditions { resource_version: version, uid: None }), ..DeleteParams::default() };
        let _ = self.api.delete(LEASE_NAME, &guard).await;
    }
}

fn busy(namespace: &str, holder: &str) -> Error {
    Error::Preflight(format!(
        "namespace {namespace} is locked by {holder}: another panda-install run is in progress. \
         Wait for it; a lock whose run died expires {LEASE_SECONDS} s after its last renewal \
         (kubectl -n {namespace} get lease {LEASE_NAME})"
    ))
}

async fn renew(api: Api<Lease>, holder: String, version: Arc<Mutex<Option<String>>>) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let Ok(Some(mut current)) = api.get_opt(LEASE_NAME).await else { continue };
        let Some(spec) = current.spec.as_mut() else { continue };
        if spec.holder_identity.as_deref() != Some(&holder) {
            tracing::warn!("lost the lock {LEASE_NAME} to {:?}", spec.holder_identity);
            return;
        }
        spec.renew_time = Some(MicroTime(Utc::now()));
        if let Ok(renewed) = api.replace(LEASE_NAME, &PostParams::default(), &current).await {
            *version.lock().unwrap() = renewed.metadata.resource_version;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::chrono::TimeDelta;

    #[test]
    fn expiry_follows_the_last_renewal() {
        let now = Utc::now();
        let spec = |ago: i64| LeaseSpec {
            renew_time: Some(MicroTime(now - TimeDelta::seconds(ago))),
            lease_duration_seconds: Some(30),
            ..Default::default()
        };
        assert!(!expired(&spec(5), now));
        assert!(expired(&spec(31), now));
        assert!(expired(&LeaseSpec::default(), now));
    }
}
