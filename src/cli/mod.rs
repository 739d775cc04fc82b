//! What the user typed: the clap definition of every command, each declaring only the flags that
//! mean something for it (shared groups live in [`args`]). Nothing here validates or runs anything.

pub(crate) mod args;

use args::{
    ClusterArgs, ComponentArgs, DeployArgs, HelmArgs, InstanceArgs, OutputArgs, RootArgs, SelectArgs,
    WaitArgs,
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
    propagate_version = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,

    /// The bare form: install or upgrade.
    #[command(flatten)]
    pub(crate) install: InstallArgs,

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
    /// Write Argo CD Applications (one per component, sync waves from the tiers) and their parent.
    Argocd(ArgocdArgs),
    /// Package every chart into a directory and optionally push them to an OCI registry.
    Package(PackageArgs),
    /// Print a shell completion script (components, sub-components and experiments included).
    Completions(CompletionsArgs),
    /// Print the manual page (roff) to stdout.
    Man,
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
            "create_namespace", "output", "kube_context"
        ]
    )]
    pub(crate) template: bool,
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
    /// Values file of the secrets release: diff the secrets release too.
    #[arg(long, value_name = "FILE")]
    pub(crate) secrets: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    #[command(flatten)]
    pub(crate) helm: HelmArgs,
    #[command(flatten)]
    pub(crate) root: RootArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// `doctor`: the selection an install would deploy, and where.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
    #[command(flatten)]
    pub(crate) select: SelectArgs,
    /// Values file of the secrets release the install would deploy (checked for FIXME instead of
    /// the deployed secrets release).
    #[arg(long, value_name = "FILE")]
    pub(crate) secrets: Option<PathBuf>,
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
pub(crate) enum SecretsCommand {
    /// Write a secrets values file with strong random passwords (mode 0600); FIXME stays only
    /// where a human must decide (OIDC clients, host names, external credentials).
    Init(SecretsInitArgs),
    /// Install or upgrade the secrets release from a values file (refused while a FIXME is left).
    Deploy(SecretsDeployArgs),
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
    pub(crate) root: RootArgs,
}

#[derive(Debug, Args, Clone)]
pub(crate) struct SecretsDeployArgs {
    /// The secrets values file.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// The instance's affix (default: `affix` in the file, else `test-`).
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
    /// Print the helm command it would run and change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Create the namespace if it does not exist.
    #[arg(long)]
    pub(crate) create_namespace: bool,
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

#[derive(Debug, Clone, Args)]
pub(crate) struct ArgocdArgs {
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
    #[command(flatten)]
    pub(crate) select: SelectArgs,
    /// Namespace the components are deployed to (Argo CD's destination namespace).
    #[arg(short, long, value_name = "NAMESPACE")]
    pub(crate) namespace: Option<String>,

    /// Git repository Argo CD reads helm/, values/ and the generated Applications from.
    #[arg(long, value_name = "URL")]
    pub(crate) repo_url: Option<String>,

    /// Branch, tag or commit of --repo-url to track.
    #[arg(long, value_name = "REV")]
    pub(crate) target_revision: Option<String>,

    /// Take the charts from this OCI repository (`oci://ghcr.io/OWNER/REPO`, as `package --push`
    /// publishes them) instead of Git; value files still come from --repo-url.
    #[arg(long, value_name = "oci://REGISTRY/REPO", requires = "chart_version")]
    pub(crate) oci: Option<String>,

    /// The chart version to deploy from --oci.
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

    /// Personal development instance: namespace `dev-NAME`, affix `dev-NAME-` (releases and
    /// Applications `dev-NAME-<component>`, secrets release `dev-NAME-secrets`).
    #[arg(long, value_name = "NAME", conflicts_with = "namespace")]
    pub(crate) dev: Option<String>,

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

    /// Push even the versions the registry already has (overwrites them).
    #[arg(long, requires = "push", conflicts_with = "skip_existing")]
    pub(crate) force: bool,

    /// Push only the versions the registry lacks and report the others as already published
    /// (for CI on every merge; without it such versions make the run fail before any push).
    #[arg(long, requires = "push")]
    pub(crate) skip_existing: bool,

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
    pub(crate) root: RootArgs,
}

#[cfg(test)]
mod tests;
