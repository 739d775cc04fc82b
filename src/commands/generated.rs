//! What the GitOps generators (`argocd`, `flux`) share: the plan they describe (the CLI's, without
//! the secrets release) and writing their files (`--out`): one file per object set; files an
//! earlier run generated there (they start with the generator's header) and this one does not are
//! removed; nothing else in the directory is touched.

use super::inputs::Inputs;
use crate::error::{Error, Result};
use crate::output;
use crate::plan::install::{self, Mode, Request};
use crate::plan::{Plan, Release};
use crate::settings::helm_version::HelmVersion;
use crate::settings::wait::Wait;
use std::path::Path;

/// The plan the CLI would run for these inputs, without the secrets release: it stays outside
/// GitOps. Its notes are printed, naming the generator.
pub(crate) fn component_plan(inputs: &Inputs, wait: Wait, generator: &str) -> Result<Plan> {
    let req = Request {
        instance: &inputs.instance,
        selection: &inputs.selection,
        target: &inputs.target,
        secrets: None,
        deploy_secrets: false,
        cric_real: inputs.cric_real,
        mode: Mode::Install { wait, create_namespace: false, rollback_on_failure: false },
    };
    let p = install::plan(&req, &inputs.catalog, HelmVersion::ASSUMED)?;
    for note in &p.notes {
        output::note(&format!("panda-install {generator}: {note}"));
    }
    Ok(p)
}

/// Refuses a release with a sensitive site file (the chart keeps it in a Secret: it may hold
/// credentials): GitOps output is committed to Git, where it would be plaintext. Both generators
/// refuse it the same way.
pub(crate) fn refuse_sensitive(release: &Release, output: &str) -> Result<()> {
    match release.files.iter().find(|f| f.sensitive) {
        None => Ok(()),
        Some(f) => Err(Error::usage(format!(
            "{}: {} is a sensitive site file (the chart keeps it in a Secret): it does not go into {output} \
             output, which is committed to Git in plaintext; deploy this component with panda-install instead, \
             or move the file out of values/ (docs/gitops.md)",
            release.name,
            f.path.display()
        ))),
    }
}

/// One file to write: its name in the directory, its text (starting with the header) and what the
/// "wrote" line says about it.
pub(crate) struct GeneratedFile {
    pub(crate) name: String,
    pub(crate) text: String,
    pub(crate) what: String,
}

pub(crate) fn write_dir(dir: &Path, files: &[GeneratedFile], header: &str) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::data(dir, format!("cannot create: {e}")))?;
    let entries = std::fs::read_dir(dir).map_err(|e| Error::data(dir, format!("cannot read: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::data(dir, format!("cannot read: {e}")))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let generated = std::fs::read_to_string(entry.path()).is_ok_and(|t| t.starts_with(header));
        if name.ends_with(".yaml") && generated && !files.iter().any(|f| f.name == name) {
            std::fs::remove_file(entry.path())
                .map_err(|e| Error::data(entry.path(), format!("cannot remove: {e}")))?;
            output::note(&format!("removed {}", entry.path().display()));
        }
    }
    for file in files {
        let path = dir.join(&file.name);
        std::fs::write(&path, &file.text).map_err(|e| Error::data(&path, format!("cannot write: {e}")))?;
        output::print(&format!("wrote {} ({})\n", path.display(), file.what))?;
    }
    Ok(())
}
