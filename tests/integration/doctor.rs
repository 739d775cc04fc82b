//! `panda-install doctor` on the test bed: every check has a passing and a failing case, made by
//! creating and removing what it looks for (CSIDrivers and CSINodes, StorageClasses, node labels,
//! Pod Security labels, IngressClasses, a fake ingress-nginx controller and its ConfigMap, Secrets,
//! the Gateway API CRDs, Gateways and routes with their status written through the status
//! subresource: no controller runs on the test bed). Each document is validated against
//! docs/doctor.schema.json. The install preflight's share of the checks is proven by installs it
//! refuses before any helm command that changes anything.
//!
//! The tests change cluster-scoped objects that every doctor run reads (CRDs, CSIDrivers,
//! IngressClasses, controller workloads in all namespaces, node labels, the default class mark), so
//! they hold [`CLUSTER`] and restore what they changed, also when they fail.

use crate::charts::prepare_charts;
use crate::support::{
    helm4, kubectl, kubectl_apply, panda_install, root, testbed, unique_namespace, validate, HelmSpy,
    Namespace, TEST_SECRETS,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};

static CLUSTER: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    CLUSTER.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a doctor test starts from: the test bed, the charts prepared, helm 4, the lock on the
/// cluster (held while the guard lives) and the list of changes to undo.
fn start() -> (PathBuf, MutexGuard<'static, ()>, Restore) {
    testbed();
    let helm = helm4();
    prepare_charts(&helm);
    (helm, serial(), Restore::new())
}

const PREFLIGHT: i32 = 75;

/// kubectl commands run when dropped (in reverse order), whatever happened: the cleanup of
/// cluster-scoped changes.
struct Restore(Vec<Vec<String>>);

impl Restore {
    fn new() -> Restore {
        Restore(Vec::new())
    }

    fn later(&mut self, args: &[&str]) {
        self.0.push(args.iter().map(|s| s.to_string()).collect());
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        for args in self.0.iter().rev() {
            let _ = Command::new("kubectl").args(args).stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
    }
}

/// A namespace with Pod Security `enforce` at `level`, deleted when dropped.
fn namespace(prefix: &str, level: &str) -> Namespace {
    let name = unique_namespace(prefix);
    kubectl(&["create", "namespace", &name]);
    kubectl(&["label", "namespace", &name, &format!("pod-security.kubernetes.io/enforce={level}")]);
    Namespace(name)
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// `kubectl patch ... --subresource=status` with a merge patch.
fn patch_status(resource: &str, ns: Option<&str>, patch: &str) {
    let mut args = vec!["patch", resource, "--subresource=status", "--type=merge", "-p", patch];
    if let Some(ns) = ns {
        args.extend(["-n", ns]);
    }
    kubectl(&args);
}

/// One doctor run, JSON, validated against the schema and checked for consistency.
struct Doctor {
    code: i32,
    doc: Value,
}

fn doctor(ns: &str, args: &[&str]) -> Doctor {
    let out = panda_install()
        .args(["doctor", "-n", ns, "--output", "json", "--helm"])
        .arg(helm4())
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor {args:?} printed no JSON ({e}):\n{stderr}"));
    validate("doctor.schema.json", &doc);
    let code = out.status.code().unwrap();
    let checks = doc["checks"].as_array().unwrap();
    let fails = checks.iter().filter(|c| c["status"] == "fail").count();
    assert_eq!(doc["summary"]["fail"], fails, "{doc:#}");
    assert_eq!(
        doc["summary"]["pass"].as_u64().unwrap() as usize
            + doc["summary"]["warn"].as_u64().unwrap() as usize
            + fails
            + doc["summary"]["skip"].as_u64().unwrap() as usize,
        checks.len()
    );
    assert_eq!(doc["ok"], fails == 0, "{doc:#}");
    assert_eq!(code, if fails == 0 { 0 } else { PREFLIGHT }, "exit code for {fails} failures:\n{stderr}");
    Doctor { code, doc }
}

impl Doctor {
    /// The one result of `id` whose subject is `subject`, else the one whose subject contains it
    /// (any subject when `None`).
    fn one(&self, id: &str, subject: Option<&str>) -> &Value {
        let of_id: Vec<&Value> =
            self.doc["checks"].as_array().unwrap().iter().filter(|c| c["id"] == id).collect();
        let exact: Vec<&Value> =
            of_id.iter().copied().filter(|c| subject.is_some_and(|s| c["subject"] == s)).collect();
        let found: Vec<&Value> = if exact.is_empty() {
            of_id
                .into_iter()
                .filter(|c| subject.is_none_or(|s| c["subject"].as_str().is_some_and(|x| x.contains(s))))
                .collect()
        } else {
            exact
        };
        assert_eq!(found.len(), 1, "expected one {id} result for {subject:?}:\n{:#}", self.doc["checks"]);
        found[0]
    }

    /// Asserts the status of that result and returns it.
    fn expect(&self, id: &str, subject: Option<&str>, status: &str) -> &Value {
        let c = self.one(id, subject);
        assert_eq!(c["status"], status, "{id} {subject:?}:\n{c:#}");
        c
    }

    fn message(&self, id: &str, subject: Option<&str>) -> String {
        self.one(id, subject)["message"].as_str().unwrap().to_string()
    }
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn doctor_pod_security_storage_classes_and_the_preflight() {
    let (helm, _serial, mut restore) = start();
    let id = unique_namespace("doc");
    let dir = tempfile::tempdir().unwrap();
    let class = format!("{id}-class");
    let msgsvc = write(
        dir.path(),
        "msgsvc.yaml",
        &format!(
            "activemq:\n  securityContext:\n    allowPrivilegeEscalation: true\n  data:\n    storageClass: {class}\n"
        ),
    );
    let values = format!("msgsvc={msgsvc}");
    let args = ["-e", "dev", "-c", "msgsvc", "--values", values.as_str()];
    let privileged = namespace("doctor-priv", "privileged");
    let restricted = namespace("doctor-restr", "restricted");

    // the install preflight refuses the missing class before helm changes anything
    let spy = HelmSpy::wrapping(Some(&helm));
    let out =
        crate::support::deploy(&spy.program, &privileged.0, "dev", &["-c", "msgsvc", "--values", &values])
            .output()
            .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(PREFLIGHT), "{stderr}");
    assert!(stderr.contains(&format!("FAIL  storage.namedClasses  StorageClass {class}")), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    let changing: Vec<String> =
        spy.calls().into_iter().filter(|c| c.starts_with("upgrade") || c.starts_with("install")).collect();
    assert!(changing.is_empty(), "a refused install ran {changing:?}");

    // privileged admits the escalating pod; the named class is missing
    let d = doctor(&privileged.0, &args);
    assert_eq!(d.code, PREFLIGHT);
    d.expect("namespace.podSecurity", None, "pass");
    d.expect("storage.namedClasses", Some(&class), "fail");
    assert!(d.message("storage.namedClasses", Some(&class)).contains("would stay Pending"));
    d.expect("cluster.reachable", None, "pass");
    d.expect("kubernetes.version", None, "pass");

    // restricted refuses it and names the workload and the rule
    let d = doctor(&restricted.0, &args);
    let psa = d.expect("namespace.podSecurity", None, "fail");
    assert_eq!(psa["observed"]["enforce"], "restricted", "{psa:#}");
    let violation = &psa["observed"]["violations"][0];
    assert_eq!(violation["workload"], "Deployment/test-msgsvc-activemq", "{psa:#}");
    assert!(violation["message"].as_str().unwrap().contains("allowPrivilegeEscalation"), "{psa:#}");

    // the class created: pass
    restore.later(&["delete", "storageclass", &class, "--ignore-not-found"]);
    kubectl_apply(&format!(
        "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: {class}\nprovisioner: kubernetes.io/host-path\n"
    ));
    let d = doctor(&privileged.0, &args);
    d.expect("storage.namedClasses", Some(&class), "pass");
    kubectl(&["delete", "storageclass", &class]);

    // claims without a class: the test bed's default class; unmarked for one run: fail
    let plain = ["-e", "dev", "-c", "msgsvc"];
    let d = doctor(&privileged.0, &plain);
    let ok = d.expect("storage.defaultClass", None, "pass");
    assert_eq!(ok["observed"]["defaults"], serde_json::json!(["standard"]), "{ok:#}");
    d.expect("storage.namedClasses", None, "skip");
    let mark = "storageclass.kubernetes.io/is-default-class";
    restore.later(&["annotate", "storageclass", "standard", &format!("{mark}=true"), "--overwrite"]);
    kubectl(&["annotate", "storageclass", "standard", &format!("{mark}=false"), "--overwrite"]);
    let d = doctor(&privileged.0, &plain);
    kubectl(&["annotate", "storageclass", "standard", &format!("{mark}=true"), "--overwrite"]);
    d.expect("storage.defaultClass", None, "fail");
    assert!(d.message("storage.defaultClass", None).contains("no StorageClass is marked default"));
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn doctor_cvmfs_csi_driver_created_and_removed() {
    let (_, _serial, mut restore) = start();
    let id = unique_namespace("doc");
    let driver = format!("{id}.csi.example.org");
    let dir = tempfile::tempdir().unwrap();
    let panda = write(
        dir.path(),
        "panda.yaml",
        &format!("server:\n  cvmfs:\n    driver: {driver}\njedi:\n  cvmfs:\n    driver: {driver}\n"),
    );
    let values = format!("panda={panda}");
    let args = ["-e", "atlas_testbed", "-c", "panda", "--values", values.as_str()];
    let ns = namespace("doctor-cvmfs", "baseline");
    let subject = format!("CSIDriver {driver}");

    // the shipped driver: registered on the test bed, but no node runs its plugin
    let d = doctor(&ns.0, &["-e", "atlas_testbed", "-c", "panda"]);
    d.expect("cvmfs.csiDriver", Some("CSIDriver cvmfs.csi.cern.ch"), "warn");
    // StatefulSets whose pods mount their claim templates' volumes are admitted too
    let psa = d.expect("namespace.podSecurity", None, "pass");
    assert!(psa["message"].as_str().unwrap().contains("pod templates are admitted"), "{psa:#}");

    let d = doctor(&ns.0, &args);
    d.expect("cvmfs.csiDriver", Some(&subject), "fail");
    assert!(d.message("cvmfs.csiDriver", Some(&subject)).contains("4 CVMFS volume(s) would never mount"));

    restore.later(&["delete", "csidriver", &driver, "--ignore-not-found"]);
    let csidriver = |modes: &str| {
        format!(
            "apiVersion: storage.k8s.io/v1\nkind: CSIDriver\nmetadata:\n  name: {driver}\nspec:\n  attachRequired: false\n  volumeLifecycleModes: [{modes}]\n"
        )
    };
    kubectl_apply(&csidriver("Ephemeral"));
    let d = doctor(&ns.0, &args);
    d.expect("cvmfs.csiDriver", Some(&subject), "fail");
    assert!(d.message("cvmfs.csiDriver", Some(&subject)).contains("does not serve persistent volumes"));

    kubectl(&["delete", "csidriver", &driver]);
    kubectl_apply(&csidriver("Persistent"));
    d_warns_then_passes(&ns.0, &args, &subject, &driver, &mut restore);

    kubectl(&["delete", "csidriver", &driver]);
    let d = doctor(&ns.0, &args);
    d.expect("cvmfs.csiDriver", Some(&subject), "fail");
}

/// The driver exists: warn until a node's CSINode lists it, then pass.
fn d_warns_then_passes(ns: &str, args: &[&str], subject: &str, driver: &str, restore: &mut Restore) {
    let d = doctor(ns, args);
    d.expect("cvmfs.csiDriver", Some(subject), "warn");
    assert!(d.message("cvmfs.csiDriver", Some(subject)).contains("no node has registered its plugin"));
    let node = "testbed-node-1";
    let existing = Command::new("kubectl").args(["get", "csinode", node]).output().unwrap().status.success();
    assert!(!existing, "kwok nodes have no CSINode; this test would replace one");
    restore.later(&["delete", "csinode", node, "--ignore-not-found"]);
    kubectl_apply(&format!(
        "apiVersion: storage.k8s.io/v1\nkind: CSINode\nmetadata:\n  name: {node}\nspec:\n  drivers:\n    - name: {driver}\n      nodeID: {node}\n"
    ));
    let d = doctor(ns, args);
    d.expect("cvmfs.csiDriver", Some(subject), "pass");
    assert!(d.message("cvmfs.csiDriver", Some(subject)).contains("runs on 1 node(s)"));
    kubectl(&["delete", "csinode", node]);
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn doctor_node_selectors_need_a_labelled_schedulable_node() {
    let (_, _serial, mut restore) = start();
    let key = unique_namespace("doc");
    let dir = tempfile::tempdir().unwrap();
    let msgsvc = write(dir.path(), "msgsvc.yaml", &format!("global:\n  nodeSelector:\n    {key}: \"yes\"\n"));
    let values = format!("msgsvc={msgsvc}");
    let args = ["-e", "dev", "-c", "msgsvc", "--values", values.as_str()];
    let ns = namespace("doctor-nodes", "baseline");
    let subject = format!("nodeSelector {key}=yes");

    let d = doctor(&ns.0, &args);
    let none = d.expect("nodes.selectors", Some(&subject), "fail");
    assert!(
        none["hint"].as_str().unwrap().contains(&format!("kubectl label node NODE {key}=yes")),
        "{none:#}"
    );

    let node = "testbed-node-3";
    restore.later(&["label", "node", node, &format!("{key}-")]);
    kubectl(&["label", "node", node, &format!("{key}=yes")]);
    let d = doctor(&ns.0, &args);
    let ok = d.expect("nodes.selectors", Some(&subject), "pass");
    assert_eq!(ok["observed"]["matching"], serde_json::json!([node]), "{ok:#}");

    restore.later(&["uncordon", node]);
    kubectl(&["cordon", node]);
    let d = doctor(&ns.0, &args);
    kubectl(&["uncordon", node]);
    d.expect("nodes.selectors", Some(&subject), "warn");

    // no nodeSelector at all: nothing to check
    doctor(&ns.0, &["-e", "dev", "-c", "msgsvc"]).expect("nodes.selectors", None, "skip");
}

/// A fake ingress-nginx controller: only its Deployment (pods are kwok's), with these args and,
/// as ingress-nginx's manifests do, `POD_NAMESPACE` from the downward API.
fn controller(ns: &str, args: &[String]) -> String {
    let args: Vec<String> = args.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: fake-ingress-nginx-controller\n  namespace: {ns}\n  labels:\n    app.kubernetes.io/name: ingress-nginx\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: fake-ingress-nginx}}\n  template:\n    metadata:\n      labels: {{app: fake-ingress-nginx}}\n    spec:\n      containers:\n        - name: controller\n          image: registry.k8s.io/ingress-nginx/controller:v1.15.1\n          args: [\"/nginx-ingress-controller\", {}]\n          env: [{{name: POD_NAMESPACE, valueFrom: {{fieldRef: {{fieldPath: metadata.namespace}}}}}}]\n",
        args.join(", ")
    )
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn doctor_ingress_class_controller_flags_secrets_and_addresses() {
    let (_, _serial, mut restore) = start();
    let id = unique_namespace("doc");
    let ns = namespace("doctor-ing", "baseline");
    let ctl = namespace("doctor-ctl", "privileged");
    let dir = tempfile::tempdir().unwrap();
    let panda = write(
        dir.path(),
        "panda.yaml",
        &format!(
            "server:\n  ingress:\n    className: {id}\n    annotations:\n      nginx.ingress.kubernetes.io/configuration-snippet: \"more_set_headers \\\"X-Doctor: 1\\\";\"\n      nginx.ingress.kubernetes.io/auth-tls-secret: {}/{id}-ca\n",
            ns.0
        ),
    );
    let bigmon = write(dir.path(), "bigmon.yaml", &format!("main:\n  ingress:\n    className: {id}\n"));
    let (vp, vb) = (format!("panda={panda}"), format!("bigmon={bigmon}"));
    let args = ["-e", "doma", "-c", "panda,bigmon", "--values", vp.as_str(), "--values", vb.as_str()];
    let class_subject = format!("IngressClass {id}");

    // no IngressClass: no controller serves the Ingresses; the controller checks cannot tell
    let d = doctor(&ns.0, &args);
    d.expect("ingress.class", Some(&class_subject), "fail");
    d.expect("ingress.sslPassthrough", None, "skip");
    assert_eq!(d.doc["exposure"], serde_json::json!(["ingress"]));

    let controller_class = format!("example.org/{id}");
    restore.later(&["delete", "ingressclass", &id, "--ignore-not-found"]);
    kubectl_apply(&format!(
        "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata:\n  name: {id}\nspec:\n  controller: {controller_class}\n"
    ));
    let d = doctor(&ns.0, &args);
    d.expect("ingress.class", Some(&class_subject), "pass");
    d.expect("ingress.sslPassthrough", None, "warn");

    // the controller without --enable-ssl-passthrough, with a ConfigMap that does not exist yet
    let base = vec![
        format!("--controller-class={controller_class}"),
        format!("--configmap={}/fake-nginx", ctl.0),
        "--publish-status-address=192.0.2.10".to_string(),
    ];
    kubectl_apply(&controller(&ctl.0, &base));
    let d = doctor(&ns.0, &args);
    let off = d.expect("ingress.sslPassthrough", Some(&class_subject), "fail");
    assert!(off["message"].as_str().unwrap().contains("runs without --enable-ssl-passthrough"), "{off:#}");
    d.expect("ingress.snippets", Some(&class_subject), "fail");
    let predicted = d.expect("ingress.loadBalancer", Some(&class_subject), "pass");
    assert!(predicted["message"].as_str().unwrap().contains("publishes 192.0.2.10"), "{predicted:#}");

    // snippets allowed at risk level Critical, passthrough on; the ConfigMap named as
    // ingress-nginx's manifests name it, by `$(POD_NAMESPACE)`
    kubectl_apply(&format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fake-nginx\n  namespace: {}\ndata:\n  allow-snippet-annotations: \"true\"\n  annotations-risk-level: Critical\n",
        ctl.0
    ));
    let mut on = base.clone();
    on[1] = "--configmap=$(POD_NAMESPACE)/fake-nginx".into();
    on.push("--enable-ssl-passthrough".into());
    kubectl_apply(&controller(&ctl.0, &on));
    let d = doctor(&ns.0, &args);
    d.expect("ingress.sslPassthrough", Some(&class_subject), "pass");
    d.expect("ingress.snippets", Some(&class_subject), "pass");

    // the terminating Ingresses' TLS Secret and the client-CA Secret: missing, then created
    let tls = "test-secrets-bigmon-tls-certs";
    d.expect("ingress.tlsSecret", Some(tls), "fail");
    d.expect("ingress.authTlsSecret", Some(&format!("{id}-ca")), "fail");
    kubectl_apply(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {tls}\n  namespace: {}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: eA==\n  tls.key: eA==\n",
        ns.0
    ));
    kubectl_apply(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {id}-ca\n  namespace: {}\ndata:\n  ca.crt: eA==\n",
        ns.0
    ));
    let d = doctor(&ns.0, &args);
    d.expect("ingress.tlsSecret", Some(tls), "pass");
    d.expect("ingress.authTlsSecret", Some(&format!("{id}-ca")), "pass");

    // publishing a LoadBalancer Service that has no address yet: no address for the Ingresses
    let mut publish = on.clone();
    publish.retain(|a| !a.starts_with("--publish-status-address"));
    publish.push("--publish-service=$(POD_NAMESPACE)/fake-nginx".into());
    kubectl_apply(&controller(&ctl.0, &publish));
    kubectl_apply(&format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: fake-nginx\n  namespace: {}\nspec:\n  type: LoadBalancer\n  selector: {{app: fake-ingress-nginx}}\n  ports: [{{port: 443}}]\n",
        ctl.0
    ));
    let d = doctor(&ns.0, &args);
    let pending = d.expect("ingress.loadBalancer", Some(&class_subject), "warn");
    let expanded =
        format!("publishes Service {}/fake-nginx (LoadBalancer), which has no external address yet", ctl.0);
    assert!(pending["message"].as_str().unwrap().contains(&expanded), "{pending:#}");

    // deployed Ingresses: the address they have decides; Argo CD's own waits forever without one
    let ingress = |name: &str, annotations: &str| {
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  namespace: {}\n  annotations: {{{annotations}}}\nspec:\n  ingressClassName: {id}\n  defaultBackend:\n    service: {{name: x, port: {{number: 80}}}}\n",
            ns.0
        )
    };
    kubectl_apply(&ingress("test-bigmon-main", ""));
    kubectl_apply(&ingress(
        "test-bigmon-main-condor-logs",
        "argocd.argoproj.io/tracking-id: \"panda:networking.k8s.io/Ingress:x/y\"",
    ));
    let d = doctor(&ns.0, &args);
    d.expect("ingress.loadBalancer", Some("Ingress test-bigmon-main-condor-logs"), "fail");
    let bare = d.expect("ingress.loadBalancer", Some("Ingress test-bigmon-main"), "warn");
    assert!(bare["message"].as_str().unwrap().contains("Argo CD would report it Progressing"), "{bare:#}");
    patch_status(
        "ingress/test-bigmon-main",
        Some(&ns.0),
        r#"{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.20"}]}}}"#,
    );
    patch_status(
        "ingress/test-bigmon-main-condor-logs",
        Some(&ns.0),
        r#"{"status":{"loadBalancer":{"ingress":[{"hostname":"lb.example.org"}]}}}"#,
    );
    let d = doctor(&ns.0, &args);
    d.expect("ingress.loadBalancer", Some("Ingress test-bigmon-main"), "pass");
    d.expect("ingress.loadBalancer", Some("Ingress test-bigmon-main-condor-logs"), "pass");
    drop(ctl);
}

/// The pinned Gateway API CRDs (scripts/tools env: TOOLS_GATEWAY_CRDS).
fn gateway_crds() -> (String, String) {
    let dir = std::env::var("TOOLS_GATEWAY_CRDS")
        .ok()
        .or_else(|| {
            let out = Command::new(root().join("scripts/tools")).arg("env").output().ok()?;
            String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
                l.strip_prefix("export TOOLS_GATEWAY_CRDS=").map(|v| v.trim_matches('"').to_string())
            })
        })
        .expect("TOOLS_GATEWAY_CRDS: run scripts/tools build");
    let (standard, envoy) = (format!("{dir}/standard"), format!("{dir}/envoy"));
    assert!(Path::new(&standard).is_dir(), "{standard} is missing: run scripts/tools build");
    (standard, envoy)
}

fn crds_installed() -> bool {
    Command::new("kubectl")
        .args(["get", "crd", "gateways.gateway.networking.k8s.io"])
        .output()
        .unwrap()
        .status
        .success()
}

fn remove_crds(standard: &str, envoy: &str) {
    kubectl(&["delete", "--ignore-not-found", "--wait=true", "-f", standard, "-f", envoy]);
    for _ in 0..120 {
        if !crds_installed() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    panic!("the Gateway API CRDs are still there 30 s after their deletion");
}

fn apply_crds(standard: &str, envoy: &str) {
    kubectl(&["apply", "--server-side", "-f", standard, "-f", envoy]);
    for crd in ["gateways", "tlsroutes", "httproutes", "backendtlspolicies", "gatewayclasses"] {
        kubectl(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            &format!("crd/{crd}.gateway.networking.k8s.io"),
        ]);
    }
    kubectl(&[
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/clienttrafficpolicies.gateway.envoyproxy.io",
    ]);
}

/// Objects of `kinds` from `panda-install --template` with these arguments, as YAML documents
/// for namespace `ns`.
fn rendered(ns: &str, args: &[&str], kinds: &[&str]) -> Vec<String> {
    let out =
        panda_install().args(["--template", "-n", ns, "--helm"]).arg(helm4()).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    crate::support::yaml_documents(&String::from_utf8_lossy(&out.stdout))
        .into_iter()
        .filter(|d| kinds.iter().any(|k| d["kind"] == *k))
        .map(|mut d| {
            d["metadata"]["namespace"] = Value::String(ns.to_string());
            serde_json::to_string(&d).unwrap()
        })
        .collect()
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn doctor_gateway_crds_gateway_listeners_and_statuses() {
    let (helm, _serial, mut restore) = start();
    let (standard, envoy) = gateway_crds();
    let had_crds = crds_installed();
    if had_crds {
        restore.later(&["apply", "--server-side", "-f", &standard, "-f", &envoy]);
    } else {
        restore.later(&["delete", "--ignore-not-found", "-f", &standard, "-f", &envoy]);
    }
    remove_crds(&standard, &envoy);

    let id = unique_namespace("doc");
    let ns = namespace("doctor-gw", "baseline");
    let gw_ns = namespace("doctor-gws", "baseline");
    let gateway = format!("{id}-gw");
    let dir = tempfile::tempdir().unwrap();
    let gw_values = write(
        dir.path(),
        "gw.yaml",
        &format!(
            "global:\n  exposure: gateway\n  gateway:\n    name: {gateway}\n    namespace: {}\n",
            gw_ns.0
        ),
    );
    let (vp, vb) = (format!("panda={gw_values}"), format!("bigmon={gw_values}"));
    let args = ["-e", "doma", "-c", "panda,bigmon", "--values", vp.as_str(), "--values", vb.as_str()];
    let gateway_subject = format!("Gateway {}/{gateway}", gw_ns.0);

    // no CRDs: doctor fails, and the install preflight refuses before helm changes anything
    let d = doctor(&ns.0, &args);
    d.expect("gateway.crds", Some("tlsroutes.gateway.networking.k8s.io"), "fail");
    d.expect("gateway.exists", None, "skip");
    assert_eq!(d.doc["exposure"], serde_json::json!(["gateway"]));
    let spy = HelmSpy::wrapping(Some(&helm));
    let out = crate::support::deploy(&spy.program, &ns.0, "doma", &args[2..]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(PREFLIGHT), "{stderr}");
    assert!(stderr.contains("FAIL  gateway.crds"), "{stderr}");
    assert!(
        spy.calls().iter().all(|c| !c.starts_with("upgrade")),
        "a refused install ran helm upgrade: {:?}",
        spy.calls()
    );

    // the pinned Standard CRDs: served; no Gateway yet
    apply_crds(&standard, &envoy);
    let d = doctor(&ns.0, &args);
    let crd = d.expect("gateway.crds", Some("tlsroutes.gateway.networking.k8s.io"), "pass");
    assert_eq!(crd["observed"]["channel"], "standard", "{crd:#}");
    d.expect("gateway.exists", Some(&gateway_subject), "fail");

    // a Gateway that terminates TLS only: the HTTPRoutes attach, the TLSRoutes cannot
    let gw = |listeners: &str| {
        format!(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: {gateway}\n  namespace: {}\nspec:\n  gatewayClassName: doctor\n  listeners:\n{listeners}",
            gw_ns.0
        )
    };
    let https = "    - name: https\n      protocol: HTTPS\n      port: 443\n      hostname: \"*.cern.ch\"\n      tls: {certificateRefs: [{name: wildcard}]}\n      allowedRoutes: {namespaces: {from: All}}\n";
    let passthrough = "    - name: tls\n      protocol: TLS\n      port: 443\n      tls: {mode: Passthrough}\n      allowedRoutes: {namespaces: {from: All}}\n";
    kubectl_apply(&gw(https));
    let d = doctor(&ns.0, &args);
    d.expect("gateway.exists", Some(&gateway_subject), "pass");
    d.expect("gateway.listeners", Some("HTTPRoute test-bigmon-main"), "pass");
    let refused = d.expect("gateway.listeners", Some("TLSRoute test-panda-server"), "fail");
    assert!(
        refused["message"].as_str().unwrap().contains("needs protocol TLS with tls.mode Passthrough"),
        "{refused:#}"
    );
    let pending = d.expect("gateway.status", Some(&gateway_subject), "warn");
    assert!(pending["message"].as_str().unwrap().contains("Waiting for controller"), "{pending:#}");
    d.expect("gateway.routes", Some("TLSRoute test-panda-server"), "skip");

    // with a Passthrough listener, and a status as a controller would write it
    kubectl_apply(&gw(&format!("{https}{passthrough}")));
    let d = doctor(&ns.0, &args);
    d.expect("gateway.listeners", Some("TLSRoute test-panda-server"), "pass");
    let generation =
        kubectl(&["get", "gateway", &gateway, "-n", &gw_ns.0, "-o", "jsonpath={.metadata.generation}"]);
    let cond = |t: &str, s: &str| {
        format!(
            r#"{{"type":"{t}","status":"{s}","reason":"{t}","message":"by the test","observedGeneration":{generation},"lastTransitionTime":"2026-01-01T00:00:00Z"}}"#
        )
    };
    let listener = |name: &str, refs: &str| {
        format!(
            r#"{{"name":"{name}","attachedRoutes":1,"supportedKinds":[],"conditions":[{},{},{}]}}"#,
            cond("Accepted", "True"),
            cond("Programmed", "True"),
            cond("ResolvedRefs", refs)
        )
    };
    let status = |programmed: &str, refs: &str| {
        format!(
            r#"{{"status":{{"conditions":[{},{}],"listeners":[{},{}]}}}}"#,
            cond("Accepted", "True"),
            cond("Programmed", programmed),
            listener("https", "True"),
            listener("tls", refs)
        )
    };
    patch_status(&format!("gateway/{gateway}"), Some(&gw_ns.0), &status("True", "True"));
    let d = doctor(&ns.0, &args);
    d.expect("gateway.status", Some(&gateway_subject), "pass");
    patch_status(&format!("gateway/{gateway}"), Some(&gw_ns.0), &status("True", "False"));
    let d = doctor(&ns.0, &args);
    let broken = d.expect("gateway.status", Some(&gateway_subject), "fail");
    assert!(broken["message"].as_str().unwrap().contains("listener tls ResolvedRefs=False"), "{broken:#}");

    // deployed routes (applied as rendered): their parents' status decides
    for doc in rendered(&ns.0, &args, &["TLSRoute"]) {
        kubectl_apply(&doc);
    }
    let d = doctor(&ns.0, &args);
    d.expect("gateway.routes", Some("TLSRoute test-panda-server"), "warn");
    let parent = |accepted: &str| {
        format!(
            r#"{{"status":{{"parents":[{{"parentRef":{{"group":"gateway.networking.k8s.io","kind":"Gateway","name":"{gateway}","namespace":"{}"}},"controllerName":"example.org/doctor","conditions":[{},{}]}}]}}}}"#,
            gw_ns.0,
            cond("Accepted", accepted),
            cond("ResolvedRefs", "True")
        )
    };
    patch_status("tlsroute/test-panda-server", Some(&ns.0), &parent("True"));
    let d = doctor(&ns.0, &args);
    d.expect("gateway.routes", Some("TLSRoute test-panda-server"), "pass");
    patch_status("tlsroute/test-panda-server", Some(&ns.0), &parent("False"));
    let d = doctor(&ns.0, &args);
    d.expect("gateway.routes", Some("TLSRoute test-panda-server"), "fail");

    // Gateways of our own: their class, and an Envoy ClientTrafficPolicy once deployed
    let class = format!("{id}-class");
    let own = write(
        dir.path(),
        "own.yaml",
        &format!("global:\n  exposure: gateway\n  gateway:\n    create: true\n    className: {class}\n"),
    );
    let own_bigmon = write(
        dir.path(),
        "own-bigmon.yaml",
        &format!(
            "global:\n  exposure: gateway\n  gateway:\n    create: true\n    className: {class}\nmain:\n  gateway:\n    envoyClientTrafficPolicy: true\n"
        ),
    );
    let (op, ob) = (format!("panda={own}"), format!("bigmon={own_bigmon}"));
    let own_args = ["-e", "doma", "-c", "panda,bigmon", "--values", op.as_str(), "--values", ob.as_str()];
    let class_subject = format!("GatewayClass {class}");
    let d = doctor(&ns.0, &own_args);
    d.expect("gateway.class", Some(&class_subject), "fail");
    d.expect("gateway.exists", None, "skip");
    d.expect("gateway.clientTrafficPolicy", Some("test-bigmon-main-client-cert"), "skip");
    restore.later(&["delete", "gatewayclass", &class, "--ignore-not-found"]);
    kubectl_apply(&format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata:\n  name: {class}\nspec:\n  controllerName: example.org/doctor\n"
    ));
    let d = doctor(&ns.0, &own_args);
    d.expect("gateway.class", Some(&class_subject), "warn");
    patch_status(
        &format!("gatewayclass/{class}"),
        None,
        &format!(r#"{{"status":{{"conditions":[{}]}}}}"#, cond("Accepted", "True")),
    );
    let d = doctor(&ns.0, &own_args);
    d.expect("gateway.class", Some(&class_subject), "pass");

    for doc in rendered(&ns.0, &own_args, &["ClientTrafficPolicy"]) {
        kubectl_apply(&doc);
    }
    let policy = "ClientTrafficPolicy test-bigmon-main-client-cert";
    let d = doctor(&ns.0, &own_args);
    d.expect("gateway.clientTrafficPolicy", Some(policy), "warn");
    let ancestors = |conditions: &str| {
        format!(
            r#"{{"status":{{"ancestors":[{{"ancestorRef":{{"group":"gateway.networking.k8s.io","kind":"Gateway","name":"test-bigmon-main-gateway"}},"controllerName":"gateway.envoyproxy.io/gatewayclass-controller","conditions":[{conditions}]}}]}}}}"#
        )
    };
    let ctp = "clienttrafficpolicy.gateway.envoyproxy.io/test-bigmon-main-client-cert";
    patch_status(ctp, Some(&ns.0), &ancestors(&cond("Accepted", "True")));
    let d = doctor(&ns.0, &own_args);
    d.expect("gateway.clientTrafficPolicy", Some(policy), "pass");
    patch_status(
        ctp,
        Some(&ns.0),
        &ancestors(&format!("{},{}", cond("Accepted", "True"), cond("Conflicted", "True"))),
    );
    let d = doctor(&ns.0, &own_args);
    d.expect("gateway.clientTrafficPolicy", Some(policy), "fail");
    drop(restore);
}

/// A plain-HTTP API server stand-in that answers `/version` with `git_version` and 404 to every
/// other path, until dropped.
struct FakeApiServer {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeApiServer {
    fn start(git_version: &str) -> FakeApiServer {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (flag, version) = (stop.clone(), git_version.to_string());
        let thread = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                };
                let _ = conn.set_nonblocking(false);
                let mut buf = [0u8; 8192];
                let n = conn.read(&mut buf).unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]);
                let path = request.split_whitespace().nth(1).unwrap_or("/");
                let (status, body) = if path == "/version" {
                    (
                        "200 OK",
                        format!(
                            r#"{{"major":"1","minor":"26","gitVersion":"{version}","platform":"linux/amd64"}}"#
                        ),
                    )
                } else {
                    ("404 Not Found", r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"not here"}"#.to_string())
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        FakeApiServer { port, stop, thread: Some(thread) }
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn doctor_version_route_api_secrets_release_and_text_output() {
    let (helm, _serial, mut restore) = start();
    let ns = namespace("doctor-misc", "baseline");
    let msgsvc = ["-e", "dev", "-c", "msgsvc"];

    // an API server older than the charts support (a stand-in: the test bed is one version)
    let old = FakeApiServer::start("v1.26.15");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write(
        dir.path(),
        "old.kubeconfig",
        &format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: old\n  cluster:\n    server: http://127.0.0.1:{}\ncontexts:\n- name: old\n  context:\n    cluster: old\n    user: nobody\ncurrent-context: old\nusers:\n- name: nobody\n  user: {{}}\n",
            old.port
        ),
    );
    let d = doctor(&ns.0, &[&msgsvc[..], &["--kubeconfig", &kubeconfig]].concat());
    d.expect("cluster.reachable", None, "pass");
    let v = d.expect("kubernetes.version", None, "fail");
    assert!(v["message"].as_str().unwrap().contains("older than 1.27"), "{v:#}");
    // records this server will not list stop neither the doctor nor pass for "not installed"
    let records = d.expect("secrets.release", Some("release test-secrets"), "fail");
    assert!(
        records["message"].as_str().unwrap().contains("cannot list helm's release records"),
        "{records:#}"
    );
    drop(old);

    // unreachable: cluster.reachable fails and everything else is skipped
    let dead = write(
        dir.path(),
        "dead.kubeconfig",
        "apiVersion: v1\nkind: Config\nclusters:\n- name: dead\n  cluster:\n    server: https://127.0.0.1:9\n    insecure-skip-tls-verify: true\ncontexts:\n- name: dead\n  context:\n    cluster: dead\n    user: nobody\ncurrent-context: dead\nusers:\n- name: nobody\n  user:\n    token: x\n",
    );
    let d = doctor(&ns.0, &[&msgsvc[..], &["--kubeconfig", &dead]].concat());
    d.expect("cluster.reachable", None, "fail");
    let checks = d.doc["checks"].as_array().unwrap();
    assert!(checks.iter().skip(1).all(|c| c["status"] == "skip"), "{checks:#?}");

    // the secrets release: missing, deployed with FIXME left, complete
    let d = doctor(&ns.0, &msgsvc);
    let missing = d.expect("secrets.release", Some("release test-secrets"), "fail");
    assert!(missing["message"].as_str().unwrap().contains("is not installed"), "{missing:#}");
    let secrets_chart = root().join("secrets");
    let helm_secrets = |extra: &[&str]| {
        let status = Command::new(&helm)
            .args(["upgrade", "--install", "test-secrets"])
            .arg(&secrets_chart)
            .args(["-n", &ns.0, "--set-string", "affix=test-"])
            .args(extra)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    };
    // (the chart's schema refuses FIXME: only a deployment that skipped it leaves one behind)
    helm_secrets(&["--skip-schema-validation"]);
    let d = doctor(&ns.0, &msgsvc);
    let fixme = d.expect("secrets.release", None, "fail");
    assert!(fixme["message"].as_str().unwrap().contains("still has FIXME"), "{fixme:#}");
    let test_values = root().join(TEST_SECRETS);
    helm_secrets(&["-f", test_values.to_str().unwrap()]);
    let d = doctor(&ns.0, &msgsvc);
    d.expect("secrets.release", None, "pass");
    // --secrets FILE: the file is what the install would deploy
    let d = doctor(&ns.0, &[&msgsvc[..], &["--secrets", "secrets/values.yaml"]].concat());
    d.expect("secrets.release", None, "fail");
    let d = doctor(&ns.0, &[&msgsvc[..], &["--secrets", TEST_SECRETS]].concat());
    d.expect("secrets.release", None, "pass");

    // OpenShift Routes (sphenix): not served on plain Kubernetes; served once the group exists
    let sphenix = ["-e", "sphenix", "-c", "bigmon"];
    let d = doctor(&ns.0, &sphenix);
    d.expect("route.api", Some("route.openshift.io/v1"), "fail");
    restore.later(&["delete", "crd", "routes.route.openshift.io", "--ignore-not-found"]);
    kubectl_apply(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: routes.route.openshift.io\nspec:\n  group: route.openshift.io\n  names: {kind: Route, plural: routes, singular: route}\n  scope: Namespaced\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}\n",
    );
    kubectl(&["wait", "--for=condition=Established", "--timeout=60s", "crd/routes.route.openshift.io"]);
    let mut served = false;
    for _ in 0..40 {
        // discovery catches up with a new group within a moment
        let d = doctor(&ns.0, &sphenix);
        if d.one("route.api", None)["status"] == "pass" {
            served = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    assert!(served, "route.api never passed once routes.route.openshift.io was served");
    kubectl(&["delete", "crd", "routes.route.openshift.io"]);

    // the human form: one line per result, the hint under failures, a summary, the same exit code
    let out = panda_install()
        .args(["doctor", "-n", &ns.0, "--helm"])
        .arg(&helm)
        .args(["-e", "dev", "-c", "msgsvc", "--values"])
        .arg(format!(
            "msgsvc={}",
            write(dir.path(), "m.yaml", "activemq:\n  data:\n    storageClass: doctor-nope\n")
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(PREFLIGHT), "{text}");
    assert!(text.starts_with("PASS  cluster.reachable  API server v"), "{text}");
    assert!(
        text.contains("FAIL  storage.namedClasses  StorageClass doctor-nope: does not exist")
            && text.contains("\n      fix: create StorageClass doctor-nope"),
        "{text}"
    );
    let summary = text.lines().last().unwrap();
    assert!(summary.contains(" 1 fail,") && summary.ends_with("(failed: storage.namedClasses)"), "{text}");
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn install_preflight_checks_only_the_releases_it_applies() {
    testbed();
    let helm = helm4();
    prepare_charts(&helm);
    let ns = namespace("doctor-apply", "privileged");
    let dir = tempfile::tempdir().unwrap();
    let msgsvc = write(
        dir.path(),
        "msgsvc.yaml",
        "activemq:\n  securityContext:\n    allowPrivilegeEscalation: true\n",
    );
    let values = format!("msgsvc={msgsvc}");
    let install = |extra: &[&str]| {
        let out = crate::support::deploy(
            &helm,
            &ns.0,
            "dev",
            &[&["-c", "msgsvc", "--values", &values][..], extra].concat(),
        )
        .output()
        .unwrap();
        (
            out.status.code(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    };
    let (code, log) = install(&[]);
    assert_eq!(code, Some(0), "{log}");

    // the namespace now enforces restricted, which the escalating pod violates
    kubectl(&["label", "namespace", &ns.0, "pod-security.kubernetes.io/enforce=restricted", "--overwrite"]);
    // a re-run that applies nothing needs nothing new: no check, no failure
    let (code, log) = install(&[]);
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("unchanged") && !log.contains("namespace.podSecurity"), "{log}");
    // one that upgrades the release is refused before helm runs
    let (code, log) = install(&["--force-upgrade"]);
    assert_eq!(code, Some(PREFLIGHT), "{log}");
    assert!(
        log.contains("FAIL  namespace.podSecurity") && log.contains("Deployment/test-msgsvc-activemq"),
        "{log}"
    );
    let revisions =
        kubectl(&["get", "secrets", "-n", &ns.0, "-l", "owner=helm,name=test-msgsvc", "-o", "name"]);
    assert_eq!(revisions.lines().count(), 1, "the refused run made a new revision:\n{revisions}");
}

/// Without -a, doctor checks the instance deployed in the namespace (as status and diff do), and
/// before the first deployment the affix an install would use; two instances make the user choose.
#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn doctor_checks_the_instance_deployed_in_the_namespace() {
    testbed();
    let helm = helm4();
    prepare_charts(&helm);
    let ns = namespace("doctor-instance", "baseline");
    let msgsvc = ["-e", "dev", "-c", "msgsvc"];
    let d = doctor(&ns.0, &msgsvc);
    d.expect("secrets.release", Some("release test-secrets"), "fail");
    let deploy_secrets = |affix: &str| {
        let status = Command::new(&helm)
            .args(["upgrade", "--install", &format!("{affix}secrets")])
            .arg(root().join("secrets"))
            .args(["-n", &ns.0, "-f"])
            .arg(root().join(TEST_SECRETS))
            .args(["--set-string", &format!("affix={affix}")])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    };
    deploy_secrets("found-");
    let d = doctor(&ns.0, &msgsvc);
    d.expect("secrets.release", Some("release found-secrets"), "pass");
    deploy_secrets("other-");
    let out =
        panda_install().args(["doctor", "-n", &ns.0]).args(msgsvc).arg("--helm").arg(&helm).output().unwrap();
    assert_eq!(out.status.code(), Some(64), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("several instances"));
    let d = doctor(&ns.0, &[&msgsvc[..], &["-a", "other-"]].concat());
    d.expect("secrets.release", Some("release other-secrets"), "pass");
}
