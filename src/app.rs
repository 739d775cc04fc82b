//! One invocation: parse the command line, set up logging, the TLS provider and the runtime,
//! run the command, print its error and turn the outcome into an exit code.

use crate::cli::Cli;
use crate::commands::{self, Context};
use crate::error::Error;
use crate::exit_code;
use crate::process::Runner;
use crate::run::interrupt::Interrupt;
use std::ffi::OsString;

/// The environment variable that overrides the log filter (`debug`, `panda_install=trace`...).
pub(crate) const LOG_ENV: &str = "PANDA_INSTALL_LOG";

/// Parses `args`, runs, prints errors, and returns the process exit code.
pub fn main_with_args(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> i32 {
    let cli = match Cli::parse_checked(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return usage_exit_code(&e);
        }
    };
    init_tracing(cli.verbose);
    // One TLS crypto provider, chosen here: with several compiled in, rustls refuses to pick one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let (result, signalled) = match runtime {
        Ok(rt) => rt.block_on(async {
            let runner = Runner::default();
            let ctx = Context { interrupt: Interrupt::watch_signals(runner.clone()), runner };
            let result = commands::run(cli, &ctx).await;
            (result, ctx.interrupt.exit_code())
        }),
        Err(e) => (Err(Error::Internal(e.into())), None),
    };
    // a signal ends the run with its own code at any stage (a child it stopped fails, and
    // that failure is not the reason the run ended)
    match (result, signalled) {
        (Err(Error::Interrupted), Some(code)) => code,
        (Err(e), Some(code)) => {
            crate::output::note(&format!("panda-install: interrupted: {e}"));
            code
        }
        (Ok(_), Some(code)) => code,
        (Ok(code), None) => code,
        (Err(e), None) => {
            crate::output::note(&format!("panda-install: error: {e}"));
            e.exit_code()
        }
    }
}

/// `--help` and `--version` succeed; every other parse error is a usage error.
pub(crate) fn usage_exit_code(e: &clap::Error) -> i32 {
    if e.use_stderr() {
        exit_code::USAGE
    } else {
        exit_code::SUCCESS
    }
}

fn init_tracing(verbose: u8) {
    use tracing_subscriber::filter::LevelFilter;
    let level = match (std::env::var(LOG_ENV).ok().as_deref(), verbose) {
        (Some("debug"), _) | (None, 2..) => LevelFilter::DEBUG,
        (Some("trace"), _) => LevelFilter::TRACE,
        (Some("info"), _) | (None, 1) => LevelFilter::INFO,
        _ => LevelFilter::WARN,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        // a closed stderr (`2>&1 | head`) must not turn into a panic (its own report uses
        // eprintln!), which would end the run without releasing the namespace lock
        .log_internal_errors(false)
        .try_init();
}
