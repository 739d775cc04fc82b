//! Helm versions and the flags that differ between helm 3 and helm 4 (pure: no process is run here).

use crate::error::{Error, Result};
use std::fmt;

/// A helm version as `helm version --template '{{.Version}}'` prints it (v3.22.0, v4.3.1+gabc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct HelmVersion {
    pub(crate) major: u32,
    pub(crate) minor: u32,
    pub(crate) patch: u32,
}

impl HelmVersion {
    /// The version the plan assumes when no helm can be asked (dry runs only).
    pub(crate) const ASSUMED: HelmVersion = HelmVersion { major: 4, minor: 0, patch: 0 };

    pub(crate) fn parse(text: &str) -> Result<HelmVersion> {
        let bad = || Error::HelmUnavailable(format!("cannot understand helm's version {:?}", text.trim()));
        let core = text.trim().trim_start_matches('v');
        let core = core.split(['+', '-']).next().unwrap_or_default();
        let mut parts = core.split('.').map(|p| p.parse::<u32>());
        let major = parts.next().ok_or_else(bad)?.map_err(|_| bad())?;
        let minor = parts.next().unwrap_or(Ok(0)).map_err(|_| bad())?;
        let patch = parts.next().unwrap_or(Ok(0)).map_err(|_| bad())?;
        Ok(HelmVersion { major, minor, patch })
    }

    /// helm 4 is the primary target; helm 3 from 3.15 (for `--hide-secret`) keeps working.
    pub(crate) fn check_supported(self) -> Result<HelmVersion> {
        match (self.major, self.minor) {
            (4, _) => Ok(self),
            (3, m) if m >= 15 => Ok(self),
            _ => Err(Error::HelmUnavailable(format!(
                "helm {self} is not supported: use helm 4, or helm 3.15 or newer"
            ))),
        }
    }

    /// Flags that make an install or upgrade wait for readiness.
    pub(crate) fn wait_flags(self) -> Vec<String> {
        if self.major >= 4 {
            // helm 4's plain --wait means the kstatus watcher; say it explicitly.
            vec!["--wait=watcher".into()]
        } else {
            vec!["--wait".into()]
        }
    }

    /// The flag that rolls a failed install or upgrade back.
    /// helm 4 and helm 3.17+ take objects over with `--take-ownership`.
    pub(crate) fn takes_ownership(self) -> bool {
        self.major >= 4 || (self.major == 3 && self.minor >= 17)
    }

    pub(crate) fn rollback_on_failure_flag(self) -> &'static str {
        if self.major >= 4 {
            "--rollback-on-failure"
        } else {
            "--atomic"
        }
    }
}

impl serde::Serialize for HelmVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for HelmVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_helm_prints() {
        assert_eq!(HelmVersion::parse("v4.3.1").unwrap(), HelmVersion { major: 4, minor: 3, patch: 1 });
        assert_eq!(HelmVersion::parse("v3.22.0+g1234\n").unwrap().minor, 22);
        assert_eq!(HelmVersion::parse("v4.2").unwrap().patch, 0);
        assert!(HelmVersion::parse("garbage").is_err());
    }

    #[test]
    fn flag_mapping_differs_by_major() {
        let v3 = HelmVersion::parse("v3.22.0").unwrap();
        let v4 = HelmVersion::parse("v4.3.1").unwrap();
        assert_eq!(v3.wait_flags(), vec!["--wait"]);
        assert_eq!(v4.wait_flags(), vec!["--wait=watcher"]);
        assert_eq!(v3.rollback_on_failure_flag(), "--atomic");
        assert_eq!(v4.rollback_on_failure_flag(), "--rollback-on-failure");
    }

    #[test]
    fn old_helm_is_refused() {
        assert!(HelmVersion::parse("v2.17.0").unwrap().check_supported().is_err());
        assert!(HelmVersion::parse("v3.10.0").unwrap().check_supported().is_err());
        assert!(HelmVersion::parse("v3.22.0").unwrap().check_supported().is_ok());
        assert!(HelmVersion::parse("v4.0.0").unwrap().check_supported().is_ok());
    }
}
