//! One run per namespace: a coordination.k8s.io Lease held for the run, renewed while it lasts and
//! deleted at its end. A lease whose holder stopped renewing expires and can be taken over. A run
//! that cannot renew its lease, or finds it taken, is told so ([`Lock::lost`]) and starts nothing
//! new.

use super::{failed, Cluster};
use crate::error::{Error, Result};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

pub(crate) const LEASE_NAME: &str = "panda-install-lock";
/// How long a lease stays valid without renewal.
pub(crate) const LEASE_SECONDS: i32 = 30;
const RENEW_EVERY: Duration = Duration::from_secs(10);

/// A held lock; call `release` at the end of the run.
pub(crate) struct Lock {
    api: Api<Lease>,
    /// The resourceVersion of the lease as this run last wrote it: a delete guarded by it can only
    /// remove our own lease, never one another run took over since.
    version: Arc<Mutex<Option<String>>>,
    lost: Arc<AtomicBool>,
    renewer: JoinHandle<()>,
}

fn holder_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("panda-install@{}/pid-{}/{}", host.trim(), std::process::id(), Timestamp::now().as_millisecond())
}

fn expired(spec: &LeaseSpec, now: Timestamp) -> bool {
    let last = spec.renew_time.as_ref().or(spec.acquire_time.as_ref()).map(|t| t.0);
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(LEASE_SECONDS));
    last.is_none_or(|t| now.as_second() - t.as_second() > duration)
}

fn lease(holder: &str, resource_version: Option<String>) -> Lease {
    let now = MicroTime(Timestamp::now());
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
    lease.metadata.labels =
        Some([("app.kubernetes.io/managed-by".to_string(), "panda-install".to_string())].into());
    lease
}

impl Lock {
    /// Takes the namespace's lock, or fails at once naming the run that holds it.
    pub(crate) async fn acquire(cluster: &Cluster) -> Result<Lock> {
        let api: Api<Lease> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
        let holder = holder_identity();
        let what = format!("take the lock (Lease {LEASE_NAME})");
        // Create first: the common case (no lock) costs one request.
        let written = match api.create(&PostParams::default(), &lease(&holder, None)).await {
            Ok(created) => created,
            Err(kube::Error::Api(e)) if e.code == 409 => {
                let existing = api.get(LEASE_NAME).await.map_err(|e| failed(&what, e))?;
                let spec = existing.spec.clone().unwrap_or_default();
                if !expired(&spec, Timestamp::now()) {
                    let other = spec.holder_identity.unwrap_or_else(|| "an unknown holder".into());
                    return Err(busy(&cluster.namespace, &other));
                }
                // Expired: take it over; the resourceVersion makes a racing takeover fail.
                let rv = existing.metadata.resource_version.clone();
                api.replace(LEASE_NAME, &PostParams::default(), &lease(&holder, rv)).await.map_err(|e| {
                    match e {
                        kube::Error::Api(ref a) if a.code == 409 => {
                            busy(&cluster.namespace, "another run (it took over the stale lock just now)")
                        }
                        e => failed(&what, e),
                    }
                })?
            }
            Err(e) => return Err(failed(&what, e)),
        };
        let version = Arc::new(Mutex::new(written.metadata.resource_version));
        let lost = Arc::new(AtomicBool::new(false));
        let renewer = tokio::spawn(renew(api.clone(), holder, version.clone(), lost.clone()));
        Ok(Lock { api, version, lost, renewer })
    }

    /// Set when a renewal failed or another run holds the lease now: start nothing new.
    pub(crate) fn lost(&self) -> Arc<AtomicBool> {
        self.lost.clone()
    }

    /// Stops renewing (waiting for a renewal in flight) and deletes the lease, unless another run
    /// has taken it over since.
    pub(crate) async fn release(self) {
        self.renewer.abort();
        let _ = self.renewer.await;
        let version = self.version.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let guard = DeleteParams {
            preconditions: Some(Preconditions { resource_version: version, uid: None }),
            ..DeleteParams::default()
        };
        if let Err(e) = self.api.delete(LEASE_NAME, &guard).await {
            tracing::warn!("could not delete the lock {LEASE_NAME} (it expires by itself): {e}");
        }
    }
}

fn busy(namespace: &str, holder: &str) -> Error {
    Error::Preflight(format!(
        "namespace {namespace} is locked by {holder}: another panda-install run is in progress. \
         Wait for it; a lock whose run died expires {LEASE_SECONDS} s after its last renewal \
         (kubectl -n {namespace} get lease {LEASE_NAME})"
    ))
}

async fn renew(api: Api<Lease>, holder: String, version: Arc<Mutex<Option<String>>>, lost: Arc<AtomicBool>) {
    let mut failures = 0;
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let result = async {
            let mut current = api.get(LEASE_NAME).await.map_err(|e| e.to_string())?;
            let spec = current.spec.as_mut().ok_or("the lease has no spec")?;
            if spec.holder_identity.as_deref() != Some(&holder) {
                return Err(format!("taken over by {:?}", spec.holder_identity));
            }
            spec.renew_time = Some(MicroTime(Timestamp::now()));
            let renewed =
                api.replace(LEASE_NAME, &PostParams::default(), &current).await.map_err(|e| e.to_string())?;
            *version.lock().unwrap_or_else(|p| p.into_inner()) = renewed.metadata.resource_version;
            Ok::<(), String>(())
        }
        .await;
        match result {
            Ok(()) => failures = 0,
            Err(why) => {
                failures += 1;
                tracing::warn!("cannot renew the lock {LEASE_NAME}: {why}");
                // two misses leave less than one renewal period before the lease expires
                if failures >= 2 || why.starts_with("taken over") {
                    // a closed stderr is ignored (eprintln! would panic)
                    let _ = writeln!(
                        std::io::stderr(),
                        "panda-install: lost the namespace lock ({why}): starting nothing new"
                    );
                    lost.store(true, Ordering::SeqCst);
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_follows_the_last_renewal() {
        let now = Timestamp::now();
        let spec = |ago: i64| LeaseSpec {
            renew_time: Some(MicroTime(Timestamp::from_second(now.as_second() - ago).unwrap())),
            lease_duration_seconds: Some(30),
            ..Default::default()
        };
        assert!(!expired(&spec(5), now));
        assert!(expired(&spec(31), now));
        assert!(expired(&LeaseSpec::default(), now));
    }
}
