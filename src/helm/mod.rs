//! helm, located once and run with argument vectors through [`crate::process`]: the typed calls
//! panda-install makes (version, a plan step, template, dependency build, package, push, show).
//! A release whose values come from a sops-encrypted file gets them decrypted on helm's standard
//! input (`-f -`), from memory.

pub(crate) mod archive;

use crate::error::{Error, Result};
use crate::plan::{helm_args, Step};
use crate::process::{Outcome, Runner};
use crate::settings::helm_version::HelmVersion;
use crate::settings::secrets_file::{Decrypted, SecretsFile};
use crate::settings::target::ClusterTarget;
use std::path::{Path, PathBuf};

/// A located helm binary.
#[derive(Debug, Clone)]
pub(crate) struct Helm {
    program: PathBuf,
    runner: Runner,
    /// The decrypted secrets values, for the steps that read them on stdin.
    values_stdin: Option<Decrypted>,
}

impl Helm {
    /// `--helm` / `PANDA_INSTALL_HELM` if given, else `helm` on PATH.
    pub(crate) fn locate(explicit: Option<&Path>, runner: Runner) -> Result<Helm> {
        let program = crate::locate::program(
            explicit,
            "helm",
            "install helm 4 (or 3.15+), or pass --helm PATH / set PANDA_INSTALL_HELM",
        )
        .map_err(Error::HelmUnavailable)?;
        Ok(Helm { program, runner, values_stdin: None })
    }

    /// The same helm, feeding the decrypted document of an encrypted `secrets` file to the steps
    /// whose values come on stdin (a plain file is read by helm from its path).
    pub(crate) fn with_secrets(mut self, secrets: Option<&SecretsFile>) -> Helm {
        self.values_stdin = secrets.and_then(SecretsFile::decrypted).cloned();
        self
    }

    /// The program as printed in plans.
    pub(crate) fn display(&self) -> String {
        self.program.display().to_string()
    }

    async fn run(&self, args: &[String]) -> Result<Outcome> {
        self.run_with(args, None).await
    }

    async fn run_with(&self, args: &[String], stdin: Option<&[u8]>) -> Result<Outcome> {
        self.runner
            .run(&self.program, args, stdin)
            .await
            .map_err(|e| Error::HelmUnavailable(format!("cannot run {}: {e}", self.program.display())))
    }

    /// Asks helm for its version and checks that it is supported.
    pub(crate) async fn version(&self) -> Result<HelmVersion> {
        let out = self.run(&["version".into(), "--template".into(), "{{.Version}}".into()]).await?;
        if !out.success() {
            return Err(Error::HelmUnavailable(format!("`{} version` {}", self.display(), out.reason())));
        }
        HelmVersion::parse(&out.stdout)?.check_supported()
    }

    /// Runs one plan step; the outcome is the caller's to judge (a failed release is a result).
    pub(crate) async fn step(
        &self,
        step: &Step,
        target: &ClusterTarget,
        version: HelmVersion,
    ) -> Result<Outcome> {
        let stdin = match (step.release.stdin_values(), &self.values_stdin) {
            (None, _) => None,
            (Some(_), Some(text)) => Some(text.as_bytes()),
            (Some(v), None) => {
                // never run helm with `-f -` and nothing on stdin: the values would silently be empty
                return Err(Error::Internal(anyhow::anyhow!(
                    "{}: its values ({}) are to come decrypted on stdin, but none were decrypted",
                    step.release.name,
                    v.path.display()
                )));
            }
        };
        self.run_with(&helm_args::step(step, target, version), stdin).await
    }

    /// `helm template` of a release: its rendered manifests, or an error naming the release.
    pub(crate) async fn render(
        &self,
        step: &Step,
        target: &ClusterTarget,
        version: HelmVersion,
    ) -> Result<String> {
        let template = Step { release: step.release.clone(), action: crate::plan::Action::Template };
        let out = self.step(&template, target, version).await?;
        if !out.success() {
            return Err(Error::ReleaseFailed(format!(
                "helm template of {} {}",
                step.release.name,
                out.reason()
            )));
        }
        Ok(out.stdout)
    }

    /// `helm dependency build CHART`: packs the library chart, then stamps what each local
    /// dependency was packed from (so that freshness is decided by content); never touches the
    /// cluster.
    pub(crate) async fn dependency_build(&self, chart: &Path) -> Result<()> {
        let out = self.run(&helm_args::dependency_build(chart)).await?;
        if !out.success() {
            return Err(Error::data(chart, format!("helm dependency build {}", out.reason())));
        }
        for (name, source) in crate::settings::catalog::file_dependencies(chart)? {
            crate::bundle::checkout::record(chart, &name, &source)?;
        }
        Ok(())
    }

    /// Any other helm command (package, push, show chart): the raw outcome.
    pub(crate) async fn command(&self, args: &[String]) -> Result<Outcome> {
        self.run(args).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Layer, Release, Step, ValuesFile};
    use crate::settings::target::NamespaceSource;

    fn step(values: ValuesFile) -> Step {
        Step {
            release: Release {
                component: None,
                name: "test-secrets".into(),
                chart: "secrets".into(),
                values: vec![values],
                sets: vec![],
                files: vec![],
            },
            action: Action::Template,
        }
    }

    #[tokio::test]
    async fn decrypted_values_go_to_the_steps_that_read_stdin_only() {
        let dir = tempfile::tempdir().unwrap();
        // a "helm" that prints its standard input and its arguments
        let program = dir.path().join("helm");
        std::fs::write(&program, "#!/bin/sh\ncat\necho \"args: $*\"\n").unwrap();
        crate::process::tests::make_executable(&program);
        let target = ClusterTarget {
            namespace: "ns".into(),
            namespace_source: NamespaceSource::Flag,
            context: None,
            kubeconfig: None,
        };
        let enc = std::path::PathBuf::from("s.enc.yaml");
        let file = SecretsFile::from_decrypted(&enc, "affix: test-\n".into()).unwrap();
        let helm = Helm::locate(Some(&program), Runner::default()).unwrap();
        let bare = helm.clone().with_secrets(None);
        let err = bare.step(&step(ValuesFile::decrypted(enc.clone())), &target, HelmVersion::ASSUMED).await;
        assert!(err.unwrap_err().to_string().contains("none were decrypted"));
        let fed = helm.with_secrets(Some(&file));
        let out = fed.step(&step(ValuesFile::decrypted(enc)), &target, HelmVersion::ASSUMED).await.unwrap();
        assert_eq!(out.stdout, "affix: test-\nargs: template test-secrets secrets --namespace ns -f -\n");
        let plain = ValuesFile::file("plain.yaml".into(), Layer::User);
        let out = fed.step(&step(plain), &target, HelmVersion::ASSUMED).await.unwrap();
        assert_eq!(out.stdout, "args: template test-secrets secrets --namespace ns -f plain.yaml\n");
    }
}
