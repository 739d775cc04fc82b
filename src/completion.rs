//! Shell completions and the man page, generated from the clap definition; completions also
//! offer the component, sub-component and experiment names of the bundled charts.

use crate::catalog::Catalog;
use crate::cli::Cli;
use crate::component::Component;
use crate::error::{Error, Result};
use crate::exit_code;
use clap::builder::PossibleValue;
use clap::CommandFactory;

pub fn completions(shell: clap_complete::Shell, catalog: &Catalog) -> Result<i32> {
    let components: Vec<String> = Component::names().into_iter().map(String::from).collect();
    let mut disable = components.clone();
    for (c, info) in &catalog.charts {
        disable.extend(info.subcomponents.iter().map(|s| format!("{c}.{s}")));
    }
    let experiments: Vec<String> = catalog.experiments.keys().cloned().collect();
    let values = |names: &[String]| names.iter().map(|n| PossibleValue::new(n.clone())).collect::<Vec<_>>();
    let (enable_values, disable_values, experiment_values) = (values(&components), values(&disable), values(&experiments));
    let cmd = Cli::command()
        .mut_arg("enable", |a| a.value_parser(enable_values.clone()))
        .mut_arg("disable", |a| a.value_parser(disable_values.clone()))
        .mut_arg("experiment", |a| a.value_parser(experiment_values.clone()));
    let mut cmd = cmd;
    clap_complete::generate(shell, &mut cmd, "panda-install", &mut std::io::stdout());
    Ok(exit_code::SUCCESS)
}

pub fn man() -> Result<i32> {
    let page = clap_mangen::Man::new(Cli::command());
    page.render(&mut std::io::stdout()).map_err(|e| Error::Internal(e.into()))?;
    Ok(exit_code::SUCCESS)
}
