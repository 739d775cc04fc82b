//! sops, located like helm (`--sops PATH`, `PANDA_INSTALL_SOPS`, else `sops` on PATH), checked
//! once for its version and run through [`crate::process`]. Plaintext only ever travels through
//! pipes: decrypted documents come back on sops's standard output into memory, values to encrypt
//! or set go to its standard input. The keys are sops's own business (`SOPS_AGE_KEY_FILE`,
//! `SOPS_AGE_KEY`, `~/.config/sops/age/keys.txt`, gpg for PGP): its environment is inherited.

use crate::error::{Error, Result};
use crate::process::{Outcome, Runner};
use std::path::{Path, PathBuf};

/// The oldest sops panda-install runs: 3.11 has the `decrypt`/`encrypt`/`edit` subcommands,
/// `set --value-stdin`, and creates its editing file readable by its owner only.
const MINIMUM: (u64, u64) = (3, 11);

/// sops's exit code when `edit` saved nothing (the file is left as it was).
const EDIT_UNCHANGED: i32 = 200;

/// Every call works on YAML, whatever the file is named.
const YAML: [&str; 4] = ["--input-type", "yaml", "--output-type", "yaml"];

/// A located sops binary of a supported version.
#[derive(Debug, Clone)]
pub(crate) struct Sops {
    program: PathBuf,
    runner: Runner,
}

/// How `sops edit` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Edited {
    Saved,
    Unchanged,
}

impl Sops {
    /// Locates sops and checks its version (`sops --version --disable-version-check`, which does
    /// not ask the network).
    pub(crate) async fn ready(explicit: Option<&Path>, runner: Runner) -> Result<Sops> {
        let program = crate::locate::program(
            explicit,
            "sops",
            "a sops-encrypted secrets file needs sops 3.11 or newer: install it, or pass --sops PATH / set \
             PANDA_INSTALL_SOPS",
        )
        .map_err(Error::SopsUnavailable)?;
        let sops = Sops { program, runner };
        let out = sops.run(&["--version".into(), "--disable-version-check".into()], None).await?;
        if !out.success() {
            return Err(Error::SopsUnavailable(format!("`{} --version` {}", sops.display(), out.reason())));
        }
        check_version(&out.stdout).map_err(|m| Error::SopsUnavailable(format!("{}: {m}", sops.display())))?;
        Ok(sops)
    }

    pub(crate) fn display(&self) -> String {
        self.program.display().to_string()
    }

    async fn run(&self, args: &[String], stdin: Option<&[u8]>) -> Result<Outcome> {
        self.runner
            .run(&self.program, args, stdin)
            .await
            .map_err(|e| Error::SopsUnavailable(format!("cannot run {}: {e}", self.program.display())))
    }

    /// The decrypted document of `file`, into memory. A file sops cannot decrypt (no key for it,
    /// changed after encryption) is bad input data, with sops's reason.
    pub(crate) async fn decrypt(&self, file: &Path) -> Result<String> {
        let mut args = vec!["decrypt".to_string()];
        args.extend(YAML.map(String::from));
        args.push(path(file));
        let out = self.run(&args, None).await?;
        if !out.success() {
            return Err(Error::data(file, format!("sops cannot decrypt it: {}", refusal(&out))));
        }
        Ok(out.stdout)
    }

    /// Encrypts `plaintext` (YAML, given on stdin) for `age` recipients, or, with none, for the
    /// creation rule of `.sops.yaml` that matches `file`; returns the encrypted document.
    pub(crate) async fn encrypt(&self, plaintext: &str, file: &Path, age: &[String]) -> Result<String> {
        let mut args = vec!["encrypt".to_string()];
        args.extend(YAML.map(String::from));
        args.extend(["--filename-override".into(), path(file)]);
        if !age.is_empty() {
            args.extend(["--age".into(), age.join(",")]);
        }
        let out = self.run(&args, Some(plaintext.as_bytes())).await?;
        if !out.success() {
            return Err(Error::data(file, format!("sops cannot encrypt it: {}", refusal(&out))));
        }
        Ok(out.stdout)
    }

    /// Sets one value in an encrypted file in place (`sops set --value-stdin`): `index` is sops's
    /// path (`["panda"]["database"]["password"]`), `json` the new value as JSON, given on stdin.
    pub(crate) async fn set(&self, file: &Path, index: &str, json: &str) -> Result<()> {
        let mut args = vec!["set".to_string()];
        args.extend(YAML.map(String::from));
        args.extend(["--value-stdin".into(), path(file), index.into()]);
        let out = self.run(&args, Some(json.as_bytes())).await?;
        if !out.success() {
            return Err(Error::data(file, format!("sops cannot set {index}: {}", refusal(&out))));
        }
        Ok(())
    }

    /// `sops edit FILE` on the user's terminal: sops decrypts the file into a temporary file only
    /// its owner can read, runs `$SOPS_EDITOR`/`$EDITOR`, encrypts what was saved and removes it.
    pub(crate) async fn edit(&self, file: &Path) -> Result<Edited> {
        let mut args = vec!["edit".to_string()];
        args.extend(YAML.map(String::from));
        args.push(path(file));
        let code = self
            .runner
            .run_interactive(&self.program, &args)
            .await
            .map_err(|e| Error::SopsUnavailable(format!("cannot run {}: {e}", self.program.display())))?;
        match code {
            Some(0) => Ok(Edited::Saved),
            Some(EDIT_UNCHANGED) => Ok(Edited::Unchanged),
            Some(code) => Err(Error::data(file, format!("sops edit exited {code} (its message is above)"))),
            None => Err(Error::data(file, "sops edit was ended by a signal")),
        }
    }
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Checks the first line of `sops --version` ("sops 3.13.3 (latest)").
fn check_version(stdout: &str) -> std::result::Result<(), String> {
    let word = stdout.split_whitespace().nth(1).unwrap_or_default();
    let mut parts = word.trim_start_matches('v').split('.').map(|p| p.parse::<u64>());
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) if (major, minor) >= MINIMUM => Ok(()),
        (Some(Ok(_)), Some(Ok(_))) => Err(format!(
            "sops {word} is too old: panda-install needs sops {}.{} or newer",
            MINIMUM.0, MINIMUM.1
        )),
        _ => Err(format!("cannot read the version of sops from {:?}", stdout.lines().next().unwrap_or(""))),
    }
}

/// Why sops refused, on one line: its message (the `- | ` continuation marks and MAC digests
/// dropped), and what its exit code means for the operator.
fn refusal(out: &Outcome) -> String {
    let mut words = Vec::new();
    for line in out.stderr.lines() {
        let line = line.trim().trim_start_matches(['|', '-', ' ']);
        if line.is_empty() {
            continue;
        }
        // "MAC mismatch. File has <digest>, computed <digest>": the digests say nothing useful
        words.push(if line.starts_with("MAC mismatch") { "MAC mismatch." } else { line });
    }
    let mut text = words.join(" ");
    if text.chars().count() > 700 {
        text = text.chars().take(700).collect::<String>() + " ...";
    }
    let hint = match out.code {
        // CouldNotRetrieveKey
        Some(128) => {
            " (no key at hand opens it: sops reads age keys from SOPS_AGE_KEY_FILE, SOPS_AGE_KEY or \
             ~/.config/sops/age/keys.txt, and PGP keys through gpg)"
        }
        // MacMismatch, MacNotFound, ErrorDecryptingMac, ErrorDecryptingTree
        Some(51 | 52 | 24 | 25) => {
            " (the file was changed after it was encrypted: take it back from Git, and change it only \
             with `panda-install secrets edit`)"
        }
        _ => "",
    };
    match out.code {
        Some(code) => format!("sops exited {code}: {text}{hint}"),
        None => format!("sops was ended by a signal: {text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(code: i32, stderr: &str) -> Outcome {
        Outcome { code: Some(code), stdout: String::new(), stderr: stderr.into() }
    }

    #[test]
    fn versions_older_than_3_11_are_refused() {
        assert!(check_version("sops 3.13.3 (latest)\n").is_ok());
        assert!(check_version("sops 3.11.0\n").is_ok());
        assert!(check_version("sops 4.0.0").is_ok());
        let old = check_version("sops 3.9.4\n").unwrap_err();
        assert!(old.contains("3.9.4 is too old") && old.contains("3.11"), "{old}");
        assert!(check_version("what?").unwrap_err().contains("cannot read the version"));
    }

    #[test]
    fn refusals_are_one_line_without_digests() {
        let mac = outcome(51, "MAC mismatch. File has 541FA1FE, computed 0A31409F\n");
        assert_eq!(
            refusal(&mac),
            "sops exited 51: MAC mismatch. (the file was changed after it was encrypted: take it back from \
             Git, and change it only with `panda-install secrets edit`)"
        );
        let key = outcome(
            128,
            "Failed to get the data key.\n\nGroup 0: FAILED\n  age1x: FAILED\n    - | failed to create reader\n      | identity did not match\n",
        );
        let text = refusal(&key);
        assert!(
            text.starts_with("sops exited 128: Failed to get the data key. Group 0: FAILED age1x: FAILED failed to create reader identity did not match (no key at hand"),
            "{text}"
        );
        assert!(!text.contains('\n'));
        let long = refusal(&outcome(1, &"x".repeat(2000)));
        assert!(long.len() < 760 && long.ends_with("..."), "{long}");
    }
}
