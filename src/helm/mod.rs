//! helm, located once and run with argument vectors through [`crate::process`]: the typed calls
//! panda-install makes (version, a plan step, template, dependency build, package, push, show).

use crate::error::{Error, Result};
use crate::plan::{helm_args, Step};
use crate::process::{Outcome, Runner};
use crate::settings::helm_version::HelmVersion;
use crate::settings::target::ClusterTarget;
use std::path::{Path, PathBuf};

/// A located helm binary.
#[derive(Debug, Clone)]
pub(crate) struct Helm {
    program: PathBuf,
    runner: Runner,
}

impl Helm {
    /// `--helm` / `PANDA_INSTALL_HELM` if given, else `helm` on PATH.
    pub(crate) fn locate(explicit: Option<&Path>, runner: Runner) -> Result<Helm> {
        let program = match explicit {
            Some(p) if p.components().count() > 1 => {
                if !p.is_file() {
                    return Err(Error::HelmUnavailable(format!("helm not found at {}", p.display())));
                }
                p.to_path_buf()
            }
            Some(name) => which::which(name)
                .map_err(|_| Error::HelmUnavailable(format!("{} is not on PATH", name.display())))?,
            None => which::which("helm").map_err(|_| {
                Error::HelmUnavailable(
                    "helm is not on PATH: install helm 4 (or 3.15+), or pass --helm PATH / set PANDA_INSTALL_HELM".into(),
                )
            })?,
        };
        Ok(Helm { program, runner })
    }

    /// The program as printed in plans.
    pub(crate) fn display(&self) -> String {
        self.program.display().to_string()
    }

    async fn run(&self, args: &[String]) -> Result<Outcome> {
        self.runner
            .run(&self.program, args, None)
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
        self.run(&helm_args::step(step, target, version)).await
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

    /// `helm dependency build CHART`: packs the library chart; never touches the cluster.
    pub(crate) async fn dependency_build(&self, chart: &Path) -> Result<()> {
        let out = self.run(&helm_args::dependency_build(chart)).await?;
        if !out.success() {
            return Err(Error::data(chart, format!("helm dependency build {}", out.reason())));
        }
        Ok(())
    }

    /// Any other helm command (package, push, show chart): the raw outcome.
    pub(crate) async fn command(&self, args: &[String]) -> Result<Outcome> {
        self.run(args).await
    }
}
