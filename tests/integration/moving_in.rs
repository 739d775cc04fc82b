//! Moving in from upstream panda-k8s (issue 11, docs/moving-in.md): `import` of an upstream-shaped
//! checkout (tests/fixtures/upstream: snake_case secrets values, values-<exp>.yaml files, site files
//! inside the charts) and the adoption of a running upstream deployment on the test bed, installed
//! from tests/fixtures/upstream/chart (upstream's names, labels, selectors and standalone claims)
//! once as bin/install's helm releases and once as plain objects carrying Argo CD's tracking
//! annotation. The dump/restore scripts of migrate-data are proved on loopback by scripts/apptest
//! (testbed/apptest/t_migrate.py); here their Jobs run on the test bed (kwok completes them).

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Instant;

const CANARY: &str = "CANARY-7c1e";

fn fixture() -> PathBuf {
    root().join("tests/fixtures/upstream")
}

/// A new directory for the site the import writes (outside the checkout).
fn site_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn import(out: &Path, extra: &[&str]) -> Output {
    panda_install().arg("import").arg(fixture()).arg("--out").arg(out).args(extra).output().unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Every file below `dir`: relative path -> (content, mode, mtime).
fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let meta = std::fs::metadata(&path).unwrap();
                let rel = path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(
                    rel,
                    (
                        std::fs::read(&path).unwrap(),
                        meta.permissions().mode() & 0o777,
                        meta.modified().unwrap(),
                    ),
                );
            }
        }
    }
    out
}

#[test]
fn import_writes_private_secrets_never_prints_a_value_and_a_second_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let first = import(dir.path(), &[]);
    assert!(first.status.success(), "{}", text(&first));
    let shown = text(&first);
    assert!(!shown.contains(CANARY), "a secret value was printed:\n{shown}");

    let files = snapshot(dir.path());
    let secrets = &files["secrets-values.yaml"];
    assert_eq!(secrets.1, 0o600, "the secrets values file is private");
    assert_eq!(files["secrets/files/panda_certs/hostkey.pem"].1, 0o600);
    let values = yaml(std::str::from_utf8(&secrets.0).unwrap());
    // identities carried over: derived passwords, the Harvester ID, the IAM keystore
    assert_eq!(values["harvester"]["harvesterId"], "test-harvester", "bin/install's deploymentName");
    assert_eq!(values["harvester"]["database"]["rootPassword"], "CANARY-7c1e-harvesterdb-admin");
    assert_eq!(values["iam"]["database"]["rootPassword"], "CANARY-7c1e-iamdb_admin");
    assert_eq!(values["msgsvc"]["basePassword"], "CANARY-7c1e-broker");
    assert!(values["iam"]["keystore"].as_str().unwrap().contains("CANARY-7c1e-keystore-private"));
    for (path, (bytes, _, _)) in &files {
        if !path.starts_with("secrets") {
            let content = String::from_utf8_lossy(bytes);
            assert!(!content.contains(CANARY), "{path} holds a secret value");
        }
    }
    let report = String::from_utf8_lossy(&files["import-report.md"].0).into_owned();
    for needle in [
        "| secrets/values.yaml | `harvester.database.admin_password` |",
        "| secrets/values.yaml | `object_store.host_name` |",
        "| helm/msgsvc/values/values-initcontainer.yaml | `activemq.initContainers` |",
        "| helm/panda/values/values-atlas_testbed.yaml | `server.image.tag` |",
        "| helm/iam/values/values-doma.yaml | `main.persistentvolume` |",
    ] {
        assert!(report.contains(needle), "the report lacks {needle}");
    }
    assert!(
        !files.keys().any(|p| p.starts_with("experiments/initcontainer")),
        "a dead experiment is not written"
    );
    assert!(
        files.contains_key("experiments/doma/idds.yaml")
            && files.contains_key("experiments/doma/files/panda/panda_server_config.json")
    );

    // a second run: byte-identical output, nothing rewritten
    let second = import(dir.path(), &[]);
    assert!(second.status.success(), "{}", text(&second));
    assert!(String::from_utf8_lossy(&second.stdout).contains("0 file(s) written"), "{}", text(&second));
    assert_eq!(snapshot(dir.path()), files, "the second import changed something");

    // deliberate break: an edited output file is neither overwritten nor ignored
    let edited = dir.path().join("experiments/doma/panda.yaml");
    std::fs::write(&edited, "server: {}\n").unwrap();
    let refused = import(dir.path(), &[]);
    assert_eq!(refused.status.code(), Some(65), "{}", text(&refused));
    assert!(text(&refused).contains("experiments/doma/panda.yaml"), "{}", text(&refused));
    assert_eq!(std::fs::read_to_string(&edited).unwrap(), "server: {}\n");
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn imported_values_render_and_pass_the_schemas_for_every_experiment() {
    let project = site_dir();
    let out = import(project.path(), &[]);
    assert!(out.status.success(), "{}", text(&out));
    let experiments: Vec<String> = std::fs::read_dir(project.path().join("experiments"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(experiments.len() >= 7, "{experiments:?}");
    let secrets = project.path().join("secrets-values.yaml");
    for helm in [helm4(), helm3()] {
        for experiment in &experiments {
            let out = panda_install()
                .args(["--template", "-e", experiment, "--site"])
                .arg(project.path())
                .arg("--secrets")
                .arg(&secrets)
                .arg("--helm")
                .arg(&helm)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{experiment} with {}: {}",
                helm.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            let docs = yaml_documents(&String::from_utf8_lossy(&out.stdout));
            assert!(
                docs.iter().any(|d| d["kind"] == "StatefulSet" || d["kind"] == "Deployment"),
                "{experiment}: no workload"
            );
            let twice = claims_named_twice(&docs);
            assert!(twice.is_empty(), "{experiment}: a pod names a claim twice: {twice:?}");
            if experiment == "doma" {
                for (workload, mounts) in [("test-harvester-harvester", 2), ("test-idds-rest", 2)] {
                    assert_eq!(
                        shared_logs_mounts(&docs, workload),
                        (1, mounts),
                        "{workload}: one volume for panda-shared-logs, one mount per setting"
                    );
                }
                let shared = docs.iter().any(|d| {
                    d["kind"] == "StatefulSet"
                        && d["metadata"]["name"] == "test-panda-server"
                        && d["spec"]["template"]["spec"]["volumes"].to_string().contains("panda-shared-logs")
                });
                assert!(shared, "doma's server keeps its logs on the shared claim");
            }
        }
    }
}

/// "<workload>: <claim>" for every pod that names one PVC in two volumes (the CephFS double mount).
fn claims_named_twice(docs: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for d in docs {
        let Some(volumes) = d["spec"]["template"]["spec"]["volumes"].as_array() else { continue };
        let mut seen = std::collections::BTreeSet::new();
        for claim in volumes.iter().filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str()) {
            if !seen.insert(claim) {
                out.push(format!("{}: {claim}", d["metadata"]["name"]));
            }
        }
    }
    out
}

/// (volumes naming panda-shared-logs, container mounts of them) in the pod of `workload`.
fn shared_logs_mounts(docs: &[Value], workload: &str) -> (usize, usize) {
    let pod = &docs
        .iter()
        .find(|d| d["metadata"]["name"] == workload && d["kind"] == "StatefulSet")
        .expect(workload)["spec"]["template"]["spec"];
    let names: Vec<&str> = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["persistentVolumeClaim"]["claimName"] == "panda-shared-logs")
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    let mounts = pod["containers"][0]["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["name"].as_str().is_some_and(|n| names.contains(&n)))
        .count();
    (names.len(), mounts)
}

// ---------------------------------------------------------------------------------------------
// adoption on the test bed

fn install_fixture(ns: &str, release: &str, component: &str, extra: &[&str]) {
    let out = std::process::Command::new(helm4())
        .args(["install", release])
        .arg(fixture().join("chart"))
        .args(["-n", ns, "--wait", "--timeout", "2m", "--set", &format!("component={component}")])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "helm install {release}: {}", String::from_utf8_lossy(&out.stderr));
}

fn apply_as_argo_cd(ns: &str, app: &str, component: &str) {
    let out = std::process::Command::new(helm4())
        .args(["template", app])
        .arg(fixture().join("chart"))
        .args(["-n", ns, "--set", &format!("component={component}"), "--set", &format!("argocdApp={app}")])
        .args(["--set", "sharedLogs=true", "--set", "postgres=false"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifest = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut child = std::process::Command::new("kubectl")
        .args(["apply", "-n", ns, "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(manifest.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
}

/// A marker on a claim: an annotation, and a file in the directory the test bed's hostPath
/// provisioner made for its volume (docs/testbed.md, "Storage").
fn mark(ns: &str, claim: &str) -> PathBuf {
    kubectl(&["annotate", "pvc", claim, "-n", ns, &format!("moving-in.test/marker={claim}")]);
    let volume = kubectl(&["get", "pvc", claim, "-n", ns, "-o", "jsonpath={.spec.volumeName}"]);
    let dir = kubectl(&["get", "pv", volume.trim(), "-o", "jsonpath={.spec.hostPath.path}"]);
    let file = PathBuf::from(dir.trim()).join("marker.txt");
    std::fs::write(&file, claim).unwrap();
    file
}

fn assert_marked(ns: &str, claim: &str, file: &Path) {
    let pvc = json(&["get", "pvc", claim, "-n", ns, "-o", "json"]);
    assert_eq!(pvc["status"]["phase"], "Bound", "{claim}");
    assert_eq!(pvc["metadata"]["annotations"]["moving-in.test/marker"], claim, "{claim}: another claim");
    assert_eq!(pvc["metadata"]["annotations"]["helm.sh/resource-policy"], "keep", "{claim}");
    assert_eq!(std::fs::read_to_string(file).unwrap(), claim, "{claim}: the data on its volume");
}

/// Per upstream role (app.kubernetes.io/name of upstream's workloads, component of ours), the
/// running pods: after the switch each role has the pods of one workload only.
fn running_workloads_by_role(ns: &str) -> BTreeMap<String, Vec<String>> {
    let pods = json(&["get", "pods", "-n", ns, "-o", "json"]);
    let mut roles: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pod in pods["items"].as_array().unwrap() {
        if pod["metadata"]["ownerReferences"][0]["kind"] == "Job" || pod["status"]["phase"] != "Running" {
            continue;
        }
        let labels = &pod["metadata"]["labels"];
        let ours = labels["app.kubernetes.io/part-of"] == "panda";
        let label = |k: &str| labels[k].as_str().unwrap_or_default().to_string();
        let role = if ours {
            format!("{}/{}", label("app.kubernetes.io/name"), label("app.kubernetes.io/component"))
        } else {
            let instance = label("app.kubernetes.io/instance");
            let chart = ["harvester", "idds", "bigmon", "iam", "msgsvc"]
                .into_iter()
                .find(|c| instance.contains(c))
                .unwrap_or("panda");
            format!("{chart}/{}", label("app.kubernetes.io/name"))
        };
        let reference = &pod["metadata"]["ownerReferences"][0];
        let name = reference["name"].as_str().unwrap_or("none");
        let name = if reference["kind"] == "ReplicaSet" {
            name.rsplit_once('-').map_or(name, |(a, _)| a)
        } else {
            name
        };
        let owner = format!("{}{name}", if ours { "" } else { "upstream " });
        let entry = roles.entry(role).or_default();
        if !entry.contains(&owner) {
            entry.push(owner);
        }
    }
    roles
}

fn deploy(project: &Path, ns: &str, extra: &[&str]) -> (Output, f64) {
    let started = Instant::now();
    let out = panda_install()
        .arg("--site")
        .arg(project)
        .arg("--secrets")
        .arg(project.join("secrets-values.yaml"))
        .args(["-n", ns, "--helm"])
        .arg(helm4())
        .args(["--timeout", "2m"])
        .args(extra)
        .output()
        .unwrap();
    (out, started.elapsed().as_secs_f64())
}

fn resource_versions(ns: &str) -> BTreeMap<String, String> {
    let list = json(&[
        "get",
        "deployments,statefulsets,services,persistentvolumeclaims,configmaps",
        "-n",
        ns,
        "-o",
        "json",
    ]);
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                format!("{}/{}", o["kind"].as_str().unwrap(), o["metadata"]["name"].as_str().unwrap()),
                o["metadata"]["resourceVersion"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn a_bin_install_deployment_is_refused_then_adopted_with_its_data() {
    testbed();
    let ns = Namespace::new("movein-bin");
    for c in ["msgsvc", "iam", "panda", "harvester", "idds", "bigmon"] {
        install_fixture(&ns.0, &format!("test-{c}"), c, &[]);
    }
    let markers: Vec<(&str, PathBuf)> = [
        "test-panda-postgres",
        "test-msgsvc-activemq",
        "test-harvester-mariadb",
        "test-harvester-wdirs",
        "test-idds-postgres",
    ]
    .into_iter()
    .map(|c| (c, mark(&ns.0, c)))
    .collect();
    let project = site_dir();
    let out = import(project.path(), &["-e", "dev"]);
    assert!(out.status.success(), "{}", text(&out));

    // the preflight refuses, names every collision and changes nothing
    let before = resource_versions(&ns.0);
    let (refused, _) = deploy(project.path(), &ns.0, &["-e", "dev"]);
    let report = text(&refused);
    assert_eq!(refused.status.code(), Some(75), "{report}");
    for needle in [
        "release test-msgsvc: helm release from chart upstream-fixture-0.1.1",
        "Deployment/test-msgsvc-activemq: helm release test-msgsvc",
        "StatefulSet/test-iam-main (planned: Deployment/test-iam-main)",
        "StatefulSet/test-panda-server: helm release test-panda",
        "StatefulSet/test-panda-jedi: helm release test-panda",
        "Deployment/test-panda-postgres (planned: StatefulSet/test-panda-postgres)",
        "StatefulSet/test-harvester-mariadb: helm release test-harvester",
        "StatefulSet/test-harvester: helm release test-harvester",
        "StatefulSet/test-idds-rest: helm release test-idds",
        "Deployment/test-idds-postgres (planned: StatefulSet/test-idds-postgres)",
        "StatefulSet/test-bigmon-main: helm release test-bigmon",
        "PersistentVolumeClaim/test-panda-postgres",
        "both mount test-panda-postgres",
        "run the same command with --adopt",
    ] {
        assert!(report.contains(needle), "the refusal does not name {needle:?}:\n{report}");
    }
    assert_eq!(resource_versions(&ns.0), before, "the refused run changed something");

    // the procedure of docs/moving-in.md: stop the writers of a copied database, dump it (with
    // upstream's Secret), take over with the databases but without their consumers, restore, then
    // take over the rest
    kubectl(&["scale", "statefulset", "test-harvester", "-n", &ns.0, "--replicas=0"]);
    kubectl(&[
        "create",
        "secret",
        "generic",
        "panda-secrets-harvester-envs",
        "-n",
        &ns.0,
        "--from-literal=MARIADB_ROOT_PASSWORD=CANARY-7c1e-harvesterdb-admin",
    ]);
    migrate(&ns.0, "dump", &["--host", "test-harvester-mariadb", "--secret", "panda-secrets-harvester-envs"]);
    let consumers = ["-e", "dev", "--adopt", "-d", "harvester.harvester,idds.rest,idds.daemon"];
    let (first, first_seconds) = deploy(project.path(), &ns.0, &consumers);
    assert!(first.status.success(), "{}", text(&first));
    migrate(&ns.0, "restore", &[]);
    // the restore Job's pods are a peer the database's rendered NetworkPolicy admits
    let job = json(&["get", "job", "test-migrate-harvester-mariadb-restore", "-n", &ns.0, "-o", "json"]);
    let labels = &job["spec"]["template"]["metadata"]["labels"];
    let policy = json(&["get", "networkpolicy", "test-harvester-mariadb", "-n", &ns.0, "-o", "json"]);
    let admitted = policy["spec"]["ingress"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|rule| rule["from"].as_array().into_iter().flatten())
        .filter_map(|peer| peer["podSelector"]["matchLabels"].as_object())
        .any(|wanted| wanted.iter().all(|(k, v)| &labels[k] == v));
    assert!(admitted, "the restore Job ({labels}) is no peer of {:#}", policy["spec"]["ingress"]);
    let (adopted, seconds) = deploy(project.path(), &ns.0, &["-e", "dev", "--adopt"]);
    assert!(adopted.status.success(), "{}", text(&adopted));
    assert!(
        text(&adopted).contains(
            "StatefulSet/test-idds-rest: release test-idds, from a chart that was not panda-install's"
        ),
        "the old iDDS left under the release's name is replaced: {}",
        text(&adopted)
    );
    eprintln!(
        "moving-in: adoption of the bin/install-style deployment (7 releases): {first_seconds:.1}s without the \
         consumers of copied databases, {seconds:.1}s for the rest"
    );
    for (claim, file) in &markers {
        assert_marked(&ns.0, claim, file);
    }
    let panda = json(&["get", "statefulset", "test-panda-postgres", "-n", &ns.0, "-o", "json"]);
    assert!(panda["spec"]["template"]["spec"]["volumes"]
        .to_string()
        .contains("\"claimName\":\"test-panda-postgres\""));
    let roles = running_workloads_by_role(&ns.0);
    for (role, owners) in &roles {
        assert_eq!(owners.len(), 1, "two workloads run as {role}: {owners:?} ({roles:?})");
        assert!(!owners[0].starts_with("upstream"), "{role} still runs upstream's {owners:?}");
    }
    for (old, kind) in [("test-harvester", "statefulset"), ("test-idds-rest", "statefulset")] {
        let live = json(&["get", kind, old, "-n", &ns.0, "-o", "json"]);
        if old == "test-harvester" {
            assert_eq!(live["spec"]["replicas"], 0, "the old Harvester is kept at 0 replicas");
        } else {
            assert_eq!(
                live["metadata"]["labels"]["app.kubernetes.io/part-of"], "panda",
                "ours replaced the old iDDS"
            );
        }
    }
    assert!(roles.contains_key("harvester/harvester") && roles.contains_key("idds/daemon"), "{roles:?}");
    assert_all_pods_ready(&ns.0);

    // converged: a plain re-run is accepted and changes nothing
    let (again, _) = deploy(project.path(), &ns.0, &["-e", "dev"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(String::from_utf8_lossy(&again.stdout).matches("unchanged").count() >= 7, "{}", text(&again));

    let job = json(&["get", "job", "test-migrate-harvester-mariadb-restore", "-n", &ns.0, "-o", "json"]);
    let env = job["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
    assert!(env.contains("test-secrets-harvester-envs") && !env.contains(CANARY), "{env}");
    let claim = json(&["get", "pvc", "panda-migrate-harvester-mariadb", "-n", &ns.0, "-o", "json"]);
    assert_eq!(claim["metadata"]["annotations"]["helm.sh/resource-policy"], "keep");
}

/// `migrate-data PHASE harvester-mariadb` on the test bed (kwok completes the Job's pod).
fn migrate(ns: &str, phase: &str, extra: &[&str]) {
    let out = panda_install()
        .args(["migrate-data", phase, "harvester-mariadb", "-n", ns, "-a", "test-", "--timeout", "1m"])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "migrate-data {phase}: {}", text(&out));
    assert!(!text(&out).contains(CANARY), "migrate-data printed a secret");
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn argo_cd_objects_are_refused_while_their_application_lives_then_adopted() {
    testbed();
    crate::gitops::application_crd(&crate::gitops::gitops_tools());
    let ns = Namespace::new("movein-argo");
    for (app, component) in [
        ("panda", "panda"),
        ("panda-msgsvc", "msgsvc"),
        ("panda-harvester", "harvester"),
        ("panda-idds", "idds"),
        ("panda-bigmon", "bigmon"),
    ] {
        apply_as_argo_cd(&ns.0, app, component);
    }
    let shared = mark(&ns.0, "panda-shared-logs");
    let broker = mark(&ns.0, "panda-msgsvc-activemq");
    kubectl_apply(&format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: panda-msgsvc\n  namespace: {}\nspec:\n  project: default\n  source: {{repoURL: https://example.org/panda-k8s, path: helm/msgsvc, targetRevision: main}}\n  destination: {{server: https://kubernetes.default.svc, namespace: {}}}\n",
        ns.0, ns.0
    ));
    let project = site_dir();
    let out = import(project.path(), &["-e", "cern,doma,doma-k8s", "--installed-by", "argocd"]);
    assert!(out.status.success(), "{}", text(&out));
    let args = ["-e", "doma", "-a", "panda-"];

    let before = resource_versions(&ns.0);
    let (refused, _) = deploy(project.path(), &ns.0, &[&args[..], &["--adopt"]].concat());
    let report = text(&refused);
    assert_eq!(refused.status.code(), Some(75), "{report}");
    for needle in [
        "Deployment/panda-msgsvc-activemq: Argo CD Application panda-msgsvc (still exists)",
        "refused even with --adopt",
        "Argo CD Application panda-msgsvc still manages it",
        "StatefulSet/panda-harvester-mariadb: Argo CD Application panda-harvester (gone",
        "Service/panda-idds-rest: Argo CD Application panda-idds (gone",
        "StatefulSet/panda-server: Argo CD Application panda (gone",
        "StatefulSet/panda-jedi: Argo CD Application panda (gone",
        "StatefulSet/panda-harvester: Argo CD Application panda-harvester (gone",
    ] {
        assert!(report.contains(needle), "the refusal does not name {needle:?}:\n{report}");
    }
    assert_eq!(resource_versions(&ns.0), before, "the refused run changed something");

    // the Application removed without its resources (it has no finalizer): the takeover runs
    kubectl(&["delete", "application", "panda-msgsvc", "-n", &ns.0]);
    let (adopted, seconds) = deploy(project.path(), &ns.0, &[&args[..], &["--adopt"]].concat());
    assert!(adopted.status.success(), "{}", text(&adopted));
    eprintln!("moving-in: adoption of the Argo CD-style deployment (7 releases) took {seconds:.1}s");
    assert_marked(&ns.0, "panda-shared-logs", &shared);
    assert_marked(&ns.0, "panda-msgsvc-activemq", &broker);
    let pvc = json(&["get", "pvc", "panda-shared-logs", "-n", &ns.0, "-o", "json"]);
    assert!(
        pvc["metadata"]["annotations"].get("argocd.argoproj.io/tracking-id").is_none(),
        "stale tracking removed"
    );
    let service = json(&["get", "service", "panda-idds-rest", "-n", &ns.0, "-o", "json"]);
    assert_eq!(
        service["metadata"]["annotations"]["meta.helm.sh/release-name"], "panda-idds",
        "taken over by helm"
    );
    for old in ["panda-server", "panda-jedi", "panda-harvester"] {
        let sts = json(&["get", "statefulset", old, "-n", &ns.0, "-o", "json"]);
        assert_eq!(sts["spec"]["replicas"], 0, "{old} is scaled to 0");
    }
    let roles = running_workloads_by_role(&ns.0);
    for (role, owners) in &roles {
        assert_eq!(owners.len(), 1, "two workloads run as {role}: {owners:?}");
        assert!(!owners[0].starts_with("upstream"), "{role} still runs upstream's {owners:?}");
    }
    let value: Value = json(&["get", "deployment", "panda-msgsvc-activemq", "-n", &ns.0, "-o", "json"]);
    assert_eq!(value["metadata"]["labels"]["app.kubernetes.io/part-of"], "panda");
}

#[test]
fn migrate_data_dry_run_takes_the_image_given_and_refuses_a_malformed_one() {
    let args = ["migrate-data", "dump", "idds-postgres", "--host", "old-pg", "-n", "ns", "--dry-run"];
    let own = panda_install().args(args).output().unwrap();
    assert!(own.status.success(), "{}", text(&own));
    assert!(text(&own).contains("image: docker.io/library/postgres:16.14"), "{}", text(&own));
    let given = panda_install().args(args).args(["--image", "bed.local/postgres:15"]).output().unwrap();
    assert!(given.status.success(), "{}", text(&given));
    assert!(text(&given).contains("image: bed.local/postgres:15"), "{}", text(&given));
    assert!(!text(&given).contains("docker.io/library/postgres"), "{}", text(&given));
    let bad = panda_install().args(args).args(["--image", "a b"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(64), "{}", text(&bad));
    assert!(text(&bad).contains("--image"), "{}", text(&bad));
}

/// The migrate-data Jobs pull what the charts' database pods pull: an experiment's registry
/// mirror and pull Secrets (global and the sub-chart's own), read by panda-install from the values
/// it layers, equal the database workload helm renders from the same values; the Job's name
/// carries the instance's affix.
#[test]
#[ignore = "needs helm: run scripts/test"]
fn migrate_data_jobs_pull_what_the_charts_database_pods_pull() {
    let helm = helm4();
    let dir = tempfile::tempdir().unwrap();
    let stores = [
        ("harvester-mariadb", "harvester", "mariadb"),
        ("iam-mariadb", "iam", "mariadb"),
        ("idds-postgres", "idds", "postgres"),
    ];
    let mut values = Vec::new();
    for (_, component, sub) in stores {
        let file = dir.path().join(format!("{component}.yaml"));
        std::fs::write(
            &file,
            format!(
                "global:\n  imageRegistryMirrors: {{docker.io: mirror.example.org/hub}}\n  imagePullSecrets: [site-pull]\n\
                 {sub}:\n  imagePullSecrets: [{{name: {sub}-pull}}]\n"
            ),
        )
        .unwrap();
        values.push(format!("{component}={}", file.display()));
    }
    let mut args = vec![
        "--secrets",
        TEST_SECRETS,
        "-n",
        "panda",
        "-a",
        "test-",
        "-e",
        "dev",
        "-c",
        "harvester,iam,idds",
    ];
    for v in &values {
        args.extend(["--values", v.as_str()]);
    }
    let docs = crate::charts::template(&helm, &args);
    for ((store, component, sub), values) in stores.iter().zip(&values) {
        let name = format!("test-{component}-{sub}");
        let workload = docs
            .iter()
            .find(|d| d["kind"] == "StatefulSet" && d["metadata"]["name"] == name.as_str())
            .unwrap_or_else(|| panic!("no StatefulSet {name} rendered"));
        let pod = &workload["spec"]["template"]["spec"];
        assert!(
            pod["containers"][0]["image"].as_str().unwrap().starts_with("mirror.example.org/hub/"),
            "{pod}"
        );
        let out = panda_install()
            .args([
                "migrate-data",
                "restore",
                store,
                "-n",
                "panda",
                "-a",
                "test-",
                "--dry-run",
                "--output",
                "json",
            ])
            .args(["-e", "dev", "--values", values])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
        let job = &printed[0];
        assert_eq!(job["metadata"]["name"], format!("test-migrate-{store}-restore"));
        let spec = &job["spec"]["template"]["spec"];
        assert_eq!(spec["containers"][0]["image"], pod["containers"][0]["image"], "{store}");
        assert_eq!(spec["imagePullSecrets"], pod["imagePullSecrets"], "{store}");
        assert_eq!(spec["imagePullSecrets"][0]["name"], format!("{sub}-pull"), "{spec}");
    }
}
