//! `panda-install secrets rotate FILE`: regenerates the generated passwords of a secrets file and
//! says which workloads must restart once it is deployed, and which databases keep their own copy.
//!
//! An encrypted file is changed through sops only: a copy of the encrypted file gets each new
//! value with `sops set --value-stdin` (the value on a pipe), is decrypted into memory and compared
//! with the original (only the rotated values may differ), then replaces the file. A plain file
//! is rewritten line by line, checked the same way, and replaced. Either way the file is replaced
//! whole or not at all.

use super::init::{random_password, rewrite, write_private};
use crate::cli::args::OutputFormat;
use crate::cli::SecretsRotateArgs;
use crate::commands::Context;
use crate::error::{Error, Result};
use crate::exit_code;
use crate::output::documents::{RotateDocument, RotatedValue, RotationRestart, RotationSkip, SCHEMA_VERSION};
use crate::output::{self};
use crate::settings::instance::Instance;
use crate::settings::secret_feeds::{self, Reader};
use crate::settings::secrets_file::{Read, SecretsFile};
use crate::settings::yaml;
use crate::sops::Sops;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub(crate) async fn run(args: &SecretsRotateArgs, ctx: &Context) -> Result<i32> {
    let (file, sops) = match SecretsFile::read(&args.file)? {
        Read::Plain(file) => (file, None),
        Read::Encrypted(path) => {
            let sops = ctx.sops(&args.sops).await?;
            let file = SecretsFile::from_decrypted(&path, sops.decrypt(&path).await?)?;
            (file, Some(sops))
        }
    };
    let wanted = wanted(&args.only)?;
    let (keys, skipped) = choose(file.values(), &wanted);
    if keys.is_empty() {
        return Err(Error::data(
            &file.path,
            format!(
                "nothing to rotate: {}",
                skipped.iter().map(|s| format!("{} {}", s.key, s.reason)).collect::<Vec<_>>().join("; ")
            ),
        ));
    }
    let instance = Instance::resolve(None, Some(&file))?;
    if !args.dry_run {
        let fresh = keys.iter().map(|k| Ok((*k, random_password()?))).collect::<std::io::Result<Vec<_>>>();
        let fresh = fresh.map_err(|e| Error::Internal(anyhow::anyhow!("cannot read /dev/urandom: {e}")))?;
        match &sops {
            Some(sops) => rotate_encrypted(sops, &file, &fresh).await?,
            None => rotate_plain(&file, &keys)?,
        }
    }
    let doc = document(&file, &instance, &keys, skipped, args.dry_run);
    match args.output.output {
        OutputFormat::Json => output::json(&doc)?,
        OutputFormat::Text => output::print(&text(&doc))?,
    }
    Ok(exit_code::SUCCESS)
}

/// `--only`, checked against the generated values (default: all of them).
fn wanted(only: &[String]) -> Result<Vec<&'static str>> {
    let generated = secret_feeds::generated();
    if only.is_empty() {
        return Ok(generated);
    }
    only.iter()
        .map(|k| {
            generated.iter().find(|g| **g == k.as_str()).copied().ok_or_else(|| {
                Error::usage(format!(
                    "--only {k:?}: not a generated value; these are: {}",
                    generated.join(", ")
                ))
            })
        })
        .collect()
}

/// The wanted values the file sets to a non-empty string, and why the others are left alone.
fn choose(values: &Value, wanted: &[&'static str]) -> (Vec<&'static str>, Vec<RotationSkip>) {
    let mut keys = Vec::new();
    let mut skipped = Vec::new();
    for key in wanted {
        let reason = match yaml::at(values, key) {
            None => Some("is not in the file"),
            Some(Value::String(s)) if s.is_empty() => Some("is empty (it falls back to its default)"),
            Some(Value::String(_)) => None,
            Some(_) => Some("is not a string"),
        };
        match reason {
            None => keys.push(*key),
            Some(reason) => skipped.push(RotationSkip { key: key.to_string(), reason: reason.into() }),
        }
    }
    (keys, skipped)
}

/// sops's index of a dotted path: `["panda"]["database"]["password"]`.
fn sops_index(key: &str) -> String {
    key.split('.').map(|k| format!("[{}]", Value::String(k.into()))).collect()
}

fn set_path(values: &mut Value, key: &str, new: &str) {
    let mut at = values;
    for k in key.split('.') {
        at = &mut at[k];
    }
    *at = Value::String(new.into());
}

/// Checks that `after` is `before` with exactly `keys` changed (to `fresh` values when known).
fn check(
    before: &Value,
    after: &Value,
    keys: &[&str],
    fresh: Option<&[(&str, String)]>,
    path: &Path,
) -> Result<()> {
    let mut expected = before.clone();
    let mut got = after.clone();
    for key in keys {
        let new = yaml::at(after, key).and_then(Value::as_str).unwrap_or_default();
        let old = yaml::at(before, key).and_then(Value::as_str).unwrap_or_default();
        let intended = fresh.and_then(|f| f.iter().find(|(k, _)| k == key)).map(|(_, v)| v.as_str());
        if new == old || new.len() != 32 || intended.is_some_and(|i| i != new) {
            return Err(Error::Internal(anyhow::anyhow!(
                "rotating {}: {key} did not get its new value; the file is left as it was",
                path.display()
            )));
        }
        set_path(&mut expected, key, "");
        set_path(&mut got, key, "");
    }
    if expected != got {
        return Err(Error::Internal(anyhow::anyhow!(
            "rotating {}: more than the rotated values changed; the file is left as it was",
            path.display()
        )));
    }
    Ok(())
}

/// `DIR/.NAME.rotating.yaml`: beside the file, so that the final rename stays on one filesystem.
fn scratch(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.rotating.yaml"))
}

fn replace(scratch: &Path, path: &Path) -> Result<()> {
    std::fs::rename(scratch, path).map_err(|e| Error::data(path, format!("cannot replace it: {e}")))
}

async fn rotate_encrypted(sops: &Sops, file: &SecretsFile, fresh: &[(&str, String)]) -> Result<()> {
    let copy = scratch(&file.path);
    std::fs::copy(&file.path, &copy).map_err(|e| Error::data(&copy, format!("cannot create: {e}")))?;
    let result = async {
        for (key, value) in fresh {
            sops.set(&copy, &sops_index(key), &Value::String(value.clone()).to_string()).await?;
        }
        let after = SecretsFile::from_decrypted(&copy, sops.decrypt(&copy).await?)?;
        let keys: Vec<&str> = fresh.iter().map(|(k, _)| *k).collect();
        check(file.values(), after.values(), &keys, Some(fresh), &file.path)?;
        replace(&copy, &file.path)
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&copy);
    }
    result
}

fn rotate_plain(file: &SecretsFile, keys: &[&str]) -> Result<()> {
    let path = &file.path;
    let text = std::fs::read_to_string(path).map_err(|e| Error::data(path, format!("cannot read: {e}")))?;
    let mut failure = None;
    let (rotated, replaced) = rewrite(
        &text,
        keys,
        |_| true,
        || {
            random_password().unwrap_or_else(|e| {
                failure = Some(e);
                String::new()
            })
        },
    );
    if let Some(e) = failure {
        return Err(Error::Internal(anyhow::anyhow!("cannot read /dev/urandom: {e}")));
    }
    if let Some(missed) = keys.iter().find(|k| !replaced.iter().any(|r| r == *k)) {
        return Err(Error::data(
            path,
            format!("{missed} is not a one-line `key: value` here: rotate it by hand"),
        ));
    }
    let after = yaml::mapping(yaml::parse(&rotated, path)?, path)?;
    check(file.values(), &after, keys, None, path)?;
    let copy = scratch(path);
    let result = write_private(&copy, &rotated).and_then(|()| replace(&copy, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&copy);
    }
    result
}

fn document(
    file: &SecretsFile,
    instance: &Instance,
    keys: &[&str],
    skipped: Vec<RotationSkip>,
    dry_run: bool,
) -> RotateDocument {
    let secrets_release = instance.secrets_release();
    let mut readers: BTreeSet<Reader> = BTreeSet::new();
    let rotated = keys
        .iter()
        .filter_map(|k| secret_feeds::feed(k))
        .map(|feed| {
            for s in feed.secrets {
                readers.extend(secret_feeds::readers(s));
            }
            RotatedValue {
                key: feed.key.to_string(),
                secrets: feed.secrets.iter().map(|s| format!("{secrets_release}-{s}")).collect(),
                database: feed.database.map(|(c, w)| format!("{}-{w}", instance.release(c))),
            }
        })
        .collect();
    RotateDocument {
        schema_version: SCHEMA_VERSION,
        command: "secrets-rotate",
        file: file.path.display().to_string(),
        encrypted: file.is_encrypted(),
        dry_run,
        rotated,
        skipped,
        restart: readers
            .into_iter()
            .map(|r| RotationRestart {
                component: r.component.name().to_string(),
                workload: format!("{}-{}", instance.release(r.component), r.workload),
                kind: r.kind.to_string(),
            })
            .collect(),
    }
}

fn text(doc: &RotateDocument) -> String {
    let how =
        if doc.encrypted { "sops-encrypted: changed through sops, never decrypted to disk" } else { "plain" };
    let verb = if doc.dry_run { "would rotate" } else { "rotated" };
    let mut out = format!("{verb} in {} ({how}):\n", doc.file);
    for r in &doc.rotated {
        out.push_str(&format!("  {:<34} -> {}\n", r.key, r.secrets.join(", ")));
    }
    for s in &doc.skipped {
        out.push_str(&format!("  left alone: {} {}\n", s.key, s.reason));
    }
    let file = crate::shell::quote(&doc.file);
    out.push_str(&format!(
        "deploy it, then restart the workloads that read these Secrets when they start:\n  \
         panda-install secrets deploy -f {file} -n NAMESPACE\n  kubectl -n NAMESPACE rollout restart {}\n",
        doc.restart.iter().map(|r| format!("{}/{}", r.kind, r.workload)).collect::<Vec<_>>().join(" ")
    ));
    let kept: Vec<String> =
        doc.rotated.iter().filter_map(|r| r.database.as_ref().map(|d| format!("{} ({d})", r.key))).collect();
    if !kept.is_empty() {
        out.push_str(&format!(
            "a database keeps its own copy of {}: it took it at its first start (or it is external), and a new \
             Secret does not change it. Set the new value in the database first (ALTER USER / SET PASSWORD; \
             `sops decrypt {file}` shows it), or the components cannot log in after the restart.\n",
            kept.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chooses_set_values_and_says_why_others_are_left() {
        let values = json!({"msgsvc": {"basePassword": "x"}, "bigmon": {"secretKey": "", "database": {"password": 3}}});
        let (keys, skipped) = choose(
            &values,
            &["msgsvc.basePassword", "bigmon.secretKey", "bigmon.database.password", "iam.database.password"],
        );
        assert_eq!(keys, vec!["msgsvc.basePassword"]);
        let why: Vec<(&str, &str)> = skipped.iter().map(|s| (s.key.as_str(), s.reason.as_str())).collect();
        assert_eq!(
            why,
            vec![
                ("bigmon.secretKey", "is empty (it falls back to its default)"),
                ("bigmon.database.password", "is not a string"),
                ("iam.database.password", "is not in the file")
            ]
        );
        assert_eq!(wanted(&["nope".into()]).unwrap_err().exit_code(), crate::exit_code::USAGE);
        assert_eq!(wanted(&[]).unwrap().len(), secret_feeds::FEEDS.len());
    }

    #[test]
    fn sops_indexes_quote_each_key() {
        assert_eq!(sops_index("panda.database.password"), r#"["panda"]["database"]["password"]"#);
    }

    #[test]
    fn a_check_refuses_unrotated_or_extra_changes() {
        let before = json!({"a": {"p": "old"}, "b": "same"});
        let new = "n".repeat(32);
        let after = json!({"a": {"p": new}, "b": "same"});
        let p = Path::new("f");
        assert!(check(&before, &after, &["a.p"], None, p).is_ok());
        assert!(check(&before, &after, &["a.p"], Some(&[("a.p", "m".repeat(32))]), p).is_err());
        assert!(check(&before, &before, &["a.p"], None, p).is_err(), "unchanged value");
        let extra = json!({"a": {"p": new}, "b": "changed"});
        assert!(check(&before, &extra, &["a.p"], None, p).is_err(), "another value changed");
    }

    #[test]
    fn a_plain_file_is_rotated_in_place_keeping_everything_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        let plain =
            "affix: prod-\nmsgsvc:\n  # base\n  basePassword: \"old-one\" # keep\nbigmon:\n  secretKey: k\n";
        std::fs::write(&path, plain).unwrap();
        let file = SecretsFile::load(&path).unwrap();
        rotate_plain(&file, &["msgsvc.basePassword"]).unwrap();
        let after = std::fs::read_to_string(&path).unwrap();
        assert!(after.contains("  # base\n  basePassword: \"") && after.contains("\" # keep\n"), "{after}");
        assert!(!after.contains("old-one") && after.contains("secretKey: k"), "{after}");
        assert!(!scratch(&path).exists());
        let doc = document(
            &file,
            &Instance::resolve(None, Some(&file)).unwrap(),
            &["msgsvc.basePassword"],
            vec![],
            false,
        );
        let workloads: Vec<&str> = doc.restart.iter().map(|r| r.workload.as_str()).collect();
        assert_eq!(
            workloads,
            vec![
                "prod-msgsvc-activemq",
                "prod-panda-jedi",
                "prod-panda-postgres",
                "prod-panda-server",
                "prod-idds-daemon",
                "prod-idds-rest"
            ]
        );
        assert_eq!(doc.rotated[0].secrets[0], "prod-secrets-msgsvc-envs");
        assert!(doc.rotated[0].database.is_none());
        let shown = text(&doc);
        assert!(
            shown.contains("rollout restart deployment/prod-msgsvc-activemq statefulset/prod-panda-jedi"),
            "{shown}"
        );
        assert!(!shown.contains("database keeps"), "{shown}");
    }

    #[test]
    fn a_value_on_several_lines_is_refused_and_the_file_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        let text = "msgsvc:\n  basePassword: >-\n    folded\n";
        std::fs::write(&path, text).unwrap();
        let file = SecretsFile::load(&path).unwrap();
        assert!(rotate_plain(&file, &["msgsvc.basePassword"]).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }
}
