//! The command line: help, the dry-run plan, and every bad input (documented exit code, a message
//! naming the culprit, and not a single helm call).

use crate::support::{panda_install, project_copy, HelmSpy};
use predicates::str::contains;

const USAGE: i32 = 64;
const DATA: i32 = 65;
const HELM_UNAVAILABLE: i32 = 69;

#[test]
fn help_lists_the_bin_install_flags() {
    let out = panda_install().arg("--help").assert().success().get_output().stdout.clone();
    let help = String::from_utf8(out).unwrap();
    for flag in [
        "-a, --affix",
        "-e, --experiment",
        "-c, --enable",
        "-d, --disable",
        "-t, --template",
        "-n, --namespace",
        "--dry-run",
        "--values",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

/// Runs panda-install with a recording helm and checks the exit code, the message and that helm
/// was never called.
fn rejects(args: &[&str], code: i32, culprit: &str) {
    let spy = HelmSpy::new();
    let assert = panda_install().args(args).arg("--helm").arg(&spy.program).assert().code(code);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains(culprit), "{args:?}: stderr does not name {culprit:?}:\n{stderr}");
    assert_eq!(spy.calls(), Vec::<String>::new(), "{args:?} called helm");
}

#[test]
fn unknown_component_is_named_with_a_suggestion() {
    rejects(&["-c", "panda,harvestr"], USAGE, "did you mean \"harvester\"");
    rejects(&["-c", "foo"], USAGE, "\"foo\"");
    rejects(&["-d", "bigmn"], USAGE, "did you mean \"bigmon\"");
}

#[test]
fn unknown_subcomponent_is_named() {
    rejects(&["-d", "panda.jedii"], USAGE, "did you mean \"jedi\"");
    rejects(&["-d", "panda.nothing"], USAGE, "unknown sub-component of panda \"nothing\"");
}

#[test]
fn unknown_experiment_lists_the_known_ones() {
    let spy = HelmSpy::new();
    let assert = panda_install().args(["-e", "lssst", "--helm"]).arg(&spy.program).assert().code(USAGE);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    for known in ["lsst", "sphenix", "atlas_testbed", "doma", "dev"] {
        assert!(stderr.contains(known), "known experiment {known} not listed:\n{stderr}");
    }
    assert!(stderr.contains("did you mean \"lsst\""), "{stderr}");
    assert!(spy.calls().is_empty());
}

#[test]
fn invalid_affixes_say_why() {
    rejects(&["-a", "blah"], USAGE, "neither a prefix");
    rejects(&["-a", "Blah-"], USAGE, "DNS-1123");
    rejects(&["-a", "-"], USAGE, "affix");
    rejects(&["--affix=a_b-"], USAGE, "'_'");
}

#[test]
fn other_bad_flags() {
    rejects(&["-n", "Bad_Namespace"], USAGE, "namespace \"Bad_Namespace\"");
    rejects(&["--timeout", "ten"], USAGE, "--timeout \"ten\"");
    rejects(&["--values", "panda"], USAGE, "COMPONENT=FILE");
    rejects(&["--values", "pnda=x.yaml"], USAGE, "did you mean \"panda\"");
    rejects(&["--no-such-flag"], USAGE, "--no-such-flag");
    rejects(&["-t", "--dry-run"], USAGE, "cannot be used with");
    rejects(&["status", "--template"], USAGE, "--template");
    rejects(&["-c", "panda", "status"], USAGE, "belongs to the bare install form");
    rejects(&["uninstall", "-d", "panda.jedi"], USAGE, "whole releases");
}

#[test]
fn missing_and_malformed_values_files_are_named() {
    rejects(&["--values", "panda=/does/not/exist.yaml"], DATA, "/does/not/exist.yaml");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("site.yaml");
    std::fs::write(&bad, "server:\n  image: [unclosed\n").unwrap();
    rejects(&["--values", &format!("panda={}", bad.display())], DATA, "site.yaml");
    rejects(&["--secrets", "/does/not/exist-secrets.yaml"], DATA, "exist-secrets.yaml");
}

#[test]
fn malformed_experiment_file_is_named_with_its_line() {
    let copy = project_copy();
    let file = copy.path().join("values/lsst/panda.yaml");
    std::fs::write(&file, "server:\n  replicas: 1\n bad-indent: [\n").unwrap();
    let spy = HelmSpy::new();
    let assert = panda_install()
        .args(["-e", "lsst", "--root"])
        .arg(copy.path())
        .arg("--helm")
        .arg(&spy.program)
        .assert()
        .code(DATA);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("values/lsst/panda.yaml") && stderr.contains("line"), "{stderr}");
    assert!(spy.calls().is_empty());
}

#[test]
fn dependency_cycle_and_unknown_edge_are_named() {
    let copy = project_copy();
    let chart = copy.path().join("helm/msgsvc/Chart.yaml");
    let text = std::fs::read_to_string(&chart).unwrap();
    let with_edge = |deps: &str| {
        let mut doc: serde_json::Value = crate::support::yaml(&text);
        doc["annotations"]["panda-install.io/depends-on"] = deps.into();
        std::fs::write(&chart, serde_json::to_string(&doc).unwrap()).unwrap();
    };
    let spy = HelmSpy::new();
    with_edge("bigmon");
    let assert =
        panda_install().arg("--root").arg(copy.path()).arg("--helm").arg(&spy.program).assert().code(DATA);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("cycle") && stderr.contains("msgsvc") && stderr.contains("bigmon"), "{stderr}");
    with_edge("pandaa");
    let assert =
        panda_install().arg("--root").arg(copy.path()).arg("--helm").arg(&spy.program).assert().code(DATA);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("\"pandaa\"") && stderr.contains("msgsvc/Chart.yaml"), "{stderr}");
    assert!(spy.calls().is_empty());
}

#[test]
fn missing_helm_is_reported() {
    panda_install()
        .args(["--helm", "/nonexistent/helm"])
        .assert()
        .code(HELM_UNAVAILABLE)
        .stderr(contains("helm not found at /nonexistent/helm"));
}

#[test]
fn dry_run_orders_msgsvc_before_panda() {
    let spy = HelmSpy::new();
    let assert = panda_install()
        .args(["-c", "panda,msgsvc", "-e", "lsst", "--dry-run", "-n", "panda-ns", "--helm"])
        .arg(&spy.program)
        .assert()
        .success();
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let msgsvc = out.find("# tier 1: test-msgsvc\n").unwrap_or_else(|| panic!("no msgsvc tier 1:\n{out}"));
    let panda = out.find("# tier 2: test-panda\n").unwrap_or_else(|| panic!("no panda tier 2:\n{out}"));
    assert!(msgsvc < panda);
    let install_lines: Vec<&str> = out.lines().filter(|l| l.contains("upgrade --install")).collect();
    assert_eq!(install_lines.len(), 2, "{out}");
    assert!(
        install_lines[0].contains(
            "upgrade --install test-msgsvc helm/msgsvc --namespace panda-ns -f values/lsst/experiment.yaml -f values/lsst/msgsvc.yaml"
        ),
        "{out}"
    );
    assert!(
        install_lines[1].contains(
            "upgrade --install test-panda helm/panda --namespace panda-ns -f values/lsst/experiment.yaml -f values/lsst/panda.yaml"
        ),
        "{out}"
    );
    assert!(install_lines.iter().all(|l| l.contains("global.secretsRelease=test-secrets")));
    // only `helm version` may run in a dry run: nothing that touches the cluster
    assert!(spy.calls().iter().all(|c| c.starts_with("version")), "{:?}", spy.calls());
}

#[test]
fn dry_run_prints_no_secret_from_the_secrets_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secrets.yaml");
    std::fs::write(&file, "affix: canary-\nmsgsvc:\n  basePasswd: CANARY-s3cr3t-4815\n").unwrap();
    let assert = panda_install().args(["--dry-run", "--secrets"]).arg(&file).assert().success();
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(out.contains("# tier 0: canary-secrets"), "{out}");
    assert!(out.contains("-f") && out.contains("secrets.yaml"));
    assert!(!out.contains("CANARY-s3cr3t-4815"), "{out}");
}

#[test]
fn secrets_init_writes_a_private_file_with_generated_passwords() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("secrets.yaml");
    let assert = panda_install().args(["secrets", "init", "--out"]).arg(&out_file).assert().success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert_eq!(std::fs::metadata(&out_file).unwrap().permissions().mode() & 0o777, 0o600);
    let values: serde_json::Value = crate::support::yaml(&std::fs::read_to_string(&out_file).unwrap());
    let password = values["msgsvc"]["basePassword"].as_str().unwrap().to_string();
    assert_eq!(password.len(), 32);
    assert_ne!(password, values["panda"]["database"]["password"].as_str().unwrap());
    assert!(!stderr.contains(&password), "a generated password was printed");
    // what a human decides stays FIXME and is listed
    assert_eq!(values["rucio"]["password"].as_str(), Some("FIXME"));
    assert!(stderr.contains("rucio.password"), "{stderr}");
    // no overwrite without --force
    panda_install()
        .args(["secrets", "init", "--out"])
        .arg(&out_file)
        .assert()
        .code(USAGE)
        .stderr(contains("--force"));
}

#[test]
fn completions_offer_components_subcomponents_and_experiments_and_man_renders() {
    let assert = panda_install().args(["completions", "bash"]).assert().success();
    let script = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    for word in ["harvester", "panda.jedi", "idds.daemon", "atlas_testbed", "lsst-prod", "uninstall"] {
        assert!(script.contains(word), "bash completions lack {word}");
    }
    panda_install().args(["completions", "fish"]).assert().success().stdout(contains("panda.jedi"));
    panda_install().arg("man").assert().success().stdout(contains(".TH panda-install 1"));
}

#[test]
fn every_command_refuses_a_flag_it_does_not_take_with_exit_64() {
    // A sample through the real binary; src/cli/tests.rs checks every (command, flag) pair.
    for args in [
        &["uninstall", "--template"][..],
        &["status", "--secrets", "s.yaml"],
        &["argocd", "--no-wait"],
        &["secrets", "init", "--dry-run"],
        &["plan", "--dry-run"],
        &["man", "-e", "dev"],
        &["diff", "--force-upgrade"],
    ] {
        let out = panda_install().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(USAGE), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::process::{Command, Stdio};
    for args in [&["man"][..], &["plan", "-e", "dev"], &["completions", "bash"]] {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("panda-install"))
            .current_dir(crate::support::root())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader goes away before anything is written
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}

#[test]
fn the_namespace_is_resolved_as_helm_resolves_it() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters: []\nusers: []\n\
         contexts:\n- name: a\n  context: {cluster: c, user: u, namespace: from-context}\n",
    )
    .unwrap();
    let plan = |env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = panda_install();
        cmd.env_remove("HELM_NAMESPACE")
            .env("KUBECONFIG", &kubeconfig)
            // a secrets file: the plan then reads no cluster (this kubeconfig names none)
            .args(["plan", "-c", "msgsvc", "--secrets", crate::support::TEST_SECRETS])
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(plan(&[], &[]).contains("--namespace from-context "), "{}", plan(&[], &[]));
    assert!(plan(&[("HELM_NAMESPACE", "from-env")], &[]).contains("--namespace from-env "));
    assert!(plan(&[("HELM_NAMESPACE", "from-env")], &["-n", "from-flag"]).contains("--namespace from-flag "));
}

#[test]
fn flux_output_follows_the_plan() {
    let out = panda_install()
        .args([
            "flux",
            "-e",
            "doma",
            "-c",
            "msgsvc,panda,bigmon",
            "-d",
            "panda.jedi",
            "-a",
            "fx-",
            "-n",
            "ns",
        ])
        .args(["--oci", "oci://registry.example/charts/", "--chart-version", "0.1.0", "--oci-secret", "pull"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let docs = crate::support::yaml_documents(&String::from_utf8(out.stdout).unwrap());
    let of = |kind: &str| docs.iter().filter(|d| d["kind"] == kind).collect::<Vec<_>>();
    assert_eq!(of("OCIRepository").len(), 3);
    assert_eq!(of("HelmRelease").len(), 3);
    let repo = of("OCIRepository")[1];
    assert_eq!(repo["spec"]["url"], "oci://registry.example/charts/panda");
    assert_eq!(repo["spec"]["ref"]["tag"], "0.1.0");
    assert_eq!(repo["spec"]["secretRef"]["name"], "pull");
    assert!(repo["spec"].get("insecure").is_none());
    let release = |name: &str| *of("HelmRelease").iter().find(|h| h["metadata"]["name"] == name).unwrap();
    let panda = release("fx-panda");
    assert_eq!(panda["spec"]["releaseName"], "fx-panda");
    assert_eq!(panda["spec"]["targetNamespace"], "ns");
    assert_eq!(panda["spec"]["dependsOn"], serde_json::json!([{"name": "fx-msgsvc"}]));
    assert_eq!(release("fx-bigmon")["spec"]["dependsOn"], serde_json::json!([{"name": "fx-panda"}]));
    assert!(release("fx-msgsvc")["spec"].get("dependsOn").is_none());
    let keys: Vec<&str> = panda["spec"]["valuesFrom"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["valuesKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["values_doma_experiment.yaml", "values_doma_panda.yaml"], "the plan's -f order");
    assert_eq!(
        panda["spec"]["values"],
        serde_json::json!({"global": {"affix": "fx-", "secretsRelease": "fx-secrets", "cric": {"real": true}}, "jedi": {"enabled": false}})
    );
    let cm = of("ConfigMap").into_iter().find(|c| c["metadata"]["name"] == "fx-panda-values").unwrap();
    assert_eq!(cm["metadata"]["labels"]["reconcile.fluxcd.io/watch"], "Enabled");
    let on_disk = std::fs::read_to_string(crate::support::root().join("values/doma/panda.yaml")).unwrap();
    assert_eq!(cm["data"]["values_doma_panda.yaml"], on_disk.as_str(), "embedded byte for byte");
    // the secrets release stays outside Flux
    assert!(!docs.iter().any(|d| d["metadata"]["name"].as_str().is_some_and(|n| n.contains("secrets"))));
    // no namespace, no OCI repository: usage errors
    let out = panda_install().args(["flux", "--oci", "oci://r/c", "--chart-version", "1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(USAGE));
    let out =
        panda_install().args(["flux", "-n", "x", "--oci", "r/c", "--chart-version", "1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(USAGE));
}
