//! A site directory (docs/site.md) with the binary alone: `site init --from doma` in an empty
//! directory, one value changed in the site's own file, rendered and deployed from that directory
//! (no checkout around it); the change reaches the cluster object while the base's other values
//! stay, status/diff/doctor work from there, and the tool's checkout is left as it was.

use crate::binary::Installed;
use crate::support::{helm4, json, kubectl_apply, root, testbed, yaml_documents, Namespace, TEST_SECRETS};
use serde_json::Value;
use std::process::Output;

/// The site's one change over doma: the broker's memory request (doma: 512Mi, and a memory limit
/// of 2Gi where the chart's default is 4Gi).
const OVERRIDE: &str = "activemq:\n  resources:\n    requests:\n      memory: 640Mi\n";

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn git_status() -> String {
    let out = std::process::Command::new("git")
        .current_dir(root())
        .args(["status", "--porcelain"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The binary alone with a site made by `site init --from doma` in its empty working directory,
/// the override written into the site's experiment.
fn site() -> Installed {
    let bin = Installed::new();
    let out = bin.run(&["site", "init", "--from", "doma"]);
    assert!(out.status.success(), "{}", text(&out));
    for file in ["panda-site.yaml", ".gitignore", ".sops.yaml", "experiments/doma/experiment.yaml"] {
        assert!(bin.cwd.join(file).is_file(), "site init wrote no {file}");
    }
    std::fs::write(bin.cwd.join("experiments/doma/msgsvc.yaml"), OVERRIDE).unwrap();
    bin
}

/// The broker container's resources in a rendered or live Deployment.
fn broker_resources(deployment: &Value) -> Value {
    let containers = deployment["spec"]["template"]["spec"]["containers"].as_array().unwrap();
    containers[0]["resources"].clone()
}

fn rendered_resources(out: &Output) -> Value {
    assert!(out.status.success(), "{}", text(out));
    let docs = yaml_documents(&String::from_utf8_lossy(&out.stdout));
    let deployment = docs.iter().find(|d| d["kind"] == "Deployment").expect("a Deployment");
    broker_resources(deployment)
}

#[test]
#[ignore = "needs helm (scripts/tools)"]
fn a_site_experiment_layers_its_values_over_the_bundled_one() {
    let helm = helm4();
    let helm = helm.to_str().unwrap();
    let bin = site();
    let resources =
        rendered_resources(&bin.run(&["-e", "doma", "-c", "msgsvc", "--template", "--helm", helm]));
    assert_eq!(resources["requests"]["memory"], "640Mi", "the site's value");
    assert_eq!(resources["limits"]["memory"], "2Gi", "doma's value the site does not set");
    // the same site named explicitly from elsewhere, and the bundled doma without it
    let site = bin.cwd.to_str().unwrap().to_string();
    let mut elsewhere =
        bin.command(&["-e", "doma", "-c", "msgsvc", "--template", "--helm", helm, "--site", &site]);
    let out = elsewhere.current_dir(std::env::temp_dir()).output().unwrap();
    assert_eq!(rendered_resources(&out)["requests"]["memory"], "640Mi");
    let mut bundled = bin.command(&["-e", "doma", "-c", "msgsvc", "--template", "--helm", helm]);
    let out = bundled.current_dir(std::env::temp_dir()).output().unwrap();
    assert_eq!(rendered_resources(&out)["requests"]["memory"], "512Mi");
    // a site experiment is offered where -e is, and a wrong base is named
    std::fs::write(
        bin.cwd.join("panda-site.yaml"),
        "siteVersion: 1\nexperiments:\n  doma:\n    extends: dmoa\n",
    )
    .unwrap();
    let out = bin.run(&["-e", "doma", "--template", "--helm", helm]);
    assert_eq!(out.status.code(), Some(65), "{}", text(&out));
    assert!(text(&out).contains("\"dmoa\""), "{}", text(&out));
}

#[test]
fn site_init_refuses_the_tools_checkout_and_an_existing_site() {
    let inside = root().join("target/site-init-refused");
    let out = crate::support::panda_install()
        .args(["site", "init", "--from", "doma"])
        .arg(&inside)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
    assert!(text(&out).contains("inside the panda-install checkout"), "{}", text(&out));
    assert!(!inside.exists());
    let bin = site();
    let out = bin.run(&["site", "init"]);
    assert_eq!(out.status.code(), Some(65), "{}", text(&out));
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn a_site_deploys_from_its_own_directory_with_the_binary_alone() {
    testbed();
    let helm = helm4();
    let helm = helm.to_str().unwrap();
    let before = git_status();
    let bin = site();
    std::fs::copy(root().join(TEST_SECRETS), bin.cwd.join("secrets-values.yaml")).unwrap();
    let ns = Namespace::new("site");
    let common = [
        "-e",
        "doma",
        "-c",
        "msgsvc",
        "--secrets",
        "secrets-values.yaml",
        "-a",
        "test-",
        "-n",
        &ns.0,
        "--helm",
        helm,
    ];
    let out = bin.run(&[&common[..], &["--timeout", "3m"]].concat());
    assert!(out.status.success(), "install from the site: {}", text(&out));
    let live = json(&["get", "deployment", "-n", &ns.0, "-o", "json"]);
    let deployment = &live["items"][0];
    assert_eq!(broker_resources(deployment)["requests"]["memory"], "640Mi", "the site's change is live");
    assert_eq!(broker_resources(deployment)["limits"]["memory"], "2Gi", "doma's, under the change");
    let out = bin.run(&["status", "-n", &ns.0, "--helm", helm]);
    assert!(out.status.success(), "status: {}", text(&out));
    let out = bin.run(&[&["diff"][..], &common[..]].concat());
    assert_eq!(out.status.code(), Some(0), "diff: nothing to change: {}", text(&out));
    std::fs::write(bin.cwd.join("experiments/doma/msgsvc.yaml"), OVERRIDE.replace("640Mi", "700Mi")).unwrap();
    let out = bin.run(&[&["diff"][..], &common[..]].concat());
    assert_eq!(out.status.code(), Some(2), "diff sees the site's next change: {}", text(&out));
    let out = bin.run(&[&["doctor"][..], &common[..]].concat());
    assert!(text(&out).contains("msgsvc"), "doctor: {}", text(&out));
    assert!(matches!(out.status.code(), Some(0 | 75)), "doctor ran its checks: {}", text(&out));
    assert_eq!(git_status(), before, "the tool's checkout is untouched");
}

#[test]
fn completions_and_every_way_of_naming_a_site_find_its_experiments() {
    let bin = Installed::new();
    let out = bin.run(&["site", "init", "--name", "mine", "sub"]);
    assert!(out.status.success(), "{}", text(&out));
    let completions = |cmd: &mut std::process::Command| {
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).contains("mine")
    };
    assert!(!completions(&mut bin.command(&["completions", "bash"])), "no site here");
    assert!(completions(&mut bin.command(&["completions", "bash", "--site", "sub"])));
    assert!(completions(bin.command(&["completions", "bash"]).env("PANDA_INSTALL_SITE", "sub")));
    assert!(completions(bin.command(&["completions", "bash"]).current_dir(bin.cwd.join("sub/experiments"))));
    let out = bin.run(&["completions", "bash", "--site", "."]);
    assert_eq!(out.status.code(), Some(64), "no panda-site.yaml in .: {}", text(&out));
}

/// The binary alone with the site `import` wrote from the upstream fixture (tests/fixtures/upstream,
/// shaped like upstream panda-k8s 9a889bb) into its empty working directory; its experiments.
fn imported_site() -> (Installed, Vec<String>) {
    let bin = Installed::new();
    let upstream = root().join("tests/fixtures/upstream");
    let out = bin.run(&["import", upstream.to_str().unwrap(), "--out", "."]);
    assert!(out.status.success(), "{}", text(&out));
    for file in ["panda-site.yaml", ".gitignore", ".sops.yaml", "secrets-values.yaml"] {
        assert!(bin.cwd.join(file).is_file(), "import wrote no {file}");
    }
    assert!(bin.cwd.join("secrets/files/panda_certs/hostkey.pem").is_file(), "no secrets files");
    assert!(!bin.cwd.join("values").exists(), "import wrote the old project-shaped values/");
    let mut names: Vec<String> = std::fs::read_dir(bin.cwd.join("experiments"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    (bin, names)
}

#[test]
#[ignore = "needs helm (scripts/tools)"]
fn an_imported_site_renders_every_experiment_with_the_binary_alone() {
    let helm = helm4();
    let (bin, experiments) = imported_site();
    assert!(experiments.len() >= 7, "{experiments:?}");
    for experiment in &experiments {
        let out = bin.run(&[
            "--template",
            "-e",
            experiment,
            "--secrets",
            "secrets-values.yaml",
            "--helm",
            helm.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{experiment}: {}", text(&out));
        let docs = yaml_documents(&String::from_utf8_lossy(&out.stdout));
        assert!(
            docs.iter().any(|d| d["kind"] == "StatefulSet" || d["kind"] == "Deployment"),
            "{experiment}: no workload"
        );
    }
    // the secrets release reads the site's secrets files (staged, then removed)
    let out = bin.run(&[
        "secrets",
        "deploy",
        "-f",
        "secrets-values.yaml",
        "--dry-run",
        "-n",
        "x",
        "--helm",
        helm.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let staged = bin.cwd.parent().unwrap().join("cache/panda-install/staged");
    assert!(staged.is_dir(), "the secrets chart was not staged with the site's files");
    let left: Vec<_> = std::fs::read_dir(&staged).unwrap().flatten().map(|e| e.path()).collect();
    assert!(left.is_empty(), "staged copies left behind: {left:?}");
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn an_imported_site_deploys_with_its_imported_secrets_and_files() {
    testbed();
    let helm = helm4();
    let (bin, _) = imported_site();
    let ns = Namespace::new("site-import");
    // the broker's claim upstream's deployment left (dev's msgsvc.yaml names it as existingClaim)
    kubectl_apply(&format!(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: test-msgsvc-activemq\n  namespace: {}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {{requests: {{storage: 1Gi}}}}\n",
        ns.0
    ));
    let out = bin.run(&[
        "-e",
        "dev",
        "-c",
        "msgsvc",
        "--secrets",
        "secrets-values.yaml",
        "-n",
        &ns.0,
        "--helm",
        helm.to_str().unwrap(),
        "--timeout",
        "3m",
    ]);
    assert!(out.status.success(), "install from the imported site: {}", text(&out));
    let shown = text(&out);
    assert!(!shown.contains("CANARY"), "a secret was printed:\n{shown}");
    let secrets = json(&["get", "secrets", "-n", &ns.0, "-o", "json"]);
    let mut values = Vec::new();
    for s in secrets["items"].as_array().unwrap().iter().filter(|s| s["type"] != "helm.sh/release.v1") {
        for v in s["data"].as_object().into_iter().flat_map(|m| m.values()) {
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
            values.push(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    assert!(values.iter().any(|v| v.contains("CANARY-7c1e-broker")), "the imported values are deployed");
    let key = std::fs::read_to_string(bin.cwd.join("secrets/files/panda_certs/hostkey.pem")).unwrap();
    assert!(values.contains(&key), "the site's panda_certs/hostkey.pem is not deployed");
    let live = json(&["get", "deployment", "-n", &ns.0, "-o", "json"]);
    assert!(!live["items"].as_array().unwrap().is_empty(), "the broker is deployed");
}

#[test]
fn import_refuses_to_write_into_the_tools_checkout() {
    let before = git_status();
    let out = crate::support::panda_install()
        .arg("import")
        .arg(root().join("tests/fixtures/upstream"))
        .arg("--out")
        .arg(root().join("imported-site"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
    assert!(text(&out).contains("inside the panda-install checkout"), "{}", text(&out));
    assert!(!root().join("imported-site").exists(), "something was written");
    assert_eq!(git_status(), before, "the tool's checkout is untouched");
}
