//! The one way a mutating command holds the namespace lock: taken before its first change,
//! renewed while it runs, released at its end. A lost lock stops the running children at once
//! (SIGTERM, then SIGKILL after [`Lock::GRACE`], before another run could take the lease over);
//! the command's work under the lock ([`LockGuard::bound`]) is dropped [`Lock::ABANDON`] after
//! the loss, whatever it waits for; a guard dropped without `release` stops renewing (its stopper
//! ends with the lock), so the lease expires.

use super::interrupt::Interrupt;
use crate::error::{Error, Result};
use crate::kube::lock::Lock;
use crate::kube::Cluster;
use std::future::Future;
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

    /// Runs `work` (the command's steps under the lock). When the lock is lost, `work` has
    /// [`Lock::ABANDON`] to notice and end (its children are stopped meanwhile); then it is
    /// dropped (an API request of a connection stalled with the renewals is abandoned) and the
    /// result is [`Error::LockLost`].
    pub(crate) async fn bound<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        let mut lost = self.lock.lost_signal();
        let abandoned = async move {
            if lost.wait_for(|l| *l).await.is_err() {
                std::future::pending::<()>().await; // the lock is gone: nothing can be lost
            }
            tokio::time::sleep(Lock::ABANDON).await;
        };
        tokio::select! {
            result = work => result,
            () = abandoned => {
                tracing::warn!("the run's remaining work was abandoned {} s after the lock was lost", Lock::ABANDON.as_secs());
                Err(lock_lost())
            }
        }
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
