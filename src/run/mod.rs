//! Execution: the preflight, the decision per release (install, upgrade, repair or leave alone),
//! the tier-by-tier run with progress and interrupts, and the report. helm runs through
//! [`crate::helm`], the cluster is read through [`crate::kube`].

pub(crate) mod adopt;
pub(crate) mod checks;
pub(crate) mod convergence;
pub(crate) mod executor;
pub(crate) mod flux;
pub(crate) mod interrupt;
pub(crate) mod lock_guard;
pub(crate) mod manifests;
pub(crate) mod preflight;
pub(crate) mod progress;
pub(crate) mod render;
pub(crate) mod report;
pub(crate) mod upgrade;
