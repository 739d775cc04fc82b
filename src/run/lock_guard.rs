//! The one way a mutating command holds the namespace lock: taken before its first change,
//! renewed while it runs, released at its end. A lost lock stops the running children at once
//! (SIGTERM, then SIGKILL after [`Lock::GRACE`], before another run could take the lease over);
//! a guard dropped without `release` stops renewing (its stopper ends with the lock), so the
//! lease expires.

use super::interrupt::Interrupt;
use crate::error::{Error, Result};
use crate::kube::lock::Lock;
use crate::kube::Cluster;
use tokio::task::JoinHandle;

pub(crate) struct LockGuard {
    lock: Lock,
    interrupt: Interrupt,
    stopper: JoinHandle<()>,
}

impl LockGuard {
    /// Takes the lock of the cluster's namespace (see [`Lock::acquire`]).
    pub(crate) async fn take(cluster: &Cluster, interrupt: &Interrupt) -> Result<LockGuard> {
        let lock = Lock::acquire(cluster).await?;
        let mut lost = lock.lost_signal();
        let runner = interrupt.runner().clone();
        let stopper = tokio::spawn(async move {
            if lost.wait_for(|l| *l).await.is_ok() {
                runner.cancel_running();
                // the lease may be taken over soon: a child still running then is killed
                tokio::time::sleep(Lock::GRACE).await;
                runner.kill_running();
            }
        });
        Ok(LockGuard { interrupt: interrupt.with_lock(lock.lost()), lock, stopper })
    }

    /// The command's interrupt, raised also when the lock is lost.
    pub(crate) fn interrupt(&self) -> &Interrupt {
        &self.interrupt
    }

    /// Releases the lock (waiting for a renewal in flight). A run that lost it ends with
    /// [`Error::LockLost`] whatever `result` was.
    pub(crate) async fn release<T>(self, result: Result<T>) -> Result<T> {
        self.stopper.abort();
        let lost = self.interrupt.lock_lost();
        self.lock.release().await;
        if lost {
            return Err(lock_lost());
        }
        result
    }
}

/// The error of a run that lost the namespace lock.
pub(crate) fn lock_lost() -> Error {
    Error::LockLost(
        "lost the lock of the namespace (its renewals failed until another run could take it over): \
         the run was stopped; run the same command again (with --recover if a release was left pending)"
            .into(),
    )
}
