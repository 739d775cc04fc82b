//! `panda-install import PATH --out DIR`: reads an upstream panda-k8s checkout and writes its
//! settings for panda-install (the mapping is `settings::upstream`, pure): the secrets values file
//! (mode 0600), the secrets chart's files (certificates, CRIC JSONs, IAM configuration; 0600), one
//! experiment directory per upstream experiment with its site files, and `import-report.md`.
//! Everything is computed first and written only when nothing conflicts; a file already holding
//! exactly what would be written is left alone, so a second run changes nothing. No value is
//! ever printed: the report names keys and files only.

use super::plaintext;
use super::Context;
use crate::cli::{ImportArgs, InstalledBy};
use crate::error::{Error, Result};
use crate::exit_code;
use crate::output;
use crate::settings::component::Component;
use crate::settings::site as site_layout;
use crate::settings::upstream::experiments::{self, Input};
use crate::settings::upstream::names::{self, Install, UPSTREAM_CHARTS};
use crate::settings::upstream::site::{self, Oracle};
use crate::settings::upstream::{get, secrets, text, Note, Notes, Outcome};
use crate::settings::yaml;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One file to write: its bytes and whether it is private (0600) or not (0644).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Output {
    pub(crate) bytes: Vec<u8>,
    pub(crate) private: bool,
}

/// The secrets values file the import writes (in `--out`).
const SECRETS_FILE: &str = "secrets-values.yaml";

/// Upstream's secrets files our secrets chart reads from the same directories.
const SECRET_DIRS: [&str; 8] = [
    "panda_certs",
    "bigmon_certs",
    "idds_certs",
    "iam_certs",
    "harvester_certs",
    "harvester_auth",
    "ui_certs",
    "cric_jsons",
];

pub(crate) async fn run(args: &ImportArgs, ctx: &Context) -> Result<i32> {
    super::site::refuse_inside_checkout(&args.out, "import --out")?;
    let chart = crate::locate::chart_source(None)?.dir().join("secrets");
    let (mut files, summary) = build(args, &chart)?;
    // --encrypt, and no plaintext secret where git would track it (before anything is written)
    plaintext::protect(ctx, &args.encryption, &args.out, SECRETS_FILE, &mut files).await?;
    let written = write_all(&args.out, &files, args.force)?;
    let (new, same): (Vec<_>, Vec<_>) = written.iter().partition(|(_, changed)| *changed);
    for (path, _) in &new {
        output::note(&format!("wrote {}", args.out.join(path).display()));
    }
    output::print(&format!(
        "{summary}\n{} file(s) written, {} already up to date, in {}; see {}\n",
        new.len(),
        same.len(),
        args.out.display(),
        args.out.join("import-report.md").display()
    ))?;
    Ok(exit_code::SUCCESS)
}

/// Everything the import writes (path relative to the output directory -> content), and a
/// one-line summary.
/// `chart` is our secrets chart, whose defaults count in the FIXMEs left.
pub(crate) fn build(args: &ImportArgs, chart: &Path) -> Result<(BTreeMap<String, Output>, String)> {
    let root = &args.path;
    let secrets_path = root.join("secrets/values.yaml");
    if !secrets_path.is_file() {
        return Err(Error::data(&secrets_path, "not found: PATH must be an upstream panda-k8s checkout (secrets/values.yaml, helm/<chart>/values/)"));
    }
    let upstream_secrets = yaml::load_mapping(&secrets_path)?;
    let upstream_affix = args
        .upstream_affix
        .clone()
        .or_else(|| get(&upstream_secrets, "affix").and_then(text))
        .unwrap_or_default();
    let install = match args.installed_by {
        InstalledBy::BinInstall => Install::bin_install(&upstream_affix),
        InstalledBy::Argocd => Install::ArgoCd,
    };
    let mut out = BTreeMap::new();
    let mut notes: Vec<Note> = Vec::new();

    // the secrets values and the files beside them
    let iam_conf = root.join("secrets/files/iam_conf");
    let keystore = read_text(&iam_conf.join("iam-keystore.jwks"))?;
    let oidc = read_bytes(&iam_conf.join("application-oidc.yml"))?;
    let secret_files = secrets::Files { keystore, oidc_file: oidc.is_some() };
    let (ours, secret_notes) = secrets::map(&upstream_secrets, &install, &secret_files);
    notes.extend(secret_notes.list);
    out.insert(SECRETS_FILE.to_string(), Output { bytes: secrets_document(&ours)?, private: true });
    if let Some(bytes) = oidc {
        out.insert("secrets/files/iam_conf/application-oidc.yml".into(), Output { bytes, private: true });
    }
    let mut file_notes = Notes::new("secrets/files");
    secret_dir_files(root, &mut out, &mut file_notes)?;
    notes.extend(file_notes.list);

    // experiments
    let found = upstream_experiments(root)?;
    let wanted: BTreeSet<String> = if args.experiments.is_empty() {
        found.keys().cloned().collect()
    } else {
        for e in &args.experiments {
            if !found.contains_key(e) {
                let known: Vec<&str> = found.keys().map(String::as_str).collect();
                return Err(Error::usage(format!(
                    "no upstream experiment {e:?} in {} (found: {})",
                    root.display(),
                    known.join(", ")
                )));
            }
        }
        args.experiments.iter().cloned().collect()
    };
    let mut ours_by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &wanted {
        ours_by_name.entry(names::experiment(e).0).or_default().push(e.clone());
    }
    let chart_files = site_file_sources(root)?;
    let oracle = Oracle {
        panda: get(&ours, "panda.database.backend").and_then(Value::as_str) == Some("oracle"),
        idds: get(&ours, "idds.database.backend").and_then(Value::as_str) == Some("oracle"),
        bigmon: {
            let b = get(&ours, "bigmon.database.backend").and_then(Value::as_str).unwrap_or_default();
            b == "oracle"
                || (b.is_empty()
                    && get(&ours, "panda.database.backend").and_then(Value::as_str) == Some("oracle"))
        },
        ui: get(&ours, "ui.database.vendor").and_then(Value::as_str) == Some("oracle"),
    };
    let mut experiments_written = Vec::new();
    for (name, upstream_names) in &ours_by_name {
        let (_, sources) = names::experiment(name_seed(upstream_names));
        let mut loaded = Vec::new();
        for source in &sources {
            let file = source
                .files
                .iter()
                .map(|f| (f, values_file(root, source.chart, f)))
                .find(|(_, p)| p.is_file());
            let deployed_anyway =
                matches!(install, Install::BinInstall { .. }) && !matches!(source.chart, "iam-db" | "ui");
            match file {
                Some((f, path)) => {
                    let values = yaml::load_mapping(&path)?;
                    loaded.push((
                        source.component,
                        source.chart,
                        format!("helm/{}/values/values-{f}.yaml", source.chart),
                        values,
                    ));
                }
                None if deployed_anyway => {
                    loaded.push((
                        source.component,
                        source.chart,
                        format!("helm/{}/values (no values-{name}.yaml)", source.chart),
                        json!({}),
                    ));
                }
                None => {}
            }
        }
        // an upstream experiment is imported when one of its own files maps onto our charts
        let own: Vec<Input> =
            loaded.iter().filter(|(_, _, source, _)| source.contains("/values-")).map(input).collect();
        let own_mapped = experiments::map(name, &own, &install);
        let inputs: Vec<Input> = loaded.iter().map(input).collect();
        let mapped = experiments::map(name, &inputs, &install);
        let components: BTreeSet<Component> = loaded.iter().map(|(c, ..)| *c).collect();
        let carried = own_mapped
            .notes
            .iter()
            .any(|n| matches!(n.outcome, Outcome::Mapped | Outcome::Derived) && !n.key.starts_with('('));
        if !carried {
            let list: Vec<String> = own.iter().map(|i| i.source.clone()).collect();
            notes.push(Note {
                source: list.join(", "),
                key: format!("experiment {}", upstream_names.join(", ")),
                outcome: Outcome::NotMapped,
                target: String::new(),
                reason: "nothing in it maps onto our charts (read by no template): no experiment directory written".into(),
            });
            notes.extend(own_mapped.notes);
            continue;
        }
        notes.extend(mapped.notes.iter().cloned());
        let sources_text: Vec<String> = loaded.iter().map(|(_, _, s, _)| s.clone()).collect();
        out.insert(
            format!("values/{name}/experiment.yaml"),
            Output {
                bytes: experiment_document(name, &components, &mapped.global, &sources_text)?,
                private: false,
            },
        );
        for (component, values) in &mapped.components {
            let from: Vec<&str> =
                loaded.iter().filter(|(c, ..)| c == component).map(|(_, _, s, _)| s.as_str()).collect();
            let doc = values_document(
                &format!(
                    "{component} values of experiment {name}, imported from upstream panda-k8s {}",
                    from.join(" and ")
                ),
                &Value::Object(values.clone()),
            )?;
            out.insert(format!("values/{name}/{component}.yaml"), Output { bytes: doc, private: false });
        }
        let chart_experiment = mapped.site.iter().find_map(|r| match r {
            experiments::SiteRequest::Harvester(x) => Some(x.clone()),
            _ => None,
        });
        let secrets_experiment = get(&ours, "harvester.experiment").and_then(text).filter(|x| !x.is_empty());
        let harvester = components.contains(&Component::Harvester).then(|| site::HarvesterFiles {
            // init-harvester links ${EXPERIMENT}.panda_queueconfig.json, EXPERIMENT from the secrets
            queue: secrets_experiment.clone().or_else(|| chart_experiment.clone()),
            // the chart's harvester.experiment picked the configuration JSON
            configmap: chart_experiment.clone().or_else(|| secrets_experiment.clone()),
        });
        let mut site_notes = Notes::new("site files");
        if let (Some(c), Some(s)) = (&chart_experiment, &secrets_experiment) {
            if c != s {
                site_notes.add(
                    "harvester.experiment",
                    Outcome::NotMapped,
                    "",
                    &format!("the experiment file says {c} but the secrets values say {s}: upstream's Harvester ran the {s} queue configuration and the {c} configuration JSON; the import does the same, set harvester.experiment in the secrets values to the one you mean"),
                );
            }
        }
        let copies =
            site::select(name, &mapped.site, harvester, &components, oracle, &chart_files, &mut site_notes);
        notes.extend(site_notes.list);
        for (from, to) in copies {
            let bytes = chart_files.get(&from).cloned().unwrap_or_default();
            let private =
                to.ends_with(".json") && !to.contains("/sandbox/") && !to.ends_with("panda_queueconfig.json");
            out.insert(to, Output { bytes, private });
        }
        experiments_written.push(name.clone());
    }
    notes.sort();
    notes.dedup();
    // a site directory (docs/site.md): experiments/<name>/ beside the secrets chart's files
    let mut out: BTreeMap<String, Output> = out
        .into_iter()
        .map(|(path, o)| match path.strip_prefix("values/") {
            Some(rest) => (format!("{}/{rest}", site_layout::EXPERIMENTS), o),
            None => (path, o),
        })
        .collect();
    for (path, text) in [
        (site_layout::MARKER, site_layout::marker_text(&BTreeMap::new())),
        (".gitignore", super::site::GITIGNORE.to_string()),
        (".sops.yaml", super::site::SOPS_YAML.to_string()),
    ] {
        out.insert(path.into(), Output { bytes: text.into_bytes(), private: false });
    }
    out.insert(
        "import-report.md".into(),
        Output { bytes: report(&install, &notes).into_bytes(), private: false },
    );
    let not_mapped = notes.iter().filter(|n| n.outcome == Outcome::NotMapped).count();
    // what helm will use: the chart's defaults under the keys the import sets
    let mut merged = yaml::load_mapping(&chart.join("values.yaml"))?;
    yaml::merge(&mut merged, &ours);
    let left = yaml::fixme_paths(&merged);
    let summary = format!(
        "imported {} ({}): experiments {}; {} key(s) or file(s) not mapped (reasons in the report); {} FIXME left in secrets-values.yaml (with the chart's defaults it leaves out)",
        root.display(),
        install.describe(),
        if experiments_written.is_empty() { "none".to_string() } else { experiments_written.join(", ") },
        not_mapped,
        left.len()
    );
    Ok((out, summary))
}

/// One loaded upstream file as the mapping's input.
fn input<'a>((component, chart, source, values): &'a (Component, &'static str, String, Value)) -> Input<'a> {
    Input { component: *component, chart, source: source.clone(), values }
}

/// The upstream name whose source table applies to our experiment (doma's comes from cern).
fn name_seed(upstream: &[String]) -> &str {
    upstream.iter().map(String::as_str).find(|n| *n == "cern").unwrap_or(upstream[0].as_str())
}

fn values_file(root: &Path, chart: &str, experiment: &str) -> PathBuf {
    root.join("helm").join(chart).join("values").join(format!("values-{experiment}.yaml"))
}

/// Every upstream experiment name with a values file in some chart.
fn upstream_experiments(root: &Path) -> Result<BTreeMap<String, Vec<String>>> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for chart in UPSTREAM_CHARTS {
        let dir = root.join("helm").join(chart).join("values");
        for (name, _) in list_files(&dir)? {
            if let Some(e) = name.strip_prefix("values-").and_then(|n| n.strip_suffix(".yaml")) {
                found.entry(e.to_string()).or_default().push(chart.to_string());
            }
        }
    }
    Ok(found)
}

/// The files of the upstream chart directories that hold site files, by path relative to PATH.
fn site_file_sources(root: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    let dirs = [
        format!("{}/queueconfig", site::HARVESTER_DIR),
        format!("{}/configmap", site::HARVESTER_DIR),
        format!("{}/sandbox", site::HARVESTER_DIR),
        site::SERVER_DIR.to_string(),
        site::JEDI_DIR.to_string(),
        "helm/panda/sandbox".into(),
        "helm/idds".into(),
        "helm/bigmon/charts/main/sandbox".into(),
        "helm/ui/charts/backend/sandbox".into(),
    ];
    for dir in dirs {
        for (name, path) in list_files(&root.join(&dir))? {
            let keep = dir.ends_with("sandbox")
                || dir.ends_with("queueconfig")
                || dir.ends_with("configmap")
                || name.ends_with(".json")
                || name == "tnsnames.ora";
            if keep {
                if let Some(bytes) = read_bytes(&path)? {
                    files.insert(format!("{dir}/{name}"), bytes);
                }
            }
        }
    }
    Ok(files)
}

/// Upstream's secrets files that our secrets chart reads from the same directories.
fn secret_dir_files(root: &Path, out: &mut BTreeMap<String, Output>, notes: &mut Notes) -> Result<()> {
    let base = root.join("secrets/files");
    for (dir, _) in list_dirs(&base)? {
        for (name, path) in list_files(&base.join(&dir))? {
            let key = format!("secrets/files/{dir}/{name}");
            if name == "README" || name == ".gitkeep" {
                continue;
            }
            if SECRET_DIRS.contains(&dir.as_str()) {
                let Some(bytes) = read_bytes(&path)? else { continue };
                out.insert(key.clone(), Output { bytes, private: true });
                notes.add(
                    &key,
                    Outcome::Mapped,
                    &key,
                    "copied (mode 0600): our secrets chart reads the same directory",
                );
            } else if dir == "iam_conf" {
                match name.as_str() {
                    "iam-keystore.jwks" | "application-oidc.yml" => {}
                    _ => notes.add(
                        &key,
                        Outcome::NotMapped,
                        "",
                        "a stale Spring configuration IAM does not read; our chart ships none",
                    ),
                }
            } else {
                notes.add(
                    &key,
                    Outcome::NotMapped,
                    "",
                    "read only by Secrets nothing mounts, or a template our chart renders itself",
                );
            }
        }
    }
    Ok(())
}

fn list_dirs(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    Ok(list(dir)?.into_iter().filter(|(_, p)| p.is_dir()).collect())
}

fn list_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    Ok(list(dir)?.into_iter().filter(|(_, p)| p.is_file()).collect())
}

/// Entries of a directory, sorted by name; none when it does not exist.
fn list(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::data(dir, format!("cannot read: {e}"))),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::data(dir, format!("cannot read: {e}")))?;
        out.push((entry.file_name().to_string_lossy().into_owned(), entry.path()));
    }
    out.sort();
    Ok(out)
}

fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::data(path, format!("cannot read: {e}"))),
    }
}

fn read_text(path: &Path) -> Result<Option<String>> {
    read_bytes(path)?
        .map(|b| String::from_utf8(b).map_err(|_| Error::data(path, "not UTF-8 text")))
        .transpose()
}

/// YAML that reads back as exactly `value` (checked), after a comment header.
fn yaml_text(header: &str, value: &Value) -> Result<Vec<u8>> {
    let body = yaml::to_string(value)?;
    let back = yaml::parse(&body, Path::new("(import output)"))?;
    let expected =
        if value.as_object().is_some_and(Map::is_empty) { Value::Object(Map::new()) } else { value.clone() };
    if yaml::mapping(back, Path::new("(import output)"))? != expected {
        return Err(Error::Internal(anyhow::anyhow!(
            "the YAML written for {header:?} does not read back as the same values"
        )));
    }
    let comments: String = header.lines().map(|l| format!("# {l}\n")).collect();
    Ok(format!("{comments}{body}").into_bytes())
}

fn secrets_document(values: &Value) -> Result<Vec<u8>> {
    yaml_text(
        "Secrets values of panda-install, imported from upstream panda-k8s secrets/values.yaml by\n`panda-install import` (what each key came from: import-report.md). Keep this file private\n(mode 0600), never commit it; deploy with `panda-install secrets deploy -f secrets-values.yaml`\nonce no FIXME is left.",
        values,
    )
}

fn values_document(header: &str, values: &Value) -> Result<Vec<u8>> {
    yaml_text(
        &format!("{header}\n(panda-install import; what each key came from: import-report.md)."),
        values,
    )
}

fn experiment_document(
    name: &str,
    components: &BTreeSet<Component>,
    global: &Map<String, Value>,
    sources: &[String],
) -> Result<Vec<u8>> {
    let list: Vec<&str> =
        Component::ALL.iter().filter(|c| components.contains(c)).map(|c| c.name()).collect();
    let mut doc = Map::new();
    doc.insert("components".into(), json!(list));
    if !global.is_empty() {
        doc.insert("global".into(), Value::Object(global.clone()));
    }
    values_document(
        &format!(
            "Experiment {name}, imported from upstream panda-k8s ({}).\ncomponents: those upstream had experiment files for (bin/install deploys all six); edit to change -e {name}'s default set.",
            sources.join(", ")
        ),
        &Value::Object(doc),
    )
}

/// The report: every note as a table row, grouped by outcome. Keys and reasons only.
fn report(install: &Install, notes: &[Note]) -> String {
    let mut text = format!(
        "# Import report\n\nWritten by `panda-install import` from an upstream panda-k8s checkout installed by {}.\n\
         Every upstream key and site file appears below: mapped (carried over), derived (computed from upstream keys or\n\
         from what upstream's templates hard-coded, so that the running identities stay), added (our charts need it),\n\
         or not mapped, with the reason. No value is shown. Next steps: docs/moving-in.md.\n",
        install.describe()
    );
    for outcome in [Outcome::NotMapped, Outcome::Derived, Outcome::Added, Outcome::Mapped] {
        let rows: Vec<&Note> = notes.iter().filter(|n| n.outcome == outcome).collect();
        if rows.is_empty() {
            continue;
        }
        text.push_str(&format!(
            "\n## {} ({})\n\n| source | key | to | reason |\n|---|---|---|---|\n",
            outcome.label(),
            rows.len()
        ));
        for n in rows {
            text.push_str(&format!(
                "| {} | `{}` | {} | {} |\n",
                cell(&n.source),
                cell(&n.key),
                cell(&n.target),
                cell(&n.reason)
            ));
        }
    }
    text
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Writes every file, or none: files that exist with other content are refused (naming them)
/// unless `force`. Returns each path with whether it was (re)written.
pub(crate) fn write_all(
    dir: &Path,
    files: &BTreeMap<String, Output>,
    force: bool,
) -> Result<Vec<(String, bool)>> {
    let mut conflicts = Vec::new();
    let mut plan = Vec::new();
    for (rel, output) in files {
        let path = dir.join(rel);
        let same = match std::fs::read(&path) {
            Ok(existing) => {
                let mode_ok = mode_of(&path) == Some(if output.private { 0o600 } else { 0o644 });
                if existing == output.bytes && (mode_ok || !output.private) {
                    true
                } else {
                    if existing != output.bytes && !force {
                        conflicts.push(rel.clone());
                    }
                    false
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(Error::data(&path, format!("cannot read: {e}"))),
        };
        plan.push((rel.clone(), path, output, same));
    }
    if !conflicts.is_empty() {
        return Err(Error::data(
            dir,
            format!(
                "these files exist with other content and are left as they are: {} (pass --force to replace them); nothing was written",
                conflicts.join(", ")
            ),
        ));
    }
    let mut done = Vec::new();
    for (rel, path, output, same) in plan {
        if !same {
            write_file(&path, output)?;
        }
        done.push((rel, !same));
    }
    Ok(done)
}

fn mode_of(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).ok().map(|m| m.permissions().mode() & 0o777)
}

/// Creates the file under a temporary name with its final mode before any byte is written, then
/// renames it into place.
fn write_file(path: &Path, output: &Output) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::data(parent, format!("cannot create: {e}")))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = parent.join(format!(".{name}.import-{}", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    let mode = if output.private { 0o600 } else { 0o644 };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temp)
        .map_err(|e| Error::data(&temp, format!("cannot create: {e}")))?;
    file.write_all(&output.bytes).map_err(|e| Error::data(&temp, format!("cannot write: {e}")))?;
    file.sync_all().map_err(|e| Error::data(&temp, format!("cannot write: {e}")))?;
    std::fs::rename(&temp, path).map_err(|e| Error::data(path, format!("cannot write: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_all_or_nothing_and_leaves_equal_files_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut files = BTreeMap::new();
        files.insert("a/s.yaml".to_string(), Output { bytes: b"x: 1\n".to_vec(), private: true });
        files.insert("b.yaml".to_string(), Output { bytes: b"y: 1\n".to_vec(), private: false });
        let first = write_all(dir.path(), &files, false).unwrap();
        assert!(first.iter().all(|(_, w)| *w));
        let mode = std::fs::metadata(dir.path().join("a/s.yaml")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let second = write_all(dir.path(), &files, false).unwrap();
        assert!(second.iter().all(|(_, w)| !*w), "{second:?}");
        std::fs::write(dir.path().join("b.yaml"), "edited\n").unwrap();
        files.insert("c.yaml".to_string(), Output { bytes: b"z\n".to_vec(), private: false });
        let err = write_all(dir.path(), &files, false).unwrap_err().to_string();
        assert!(err.contains("b.yaml") && err.contains("--force"), "{err}");
        assert!(!dir.path().join("c.yaml").exists(), "nothing is written when something conflicts");
        write_all(dir.path(), &files, true).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("b.yaml")).unwrap(), "y: 1\n");
    }

    #[test]
    fn yaml_reads_back_as_the_same_values() {
        let v =
            json!({"a": "no", "b": "0755", "c": "{\"keys\": [1]}\n", "d": "FIXME", "e": 5, "f": "yes: x"});
        let bytes = yaml_text("h", &v).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("# h\n"));
        assert_eq!(yaml::parse(&text, Path::new("x")).unwrap(), v);
    }
}
