//! GitOps and distribution: the Argo CD Applications `panda-install argocd` writes (checked against
//! the plan the CLI runs, and by the real API server with the real Application CRD), the bootstrap
//! manifests and the Application health check, and `panda-install package` (archives that install,
//! push and pull against a local OCI registry, refusal to overwrite a published version).
//!
//! The tools these tests need besides the test bed come from `scripts/gitops-tools`, which the
//! first test that needs them runs once (a warm run only checks the cache).

use crate::charts::{documents, experiments, prepare_charts};
use crate::support::{helm4, kubectl, panda_install, project_copy, root, testbed, unique_namespace, yaml};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const REPO_URL: &str = "https://github.com/PanDAWMS/panda-install.git";
const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
const DEV_VALUES: &str = "argocd/examples/personal/eddie/panda.yaml";

// ---------------------------------------------------------------------------------------------
// tools

#[derive(Debug, Clone)]
pub(crate) struct GitopsTools {
    crd: PathBuf,
    registry: PathBuf,
    healthlua: PathBuf,
}

/// `scripts/gitops-tools build` of the three tools these tests use, once per test run, then
/// their paths; panics when it cannot build them.
pub(crate) fn gitops_tools() -> GitopsTools {
    static TOOLS: OnceLock<GitopsTools> = OnceLock::new();
    TOOLS
        .get_or_init(|| {
            let script = root().join("scripts/gitops-tools");
            let build = Command::new(&script)
                .args(["build", "argocd-crd", "registry", "healthlua"])
                .output()
                .expect("scripts/gitops-tools runs");
            eprintln!("{}", String::from_utf8_lossy(&build.stdout).trim_end());
            assert!(
                build.status.success(),
                "scripts/gitops-tools build failed:\n{}",
                String::from_utf8_lossy(&build.stderr)
            );
            let env = Command::new(&script).arg("env").output().unwrap();
            let vars: BTreeMap<String, PathBuf> = String::from_utf8_lossy(&env.stdout)
                .lines()
                .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
                .map(|(k, v)| (k.to_string(), PathBuf::from(v.trim_matches('"'))))
                .collect();
            GitopsTools {
                crd: vars["PANDA_INSTALL_ARGOCD_CRD"].clone(),
                registry: vars["PANDA_INSTALL_REGISTRY"].clone(),
                healthlua: vars["PANDA_INSTALL_HEALTHLUA"].clone(),
            }
        })
        .clone()
}

// ---------------------------------------------------------------------------------------------
// what the CLI would run, and what argocd generates

/// One release of a `--dry-run` plan.
#[derive(Debug, Clone, PartialEq)]
struct PlannedRelease {
    tier: usize,
    chart: String,
    files: Vec<String>,
    /// (name, value, set-string)
    parameters: Vec<(String, String, bool)>,
}

/// `panda-install plan --output json ARGS`: release name -> its tier, chart, value files and sets,
/// read from the plan document's argument vectors (no shell parsing).
fn planned(args: &[&str]) -> BTreeMap<String, PlannedRelease> {
    let out = panda_install().args(["plan", "--output", "json"]).args(args).output().unwrap();
    assert!(out.status.success(), "plan {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut releases = BTreeMap::new();
    for tier in doc["tiers"].as_array().unwrap() {
        for r in tier["releases"].as_array().unwrap() {
            let words: Vec<String> =
                r["command"].as_array().unwrap().iter().map(|w| s(w).to_string()).collect();
            let i = words.iter().position(|w| w == "upgrade").expect("an upgrade command");
            let mut p = PlannedRelease {
                tier: tier["tier"].as_u64().unwrap() as usize,
                chart: words[i + 3].clone(),
                files: r["values"].as_array().unwrap().iter().map(|f| s(f).to_string()).collect(),
                parameters: vec![],
            };
            for pair in words.windows(2) {
                if let flag @ ("--set" | "--set-string") = pair[0].as_str() {
                    let (k, v) = pair[1].split_once('=').unwrap();
                    p.parameters.push((k.into(), v.into(), flag == "--set-string"));
                }
            }
            releases.insert(s(&r["release"]).to_string(), p);
        }
    }
    assert!(!releases.is_empty(), "no releases in the plan: {doc}");
    releases
}

/// `panda-install argocd ARGS` to stdout, parsed into its documents.
fn generated(args: &[&str]) -> Vec<Value> {
    let out = panda_install().arg("argocd").args(args).output().unwrap();
    assert!(out.status.success(), "argocd {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    documents(&String::from_utf8(out.stdout).unwrap())
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
}

/// `base/../x/./y` -> `x/y`, as Argo CD resolves a value file against the chart path.
fn normalise(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                parts.pop().expect("a value file climbs out of the repository");
            }
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

/// What one generated child Application says, in the plan's terms.
fn as_planned(app: &Value) -> (String, PlannedRelease) {
    let spec = &app["spec"];
    let (chart_source, files): (&Value, Vec<String>) = match spec.get("sources") {
        None => {
            let source = &spec["source"];
            let path = s(&source["path"]);
            let files = source["helm"]["valueFiles"]
                .as_array()
                .map(|fs| fs.iter().map(|f| normalise(&Path::new(path).join(s(f)))).collect())
                .unwrap_or_default();
            (source, files)
        }
        Some(sources) => {
            let chart = &sources[0];
            assert_eq!(s(&sources[1]["ref"]), "values");
            let files = chart["helm"]["valueFiles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    s(f).strip_prefix("$values/")
                        .expect("OCI value files come through the $values ref")
                        .to_string()
                })
                .collect();
            (chart, files)
        }
    };
    let helm = &chart_source["helm"];
    let parameters = helm["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                s(&p["name"]).to_string(),
                s(&p["value"]).to_string(),
                p["forceString"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    let chart = match chart_source["repoURL"].as_str().unwrap() {
        url if url.starts_with("oci://") => format!("helm/{}", url.rsplit('/').next().unwrap()),
        _ => s(&chart_source["path"]).to_string(),
    };
    let tier = s(&app["metadata"]["annotations"][SYNC_WAVE]).parse().unwrap();
    assert_eq!(s(&app["metadata"]["name"]), s(&helm["releaseName"]), "Application and release names agree");
    (s(&helm["releaseName"]).to_string(), PlannedRelease { tier, chart, files, parameters })
}

fn assert_children_follow_the_plan(common: &[&str], argocd: &[&str]) {
    let plan = planned(common);
    let docs = generated(&[common, argocd].concat());
    let apps: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "Application").collect();
    let children: BTreeMap<String, PlannedRelease> = apps.iter().map(|a| as_planned(a)).collect();
    assert_eq!(children, plan, "argocd {common:?} {argocd:?} disagrees with the plan");
    for updater in docs.iter().filter(|d| d["kind"] == "ImageUpdater") {
        let target = s(&updater["spec"]["applicationRefs"][0]["namePattern"]);
        assert!(children.contains_key(target), "an ImageUpdater for an Application not generated: {target}");
    }
    for app in apps {
        let spec = &app["spec"];
        assert_eq!(s(&spec["destination"]["namespace"]), "panda");
        let options: Vec<&str> =
            spec["syncPolicy"]["syncOptions"].as_array().unwrap().iter().map(s).collect();
        assert_eq!(
            options,
            ["CreateNamespace=true", "ServerSideApply=true", "RespectIgnoreDifferences=true"]
        );
        assert_eq!(spec["syncPolicy"]["automated"]["prune"], Value::Bool(true));
        assert_eq!(spec["syncPolicy"]["automated"]["selfHeal"], Value::Bool(true));
        assert_eq!(s(&spec["ignoreDifferences"][0]["kind"]), "StatefulSet");
        assert_eq!(s(&spec["ignoreDifferences"][0]["jsonPointers"][0]), "/spec/volumeClaimTemplates");
    }
}

#[test]
fn argocd_waves_release_names_and_value_files_follow_the_plan_for_every_experiment() {
    let git = ["--repo-url", REPO_URL, "--target-revision", "main", "--no-parent"];
    let oci = [
        "--oci",
        "oci://ghcr.io/pandawms/panda-install-charts",
        "--chart-version",
        "0.1.0",
        "--repo-url",
        REPO_URL,
        "--target-revision",
        "v1.0.0",
        "--no-parent",
    ];
    let mut checked = 0;
    for e in experiments() {
        for selection in [
            &[][..],
            &["-a", "-blah", "-d", "panda.jedi,bigmon"][..],
            &["-a", "", "-c", "harvester,msgsvc", "--values", "harvester=values/dev/harvester.yaml"][..],
        ] {
            let common: Vec<&str> = [&["-e", e.as_str(), "-n", "panda"][..], selection].concat();
            assert_children_follow_the_plan(&common, &git);
            assert_children_follow_the_plan(&common, &oci);
            checked += 2;
        }
    }
    println!("{checked} generated sets matched their plans ({} experiments)", experiments().len());
}

#[test]
fn argocd_waves_are_the_tiers() {
    let docs = generated(&[
        "-e",
        "dev",
        "-n",
        "panda",
        "--repo-url",
        REPO_URL,
        "--target-revision",
        "main",
        "--no-parent",
    ]);
    let waves: Vec<(&str, &str)> = docs
        .iter()
        .map(|d| (s(&d["metadata"]["name"]), s(&d["metadata"]["annotations"][SYNC_WAVE])))
        .collect();
    assert_eq!(
        waves,
        [
            ("test-msgsvc", "1"),
            ("test-iam", "1"),
            ("test-panda", "2"),
            ("test-harvester", "3"),
            ("test-idds", "3"),
            ("test-bigmon", "3")
        ]
    );
    // without msgsvc and iam, panda is the first wave
    let docs = generated(&[
        "-c",
        "panda,idds",
        "-n",
        "panda",
        "--repo-url",
        REPO_URL,
        "--target-revision",
        "main",
        "--no-parent",
    ]);
    let waves: Vec<&str> = docs.iter().map(|d| s(&d["metadata"]["annotations"][SYNC_WAVE])).collect();
    assert_eq!(waves, ["1", "2"]);
}

#[test]
fn argocd_parent_tracks_the_committed_children() {
    let docs = generated(&[
        "-e",
        "doma",
        "-n",
        "panda",
        "--repo-url",
        REPO_URL,
        "--target-revision",
        "main",
        "--apps-path",
        "argocd/apps/doma",
    ]);
    let parent = docs.last().unwrap();
    assert_eq!(s(&parent["metadata"]["name"]), "test-panda-apps");
    assert!(parent["metadata"].get("annotations").is_none(), "the parent has no wave");
    assert_eq!(s(&parent["spec"]["source"]["path"]), "argocd/apps/doma");
    assert_eq!(s(&parent["spec"]["source"]["directory"]["exclude"]), "test-panda-apps.yaml");
    assert_eq!(s(&parent["spec"]["destination"]["namespace"]), "argocd");
    assert_eq!(docs.len(), 7);
    for doc in &docs {
        assert_eq!(
            s(&doc["metadata"]["labels"]["panda-install.io/instance"]),
            "test-panda-apps",
            "one label selects the instance"
        );
    }

    // --out writes one file per Application; its path in the repository must be known
    let dir = tempfile::tempdir().unwrap();
    let out = panda_install()
        .args(["argocd", "-n", "panda", "--repo-url", REPO_URL, "--target-revision", "main", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--apps-path"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = panda_install()
        .args([
            "argocd",
            "-n",
            "panda",
            "-c",
            "msgsvc",
            "--repo-url",
            REPO_URL,
            "--target-revision",
            "main",
            "--apps-path",
            "apps",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["test-msgsvc.yaml", "test-panda-apps.yaml"]);
}

#[test]
fn argocd_refuses_incomplete_input() {
    let cases: [(&[&str], &str); 5] = [
        (&["argocd", "--repo-url", REPO_URL, "--target-revision", "main", "--no-parent"], "-n NAMESPACE"),
        (&["argocd", "-n", "panda", "--no-parent"], "--repo-url"),
        (&["argocd", "-n", "panda", "--repo-url", REPO_URL, "--no-parent"], "--target-revision"),
        (
            &[
                "argocd",
                "-n",
                "panda",
                "-e",
                "doma",
                "--oci",
                "oci://r/c",
                "--chart-version",
                "1.0.0",
                "--no-parent",
            ],
            "--repo-url",
        ),
        (
            &[
                "argocd",
                "--dev",
                "eddie",
                "-n",
                "panda",
                "--repo-url",
                REPO_URL,
                "--target-revision",
                "main",
                "--no-parent",
            ],
            "--namespace",
        ),
    ];
    for (args, needle) in cases {
        let out = panda_install().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: expected {needle:?} in {stderr}");
    }
}

#[test]
fn argocd_personal_instance_tracks_a_fork() {
    let fork = "https://github.com/eddie/panda-install.git";
    let docs = generated(&[
        "--dev",
        "eddie",
        "-e",
        "dev",
        "-c",
        "panda",
        "--values",
        &format!("panda={DEV_VALUES}"),
        "--repo-url",
        fork,
        "--target-revision",
        "my-feature",
        "--apps-path",
        "personal/eddie/apps",
    ]);
    let child = &docs[0];
    assert_eq!(s(&child["metadata"]["name"]), "dev-eddie-panda");
    assert_eq!(s(&child["spec"]["destination"]["namespace"]), "dev-eddie");
    let source = &child["spec"]["source"];
    assert_eq!((s(&source["repoURL"]), s(&source["targetRevision"])), (fork, "my-feature"));
    let files: Vec<&str> = source["helm"]["valueFiles"].as_array().unwrap().iter().map(s).collect();
    assert_eq!(
        files,
        ["../../values/dev/experiment.yaml", "../../values/dev/panda.yaml", &format!("../../{DEV_VALUES}")]
    );
    let params: Vec<(&str, &str)> = source["helm"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (s(&p["name"]), s(&p["value"])))
        .collect();
    assert!(
        params.contains(&("global.affix", "dev-eddie-"))
            && params.contains(&("global.secretsRelease", "dev-eddie-secrets")),
        "{params:?}"
    );
    assert_eq!(s(&docs[1]["metadata"]["name"]), "dev-eddie-panda-apps");
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn example_developer_values_pass_the_chart_schema() {
    let helm = helm4();
    prepare_charts(&helm);
    let out = panda_install()
        .args([
            "--template",
            "-e",
            "dev",
            "-c",
            "panda",
            "-a",
            "dev-eddie-",
            "-n",
            "dev-eddie",
            "--values",
            &format!("panda={DEV_VALUES}"),
            "--helm",
        ])
        .arg(&helm)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ghcr.io/eddie/panda-server:my-feature"), "the developer's image is used");
}

// ---------------------------------------------------------------------------------------------
// bootstrap manifests and the Application health check

fn health_script() -> String {
    let patch: Value = yaml(
        &std::fs::read_to_string(root().join("argocd/install/argocd-cm-application-health.yaml")).unwrap(),
    );
    s(&patch["data"]["resource.customizations.health.argoproj.io_Application"]).to_string()
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn application_health_check_waits_for_child_health_and_sync() {
    let tools = gitops_tools();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("health.lua");
    std::fs::write(&script, health_script()).unwrap();
    let cases = [
        (r#"{"kind":"Application"}"#, "Progressing"),
        (r#"{"status":{"sync":{"status":"OutOfSync"}}}"#, "Progressing"),
        (r#"{"status":{"health":{"status":"Progressing","message":"StatefulSet rolling"}}}"#, "Progressing"),
        (
            r#"{"status":{"health":{"status":"Healthy"},"sync":{"status":"Synced"},"operationState":{"phase":"Running"}}}"#,
            "Progressing",
        ),
        (
            r#"{"status":{"health":{"status":"Healthy"},"sync":{"status":"Synced"},"operationState":{"phase":"Succeeded"}}}"#,
            "Healthy",
        ),
        // Since Argo CD 3.4 a partly missing child reads Healthy: it must also be Synced.
        (
            r#"{"status":{"health":{"status":"Healthy"},"sync":{"status":"OutOfSync"},"operationState":{"phase":"Succeeded"}}}"#,
            "Progressing",
        ),
        (r#"{"status":{"health":{"status":"Healthy"},"sync":{"status":"Unknown"}}}"#, "Progressing"),
        (r#"{"status":{"health":{"status":"Healthy"}}}"#, "Progressing"),
        (
            r#"{"status":{"health":{"status":"Degraded","message":"pod crashed"},"sync":{"status":"OutOfSync"}}}"#,
            "Degraded",
        ),
        (r#"{"status":{"health":{"status":"Missing"},"sync":{"status":"OutOfSync"}}}"#, "Missing"),
    ];
    for (object, want) in cases {
        let mut child = Command::new(&tools.healthlua)
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(object.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{object}: {}", String::from_utf8_lossy(&out.stderr));
        let health: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(health["status"], want, "{object} -> {health}");
    }
}

/// A namespace deleted when dropped.
struct Namespace(String);

impl Namespace {
    fn new(prefix: &str) -> Namespace {
        let name = unique_namespace(prefix);
        kubectl(&["create", "namespace", &name]);
        Namespace(name)
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("kubectl").args(["delete", "namespace", &self.0, "--wait=false"]).output();
    }
}

/// Installs the Argo CD Application CRD into the test bed (once per run) and waits until it is served.
pub(crate) fn application_crd(tools: &GitopsTools) {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let crd = tools.crd.to_str().unwrap();
        kubectl(&[
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager",
            "panda-install-tests",
            "-f",
            crd,
        ]);
        // A CRD just created may have no status yet, and `kubectl wait` then fails at once: retry.
        let start = std::time::Instant::now();
        loop {
            let waited = std::process::Command::new("kubectl")
                .args([
                    "wait",
                    "--for",
                    "condition=Established",
                    "--timeout",
                    "10s",
                    "crd/applications.argoproj.io",
                ])
                .output()
                .unwrap();
            if waited.status.success() {
                break;
            }
            assert!(
                start.elapsed().as_secs() < 60,
                "the Application CRD never became Established: {}",
                String::from_utf8_lossy(&waited.stderr)
            );
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    });
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn api_server_accepts_every_generated_application() {
    testbed();
    let tools = gitops_tools();
    application_crd(&tools);
    let ns = Namespace::new("argocd-apps");
    let dir = tempfile::tempdir().unwrap();
    let mut sets: Vec<Vec<String>> = Vec::new();
    for e in experiments() {
        sets.push(
            [
                "-e",
                &e,
                "-a",
                &format!("{}-", e.replace('_', "-")),
                "-n",
                "panda",
                "--repo-url",
                REPO_URL,
                "--target-revision",
                "main",
            ]
            .map(String::from)
            .to_vec(),
        );
    }
    sets.push(
        [
            "-e",
            "doma",
            "-a",
            "oci-",
            "-n",
            "panda",
            "--oci",
            "oci://ghcr.io/pandawms/panda-install-charts",
            "--chart-version",
            "0.1.0",
            "--repo-url",
            REPO_URL,
            "--target-revision",
            "main",
        ]
        .map(String::from)
        .to_vec(),
    );
    sets.push(
        [
            "-c",
            "msgsvc",
            "-a",
            "bare-",
            "-n",
            "panda",
            "--oci",
            "oci://ghcr.io/pandawms/panda-install-charts",
            "--chart-version",
            "0.1.0",
            "--no-parent",
        ]
        .map(String::from)
        .to_vec(),
    );
    sets.push(
        [
            "--dev",
            "eddie",
            "-e",
            "dev",
            "--values",
            &format!("panda={DEV_VALUES}"),
            "--repo-url",
            REPO_URL,
            "--target-revision",
            "my-feature",
        ]
        .map(String::from)
        .to_vec(),
    );
    let mut expected = 0;
    for (i, set) in sets.iter().enumerate() {
        let out_dir = dir.path().join(i.to_string());
        let out = panda_install()
            .arg("argocd")
            .args(set)
            .args(["--app-namespace", &ns.0, "--apps-path", "argocd/apps/x", "--out"])
            .arg(&out_dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "argocd {set:?}: {}", String::from_utf8_lossy(&out.stderr));
        expected += std::fs::read_dir(&out_dir).unwrap().count();
        // The Applications only: no ImageUpdater CRD can be had here (its Go module is not served),
        // so those objects are checked by the unit tests of src/commands/argocd/image_updater.rs.
        let apps_dir = dir.path().join(format!("{i}-apps"));
        std::fs::create_dir(&apps_dir).unwrap();
        for entry in std::fs::read_dir(&out_dir).unwrap() {
            let path = entry.unwrap().path();
            let docs = crate::support::yaml_documents(&std::fs::read_to_string(&path).unwrap());
            for (j, doc) in docs.iter().filter(|d| d["kind"] == "Application").enumerate() {
                let name = format!("{}-{j}.json", path.file_stem().unwrap().to_string_lossy());
                std::fs::write(apps_dir.join(name), serde_json::to_string(doc).unwrap()).unwrap();
            }
        }
        // Real objects, strict field validation: an unknown or misspelt field is an error, not dropped.
        kubectl(&[
            "apply",
            "--server-side",
            "--validate=strict",
            "--field-manager",
            "panda-install-tests",
            "-n",
            &ns.0,
            "-f",
            apps_dir.to_str().unwrap(),
        ]);
    }
    let list: serde_json::Value =
        serde_json::from_str(&kubectl(&["get", "applications.argoproj.io", "-n", &ns.0, "-o", "json"]))
            .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), expected, "every generated Application is stored");
    // What the API server stored is what was generated (nothing pruned by the CRD's schema).
    let panda = items.iter().find(|a| a["metadata"]["name"] == "doma-panda").unwrap();
    assert_eq!(panda["metadata"]["annotations"][SYNC_WAVE], "2");
    assert_eq!(panda["spec"]["source"]["helm"]["parameters"][0]["forceString"], true);
    assert_eq!(panda["spec"]["ignoreDifferences"][0]["jsonPointers"][0], "/spec/volumeClaimTemplates");
    let oci = items.iter().find(|a| a["metadata"]["name"] == "oci-panda").unwrap();
    assert_eq!(oci["spec"]["sources"][1]["ref"], "values");
    let parent = items.iter().find(|a| a["metadata"]["name"] == "dev-eddie-panda-apps").unwrap();
    assert_eq!(parent["spec"]["source"]["directory"]["exclude"], "dev-eddie-panda-apps.yaml");
    println!("{expected} generated Applications accepted by the API server");

    // A misspelt field is refused: the check above has teeth.
    let bad = dir.path().join("bad.yaml");
    let text = std::fs::read_to_string(
        dir.path()
            .join("0")
            .join(std::fs::read_dir(dir.path().join("0")).unwrap().next().unwrap().unwrap().file_name()),
    )
    .unwrap();
    std::fs::write(&bad, text.replace("selfHeal:", "selfheal:")).unwrap();
    let out = Command::new("kubectl")
        .args(["apply", "--server-side", "--validate=strict", "--dry-run=server", "-n", &ns.0, "-f"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a misspelt field must be refused");
}

/// Each bootstrap manifest, moved into `ns`, passes a server-side dry run.
#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn bootstrap_manifests_pass_the_api_server() {
    testbed();
    let ns = Namespace::new("argocd-install");
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for cluster in ["doma", "atlas_testbed"] {
        for entry in std::fs::read_dir(root().join("argocd/install").join(cluster)).unwrap() {
            let path = entry.unwrap().path();
            let mut doc: Value = crate::support::yaml(&std::fs::read_to_string(&path).unwrap());
            assert_eq!(s(&doc["metadata"]["namespace"]), "argocd", "{}", path.display());
            doc["metadata"]["namespace"] = Value::String(ns.0.clone());
            let moved = dir.path().join(format!("{cluster}-{}", path.file_name().unwrap().to_string_lossy()));
            std::fs::write(&moved, serde_json::to_string(&doc).unwrap()).unwrap();
            kubectl(&["apply", "--dry-run=server", "--validate=strict", "-f", moved.to_str().unwrap()]);
            checked += 1;
        }
    }
    assert_eq!(checked, 4);
    // The health patch merges into an existing argocd-cm and keeps what was there.
    kubectl(&[
        "create",
        "configmap",
        "argocd-cm",
        "-n",
        &ns.0,
        "--from-literal=url=https://argocd.example.org",
    ]);
    let patch = root().join("argocd/install/argocd-cm-application-health.yaml");
    kubectl(&[
        "patch",
        "configmap",
        "argocd-cm",
        "-n",
        &ns.0,
        "--type",
        "merge",
        "--patch-file",
        patch.to_str().unwrap(),
    ]);
    let cm: serde_json::Value =
        serde_json::from_str(&kubectl(&["get", "configmap", "argocd-cm", "-n", &ns.0, "-o", "json"]))
            .unwrap();
    assert_eq!(cm["data"]["url"], "https://argocd.example.org");
    assert_eq!(cm["data"]["resource.customizations.health.argoproj.io_Application"], health_script());
}

// ---------------------------------------------------------------------------------------------
// package, install from the archive, push and pull

fn chart_version(project: &Path, chart: &str) -> String {
    let doc: Value = crate::support::yaml(
        &std::fs::read_to_string(project.join("helm").join(chart).join("Chart.yaml")).unwrap(),
    );
    s(&doc["version"]).to_string()
}

/// `panda-install package` on a copy of the project (its charts get packed and written to).
fn package(project: &Path, helm: &Path, args: &[&str]) -> std::process::Output {
    panda_install()
        .arg("package")
        .arg("--root")
        .arg(project)
        .arg("--helm")
        .arg(helm)
        .args(args)
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn packaged_chart_installs_from_its_archive() {
    let helm = helm4();
    let project = project_copy();
    let dist = project.path().join("dist");
    let start = Instant::now();
    let out = package(project.path(), &helm, &["--out", dist.to_str().unwrap()]);
    assert!(out.status.success(), "package: {}", String::from_utf8_lossy(&out.stderr));
    println!("package of every chart took {:.1}s", start.elapsed().as_secs_f64());
    let mut archives: Vec<String> = std::fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    archives.sort();
    let lib_version = {
        let doc: Value = crate::support::yaml(
            &std::fs::read_to_string(project.path().join("helm/lib/Chart.yaml")).unwrap(),
        );
        s(&doc["version"]).to_string()
    };
    let mut want: Vec<String> = ["msgsvc", "iam", "panda", "harvester", "idds", "bigmon", "ui"]
        .iter()
        .map(|c| format!("{c}-{}.tgz", chart_version(project.path(), c)))
        .chain([format!("panda-lib-{lib_version}.tgz")])
        .collect();
    want.sort();
    assert_eq!(archives, want, "one archive per chart, the secrets chart left out");

    testbed();
    let ns = Namespace::new("pkg");
    // The install the CLI plans for msgsvc (dev values, contract globals), from the archive.
    let plan = planned(&["-e", "dev", "-c", "msgsvc", "-n", &ns.0]);
    let msgsvc = &plan["test-msgsvc"];
    let archive = dist.join(format!("msgsvc-{}.tgz", chart_version(project.path(), "msgsvc")));
    let mut args: Vec<String> = vec![
        "install".into(),
        "test-msgsvc".into(),
        archive.to_string_lossy().into_owned(),
        "-n".into(),
        ns.0.clone(),
    ];
    for f in &msgsvc.files {
        args.extend(["-f".into(), root().join(f).to_string_lossy().into_owned()]);
    }
    for (k, v, string) in &msgsvc.parameters {
        args.extend([if *string { "--set-string" } else { "--set" }.to_string(), format!("{k}={v}")]);
    }
    let out = Command::new(&helm).args(&args).output().unwrap();
    assert!(out.status.success(), "helm install from the archive: {}", String::from_utf8_lossy(&out.stderr));
    let status: serde_json::Value = serde_json::from_slice(
        &Command::new(&helm)
            .args(["status", "test-msgsvc", "-n", &ns.0, "-o", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(status["info"]["status"], "deployed");
    kubectl(&["rollout", "status", "deployment/test-msgsvc-activemq", "-n", &ns.0, "--timeout", "120s"]);
    kubectl(&["get", "service", "test-msgsvc-activemq", "-n", &ns.0]);
}

/// A CNCF distribution registry on 127.0.0.1, storage in a temporary directory, no auth.
struct Registry {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start(bin: &Path) -> Registry {
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let dir = tempfile::tempdir().unwrap();
            let config = dir.path().join("config.yml");
            let storage = dir.path().join("storage");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: panda-install-tests\n",
                    storage.display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let child = Command::new(bin)
                .arg("serve")
                .arg(&config)
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            let mut registry = Registry { child, port, _dir: dir };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if registry.answers() {
                    return registry;
                }
                if registry.child.try_wait().unwrap().is_some() {
                    break; // the port was taken meanwhile: try another
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("the registry did not start");
    }

    /// GET /v2/ answers 200: the registry API is up.
    fn answers(&self) -> bool {
        let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
        if conn.write_all(b"GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
            return false;
        }
        let mut head = [0u8; 12];
        conn.read_exact(&mut head).is_ok() && head.ends_with(b"200")
    }

    fn repo(&self) -> String {
        format!("oci://127.0.0.1:{}/panda-install-charts", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn push_pull_and_refusing_a_published_version() {
    let (helm, tools) = (helm4(), gitops_tools());
    let registry = Registry::start(&tools.registry);
    let repo = registry.repo();
    let project = project_copy();
    let dist = project.path().join("dist");
    let push = |extra: &[&str]| {
        package(
            project.path(),
            &helm,
            &[&["-c", "msgsvc", "--out", dist.to_str().unwrap(), "--push", &repo, "--plain-http"][..], extra]
                .concat(),
        )
    };

    let out = push(&[]);
    assert!(out.status.success(), "first push: {}", String::from_utf8_lossy(&out.stderr));
    let version = chart_version(project.path(), "msgsvc");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("pushed {repo}/msgsvc:{version} sha256:")), "{stdout}");
    assert!(stdout.contains(&format!("pushed {repo}/panda-lib:")), "{stdout}");

    // What was pushed can be pulled and is the chart at its Chart.yaml version.
    let pulled = tempfile::tempdir().unwrap();
    let out = Command::new(&helm)
        .args(["pull", &format!("{repo}/msgsvc"), "--version", &version, "--plain-http", "-d"])
        .arg(pulled.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "helm pull: {}", String::from_utf8_lossy(&out.stderr));
    let archive = pulled.path().join(format!("msgsvc-{version}.tgz"));
    let shown = Command::new(&helm).arg("show").arg("chart").arg(&archive).output().unwrap();
    let chart: Value = crate::support::yaml(&String::from_utf8_lossy(&shown.stdout));
    assert_eq!((s(&chart["name"]), s(&chart["version"])), ("msgsvc", version.as_str()));

    // The same versions again, packed again: the same content, reported and not pushed.
    let out = push(&[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("skipped {repo}/msgsvc:{version}: already published with the same content")),
        "{stdout}"
    );
    assert!(!stdout.contains("pushed"), "{stdout}");

    // Changed content under the same version: refused before anything is pushed (exit 75).
    let values = project.path().join("helm/msgsvc/values.yaml");
    let mut text = std::fs::read_to_string(&values).unwrap();
    text.push_str("\n# changed\n");
    std::fs::write(&values, text).unwrap();
    let out = push(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(
        stderr.contains(&format!("{repo}/msgsvc:{version} (differs in msgsvc/values.yaml)"))
            && stderr.contains("--force")
            && stderr.contains("nothing was pushed"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("pushed"));

    let out = push(&["--force"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("pushed {repo}/msgsvc:{version}")));

    // An unreachable registry is not taken for an empty one.
    drop(registry);
    let out = push(&[]);
    assert_eq!(out.status.code(), Some(75));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot tell whether"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
