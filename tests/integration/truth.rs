//! Decisions from the cluster's truth (issue 19): what the secrets decide comes from the deployed
//! secrets release, a placeholder never reaches a Secret, `secrets deploy` converges and refuses a
//! foreign release, and no plaintext secret is written where git would track it.

use crate::charts::prepare_charts;
use crate::support::{helm4, json, kubectl, panda_install, root, testbed, Namespace, TEST_SECRETS};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PREFLIGHT: i32 = 75;
const TRACKED: i32 = 73;

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The test secrets with `change` applied, written to `dir/name`.
fn secrets_with(dir: &Path, name: &str, change: impl FnOnce(&mut Value)) -> PathBuf {
    let mut values = crate::support::yaml(&std::fs::read_to_string(root().join(TEST_SECRETS)).unwrap());
    change(&mut values);
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string(&values).unwrap()).unwrap();
    path
}

fn run(args: &[&str], helm: &Path) -> Output {
    panda_install().args(args).arg("--helm").arg(helm).output().unwrap()
}

/// Every value of every Secret of the namespace, decoded.
fn secret_values(ns: &str) -> Vec<(String, String)> {
    use base64::Engine;
    let list = json(&["get", "secrets", "-n", ns, "-o", "json"]);
    let mut out = Vec::new();
    for s in list["items"].as_array().unwrap() {
        let name = s["metadata"]["name"].as_str().unwrap().to_string();
        if s["type"] == "helm.sh/release.v1" {
            continue;
        }
        for v in s["data"].as_object().into_iter().flat_map(|m| m.values()) {
            let bytes = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
            out.push((name.clone(), String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    out
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn a_cric_free_instance_keeps_its_affix_and_cric_without_a_or_secrets() {
    testbed();
    let helm = helm4();
    prepare_charts(&helm);
    let ns = Namespace::new("truth-cric");
    let dir = tempfile::tempdir().unwrap();
    let file = secrets_with(dir.path(), "cric-free.yaml", |v| {
        v["affix"] = "blah-".into();
        v["cric"]["real"] = false.into();
        let mut files = serde_json::Map::new();
        for f in ["sites.json", "panda_queues.json", "ddm_endpoints.json"] {
            files.insert(
                f.into(),
                std::fs::read_to_string(root().join("secrets/ci/cric").join(f)).unwrap().into(),
            );
        }
        v["cric"]["files"] = Value::Object(files);
    });
    let out = run(&["secrets", "deploy", "-f", file.to_str().unwrap(), "-n", &ns.0], &helm);
    assert!(out.status.success(), "{}", text(&out));

    // neither -a nor --secrets: the deployed release decides (not the bundled test-, cric.real true)
    let select = ["-e", "dev", "-c", "panda,harvester", "-n", &ns.0];
    let plan = run(&[&["plan"][..], &select].concat(), &helm);
    let shown = text(&plan);
    assert!(plan.status.success(), "{shown}");
    assert!(shown.contains("blah-panda") && shown.contains("global.cric.real=false"), "{shown}");
    assert!(!shown.contains("test-panda"), "{shown}");
    let out = run(&[&select[..], &["--timeout", "3m"]].concat(), &helm);
    assert!(out.status.success(), "{}", text(&out));
    let sts = json(&["get", "statefulsets", "-n", &ns.0, "-o", "json"]);
    let mut mounting = Vec::new();
    for s in sts["items"].as_array().unwrap() {
        let name = s["metadata"]["name"].as_str().unwrap();
        assert!(name.starts_with("blah-"), "{name}");
        let volumes = s["spec"]["template"]["spec"]["volumes"].as_array().cloned().unwrap_or_default();
        if volumes.iter().any(|v| v["secret"]["secretName"] == "blah-secrets-cric-jsons") {
            mounting.push(name.to_string());
        }
    }
    for wanted in ["blah-panda-server", "blah-panda-jedi", "blah-harvester-harvester"] {
        assert!(mounting.iter().any(|m| m == wanted), "{wanted} does not mount the CRIC JSONs: {mounting:?}");
    }
    // diff agrees: nothing would change; doctor checks the same instance
    let diff = run(&[&["diff"][..], &select].concat(), &helm);
    assert_eq!(diff.status.code(), Some(0), "{}", text(&diff));
    let doctor = run(&[&["doctor", "--output", "json"][..], &select].concat(), &helm);
    let doc: Value = serde_json::from_slice(&doctor.stdout).unwrap_or_else(|_| panic!("{}", text(&doctor)));
    let check = doc["checks"].as_array().unwrap().iter().find(|c| c["id"] == "secrets.release").unwrap();
    assert_eq!(check["status"], "pass", "{check:#}");
    assert!(check.to_string().contains("blah-secrets"), "{check:#}");
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn a_file_missing_a_generated_password_is_refused_everywhere_and_no_secret_holds_fixme() {
    testbed();
    let helm = helm4();
    prepare_charts(&helm);
    let ns = Namespace::new("truth-fixme");
    let dir = tempfile::tempdir().unwrap();
    for key in
        ["harvester.database.password", "panda.database.password", "msgsvc.basePassword", "iam.keystore"]
    {
        let (parent, last) = key.rsplit_once('.').unwrap();
        let file = secrets_with(dir.path(), "partial.yaml", |v| {
            let mut node = v;
            for p in parent.split('.') {
                node = &mut node[p];
            }
            node.as_object_mut().unwrap().remove(last);
        });
        let f = file.to_str().unwrap();
        for args in [
            vec!["--secrets", f, "-e", "dev", "-c", "msgsvc", "-n", &ns.0],
            vec!["secrets", "deploy", "-f", f, "-n", &ns.0],
            vec![
                "argocd",
                "--secrets",
                f,
                "-n",
                &ns.0,
                "--repo-url",
                "u",
                "--target-revision",
                "main",
                "--no-parent",
            ],
        ] {
            // argocd runs no helm
            let out = if args[0] == "argocd" {
                panda_install().args(&args).output().unwrap()
            } else {
                run(&args, &helm)
            };
            let said = text(&out);
            assert_eq!(out.status.code(), Some(PREFLIGHT), "{args:?}: {said}");
            assert!(said.contains(key) && said.contains("left out of the file"), "{args:?}: {said}");
        }
        // plain helm: the chart's schema refuses the default placeholder
        let plain = Command::new(&helm)
            .args(["upgrade", "--install", "test-secrets"])
            .arg(root().join("secrets"))
            .args(["-n", &ns.0, "-f", f])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&plain.stderr);
        assert!(!plain.status.success() && stderr.contains(&key.replace('.', "/")), "{key}: {stderr}");
    }
    assert!(crate::support::helm_releases(&helm, &ns.0).is_empty());
    // the complete file deploys, and no Secret holds the placeholder
    let out =
        run(&["--secrets", TEST_SECRETS, "-e", "dev", "-c", "msgsvc", "-n", &ns.0, "--timeout", "3m"], &helm);
    assert!(out.status.success(), "{}", text(&out));
    let values = secret_values(&ns.0);
    assert!(!values.is_empty());
    let placeholders: Vec<&String> =
        values.iter().filter(|(_, v)| v.contains("FIXME")).map(|(n, _)| n).collect();
    assert!(placeholders.is_empty(), "Secrets holding FIXME: {placeholders:?}");
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn secrets_deploy_converges_and_refuses_a_foreign_release_of_its_name() {
    testbed();
    let helm = helm4();
    let ns = Namespace::new("truth-deploy");
    let deploy = || run(&["secrets", "deploy", "-f", TEST_SECRETS, "-n", &ns.0], &helm);
    let revisions =
        || kubectl(&["get", "secrets", "-n", &ns.0, "-l", "owner=helm,name=blah-secrets", "-o", "name"]);
    let first = deploy();
    assert!(first.status.success(), "{}", text(&first));
    let before = revisions();
    assert_eq!(before.lines().count(), 1, "{before}");
    let second = deploy();
    assert!(second.status.success(), "{}", text(&second));
    assert!(text(&second).contains("unchanged"), "{}", text(&second));
    assert_eq!(revisions(), before, "a second identical deploy wrote a new helm revision");

    // a release of that name (the test file's affix is blah-) made from another chart (upstream's):
    // refused, nothing changed
    let other = Namespace::new("truth-foreign");
    let chart = root().join("tests/fixtures/upstream/chart");
    let made = Command::new(&helm)
        .args(["install", "blah-secrets"])
        .arg(&chart)
        .args(["-n", &other.0, "--set", "component=secrets"])
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", text(&made));
    let objects = || kubectl(&["get", "all,secrets,configmaps", "-n", &other.0, "-o", "name"]);
    let seen = objects();
    let out = run(&["secrets", "deploy", "-f", TEST_SECRETS, "-n", &other.0], &helm);
    assert_eq!(out.status.code(), Some(PREFLIGHT), "{}", text(&out));
    assert!(text(&out).contains("release blah-secrets") && text(&out).contains("--adopt"), "{}", text(&out));
    assert_eq!(objects(), seen, "a refused secrets deploy changed the namespace");
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A git work tree for a site (with `ignore`, the .gitignore `site init` writes), committed.
fn work_tree(ignore: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if ignore {
        let scratch = tempfile::tempdir().unwrap();
        let init = panda_install().arg("site").arg("init").arg(scratch.path()).output().unwrap();
        assert!(init.status.success(), "{}", text(&init));
        std::fs::copy(scratch.path().join(".gitignore"), dir.path().join(".gitignore")).unwrap();
    }
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["-c", "user.name=t", "-c", "user.email=t@t", "add", "-A"]);
    git(
        dir.path(),
        &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "site"],
    );
    dir
}

#[test]
fn secrets_init_and_import_leave_nothing_secret_for_git_and_refuse_where_git_would_track_it() {
    let upstream = root().join("tests/fixtures/upstream");
    let clone = work_tree(true);
    let init = panda_install().current_dir(clone.path()).args(["secrets", "init"]).output().unwrap();
    assert!(init.status.success(), "{}", text(&init));
    assert_eq!(git(clone.path(), &["status", "--porcelain", "--untracked-files=all"]), "", "secrets init");
    std::fs::remove_file(clone.path().join("secrets-values.yaml")).unwrap();
    let import = panda_install()
        .current_dir(clone.path())
        .arg("import")
        .arg(&upstream)
        .args(["--out", "."])
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", text(&import));
    let status = git(clone.path(), &["status", "--porcelain", "--untracked-files=all"]);
    for line in status.lines() {
        let path = &line[3..];
        let bytes = std::fs::read(clone.path().join(path)).unwrap_or_default();
        assert!(!String::from_utf8_lossy(&bytes).contains("CANARY"), "git would add a secret: {path}");
        assert!(!path.contains("secrets-values") && !path.starts_with("secrets/files/"), "{path}");
    }
    assert!(clone.path().join("secrets-values.yaml").is_file());

    // a work tree without the ignore rules: refused, naming the file and the ways out, nothing written
    let bare = work_tree(false);
    let init = panda_install().current_dir(bare.path()).args(["secrets", "init"]).output().unwrap();
    assert_eq!(init.status.code(), Some(TRACKED), "{}", text(&init));
    for needle in ["secrets-values.yaml", "--encrypt", "outside the work tree", ".gitignore"] {
        assert!(text(&init).contains(needle), "{needle}: {}", text(&init));
    }
    let import = panda_install()
        .current_dir(bare.path())
        .arg("import")
        .arg(&upstream)
        .args(["--out", "."])
        .output()
        .unwrap();
    assert_eq!(import.status.code(), Some(TRACKED), "{}", text(&import));
    assert!(text(&import).contains("panda_server_config.json"), "{}", text(&import));
    assert_eq!(
        git(bare.path(), &["status", "--porcelain", "--untracked-files=all"]),
        "",
        "something was written"
    );
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn import_encrypt_writes_the_secrets_sops_encrypted_and_they_decrypt_and_deploy() {
    use crate::sops::{age_key, decrypt, sops};
    testbed();
    let helm = helm4();
    let key = age_key();
    let upstream = root().join("tests/fixtures/upstream");
    let import = |out: &Path, extra: &[&str]| {
        panda_install()
            .env("PANDA_INSTALL_SOPS", sops())
            .env("SOPS_AGE_KEY_FILE", &key.file)
            .arg("import")
            .arg(&upstream)
            .arg("--out")
            .arg(out)
            .args(extra)
            .output()
            .unwrap()
    };
    let plain = tempfile::tempdir().unwrap();
    assert!(import(plain.path(), &[]).status.success());
    let sealed = tempfile::tempdir().unwrap();
    let out = import(sealed.path(), &["--encrypt", "--age", &key.recipient]);
    assert!(out.status.success(), "{}", text(&out));
    let file = sealed.path().join("secrets-values.yaml");
    let on_disk = std::fs::read_to_string(&file).unwrap();
    assert!(on_disk.contains("sops:") && !on_disk.contains("CANARY"), "not encrypted:\n{on_disk}");
    let expected =
        crate::support::yaml(&std::fs::read_to_string(plain.path().join("secrets-values.yaml")).unwrap());
    assert_eq!(decrypt(&file, &key.file), expected, "the encrypted file holds the imported values");
    // a second run keeps the encrypted file (same values): nothing written
    let again = import(sealed.path(), &["--encrypt", "--age", &key.recipient]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 file(s) written"), "{}", text(&again));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), on_disk);
    // it deploys (decrypted in memory)
    let ns = Namespace::new("truth-import");
    let out = panda_install()
        .env("PANDA_INSTALL_SOPS", sops())
        .env("SOPS_AGE_KEY_FILE", &key.file)
        .args(["secrets", "deploy", "-f"])
        .arg(&file)
        .arg("--site")
        .arg(sealed.path())
        .args(["-n", &ns.0, "--helm"])
        .arg(&helm)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let values = secret_values(&ns.0);
    assert!(values.iter().any(|(_, v)| v.contains("CANARY-7c1e-broker")), "the imported values are deployed");
    // and the secrets files the import wrote into the site (read through the staged chart)
    let key = std::fs::read_to_string(upstream.join("secrets/files/panda_certs/hostkey.pem")).unwrap();
    assert!(values.iter().any(|(_, v)| *v == key), "the site's panda_certs/hostkey.pem is not deployed");
}
