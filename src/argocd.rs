//! `panda-install argocd`: Argo CD Applications generated from the same plan the CLI runs.
//!
//! The plan (dry-run mode, no secrets tier) is translated release by release: chart path, release
//! name, every `-f` file (made relative to the chart path for Git, or read through a `$values`
//! ref for OCI charts) and every `--set`/`--set-string` become the Application's helm source, and
//! the tier becomes the `argocd.argoproj.io/sync-wave`. An app-of-apps parent tracks the directory
//! the children are committed to. See docs/gitops.md.

pub mod manifest;

use crate::affix::Affix;
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::exit_code;
use crate::helm::HelmVersion;
use crate::plan::plan;
use crate::settings::{AffixSource, Mode, Settings};
use manifest::{ChartSource, Generated, GitRef, Target, GENERATED_HEADER};
use std::path::{Component as PathPart, Path, PathBuf};

#[derive(Debug, Clone, clap::Args)]
pub struct ArgocdArgs {
    /// Git repository Argo CD reads helm/, values/ and the generated Applications from.
    #[arg(long, value_name = "URL")]
    pub repo_url: Option<String>,

    /// Branch, tag or commit of --repo-url to track.
    #[arg(long, value_name = "REV")]
    pub target_revision: Option<String>,

    /// Take the charts from this OCI repository (`oci://ghcr.io/OWNER/REPO`, as `package --push`
    /// publishes them) instead of Git; value files still come from --repo-url.
    #[arg(long, value_name = "oci://REGISTRY/REPO", requires = "chart_version")]
    pub oci: Option<String>,

    /// The chart version to deploy from --oci.
    #[arg(long, value_name = "VERSION", requires = "oci")]
    pub chart_version: Option<String>,

    /// Argo CD project of every Application.
    #[arg(long, default_value = "default", value_name = "PROJECT")]
    pub project: String,

    /// Cluster the components are deployed to (Argo CD's destination server).
    #[arg(long, default_value = "https://kubernetes.default.svc", value_name = "URL")]
    pub dest_server: String,

    /// Namespace Argo CD watches for Applications.
    #[arg(long, default_value = "argocd", value_name = "NAMESPACE")]
    pub app_namespace: String,

    /// Write one file per Application into DIR (default: all of them to stdout). Files an earlier
    /// run generated there and this one does not are removed.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Path in the repository where the child Applications are committed, which the parent
    /// tracks (default: --out, relative to the project root).
    #[arg(long, value_name = "PATH")]
    pub apps_path: Option<String>,

    /// Write the component Applications only, no app-of-apps parent.
    #[arg(long)]
    pub no_parent: bool,

    /// Personal development instance: namespace `dev-NAME`, affix `dev-NAME-` (releases and
    /// Applications `dev-NAME-<component>`, secrets release `dev-NAME-secrets`).
    #[arg(long, value_name = "NAME")]
    pub dev: Option<String>,
}

pub fn run(args: &ArgocdArgs, settings: &Settings, catalog: &Catalog) -> Result<i32> {
    let settings = personal(args, settings)?;
    let namespace = settings
        .namespace
        .clone()
        .ok_or_else(|| Error::usage("argocd needs the destination namespace: -n NAMESPACE (or --dev NAME)"))?;
    let git = git_ref(args)?;
    let charts = match (&args.oci, &args.chart_version) {
        (Some(repo), Some(version)) => {
            if !repo.starts_with("oci://") {
                return Err(Error::usage(format!("--oci {repo:?}: expected oci://REGISTRY/REPO")));
            }
            ChartSource::Oci { repo: repo.clone(), version: version.clone(), values: git.clone() }
        }
        _ => ChartSource::Git(git.clone().ok_or_else(|| {
            Error::usage("argocd needs --repo-url URL and --target-revision REV (or --oci oci://REGISTRY/REPO --chart-version V)")
        })?),
    };
    let target = Target {
        charts,
        project: args.project.clone(),
        dest_server: args.dest_server.clone(),
        app_namespace: args.app_namespace.clone(),
        namespace,
        instance: settings.affix.apply("panda-apps"),
    };

    // The plan the CLI would run, without the secrets release (it stays outside Argo CD) and
    // without cluster-access flags (Argo CD has its own).
    let plan_settings = Settings {
        mode: Mode::Plan,
        secrets_values: None,
        create_namespace: false,
        kube_context: None,
        kubeconfig: None,
        wait: false,
        rollback_on_failure: false,
        ..settings.clone()
    };
    let p = plan(&plan_settings, catalog, HelmVersion::ASSUMED)?;
    for note in &p.notes {
        eprintln!("panda-install argocd: {note}");
    }
    let repo = RepoPaths::new(&catalog.root)?;
    let mut apps = manifest::children(&p, catalog, &target, &|path| repo.relative(path))?;

    if !args.no_parent {
        let git = git.ok_or_else(|| {
            Error::usage("the app-of-apps parent tracks a Git repository: give --repo-url and --target-revision, or --no-parent")
        })?;
        let apps_path = match (&args.apps_path, &args.out) {
            (Some(p), _) => check_repo_path(p)?,
            (None, Some(out)) => repo.relative(out).map_err(|_| {
                Error::usage(format!("--out {} is outside the project: say where it is committed with --apps-path", out.display()))
            })?,
            (None, None) => return Err(Error::usage("the parent needs --apps-path PATH (or --out DIR inside the project), or --no-parent")),
        };
        apps.push(manifest::parent(&git, &apps_path, &target));
    }

    match &args.out {
        None => {
            for (i, app) in apps.iter().enumerate() {
                if i > 0 {
                    println!("---");
                }
                print!("{}", app.to_yaml()?);
            }
        }
        Some(dir) => write_dir(dir, &apps)?,
    }
    Ok(exit_code::SUCCESS)
}

/// `--dev NAME`: the namespace and affix of a personal instance, checked against -n and -a.
fn personal(args: &ArgocdArgs, settings: &Settings) -> Result<Settings> {
    let Some(name) = &args.dev else { return Ok(settings.clone()) };
    let namespace = format!("dev-{name}");
    let affix = Affix::parse(&format!("{namespace}-")).map_err(|m| Error::usage(format!("--dev {name:?}: {m}")))?;
    if let Some(ns) = settings.namespace.as_ref().filter(|ns| **ns != namespace) {
        return Err(Error::usage(format!("--dev {name} deploys into namespace {namespace}, but -n says {ns}")));
    }
    if settings.affix_source == AffixSource::Flag && settings.affix != affix {
        return Err(Error::usage(format!("--dev {name} uses affix {affix:?}, but -a says {:?}", settings.affix.as_str())));
    }
    Ok(Settings { namespace: Some(namespace), affix, affix_source: AffixSource::Flag, ..settings.clone() })
}

fn git_ref(args: &ArgocdArgs) -> Result<Option<GitRef>> {
    match (&args.repo_url, &args.target_revision) {
        (Some(url), Some(rev)) => {
            if url.is_empty() || rev.is_empty() {
                return Err(Error::usage("--repo-url and --target-revision must not be empty"));
            }
            Ok(Some(GitRef { repo_url: url.clone(), revision: rev.clone() }))
        }
        (None, None) => Ok(None),
        (Some(_), None) => Err(Error::usage("--repo-url needs --target-revision (a branch, tag or commit)")),
        (None, Some(_)) => Err(Error::usage("--target-revision needs --repo-url")),
    }
}

/// A repository path as Argo CD takes it: relative, `/`-separated, no `..`.
fn check_repo_path(path: &str) -> Result<String> {
    let p = Path::new(path);
    if path.is_empty() || p.is_absolute() || p.components().any(|c| !matches!(c, PathPart::Normal(_) | PathPart::CurDir)) {
        return Err(Error::usage(format!("--apps-path {path:?}: expected a path relative to the repository root, without '..'")));
    }
    Ok(normalise(p))
}

fn normalise(p: &Path) -> String {
    p.components().filter_map(|c| match c {
        PathPart::Normal(s) => Some(s.to_string_lossy().into_owned()),
        _ => None,
    })
    .collect::<Vec<_>>()
    .join("/")
}

/// Turns paths of the plan (relative to the current directory, or absolute) into paths relative
/// to the project root, which is the root of the Git repository Argo CD reads.
struct RepoPaths {
    root: PathBuf,
}

impl RepoPaths {
    fn new(root: &Path) -> Result<RepoPaths> {
        let root = if root.as_os_str().is_empty() { Path::new(".") } else { root };
        let root = std::fs::canonicalize(root).map_err(|e| Error::data(root, format!("cannot resolve: {e}")))?;
        Ok(RepoPaths { root })
    }

    fn relative(&self, path: &Path) -> Result<String> {
        let absolute = absolute(path)?;
        let inside = absolute.strip_prefix(&self.root).map_err(|_| {
            Error::usage(format!(
                "{} is outside the project {}: Argo CD reads charts and value files from the repository, so commit it there",
                path.display(),
                self.root.display()
            ))
        })?;
        let rel = normalise(inside);
        Ok(if rel.is_empty() { ".".into() } else { rel })
    }
}

/// The absolute form of `path` with symlinks resolved as far as the path exists.
fn absolute(path: &Path) -> Result<PathBuf> {
    let cwd = std::env::current_dir().map_err(|e| Error::Internal(e.into()))?;
    let mut existing = cwd.join(path);
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(&existing) {
            return Ok(rest.into_iter().rev().fold(real, |acc: PathBuf, part| acc.join(part)));
        }
        match (existing.file_name().map(|f| f.to_os_string()), existing.parent().map(Path::to_path_buf)) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent;
            }
            _ => return Ok(cwd.join(path)),
        }
    }
}

/// Writes each Application to `DIR/<name>.yaml` and removes files an earlier run generated there
/// that this run no longer produces (a component disabled since, a renamed affix).
fn write_dir(dir: &Path, apps: &[Generated]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::data(dir, format!("cannot create: {e}")))?;
    let wanted: Vec<String> = apps.iter().map(Generated::file_name).collect();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::data(dir, format!("cannot read: {e}")))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let generated = std::fs::read_to_string(entry.path()).is_ok_and(|t| t.starts_with(GENERATED_HEADER));
        if name.ends_with(".yaml") && generated && !wanted.contains(&name) {
            std::fs::remove_file(entry.path()).map_err(|e| Error::data(entry.path(), format!("cannot remove: {e}")))?;
            println!("removed {}", entry.path().display());
        }
    }
    for app in apps {
        let path = dir.join(app.file_name());
        std::fs::write(&path, app.to_yaml()?).map_err(|e| Error::data(&path, format!("cannot write: {e}")))?;
        match app.wave {
            Some(w) => println!("wrote {} (wave {w})", path.display()),
            None => println!("wrote {} (parent)", path.display()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::DeployArgs;

    fn args() -> ArgocdArgs {
        ArgocdArgs {
            repo_url: Some("https://example.org/r.git".into()),
            target_revision: Some("main".into()),
            oci: None,
            chart_version: None,
            project: "default".into(),
            dest_server: "https://kubernetes.default.svc".into(),
            app_namespace: "argocd".into(),
            out: None,
            apps_path: None,
            no_parent: false,
            dev: None,
        }
    }

    fn settings(deploy: DeployArgs) -> Settings {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let catalog = Catalog::load(&root).unwrap();
        Settings::from_args(&DeployArgs { timeout: "10m".into(), ..deploy }, false, &catalog).unwrap()
    }

    #[test]
    fn dev_sets_namespace_and_affix_and_checks_conflicts() {
        let a = ArgocdArgs { dev: Some("eddie".into()), ..args() };
        let s = personal(&a, &settings(DeployArgs::default())).unwrap();
        assert_eq!(s.namespace.as_deref(), Some("dev-eddie"));
        assert_eq!(s.release(crate::component::Component::Panda), "dev-eddie-panda");
        assert_eq!(s.secrets_release(), "dev-eddie-secrets");
        let err = personal(&a, &settings(DeployArgs { namespace: Some("panda".into()), ..Default::default() })).unwrap_err();
        assert!(err.to_string().contains("-n says panda"), "{err}");
        let err = personal(&a, &settings(DeployArgs { affix: Some("x-".into()), ..Default::default() })).unwrap_err();
        assert!(err.to_string().contains("-a says"), "{err}");
        let ok = personal(&a, &settings(DeployArgs { affix: Some("dev-eddie-".into()), ..Default::default() }));
        assert!(ok.is_ok());
        let bad = personal(&ArgocdArgs { dev: Some("Eddie".into()), ..args() }, &settings(DeployArgs::default())).unwrap_err();
        assert_eq!(bad.exit_code(), exit_code::USAGE);
    }

    #[test]
    fn git_reference_needs_both_halves() {
        assert!(git_ref(&args()).unwrap().is_some());
        assert!(git_ref(&ArgocdArgs { target_revision: None, ..args() }).is_err());
        assert!(git_ref(&ArgocdArgs { repo_url: None, ..args() }).is_err());
        assert!(git_ref(&ArgocdArgs { repo_url: None, target_revision: None, ..args() }).unwrap().is_none());
    }

    #[test]
    fn apps_paths_stay_inside_the_repository() {
        assert_eq!(check_repo_path("./argocd/apps//panda").unwrap(), "argocd/apps/panda");
        assert!(check_repo_path("../elsewhere").is_err());
        assert!(check_repo_path("/abs").is_err());
        assert!(check_repo_path("").is_err());
    }

    #[test]
    fn repo_paths_are_relative_to_the_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("values/x")).unwrap();
        let repo = RepoPaths::new(dir.path()).unwrap();
        assert_eq!(repo.relative(&dir.path().join("values/x")).unwrap(), "values/x");
        assert_eq!(repo.relative(&dir.path().join("not/yet/there")).unwrap(), "not/yet/there");
        let outside = tempfile::tempdir().unwrap();
        assert_eq!(repo.relative(outside.path()).unwrap_err().exit_code(), exit_code::USAGE);
    }

    #[test]
    fn write_dir_replaces_its_own_files_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("stale.yaml"), format!("{GENERATED_HEADER}\nkind: Application\n")).unwrap();
        std::fs::write(dir.path().join("mine.yaml"), "kind: ConfigMap\n").unwrap();
        let git = GitRef { repo_url: "u".into(), revision: "r".into() };
        let target = Target {
            charts: ChartSource::Git(git.clone()),
            project: "default".into(),
            dest_server: "s".into(),
            app_namespace: "argocd".into(),
            namespace: "panda".into(),
            instance: "p".into(),
        };
        write_dir(dir.path(), &[manifest::parent(&git, "x", &target)]).unwrap();
        assert!(!dir.path().join("stale.yaml").exists());
        assert!(dir.path().join("mine.yaml").exists());
        assert!(std::fs::read_to_string(dir.path().join("p.yaml")).unwrap().starts_with(GENERATED_HEADER));
    }
}
