//! Wires the stages together for one invocation and turns the outcome into an exit code.

use crate::catalog::Catalog;
use crate::cli::{Cli, Command};
use crate::error::{Error, Result};
use crate::execute::{execute, Interrupt};
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
        Some(Command::Plan) | None => {}
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
    for line in p.render(&helm.program().display().to_string()).lines() {
        tracing::info!("{line}");
    }

    let interrupt = Interrupt::default();
    spawn_signal_watch(helm.clone(), interrupt.clone());
    let report = execute(&p, &helm, settings.concurrency, &interrupt).await?;
    if settings.mode == Mode::Template {
        return Ok(exit_code::SUCCESS);
    }
    print!("{}", report.summary());
    if report.interrupted {
        return Err(Error::Interrupted);
    }
    if report.failed() {
        return Err(Error::ReleaseFailed("a release failed; later tiers were not attempted (see the summary)".into()));
    }
    Ok(exit_code::SUCCESS)
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
