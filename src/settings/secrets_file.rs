//! The secrets values file (`--secrets FILE`, `secrets deploy -f FILE`): read once into memory;
//! the affix, `cric.real` and the FIXME check are answered from there. Its values are never
//! printed.

use super::affix::Affix;
use super::yaml;
use crate::error::{Error, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub(crate) struct SecretsFile {
    pub(crate) path: PathBuf,
    values: Value,
}

impl SecretsFile {
    pub(crate) fn load(path: &Path) -> Result<SecretsFile> {
        Ok(SecretsFile { path: path.to_path_buf(), values: yaml::load_mapping(path)? })
    }

    /// `affix` of the file, if it sets one.
    pub(crate) fn affix(&self) -> Result<Option<Affix>> {
        match self.values.get("affix") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(raw)) => {
                Affix::parse(raw).map(Some).map_err(|m| Error::data(&self.path, format!("affix: {m}")))
            }
            Some(other) => Err(Error::data(&self.path, format!("affix must be a string, found {other}"))),
        }
    }

    /// `cric.real` (true when absent, as in the secrets chart).
    pub(crate) fn cric_real(&self) -> Result<bool> {
        match self.values.get("cric").and_then(|c| c.get("real")) {
            None | Some(Value::Null) => Ok(true),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => {
                Err(Error::data(&self.path, format!("cric.real must be true or false, found {other}")))
            }
        }
    }

    /// Refuses the file while a value is still `FIXME`, naming the paths (never the values).
    pub(crate) fn refuse_fixme(&self) -> Result<()> {
        refuse_fixme(&self.values, &self.path.display().to_string())
    }
}

/// A preflight error listing every FIXME left in `values`.
pub(crate) fn refuse_fixme(values: &Value, what: &str) -> Result<()> {
    let paths = yaml::fixme_paths(values);
    if paths.is_empty() {
        return Ok(());
    }
    Err(Error::Preflight(format!(
        "{what} still has FIXME at: {} (fill them in, e.g. with `panda-install secrets init`)",
        paths.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, SecretsFile) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(&path, text).unwrap();
        let f = SecretsFile::load(&path).unwrap();
        (dir, f)
    }

    #[test]
    fn affix_cric_and_fixme() {
        let (_d, f) = file("# c\naffix: \"-prod\" # x\ncric:\n  real: false\n");
        assert_eq!(f.affix().unwrap().unwrap().as_str(), "-prod");
        assert!(!f.cric_real().unwrap());
        assert!(f.refuse_fixme().is_ok());
        let (_d, f) = file("affix: ~\nmsgsvc:\n  basePassword: FIXME\n");
        assert!(f.affix().unwrap().is_none() && f.cric_real().unwrap());
        let err = f.refuse_fixme().unwrap_err().to_string();
        assert!(err.contains("msgsvc.basePassword") && err.contains("s.yaml"), "{err}");
        let (_d, f) = file("affix: blah\n");
        assert_eq!(f.affix().unwrap_err().exit_code(), crate::exit_code::DATA);
        let (_d, f) = file("cric:\n  real: maybe\n");
        assert!(f.cric_real().is_err());
    }
}
