//! One run per namespace: a coordination.k8s.io Lease held for the run, renewed while it lasts and
//! deleted at its end. Expiry follows client-go's leader-election rule: another holder's lease has
//! expired only when its record stayed unchanged for its duration as measured on OUR monotonic
//! clock since we first saw that record (never our wall clock against their `renewTime`). Every
//! request is bounded by [`REQUEST_TIMEOUT`]; a run whose renewals fail until others could take
//! the lease over is told so ([`Lock::lost`]) before that moment, and stops.

use super::{failed, Cluster};
use crate::error::{Error, Result};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub(crate) const LEASE_NAME: &str = "panda-install-lock";
/// How long a lease stays valid without renewal.
pub(crate) const LEASE_SECONDS: i32 = 30;
const LEASE: Duration = Duration::from_secs(LEASE_SECONDS as u64);
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// Every request about the lease gets an answer within this, or counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(4);
/// After a failed renewal, the next attempt comes this much later.
const RETRY_EVERY: Duration = Duration::from_secs(2);
/// The run gives the lock up this long before others could take it over (a renewal in flight
/// when it is given up may still land: it only delays the takeover).
const SAFETY: Duration = Duration::from_secs(10);
/// How often a run that found the lease held looks at it again.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// A held lock; call `release` at the end of the run.
pub(crate) struct Lock {
    api: Api<Lease>,
    /// The resourceVersion of the lease as this run last wrote it: a delete guarded by it can only
    /// remove our own lease, never one another run took over since.
    version: Arc<Mutex<Option<String>>>,
    lost: Arc<AtomicBool>,
    lost_tx: Arc<watch::Sender<bool>>,
    stop: Arc<Notify>,
    renewer: JoinHandle<()>,
}

fn holder_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("panda-install@{}/pid-{}/{}", host.trim(), std::process::id(), Timestamp::now().as_millisecond())
}

/// What identifies one write of a lease: any change means its holder (or a new one) is alive.
#[derive(Debug, Clone, PartialEq)]
struct Record {
    version: Option<String>,
    holder: Option<String>,
    renewed: Option<Timestamp>,
    transitions: Option<i32>,
}

impl Record {
    fn of(lease: &Lease) -> Record {
        let spec = lease.spec.clone().unwrap_or_default();
        Record {
            version: lease.metadata.resource_version.clone(),
            holder: spec.holder_identity,
            renewed: spec.renew_time.map(|t| t.0),
            transitions: spec.lease_transitions,
        }
    }
}

/// What one look at a lease held by someone else tells.
#[derive(Debug, PartialEq)]
enum Seen {
    /// Nobody holds it (no or an empty holder): take it.
    Free,
    /// First look at this record, or unchanged for less than its duration: look again.
    Waiting,
    /// The record changed since we first saw it: its holder renews.
    Renewed,
    /// Unchanged for its duration on our clock: its holder stopped renewing.
    Expired,
}

/// client-go's rule: the lease expires for us `duration` after WE first saw its current record.
#[derive(Debug, Default)]
struct Observer {
    first: Option<(Record, Instant)>,
}

impl Observer {
    fn look(&mut self, record: Record, duration: Duration, now: Instant) -> Seen {
        if record.holder.as_deref().is_none_or(str::is_empty) {
            return Seen::Free;
        }
        match &self.first {
            None => {
                self.first = Some((record, now));
                Seen::Waiting
            }
            Some((r, _)) if *r != record => Seen::Renewed,
            Some((_, at)) if now.duration_since(*at) >= duration => Seen::Expired,
            Some(_) => Seen::Waiting,
        }
    }
}

fn duration_of(lease: &Lease) -> Duration {
    let secs = lease.spec.as_ref().and_then(|s| s.lease_duration_seconds).unwrap_or(LEASE_SECONDS);
    Duration::from_secs(u64::try_from(secs.max(1)).unwrap_or(1))
}

fn lease(holder: &str, resource_version: Option<String>, transitions: i32) -> Lease {
    let now = MicroTime(Timestamp::now());
    let mut lease = Lease {
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.to_string()),
            lease_duration_seconds: Some(LEASE_SECONDS),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            lease_transitions: Some(transitions),
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

/// `request`, answered within [`REQUEST_TIMEOUT`] (kube's own read timeout is minutes).
async fn bounded<T>(request: impl Future<Output = kube::Result<T>>) -> Result<kube::Result<T>, String> {
    tokio::time::timeout(REQUEST_TIMEOUT, request)
        .await
        .map_err(|_| format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()))
}

fn unanswered(what: &str, why: String) -> Error {
    Error::Preflight(format!("cannot {what}: Kubernetes cluster unreachable: {why}"))
}

impl Lock {
    /// How long a run that lost the lock lets its children cancel themselves before it kills
    /// them: shorter than the margin it gave the lock up with.
    pub(crate) const GRACE: Duration = Duration::from_secs(5);
    /// How long after the loss the run's remaining work is dropped, whatever it waits for (an API
    /// request stalled with the renewals gets no answer for minutes): after [`Lock::GRACE`], before
    /// others could take the lease over.
    pub(crate) const ABANDON: Duration = Duration::from_secs(7);

    /// Takes the namespace's lock. A lease held by another run is watched: it is refused (naming
    /// its holder) as soon as the holder renews it, taken over when it stayed unchanged for its
    /// duration.
    pub(crate) async fn acquire(cluster: &Cluster) -> Result<Lock> {
        let api: Api<Lease> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
        let holder = holder_identity();
        let what = format!("take the lock (Lease {LEASE_NAME})");
        let mut observer = Observer::default();
        let written = loop {
            // Create first: the common case (no lock) costs one request.
            match bounded(api.create(&PostParams::default(), &lease(&holder, None, 0))).await {
                Ok(Ok(created)) => break created,
                Ok(Err(kube::Error::Api(e))) if e.code == 409 => {}
                Ok(Err(e)) => return Err(failed(&what, e)),
                Err(why) => return Err(unanswered(&what, why)),
            }
            let existing = match bounded(api.get(LEASE_NAME)).await {
                Ok(Ok(l)) => l,
                Ok(Err(kube::Error::Api(e))) if e.code == 404 => continue, // released meanwhile
                Ok(Err(e)) => return Err(failed(&what, e)),
                Err(why) => return Err(unanswered(&what, why)),
            };
            let record = Record::of(&existing);
            let other = record.holder.clone().unwrap_or_default();
            let first_look = observer.first.is_none();
            match observer.look(record, duration_of(&existing), Instant::now()) {
                Seen::Waiting => {
                    if first_look {
                        crate::output::note(&format!(
                            "panda-install: namespace {} is locked by {other}: watching whether it still renews the lock",
                            cluster.namespace
                        ));
                    }
                    tokio::time::sleep(WATCH_EVERY).await;
                    continue;
                }
                Seen::Renewed => return Err(busy(&cluster.namespace, &other)),
                Seen::Free | Seen::Expired => {}
            }
            // Take it over; the resourceVersion makes a racing takeover fail.
            let rv = existing.metadata.resource_version.clone();
            let transitions = existing.spec.as_ref().and_then(|s| s.lease_transitions).unwrap_or(0) + 1;
            match bounded(api.replace(LEASE_NAME, &PostParams::default(), &lease(&holder, rv, transitions)))
                .await
            {
                Ok(Ok(taken)) => break taken,
                Ok(Err(kube::Error::Api(a))) if a.code == 409 => {
                    return Err(busy(
                        &cluster.namespace,
                        "another run (it took over the stale lock just now)",
                    ))
                }
                Ok(Err(e)) => return Err(failed(&what, e)),
                Err(why) => return Err(unanswered(&what, why)),
            }
        };
        let version = Arc::new(Mutex::new(written.metadata.resource_version));
        let lost = Arc::new(AtomicBool::new(false));
        let (lost_tx, _) = watch::channel(false);
        let lost_tx = Arc::new(lost_tx);
        let stop = Arc::new(Notify::new());
        let renewer = tokio::spawn(renew(Renewal {
            api: api.clone(),
            holder,
            version: version.clone(),
            lost: lost.clone(),
            lost_tx: lost_tx.clone(),
            stop: stop.clone(),
            written_at: Instant::now(),
        }));
        Ok(Lock { api, version, lost, lost_tx, stop, renewer })
    }

    /// Set when the lock is lost (renewals failed until others could take it, or another run
    /// holds it now): start nothing new, stop what runs.
    pub(crate) fn lost(&self) -> Arc<AtomicBool> {
        self.lost.clone()
    }

    /// Changes to `true` when the lock is lost.
    pub(crate) fn lost_signal(&self) -> watch::Receiver<bool> {
        self.lost_tx.subscribe()
    }

    /// Stops renewing (waiting for a renewal in flight, which is bounded by its timeout) and
    /// deletes the lease, unless another run has taken it over since.
    pub(crate) async fn release(mut self) {
        self.stop.notify_one();
        let _ = (&mut self.renewer).await;
        if self.lost.load(Ordering::SeqCst) {
            return; // not ours any more, or about to be taken over: leave it
        }
        let version = self.version.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let guard = DeleteParams {
            preconditions: Some(Preconditions { resource_version: version, uid: None }),
            ..DeleteParams::default()
        };
        match bounded(self.api.delete(LEASE_NAME, &guard)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                let why = super::sentence(&format!("delete the lock {LEASE_NAME}"), &e);
                tracing::warn!("{why} (it expires by itself)")
            }
            Err(why) => {
                tracing::warn!("could not delete the lock {LEASE_NAME} (it expires by itself): {why}")
            }
        }
    }
}

impl Drop for Lock {
    /// A lock dropped without `release` (a panic, an early return) stops renewing: it expires.
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

fn busy(namespace: &str, holder: &str) -> Error {
    Error::Preflight(format!(
        "namespace {namespace} is locked by {holder}: another panda-install run is in progress (it renews \
         the lock). Wait for it; a lock whose run died is taken over once it stayed unchanged for \
         {LEASE_SECONDS} s (kubectl -n {namespace} get lease {LEASE_NAME})"
    ))
}

struct Renewal {
    api: Api<Lease>,
    holder: String,
    version: Arc<Mutex<Option<String>>>,
    lost: Arc<AtomicBool>,
    lost_tx: Arc<watch::Sender<bool>>,
    stop: Arc<Notify>,
    /// When the request that wrote our current record was sent (our clock): others cannot see it
    /// expire before this plus the lease duration.
    written_at: Instant,
}

/// When the run must give the lock up if no renewal lands before: before others could take it.
fn give_up_at(written_at: Instant) -> Instant {
    written_at + LEASE - SAFETY
}

async fn renew_once(r: &Renewal) -> Result<(), String> {
    let mut current = bounded(r.api.get(LEASE_NAME))
        .await?
        .map_err(|e| super::sentence(&format!("read the lock {LEASE_NAME}"), &e))?;
    let spec = current.spec.as_mut().ok_or("the lease has no spec")?;
    if spec.holder_identity.as_deref() != Some(&r.holder) {
        return Err(format!("taken over by {:?}", spec.holder_identity));
    }
    spec.renew_time = Some(MicroTime(Timestamp::now()));
    let renewed = bounded(r.api.replace(LEASE_NAME, &PostParams::default(), &current))
        .await?
        .map_err(|e| super::sentence(&format!("renew the lock {LEASE_NAME}"), &e))?;
    *r.version.lock().unwrap_or_else(|p| p.into_inner()) = renewed.metadata.resource_version;
    Ok(())
}

async fn renew(mut r: Renewal) {
    let mut next = Instant::now() + RENEW_EVERY;
    loop {
        let deadline = give_up_at(r.written_at);
        tokio::select! {
            _ = r.stop.notified() => return,
            _ = tokio::time::sleep_until(next.min(deadline)) => {}
        }
        if Instant::now() >= deadline {
            lose(&r, &format!("no renewal succeeded for {} s", (LEASE - SAFETY).as_secs()));
            return;
        }
        let sent = Instant::now();
        // A renewal in flight finishes (bounded by its timeout) before a release goes on.
        let result = tokio::select! {
            result = renew_once(&r) => result,
            _ = tokio::time::sleep_until(deadline) => Err("the renewal did not finish in time".to_string()),
        };
        match result {
            Ok(()) => {
                r.written_at = sent;
                next = sent + RENEW_EVERY;
            }
            Err(why) if why.starts_with("taken over") => {
                lose(&r, &why);
                return;
            }
            Err(why) => {
                tracing::warn!("cannot renew the lock {LEASE_NAME}: {why}");
                next = Instant::now() + RETRY_EVERY;
            }
        }
    }
}

fn lose(r: &Renewal, why: &str) {
    // a closed stderr is ignored (eprintln! would panic)
    let _ =
        writeln!(std::io::stderr(), "panda-install: lost the lock {LEASE_NAME} ({why}): stopping the run");
    r.lost.store(true, Ordering::SeqCst);
    r.lost_tx.send_replace(true);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(holder: &str, version: &str) -> Record {
        Record {
            version: Some(version.into()),
            holder: Some(holder.into()),
            renewed: None,
            transitions: Some(0),
        }
    }

    #[test]
    fn a_lease_expires_after_its_duration_unchanged_on_our_clock() {
        let t0 = Instant::now();
        let d = Duration::from_secs(30);
        let mut o = Observer::default();
        assert_eq!(o.look(record("a", "1"), d, t0), Seen::Waiting);
        assert_eq!(o.look(record("a", "1"), d, t0 + Duration::from_secs(29)), Seen::Waiting);
        assert_eq!(o.look(record("a", "1"), d, t0 + Duration::from_secs(30)), Seen::Expired);
    }

    #[test]
    fn their_renew_time_is_never_compared_with_our_clock() {
        // a renewTime from long ago (a clock far behind ours) is still a live lease on first sight
        let t0 = Instant::now();
        let mut o = Observer::default();
        let mut old = record("a", "1");
        old.renewed = Some(Timestamp::from_second(0).unwrap());
        assert_eq!(o.look(old, Duration::from_secs(30), t0), Seen::Waiting);
    }

    #[test]
    fn a_changed_record_means_its_holder_renews() {
        let t0 = Instant::now();
        let d = Duration::from_secs(30);
        let mut o = Observer::default();
        assert_eq!(o.look(record("a", "1"), d, t0), Seen::Waiting);
        assert_eq!(o.look(record("a", "2"), d, t0 + Duration::from_secs(40)), Seen::Renewed);
        let mut free = Observer::default();
        assert_eq!(free.look(record("", "1"), d, t0), Seen::Free);
    }

    #[test]
    fn the_run_gives_up_before_others_could_take_over() {
        let t0 = Instant::now();
        assert!(give_up_at(t0) < t0 + LEASE);
        // a stalled renewal is cut off at the deadline: its timeout is shorter than the period
        assert!(REQUEST_TIMEOUT < RENEW_EVERY && RENEW_EVERY < LEASE - SAFETY);
        assert!(Lock::GRACE < Lock::ABANDON && Lock::ABANDON < SAFETY);
    }
}
