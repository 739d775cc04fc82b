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

/// The log filter: `PANDA_INSTALL_LOG` as a tracing `EnvFilter` (`debug`, `info`, `trace`, or
/// per-target directives such as `panda_install=debug,kube=info`), else `-v` (info) / `-vv`
/// (debug), else warnings. A value that does not parse is named and ignored.
fn log_filter(env: Option<&str>, verbose: u8) -> (tracing_subscriber::EnvFilter, Option<String>) {
    use tracing_subscriber::EnvFilter;
    let by_flag = EnvFilter::new(match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    });
    match env.map(str::trim).filter(|v| !v.is_empty()) {
        None => (by_flag, None),
        Some(value) => match EnvFilter::builder().parse(value) {
            Ok(filter) => (filter, None),
            Err(e) => (by_flag, Some(format!("{LOG_ENV}={value} ignored: not a log filter ({e})"))),
        },
    }
}

fn init_tracing(verbose: u8) {
    let (filter, problem) = log_filter(std::env::var(LOG_ENV).ok().as_deref(), verbose);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        // a closed stderr (`2>&1 | head`) must not turn into a panic (its own report uses
        // eprintln!), which would end the run without releasing the namespace lock
        .log_internal_errors(false)
        .try_init();
    if let Some(problem) = problem {
        tracing::warn!("{problem}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::filter::LevelFilter;

    fn hint(env: Option<&str>, verbose: u8) -> Option<LevelFilter> {
        let (filter, problem) = log_filter(env, verbose);
        assert_eq!(problem, None);
        filter.max_level_hint()
    }

    #[test]
    fn the_log_variable_is_an_env_filter_and_its_words_keep_working() {
        assert_eq!(hint(Some("debug"), 0), Some(LevelFilter::DEBUG));
        assert_eq!(hint(Some("info"), 2), Some(LevelFilter::INFO));
        assert_eq!(hint(Some("trace"), 0), Some(LevelFilter::TRACE));
        assert_eq!(hint(None, 0), Some(LevelFilter::WARN));
        assert_eq!(hint(None, 1), Some(LevelFilter::INFO));
        assert_eq!(hint(None, 2), Some(LevelFilter::DEBUG));
        let (filter, problem) = log_filter(Some("panda_install=debug,kube=info"), 0);
        assert_eq!(problem, None);
        assert_eq!(filter.max_level_hint(), Some(LevelFilter::DEBUG));
        let directives = filter.to_string();
        assert!(
            directives.contains("panda_install=debug") && directives.contains("kube=info"),
            "{directives}"
        );
        let (filter, problem) = log_filter(Some("panda_install=loud"), 1);
        assert!(problem.unwrap().contains("PANDA_INSTALL_LOG=panda_install=loud ignored"));
        assert_eq!(filter.max_level_hint(), Some(LevelFilter::INFO));
    }
}
