//! `panda-install package`: `helm package` of the library chart and every component chart into
//! `dist/`, versions from each Chart.yaml; with `--push`, `helm push` of each archive to an OCI
//! repository. A version the registry already has is pulled and compared by content: the same
//! chart is skipped, a different one refused (a published version never changes) unless `--force`.
//!
//! The secrets chart is not packaged: it stays outside GitOps, is installed from a checkout, and
//! reads private files from `secrets/files/` that a packaged archive would carry away (docs/gitops.md).

use super::Context;
use crate::cli::PackageArgs;
use crate::error::{Error, Result};
use crate::exit_code;
use crate::helm::Helm;
use crate::output;
use crate::process::Outcome;
use crate::settings::catalog::{Catalog, ChartInfo};
use crate::settings::selection::enabled_components;
use crate::shell;
use std::path::{Path, PathBuf};

/// The archive `helm package` writes: `<out>/<name>-<version>.tgz`.
pub(crate) fn archive(chart: &ChartInfo, out: &Path) -> PathBuf {
    out.join(format!("{}-{}.tgz", chart.name, chart.version))
}

/// The library chart first (the others embed it), then the selected components in catalog order.
pub(crate) fn charts(args: &PackageArgs, catalog: &Catalog) -> Result<Vec<ChartInfo>> {
    let mut out = vec![catalog.library.clone()];
    for c in enabled_components(&args.enable)? {
        out.push(catalog.chart(c).clone());
    }
    Ok(out)
}

/// `oci://host/repo/` -> `oci://host/repo`, checked.
fn oci_repo(raw: &str) -> Result<String> {
    let rest = raw
        .strip_prefix("oci://")
        .ok_or_else(|| Error::usage(format!("--push {raw:?}: expected oci://REGISTRY/REPO")))?;
    let rest = rest.trim_end_matches('/');
    if rest.is_empty()
        || rest.contains(char::is_whitespace)
        || rest.contains(':') && !rest.split('/').next().is_some_and(|h| h.contains(':'))
    {
        return Err(Error::usage(format!("--push {raw:?}: expected oci://REGISTRY/REPO without a tag")));
    }
    Ok(format!("oci://{rest}"))
}

/// `helm show chart REPO/NAME --version V`: does the registry have this version?
pub(crate) fn show_chart(repo: &str, chart: &ChartInfo, plain_http: bool) -> Vec<String> {
    let mut args = vec![
        "show".into(),
        "chart".into(),
        format!("{repo}/{}", chart.name),
        "--version".into(),
        chart.version.clone(),
    ];
    if plain_http {
        args.push("--plain-http".into());
    }
    args
}

pub(crate) fn push(repo: &str, archive: &Path, plain_http: bool) -> Vec<String> {
    let mut args = vec!["push".into(), archive.to_string_lossy().into_owned(), repo.to_string()];
    if plain_http {
        args.push("--plain-http".into());
    }
    args
}

fn package(chart: &ChartInfo, out: &Path) -> Vec<String> {
    vec![
        "package".into(),
        chart.dir.to_string_lossy().into_owned(),
        "--destination".into(),
        out.to_string_lossy().into_owned(),
    ]
}

/// Whether helm's failure to show a chart means the registry has no such version (as opposed to
/// being unreachable or refusing access, where pushing blind would be wrong).
fn means_absent(out: &Outcome) -> bool {
    let text = out.stderr.to_lowercase();
    text.contains("not found") || text.contains("manifest unknown") || text.contains("name unknown")
}

fn last_line(text: &str) -> &str {
    text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim()
}

pub(crate) async fn run(args: &PackageArgs, ctx: &Context) -> Result<i32> {
    let catalog = ctx.catalog(&args.root)?;
    let repo = args.push.as_deref().map(oci_repo).transpose()?;
    let charts = charts(args, &catalog)?;
    let helm = ctx.helm(&args.helm)?;
    helm.version().await?;
    if args.dry_run {
        return dry_run(args, &helm, &charts, repo.as_deref());
    }
    std::fs::create_dir_all(&args.out).map_err(|e| Error::data(&args.out, format!("cannot create: {e}")))?;

    for chart in &charts {
        if chart.needs_dependency_build {
            helm.dependency_build(&chart.dir).await?;
        }
        let out = helm.command(&package(chart, &args.out)).await?;
        let archive = archive(chart, &args.out);
        if !out.success() || !archive.is_file() {
            return Err(Error::data(&chart.dir, format!("helm package failed: {}", last_line(&out.stderr))));
        }
        output::print(&format!("packaged {}\n", archive.display()))?;
    }

    let Some(repo) = repo else { return Ok(exit_code::SUCCESS) };
    let mut to_push: Vec<&ChartInfo> = charts.iter().collect();
    if !args.force {
        // Every version is checked before anything is pushed: a refusal changes nothing.
        let published = Published { repo: &repo, helm: &helm, plain_http: args.plain_http, out: &args.out };
        let mut changed = Vec::new();
        for chart in &charts {
            match published.compare(chart).await? {
                None => {}
                Some(differences) if differences.is_empty() => {
                    output::print(&format!(
                        "skipped {repo}/{}:{}: already published with the same content\n",
                        chart.name, chart.version
                    ))?;
                    to_push.retain(|c| c.name != chart.name);
                }
                Some(differences) => changed.push(format!(
                    "{repo}/{}:{} ({})",
                    chart.name,
                    chart.version,
                    summary(&differences)
                )),
            }
        }
        published.clean();
        if !changed.is_empty() {
            return Err(Error::Preflight(format!(
                "the registry already has {} with different content: a published version never changes; bump `version` in Cargo.toml and run scripts/check-chart-versions --update (or pass --force to overwrite); nothing was pushed",
                changed.join(", ")
            )));
        }
    }
    for chart in to_push {
        let archive = archive(chart, &args.out);
        let out = helm.command(&push(&repo, &archive, args.plain_http)).await?;
        if !out.success() {
            return Err(Error::ReleaseFailed(format!(
                "helm push of {} failed: {}; later charts were not pushed",
                archive.display(),
                last_line(&out.stderr)
            )));
        }
        let digest = out
            .stdout
            .lines()
            .chain(out.stderr.lines())
            .find_map(|l| l.trim().strip_prefix("Digest:"))
            .unwrap_or("")
            .trim()
            .to_string();
        output::print(&format!("pushed {repo}/{}:{} {digest}\n", chart.name, chart.version))?;
    }
    Ok(exit_code::SUCCESS)
}

/// The registry's copies of the charts, pulled into `<out>/.published/` to be compared.
struct Published<'a> {
    repo: &'a str,
    helm: &'a Helm,
    plain_http: bool,
    out: &'a Path,
}

impl Published<'_> {
    fn dir(&self) -> PathBuf {
        self.out.join(".published")
    }

    /// `None`: the registry lacks this version; else the files in which the published archive
    /// differs from `archive(chart, out)` (empty: the same chart).
    async fn compare(&self, chart: &ChartInfo) -> Result<Option<Vec<String>>> {
        let (repo, name, version) = (self.repo, &chart.name, &chart.version);
        let shown = self.helm.command(&show_chart(repo, chart, self.plain_http)).await?;
        if !shown.success() {
            if means_absent(&shown) {
                return Ok(None);
            }
            return Err(Error::Preflight(format!(
                "cannot tell whether {repo}/{name}:{version} exists: {}; nothing was pushed",
                last_line(&shown.stderr)
            )));
        }
        let dir = self.dir().join(name);
        std::fs::create_dir_all(&dir).map_err(|e| Error::data(&dir, format!("cannot create: {e}")))?;
        let pulled = self.helm.command(&pull(repo, chart, &dir, self.plain_http)).await?;
        let theirs = archive(chart, &dir);
        if !pulled.success() || !theirs.is_file() {
            return Err(Error::Preflight(format!(
                "cannot pull {repo}/{name}:{version} to compare it: {}; nothing was pushed",
                last_line(&pulled.stderr)
            )));
        }
        let read = |path: &Path| {
            std::fs::read(path)
                .and_then(|b| crate::helm::archive::contents(&b))
                .map_err(|e| Error::data(path, format!("cannot read the chart archive: {e}")))
        };
        let ours = read(&archive(chart, self.out))?;
        Ok(Some(crate::helm::archive::differences(&read(&theirs)?, &ours)))
    }

    fn clean(&self) {
        let _ = std::fs::remove_dir_all(self.dir());
    }
}

/// `helm pull REPO/NAME --version V --destination DIR`.
fn pull(repo: &str, chart: &ChartInfo, dir: &Path, plain_http: bool) -> Vec<String> {
    let mut args = vec![
        "pull".into(),
        format!("{repo}/{}", chart.name),
        "--version".into(),
        chart.version.clone(),
        "--destination".into(),
        dir.to_string_lossy().into_owned(),
    ];
    if plain_http {
        args.push("--plain-http".into());
    }
    args
}

/// The first differing files, for a message.
fn summary(differences: &[String]) -> String {
    let shown: Vec<&str> = differences.iter().take(3).map(String::as_str).collect();
    match differences.len() - shown.len() {
        0 => format!("differs in {}", shown.join(", ")),
        more => format!("differs in {} and {more} more", shown.join(", ")),
    }
}

/// `--dry-run`: the helm commands a run would make, in order; nothing is packaged or pushed.
fn dry_run(args: &PackageArgs, helm: &Helm, charts: &[ChartInfo], repo: Option<&str>) -> Result<i32> {
    let mut text = String::from("# package (the registry is asked first for each version: one published with the same content is skipped, with other content refused, unless --force)\n");
    let line = |a: Vec<String>| {
        format!("{}\n", shell::join(&std::iter::once(helm.display()).chain(a).collect::<Vec<_>>()))
    };
    for chart in charts {
        if chart.needs_dependency_build {
            text.push_str(&line(crate::plan::helm_args::dependency_build(&chart.dir)));
        }
        text.push_str(&line(package(chart, &args.out)));
    }
    if let Some(repo) = repo {
        for chart in charts {
            text.push_str(&line(push(repo, &archive(chart, &args.out), args.plain_http)));
        }
    }
    output::print(&text)?;
    Ok(exit_code::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let chart = ChartInfo {
            dir: "helm/msgsvc".into(),
            name: "msgsvc".into(),
            version: "0.1.0".into(),
            subcomponents: vec![],
            depends_on: vec![],
            needs_dependency_build: false,
            site_files: vec![],
        };
        assert_eq!(archive(&chart, Path::new("dist")), Path::new("dist/msgsvc-0.1.0.tgz"));
        assert_eq!(
            show_chart("oci://r/c", &chart, true).join(" "),
            "show chart oci://r/c/msgsvc --version 0.1.0 --plain-http"
        );
        assert_eq!(
            push("oci://r/c", &archive(&chart, Path::new("dist")), false).join(" "),
            "push dist/msgsvc-0.1.0.tgz oci://r/c"
        );
    }

    #[test]
    fn absence_is_told_apart_from_failure() {
        let out = |stderr: &str| Outcome { code: Some(1), stdout: String::new(), stderr: stderr.into() };
        assert!(means_absent(&out("Error: 127.0.0.1:5000/charts/msgsvc:0.1.0: not found")));
        assert!(means_absent(&out("Error: MANIFEST_UNKNOWN: manifest unknown")));
        assert!(!means_absent(&out("Error: unexpected status from HEAD request: 401 Unauthorized")));
        assert!(!means_absent(&out("Error: dial tcp 127.0.0.1:1: connect: connection refused")));
    }

    #[test]
    fn every_component_chart_and_the_library_have_versions() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let catalog = Catalog::load(&root).unwrap();
        let args = PackageArgs {
            enable: vec![],
            out: "dist".into(),
            push: None,
            force: false,
            plain_http: false,
            dry_run: false,
            helm: Default::default(),
            root: Default::default(),
        };
        let charts = charts(&args, &catalog).unwrap();
        let names: Vec<&str> = charts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["panda-lib", "msgsvc", "iam", "panda", "harvester", "idds", "bigmon", "ui"]);
        assert!(charts.iter().all(|c| !c.version.is_empty()));
    }
}
