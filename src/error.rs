//! Typed errors of panda-install, each mapped to its documented exit code.

use crate::exit_code;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),

    #[error("{path}: {message}")]
    Data { path: PathBuf, message: String },

    #[error("{0}")]
    Graph(String),

    #[error("{0}")]
    HelmUnavailable(String),

    #[error("{0}")]
    ReleaseFailed(String),

    #[error("{0}")]
    Preflight(String),

    #[error("interrupted")]
    Interrupted,

    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage(message.into())
    }

    pub fn data(path: impl Into<PathBuf>, message: impl Into<String>) -> Error {
        Error::Data { path: path.into(), message: message.into() }
    }

    /// The process exit code this error ends the run with.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => exit_code::USAGE,
            Error::Data { .. } | Error::Graph(_) => exit_code::DATA,
            Error::HelmUnavailable(_) => exit_code::HELM_UNAVAILABLE,
            Error::ReleaseFailed(_) => exit_code::RELEASE_FAILED,
            Error::Preflight(_) => exit_code::PREFLIGHT,
            Error::Interrupted => exit_code::INTERRUPTED,
            Error::Internal(_) => exit_code::INTERNAL,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_nonzero_code() {
        let errors = [
            Error::usage("x"),
            Error::data("f", "x"),
            Error::HelmUnavailable("x".into()),
            Error::ReleaseFailed("x".into()),
            Error::Preflight("x".into()),
            Error::Interrupted,
            Error::Internal(anyhow::anyhow!("x")),
        ];
        let mut codes: Vec<i32> = errors.iter().map(Error::exit_code).collect();
        assert!(codes.iter().all(|c| *c != 0));
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), errors.len());
        assert_eq!(Error::Graph("x".into()).exit_code(), exit_code::DATA);
    }
}
