//! Shared test helpers: the project root, the real helm binaries, a recording helm wrapper, and
//! access to the test bed.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cached_tool(dir: &str) -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let versions = std::fs::read_to_string(root().join("testbed/versions.env")).ok()?;
    let key = if dir == "helm4" { "HELM4_VERSION=" } else { "HELM3_VERSION=" };
    let version = versions.lines().find_map(|l| l.strip_prefix(key))?.trim().to_string();
    let path = cache.join("panda-install/tools").join(format!("helm-{version}")).join("bin/helm");
    path.is_file().then_some(path)
}

/// The real helm 4 binary (PANDA_INSTALL_HELM, else the test-bed cache); panics when missing.
pub fn helm4() -> PathBuf {
    found(
        "helm 4",
        std::env::var_os("PANDA_INSTALL_HELM").map(PathBuf::from).or_else(|| cached_tool("helm4")),
    )
}

/// The real helm 3 binary (PANDA_INSTALL_HELM3, else the test-bed cache); panics when missing.
pub fn helm3() -> PathBuf {
    found(
        "helm 3",
        std::env::var_os("PANDA_INSTALL_HELM3").map(PathBuf::from).or_else(|| cached_tool("helm3")),
    )
}

fn found(what: &str, path: Option<PathBuf>) -> PathBuf {
    match path {
        Some(p) if p.is_file() => p,
        _ => panic!("{what} is required but not found: run scripts/tools build (or scripts/test)"),
    }
}

/// A helm wrapper that appends each argument vector to a log, one line per call, then runs the
/// real helm (or, in [`HelmSpy::new`] without a real helm, fails every call). It only observes.
pub struct HelmSpy {
    _dir: tempfile::TempDir,
    pub program: PathBuf,
    log: PathBuf,
}

impl HelmSpy {
    pub fn new() -> HelmSpy {
        let real = std::env::var_os("PANDA_INSTALL_HELM").map(PathBuf::from).or_else(|| cached_tool("helm4"));
        Self::wrapping(real.as_deref())
    }

    pub fn wrapping(real: Option<&Path>) -> HelmSpy {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("calls.log");
        let program = dir.path().join("helm");
        let exec = match real {
            Some(p) => format!("exec '{}' \"$@\"", p.display()),
            None => "echo 'no real helm behind this spy' >&2; exit 99".to_string(),
        };
        std::fs::write(
            &program,
            format!("#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\n{exec}\n", log.display()),
        )
        .unwrap();
        make_executable(&program);
        HelmSpy { _dir: dir, program, log }
    }

    /// Every call made so far, as space-joined argument lines.
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log).unwrap_or_default().lines().map(String::from).collect()
    }
}

pub fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The fake-password secrets values every deploying test uses.
pub const TEST_SECRETS: &str = "secrets/ci/test-values.yaml";

/// A deploy of the test stack (the bare install form): the test secrets, affix `test-`,
/// `experiment`, namespace `ns`, the given helm, then `extra`; a 3-minute helm timeout unless
/// `extra` sets one.
pub fn deploy<S: AsRef<str>>(helm: &Path, ns: &str, experiment: &str, extra: &[S]) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("panda-install"));
    cmd.current_dir(root())
        .env_remove("PANDA_INSTALL_ROOT")
        .args(["--secrets", TEST_SECRETS, "-a", "test-", "-e", experiment, "-n", ns, "--helm"])
        .arg(helm)
        .args(extra.iter().map(AsRef::as_ref));
    if !extra.iter().any(|a| a.as_ref() == "--timeout") {
        cmd.args(["--timeout", "3m"]);
    }
    cmd
}

/// `kubectl apply -f -` of a YAML document; panics when kubectl fails.
pub fn kubectl_apply(doc: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("kubectl")
        .args(["apply", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(doc.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success(), "kubectl apply failed for:\n{doc}");
}

/// panda-install, run from the project root, with a clean environment for the variables it reads.
pub fn panda_install() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("panda-install").unwrap();
    cmd.current_dir(root())
        .env_remove("PANDA_INSTALL_ROOT")
        .env_remove("PANDA_INSTALL_HELM")
        .env_remove("PANDA_INSTALL_SITE");
    cmd
}

/// A copy of helm/, secrets/ and values/ in a temporary directory, for tests that break a file.
pub fn project_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for part in ["helm", "secrets", "values"] {
        let status = Command::new("cp").arg("-R").arg(root().join(part)).arg(dir.path()).status().unwrap();
        assert!(status.success());
    }
    dir
}

/// KUBECONFIG of the running test bed; panics when there is none.
pub fn testbed() -> PathBuf {
    match std::env::var_os("KUBECONFIG").map(PathBuf::from) {
        Some(k) if k.is_file() => k,
        _ => panic!("the test bed is required but KUBECONFIG does not name a file: run scripts/test (or scripts/cluster up)"),
    }
}

/// Runs kubectl against the test bed and returns stdout; panics with stderr on failure.
pub fn kubectl(args: &[&str]) -> String {
    let out = Command::new("kubectl").args(args).output().expect("kubectl runs");
    assert!(out.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The test bed's API server: its URL and its CA certificate (PEM), from the kubeconfig.
pub fn bed_api_server() -> (String, Vec<u8>) {
    let raw: Value =
        serde_json::from_str(&kubectl(&["config", "view", "--raw", "--minify", "-o", "json"])).unwrap();
    let cluster = &raw["clusters"][0]["cluster"];
    let ca = match cluster["certificate-authority-data"].as_str() {
        Some(data) => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(data).unwrap()
        }
        None => {
            let file = cluster["certificate-authority"].as_str().expect("the bed's kubeconfig names its CA");
            std::fs::read(file).unwrap()
        }
    };
    (cluster["server"].as_str().expect("the bed's kubeconfig names its server").to_string(), ca)
}

/// A namespace name unique to this test run.
pub fn unique_namespace(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{:x}", std::process::id(), nanos & 0xffff)
}

/// A namespace that warns on "restricted" and enforces "baseline", deleted when dropped.
pub struct Namespace(pub String);

impl Namespace {
    pub fn new(prefix: &str) -> Namespace {
        let name = unique_namespace(prefix);
        kubectl(&["create", "namespace", &name]);
        kubectl(&[
            "label",
            "namespace",
            &name,
            "pod-security.kubernetes.io/enforce=baseline",
            "pod-security.kubernetes.io/warn=restricted",
        ]);
        Namespace(name)
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kubectl")
            .args(["delete", "namespace", &self.0, "--wait=false"])
            .output();
    }
}

pub fn json(args: &[&str]) -> Value {
    serde_json::from_str(&kubectl(args)).unwrap()
}

/// A panda-install subcommand against namespace `ns` with the given helm, e.g.
/// `command(helm, "status", ns, &["--output", "json"])`.
pub fn command(helm: &Path, sub: &[&str], ns: &str, extra: &[&str]) -> std::process::Output {
    panda_install().args(sub).args(["-n", ns, "--helm"]).arg(helm).args(extra).output().unwrap()
}

/// YAML read the way helm and the API server read it (YAML 1.1 scalars: `0440` is octal,
/// `yes`/`no` are booleans), as the CLI's own parser does.
fn kubernetes_yaml() -> serde_saphyr::Options {
    serde_saphyr::options! { strict_booleans: false, legacy_octal_numbers: true }
}

/// Every YAML document of a stream (empty ones dropped), as JSON values.
pub fn yaml_documents(text: &str) -> Vec<Value> {
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(text, kubernetes_yaml()).unwrap();
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// One YAML document as a JSON value.
pub fn yaml(text: &str) -> Value {
    serde_saphyr::from_str_with_options(text, kubernetes_yaml()).unwrap()
}

/// Validates `doc` against one of the schemas under docs/.
pub fn validate(schema_file: &str, doc: &Value) {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("docs").join(schema_file)).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{schema_file}: {errors:?}\n{doc:#}");
}

/// Every object panda-install's releases own in the namespace, as kind/name@uid.
pub fn object_uids(ns: &str) -> BTreeSet<String> {
    let kinds = "deployments,statefulsets,services,configmaps,secrets,persistentvolumeclaims,serviceaccounts,roles,rolebindings,cronjobs,ingresses";
    let list = json(&["get", kinds, "-n", ns, "-l", "app.kubernetes.io/part-of=panda", "-o", "json"]);
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            format!(
                "{}/{}@{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap(),
                o["metadata"]["uid"].as_str().unwrap()
            )
        })
        .collect()
}

pub fn helm_releases(helm: &Path, ns: &str) -> Vec<(String, String)> {
    let version =
        std::process::Command::new(helm).args(["version", "--template", "{{.Version}}"]).output().unwrap();
    let all: &[&str] = if version.stdout.starts_with(b"v3") { &["--all"] } else { &[] };
    let out =
        std::process::Command::new(helm).args(["list", "-n", ns, "-o", "json"]).args(all).output().unwrap();
    assert!(out.status.success());
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_string(), r["status"].as_str().unwrap().to_string()))
        .collect()
}

pub fn assert_all_pods_ready(ns: &str) -> usize {
    let pods = json(&["get", "pods", "-n", ns, "-o", "json"]);
    let pods = pods["items"].as_array().unwrap().clone();
    assert!(!pods.is_empty(), "no pods in {ns}");
    for pod in &pods {
        let name = pod["metadata"]["name"].as_str().unwrap();
        if pod["metadata"]["ownerReferences"][0]["kind"] == "Job" {
            continue;
        }
        let ready = pod["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        assert!(ready, "pod {name} is not Ready: {}", pod["status"]);
    }
    pods.len()
}
