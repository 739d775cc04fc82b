//! Why a run must start nothing new: SIGINT/SIGTERM, or the namespace lock lost.

use crate::process::Runner;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
pub(crate) struct Interrupt {
    signalled: Arc<AtomicBool>,
    lock_lost: Option<Arc<AtomicBool>>,
}

impl Interrupt {
    /// Watches for SIGINT and SIGTERM: on either, nothing new starts and running children are asked
    /// to cancel themselves.
    pub(crate) fn watch_signals(runner: Runner) -> Interrupt {
        let interrupt = Interrupt::default();
        let flag = interrupt.signalled.clone();
        tokio::spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut int), Ok(mut term)) =
                (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
            else {
                return;
            };
            loop {
                tokio::select! {
                    _ = int.recv() => {},
                    _ = term.recv() => {},
                }
                crate::output::note(
                    "panda-install: interrupted: starting nothing new, waiting for running commands to finish",
                );
                flag.store(true, Ordering::SeqCst);
                runner.cancel_running();
            }
        });
        interrupt
    }

    /// The same interrupt, also raised when the lock is lost.
    pub(crate) fn with_lock(&self, lost: Arc<AtomicBool>) -> Interrupt {
        Interrupt { signalled: self.signalled.clone(), lock_lost: Some(lost) }
    }

    pub(crate) fn signalled(&self) -> bool {
        self.signalled.load(Ordering::SeqCst)
    }

    pub(crate) fn lock_lost(&self) -> bool {
        self.lock_lost.as_ref().is_some_and(|l| l.load(Ordering::SeqCst))
    }

    /// Start nothing new.
    pub(crate) fn raised(&self) -> bool {
        self.signalled() || self.lock_lost()
    }
}
