//! The instance affix (`blah-` prefix or `-blah` suffix) and the release names it produces.

use std::fmt;

/// The affix used when neither `--affix` nor the secrets values file gives one.
pub const DEFAULT_AFFIX: &str = "test-";

/// Longest Helm release name (Helm limits release names to 53 characters).
const MAX_RELEASE_NAME: usize = 53;

/// A validated affix: empty, a prefix ending in `-`, or a suffix starting with `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affix(String);

impl Affix {
    /// Validates an affix as typed by the user or read from a file; `Err` says why it is rejected.
    pub fn parse(raw: &str) -> Result<Affix, String> {
        if raw.is_empty() {
            return Ok(Affix(String::new()));
        }
        let core = if let Some(stripped) = raw.strip_suffix('-') {
            stripped
        } else if let Some(stripped) = raw.strip_prefix('-') {
            stripped
        } else {
            return Err(format!(
                "affix {raw:?} is neither a prefix ending in '-' (like \"{raw}-\") nor a suffix starting with '-' (like \"-{raw}\")"
            ));
        };
        if core.is_empty() {
            return Err("affix \"-\" has no name in it".to_string());
        }
        if let Some(bad) = core.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
            return Err(format!(
                "affix {raw:?} contains {bad:?}: release and Service names must be DNS-1123 labels (lower-case letters, digits and '-')"
            ));
        }
        let affix = Affix(raw.to_string());
        // The longest name it will ever form must still be a valid release name.
        let longest = affix.apply("harvester");
        if longest.len() > MAX_RELEASE_NAME {
            return Err(format!(
                "affix {raw:?} is too long: release {longest:?} would exceed {MAX_RELEASE_NAME} characters"
            ));
        }
        if core.starts_with('-') || core.ends_with('-') {
            return Err(format!(
                "affix {raw:?} has a doubled or dangling '-': it would form names like {longest:?}"
            ));
        }
        Ok(affix)
    }

    /// `blah-` + name, name + `-blah`, or the bare name.
    pub fn apply(&self, name: &str) -> String {
        if self.0.ends_with('-') {
            format!("{}{}", self.0, name)
        } else {
            format!("{}{}", name, self.0)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Affix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_suffix_and_empty() {
        assert_eq!(Affix::parse("blah-").unwrap().apply("panda"), "blah-panda");
        assert_eq!(Affix::parse("-blah").unwrap().apply("panda"), "panda-blah");
        assert_eq!(Affix::parse("").unwrap().apply("panda"), "panda");
        assert_eq!(Affix::parse(DEFAULT_AFFIX).unwrap().apply("idds"), "test-idds");
    }

    #[test]
    fn rejects_what_is_neither() {
        let err = Affix::parse("blah").unwrap_err();
        assert!(err.contains("neither a prefix"), "{err}");
        assert!(Affix::parse("-").is_err());
        assert!(Affix::parse("Blah-").unwrap_err().contains("'B'"));
        assert!(Affix::parse("bl_ah-").unwrap_err().contains("'_'"));
        assert!(Affix::parse("a.b-").is_err());
    }

    #[test]
    fn rejects_names_too_long() {
        let long = format!("{}-", "x".repeat(50));
        assert!(Affix::parse(&long).unwrap_err().contains("too long"));
    }

    #[test]
    fn rejects_double_dash_forms() {
        assert!(Affix::parse("--").is_err());
        assert!(Affix::parse("a--").is_err());
    }
}
