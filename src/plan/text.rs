//! The printed plan: comments, then one copy-pasteable, shell-quoted command per line.

use super::{helm_args, Plan};
use crate::shell;

/// The plan as a shell script for `helm_program`.
pub(crate) fn render(plan: &Plan, helm_program: &str) -> String {
    let mut out = String::new();
    for note in &plan.notes {
        out.push_str(&format!("# {note}\n"));
    }
    if !plan.prepare.is_empty() {
        out.push_str("# prepare: pack local chart dependencies (no cluster access)\n");
        for chart in &plan.prepare {
            out.push_str(&line(helm_program, helm_args::dependency_build(chart)));
        }
    }
    for tier in &plan.tiers {
        let names: Vec<&str> = tier.steps.iter().map(|s| s.release.name.as_str()).collect();
        out.push_str(&format!("# tier {}: {}\n", tier.number, names.join(", ")));
        for step in &tier.steps {
            out.push_str(&line(helm_program, helm_args::step(step, &plan.target, plan.helm)));
        }
    }
    if plan.tiers.is_empty() {
        out.push_str("# nothing to do\n");
    }
    out
}

fn line(helm_program: &str, args: Vec<String>) -> String {
    let mut words = vec![helm_program.to_string()];
    words.extend(args);
    format!("{}\n", shell::join(&words))
}
