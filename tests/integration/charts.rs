//! The charts rendered by real helm through panda-install: every experiment with helm 4 and helm 3,
//! `helm lint --strict`, release names on every object, and the wiring between the secrets chart's
//! hosts and the Services the component charts render.

use crate::support::{helm3, helm4, panda_install, root, yaml_documents, TEST_SECRETS};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

const COMPONENTS: [&str; 7] = ["msgsvc", "iam", "panda", "harvester", "idds", "bigmon", "ui"];

pub fn experiments() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("values"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Packs the library chart into every component chart once per test run, so that parallel tests
/// never run `helm dependency build` on the same chart at the same time.
pub fn prepare_charts(helm: &Path) {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        for c in COMPONENTS {
            let out = Command::new(helm)
                .args(["dependency", "build"])
                .arg(root().join("helm").join(c))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "helm dependency build {c}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    });
}

pub fn documents(manifests: &str) -> Vec<Value> {
    yaml_documents(manifests)
}

/// `panda-install --template` with the given helm and arguments; returns the rendered documents.
pub fn template(helm: &Path, args: &[&str]) -> Vec<Value> {
    prepare_charts(helm);
    let out = panda_install().arg("--template").args(args).arg("--helm").arg(helm).output().unwrap();
    assert!(
        out.status.success(),
        "panda-install --template {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    documents(&String::from_utf8(out.stdout).unwrap())
}

fn release_names(affix: &str) -> BTreeSet<String> {
    let apply = |n: &str| if affix.ends_with('-') { format!("{affix}{n}") } else { format!("{n}{affix}") };
    COMPONENTS.iter().chain(["secrets"].iter()).map(|n| apply(n)).collect()
}

fn check_every_experiment(helm: &Path) {
    let mut runs = vec![None];
    runs.extend(experiments().into_iter().map(Some));
    for experiment in runs {
        let mut args = vec!["--secrets", TEST_SECRETS, "-n", "panda", "-a", "test-"];
        if let Some(e) = &experiment {
            args.extend(["-e", e.as_str()]);
        }
        let docs = template(helm, &args);
        let planned = release_names("test-");
        let mut seen = BTreeSet::new();
        for doc in &docs {
            let kind = doc["kind"].as_str().unwrap_or("?");
            let name = doc["metadata"]["name"].as_str().unwrap_or("?");
            let instance = doc["metadata"]["labels"]["app.kubernetes.io/instance"].as_str();
            let instance = instance.unwrap_or_else(|| {
                panic!("{experiment:?}: {kind}/{name} has no app.kubernetes.io/instance label")
            });
            assert!(
                planned.contains(instance),
                "{experiment:?}: {kind}/{name} belongs to unplanned release {instance}"
            );
            assert!(!name.contains("release-name"), "{experiment:?}: {kind}/{name}");
            seen.insert(instance.to_string());
        }
        // every planned release rendered something (unless the experiment switches it off)
        assert!(seen.len() >= 2, "{experiment:?}: only {seen:?} rendered");
    }
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn every_experiment_renders_with_helm4() {
    check_every_experiment(&helm4());
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn every_experiment_renders_with_helm3() {
    check_every_experiment(&helm3());
}

fn lint_all(helm: &Path) {
    prepare_charts(helm);
    let mut failures = Vec::new();
    let lint = |chart: &Path, extra: &[&str]| -> Option<String> {
        let out = Command::new(helm).arg("lint").arg("--strict").arg(chart).args(extra).output().unwrap();
        (!out.status.success()).then(|| {
            format!(
                "{} {extra:?}:\n{}{}",
                chart.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    };
    for c in COMPONENTS {
        let chart = root().join("helm").join(c);
        failures.extend(lint(&chart, &[]));
        for e in experiments() {
            let file = root().join("values").join(&e).join(format!("{c}.yaml"));
            let wide = root().join("values").join(&e).join("experiment.yaml");
            let mut args: Vec<&str> = Vec::new();
            if wide.is_file() {
                args.extend(["-f", wide.to_str().unwrap()]);
            }
            if file.is_file() {
                args.extend(["-f", file.to_str().unwrap()]);
            }
            if !args.is_empty() {
                failures.extend(lint(&chart, &args));
            }
        }
    }
    failures.extend(lint(&root().join("secrets"), &["-f", root().join(TEST_SECRETS).to_str().unwrap()]));
    assert!(failures.is_empty(), "helm lint --strict failed:\n{}", failures.join("\n"));
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn lint_strict_every_chart_and_experiment_helm4() {
    lint_all(&helm4());
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn lint_strict_every_chart_and_experiment_helm3() {
    lint_all(&helm3());
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn a_misspelled_key_in_an_experiment_file_is_rejected() {
    let helm = helm4();
    prepare_charts(&helm);
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo.yaml");
    std::fs::write(&typo, "server:\n  replicaz: 2\n").unwrap();
    let out = panda_install()
        .args(["--template", "-c", "panda", "--values"])
        .arg(format!("panda={}", typo.display()))
        .arg("--helm")
        .arg(&helm)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a values typo rendered");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("replicaz"), "the error does not name the key:\n{stderr}");
}

/// Services by name -> the ports they expose.
fn services(docs: &[Value]) -> BTreeMap<String, BTreeSet<u64>> {
    docs.iter()
        .filter(|d| d["kind"] == "Service")
        .map(|d| {
            let ports = d["spec"]["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["port"].as_u64())
                .collect();
            (d["metadata"]["name"].as_str().unwrap().to_string(), ports)
        })
        .collect()
}

/// The env of a Secret by suffix, from stringData (or base64 data).
fn secret_env(docs: &[Value], name: &str) -> BTreeMap<String, String> {
    let doc = docs
        .iter()
        .find(|d| d["kind"] == "Secret" && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no Secret {name} rendered"));
    let map = doc["stringData"].as_object().unwrap_or_else(|| panic!("Secret {name} has no stringData"));
    map.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect()
}

/// `scheme://host:port/path`, `host:port` or a bare host (port then from `<KEY minus HOST>PORT`).
fn host_and_port(env: &BTreeMap<String, String>, key: &str) -> (String, Option<u64>) {
    let value = &env[key];
    let (scheme, rest) = match value.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, value.as_str()),
    };
    let authority = rest.split('/').next().unwrap();
    let authority = authority.rsplit('@').next().unwrap();
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => {
            (h.to_string(), Some(p.parse().unwrap_or_else(|_| panic!("{key}={value}: bad port"))))
        }
        None => (authority.to_string(), None),
    };
    let port = port
        .or_else(|| {
            key.strip_suffix("HOST").and_then(|k| env.get(&format!("{k}PORT"))).and_then(|p| p.parse().ok())
        })
        .or(match scheme {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        })
        // a bare database host: the client uses its protocol's default port
        .or_else(|| {
            [("-mariadb", 3306), ("-postgres", 5432)]
                .into_iter()
                .find(|(s, _)| host.ends_with(s))
                .map(|(_, p)| p)
        });
    (host, port)
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn secrets_hosts_point_at_rendered_services_for_every_affix() {
    let helm = helm4();
    let wiring: [(&str, &[&str]); 5] = [
        (
            "panda-envs",
            &["PANDA_DB_HOST", "PANDA_ACTIVEMQ_LIST", "PANDA_URL", "PANDA_URL_SSL", "PANDA_IDDS_HOST"],
        ),
        (
            "harvester-envs",
            &["HARVESTER_DB_HOST", "PANDA_URL", "PANDA_URL_SSL", "PANDA_API_URL_SSL", "BIGMON_BASE_URL"],
        ),
        (
            "idds-envs",
            &[
                "IDDS_DATABASE_HOST",
                "IDDS_CONDUCTOR_BROKERS",
                "IDDS_RECEIVER_BROKERS",
                "PANDA_MONITOR_URL",
                "PANDA_URL",
                "IDDS_SERVER",
            ],
        ),
        ("bigmon-envs", &["PANDA_DB_HOST", "IDDS_HOST"]),
        ("iam-envs", &["IAM_DB_HOST"]),
    ];
    for affix in ["", "blah-", "-blah"] {
        let docs = template(&helm, &["--secrets", TEST_SECRETS, "-a", affix]);
        let svc = services(&docs);
        let secrets_release =
            if affix.ends_with('-') { format!("{affix}secrets") } else { format!("secrets{affix}") };
        for (suffix, keys) in wiring {
            let env = secret_env(&docs, &format!("{secrets_release}-{suffix}"));
            for key in keys {
                assert!(env.contains_key(*key), "affix {affix:?}: {suffix} lacks {key}");
                let (host, port) = host_and_port(&env, key);
                let ports = svc.get(&host).unwrap_or_else(|| {
                    panic!("affix {affix:?}: {suffix} {key}={} names {host}, which is no rendered Service ({:?})", env[*key], svc.keys())
                });
                let port =
                    port.unwrap_or_else(|| panic!("affix {affix:?}: {suffix} {key}={}: no port", env[*key]));
                assert!(
                    ports.contains(&port),
                    "affix {affix:?}: {suffix} {key} uses port {port}; Service {host} has {ports:?}"
                );
            }
        }
    }
}

/// The test secrets with CRIC switched to local files, given as `cric.files` values.
fn cric_free_secrets(dir: &Path, files: &[&str]) -> std::path::PathBuf {
    let text = std::fs::read_to_string(root().join(TEST_SECRETS)).unwrap();
    let mut values: Value = crate::support::yaml(&text);
    values["cric"]["real"] = Value::Bool(false);
    let mut map = serde_json::Map::new();
    for f in files {
        map.insert(
            (*f).into(),
            std::fs::read_to_string(root().join("secrets/ci/cric").join(f)).unwrap().into(),
        );
    }
    values["cric"]["files"] = Value::Object(map);
    let path = dir.join("cric-free.yaml");
    std::fs::write(&path, serde_json::to_string(&values).unwrap()).unwrap();
    path
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn cric_free_files_become_secret_keys_mounted_as_a_volume() {
    let helm = helm4();
    prepare_charts(&helm);
    let dir = tempfile::tempdir().unwrap();
    let secrets = cric_free_secrets(dir.path(), &["sites.json", "panda_queues.json", "ddm_endpoints.json"]);
    let docs =
        template(&helm, &["--secrets", secrets.to_str().unwrap(), "-a", "test-", "-c", "panda,harvester"]);
    let cric = docs
        .iter()
        .find(|d| d["kind"] == "Secret" && d["metadata"]["name"] == "test-secrets-cric-jsons")
        .expect("no cric-jsons Secret");
    let keys: BTreeSet<&str> = cric["data"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["ddm_endpoints.json", "panda_queues.json", "sites.json"]));
    for workload in ["test-panda-server", "test-harvester-harvester"] {
        let w = docs
            .iter()
            .find(|d| d["metadata"]["name"] == workload && d["kind"] == "StatefulSet")
            .unwrap_or_else(|| panic!("no {workload}"));
        let spec = &w["spec"]["template"]["spec"];
        let volume = spec["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["secret"]["secretName"] == "test-secrets-cric-jsons");
        let volume = volume.unwrap_or_else(|| panic!("{workload} does not mount the cric-jsons Secret"));
        let mounts: Vec<&Value> = spec["containers"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["volumeMounts"].as_array().unwrap().iter())
            .filter(|m| m["name"] == volume["name"])
            .collect();
        assert!(!mounts.is_empty(), "{workload}: volume not mounted");
        for m in mounts {
            assert_eq!(m["mountPath"], "/var/cric", "{workload}");
            assert!(
                m.get("subPath").is_none(),
                "{workload}: a subPath mount would not follow Secret updates"
            );
        }
    }
    let panda_env = secret_env(&docs, "test-secrets-panda-envs");
    assert_eq!(panda_env["PANDA_CRIC_SITES"], "/var/cric/sites.json");

    // with the real CRIC service, no Secret and no mount
    let docs = template(&helm, &["--secrets", TEST_SECRETS, "-a", "test-", "-c", "panda,harvester"]);
    assert!(!docs.iter().any(|d| d["metadata"]["name"] == "test-secrets-cric-jsons"));
    let rendered = serde_json::to_string(&docs).unwrap();
    assert!(!rendered.contains("/var/cric"), "the real CRIC mode mounts /var/cric");
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn a_missing_mandatory_cric_file_fails_rendering_with_its_name() {
    let helm = helm4();
    prepare_charts(&helm);
    let dir = tempfile::tempdir().unwrap();
    let secrets = cric_free_secrets(dir.path(), &["sites.json"]);
    let out = panda_install()
        .args(["--template", "-a", "test-", "-c", "panda", "--secrets", secrets.to_str().unwrap(), "--helm"])
        .arg(&helm)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("panda_queues.json") && stderr.contains("ddm_endpoints.json"), "{stderr}");
    assert!(
        !stderr.contains("sites.json,") && !stderr.contains("sites.json are"),
        "the present file is named missing: {stderr}"
    );
}

/// The affix rule is one rule: the secrets chart accepts exactly the affixes the CLI accepts
/// (src/settings/affix.rs runs the same table as a unit test).
#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn the_secrets_chart_applies_the_clis_affix_rule() {
    let helm = helm4();
    let table = std::fs::read_to_string(root().join("tests/data/affix-cases.txt")).unwrap();
    let mut checked = 0;
    for line in table.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let (verdict, affix) = line.split_once(' ').unwrap();
        let affix = affix.trim().trim_matches('"');
        let out = Command::new(&helm)
            .args(["template", "s"])
            .arg(root().join("secrets"))
            .arg("-f")
            .arg(root().join(TEST_SECRETS))
            .args(["--set-string", &format!("affix={affix}")])
            .output()
            .unwrap();
        assert_eq!(
            out.status.success(),
            verdict == "valid",
            "affix {affix:?} ({verdict}): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cli = panda_install().args(["plan", "-c", "msgsvc", "-a", affix]).output().unwrap();
        assert_eq!(
            cli.status.success(),
            verdict == "valid",
            "CLI, affix {affix:?}: {}",
            String::from_utf8_lossy(&cli.stderr)
        );
        checked += 1;
    }
    assert!(checked >= 20);
}
