//! panda-install: deploys the PanDA stack onto Kubernetes with helm, in dependency tiers.
//!
//! Stages: [`cli`] (what the user typed) -> [`settings`] (validated against the [`catalog`]) ->
//! [`plan`] (pure data: ordered helm invocations in tiers) -> [`execute`] (the only caller of
//! [`process`], which alone spawns programs).

pub mod affix;
pub mod argocd;
pub mod catalog;
pub mod cluster;
pub mod cli;
pub mod completion;
pub mod component;
pub mod diff;
pub mod error;
pub mod execute;
pub mod exit_code;
pub mod helm;
pub mod inspect;
pub mod lifecycle;
pub mod locate;
pub mod lock;
pub mod package;
pub mod output;
pub mod plan;
pub mod preflight;
pub mod process;
pub mod progress;
pub mod releases;
pub mod secrets_cmd;
pub mod settings;
pub mod shell;
pub mod suggest;
pub mod tiers;
mod run;

pub use run::main_with_args;
