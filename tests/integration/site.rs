//! A site directory (docs/site.md) with the binary alone: `site init --from doma` in an empty
//! directory, one value changed in the site's own file, rendered and deployed from that directory
//! (no checkout around it); the change reaches the cluster object while the base's other values
//! stay, status/diff/doctor work from there, and the tool's checkout is left as it was.

use crate::binary::Installed;
use crate::support::{helm4, json, root, testbed, yaml_documents, Namespace, TEST_SECRETS};
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
