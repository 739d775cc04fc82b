//! sops-encrypted secrets files, with a real age key (age-keygen into a temporary directory) and
//! the real sops: an encrypted file deploys and the Secrets hold its values; its plaintext shows up
//! on no command line, in no file and in no output; files that cannot be decrypted (wrong key,
//! tampered, no sops) are refused before any helm call; `secrets init --encrypt`, `edit` and
//! `rotate`; the rotation table against the charts' renders; what `argocd` writes about it.
//!
//! sops and age come from PANDA_INSTALL_SOPS and PANDA_INSTALL_AGE_BIN (`scripts/tools env`), else
//! the tools cache; a test fails when they are missing.

use crate::charts::prepare_charts;
use crate::lifecycle::{delay_values, wait_for_status};
use crate::support::{
    helm4, kubectl, make_executable, panda_install, project_copy, root, testbed, validate, yaml, HelmSpy,
    Namespace, TEST_SECRETS,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

const DATA: i32 = 65;
const TOOL_UNAVAILABLE: i32 = 69;

fn cache() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache"))
        .join("panda-install/tools")
}

fn required(what: &str, path: PathBuf) -> PathBuf {
    assert!(
        path.is_file(),
        "{what} is required but not found at {}: run scripts/tools build",
        path.display()
    );
    path
}

/// The real sops (PANDA_INSTALL_SOPS, else the tools cache); panics when missing.
pub fn sops() -> PathBuf {
    let path = std::env::var_os("PANDA_INSTALL_SOPS")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache().join("sops-v3.13.3/bin/sops"));
    required("sops", path)
}

/// age-keygen (in PANDA_INSTALL_AGE_BIN, else the tools cache); panics when missing.
fn age_keygen() -> PathBuf {
    let dir = std::env::var_os("PANDA_INSTALL_AGE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache().join("age-v1.3.2/bin"));
    required("age-keygen", dir.join("age-keygen"))
}

/// An age identity in a temporary directory, and its recipient.
pub struct AgeKey {
    _dir: tempfile::TempDir,
    pub file: PathBuf,
    pub recipient: String,
}

pub fn age_key() -> AgeKey {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys.txt");
    let out = Command::new(age_keygen()).arg("-o").arg(&file).output().unwrap();
    assert!(out.status.success(), "age-keygen: {}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(age_keygen()).arg("-y").arg(&file).output().unwrap();
    assert!(out.status.success());
    let recipient = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(recipient.starts_with("age1"), "{recipient}");
    AgeKey { _dir: dir, file, recipient }
}

/// sops with `args`, `stdin` on a pipe; returns its output.
fn run_sops(args: &[&str], key: Option<&Path>, stdin: &[u8]) -> Output {
    let mut cmd = Command::new(sops());
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    match key {
        Some(k) => cmd.env("SOPS_AGE_KEY_FILE", k),
        None => cmd.env_remove("SOPS_AGE_KEY_FILE"),
    };
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Encrypts a YAML document for `recipient` into `out`; the plaintext travels on a pipe only.
pub fn encrypt_to(plaintext: &str, recipient: &str, out: &Path) {
    let name = out.to_str().unwrap();
    let args = [
        "encrypt",
        "--input-type",
        "yaml",
        "--output-type",
        "yaml",
        "--age",
        recipient,
        "--filename-override",
        name,
    ];
    let result = run_sops(&args, None, plaintext.as_bytes());
    assert!(result.status.success(), "sops encrypt: {}", String::from_utf8_lossy(&result.stderr));
    std::fs::write(out, &result.stdout).unwrap();
}

/// The decrypted document of `file`, in memory.
pub fn decrypt(file: &Path, key: &Path) -> Value {
    let args = ["decrypt", "--input-type", "yaml", "--output-type", "yaml", file.to_str().unwrap()];
    let out = run_sops(&args, Some(key), b"");
    assert!(
        out.status.success(),
        "sops decrypt {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    yaml(&String::from_utf8(out.stdout).unwrap())
}

/// The test secrets with `changes` (dotted path, value) applied, as a YAML document.
fn test_secrets_with(changes: &[(&str, &str)]) -> String {
    let mut values: Value = yaml(&std::fs::read_to_string(root().join(TEST_SECRETS)).unwrap());
    for (path, value) in changes {
        let mut at = &mut values;
        for k in path.split('.') {
            at = &mut at[k];
        }
        *at = Value::String(value.to_string());
    }
    serde_json::to_string_pretty(&values).unwrap()
}

fn value_at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| &v[k])
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Every regular file under `dir` (symlinks not followed) modified at or after `since`, up to
/// 32 MiB, that holds `needle`.
fn files_holding(dir: &Path, needle: &[u8], since: SystemTime, skip: &[&Path], found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if skip.iter().any(|s| path.starts_with(s)) {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if meta.is_dir() {
            files_holding(&path, needle, since, skip, found);
        } else if meta.is_file()
            && meta.len() <= 32 << 20
            && meta.modified().is_ok_and(|m| m >= since)
            && std::fs::read(&path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
        {
            found.push(path);
        }
    }
}

/// Watches every process's command line until stopped: the command lines holding the canary, and
/// how many helm and `sops decrypt` processes it saw.
struct Watcher {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(usize, usize, Vec<String>)>,
}

impl Watcher {
    fn start(canary: &str) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, canary) = (stop.clone(), canary.to_string());
        let thread = std::thread::spawn(move || {
            let (mut helm, mut sops, mut leaks) = (0usize, 0usize, Vec::new());
            while !flag.load(Ordering::SeqCst) {
                for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                    let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else { continue };
                    let line = String::from_utf8_lossy(&raw).replace('\0', " ");
                    helm += usize::from(line.contains("helm") && line.contains("test-"));
                    sops += usize::from(line.contains("sops") && line.contains(" decrypt "));
                    if line.contains(&canary) {
                        leaks.push(line);
                    }
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            (helm, sops, leaks)
        });
        Watcher { stop, thread }
    }

    fn finish(self) -> (usize, usize, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap()
    }
}

/// A helm wrapper that logs every call and holds the first `upgrade --install test-secrets` until
/// the test lets it go (it touches `paused`, then waits for `go`), so the test can look at the
/// machine while the secrets release is being deployed.
struct PausingHelm {
    dir: tempfile::TempDir,
    program: PathBuf,
}

impl PausingHelm {
    fn new(real: &Path) -> PausingHelm {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let program = dir.path().join("helm");
        std::fs::write(
            &program,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{d}/calls.log'\n\
                 case \"$*\" in\n  'upgrade --install test-secrets '*)\n    touch '{d}/paused'; i=0\n    \
                 while [ ! -e '{d}/go' ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done;;\nesac\n\
                 exec '{}' \"$@\"\n",
                real.display()
            ),
        )
        .unwrap();
        make_executable(&program);
        PausingHelm { dir, program }
    }

    fn wait_paused(&self, limit: Duration) {
        let start = Instant::now();
        while !self.dir.path().join("paused").exists() {
            assert!(start.elapsed() < limit, "the secrets release was never deployed: {:?}", self.calls());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn release(&self) {
        std::fs::write(self.dir.path().join("go"), "").unwrap();
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }
}

/// A sops wrapper that lingers before running the real one, so a command-line watcher sees it.
fn slow_sops(dir: &Path) -> PathBuf {
    let program = dir.join("sops");
    std::fs::write(&program, format!("#!/bin/sh\nsleep 0.3\nexec '{}' \"$@\"\n", sops().display())).unwrap();
    make_executable(&program);
    program
}

fn base64_decode(text: &str) -> String {
    let mut child =
        Command::new("base64").arg("-d").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
}

fn secret_value(ns: &str, secret: &str, key: &str) -> String {
    base64_decode(&kubectl(&["get", "secret", secret, "-n", ns, "-o", &format!("jsonpath={{.data.{key}}}")]))
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn an_encrypted_file_deploys_and_its_plaintext_reaches_no_command_line_file_or_output() {
    testbed();
    let helm = helm4();
    prepare_charts(&helm);
    let ns = Namespace::new("sops");
    let key = age_key();
    let start = SystemTime::now() - Duration::from_secs(1);
    let canary = format!("CANARY{}x{}", std::process::id(), Instant::now().elapsed().subsec_nanos());
    let (work, tmp, home, aside) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let encrypted = work.path().join("secrets.enc.yaml");
    let db_password = format!("{canary}db");
    let plaintext =
        test_secrets_with(&[("msgsvc.basePassword", &canary), ("panda.database.password", &db_password)]);
    encrypt_to(&plaintext, &key.recipient, &encrypted);
    drop(plaintext);
    let wrapper = PausingHelm::new(&helm);
    let sops_wrapper = slow_sops(aside.path());
    let delay = delay_values(aside.path(), "msgsvc", "8s");
    let f = encrypted.to_str().unwrap().to_string();
    let deploy: Vec<String> =
        ["--secrets", &f, "-a", "test-", "-e", "dev", "-c", "msgsvc,panda", "--timeout", "3m"]
            .into_iter()
            .map(String::from)
            .chain(["--values".to_string(), format!("msgsvc={}", delay.display())])
            .collect();
    let command = |args: &[String]| {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("panda-install"));
        cmd.current_dir(work.path())
            .env("HOME", home.path())
            .env("TMPDIR", tmp.path())
            .env("SOPS_AGE_KEY_FILE", &key.file)
            .env("PANDA_INSTALL_SOPS", &sops_wrapper)
            .env_remove("PANDA_INSTALL_ROOT")
            .env_remove("PANDA_INSTALL_HELM")
            .env_remove("XDG_CACHE_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME")
            .args(args)
            .args(["-n", &ns.0, "-vv", "--root"])
            .arg(root())
            .arg("--helm")
            .arg(&wrapper.program);
        cmd
    };
    let testbed_dir = std::env::var_os("PANDA_TESTBED_DIR").map(PathBuf::from);
    let mut skip: Vec<&Path> = vec![Path::new("/tmp/.X11-unix")];
    if let Some(d) = &testbed_dir {
        // the cluster's own storage holds the Secrets: that is where they belong
        skip.push(d);
    }
    let mut leaks = Vec::new();
    let scan = |when: &str, leaks: &mut Vec<String>| {
        let mut found = Vec::new();
        for dir in [work.path(), tmp.path(), home.path()] {
            files_holding(dir, canary.as_bytes(), SystemTime::UNIX_EPOCH, &skip, &mut found);
        }
        files_holding(&std::env::temp_dir(), canary.as_bytes(), start, &skip, &mut found);
        let found: BTreeSet<PathBuf> = found.into_iter().collect();
        leaks.extend(found.into_iter().map(|p| format!("{when}: {}", p.display())));
    };
    let watcher = Watcher::start(&canary);
    let mut outputs: Vec<(String, String)> = Vec::new();

    // install, held while the secrets release is being deployed, then while tier 1 waits for readiness
    let child = command(&deploy).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    wrapper.wait_paused(Duration::from_secs(120));
    scan("install, deploying the secrets release", &mut leaks);
    wrapper.release();
    wait_for_status(&helm, &ns.0, "test-msgsvc", "pending-install", Duration::from_secs(60));
    scan("install, tier 1 waiting for readiness", &mut leaks);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    outputs.push(("install".into(), text(&out)));
    scan("after install", &mut leaks);

    // a re-run leaves the secrets release alone: the drift probe rendered it from the same stdin
    let out = command(&deploy).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let summary = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(summary.lines().any(|l| l.contains("test-secrets") && l.contains("unchanged")), "{summary}");
    outputs.push(("re-run".into(), text(&out)));
    scan("after the re-run", &mut leaks);

    let mut dry = deploy.clone();
    dry.push("--dry-run".into());
    let out = command(&dry).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let plan = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(plan.contains(&format!("sops decrypt --input-type yaml --output-type yaml {f} | ")), "{plan}");
    outputs.push(("dry run".into(), text(&out)));
    scan("after the dry run", &mut leaks);

    let diff: Vec<String> = ["diff"]
        .iter()
        .map(|s| s.to_string())
        .chain(deploy.iter().filter(|a| *a != "--timeout" && *a != "3m").cloned())
        .collect();
    let out = command(&diff).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the deployed instance differs from its own file:\n{}",
        text(&out)
    );
    outputs.push(("diff".into(), text(&out)));
    scan("after diff", &mut leaks);

    let out = command(&["status".to_string()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    outputs.push(("status".into(), text(&out)));
    scan("after status", &mut leaks);

    for (extra, schema) in [(&["--dry-run"][..], "plan.schema.json"), (&[], "run.schema.json")] {
        let mut args: Vec<String> = ["secrets", "deploy", "-f", &f, "-a", "test-", "--output", "json"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = command(&args).output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        validate(schema, &doc);
        let plan = if schema == "run.schema.json" { &doc["plan"] } else { &doc };
        assert_eq!(plan["tiers"][0]["releases"][0]["stdin"], f.as_str(), "{doc:#}");
        outputs.push((args.join(" "), text(&out)));
        scan("after secrets deploy", &mut leaks);
    }

    let (helms, sopses, on_command_lines) = watcher.finish();
    assert!(helms > 0 && sopses > 0, "the watcher saw {helms} helm and {sopses} sops decrypt processes");
    assert!(on_command_lines.is_empty(), "canary on a command line: {on_command_lines:?}");
    assert!(leaks.is_empty(), "canary in files: {leaks:#?}");
    for (what, out) in &outputs {
        assert!(!out.contains(&canary), "the output of {what} holds the canary:\n{out}");
    }
    // helm read the encrypted file's values from stdin, never its path
    let secrets_calls: Vec<String> = wrapper
        .calls()
        .into_iter()
        .filter(|c| c.contains("test-secrets secrets") || c.contains("test-secrets /"))
        .collect();
    assert!(!secrets_calls.is_empty());
    for call in &secrets_calls {
        assert!(call.contains(" -f - ") && !call.contains("secrets.enc.yaml"), "{call}");
    }
    assert_eq!(
        wrapper.calls().iter().filter(|c| c.starts_with("upgrade --install test-secrets ")).count(),
        1,
        "the first install upgrades the secrets release; the re-run and `secrets deploy` of the same file leave \
         it alone (rendered from stdin, compared, unchanged): {:?}",
        wrapper.calls()
    );
    // and the cluster holds the decrypted values (the test would prove nothing otherwise)
    assert_eq!(secret_value(&ns.0, "test-secrets-msgsvc-envs", "ACTIVEMQ_BASE_PASSWD"), canary);
    assert_eq!(secret_value(&ns.0, "test-secrets-panda-envs", "PANDA_DB_PASSWORD"), db_password);
    println!("scanned {} outputs; helm processes seen {helms}, sops decrypt {sopses}", outputs.len());
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn undecryptable_files_and_a_missing_sops_are_refused_before_any_helm_call() {
    let key = age_key();
    let other = age_key();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.enc.yaml");
    encrypt_to(&test_secrets_with(&[]), &key.recipient, &good);
    let encrypted_text = std::fs::read_to_string(&good).unwrap();
    // tampered: a value removed (every other value still decrypts; the MAC no longer matches)
    let removed = dir.path().join("removed.enc.yaml");
    let lines: Vec<&str> = encrypted_text.lines().filter(|l| !l.starts_with("affix:")).collect();
    assert!(lines.len() < encrypted_text.lines().count(), "no affix line to remove");
    std::fs::write(&removed, lines.join("\n") + "\n").unwrap();
    // tampered: the MAC itself changed
    let mac = dir.path().join("mac.enc.yaml");
    let marker = "mac: ENC[AES256_GCM,data:";
    let at = encrypted_text.find(marker).expect("a mac") + marker.len();
    let flipped = if &encrypted_text[at..at + 1] == "A" { "B" } else { "A" };
    std::fs::write(&mac, format!("{}{flipped}{}", &encrypted_text[..at], &encrypted_text[at + 1..])).unwrap();
    // a sops too old to use
    let old = dir.path().join("old-sops");
    std::fs::write(&old, "#!/bin/sh\necho 'sops 3.8.1'\n").unwrap();
    make_executable(&old);

    let spy = HelmSpy::wrapping(None);
    let commands: Vec<Vec<&str>> = vec![
        vec!["-c", "msgsvc", "-n", "x", "--secrets"],
        vec!["plan", "-c", "msgsvc", "-n", "x", "--secrets"],
        vec!["install", "--template", "-c", "msgsvc", "--secrets"],
        vec!["diff", "-c", "msgsvc", "-n", "x", "--secrets"],
        vec!["secrets", "deploy", "-n", "x", "-f"],
    ];
    let run = |args: &[&str], file: &Path, key_file: &Path, sops_bin: Option<&Path>| {
        let mut cmd = panda_install();
        cmd.args(args).arg(file).arg("--helm").arg(&spy.program).env("SOPS_AGE_KEY_FILE", key_file);
        match sops_bin {
            Some(s) => cmd.env("PANDA_INSTALL_SOPS", s),
            None => cmd.env_remove("PANDA_INSTALL_SOPS").env("PATH", dir.path()),
        };
        cmd.output().unwrap()
    };
    let real = sops();
    let missing = Path::new("/nonexistent/sops");
    // what, the file, the key file, the sops binary (None: none on PATH), exit code, messages
    type Case<'a> = (&'a str, &'a Path, &'a Path, Option<&'a Path>, i32, &'a [&'a str]);
    let wrong_key: Case = (
        "wrong key",
        &good,
        &other.file,
        Some(&real),
        DATA,
        &["sops cannot decrypt it", "sops exited 128", "no key at hand"],
    );
    let removed_value: Case = (
        "a value removed",
        &removed,
        &key.file,
        Some(&real),
        DATA,
        &["sops exited 51", "MAC mismatch", "changed after it was encrypted"],
    );
    let changed_mac: Case =
        ("the MAC changed", &mac, &key.file, Some(&real), DATA, &["sops exited 51", "Cannot decrypt MAC"]);
    let no_sops: Case = (
        "sops missing",
        &good,
        &key.file,
        Some(missing),
        TOOL_UNAVAILABLE,
        &["sops not found at /nonexistent/sops"],
    );
    let not_on_path: Case = (
        "sops not on PATH",
        &good,
        &key.file,
        None,
        TOOL_UNAVAILABLE,
        &["sops is not on PATH", "--sops PATH"],
    );
    let too_old: Case =
        ("sops too old", &good, &key.file, Some(&old), TOOL_UNAVAILABLE, &["sops 3.8.1 is too old"]);
    let cases = [wrong_key, removed_value, changed_mac, no_sops, not_on_path, too_old];
    for (what, file, key_file, sops_bin, code, says) in cases {
        for args in &commands {
            let out = run(args, file, key_file, sops_bin);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(code), "{what}, {args:?}: {stderr}");
            for s in says {
                assert!(stderr.contains(s), "{what}, {args:?}: no {s:?} in {stderr}");
            }
            if code == DATA {
                assert!(
                    stderr.contains(&*file.display().to_string()),
                    "{what}: the file is not named: {stderr}"
                );
            }
        }
    }
    assert!(spy.calls().is_empty(), "helm was called: {:?}", spy.calls());
    // a plain file never needs sops: the same commands go on (to the spy, which then fails them)
    let plain = root().join(TEST_SECRETS);
    let out = run(&["plan", "-c", "msgsvc", "-n", "x", "--secrets"], &plain, &key.file, Some(missing));
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("-f {}", plain.display())),
        "{}",
        text(&out)
    );
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn init_encrypt_then_edit_then_rotate_without_plaintext_on_disk() {
    let key = age_key();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secrets.enc.yaml");
    let generated = [
        "msgsvc.basePassword",
        "panda.database.password",
        "panda.database.superuserPassword",
        "harvester.database.password",
        "harvester.database.rootPassword",
        "idds.database.password",
        "iam.database.password",
        "iam.database.rootPassword",
        "bigmon.secretKey",
    ];
    let cli = || {
        let mut cmd = panda_install();
        cmd.env("PANDA_INSTALL_SOPS", sops()).env("SOPS_AGE_KEY_FILE", &key.file).current_dir(dir.path());
        cmd
    };
    // init --encrypt: only the encrypted document reaches the disk
    let out = cli()
        .args(["secrets", "init", "--encrypt", "--age", &key.recipient, "--root"])
        .arg(root())
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("sops-encrypted for age1") && text(&out).contains("panda.hostName"),
        "{}",
        text(&out)
    );
    let first = decrypt(&file, &key.file);
    for path in generated {
        let v = value_at(&first, path).as_str().unwrap_or_default().to_string();
        assert!(v.len() == 32 && v.chars().all(|c| c.is_ascii_alphanumeric()), "{path}: {v:?}");
        let mut found = Vec::new();
        files_holding(dir.path(), v.as_bytes(), SystemTime::UNIX_EPOCH, &[], &mut found);
        assert!(found.is_empty(), "{path}'s generated value is in a file: {found:?}");
    }
    assert_eq!(value_at(&first, "panda.hostName"), "FIXME");
    let on_disk: Value = yaml(&std::fs::read_to_string(&file).unwrap());
    assert!(on_disk["sops"]["age"][0]["recipient"] == key.recipient.as_str(), "{:#}", on_disk["sops"]);
    assert!(value_at(&on_disk, "msgsvc.basePassword").as_str().unwrap().starts_with("ENC[AES256_GCM,"));

    // edit: sops runs the editor on the decrypted file; here an "editor" that fills one FIXME
    let editor = dir.path().join("editor");
    std::fs::write(&editor, "#!/bin/sh\nsed -i 's/hostName: FIXME/hostName: panda.example.org/' \"$1\"\n")
        .unwrap();
    make_executable(&editor);
    let out = cli()
        .args(["secrets", "edit"])
        .arg(&file)
        .env("SOPS_EDITOR", &editor)
        .env("EDITOR", &editor)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("saved, encrypted by sops") && text(&out).contains("still FIXME"),
        "{}",
        text(&out)
    );
    let edited = decrypt(&file, &key.file);
    assert_eq!(value_at(&edited, "panda.hostName"), "panda.example.org");
    assert_eq!(value_at(&edited, "msgsvc.basePassword"), value_at(&first, "msgsvc.basePassword"));
    let out = cli()
        .args(["secrets", "edit"])
        .arg(&file)
        .env("SOPS_EDITOR", "true")
        .env("EDITOR", "true")
        .output()
        .unwrap();
    assert!(out.status.success() && text(&out).contains("unchanged"), "{}", text(&out));
    let plain = dir.path().join("plain.yaml");
    std::fs::write(&plain, "affix: test-\n").unwrap();
    let out = cli().args(["secrets", "edit"]).arg(&plain).output().unwrap();
    assert_eq!(out.status.code(), Some(DATA), "{}", text(&out));

    // rotate: every generated value changes, nothing else, and the file stays encrypted
    let out = cli().args(["secrets", "rotate", "--dry-run"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(decrypt(&file, &key.file), edited, "a dry run changed the file");
    let out = cli().args(["secrets", "rotate", "--output", "json"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    validate("rotate.schema.json", &doc);
    assert_eq!(doc["encrypted"], true);
    let rotated: Vec<&str> =
        doc["rotated"].as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(rotated, generated);
    let after = decrypt(&file, &key.file);
    let mut expected = edited.clone();
    for path in generated {
        let (old, new) = (value_at(&edited, path), value_at(&after, path));
        assert!(new != old && new.as_str().unwrap().len() == 32, "{path}: not rotated");
        let mut at = &mut expected;
        for k in path.split('.') {
            at = &mut at[k];
        }
        *at = new.clone();
    }
    assert_eq!(after, expected, "more than the generated values changed");
    assert!(!text(&out).contains(value_at(&after, "msgsvc.basePassword").as_str().unwrap()));
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains("rotating")), "scratch file left: {names:?}");
    let reader: Value = yaml(&std::fs::read_to_string(&file).unwrap());
    assert!(reader["sops"]["mac"].as_str().is_some_and(|m| m.starts_with("ENC[")));

    // without --age, the creation rule of .sops.yaml (found from the working directory) decides
    std::fs::write(
        dir.path().join(".sops.yaml"),
        format!("creation_rules:\n  - path_regex: ruled\\.yaml$\n    age: {}\n", key.recipient),
    )
    .unwrap();
    let ruled = dir.path().join("ruled.yaml");
    let out = cli()
        .args(["secrets", "init", "--encrypt", "--root"])
        .arg(root())
        .arg("--out")
        .arg(&ruled)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(value_at(&decrypt(&ruled, &key.file), "bigmon.secretKey").as_str().unwrap().len() == 32);
}

/// The Secrets of release `release` rendered from a secrets values file, by name.
fn secrets_render(helm: &Path, release: &str, values: &Path) -> BTreeMap<String, Value> {
    let out = Command::new(helm)
        .args(["template", release])
        .arg(root().join("secrets"))
        .arg("-f")
        .arg(values)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    crate::support::yaml_documents(&String::from_utf8_lossy(&out.stdout))
        .into_iter()
        .filter(|d| d["kind"] == "Secret")
        .map(|d| (d["metadata"]["name"].as_str().unwrap().to_string(), d))
        .collect()
}

/// For every Secret, the long-running workloads whose pods read it (env, envFrom, volumes).
fn secret_readers(helm: &Path, affix: &str) -> BTreeMap<String, BTreeSet<String>> {
    prepare_charts(helm);
    let out =
        panda_install().args(["--template", "-e", "dev", "-a", affix, "--helm"]).arg(helm).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    fn walk(v: &Value, found: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("secretName", Value::String(s)) => {
                            found.insert(s.clone());
                        }
                        ("secretRef" | "secretKeyRef" | "secret", Value::Object(o)) => {
                            if let Some(Value::String(s)) = o.get("name") {
                                found.insert(s.clone());
                            }
                        }
                        _ => {}
                    }
                    walk(v, found);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, found)),
            _ => {}
        }
    }
    let mut readers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for doc in crate::support::yaml_documents(&String::from_utf8_lossy(&out.stdout)) {
        let kind = doc["kind"].as_str().unwrap_or_default().to_lowercase();
        if kind != "deployment" && kind != "statefulset" {
            continue;
        }
        let mut found = BTreeSet::new();
        walk(&doc["spec"]["template"], &mut found);
        for secret in found {
            readers
                .entry(secret)
                .or_default()
                .insert(format!("{kind}/{}", doc["metadata"]["name"].as_str().unwrap()));
        }
    }
    readers
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn what_rotate_says_matches_the_rendered_charts() {
    let helm = helm4();
    let affix = yaml(&test_secrets_with(&[]))["affix"].as_str().unwrap().to_string();
    assert!(affix.ends_with('-'), "a prefix affix: {affix}");
    let release = format!("{affix}secrets");
    let readers = secret_readers(&helm, &affix);
    let dir = tempfile::tempdir().unwrap();
    // bigmon.database.password is empty in the test secrets (BigMon then uses panda's); set it
    // in a second file, where panda.database.password no longer reaches BigMon
    let files =
        [test_secrets_with(&[]), test_secrets_with(&[("bigmon.database.password", "fake-bigmon-db")])];
    let mut checked = BTreeSet::new();
    for (i, values) in files.iter().enumerate() {
        let original = dir.path().join(format!("original-{i}.yaml"));
        let plain: String = serde_saphyr::to_string(&yaml(values)).unwrap();
        std::fs::write(&original, &plain).unwrap();
        let before = secrets_render(&helm, &release, &original);
        let doc = {
            let out = panda_install()
                .args(["secrets", "rotate", "--dry-run", "--output", "json"])
                .arg(&original)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", text(&out));
            serde_json::from_slice::<Value>(&out.stdout).unwrap()
        };
        for r in doc["rotated"].as_array().unwrap() {
            let key = r["key"].as_str().unwrap();
            if i == 1 && key != "bigmon.database.password" {
                continue;
            }
            let copy = dir.path().join(format!("rotated-{i}-{key}.yaml"));
            std::fs::write(&copy, &plain).unwrap();
            let out = panda_install()
                .args(["secrets", "rotate", "--only", key, "--output", "json"])
                .arg(&copy)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", text(&out));
            let one: Value = serde_json::from_slice(&out.stdout).unwrap();
            validate("rotate.schema.json", &one);
            let after = secrets_render(&helm, &release, &copy);
            let changed: BTreeSet<String> =
                after.iter().filter(|(n, d)| before.get(*n) != Some(*d)).map(|(n, _)| n.clone()).collect();
            let said: BTreeSet<String> = one["rotated"][0]["secrets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect();
            assert_eq!(said, changed, "{key}: the Secrets it feeds");
            let expected: BTreeSet<String> =
                changed.iter().flat_map(|s| readers.get(s).cloned().unwrap_or_default()).collect();
            let restart: BTreeSet<String> = one["restart"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| format!("{}/{}", r["kind"].as_str().unwrap(), r["workload"].as_str().unwrap()))
                .collect();
            assert_eq!(restart, expected, "{key}: the workloads reading those Secrets");
            if let Some(db) = one["rotated"][0]["database"].as_str() {
                let db = format!("statefulset/{db}");
                assert!(readers.values().any(|r| r.contains(&db)), "{key}: no database {db} in the render");
                // an in-cluster database initialised from the Secret reads it (BigMon's own account
                // in the PanDA database is made by hand)
                assert!(
                    key == "bigmon.database.password" || expected.contains(&db),
                    "{key}: {db} reads none of {changed:?}"
                );
            }
            checked.insert(key.to_string());
        }
    }
    assert_eq!(checked.len(), 10, "every generated value was checked: {checked:?}");
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn argocd_names_the_encrypted_file_the_secrets_release_is_deployed_from() {
    let key = age_key();
    let copy = project_copy();
    let personal = copy.path().join("personal/eddie");
    std::fs::create_dir_all(&personal).unwrap();
    let file = personal.join("secrets.enc.yaml");
    encrypt_to(&test_secrets_with(&[("affix", "prod-")]), &key.recipient, &file);
    let out_dir = copy.path().join("personal/eddie/apps");
    let run = |extra: &[&str]| {
        panda_install()
            .env("PANDA_INSTALL_SOPS", sops())
            .env("SOPS_AGE_KEY_FILE", &key.file)
            .current_dir(copy.path())
            .args([
                "argocd",
                "-e",
                "dev",
                "--repo-url",
                "https://example.org/eddie/panda-install.git",
                "--target-revision",
                "my-feature",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[
        "--dev",
        "eddie",
        "--secrets",
        "personal/eddie/secrets.enc.yaml",
        "--out",
        "personal/eddie/apps",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let parent = std::fs::read_to_string(out_dir.join("dev-eddie-panda-apps.yaml")).unwrap();
    assert!(
        parent.contains(
            "#   panda-install secrets deploy -f personal/eddie/secrets.enc.yaml -a dev-eddie- -n dev-eddie"
        ),
        "{parent}"
    );
    assert!(parent.contains("is sops-encrypted and may be committed"), "{parent}");
    let child = std::fs::read_to_string(out_dir.join("dev-eddie-panda.yaml")).unwrap();
    assert!(child.contains("# Reads the Secrets of dev-eddie-secrets, deployed outside Argo CD: see dev-eddie-panda-apps.yaml."), "{child}");
    // the affix comes from the decrypted file when not given
    let out = run(&["-n", "panda", "--secrets", "personal/eddie/secrets.enc.yaml", "--no-parent"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("name: prod-panda\n") && stdout.contains("-a prod- -n panda"), "{stdout}");
    // a plain secrets file inside the repository draws a warning
    let out = run(&["-n", "panda", "--secrets", TEST_SECRETS, "--no-parent"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not encrypted and lies in the repository"),
        "{}",
        text(&out)
    );
}
