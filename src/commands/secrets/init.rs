//! `panda-install secrets init`: a secrets values file with generated passwords, written mode
//! 0600 and never printed; FIXME stays where a human decides. With `--encrypt` the file is
//! written sops-encrypted: the generated text goes to sops on a pipe and only the encrypted
//! document reaches the disk.

use crate::cli::SecretsInitArgs;
use crate::commands::plaintext;
use crate::commands::Context;
use crate::error::{Error, Result};
use crate::exit_code;
use crate::output;
use crate::settings::{secret_feeds, yaml};
use std::io::{Read, Write};
use std::path::Path;

/// 32 random characters from [A-Za-z0-9] (safe in SQL literals, URLs and sed scripts).
pub(crate) fn random_password() -> std::io::Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(32);
    let mut urandom = std::fs::File::open("/dev/urandom")?;
    let mut byte = [0u8; 1];
    while out.len() < 32 {
        urandom.read_exact(&mut byte)?;
        // 248 = 4 * 62: reject the tail so every character is equally likely
        if byte[0] < 248 {
            out.push(ALPHABET[usize::from(byte[0]) % ALPHABET.len()] as char);
        }
    }
    Ok(out)
}

/// Rewrites `key: "FIXME"` lines whose YAML path is in `generated`, keeping comments and layout.
/// Returns the new text and the paths replaced.
pub(crate) fn fill(text: &str, generated: &[&str], next: impl FnMut() -> String) -> (String, Vec<String>) {
    rewrite(text, generated, |value| matches!(value, "\"FIXME\"" | "FIXME" | "'FIXME'"), next)
}

/// Rewrites the `key: value` lines whose YAML path is in `paths` and whose value (as written,
/// quotes included) `select` accepts, to `key: "<next()>"`, keeping comments and layout. Only
/// one-line scalars are seen; callers check the result by parsing it. Returns the new text and
/// the paths replaced.
pub(crate) fn rewrite(
    text: &str,
    paths: &[&str],
    select: impl Fn(&str) -> bool,
    mut next: impl FnMut() -> String,
) -> (String, Vec<String>) {
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut out = String::with_capacity(text.len());
    let mut replaced = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let key = (!trimmed.starts_with('#') && !trimmed.starts_with('-'))
            .then(|| trimmed.split_once(':'))
            .flatten()
            .map(|(k, _)| k.trim().trim_matches('"').to_string())
            .filter(|k| !k.is_empty() && !k.contains(' '));
        let mut new_line = line.to_string();
        if let Some(key) = key {
            stack.retain(|(i, _)| *i < indent);
            let path =
                stack.iter().map(|(_, k)| k.as_str()).chain([key.as_str()]).collect::<Vec<_>>().join(".");
            let rest = trimmed.split_once(':').map(|(_, v)| v).unwrap_or_default();
            let (value, comment) = match rest.find(" #") {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            if paths.contains(&path.as_str()) && select(value.trim()) {
                new_line = format!("{}{key}: \"{}\"{comment}", &line[..indent], next());
                replaced.push(path.clone());
            }
            stack.push((indent, key));
        }
        out.push_str(&new_line);
        out.push('\n');
    }
    (out, replaced)
}

pub(crate) async fn run(args: &SecretsInitArgs, ctx: &Context) -> Result<i32> {
    let catalog = ctx.catalog(&args.root)?;
    let (out, force) = (args.out.as_path(), args.force);
    let source = catalog.secrets_chart.join("values.yaml");
    let text =
        std::fs::read_to_string(&source).map_err(|e| Error::data(&source, format!("cannot read: {e}")))?;
    if out.exists() && !force {
        return Err(Error::usage(format!("{} exists: pass --force to overwrite it", out.display())));
    }
    if !args.encryption.encrypt {
        plaintext::refuse_tracked(&ctx.runner, &[out.to_path_buf()], Some(out)).await?;
    }
    let (filled, replaced) = generate(&text, &secret_feeds::generated())?;
    let left = yaml::fixme_paths(&yaml::parse(&filled, &source)?);
    let (written, how) = if args.encryption.encrypt {
        plaintext::encrypt(ctx, &args.encryption, &filled, out).await?
    } else {
        (filled, "plain: keep it private, or use --encrypt".to_string())
    };
    write_private(out, &written)?;
    output::note(&format!(
        "wrote {} (mode 0600, {how}) with {} generated password(s): {}",
        out.display(),
        replaced.len(),
        replaced.join(", ")
    ));
    if !left.is_empty() {
        let edit = if args.encryption.encrypt { "panda-install secrets edit" } else { "your editor" };
        output::note(&format!(
            "still FIXME, for you to fill in ({edit}) before `panda-install secrets deploy -f {}`:",
            out.display()
        ));
        for path in left {
            output::note(&format!("  {path}"));
        }
    }
    Ok(exit_code::SUCCESS)
}

/// `text` with every FIXME of `paths` replaced by a fresh random password.
fn generate(text: &str, paths: &[&str]) -> Result<(String, Vec<String>)> {
    let mut failure = None;
    let filled = fill(text, paths, || {
        random_password().unwrap_or_else(|e| {
            failure = Some(e);
            String::new()
        })
    });
    match failure {
        Some(e) => Err(Error::Internal(anyhow::anyhow!("cannot read /dev/urandom: {e}"))),
        None => Ok(filled),
    }
}

/// Creates the file with mode 0600 before any byte is written.
pub(crate) fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::data(path, format!("cannot create: {e}")))?;
    file.write_all(text.as_bytes()).map_err(|e| Error::data(path, format!("cannot write: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_only_generated_paths_and_keeps_comments() {
        let text = "# top\nmsgsvc:\n  # the base\n  basePassword: \"FIXME\"\n  accounts: [panda]\nrucio:\n  password: \"FIXME\" # external\npanda:\n  database:\n    password: FIXME\n    host: \"\"\n";
        let mut n = 0;
        let (out, replaced) = fill(text, &secret_feeds::generated(), || {
            n += 1;
            format!("generated{n}")
        });
        assert_eq!(replaced, vec!["msgsvc.basePassword", "panda.database.password"]);
        assert!(out.contains("  basePassword: \"generated1\"\n"), "{out}");
        assert!(out.contains("    password: \"generated2\"\n"), "{out}");
        assert!(out.contains("  password: \"FIXME\" # external"), "rucio is external: {out}");
        assert!(out.contains("# the base"));
    }

    #[test]
    fn rewrite_keeps_trailing_comments_and_skips_unselected_values() {
        let text = "a:\n    p: \"old\" # keep me\n    q: \"\"\n";
        let (out, replaced) = rewrite(text, &["a.p", "a.q"], |v| v != "\"\"", || "new".into());
        assert_eq!(out, "a:\n    p: \"new\" # keep me\n    q: \"\"\n");
        assert_eq!(replaced, vec!["a.p"]);
    }

    #[test]
    fn generated_paths_exist_in_the_secrets_chart() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("secrets/values.yaml");
        let values = yaml::load_mapping(&path).unwrap();
        for path in secret_feeds::generated() {
            let found = yaml::at(&values, path);
            assert!(
                found.is_some_and(serde_json::Value::is_string),
                "{path} is not a value of secrets/values.yaml"
            );
        }
    }

    #[test]
    fn passwords_are_long_and_distinct() {
        let a = random_password().unwrap();
        let b = random_password().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        write_private(&path, "a: 1\n").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
