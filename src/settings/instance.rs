//! Which instance a command acts on: the affix, from `--affix`, the secrets values file or the
//! default, and the release names it gives.

use super::affix::{Affix, DEFAULT_AFFIX};
use super::component::Component;
use super::secrets_file::SecretsFile;
use crate::error::{Error, Result};
use std::path::PathBuf;

/// Where the affix came from, so plans and reports can say so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AffixSource {
    Flag,
    File(PathBuf),
    /// Found in the namespace: the deployed secrets release records it.
    Deployed(String),
    /// Nothing deployed in the namespace (or no cluster read, `--template`): the bundled
    /// `secrets/values.yaml`.
    Bundled(PathBuf),
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Instance {
    pub(crate) affix: Affix,
    pub(crate) source: AffixSource,
}

impl Instance {
    /// `--affix`, else `affix` in the secrets values file, else `test-`.
    pub(crate) fn resolve(flag: Option<&str>, secrets: Option<&SecretsFile>) -> Result<Instance> {
        if let Some(raw) = flag {
            return Instance::from_flag(raw);
        }
        if let Some(file) = secrets {
            if let Some(affix) = file.affix()? {
                return Ok(Instance { affix, source: AffixSource::File(file.path.clone()) });
            }
        }
        Ok(Instance::default_affix())
    }

    pub(crate) fn from_flag(raw: &str) -> Result<Instance> {
        let affix = Affix::parse(raw).map_err(|m| Error::usage(format!("--affix: {m}")))?;
        Ok(Instance { affix, source: AffixSource::Flag })
    }

    pub(crate) fn default_affix() -> Instance {
        Instance {
            affix: Affix::parse(DEFAULT_AFFIX).expect("the default affix is valid"),
            source: AffixSource::Default,
        }
    }

    pub(crate) fn release(&self, component: Component) -> String {
        self.affix.apply(component.name())
    }

    pub(crate) fn secrets_release(&self) -> String {
        self.affix.apply("secrets")
    }

    /// "affix "x-" (from ...); secrets release x-secrets"
    pub(crate) fn describe(&self) -> String {
        let source = match &self.source {
            AffixSource::Flag => "from --affix".to_string(),
            AffixSource::File(f) => format!("from {}", f.display()),
            AffixSource::Deployed(r) => format!("found in the namespace: release {r}"),
            AffixSource::Bundled(f) => format!("from {}: nothing deployed yet", f.display()),
            AffixSource::Default => "the default".to_string(),
        };
        format!("affix {:?} ({source}); secrets release {}", self.affix.as_str(), self.secrets_release())
    }
}
