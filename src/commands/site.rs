//! `site init`: scaffolds a site directory (the marker, one experiment, `.gitignore` for plaintext
//! secrets, a `.sops.yaml` template), never inside the tool's own checkout.

use super::Context;
use crate::cli::SiteInitArgs;
use crate::error::{Error, Result};
use crate::exit_code;
use crate::output;
use crate::settings::component::Component;
use crate::settings::site::{self, MARKER};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Plaintext secrets a site keeps out of git: the secrets values file, the secrets chart's files
/// and the sensitive site files.
pub(crate) const GITIGNORE: &str =
    "# Plaintext secrets never go into the site's repository: commit them sops-encrypted\n\
# (`panda-install secrets init --encrypt --out secrets.sops.yaml`, rules in .sops.yaml).\n\
secrets-values.yaml\n\
secrets/files/\n\
*.plain.yaml\n\
*.dec.yaml\n\
# Site files that may hold credentials (`sensitive: true` in the charts' site-files.yaml)\n\
/experiments/*/files/panda/panda_server_config.json\n\
/experiments/*/files/panda/panda_jedi_config.json\n\
/experiments/*/files/harvester/panda_harvester_configmap.json\n";

/// The sops rule for the site's encrypted secrets files, recipient to fill in.
pub(crate) const SOPS_YAML: &str =
    "# sops creation rules of this site: put the age public keys (`age-keygen -y KEYFILE`) of\n\
# everyone who deploys, comma-separated, in place of FIXME.\n\
creation_rules:\n\
  - path_regex: (^|/)secrets[^/]*\\.sops\\.yaml$\n\
    age: FIXME\n";

pub(crate) fn init(args: &SiteInitArgs, ctx: &Context) -> Result<i32> {
    refuse_inside_checkout(&args.dir, "site init")?;
    if args.dir.join(MARKER).exists() {
        return Err(Error::data(args.dir.join(MARKER), "already a site directory; nothing was written"));
    }
    let catalog = ctx.catalog(&args.root)?;
    if let Some(from) = &args.from {
        if !catalog.experiments.get(from).is_some_and(|e| e.is_real()) {
            let known: Vec<&str> =
                catalog.experiments.iter().filter(|(_, e)| e.is_real()).map(|(n, _)| n.as_str()).collect();
            return Err(Error::usage(format!(
                "--from: {}",
                crate::suggest::unknown("bundled experiment", from, &known)
            )));
        }
    }
    let name = args.name.clone().or_else(|| args.from.clone()).unwrap_or_else(|| "site".into());
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)) {
        return Err(Error::usage(format!("--name {name:?}: letters, digits, '-' and '_' only")));
    }
    let extends: BTreeMap<String, String> =
        args.from.iter().map(|from| (name.clone(), from.clone())).collect();
    let files: Vec<(PathBuf, String)> = vec![
        (PathBuf::from(MARKER), site::marker_text(&extends)),
        (
            Path::new(site::EXPERIMENTS).join(&name).join("experiment.yaml"),
            experiment_text(&name, args.from.as_deref()),
        ),
        (PathBuf::from(".gitignore"), GITIGNORE.to_string()),
        (PathBuf::from(".sops.yaml"), SOPS_YAML.to_string()),
    ];
    for (path, _) in &files[2..] {
        if args.dir.join(path).exists() {
            return Err(Error::data(args.dir.join(path), "exists already; nothing was written"));
        }
    }
    for (path, text) in &files {
        let full = args.dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::data(parent, format!("cannot create: {e}")))?;
        }
        std::fs::write(&full, text).map_err(|e| Error::data(&full, format!("cannot write: {e}")))?;
        output::note(&format!("wrote {}", full.display()));
    }
    output::print(&format!(
        "site {} ready: deploy with `panda-install -e {name}` from inside it (or --site {})\n",
        args.dir.display(),
        args.dir.display()
    ))?;
    Ok(exit_code::SUCCESS)
}

/// The experiment file of a new site experiment: empty over its base, else every component.
fn experiment_text(name: &str, from: Option<&str>) -> String {
    match from {
        Some(base) => format!(
            "# Experiment {name} of this site: layered after the bundled experiment {base} (panda-site.yaml\n\
             # `extends`), so set only what differs; <component>.yaml files here come after {base}'s.\n\
             # The keys are documented in docs/charts.md (\"Experiment files\"); merge rules in docs/site.md.\n\
             {{}}\n"
        ),
        None => format!(
            "# Experiment {name} of this site: passed first to every component chart (docs/charts.md).\n\
             components: [{}]\n",
            Component::names().join(", ")
        ),
    }
}

/// Refuses a directory inside the tool's own checkout (one holding helm/ and secrets/Chart.yaml):
/// a site's files belong in the site's repository, not in a fork of the tool (exit 64).
pub(crate) fn refuse_inside_checkout(dir: &Path, what: &str) -> Result<()> {
    let cwd = std::env::current_dir().map_err(|e| Error::Internal(e.into()))?;
    let absolute = cwd.join(dir);
    if let Some(checkout) = absolute.ancestors().find(|d| crate::locate::is_root(d)) {
        return Err(Error::usage(format!(
            "{what}: {} is inside the panda-install checkout {}: write a site directory outside it \
             (its own repository), and point at it with --site",
            dir.display(),
            checkout.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A site's .gitignore covers every site file kind a chart marks sensitive (what `import`
    /// writes into experiments/<name>/files/).
    #[test]
    fn the_sites_gitignore_covers_every_sensitive_site_file() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let catalog = crate::settings::catalog::Catalog::load(root).unwrap();
        let lines: Vec<&str> = GITIGNORE.lines().collect();
        for line in ["secrets-values.yaml", "secrets/files/"] {
            assert!(lines.contains(&line), "{line}");
        }
        let mut sensitive = 0;
        for (component, chart) in &catalog.charts {
            for kind in chart.site_files.iter().filter(|k| k.sensitive) {
                sensitive += 1;
                let rule = format!("/{}/*/files/{component}/{}", site::EXPERIMENTS, kind.path);
                assert!(lines.contains(&rule.as_str()), "{rule} is missing from the site's .gitignore");
            }
        }
        assert_eq!(sensitive, 3, "the sensitive site file kinds");
    }
}
