//! `completions SHELL` and `man`: generated from the clap definition; completions also offer the
//! component, sub-component and experiment names of the bundled charts and of the site (`--site`,
//! else one found), as they are when the script is generated.

use super::Context;
use crate::cli::{Cli, CompletionsArgs};
use crate::error::{Error, Result};
use crate::exit_code;
use crate::settings::component::Component;
use clap::builder::PossibleValue;
use clap::CommandFactory;

pub(crate) fn completions(args: &CompletionsArgs, ctx: &Context) -> Result<i32> {
    let catalog = ctx.catalog_with_site(&args.root, &args.site)?;
    let components: Vec<String> = Component::names().into_iter().map(String::from).collect();
    let mut disable = components.clone();
    for (c, info) in &catalog.charts {
        disable.extend(info.subcomponents.iter().map(|s| format!("{c}.{s}")));
    }
    let experiments: Vec<String> = catalog.experiments.keys().cloned().collect();
    let values = |names: &[String]| names.iter().map(|n| PossibleValue::new(n.clone())).collect::<Vec<_>>();
    let (enable, disable, experiment) = (values(&components), values(&disable), values(&experiments));
    // The same names wherever a command takes -c, -d or -e.
    let mut cmd = with_values(Cli::command(), &enable, &disable, &experiment);
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "panda-install", &mut script);
    crate::output::print(&String::from_utf8_lossy(&script))?;
    Ok(exit_code::SUCCESS)
}

fn with_values(
    cmd: clap::Command,
    enable: &[PossibleValue],
    disable: &[PossibleValue],
    experiment: &[PossibleValue],
) -> clap::Command {
    let ids: Vec<String> = cmd.get_arguments().map(|a| a.get_id().to_string()).collect();
    let mut cmd = cmd;
    for (id, values) in [("enable", enable), ("disable", disable), ("experiment", experiment)] {
        if ids.iter().any(|i| i == id) {
            let values = values.to_vec();
            cmd = cmd.mut_arg(id, |a| a.value_parser(values));
        }
    }
    cmd.mut_subcommands(|sub| with_values(sub, enable, disable, experiment))
}

pub(crate) fn man() -> Result<i32> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page).map_err(|e| Error::Internal(e.into()))?;
    crate::output::print(&String::from_utf8_lossy(&page))?;
    Ok(exit_code::SUCCESS)
}
