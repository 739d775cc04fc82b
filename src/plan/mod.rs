//! The typed plan: pure data saying what a command will do, built from validated settings, with
//! nothing run to build it. It is rendered separately: into helm argument vectors
//! ([`helm_args`]), the printed copy-pasteable plan ([`text`]), JSON (serde) and, by the argocd
//! command, Argo CD Applications.

pub(crate) mod adopt;
pub(crate) mod helm_args;
pub(crate) mod install;
pub(crate) mod migrate;
pub(crate) mod rbac;
pub(crate) mod recover;
pub(crate) mod requirements;
pub(crate) mod selector;
pub(crate) mod text;
pub(crate) mod uninstall;
pub(crate) mod upgrade;

use crate::settings::component::Component;
use crate::settings::helm_version::HelmVersion;
pub(crate) use crate::settings::site_files::SetFile;
use crate::settings::target::ClusterTarget;
use crate::settings::wait::Wait;
use serde::Serialize;
use std::path::PathBuf;

/// What a plan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Kind {
    Install,
    Template,
    SecretsDeploy,
    Uninstall,
    Recover,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Plan {
    pub(crate) kind: Kind,
    pub(crate) helm: HelmVersion,
    pub(crate) namespace: String,
    #[serde(skip)]
    pub(crate) target: ClusterTarget,
    /// Charts whose local dependencies (the library chart) must be packed first; never touches
    /// the cluster.
    pub(crate) prepare: Vec<PathBuf>,
    pub(crate) tiers: Vec<Tier>,
    /// What a reader of the plan should know: where the affix came from, missing experiment files.
    pub(crate) notes: Vec<String>,
}

/// Releases that may run at the same time; a tier starts when the previous one is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Tier {
    /// The number it is shown with: the secrets tier is 0, component tiers count from 1.
    pub(crate) number: usize,
    pub(crate) steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Step {
    pub(crate) release: Release,
    pub(crate) action: Action,
}

/// One helm release and everything that goes into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Release {
    /// `None` for the secrets release.
    #[serde(serialize_with = "component_name")]
    pub(crate) component: Option<Component>,
    pub(crate) name: String,
    pub(crate) chart: PathBuf,
    /// Values files, layered in this order after the chart's own values.
    pub(crate) values: Vec<ValuesFile>,
    /// `--set`/`--set-string` pairs, layered last; never secrets.
    pub(crate) sets: Vec<Set>,
    /// `--set-file` pairs: the experiment's site files (paths only).
    pub(crate) files: Vec<SetFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ValuesFile {
    pub(crate) path: PathBuf,
    pub(crate) layer: Layer,
    /// `path` is sops-encrypted: helm reads it decrypted, on its standard input (`-f -`); the
    /// path only names where the values come from. At most one per release.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) stdin: bool,
}

impl ValuesFile {
    /// A file helm reads itself (`-f PATH`).
    pub(crate) fn file(path: PathBuf, layer: Layer) -> ValuesFile {
        ValuesFile { path, layer, stdin: false }
    }

    /// The secrets values of a sops-encrypted file, given to helm on stdin (`-f -`).
    pub(crate) fn decrypted(path: PathBuf) -> ValuesFile {
        ValuesFile { path, layer: Layer::Secrets, stdin: true }
    }
}

/// Where a values file comes from, in layering order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Layer {
    /// `values/<experiment>/experiment.yaml`: settings for every component of the experiment.
    ExperimentWide,
    /// `values/<experiment>/<component>.yaml`.
    Experiment,
    /// `--values COMPONENT=FILE`.
    User,
    /// The secrets values file (secrets release only).
    Secrets,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Set {
    pub(crate) key: String,
    pub(crate) value: String,
    /// `--set-string` (the value stays a string) rather than `--set`.
    pub(crate) string: bool,
}

impl Set {
    pub(crate) fn string(key: &str, value: impl Into<String>) -> Set {
        Set { key: key.into(), value: value.into(), string: true }
    }

    pub(crate) fn typed(key: &str, value: impl ToString) -> Set {
        Set { key: key.into(), value: value.to_string(), string: false }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub(crate) enum Action {
    /// `helm upgrade --install`.
    Upgrade(Upgrade),
    /// `helm template`: render only.
    Template,
    /// `helm uninstall`.
    Uninstall(Wait),
    /// `helm rollback` to a revision.
    Rollback { revision: u64, wait: Wait },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Upgrade {
    pub(crate) wait: Wait,
    pub(crate) create_namespace: bool,
    pub(crate) rollback_on_failure: bool,
    /// helm 4 server-side apply takes fields back from other managers: set for a release being
    /// repaired after someone changed its objects by hand.
    pub(crate) force_conflicts: bool,
    /// `--take-ownership`: adopt objects of the planned names that another release, Argo CD or
    /// nobody owns (`install --adopt`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) take_ownership: bool,
}

impl Release {
    /// The encrypted values file helm reads on its standard input, if any.
    pub(crate) fn stdin_values(&self) -> Option<&ValuesFile> {
        self.values.iter().find(|v| v.stdin)
    }
}

impl Plan {
    pub(crate) fn steps(&self) -> impl Iterator<Item = &Step> {
        self.tiers.iter().flat_map(|t| t.steps.iter())
    }
}

fn component_name<S: serde::Serializer>(c: &Option<Component>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.map_or("secrets", |c| c.name()))
}
