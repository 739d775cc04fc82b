//! Typed errors of panda-install, each mapped to its documented exit code in one place.

use crate::exit_code;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// A bad command line (names the flag and the value).
    #[error("{0}")]
    Usage(String),

    /// A file missing or malformed (names the file, and the line when there is one).
    #[error("{path}: {message}")]
    Data { path: PathBuf, message: String },

    /// The component graph of the charts is broken (a cycle, an unknown edge).
    #[error("{0}")]
    Graph(String),

    #[error("{0}")]
    HelmUnavailable(String),

    /// sops is needed (an encrypted secrets file) but missing, not runnable or too old.
    #[error("{0}")]
    SopsUnavailable(String),

    #[error("{0}")]
    ReleaseFailed(String),

    /// Plaintext secrets would land where git tracks them (names the files and the ways out).
    #[error("{0}")]
    TrackedPlaintext(String),

    /// A check before any change failed, or cluster state could not be read.
    #[error("{0}")]
    Preflight(String),

    /// The namespace lock was lost during the run (its renewals failed): the run was stopped.
    #[error("{0}")]
    LockLost(String),

    #[error("interrupted")]
    Interrupted,

    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub(crate) fn usage(message: impl Into<String>) -> Error {
        Error::Usage(message.into())
    }

    pub(crate) fn data(path: impl Into<PathBuf>, message: impl Into<String>) -> Error {
        Error::Data { path: path.into(), message: message.into() }
    }

    /// The same error again (for results shared by several readers): same variant and message.
    pub(crate) fn duplicate(&self) -> Error {
        match self {
            Error::Usage(m) => Error::Usage(m.clone()),
            Error::Data { path, message } => Error::Data { path: path.clone(), message: message.clone() },
            Error::Graph(m) => Error::Graph(m.clone()),
            Error::HelmUnavailable(m) => Error::HelmUnavailable(m.clone()),
            Error::SopsUnavailable(m) => Error::SopsUnavailable(m.clone()),
            Error::ReleaseFailed(m) => Error::ReleaseFailed(m.clone()),
            Error::TrackedPlaintext(m) => Error::TrackedPlaintext(m.clone()),
            Error::Preflight(m) => Error::Preflight(m.clone()),
            Error::LockLost(m) => Error::LockLost(m.clone()),
            Error::Interrupted => Error::Interrupted,
            Error::Internal(e) => Error::Internal(anyhow::anyhow!("{e:#}")),
        }
    }

    /// The process exit code this error ends the run with.
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => exit_code::USAGE,
            Error::Data { .. } | Error::Graph(_) => exit_code::DATA,
            Error::HelmUnavailable(_) | Error::SopsUnavailable(_) => exit_code::TOOL_UNAVAILABLE,
            Error::ReleaseFailed(_) => exit_code::RELEASE_FAILED,
            Error::TrackedPlaintext(_) => exit_code::TRACKED_PLAINTEXT,
            Error::Preflight(_) | Error::LockLost(_) => exit_code::PREFLIGHT,
            Error::Interrupted => exit_code::INTERRUPTED,
            Error::Internal(_) => exit_code::INTERNAL,
        }
    }
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant, by an exhaustive match: a new variant does not compile until it is here.
    fn example(e: &Error) -> Error {
        match e {
            Error::Usage(_) => Error::usage("x"),
            Error::Data { .. } => Error::data("f", "x"),
            Error::Graph(_) => Error::Graph("x".into()),
            Error::HelmUnavailable(_) => Error::HelmUnavailable("x".into()),
            Error::SopsUnavailable(_) => Error::SopsUnavailable("x".into()),
            Error::ReleaseFailed(_) => Error::ReleaseFailed("x".into()),
            Error::TrackedPlaintext(_) => Error::TrackedPlaintext("x".into()),
            Error::Preflight(_) => Error::Preflight("x".into()),
            Error::LockLost(_) => Error::LockLost("x".into()),
            Error::Interrupted => Error::Interrupted,
            Error::Internal(_) => Error::Internal(anyhow::anyhow!("x")),
        }
    }

    #[test]
    fn every_kind_has_a_documented_nonzero_code() {
        let all = [
            Error::usage(""),
            Error::data("", ""),
            Error::Graph(String::new()),
            Error::HelmUnavailable(String::new()),
            Error::SopsUnavailable(String::new()),
            Error::ReleaseFailed(String::new()),
            Error::TrackedPlaintext(String::new()),
            Error::Preflight(String::new()),
            Error::LockLost(String::new()),
            Error::Interrupted,
            Error::Internal(anyhow::anyhow!("")),
        ];
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        for e in &all {
            assert_eq!(e.duplicate().exit_code(), e.exit_code());
            assert_eq!(e.duplicate().to_string(), e.to_string());
            let code = example(e).exit_code();
            assert_ne!(code, 0);
            assert!(readme.contains(&format!("| {code} |")), "exit code {code} is not in README.md's table");
        }
    }
}
