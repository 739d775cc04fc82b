//! Wires the stages together for one invocation and turns the outcome into an exit code.

use crate::catalog::Catalog;
use crate::cli::{Cli, Command, SecretsCommand};
use crate::{completion, diff, lifecycle, secrets_cmd};
use crate::error::{Error, Result};
use crate::cli::OutputFormat;
use crate::cluster::Cluster;
use crate::execute::{execute, Interrupt, Report, Status};
use crate::{inspect, output, preflight, releases};
use crate::exit_code;
use crate::helm::HelmVersion;
use crate::locate::project_root;
use crate::plan::plan;
use crate::process::Helm;
use crate::settings::{Mode, Settings};
use clap::Parser;
use std::ffi::OsString;

/// Parses `args`, runs, prints errors, and returns the process exit code.
pub fn main_with_args(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { exit_code::USAGE } else { exit_code::SUCCESS };
        }
    };
    init_tracing(cli.verbose);
    // One TLS crypto provider, chosen here: with several compiled in (dependencies may enable
    // others), rustls refuses to pick one itself.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
    let result = match runtime {
        Ok(rt) => rt.block_on(run(cli)),
        Err(e) => Err(Error::Internal(e.into())),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("panda-install: error: {e}");
            e.exit_code()
        }
    }
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PANDA_INSTALL_LOG").unwrap_or_else(|_| level.into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}

async fn run(cli: Cli) -> Result<i32> {
    let plan_only = matches!(cli.command, Some(Command::Plan));
    let root = project_root(cli.deploy.root.as_deref())?;
    let catalog = Catalog::load(&root)?;
    let settings = Settings::from_args(&cli.deploy, plan_only, &catalog)?;
    match &cli.command {
        Some(Command::Argocd(args)) => return crate::argocd::run(args, &settings, &catalog),
        Some(Command::Package(args)) => return crate::package::run(args, &settings, &catalog).await,
        Some(Command::Completions { shell }) => return completion::completions(*shell, &catalog),
        Some(Command::Man) => return completion::man(),
        Some(Command::Secrets(SecretsCommand::Init { out, force })) => return secrets_cmd::init(&catalog, out, *force),
        Some(Command::Plan) | None => {}
        Some(Command::Uninstall { .. } | Command::Status | Command::Diff | Command::Secrets(SecretsCommand::Deploy { .. })) => {
            let helm = Helm::locate(settings.helm.as_deref())?;
            let interrupt = Interrupt::default();
            spawn_signal_watch(helm.clone(), interrupt.clone());
            return match &cli.command {
                Some(Command::Uninstall { delete_data, with_secrets }) => {
                    lifecycle::uninstall(&settings, &catalog, &helm, &interrupt, *delete_data, *with_secrets).await
                }
                Some(Command::Status) => lifecycle::status(&settings, &helm).await,
                Some(Command::Diff) => diff::run(&settings, &catalog, &helm).await,
                Some(Command::Secrets(SecretsCommand::Deploy { file })) => secrets_cmd::deploy(&settings, &catalog, &helm, &interrupt, file).await,
                _ => unreachable!("matched above"),
            };
        }
    }

    if settings.mode == Mode::Plan {
        // A dry run asks helm for its version when it can, to show the exact flags; it never needs it.
        let (program, version, note) = match Helm::locate(settings.helm.as_deref()) {
            Ok(helm) => match helm.version().await {
                Ok(v) => (helm.program().display().to_string(), v, None),
                Err(e) => ("helm".to_string(), HelmVersion::ASSUMED, Some(format!("{e}; flags shown for helm 4"))),
            },
            Err(e) => ("helm".to_string(), HelmVersion::ASSUMED, Some(format!("{e}; flags shown for helm 4"))),
        };
        let mut p = plan(&settings, &catalog, version)?;
        p.notes.extend(note);
        print!("{}", p.render(&program));
        return Ok(exit_code::SUCCESS);
    }

    let helm = Helm::locate(settings.helm.as_deref())?;
    let version = helm.version().await?;
    tracing::info!("using {} ({version})", helm.program().display());
    let p = plan(&settings, &catalog, version)?;
    let program = helm.program().display().to_string();
    for line in p.render(&program).lines() {
        tracing::info!("{line}");
    }
    let interrupt = Interrupt::default();
    spawn_signal_watch(helm.clone(), interrupt.clone());
    if settings.mode == Mode::Template {
        execute(&p, &helm, settings.concurrency, &interrupt, &[]).await?;
        return Ok(exit_code::SUCCESS);
    }
    install(&settings, &p, &helm, &interrupt).await
}

/// Preflight, then the tiers, then the report; the namespace lock is released on every path.
async fn install(settings: &Settings, p: &crate::plan::Plan, helm: &Helm, interrupt: &Interrupt) -> Result<i32> {
    let cleared = preflight::check(settings, p, helm).await?;
    let outcome = execute(p, helm, settings.concurrency, interrupt, &cleared.deployed).await;
    let result = match outcome {
        Ok(report) => finish(settings, p, helm, &cleared.cluster, report).await,
        Err(e) => Err(e),
    };
    cleared.lock.release().await;
    result
}

async fn finish(settings: &Settings, p: &crate::plan::Plan, helm: &Helm, cluster: &Cluster, report: Report) -> Result<i32> {
    let failed: Vec<String> = report.releases.iter().filter(|r| matches!(r.status, Status::Failed(_))).map(|r| r.release.clone()).collect();
    if !failed.is_empty() {
        eprint!("{}", inspect::report(cluster, &failed).await);
    }
    let error = if report.interrupted {
        Some(Error::Interrupted)
    } else if !failed.is_empty() {
        Some(Error::ReleaseFailed(format!("{} failed; later tiers were not attempted (see the summary)", failed.join(", "))))
    } else {
        None
    };
    let code = error.as_ref().map_or(exit_code::SUCCESS, Error::exit_code);
    match settings.output {
        OutputFormat::Text => print!("{}", report.summary()),
        OutputFormat::Json => {
            let deployed = releases::list(helm, p.helm, settings).await.unwrap_or_default();
            let program = helm.program().display().to_string();
            let doc = output::document("install", p, &program, &report, &deployed, code, error.as_ref().map(|e| e.to_string()));
            println!("{}", serde_json::to_string_pretty(&doc).expect("JSON of plain values"));
        }
    }
    match error {
        Some(e) => Err(e),
        None => Ok(exit_code::SUCCESS),
    }
}

/// On SIGINT or SIGTERM: start nothing new and ask running helm processes to cancel themselves.
fn spawn_signal_watch(helm: Helm, interrupt: Interrupt) {
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
            return;
        };
        loop {
            tokio::select! {
                _ = int.recv() => {},
                _ = term.recv() => {},
            }
            eprintln!("panda-install: interrupted: starting nothing new, waiting for running helm commands to finish");
            interrupt.raise();
            helm.cancel_running();
        }
    });
}
