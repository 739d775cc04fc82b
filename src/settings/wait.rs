//! `--timeout` and `--no-wait`, checked: a Go duration helm accepts, and whether helm waits.

use crate::cli::args::WaitArgs;
use crate::error::{Error, Result};

pub(crate) const DEFAULT_TIMEOUT: &str = "10m";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Wait {
    /// Wait for readiness (install) or disappearance (uninstall) before the next tier.
    #[serde(rename = "wait")]
    pub(crate) enabled: bool,
    /// A Go duration (`300s`, `10m`, `1h30m`).
    pub(crate) timeout: String,
}

impl Default for Wait {
    fn default() -> Wait {
        Wait { enabled: true, timeout: DEFAULT_TIMEOUT.into() }
    }
}

impl Wait {
    pub(crate) fn resolve(args: &WaitArgs) -> Result<Wait> {
        let timeout = args.timeout.clone().unwrap_or_else(|| DEFAULT_TIMEOUT.into());
        check_duration(&timeout)?;
        Ok(Wait { enabled: !args.no_wait, timeout })
    }
}

/// Accepts what Go's time.ParseDuration accepts for whole units: 90s, 10m, 1h30m.
fn check_duration(text: &str) -> Result<()> {
    let bad = || Error::usage(format!("--timeout {text:?}: expected a duration like 300s, 10m or 1h30m"));
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return Err(bad());
        }
        rest = &rest[digits..];
        let unit = ["ms", "h", "m", "s"].into_iter().find(|u| rest.starts_with(u)).ok_or_else(bad)?;
        rest = &rest[unit.len()..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for good in ["300s", "10m", "1h30m", "500ms"] {
            assert!(check_duration(good).is_ok(), "{good}");
        }
        for bad in ["", "10", "ten", "5d", "m"] {
            assert!(check_duration(bad).is_err(), "{bad}");
        }
        let w = Wait::resolve(&WaitArgs { timeout: None, no_wait: true }).unwrap();
        assert_eq!((w.enabled, w.timeout.as_str()), (false, "10m"));
    }
}
