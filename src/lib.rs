//! panda-install: deploys the PanDA stack onto Kubernetes with helm, in dependency tiers.
//!
//! Stages, one folder each: [`cli`] (what the user typed) -> [`settings`] (validated settings and
//! the model: components, affix, catalog, tiers, namespace) -> [`plan`] (a typed plan, pure data)
//! -> [`run`] (execution: preflight, convergence, tiers, report). [`commands`] holds one module
//! per command. Only [`process`] starts programs (helm through [`helm`], sops through [`sops`]); only [`kube`] talks to
//! the API server; [`output`] writes results.

mod app;
mod bundle;
mod cli;
mod commands;
mod error;
mod exit_code;
mod helm;
mod kube;
mod locate;
mod output;
mod plan;
mod process;
mod run;
mod settings;
mod shell;
mod sops;
mod suggest;

pub use app::main_with_args;
