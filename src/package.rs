//! `panda-install package`: `helm package` of the library chart and every component chart into
//! `dist/`, versions from each Chart.yaml; with `--push`, `helm push` of each archive to an OCI
//! repository, refusing versions the registry already has unless `--force`.
//!
//! The secrets chart is not packaged: it stays outside GitOps, is installed from a checkout, and
//! reads private files from `secrets/files/` that a packaged archive would carry away (docs/gitops.md).

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::exit_code;
use crate::plan::Invocation;
use crate::process::{Helm, Outcome};
use crate::settings::Settings;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, clap::Args)]
pub struct PackageArgs {
    /// Directory the chart archives are written to.
    #[arg(long, default_value = "dist", value_name = "DIR")]
    pub out: PathBuf,

    /// Push every archive to this OCI repository (`oci://ghcr.io/OWNER/REPO`); chart NAME at
    /// VERSION lands at `<REPO>/NAME:VERSION`. Log in first with `helm registry login`.
    #[arg(long, value_name = "oci://REGISTRY/REPO")]
    pub push: Option<String>,

    /// Push even the versions the registry already has (overwrites them).
    #[arg(long, requires = "push", conflicts_with = "skip_existing")]
    pub force: bool,

    /// Push only the versions the registry lacks and report the others as already published
    /// (for CI on every merge; without it such versions make the run fail before any push).
    #[arg(long, requires = "push")]
    pub skip_existing: bool,

    /// Talk to the registry over plain HTTP (a local registry without TLS).
    #[arg(long, requires = "push")]
    pub plain_http: bool,
}

/// One chart to package: its directory and what its Chart.yaml says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartToPackage {
    pub dir: PathBuf,
    pub name: String,
    pub version: String,
    /// `helm dependency build` must run first (a `file://` dependency is not packed yet or stale).
    pub needs_dependency_build: bool,
}

impl ChartToPackage {
    /// The archive `helm package` writes: `<out>/<name>-<version>.tgz`.
    pub fn archive(&self, out: &Path) -> PathBuf {
        out.join(format!("{}-{}.tgz", self.name, self.version))
    }
}

#[derive(Deserialize)]
struct ChartYaml {
    name: String,
    version: String,
}

fn read_chart(dir: &Path, needs_dependency_build: bool) -> Result<ChartToPackage> {
    let path = dir.join("Chart.yaml");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::data(&path, format!("cannot read: {e}")))?;
    let chart: ChartYaml = serde_yaml::from_str(&text).map_err(|e| Error::data(&path, format!("malformed: {e}")))?;
    if chart.version.trim().is_empty() {
        return Err(Error::data(&path, "version is empty"));
    }
    Ok(ChartToPackage { dir: dir.to_path_buf(), name: chart.name, version: chart.version, needs_dependency_build })
}

/// The library chart first (the others embed it), then the selected components in catalog order.
pub fn charts(settings: &Settings, catalog: &Catalog) -> Result<Vec<ChartToPackage>> {
    let mut out = vec![read_chart(&catalog.root.join("helm").join("lib"), false)?];
    for c in &settings.components {
        let info = catalog.chart(*c);
        out.push(read_chart(&info.dir, info.needs_dependency_build)?);
    }
    Ok(out)
}

/// `oci://host/repo/` -> `oci://host/repo`, checked.
fn oci_repo(raw: &str) -> Result<String> {
    let rest = raw.strip_prefix("oci://").ok_or_else(|| Error::usage(format!("--push {raw:?}: expected oci://REGISTRY/REPO")))?;
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.contains(char::is_whitespace) || rest.contains(':') && !rest.split('/').next().is_some_and(|h| h.contains(':')) {
        return Err(Error::usage(format!("--push {raw:?}: expected oci://REGISTRY/REPO without a tag")));
    }
    Ok(format!("oci://{rest}"))
}

/// The invocations of one run, in order; pure so that tests can read them.
pub fn show_chart(repo: &str, chart: &ChartToPackage, plain_http: bool) -> Invocation {
    let mut args = vec!["show".into(), "chart".into(), format!("{repo}/{}", chart.name), "--version".into(), chart.version.clone()];
    if plain_http {
        args.push("--plain-http".into());
    }
    Invocation { args }
}

pub fn push(repo: &str, archive: &Path, plain_http: bool) -> Invocation {
    let mut args = vec!["push".into(), archive.to_string_lossy().into_owned(), repo.to_string()];
    if plain_http {
        args.push("--plain-http".into());
    }
    Invocation { args }
}

/// Whether helm's failure to show a chart means the registry has no such version (as opposed to
/// being unreachable or refusing access, where pushing blind would be wrong).
fn means_absent(out: &Outcome) -> bool {
    let text = out.stderr.to_lowercase();
    text.contains("not found") || text.contains("manifest unknown") || text.contains("name unknown")
}

async fn run_helm(helm: &Helm, inv: &Invocation) -> Result<Outcome> {
    helm.run(inv).await.map_err(|e| Error::HelmUnavailable(format!("cannot run {}: {e}", helm.program().display())))
}

fn last_line(text: &str) -> &str {
    text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim()
}

pub async fn run(args: &PackageArgs, settings: &Settings, catalog: &Catalog) -> Result<i32> {
    let repo = args.push.as_deref().map(oci_repo).transpose()?;
    let charts = charts(settings, catalog)?;
    let helm = Helm::locate(settings.helm.as_deref())?;
    helm.version().await?;
    std::fs::create_dir_all(&args.out).map_err(|e| Error::data(&args.out, format!("cannot create: {e}")))?;

    for chart in &charts {
        if chart.needs_dependency_build {
            let inv = Invocation { args: vec!["dependency".into(), "build".into(), chart.dir.to_string_lossy().into_owned()] };
            let out = run_helm(&helm, &inv).await?;
            if !out.success() {
                return Err(Error::data(&chart.dir, format!("helm dependency build failed: {}", last_line(&out.stderr))));
            }
        }
        let inv = Invocation {
            args: vec!["package".into(), chart.dir.to_string_lossy().into_owned(), "--destination".into(), args.out.to_string_lossy().into_owned()],
        };
        let out = run_helm(&helm, &inv).await?;
        let archive = chart.archive(&args.out);
        if !out.success() || !archive.is_file() {
            return Err(Error::data(&chart.dir, format!("helm package failed: {}", last_line(&out.stderr))));
        }
        println!("packaged {}", archive.display());
    }

    let Some(repo) = repo else { return Ok(exit_code::SUCCESS) };
    let mut to_push: Vec<&ChartToPackage> = charts.iter().collect();
    if !args.force {
        // Every version is checked before anything is pushed: a refusal changes nothing.
        let mut existing = Vec::new();
        for chart in &charts {
            let out = run_helm(&helm, &show_chart(&repo, chart, args.plain_http)).await?;
            if out.success() {
                existing.push(format!("{repo}/{}:{}", chart.name, chart.version));
                to_push.retain(|c| c.name != chart.name);
            } else if !means_absent(&out) {
                return Err(Error::Preflight(format!(
                    "cannot tell whether {repo}/{}:{} exists: {}; nothing was pushed",
                    chart.name,
                    chart.version,
                    last_line(&out.stderr)
                )));
            }
        }
        if args.skip_existing {
            for name in &existing {
                println!("skipped {name}: already published (bump its version to publish a change)");
            }
        } else if !existing.is_empty() {
            return Err(Error::Preflight(format!(
                "the registry already has {}: bump `version` in their Chart.yaml, or pass --force to overwrite; nothing was pushed",
                existing.join(", ")
            )));
        }
    }
    for chart in to_push {
        let archive = chart.archive(&args.out);
        let out = run_helm(&helm, &push(&repo, &archive, args.plain_http)).await?;
        if !out.success() {
            return Err(Error::ReleaseFailed(format!(
                "helm push of {} failed: {}; later charts were not pushed",
                archive.display(),
                last_line(&out.stderr)
            )));
        }
        let digest = out.stdout.lines().chain(out.stderr.lines()).find_map(|l| l.trim().strip_prefix("Digest:")).unwrap_or("").trim().to_string();
        println!("pushed {repo}/{}:{} {digest}", chart.name, chart.version);
    }
    Ok(exit_code::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn push_urls_are_checked() {
        assert_eq!(oci_repo("oci://ghcr.io/pandawms/charts/").unwrap(), "oci://ghcr.io/pandawms/charts");
        assert_eq!(oci_repo("oci://127.0.0.1:5000/charts").unwrap(), "oci://127.0.0.1:5000/charts");
        assert!(oci_repo("ghcr.io/x").is_err());
        assert!(oci_repo("oci://").is_err());
        assert!(oci_repo("oci://ghcr.io/x/charts:1.0").is_err());
    }

    #[test]
    fn invocations() {
        let chart = ChartToPackage { dir: "helm/msgsvc".into(), name: "msgsvc".into(), version: "0.1.0".into(), needs_dependency_build: false };
        assert_eq!(chart.archive(Path::new("dist")), Path::new("dist/msgsvc-0.1.0.tgz"));
        assert_eq!(show_chart("oci://r/c", &chart, true).args.join(" "), "show chart oci://r/c/msgsvc --version 0.1.0 --plain-http");
        assert_eq!(push("oci://r/c", &chart.archive(Path::new("dist")), false).args.join(" "), "push dist/msgsvc-0.1.0.tgz oci://r/c");
    }

    #[test]
    fn absence_is_told_apart_from_failure() {
        let out = |stderr: &str| Outcome { code: Some(1), stdout: String::new(), stderr: stderr.into(), elapsed: Duration::ZERO };
        assert!(means_absent(&out("Error: 127.0.0.1:5000/charts/msgsvc:0.1.0: not found")));
        assert!(means_absent(&out("Error: MANIFEST_UNKNOWN: manifest unknown")));
        assert!(!means_absent(&out("Error: unexpected status from HEAD request: 401 Unauthorized")));
        assert!(!means_absent(&out("Error: dial tcp 127.0.0.1:1: connect: connection refused")));
    }

    #[test]
    fn every_component_chart_and_the_library_have_versions() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let catalog = Catalog::load(&root).unwrap();
        let settings = Settings::from_args(&crate::cli::DeployArgs { timeout: "10m".into(), ..Default::default() }, false, &catalog).unwrap();
        let charts = charts(&settings, &catalog).unwrap();
        let names: Vec<&str> = charts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["panda-lib", "msgsvc", "iam", "panda", "harvester", "idds", "bigmon"]);
        assert!(charts.iter().all(|c| !c.version.is_empty()));
    }
}
