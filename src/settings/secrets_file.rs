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

    /// The values helm will use: the secrets chart's defaults (its `values.yaml` in `chart`) with
    /// the file merged over them, as helm coalesces them.
    pub(crate) fn merged(&self, chart: &Path) -> Result<Value> {
        let mut merged = yaml::load_mapping(&chart.join("values.yaml"))?;
        yaml::merge(&mut merged, &self.values);
        Ok(merged)
    }

    /// Refuses the file while a value helm would use is still `FIXME` (one the file sets, or a
    /// chart default it leaves out), naming the keys (never the values).
    pub(crate) fn refuse_fixme(&self, chart: &Path) -> Result<()> {
        let left = yaml::fixme_paths(&self.merged(chart)?);
        if left.is_empty() {
            return Ok(());
        }
        let set = yaml::fixme_paths(&self.values);
        let (in_file, defaults): (Vec<String>, Vec<String>) = left.into_iter().partition(|p| set.contains(p));
        let mut parts = Vec::new();
        if !in_file.is_empty() {
            parts.push(in_file.join(", "));
        }
        if !defaults.is_empty() {
            parts.push(format!(
                "{} (left out of the file, so the chart's default FIXME would be deployed)",
                defaults.join(", ")
            ));
        }
        Err(Error::Preflight(format!(
            "{} still has FIXME at: {} (fill them in, e.g. with `panda-install secrets init`)",
            self.path.display(),
            parts.join("; ")
        )))
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

    /// A chart whose defaults are `text`.
    fn chart(text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("values.yaml"), text).unwrap();
        dir
    }

    #[test]
    fn affix_cric_and_fixme() {
        let none = chart("affix: test-\n");
        let (_d, f) = file("# c\naffix: \"-prod\" # x\ncric:\n  real: false\n");
        assert_eq!(f.affix().unwrap().unwrap().as_str(), "-prod");
        assert!(!f.cric_real().unwrap());
        assert!(f.refuse_fixme(none.path()).is_ok());
        let (_d, f) = file("affix: ~\nmsgsvc:\n  basePassword: FIXME\n");
        assert!(f.affix().unwrap().is_none() && f.cric_real().unwrap());
        let err = f.refuse_fixme(none.path()).unwrap_err().to_string();
        assert!(err.contains("msgsvc.basePassword") && err.contains("s.yaml"), "{err}");
        let (_d, f) = file("affix: blah\n");
        assert_eq!(f.affix().unwrap_err().exit_code(), crate::exit_code::DATA);
        let (_d, f) = file("cric:\n  real: maybe\n");
        assert!(f.cric_real().is_err());
    }

    #[test]
    fn a_chart_default_fixme_the_file_leaves_out_is_refused_too() {
        let defaults = chart("a:\n  password: FIXME\n  user: u\nlist: [FIXME]\nb: FIXME\n");
        let (_d, f) = file("a:\n  user: v\nlist: [x]\nb: FIXME\n");
        let err = f.refuse_fixme(defaults.path()).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit_code::PREFLIGHT);
        let err = err.to_string();
        assert!(err.contains("at: b; a.password (left out of the file"), "{err}");
        assert!(!err.contains("list"), "a list the file sets replaces the default one: {err}");
        let (_d, full) = file("a:\n  password: p\nlist: [x]\nb: c\n");
        assert!(full.refuse_fixme(defaults.path()).is_ok());
    }

    /// Every FIXME default of the real secrets chart: a file that sets all of them but one is
    /// refused naming that key.
    #[test]
    fn each_of_the_secrets_charts_fixme_defaults_left_out_is_named() {
        let chart = Path::new(env!("CARGO_MANIFEST_DIR")).join("secrets");
        let defaults = yaml::load_mapping(&chart.join("values.yaml")).unwrap();
        let keys = yaml::fixme_paths(&defaults);
        // 37 keys (`grep -c FIXME` counts 40 lines: three comments mention the word)
        assert_eq!(keys.len(), 37, "the chart's FIXME defaults: {keys:?}");
        let filled = fill_all(&defaults);
        assert!(yaml::fixme_paths(&filled).is_empty());
        for key in &keys {
            let mut values = filled.clone();
            leave_out(&mut values, key);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("partial.yaml");
            std::fs::write(&path, yaml::to_string(&values).unwrap()).unwrap();
            let err = SecretsFile::load(&path).unwrap().refuse_fixme(&chart).unwrap_err().to_string();
            assert!(err.contains(key.as_str()) && err.contains("(left out of the file"), "{key}: {err}");
        }
    }

    /// `values` with every FIXME replaced.
    pub(crate) fn fill_all(values: &Value) -> Value {
        match values {
            Value::String(s) if s == "FIXME" => Value::String("filled".into()),
            Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), fill_all(v))).collect()),
            Value::Array(a) => Value::Array(a.iter().map(fill_all).collect()),
            other => other.clone(),
        }
    }

    /// Leaves the key at a dotted path out; for a key inside a list (`auth.oidc.clients[0].clientId`)
    /// the whole list is left out, since a list the file sets replaces the default one.
    pub(crate) fn leave_out(values: &mut Value, path: &str) {
        let path = path.split('[').next().unwrap_or(path);
        let (parent, last) = path.rsplit_once('.').unwrap_or(("", path));
        let mut node = values;
        for part in parent.split('.').filter(|p| !p.is_empty()) {
            node = node.get_mut(part).unwrap();
        }
        node.as_object_mut().unwrap().remove(last);
    }
}
