//! What the user typed: the clap definition of every command, each declaring only the flags that
//! mean something for it (shared groups live in [`args`]). Nothing here validates or runs anything.

pub(crate) mod args;

use args::{
    ClusterArgs, ComponentArgs, DeployArgs, EncryptArgs, HelmArgs, InstanceArgs, OutputArgs, RootArgs,
    SelectArgs, SiteArgs, SopsArgs, WaitArgs,
};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Deploys the PanDA workload-management system onto Kubernetes with helm, in dependency tiers.
///
/// The bare form installs or upgrades (`panda-install -c panda -e lsst`); `--dry-run` prints the
/// plan instead and `--template` renders the manifests with `helm template`. Every other command
/// is a subcommand with flags of its own: `panda-install <command> --help`.
#[derive(Debug, Parser)]
#[command(
    name = "panda-install",
    version,
    about,
    long_about = None,
    disable_version_flag = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,

    /// The bare form: install or upgrade.
    #[command(flatten)]
    pub(crate) install: InstallArgs,

    /// Print the version (with -v: the charts' versions and digest, and where they are read from,
    /// as `panda-install version` does).
    #[arg(short = 'V', long = "version")]
    pub(crate) version: bool,

    /// More detail on stderr (-v: the plan and helm's version, -vv: debug logs of panda-install).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,
}

impl Cli {
    /// Parses a command line, refusing the bare form's flags in front of a subcommand
    /// (`panda-install -c panda status`): each command takes only its own flags. `-v` is global.
    pub(crate) fn parse_checked<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::{CommandFactory, FromArgMatches};
        let mut cmd = Cli::command();
        let matches = cmd.try_get_matches_from_mut(args)?;
        if let Some((sub, _)) = matches.subcommand() {
            let misplaced = matches.ids().map(|id| id.as_str()).find(|id| {
                *id != "verbose" && matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
            });
            if let Some(id) = misplaced {
                let flag = cmd
                    .get_arguments()
                    .find(|a| a.get_id().as_str() == id)
                    .and_then(|a| a.get_long())
                    .map_or(id.to_string(), |l| format!("--{l}"));
                return Err(cmd.error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!("{flag} belongs to the bare install form; give `{sub}` its own flags after the command name"),
                ));
            }
        }
        Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Install or upgrade, tier by tier (the same as the bare form).
    Install(InstallArgs),
    /// Print the ordered plan (tiers, releases, shell-quoted helm commands) and run nothing.
    Plan(PlanArgs),
    /// Report the health of a deployed instance: per release the workloads ready/desired, missing
    /// objects and pending states. Exits 3 when anything is not healthy.
    Status(StatusArgs),
    /// Show what an install would change, per release and object, against the live cluster
    /// (Secret values redacted). Exits 0 when nothing would change, 2 when something would.
    Diff(DiffArgs),
    /// Check the cluster's prerequisites for what an install with the same arguments would
    /// deploy (Kubernetes version, Pod Security, storage, CVMFS, nodes, ingress controller or
    /// Gateway API, secrets release). Exits 0 when nothing fails, 75 when a check fails.
    Doctor(DoctorArgs),
    /// Uninstall releases in reverse tier order, each tier gone before the next.
    Uninstall(UninstallArgs),
    /// Roll releases left pending by an interrupted run back to their last deployed revision
    /// (uninstall those never deployed).
    Recover(RecoverArgs),
    /// Create or deploy the secrets release's values.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Manage a site directory: the site's own experiments, values, site files and secrets
    /// (docs/site.md).
    #[command(subcommand)]
    Site(SiteCommand),
    /// Write Argo CD Applications (one per component, sync waves from the tiers) and their parent.
    Argocd(ArgocdArgs),
    /// Write Flux objects (per component an OCIRepository, its values ConfigMap and a HelmRelease
    /// with dependsOn from the tiers), from the same plan.
    Flux(FluxArgs),
    /// Package every chart into a directory and optionally push them to an OCI registry.
    Package(PackageArgs),
    /// Read an upstream panda-k8s checkout (its secrets values, experiment files and site files)
    /// and write the same settings for panda-install, with a report of what could not be mapped.
    Import(ImportArgs),
    /// Copy a database whose layout changed (Harvester's and IAM's MariaDB, iDDS' PostgreSQL) from
    /// the old deployment into the new one, with Jobs the command renders, and check row counts.
    MigrateData(MigrateDataArgs),
    /// Print the least-privilege RBAC objects (YAML): the Role of the commands that change the
    /// namespace, the read-only Role of status/diff/doctor, the optional ClusterRoles.
    Rbac(RbacArgs),
    /// Compare the deployed PanDA versions with the planned ones against the compatibility table
    /// and print the upgrade's steps (backup, schema patches, workloads); exits 75 when the table
    /// refuses the planned combination. `--restore` runs the restore Job of the latest backup.
    UpgradePlan(UpgradePlanArgs),
    /// Print a shell completion script (components, sub-components and experiments included).
    Completions(CompletionsArgs),
    /// Print the manual page (roff) to stdout.
    Man,
    /// Print the binary's version, the charts' versions and their digest, and where the charts
    /// are read from (a checkout, or the copy embedded in the binary).
    Version(VersionArgs),
}

/// `install` and the bare form.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct InstallArgs {
    #[command(flatten)]
    pub(crate) deploy: DeployArgs,

    /// Print the plan and run nothing (same as the `plan` command).
    #[arg(long, conflicts_with = "template")]
    pub(crate) dry_run: bool,

    /// Render the manifests with `helm template` (real release names and namespace) to stdout;
    /// nothing touches the cluster.
    #[arg(
        short,
        long,
        conflicts_with_all = [
            "no_wait", "timeout", "concurrency", "rollback_on_failure", "force_upgrade", "recover",
            "create_namespace", "output", "kube_context", "adopt"
        ]
    )]
    pub(crate) template: bool,

    /// Take over what an upstream deployment left in the namespace (docs/moving-in.md): objects
    /// with the planned names owned by another helm release, Argo CD or nobody, and old workloads
    /// running against the same databases. Without it such a namespace is refused (exit 75) with
    /// a report saying, per object, what --adopt would do.
    #[arg(long, conflicts_with = "dry_run")]
    pub(crate) adopt: bool,
}

/// `import`: an upstream checkout in, our files out.
#[derive(Debug, Args, Clone)]
pub(crate) struct ImportArgs {
    /// The upstream panda-k8s checkout (or a directory holding its secrets/values.yaml and
    /// helm/<chart>/values/values-<experiment>.yaml files).
    #[arg(value_name = "PATH")]
    pub(crate) path: PathBuf,
    /// Where to write: secrets-values.yaml (mode 0600), secrets/files/, values/<experiment>/ and
    /// import-report.md. Use the panda-install checkout to deploy from it directly: its
    /// .gitignore covers every file holding secrets; in a git work tree without such rules the
    /// import refuses to write them (exit 73).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    #[command(flatten)]
    pub(crate) encryption: EncryptArgs,
    /// Upstream experiments to import (comma-separated, upstream names: cern, atlas_testbed, lsst,
    /// ...; default: every one found). cern becomes doma.
    #[arg(short, long = "experiment", value_delimiter = ',', value_name = "LIST")]
    pub(crate) experiments: Vec<String>,
    /// How the upstream deployment was installed, which decides its release and claim names and
    /// the Harvester ID it runs with.
    #[arg(long, value_enum, default_value_t = InstalledBy::BinInstall)]
    pub(crate) installed_by: InstalledBy,
    /// The affix bin/install was run with (`-a`); default: `affix` of the upstream secrets values,
    /// else `test-` (bin/install's own rule).
    #[arg(long, allow_hyphen_values = true, value_name = "AFFIX")]
    pub(crate) upstream_affix: Option<String>,
    /// Replace files in DIR that differ from what this import writes (default: refuse, naming them).
    #[arg(long)]
    pub(crate) force: bool,
}

/// How an upstream deployment was installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum InstalledBy {
    /// bin/install: helm releases `<affix><component>`.
    BinInstall,
    /// The Argo CD Applications of argocd-apps/ (panda, panda-harvester, ...).
    Argocd,
}

/// `migrate-data`: one database, dumped from the old deployment or restored into the new one.
#[derive(Debug, Args, Clone)]
pub(crate) struct MigrateDataArgs {
    /// dump (from the old database, before the switch) or restore (into the new one, after it).
    #[arg(value_enum)]
    pub(crate) phase: crate::plan::migrate::Phase,
    /// The store: harvester-mariadb, iam-mariadb or idds-postgres.
    #[arg(value_enum)]
    pub(crate) store: crate::plan::migrate::Store,
    /// dump: host (Service) of the old database, e.g. test-harvester-mariadb; restore: of the new
    /// one (default: the instance's own, from the affix).
    #[arg(long, value_name = "HOST")]
    pub(crate) host: Option<String>,
    /// The Secret holding the database credentials (default: the instance's own secrets release,
    /// e.g. test-secrets-harvester-envs; for a dump give the old one, e.g. panda-secrets-harvester-envs).
    #[arg(long, value_name = "SECRET")]
    pub(crate) secret: Option<String>,
    /// The claim the dump is written to and read from (created by dump, kept).
    #[arg(long, value_name = "CLAIM")]
    pub(crate) claim: Option<String>,
    /// Size of that claim.
    #[arg(long, default_value = "10Gi", value_name = "SIZE")]
    pub(crate) size: String,
    /// The database to copy (default: harvester, iam_db or idds_db, upstream's defaults).
    #[arg(long, value_name = "NAME")]
    pub(crate) database: Option<String>,
    /// The Job's image (default: the new database's image as the charts derive it from the
    /// experiment's values, registry mirrors applied, e.g. docker.io/library/mariadb:11.4.7); for a
    /// registry-less cluster. It must carry the same engine's client tools.
    #[arg(long, value_name = "REF")]
    pub(crate) image: Option<String>,
    /// Experiment whose values decide the Job's image and pull Secrets (`global.imageRegistryMirrors`,
    /// `global.imagePullSecrets`, the database sub-chart's `image` and `imagePullSecrets`), as install
    /// layers them.
    #[arg(short, long, value_name = "NAME")]
    pub(crate) experiment: Option<String>,
    /// Extra values for the store's component, layered last as for install (repeatable):
    /// `--values harvester=site.yaml`.
    #[arg(long = "values", value_name = "COMPONENT=FILE")]
    pub(crate) values: Vec<String>,
    #[command(flatten)]
    pub(crate) site: crate::cli::args::SiteArgs,
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
    /// Print the Job (and claim) and change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    #[command(flatten)]
    pub(crate) wait: WaitArgs,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    #[command(flatten)]
    pub(crate) root: RootArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// `plan`: the install's flags without the mode switches.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    pub(crate) deploy: DeployArgs,
}

#[derive(Debug, Args, Clone, Default)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
    /// Comma-separated components to report (default: every release of the instance).
    #[arg(short = 'c', long = "enable", value_delimiter = ',', value_name = "LIST")]
    pub(crate) enable: Vec<String>,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    #[command(flatten)]
    pub(crate) helm: HelmArgs,
    #[command(flatten)]
    pub(crate) root: RootArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

#[derive(Debug, Args, Clone, Default)]
pub(crate) struct DiffArgs {
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
    #[command(flatten)]
    pub(crate) select: SelectArgs,
    /// Values file of the secrets release (plain or sops-encrypted): diff the secrets release too.
    #[arg(long, value_name = "FILE")]
    pub(crate) secrets: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) sops: SopsArgs,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    #[command(flatten)]
    pub(crate) helm: HelmArgs,
    #[command(flatten)]
    pub(crate) root: RootArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// `upgrade-plan`: the same selection and inputs as `diff`.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct UpgradePlanArgs {
    #[command(flatten)]
    pub(crate) inputs: DiffArgs,
    /// Restore PanDA's database from the latest backup the upgrade took (a Job with the deployed
    /// database image), instead of printing the plan. Roll the workloads back first (docs/moving-in.md).
    #[arg(long)]
    pub(crate) restore: bool,
}

/// `doctor`: the selection an install would deploy, and where.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
    #[command(flatten)]
    pub(crate) select: SelectArgs,
    /// Values file of the secrets release the install would deploy, plain or sops-encrypted
    /// (checked for FIXME instead of the deployed secrets release).
    #[arg(long, value_name = "FILE")]
    pub(crate) secrets: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) sops: SopsArgs,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    #[command(flatten)]
    pub(crate) helm: HelmArgs,
    #[command(flatten)]
    pub(crate) root: RootArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

#[derive(Debug, Args, Clone, Default)]
pub(crate) struct UninstallArgs {
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
    #[command(flatten)]
    pub(crate) components: ComponentArgs,
    /// Also delete the PersistentVolumeClaims of the releases (their data is lost).
    #[arg(long)]
    pub(crate) delete_data: bool,
    /// Also uninstall the secrets release, last.
    #[arg(long)]
    pub(crate) with_secrets: bool,
    /// Print what would be uninstalled (and which claims deleted or kept) and change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    #[command(flatten)]
    pub(crate) wait: WaitArgs,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    #[command(flatten)]
    pub(crate) helm: HelmArgs,
    #[command(flatten)]
    pub(crate) root: RootArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

#[derive(Debug, Args, Clone, Default)]
pub(crate) struct RecoverArgs {
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
    #[command(flatten)]
    pub(crate) components: ComponentArgs,
    /// Print the rollbacks and uninstalls it would run and change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Also recover releases that became pending less than --timeout ago (by default refused:
    /// a helm run of someone else, CI or Flux may still be working on them).
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) wait: WaitArgs,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    #[command(flatten)]
    pub(crate) helm: HelmArgs,
    #[command(flatten)]
    pub(crate) root: RootArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SiteCommand {
    /// Scaffold a site directory: panda-site.yaml, experiments/<NAME>/experiment.yaml,
    /// .gitignore (plaintext secrets) and a .sops.yaml template. Refused inside the tool's own
    /// checkout (exit 64) and where a panda-site.yaml exists (exit 65).
    Init(SiteInitArgs),
}

#[derive(Debug, Args, Clone)]
pub(crate) struct SiteInitArgs {
    /// The directory to make a site of (created when missing).
    #[arg(id = "site_dir", value_name = "DIR", default_value = ".")]
    pub(crate) dir: PathBuf,
    /// A bundled experiment the site's experiment extends (its values and site files come first).
    #[arg(long, value_name = "EXPERIMENT")]
    pub(crate) from: Option<String>,
    /// The site experiment's name (default: --from's name, so that `-e` keeps its name; else
    /// `site`).
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    #[command(flatten)]
    pub(crate) root: RootArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SecretsCommand {
    /// Write a secrets values file with strong random passwords (mode 0600); FIXME stays only
    /// where a human must decide (OIDC clients, host names, external credentials).
    Init(SecretsInitArgs),
    /// Install or upgrade the secrets release from a values file (refused while a FIXME is left).
    Deploy(SecretsDeployArgs),
    /// Open a sops-encrypted secrets file in your editor through `sops edit`, then check it.
    Edit(SecretsEditArgs),
    /// Regenerate the generated passwords of a secrets file (encrypted or plain) and say which
    /// workloads must restart after the next `secrets deploy`.
    Rotate(SecretsRotateArgs),
}

#[derive(Debug, Args, Clone)]
pub(crate) struct SecretsInitArgs {
    /// Where to write it.
    #[arg(long, default_value = "secrets-values.yaml", value_name = "FILE")]
    pub(crate) out: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) encryption: EncryptArgs,
    #[command(flatten)]
    pub(crate) root: RootArgs,
}

#[derive(Debug, Args, Clone)]
pub(crate) struct SecretsEditArgs {
    /// The sops-encrypted secrets file.
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) sops: SopsArgs,
}

#[derive(Debug, Args, Clone)]
pub(crate) struct SecretsRotateArgs {
    /// The secrets file, sops-encrypted (rotated through sops, never decrypted to disk) or plain.
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// Comma-separated values to rotate (default: every generated one the file sets), e.g.
    /// `msgsvc.basePassword,bigmon.secretKey`.
    #[arg(long, value_delimiter = ',', value_name = "KEYS")]
    pub(crate) only: Vec<String>,
    /// Say what would be rotated and restarted; change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    #[command(flatten)]
    pub(crate) sops: SopsArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

#[derive(Debug, Args, Clone)]
pub(crate) struct SecretsDeployArgs {
    /// The secrets values file, plain or sops-encrypted (decrypted in memory, given to helm on
    /// stdin).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) sops: SopsArgs,
    /// The instance's affix (default: `affix` in the file, else `test-`).
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
    /// Print the helm command it would run and change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Create the namespace if it does not exist.
    #[arg(long)]
    pub(crate) create_namespace: bool,
    /// Take over a same-named secrets release (or Secrets) an upstream deployment left in the
    /// namespace, as `install --adopt` does; without it such a namespace is refused (exit 75).
    #[arg(long, conflicts_with = "dry_run")]
    pub(crate) adopt: bool,
    #[command(flatten)]
    pub(crate) wait: WaitArgs,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    #[command(flatten)]
    pub(crate) helm: HelmArgs,
    #[command(flatten)]
    pub(crate) root: RootArgs,
    #[command(flatten)]
    pub(crate) site: SiteArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ArgocdArgs {
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
    #[command(flatten)]
    pub(crate) select: SelectArgs,
    /// Namespace the components are deployed to (Argo CD's destination namespace).
    #[arg(short, long, value_name = "NAMESPACE")]
    pub(crate) namespace: Option<String>,

    /// The secrets values file the secrets release is deployed with, outside Argo CD (plain, or
    /// sops-encrypted and committed): `affix` and `cric.real` are read from it, and the generated
    /// Applications name it.
    #[arg(long, value_name = "FILE")]
    pub(crate) secrets: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) sops: SopsArgs,

    /// Git repository Argo CD reads helm/, values/ and the generated Applications from.
    #[arg(long, value_name = "URL")]
    pub(crate) repo_url: Option<String>,

    /// Branch, tag or commit of --repo-url to track.
    #[arg(long, value_name = "REV")]
    pub(crate) target_revision: Option<String>,

    /// Git repository Argo CD reads the site's files from (`$site/experiments/...`) and, with a
    /// site, the generated Applications (default: `repository.url` of panda-site.yaml).
    #[arg(long, value_name = "URL")]
    pub(crate) site_repo_url: Option<String>,

    /// Branch, tag or commit of --site-repo-url to track (default: `repository.revision` of
    /// panda-site.yaml).
    #[arg(long, value_name = "REV")]
    pub(crate) site_revision: Option<String>,

    /// Take the charts from this OCI repository (`oci://ghcr.io/OWNER/REPO`, as `package --push`
    /// publishes them) instead of Git; value files still come from --repo-url.
    #[arg(long, value_name = "oci://REGISTRY/REPO")]
    pub(crate) oci: Option<String>,

    /// The chart version to deploy from --oci (default: this binary's version, the version of the
    /// charts it embeds).
    #[arg(long, value_name = "VERSION", requires = "oci")]
    pub(crate) chart_version: Option<String>,

    /// Argo CD project of every Application.
    #[arg(long, default_value = "default", value_name = "PROJECT")]
    pub(crate) project: String,

    /// Cluster the components are deployed to (Argo CD's destination server).
    #[arg(long, default_value = "https://kubernetes.default.svc", value_name = "URL")]
    pub(crate) dest_server: String,

    /// Namespace Argo CD watches for Applications.
    #[arg(long, default_value = "argocd", value_name = "NAMESPACE")]
    pub(crate) app_namespace: String,

    /// Write one file per Application into DIR (default: all of them to stdout). Files an earlier
    /// run generated there and this one does not are removed.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,

    /// Path in the repository where the child Applications are committed, which the parent
    /// tracks (default: --out, relative to the project root).
    #[arg(long, value_name = "PATH")]
    pub(crate) apps_path: Option<String>,

    /// Write the component Applications only, no app-of-apps parent.
    #[arg(long)]
    pub(crate) no_parent: bool,

    /// Leave out Argo CD Image Updater (annotations and ImageUpdater objects) even where the
    /// experiment's `imageUpdater` asks for it: for clusters that do not run Image Updater, whose
    /// CRD the parent Application could not apply.
    #[arg(long)]
    pub(crate) no_image_updater: bool,

    /// Personal development instance: namespace `dev-NAME`, affix `dev-NAME-` (releases and
    /// Applications `dev-NAME-<component>`, secrets release `dev-NAME-secrets`).
    #[arg(long, value_name = "NAME", conflicts_with = "namespace")]
    pub(crate) dev: Option<String>,

    #[command(flatten)]
    pub(crate) root: RootArgs,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct FluxArgs {
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
    #[command(flatten)]
    pub(crate) select: SelectArgs,
    /// Namespace of the releases and of the Flux objects.
    #[arg(short, long, value_name = "NAMESPACE")]
    pub(crate) namespace: Option<String>,

    /// The secrets values file the secrets release is deployed with, outside Flux (plain or
    /// sops-encrypted): `affix` and `cric.real` are read from it.
    #[arg(long, value_name = "FILE")]
    pub(crate) secrets: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) sops: SopsArgs,

    /// The OCI repository `package --push` published the charts to (`oci://REGISTRY/REPO`).
    #[arg(long, value_name = "oci://REGISTRY/REPO")]
    pub(crate) oci: String,

    /// The chart version every component is installed at (default: this binary's version, the
    /// version of the charts it embeds).
    #[arg(long, value_name = "VERSION", default_value = env!("CARGO_PKG_VERSION"))]
    pub(crate) chart_version: String,

    /// The registry speaks plain HTTP (a local registry without TLS).
    #[arg(long)]
    pub(crate) plain_http: bool,

    /// A kubernetes.io/dockerconfigjson Secret in the namespace for a private registry.
    #[arg(long, value_name = "NAME")]
    pub(crate) oci_secret: Option<String>,

    /// helm's wait per release (HelmRelease spec.timeout; a Go duration). Default: 10m.
    #[arg(long, value_name = "DURATION")]
    pub(crate) timeout: Option<String>,

    /// Write one file per component into DIR (default: all to stdout). Files an earlier run
    /// generated there and this one does not are removed.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) root: RootArgs,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct PackageArgs {
    /// Comma-separated components whose charts to package (default: all; the library always).
    #[arg(short = 'c', long = "enable", value_delimiter = ',', value_name = "LIST")]
    pub(crate) enable: Vec<String>,

    /// Directory the chart archives are written to.
    #[arg(long, default_value = "dist", value_name = "DIR")]
    pub(crate) out: PathBuf,

    /// Push every archive to this OCI repository (`oci://ghcr.io/OWNER/REPO`); chart NAME at
    /// VERSION lands at `<REPO>/NAME:VERSION`. Log in first with `helm registry login`.
    #[arg(long, value_name = "oci://REGISTRY/REPO")]
    pub(crate) push: Option<String>,

    /// Push even the versions the registry already has with different content (overwrites
    /// them). Without it, a version published with the same content is reported and skipped, one
    /// with different content makes the run fail before any push.
    #[arg(long, requires = "push")]
    pub(crate) force: bool,

    /// Talk to the registry over plain HTTP (a local registry without TLS).
    #[arg(long, requires = "push")]
    pub(crate) plain_http: bool,

    /// Package nothing and push nothing: print the helm commands it would run.
    #[arg(long)]
    pub(crate) dry_run: bool,

    #[command(flatten)]
    pub(crate) helm: HelmArgs,
    #[command(flatten)]
    pub(crate) root: RootArgs,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
    #[command(flatten)]
    pub(crate) site: SiteArgs,
    #[command(flatten)]
    pub(crate) root: RootArgs,
}

/// `rbac`: where the Roles go and whom to bind them to.
#[derive(Debug, Args, Clone)]
pub(crate) struct RbacArgs {
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    /// Also print bindings of the deployer Role and the cluster reads to this ServiceAccount of
    /// the namespace.
    #[arg(long, value_name = "NAME")]
    pub(crate) service_account: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct VersionArgs {
    #[command(flatten)]
    pub(crate) root: RootArgs,
}

#[cfg(test)]
mod tests;
