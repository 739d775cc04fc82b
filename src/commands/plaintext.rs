//! Where plaintext secrets may be written (`secrets init`, `import`): never inside a git work tree
//! at a path git would track, where one `git add -A` commits every password. git itself answers
//! (`git rev-parse --show-toplevel`, `git check-ignore`, through [`crate::process`]): a path that
//! is ignored, or outside any work tree, is fine; one that is not ignored (or is already tracked)
//! is refused before anything is written, naming the files and the ways out (exit 73). Without
//! git on PATH no work tree can be asked about, and nothing is refused.

use super::import::Output;
use super::Context;
use crate::cli::args::EncryptArgs;
use crate::error::{Error, Result};
use crate::process::Runner;
use crate::settings::{secrets_file, yaml};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `plaintext` encrypted by sops for `out` (the `--age` recipients, else the `.sops.yaml` rule
/// matching `out`), given to sops on a pipe; returns the encrypted document and how it was
/// encrypted (for the "wrote" line).
pub(crate) async fn encrypt(
    ctx: &Context,
    args: &EncryptArgs,
    plaintext: &str,
    out: &Path,
) -> Result<(String, String)> {
    let sops = ctx.sops(&args.sops).await?;
    let encrypted = sops.encrypt(plaintext, out, &args.age).await?;
    if !secrets_file::is_encrypted(&yaml::parse(&encrypted, out)?) {
        return Err(Error::Internal(anyhow::anyhow!("sops returned a document without its metadata")));
    }
    let recipients =
        if args.age.is_empty() { "the .sops.yaml creation rule".into() } else { args.age.join(", ") };
    Ok((encrypted, format!("sops-encrypted for {recipients}")))
}

/// Whether `out` already holds `plaintext`'s values sops-encrypted (so an import run again keeps
/// it instead of encrypting anew: sops's output differs every time). A file sops cannot decrypt
/// is not the same.
async fn encrypted_same(ctx: &Context, args: &EncryptArgs, plaintext: &str, out: &Path) -> Result<bool> {
    let Ok(text) = std::fs::read_to_string(out) else { return Ok(false) };
    if !yaml::parse(&text, out).is_ok_and(|v| secrets_file::is_encrypted(&v)) {
        return Ok(false);
    }
    let Ok(decrypted) = ctx.sops(&args.sops).await?.decrypt(out).await else { return Ok(false) };
    Ok(yaml::parse(&decrypted, out).ok() == Some(yaml::parse(plaintext, out)?))
}

/// The import's outputs before anything is written: with `--encrypt` the secrets values file
/// (`secrets`, relative to `dir`) sops-encrypted (kept as it is when `dir` already holds the same
/// values encrypted, so a second run writes nothing); then every private file still plaintext
/// must be one git would not track.
pub(crate) async fn protect(
    ctx: &Context,
    args: &EncryptArgs,
    dir: &Path,
    secrets: &str,
    files: &mut BTreeMap<String, Output>,
) -> Result<()> {
    let path = dir.join(secrets);
    if let (true, Some(output)) = (args.encrypt, files.get_mut(secrets)) {
        let plain = String::from_utf8_lossy(&output.bytes).into_owned();
        output.bytes = if encrypted_same(ctx, args, &plain, &path).await? {
            std::fs::read(&path).map_err(|e| Error::data(&path, format!("cannot read: {e}")))?
        } else {
            encrypt(ctx, args, &plain, &path).await?.0.into_bytes()
        };
    }
    let plaintext: Vec<PathBuf> = files
        .iter()
        .filter(|(rel, o)| o.private && !(args.encrypt && rel.as_str() == secrets))
        .map(|(rel, _)| dir.join(rel))
        .collect();
    refuse_tracked(&ctx.runner, &plaintext, (!args.encrypt).then_some(path.as_path())).await
}

/// Refuses when git would track one of `files` (plaintext secrets about to be written).
/// `encryptable` names the file `--encrypt` would write sops-encrypted instead, if any.
pub(crate) async fn refuse_tracked(
    runner: &Runner,
    files: &[PathBuf],
    encryptable: Option<&Path>,
) -> Result<()> {
    let Ok(git) = crate::locate::program(None, "git", "") else {
        return Ok(());
    };
    let mut tracked: Vec<(PathBuf, PathBuf)> = Vec::new();
    for file in files {
        let absolute = absolute(file)?;
        let Some(top) = work_tree(runner, &git, &absolute).await? else { continue };
        if !ignored(runner, &git, &top, &absolute).await? {
            tracked.push((file.clone(), top));
        }
    }
    if tracked.is_empty() {
        return Ok(());
    }
    let top = tracked[0].1.display().to_string();
    let names: Vec<String> = tracked.iter().map(|(f, _)| f.display().to_string()).collect();
    let mut ways = Vec::new();
    if let Some(file) = encryptable.filter(|e| tracked.iter().any(|(f, _)| f == e)) {
        ways.push(format!(
            "--encrypt (writes {} sops-encrypted; see README, \"Secrets encrypted at rest\")",
            file.display()
        ));
    }
    ways.push("a path outside the work tree (--out)".to_string());
    ways.push(format!(
        "an ignore rule for them in {top}/.gitignore (a tracked file must also be `git rm --cached`)"
    ));
    Err(Error::TrackedPlaintext(format!(
        "refusing to write plaintext secrets where git would track them (work tree {top}): {}. Nothing was \
         written. Ways out: {}",
        names.join(", "),
        ways.join("; or ")
    )))
}

/// The top of the git work tree holding `path`, or `None` when it is in none.
async fn work_tree(runner: &Runner, git: &Path, path: &Path) -> Result<Option<PathBuf>> {
    let dir = existing_ancestor(path);
    let args = ["-C".to_string(), text(&dir), "rev-parse".into(), "--show-toplevel".into()];
    let out = runner.run(git, &args, None).await.map_err(|e| cannot_run(git, e))?;
    if out.success() {
        return Ok(Some(PathBuf::from(out.stdout.trim_end_matches(['\n', '\r']))));
    }
    if out.stderr.contains("not a git repository") {
        return Ok(None);
    }
    Err(Error::data(path, format!("cannot tell whether git tracks it: `git rev-parse` {}", out.reason())))
}

/// Whether git ignores `path` in the work tree `top` (a tracked file is never ignored).
async fn ignored(runner: &Runner, git: &Path, top: &Path, path: &Path) -> Result<bool> {
    let args = ["-C".to_string(), text(top), "check-ignore".into(), "-q".into(), "--".into(), text(path)];
    let out = runner.run(git, &args, None).await.map_err(|e| cannot_run(git, e))?;
    match out.code {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => Err(Error::data(
            path,
            format!("cannot tell whether git tracks it: `git check-ignore` {}", out.reason()),
        )),
    }
}

fn cannot_run(git: &Path, e: std::io::Error) -> Error {
    Error::Internal(anyhow::anyhow!("cannot run {}: {e}", git.display()))
}

fn text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `path` made absolute with its existing part's symlinks resolved (as git reports its top).
fn absolute(path: &Path) -> Result<PathBuf> {
    let cwd = std::env::current_dir().map_err(|e| Error::Internal(e.into()))?;
    let full = cwd.join(path);
    let base = existing_ancestor(&full);
    let rest = full.strip_prefix(&base).map(Path::to_path_buf).unwrap_or_default();
    let real =
        std::fs::canonicalize(&base).map_err(|e| Error::data(&base, format!("cannot resolve: {e}")))?;
    Ok(real.join(rest))
}

/// The nearest ancestor of `path` (itself excluded when it is not a directory) that exists.
fn existing_ancestor(path: &Path) -> PathBuf {
    path.ancestors()
        .skip(usize::from(!path.is_dir()))
        .find(|d| d.is_dir())
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git").arg("-C").arg(dir).args(args).output().unwrap();
        assert!(ok.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&ok.stderr));
    }

    #[tokio::test]
    async fn tracked_paths_are_refused_ignored_and_outside_ones_are_not() {
        let runner = Runner::default();
        let repo = tempfile::tempdir().unwrap();
        git(repo.path(), &["init", "-q"]);
        std::fs::write(repo.path().join(".gitignore"), "/ignored.yaml\n/kept/*.json\n").unwrap();
        let plain = repo.path().join("sub/dir/secrets-values.yaml");
        let e = refuse_tracked(&runner, std::slice::from_ref(&plain), Some(&plain)).await.unwrap_err();
        assert_eq!(e.exit_code(), crate::exit_code::TRACKED_PLAINTEXT);
        let e = e.to_string();
        assert!(
            e.contains("secrets-values.yaml") && e.contains("--encrypt") && e.contains(".gitignore"),
            "{e}"
        );
        assert!(e.contains("outside the work tree"), "{e}");
        // ignored (also in a directory not created yet): fine
        let ok = [repo.path().join("ignored.yaml"), repo.path().join("kept/a.json")];
        refuse_tracked(&runner, &ok, None).await.unwrap();
        // ignored by a pattern but already tracked: git would commit its changes
        std::fs::create_dir_all(repo.path().join("kept")).unwrap();
        std::fs::write(repo.path().join("kept/b.json"), "{}").unwrap();
        git(repo.path(), &["add", "-f", "kept/b.json"]);
        let e =
            refuse_tracked(&runner, &[repo.path().join("kept/b.json")], None).await.unwrap_err().to_string();
        assert!(e.contains("kept/b.json") && !e.contains("--encrypt"), "{e}");
        // outside any work tree
        let outside = tempfile::tempdir().unwrap();
        refuse_tracked(&runner, &[outside.path().join("s.yaml")], None).await.unwrap();
    }

    /// The checkout's .gitignore covers every file `secrets init` and `import` write with secrets
    /// in it: the secrets values file and every site file kind a chart marks sensitive.
    #[test]
    fn the_checkouts_gitignore_covers_every_secret_the_commands_write() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let ignore = std::fs::read_to_string(root.join(".gitignore")).unwrap();
        let lines: Vec<&str> = ignore.lines().collect();
        assert!(lines.contains(&"secrets-values.yaml"), "{ignore}");
        let catalog = crate::settings::catalog::Catalog::load(root).unwrap();
        let mut sensitive = 0;
        for (component, chart) in &catalog.charts {
            for kind in chart.site_files.iter().filter(|k| k.sensitive) {
                sensitive += 1;
                let rule = format!("/values/*/files/{component}/{}", kind.path);
                assert!(lines.contains(&rule.as_str()), "{rule} is missing from .gitignore");
            }
        }
        assert_eq!(sensitive, 3, "the sensitive site file kinds");
    }
}
