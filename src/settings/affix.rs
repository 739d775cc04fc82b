//! The instance affix (`blah-` prefix or `-blah` suffix) and the release names it produces.
//!
//! One rule, the same as the secrets chart's `templates/validate.yaml`: empty; or a prefix that
//! starts with a letter and ends in `-`; or a suffix that starts with `-` followed by a letter or
//! digit; lower-case letters, digits and `-` only, the last character before/after the dash a
//! letter or digit; at most [`MAX_LEN`] characters. `tests/data/affix-cases.txt` holds the table
//! both the CLI and the chart are tested with.

use std::fmt;

/// The affix used when neither `--affix` nor the secrets values file gives one.
pub(crate) const DEFAULT_AFFIX: &str = "test-";

/// Longest affix: every derived release (≤ 53) and object name (≤ 63) stays within its limit.
pub(crate) const MAX_LEN: usize = 30;

/// A validated affix: empty, a prefix ending in `-`, or a suffix starting with `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Affix(String);

impl Affix {
    /// Validates an affix as typed by the user or read from a file; `Err` says why it is rejected.
    pub(crate) fn parse(raw: &str) -> Result<Affix, String> {
        if raw.is_empty() {
            return Ok(Affix(String::new()));
        }
        if raw.len() > MAX_LEN {
            return Err(format!(
                "affix {raw:?} is {} characters long; at most {MAX_LEN} keep every derived release and object name within Kubernetes' limits",
                raw.len()
            ));
        }
        let (core, prefix) = if let Some(core) = raw.strip_suffix('-').filter(|_| !raw.starts_with('-')) {
            (core, true)
        } else if let Some(core) = raw.strip_prefix('-') {
            (core, false)
        } else {
            return Err(format!(
                "affix {raw:?} is neither a prefix ending in '-' (like \"{raw}-\") nor a suffix starting with '-' (like \"-{raw}\")"
            ));
        };
        if let Some(bad) = core.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(format!(
                "affix {raw:?} contains {bad:?}: release and Service names must be DNS-1123 labels (lower-case letters, digits and '-')"
            ));
        }
        let first_ok = match core.chars().next() {
            None => return Err(format!("affix {raw:?} has no name in it")),
            Some(c) if prefix => c.is_ascii_lowercase(),
            Some(c) => c.is_ascii_alphanumeric(),
        };
        if !first_ok {
            return Err(format!(
                "affix {raw:?} must start with a letter (names formed with it must start with one)"
            ));
        }
        if core.ends_with('-') || core.starts_with('-') {
            return Err(format!("affix {raw:?} has a doubled or dangling '-'"));
        }
        Ok(Affix(raw.to_string()))
    }

    /// `blah-` + name, name + `-blah`, or the bare name.
    pub(crate) fn apply(&self, name: &str) -> String {
        if self.0.starts_with('-') {
            format!("{}{}", name, self.0)
        } else {
            format!("{}{}", self.0, name)
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Affix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The shared table of affix cases: `(affix, valid)`, read from tests/data/affix-cases.txt.
#[cfg(test)]
pub(crate) fn cases() -> Vec<(String, bool)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/affix-cases.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (verdict, affix) = l.split_once(' ').unwrap_or((l, ""));
            let affix = affix.trim().trim_matches('"').to_string();
            (affix, verdict == "valid")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_table_of_cases_holds() {
        let cases = cases();
        assert!(cases.len() >= 20 && cases.iter().any(|c| c.1) && cases.iter().any(|c| !c.1));
        for (affix, valid) in cases {
            assert_eq!(Affix::parse(&affix).is_ok(), valid, "affix {affix:?}: {:?}", Affix::parse(&affix));
        }
    }

    #[test]
    fn prefix_suffix_and_empty() {
        assert_eq!(Affix::parse("blah-").unwrap().apply("panda"), "blah-panda");
        assert_eq!(Affix::parse("-blah").unwrap().apply("panda"), "panda-blah");
        assert_eq!(Affix::parse("").unwrap().apply("panda"), "panda");
        assert_eq!(Affix::parse(DEFAULT_AFFIX).unwrap().apply("idds"), "test-idds");
    }

    #[test]
    fn messages_say_why() {
        assert!(Affix::parse("blah").unwrap_err().contains("neither a prefix"));
        assert!(Affix::parse("Blah-").unwrap_err().contains("'B'"));
        assert!(Affix::parse("9x-").unwrap_err().contains("start with a letter"));
        assert!(Affix::parse(&format!("{}-", "x".repeat(30))).unwrap_err().contains("at most 30"));
    }
}
