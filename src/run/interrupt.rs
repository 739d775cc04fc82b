//! Why a run must start nothing new: SIGINT, SIGTERM or SIGHUP, or the namespace lock lost.
//! The first signal stops what runs (each child is asked to cancel itself); a second one kills
//! the children and ends the process at once.

use crate::exit_code;
use crate::process::Runner;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
pub(crate) struct Interrupt {
    /// The number of the first signal received (0: none).
    signal: Arc<AtomicI32>,
    lock_lost: Option<Arc<AtomicBool>>,
    runner: Runner,
}

/// The exit code of a run ended by signal `signo`: 128 + its number (130 SIGINT, 129 SIGHUP,
/// 143 SIGTERM).
pub(crate) fn exit_code_of(signo: i32) -> i32 {
    match signo {
        libc::SIGHUP => exit_code::HANGUP,
        libc::SIGTERM => exit_code::TERMINATED,
        _ => exit_code::INTERRUPTED,
    }
}

impl Interrupt {
    /// Watches for SIGINT, SIGTERM and SIGHUP (a closed terminal): on the first, nothing new
    /// starts and running children are asked to cancel themselves; on a second, the children are
    /// killed and the process exits at once.
    pub(crate) fn watch_signals(runner: Runner) -> Interrupt {
        let interrupt = Interrupt { runner: runner.clone(), ..Interrupt::default() };
        let first = interrupt.signal.clone();
        tokio::spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
            ) else {
                return;
            };
            loop {
                let signo = tokio::select! {
                    _ = int.recv() => libc::SIGINT,
                    _ = term.recv() => libc::SIGTERM,
                    _ = hup.recv() => libc::SIGHUP,
                };
                let before = first.compare_exchange(0, signo, Ordering::SeqCst, Ordering::SeqCst);
                if let Err(earlier) = before {
                    crate::output::note("panda-install: interrupted again: killing running commands");
                    runner.kill_running();
                    std::process::exit(exit_code_of(earlier));
                }
                crate::output::note(
                    "panda-install: interrupted: starting nothing new, waiting for running commands to finish \
                     (interrupt again to kill them)",
                );
                runner.cancel_running();
            }
        });
        interrupt
    }

    /// The same interrupt, also raised when the lock is lost.
    pub(crate) fn with_lock(&self, lost: Arc<AtomicBool>) -> Interrupt {
        Interrupt { lock_lost: Some(lost), ..self.clone() }
    }

    /// The runner whose children an interrupt reaches.
    pub(crate) fn runner(&self) -> &Runner {
        &self.runner
    }

    pub(crate) fn signalled(&self) -> bool {
        self.signal.load(Ordering::SeqCst) != 0
    }

    /// The exit code for the signal received, if one was.
    pub(crate) fn exit_code(&self) -> Option<i32> {
        let signo = self.signal.load(Ordering::SeqCst);
        (signo != 0).then(|| exit_code_of(signo))
    }

    pub(crate) fn lock_lost(&self) -> bool {
        self.lock_lost.as_ref().is_some_and(|l| l.load(Ordering::SeqCst))
    }

    /// Start nothing new.
    pub(crate) fn raised(&self) -> bool {
        self.signalled() || self.lock_lost()
    }
}
