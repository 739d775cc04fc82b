//! Every exit code panda-install returns, in one place (README.md has the same table).

/// Everything asked for was done (for `diff`: nothing would change).
pub const SUCCESS: i32 = 0;
/// An unexpected internal error (a bug, or an I/O failure nothing else covers).
pub const INTERNAL: i32 = 1;
/// `diff` only: the install would change something.
pub const DIFF_CHANGES: i32 = 2;
/// Bad command line: unknown flag, component, sub-component or experiment, invalid affix.
pub const USAGE: i32 = 64;
/// Bad input data: a values or Chart.yaml file missing or malformed, a dependency cycle.
pub const DATA: i32 = 65;
/// helm not found, not runnable, or a version panda-install does not support.
pub const HELM_UNAVAILABLE: i32 = 69;
/// A helm release failed; releases of later tiers were not attempted.
pub const RELEASE_FAILED: i32 = 70;
/// A preflight check against the cluster failed before anything was changed.
pub const PREFLIGHT: i32 = 75;
/// Interrupted by SIGINT or SIGTERM; running helm processes were allowed to finish.
pub const INTERRUPTED: i32 = 130;
