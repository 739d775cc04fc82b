//! Every exit code panda-install returns, in one place (README.md has the same table).

/// Everything asked for was done (for `diff`: nothing would change; for `status`: all healthy).
pub(crate) const SUCCESS: i32 = 0;
/// An unexpected internal error (a bug, or an I/O failure nothing else covers).
pub(crate) const INTERNAL: i32 = 1;
/// `diff` only: the install would change something, or live objects drifted.
pub(crate) const DIFF_CHANGES: i32 = 2;
/// `status` only: a release is not installed, not `deployed`, or its objects are missing,
/// changed or not ready.
pub(crate) const UNHEALTHY: i32 = 3;
/// Bad command line: unknown flag (or one the command does not take), component, sub-component
/// or experiment; invalid affix, namespace or timeout; `--site` without a panda-site.yaml; `site
/// init` into the tool's own checkout.
pub(crate) const USAGE: i32 = 64;
/// Bad input data: a values, secrets or Chart.yaml file missing or malformed, a dependency cycle;
/// a sops-encrypted secrets file that cannot be decrypted (no key for it, or changed after it was
/// encrypted: its MAC does not match); a bad panda-site.yaml; `site init` over an existing site.
pub(crate) const DATA: i32 = 65;
/// A program panda-install needs is not found, not runnable, or a version it does not support:
/// helm (always), sops (for a sops-encrypted secrets file).
pub(crate) const TOOL_UNAVAILABLE: i32 = 69;
/// Refused to write plaintext secrets (`secrets init`, `import`) inside a git work tree at a path
/// git would track (not ignored, or already tracked); nothing was written.
pub(crate) const TRACKED_PLAINTEXT: i32 = 73;
/// A helm release failed; releases of later tiers were not attempted.
pub(crate) const RELEASE_FAILED: i32 = 70;
/// A check against the cluster (or a registry) failed, or its state could not be read, before
/// anything was changed (including the install's prerequisite checks); or the namespace lock was
/// lost during a run. `doctor` returns it when one of its checks fails or the cluster does not
/// answer: the same failures an install's preflight stops at.
pub(crate) const PREFLIGHT: i32 = 75;
/// Interrupted by SIGINT (Ctrl-C), at any stage; running helm processes were asked to cancel
/// and allowed to finish (a second signal kills them).
pub(crate) const INTERRUPTED: i32 = 130;
/// Ended by SIGHUP (the terminal or SSH session closed), handled like SIGINT.
pub(crate) const HANGUP: i32 = 129;
/// Ended by SIGTERM, handled like SIGINT.
pub(crate) const TERMINATED: i32 = 143;
