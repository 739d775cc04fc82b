//! What the user typed: the clap definition of every subcommand and flag, nothing more.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Deploys the PanDA workload-management system onto Kubernetes with helm, in dependency tiers.
///
/// The bare form installs or upgrades (`panda-install -c panda -e lsst`); `--dry-run` prints the
/// plan instead and `--template` renders the manifests with `helm template`.
#[derive(Debug, Parser)]
#[command(name = "panda-install", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub deploy: DeployArgs,

    /// More detail on stderr (-v: each helm command as it starts, -vv: debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the ordered plan (tiers, releases, shell-quoted helm commands) and run nothing.
    Plan,
    /// Uninstall the selected releases in reverse tier order, each tier gone before the next.
    Uninstall {
        /// Also delete the PersistentVolumeClaims of the releases (their data is lost).
        #[arg(long)]
        delete_data: bool,
        /// Also uninstall the secrets release, last.
        #[arg(long)]
        with_secrets: bool,
    },
    /// Show each release's revision, chart, status and ready/total pods.
    Status,
    /// Show what an install would change, per release and object (Secret values redacted).
    /// Exits 0 when nothing would change, 2 when something would.
    Diff,
    /// Create or deploy the secrets release's values.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Print a shell completion script (components, sub-components and experiments included).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to stdout.
    Man,
    /// Write Argo CD Applications (one per component, sync waves from the tiers) and their parent.
    Argocd(crate::argocd::ArgocdArgs),
    /// Package every chart into dist/ and optionally push them to an OCI registry.
    Package(crate::package::PackageArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Write a secrets values file with strong random passwords (mode 0600); FIXME stays only
    /// where a human must decide (OIDC clients, host names, external credentials).
    Init {
        /// Where to write it.
        #[arg(long, default_value = "secrets-values.yaml", value_name = "FILE")]
        out: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Install or upgrade the secrets release from a values file (refused while a FIXME is left).
    Deploy {
        /// The secrets values file.
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
    },
}

/// The selection and helm options shared by install, plan and template.
#[derive(Debug, Args, Clone, Default)]
pub struct DeployArgs {
    /// Prefix (`blah-`) or suffix (`-blah`) of release names. Default: `affix` in the secrets
    /// values file, else `test-`.
    #[arg(short, long, global = true, allow_hyphen_values = true, value_name = "AFFIX")]
    pub affix: Option<String>,

    /// Experiment whose values (`values/<NAME>/<component>.yaml`) are layered after each chart's own.
    #[arg(short, long, global = true, value_name = "NAME")]
    pub experiment: Option<String>,

    /// Comma-separated components to deploy (default: all). The order given does not matter.
    #[arg(short = 'c', long = "enable", global = true, value_delimiter = ',', value_name = "LIST")]
    pub enable: Vec<String>,

    /// Comma-separated components (`harvester`) and sub-components (`panda.jedi`) to leave out.
    #[arg(short, long, global = true, value_delimiter = ',', value_name = "LIST")]
    pub disable: Vec<String>,

    /// Render the manifests with `helm template` (real release names and namespace); change nothing.
    #[arg(short, long, global = true)]
    pub template: bool,

    /// Print the plan and run nothing (same as the `plan` subcommand).
    #[arg(long, global = true)]
    pub dry_run: bool,

    /// Kubernetes namespace of every release (default: the kubeconfig context's namespace).
    #[arg(short, long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Create the namespace if it does not exist.
    #[arg(long, global = true)]
    pub create_namespace: bool,

    /// Kubeconfig context to use.
    #[arg(long, global = true, value_name = "CONTEXT")]
    pub kube_context: Option<String>,

    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, as helm does).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// The helm binary to run.
    #[arg(long, global = true, env = "PANDA_INSTALL_HELM", value_name = "PATH")]
    pub helm: Option<PathBuf>,

    /// How long helm waits for each release (a Go duration: 300s, 10m, 1h).
    #[arg(long, global = true, default_value = "10m", value_name = "DURATION")]
    pub timeout: String,

    /// Extra values for one component, layered last (repeatable): `--values panda=site.yaml`.
    #[arg(long = "values", global = true, value_name = "COMPONENT=FILE")]
    pub values: Vec<String>,

    /// Values file of the secrets release: deploy it first, as tier 0, with this file.
    #[arg(long, global = true, value_name = "FILE")]
    pub secrets: Option<PathBuf>,

    /// Do not wait for releases to become ready before starting the next tier.
    #[arg(long, global = true)]
    pub no_wait: bool,

    /// Most releases of one tier that run at once (default: the whole tier).
    #[arg(long, global = true, value_name = "N")]
    pub concurrency: Option<usize>,

    /// Roll a failed release back (`--rollback-on-failure` on helm 4, `--atomic` on helm 3).
    #[arg(long, global = true)]
    pub rollback_on_failure: bool,

    /// Upgrade every release, even those whose rendered manifests equal the deployed ones (by
    /// default such releases are left alone and reported as unchanged); re-applies drifted objects.
    #[arg(long, global = true)]
    pub force_upgrade: bool,

    /// Before installing, roll releases left pending by an interrupted run back to their last
    /// deployed revision (or uninstall those never deployed).
    #[arg(long, global = true)]
    pub recover: bool,

    /// Output format of the result: human text, or one JSON document on stdout.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Directory holding helm/, secrets/ and values/ (default: found from the current directory
    /// or the executable's location).
    #[arg(long, global = true, env = "PANDA_INSTALL_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,
}
