//! Flag groups shared by several commands; each command flattens only the groups that apply to it.

use clap::Args;
use std::path::PathBuf;

/// Which instance: the affix of its release names.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct InstanceArgs {
    /// Prefix (`blah-`) or suffix (`-blah`) of release names. Default: `affix` of the `--secrets`
    /// file, else the instance deployed in the namespace (found by its secrets release; several:
    /// choose with -a), else `test-`.
    #[arg(short, long, allow_hyphen_values = true, value_name = "AFFIX")]
    pub(crate) affix: Option<String>,
}

/// Which components, with which values.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct SelectArgs {
    /// Experiment whose values (`values/<NAME>/...`) are layered after each chart's own.
    #[arg(short, long, value_name = "NAME")]
    pub(crate) experiment: Option<String>,

    #[command(flatten)]
    pub(crate) components: ComponentArgs,

    /// Extra values for one component, layered last (repeatable): `--values panda=site.yaml`.
    #[arg(long = "values", value_name = "COMPONENT=FILE")]
    pub(crate) values: Vec<String>,

    #[command(flatten)]
    pub(crate) site: SiteArgs,
}

/// Where the site's own experiments are (found before the bundled ones).
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct SiteArgs {
    /// A site directory (`panda-site.yaml`, `experiments/<NAME>/`; docs/site.md). Default: a
    /// `panda-site.yaml` in the current directory or a parent.
    #[arg(id = "site", long = "site", env = "PANDA_INSTALL_SITE", value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
}

/// `-c` and `-d`: the components (and, where it applies, sub-components) to act on.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct ComponentArgs {
    /// Comma-separated components (default: all). The order given does not matter.
    #[arg(short = 'c', long = "enable", value_delimiter = ',', value_name = "LIST")]
    pub(crate) enable: Vec<String>,

    /// Comma-separated components (`harvester`) and, for install, plan and diff, sub-components
    /// (`panda.jedi`) to leave out.
    #[arg(short, long, value_delimiter = ',', value_name = "LIST")]
    pub(crate) disable: Vec<String>,
}

/// Where the cluster is: helm's own flags, resolved the way helm resolves them.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct ClusterArgs {
    /// Namespace of every release (default: $HELM_NAMESPACE, else the kubeconfig context's
    /// namespace, else `default`, as helm resolves it).
    #[arg(short, long, value_name = "NAMESPACE")]
    pub(crate) namespace: Option<String>,

    /// Kubeconfig context (default: $HELM_KUBECONTEXT, else the current context).
    #[arg(long, value_name = "CONTEXT")]
    pub(crate) kube_context: Option<String>,

    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, as helm does).
    #[arg(long, value_name = "FILE")]
    pub(crate) kubeconfig: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
pub(crate) struct HelmArgs {
    /// The helm binary to run (helm 4, or helm 3.15+).
    #[arg(long = "helm", env = "PANDA_INSTALL_HELM", value_name = "PATH")]
    pub(crate) program: Option<PathBuf>,
}

/// sops, run only for a sops-encrypted secrets file.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct SopsArgs {
    /// The sops binary (3.11+) that decrypts a sops-encrypted secrets file; it finds its keys
    /// itself (SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, ~/.config/sops/age/keys.txt, gpg).
    #[arg(long = "sops", env = "PANDA_INSTALL_SOPS", value_name = "PATH")]
    pub(crate) sops_binary: Option<PathBuf>,
}

/// Writing a secrets values file sops-encrypted (`secrets init`, `import`).
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct EncryptArgs {
    /// Write the secrets values encrypted with sops (for --age recipients, else for the creation
    /// rule of .sops.yaml that matches the file): the plaintext goes to sops on a pipe, never to a
    /// file.
    #[arg(long)]
    pub(crate) encrypt: bool,
    /// age recipients (public keys, `age1...`) to encrypt for, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "RECIPIENT", requires = "encrypt")]
    pub(crate) age: Vec<String>,
    #[command(flatten)]
    pub(crate) sops: SopsArgs,
}

#[derive(Debug, Args, Clone, Default)]
pub(crate) struct RootArgs {
    /// A checkout holding helm/, secrets/ and values/, for chart development (default: a checkout
    /// in the current directory or a parent, else the charts embedded in the binary).
    #[arg(long = "root", env = "PANDA_INSTALL_ROOT", value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
pub(crate) struct OutputArgs {
    /// Output format of the result: human text, or one JSON document on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) output: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// How long helm waits, and whether it does.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct WaitArgs {
    /// How long helm waits for each release (a Go duration: 300s, 10m, 1h30m). Default: 10m.
    #[arg(long, value_name = "DURATION")]
    pub(crate) timeout: Option<String>,

    /// Do not wait for releases to become ready (or gone) before the next tier.
    #[arg(long)]
    pub(crate) no_wait: bool,
}

/// Everything an install (and its plan) takes.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct DeployArgs {
    #[command(flatten)]
    pub(crate) instance: InstanceArgs,
    #[command(flatten)]
    pub(crate) select: SelectArgs,

    /// Values file of the secrets release: deploy it first, as tier 0, with this file (plain, or
    /// sops-encrypted: decrypted in memory and given to helm on stdin).
    #[arg(long, value_name = "FILE")]
    pub(crate) secrets: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) sops: SopsArgs,

    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,

    /// Create the namespace if it does not exist.
    #[arg(long)]
    pub(crate) create_namespace: bool,

    #[command(flatten)]
    pub(crate) wait: WaitArgs,

    /// Most releases of one tier that run at once (default: the whole tier).
    #[arg(long, value_name = "N")]
    pub(crate) concurrency: Option<usize>,

    /// Roll a failed release back (`--rollback-on-failure` on helm 4, `--atomic` on helm 3).
    #[arg(long)]
    pub(crate) rollback_on_failure: bool,

    /// Upgrade every release, even those that match the cluster already (by default such
    /// releases are left alone and reported as unchanged).
    #[arg(long)]
    pub(crate) force_upgrade: bool,

    /// Before installing, roll releases left pending by an interrupted run back to their last
    /// deployed revision (or uninstall those never deployed); see the `recover` command.
    #[arg(long)]
    pub(crate) recover: bool,

    /// With --recover: also recover releases that became pending less than --timeout ago (by
    /// default refused: a helm run of someone else may still be working on them).
    #[arg(long, requires = "recover")]
    pub(crate) force: bool,

    #[command(flatten)]
    pub(crate) helm: HelmArgs,
    #[command(flatten)]
    pub(crate) root: RootArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}
