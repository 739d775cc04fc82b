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
            let command = line(helm_program, helm_args::step(step, &plan.target, plan.helm));
            match step.release.stdin_values() {
                None => out.push_str(&command),
                Some(v) => {
                    // what the run does, as a pipe: sops decrypts to helm's stdin, no file between
                    let file = shell::quote(&v.path.to_string_lossy());
                    out.push_str(&format!(
                        "# {}: values from {file} (sops-encrypted), decrypted in memory and given to helm \
                         on stdin (-f -); the plaintext is never written to a file\n",
                        step.release.name
                    ));
                    out.push_str(&format!(
                        "sops decrypt --input-type yaml --output-type yaml {file} | {command}"
                    ));
                }
            }
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
