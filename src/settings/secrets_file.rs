//! The secrets values file (`--secrets FILE`, `secrets deploy -f FILE`): read once into memory;
//! the affix, `cric.real` and the FIXME check are answered from there. Its values are never
//! printed.
//!
//! A file with a top-level `sops` key is sops-encrypted. Reading it here only detects that; the
//! command decrypts it with sops (into memory, never into a file) and builds the file from the
//! decrypted document with [`SecretsFile::from_decrypted`], which helm then reads on its standard
//! input.

use super::affix::Affix;
use super::yaml;
use crate::error::{Error, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The top-level key sops keeps its metadata under (recipients, MAC, version).
const SOPS_METADATA: &str = "sops";

#[derive(Clone)]
pub(crate) struct SecretsFile {
    pub(crate) path: PathBuf,
    values: Value,
    /// The decrypted document of a sops-encrypted file; `None` for a plain file (helm reads it).
    decrypted: Option<Decrypted>,
}

/// A decrypted document, held in memory only; it never shows in debug output.
#[derive(Clone)]
pub(crate) struct Decrypted(Arc<str>);

impl Decrypted {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    #[cfg(test)]
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decrypted(<redacted>)")
    }
}

impl std::fmt::Debug for SecretsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsFile")
            .field("path", &self.path)
            .field("encrypted", &self.decrypted.is_some())
            .finish_non_exhaustive()
    }
}

/// What reading a secrets values file found.
#[derive(Debug)]
pub(crate) enum Read {
    Plain(SecretsFile),
    /// sops-encrypted: decrypt it, then [`SecretsFile::from_decrypted`].
    Encrypted(PathBuf),
}

/// Whether a parsed values document is sops-encrypted (it carries sops's metadata key, which no
/// secrets values file may have: the chart's schema refuses unknown top-level keys).
pub(crate) fn is_encrypted(values: &Value) -> bool {
    values.get(SOPS_METADATA).is_some()
}

impl SecretsFile {
    /// Reads and parses `path`, telling a plain file from a sops-encrypted one.
    pub(crate) fn read(path: &Path) -> Result<Read> {
        let values = yaml::load_mapping(path)?;
        if is_encrypted(&values) {
            return Ok(Read::Encrypted(path.to_path_buf()));
        }
        Ok(Read::Plain(SecretsFile { path: path.to_path_buf(), values, decrypted: None }))
    }

    /// A plain file (the bundled values, tests); an encrypted one is refused.
    pub(crate) fn load(path: &Path) -> Result<SecretsFile> {
        match SecretsFile::read(path)? {
            Read::Plain(f) => Ok(f),
            Read::Encrypted(p) => Err(Error::data(p, "is sops-encrypted, which is not accepted here")),
        }
    }

    /// The file from the document sops decrypted from `path`.
    pub(crate) fn from_decrypted(path: &Path, text: String) -> Result<SecretsFile> {
        let values = yaml::mapping(yaml::parse(&text, path)?, path)?;
        if is_encrypted(&values) {
            return Err(Error::data(path, "still carries sops metadata after decryption (encrypted twice?)"));
        }
        Ok(SecretsFile { path: path.to_path_buf(), values, decrypted: Some(Decrypted(text.into())) })
    }

    /// Whether the file on disk is sops-encrypted (helm then gets [`Self::decrypted`] on stdin).
    pub(crate) fn is_encrypted(&self) -> bool {
        self.decrypted.is_some()
    }

    /// The decrypted document of an encrypted file.
    pub(crate) fn decrypted(&self) -> Option<&Decrypted> {
        self.decrypted.as_ref()
    }

    /// The values (never to be printed).
    pub(crate) fn values(&self) -> &Value {
        &self.values
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
    fn sops_metadata_marks_a_file_encrypted_and_decrypted_text_stays_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.enc.yaml");
        std::fs::write(&path, "affix: ENC[AES256_GCM,data:x]\nsops:\n  mac: ENC[x]\n").unwrap();
        assert!(matches!(SecretsFile::read(&path).unwrap(), Read::Encrypted(p) if p == path));
        assert_eq!(SecretsFile::load(&path).unwrap_err().exit_code(), crate::exit_code::DATA);
        let f = SecretsFile::from_decrypted(&path, "affix: prod-\nmsgsvc:\n  basePassword: CANARY\n".into())
            .unwrap();
        assert!(f.is_encrypted());
        assert_eq!(f.affix().unwrap().unwrap().as_str(), "prod-");
        assert!(f.decrypted().unwrap().as_str().contains("CANARY"));
        let shown = format!("{f:?} {:?}", f.decrypted());
        assert!(!shown.contains("CANARY") && shown.contains("s.enc.yaml"), "{shown}");
        let twice = SecretsFile::from_decrypted(&path, "sops: {}\n".into()).unwrap_err();
        assert!(twice.to_string().contains("encrypted twice"), "{twice}");
        let (_d, plain) = file("affix: test-\n");
        assert!(!plain.is_encrypted() && plain.decrypted().is_none());
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
