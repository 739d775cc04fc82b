//! `panda-install argocd`: Argo CD Applications generated from the same typed plan the CLI runs.
//!
//! Each component release of the plan becomes one Application: its chart path (Git) or OCI chart,
//! release name, values files (relative to the chart for Git, through a `$values` ref for OCI
//! charts) and `--set` pairs as parameters; the tier becomes the `argocd.argoproj.io/sync-wave`.
//! An app-of-apps parent tracks the directory the children are committed to. The secrets release
//! stays outside Argo CD; the generated files say how it is deployed. See docs/gitops.md.

mod image_updater;
pub(crate) mod manifest;
mod secrets;

use super::generated::{component_plan, write_dir as write_generated, GeneratedFile};
use super::inputs::{Access, Inputs};
use super::Context;
use crate::cli::args::{ClusterArgs, InstanceArgs};
use crate::cli::ArgocdArgs;
use crate::error::{Error, Result};
use crate::exit_code;
use crate::output;
use crate::settings::affix::Affix;
use crate::settings::instance::{AffixSource, Instance};
use crate::settings::site::Site;
use manifest::{ChartSource, Generated, GitRef, Located, Repo, Target, GENERATED_HEADER};
use std::path::{Component as PathPart, Path, PathBuf};

pub(crate) async fn run(args: &ArgocdArgs, ctx: &Context) -> Result<i32> {
    // --dev fixes the namespace and the affix before anything is read for them
    let (namespace, instance_args) = match &args.dev {
        Some(name) => {
            let flag = args.instance.affix.as_deref().map(Instance::from_flag).transpose()?;
            let (namespace, instance) = personal(name, flag.as_ref())?;
            (namespace, InstanceArgs { affix: Some(instance.affix.as_str().to_string()) })
        }
        None => (
            args.namespace.clone().ok_or_else(|| {
                Error::usage("argocd needs the destination namespace: -n NAMESPACE (or --dev NAME)")
            })?,
            args.instance.clone(),
        ),
    };
    let cluster = ClusterArgs { namespace: Some(namespace), ..Default::default() };
    let secrets_file = args.secrets.as_deref().map(|p| (p, &args.sops));
    let inputs = Inputs::resolve(
        ctx,
        &args.root,
        &instance_args,
        &args.select,
        secrets_file,
        &cluster,
        Access::Cluster,
    )
    .await?;
    if let Some(file) = &inputs.secrets {
        // the generated files tell how to deploy it: never one that would deploy a placeholder
        file.refuse_fixme(&inputs.catalog.secrets_chart)?;
    }
    let catalog = &inputs.catalog;
    let git = git_ref(args)?;
    let charts = match &args.oci {
        Some(repo) => {
            if !repo.starts_with("oci://") {
                return Err(Error::usage(format!("--oci {repo:?}: expected oci://REGISTRY/REPO")));
            }
            // the charts this binary embeds are published under its own version
            let version = args.chart_version.clone().unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string());
            ChartSource::Oci { repo: repo.clone(), version, values: git.clone() }
        }
        None => ChartSource::Git(git.clone().ok_or_else(|| {
            Error::usage(
                "argocd needs --repo-url URL and --target-revision REV (or --oci oci://REGISTRY/REPO)",
            )
        })?),
    };
    let site = Site::find(args.select.site.dir.as_deref())?;
    let target = Target {
        charts,
        site: site_ref(args, site.as_ref())?,
        project: args.project.clone(),
        dest_server: args.dest_server.clone(),
        app_namespace: args.app_namespace.clone(),
        namespace: inputs.target.namespace.clone(),
        instance: inputs.instance.affix.apply("panda-apps"),
        image_updater: match (&inputs.selection.experiment, args.no_image_updater) {
            (Some(e), false) => catalog.experiments[e].image_updater.clone(),
            _ => Default::default(),
        },
    };

    let p = component_plan(&inputs, Default::default(), "argocd")?;
    let repo = RepoPaths::new(&catalog.root)?;
    let site_dir = match &site {
        Some(s) => Some(RepoPaths::new(&s.dir)?),
        None => None,
    };
    let paths = Paths { tool: &repo, site: site_dir.as_ref() };
    let mut apps = manifest::children(&p, &target, &|path| paths.locate(path))?;
    let source = inputs.secrets.as_ref().map(|f| {
        let in_repo = paths.locate(&f.path).ok();
        if in_repo.is_some() && !f.is_encrypted() {
            output::note(&format!(
                "panda-install argocd: warning: {} is not encrypted and lies in the repository: never commit it \
                 (encrypt it: `sops encrypt -i --age RECIPIENT {}`)",
                f.path.display(),
                f.path.display()
            ));
        }
        secrets::SecretsSource {
            shown: in_repo.map_or_else(|| f.path.display().to_string(), |l| l.path),
            encrypted: f.is_encrypted(),
        }
    });
    let site_repo =
        site.as_ref().map(|_| target.site.as_ref().map_or("(the site repository)", |g| g.repo_url.as_str()));
    let instructions = secrets::instructions(&inputs.instance, &target.namespace, source.as_ref(), site_repo);

    if !args.no_parent {
        // with a site, the Applications are committed to the site repository, else to the tool's
        let (git, apps_root, what) = match &site_dir {
            Some(dir) => (target.site.clone(), dir, "the site directory"),
            None => (git, &repo, "the project"),
        };
        let git = git.ok_or_else(|| {
            Error::usage(if site_dir.is_some() {
                "the app-of-apps parent tracks the site repository: give --site-repo-url and --site-revision (or `repository:` in panda-site.yaml), or --no-parent"
            } else {
                "the app-of-apps parent tracks a Git repository: give --repo-url and --target-revision, or --no-parent"
            })
        })?;
        let apps_path = match (&args.apps_path, &args.out) {
            (Some(p), _) => check_repo_path(p)?,
            (None, Some(out)) => apps_root.relative(out).map_err(|_| {
                Error::usage(format!(
                    "--out {} is outside {what}: say where it is committed with --apps-path",
                    out.display()
                ))
            })?,
            (None, None) => {
                return Err(Error::usage(
                    "the parent needs --apps-path PATH (or --out DIR inside the project), or --no-parent",
                ))
            }
        };
        let parent = manifest::parent(&git, &apps_path, &target);
        for child in &mut apps {
            child.comment = secrets::pointer(&inputs.instance, &parent.file_name());
        }
        apps.push(manifest::Generated { comment: instructions, ..parent });
    } else {
        for child in &mut apps {
            child.comment = instructions.clone();
        }
    }

    match &args.out {
        None => {
            let mut text = String::new();
            for (i, app) in apps.iter().enumerate() {
                if i > 0 {
                    text.push_str("---\n");
                }
                text.push_str(&app.to_yaml()?);
            }
            output::print(&text)?;
        }
        Some(dir) => write_dir(dir, &apps)?,
    }
    Ok(exit_code::SUCCESS)
}

/// `--dev NAME`: the namespace and affix of a personal instance, checked against -a.
fn personal(name: &str, flag: Option<&Instance>) -> Result<(String, Instance)> {
    let namespace = format!("dev-{name}");
    let affix =
        Affix::parse(&format!("{namespace}-")).map_err(|m| Error::usage(format!("--dev {name:?}: {m}")))?;
    if let Some(instance) = flag.filter(|i| i.affix != affix) {
        return Err(Error::usage(format!(
            "--dev {name} uses affix {affix:?}, but -a says {:?}",
            instance.affix.as_str()
        )));
    }
    Ok((namespace, Instance { affix, source: AffixSource::Flag }))
}

/// The site repository: `--site-repo-url`/`--site-revision`, else `repository:` of panda-site.yaml.
fn site_ref(args: &ArgocdArgs, site: Option<&Site>) -> Result<Option<GitRef>> {
    let Some(site) = site else {
        return match args.site_repo_url.is_some() || args.site_revision.is_some() {
            true => Err(Error::usage(
                "--site-repo-url/--site-revision name a site's repository, but this run reads no site \
                 (--site DIR, PANDA_INSTALL_SITE or a panda-site.yaml here or above)",
            )),
            false => Ok(None),
        };
    };
    let marker = site.repository.as_ref();
    let url = args.site_repo_url.clone().or_else(|| marker.map(|r| r.url.clone()));
    let revision = args.site_revision.clone().or_else(|| marker.map(|r| r.revision.clone()));
    match (url, revision) {
        (Some(url), Some(revision)) if !url.is_empty() && !revision.is_empty() => {
            Ok(Some(GitRef { repo_url: url, revision }))
        }
        (None, None) => Ok(None),
        _ => Err(Error::usage(
            "--site-repo-url and --site-revision go together (a branch, tag or commit of the site repository), neither empty",
        )),
    }
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
    if path.is_empty()
        || p.is_absolute()
        || p.components().any(|c| !matches!(c, PathPart::Normal(_) | PathPart::CurDir))
    {
        return Err(Error::usage(format!(
            "--apps-path {path:?}: expected a path relative to the repository root, without '..'"
        )));
    }
    Ok(normalise(p))
}

fn normalise(p: &Path) -> String {
    p.components()
        .filter_map(|c| match c {
            PathPart::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Where Argo CD finds a file of the plan: in the site directory (the site repository), else in
/// the charts' root (the tool's repository).
struct Paths<'a> {
    tool: &'a RepoPaths,
    site: Option<&'a RepoPaths>,
}

impl Paths<'_> {
    fn locate(&self, path: &Path) -> Result<Located> {
        let Some(site) = self.site else {
            return Ok(Located { repo: Repo::Tool, path: self.tool.relative(path)? });
        };
        if let Ok(p) = site.relative(path) {
            return Ok(Located { repo: Repo::Site, path: p });
        }
        self.tool.relative(path).map(|p| Located { repo: Repo::Tool, path: p }).map_err(|_| {
            Error::usage(format!(
                "{} is outside the site directory {} and the charts' root {}: Argo CD reads value files from \
                 the site repository or the tool's, so move it into the site",
                path.display(),
                site.root.display(),
                self.tool.root.display()
            ))
        })
    }
}

/// Turns paths of the plan (relative to the current directory, or absolute) into paths relative
/// to the project root, which is the root of the Git repository Argo CD reads.
struct RepoPaths {
    root: PathBuf,
}

impl RepoPaths {
    fn new(root: &Path) -> Result<RepoPaths> {
        let root = if root.as_os_str().is_empty() { Path::new(".") } else { root };
        let root =
            std::fs::canonicalize(root).map_err(|e| Error::data(root, format!("cannot resolve: {e}")))?;
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

/// Writes each Application to `DIR/<name>.yaml`; see [`super::generated`].
fn write_dir(dir: &Path, apps: &[Generated]) -> Result<()> {
    let files = apps
        .iter()
        .map(|app| {
            Ok(GeneratedFile {
                name: app.file_name(),
                text: app.to_yaml()?,
                what: app.wave.map_or("parent".into(), |w| format!("wave {w}")),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    write_generated(dir, &files, GENERATED_HEADER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ArgocdArgs {
        ArgocdArgs {
            instance: Default::default(),
            select: Default::default(),
            namespace: None,
            secrets: None,
            sops: Default::default(),
            root: Default::default(),
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
            no_image_updater: false,
            dev: None,
            site_repo_url: None,
            site_revision: None,
        }
    }

    #[test]
    fn dev_sets_namespace_and_affix_and_checks_conflicts() {
        let (ns, i) = personal("eddie", None).unwrap();
        assert_eq!(ns, "dev-eddie");
        assert_eq!(i.release(crate::settings::component::Component::Panda), "dev-eddie-panda");
        assert_eq!(i.secrets_release(), "dev-eddie-secrets");
        let err = personal("eddie", Some(&Instance::from_flag("x-").unwrap())).unwrap_err();
        assert!(err.to_string().contains("-a says"), "{err}");
        assert!(personal("eddie", Some(&Instance::from_flag("dev-eddie-").unwrap())).is_ok());
        assert_eq!(personal("Eddie", None).unwrap_err().exit_code(), exit_code::USAGE);
    }

    #[test]
    fn git_reference_needs_both_halves() {
        assert!(git_ref(&args()).unwrap().is_some());
        assert!(git_ref(&ArgocdArgs { target_revision: None, ..args() }).is_err());
        assert!(git_ref(&ArgocdArgs { repo_url: None, ..args() }).is_err());
        assert!(git_ref(&ArgocdArgs { repo_url: None, target_revision: None, ..args() }).unwrap().is_none());
    }

    #[test]
    fn the_site_repository_comes_from_the_flags_else_the_marker() {
        let marker = Some(crate::settings::site::Repository {
            url: "https://m/site.git".into(),
            revision: "main".into(),
        });
        let site = Site { dir: "s".into(), extends: Default::default(), repository: marker };
        let from_marker = site_ref(&args(), Some(&site)).unwrap().unwrap();
        assert_eq!(
            (from_marker.repo_url.as_str(), from_marker.revision.as_str()),
            ("https://m/site.git", "main")
        );
        let flags = ArgocdArgs {
            site_repo_url: Some("https://f/site.git".into()),
            site_revision: Some("v2".into()),
            ..args()
        };
        let from_flags = site_ref(&flags, Some(&site)).unwrap().unwrap();
        assert_eq!(
            (from_flags.repo_url.as_str(), from_flags.revision.as_str()),
            ("https://f/site.git", "v2")
        );
        let bare = Site { repository: None, ..site };
        assert_eq!(site_ref(&args(), Some(&bare)).unwrap(), None);
        let half = ArgocdArgs { site_repo_url: Some("https://f/site.git".into()), ..args() };
        assert_eq!(site_ref(&half, Some(&bare)).unwrap_err().exit_code(), exit_code::USAGE);
        assert_eq!(site_ref(&flags, None).unwrap_err().exit_code(), exit_code::USAGE, "no site to name");
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
        std::fs::write(dir.path().join("stale.yaml"), format!("{GENERATED_HEADER}\nkind: Application\n"))
            .unwrap();
        std::fs::write(dir.path().join("mine.yaml"), "kind: ConfigMap\n").unwrap();
        let git = GitRef { repo_url: "u".into(), revision: "r".into() };
        let target = Target {
            charts: ChartSource::Git(git.clone()),
            project: "default".into(),
            dest_server: "s".into(),
            app_namespace: "argocd".into(),
            namespace: "panda".into(),
            instance: "p".into(),
            image_updater: Default::default(),
            site: None,
        };
        write_dir(dir.path(), &[manifest::parent(&git, "x", &target)]).unwrap();
        assert!(!dir.path().join("stale.yaml").exists());
        assert!(dir.path().join("mine.yaml").exists());
        assert!(std::fs::read_to_string(dir.path().join("p.yaml")).unwrap().starts_with(GENERATED_HEADER));
    }
}
