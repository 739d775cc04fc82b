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

impl Wait {
    /// The timeout as a duration (checked when resolved; the default if it does not parse).
    pub(crate) fn duration(&self) -> std::time::Duration {
        let mut total = std::time::Duration::ZERO;
        let mut rest = self.timeout.as_str();
        while !rest.is_empty() {
            let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
            let n: u64 = rest[..digits].parse().unwrap_or(0);
            rest = &rest[digits..];
            let (unit, millis) = [("ms", 1), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
                .into_iter()
                .find(|(u, _)| rest.starts_with(u))
                .unwrap_or(("", 0));
            if unit.is_empty() {
                return std::time::Duration::from_secs(600);
            }
            rest = &rest[unit.len()..];
            total += std::time::Duration::from_millis(n * millis);
        }
        total
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
        let w = Wait::resolve(&WaitArgs { timeout: Some("1h2m3s".into()), no_wait: false }).unwrap();
        assert_eq!(w.duration(), std::time::Duration::from_secs(3723));
    }
}
