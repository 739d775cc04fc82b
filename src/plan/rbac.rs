//! The least privileges panda-install needs, as RBAC objects (`panda-install rbac`): a Role for the
//! commands that change the namespace (install, uninstall, recover, secrets deploy, migrate-data),
//! a read-only Role for status, diff and doctor, and two optional ClusterRoles: the cluster-scoped
//! reads of the prerequisite checks (without them those checks are `unknown` and the install
//! preflight warns) and the cluster-scoped objects some experiments render (CVMFS
//! PersistentVolumes, node-recovery's ClusterRole). Pure data; the kinds come from what the charts
//! render (a test renders every experiment against them) and from panda-install's own requests.

use serde_json::{json, Value};

/// One RBAC rule: API group, resources, verbs.
pub(crate) struct Rule {
    pub(crate) group: &'static str,
    pub(crate) resources: &'static [&'static str],
    pub(crate) verbs: &'static [&'static str],
}

const WRITE: &[&str] = &["get", "list", "watch", "create", "update", "patch", "delete"];
const READ: &[&str] = &["get", "list", "watch"];

/// What the charts render into the namespace (helm creates, updates, deletes and waits for them;
/// panda-install compares them with a server-side dry-run apply, which is a `patch`).
const CHART_KINDS: &[(&str, &[&str])] = &[
    ("", &["configmaps", "secrets", "services", "serviceaccounts", "persistentvolumeclaims", "pods"]),
    ("apps", &["deployments", "statefulsets"]),
    ("batch", &["jobs", "cronjobs"]),
    ("networking.k8s.io", &["networkpolicies", "ingresses"]),
    ("policy", &["poddisruptionbudgets"]),
    ("rbac.authorization.k8s.io", &["roles", "rolebindings"]),
    ("route.openshift.io", &["routes", "routes/custom-host"]),
    ("gateway.networking.k8s.io", &["gateways", "httproutes", "tlsroutes", "backendtlspolicies"]),
    ("gateway.envoyproxy.io", &["clienttrafficpolicies"]),
];

/// panda-install's own requests in the namespace besides the chart kinds.
const OWN: &[Rule] = &[
    // the namespace lock
    Rule {
        group: "coordination.k8s.io",
        resources: &["leases"],
        verbs: &["get", "create", "update", "delete"],
    },
    // the namespace itself (exists? its Pod Security labels)
    Rule { group: "", resources: &["namespaces"], verbs: &["get"] },
    // failure reports, migrate-data's Job log
    Rule { group: "", resources: &["events", "pods/log"], verbs: &["get", "list", "watch"] },
    Rule { group: "events.k8s.io", resources: &["events"], verbs: &["get", "list", "watch"] },
    // uninstall --delete-data
    Rule { group: "", resources: &["persistentvolumeclaims"], verbs: &["deletecollection"] },
    // adoption: what an orphaned Deployment left
    Rule { group: "apps", resources: &["replicasets"], verbs: &["get", "list", "watch", "delete"] },
    // adoption: a workload of a planned name may be of any workload kind
    Rule { group: "apps", resources: &["daemonsets"], verbs: READ },
    // the Role of Harvester's health monitor grants events create; RBAC lets only a holder grant it
    Rule { group: "", resources: &["events"], verbs: &["create"] },
];

/// Cluster-scoped reads of the prerequisite checks (optional).
const CLUSTER_READS: &[Rule] = &[
    Rule { group: "storage.k8s.io", resources: &["storageclasses", "csidrivers"], verbs: READ },
    Rule { group: "", resources: &["persistentvolumes", "nodes"], verbs: READ },
    Rule { group: "apiextensions.k8s.io", resources: &["customresourcedefinitions"], verbs: READ },
    Rule { group: "networking.k8s.io", resources: &["ingressclasses"], verbs: READ },
    Rule { group: "gateway.networking.k8s.io", resources: &["gatewayclasses", "gateways"], verbs: READ },
    // doctor's ingress-controller checks read the controller's Deployment, Service and ConfigMap
    Rule { group: "apps", resources: &["deployments", "daemonsets"], verbs: READ },
    Rule { group: "", resources: &["services", "configmaps"], verbs: READ },
    // adoption, only when an object carries an Argo CD tracking annotation
    Rule { group: "argoproj.io", resources: &["applications"], verbs: READ },
];

/// Cluster-scoped objects some experiments render (optional: only for those).
const CLUSTER_OBJECTS: &[Rule] = &[
    Rule { group: "", resources: &["persistentvolumes"], verbs: WRITE },
    Rule {
        group: "rbac.authorization.k8s.io",
        resources: &["clusterroles", "clusterrolebindings"],
        verbs: WRITE,
    },
    Rule { group: "", resources: &["nodes"], verbs: READ },
];

fn rules(list: &[Rule]) -> Vec<Value> {
    list.iter().map(|r| json!({"apiGroups": [r.group], "resources": r.resources, "verbs": r.verbs})).collect()
}

fn chart_rules(verbs: &'static [&'static str]) -> Vec<Rule> {
    CHART_KINDS.iter().map(|(group, resources)| Rule { group, resources, verbs }).collect()
}

pub(crate) const DEPLOYER: &str = "panda-install-deployer";
pub(crate) const VIEWER: &str = "panda-install-viewer";
pub(crate) const CLUSTER_READER: &str = "panda-install-cluster-reads";
pub(crate) const CLUSTER_WRITER: &str = "panda-install-cluster-objects";

/// The objects to apply: the two Roles in `namespace`, the two ClusterRoles, and with
/// `account` (a ServiceAccount of `namespace`) the bindings of the deployer Role and the
/// cluster reads to it.
pub(crate) fn objects(namespace: &str, account: Option<&str>) -> Vec<Value> {
    let meta = |name: &str, ns: Option<&str>, what: &str| {
        let mut m = json!({"name": name, "labels": {"app.kubernetes.io/managed-by": "panda-install"},
            "annotations": {"panda-install/purpose": what}});
        if let Some(ns) = ns {
            m["namespace"] = json!(ns);
        }
        m
    };
    let mut deployer = rules(&chart_rules(WRITE));
    deployer.extend(rules(OWN));
    let mut viewer = rules(&chart_rules(READ));
    viewer.extend(rules(&[
        Rule { group: "coordination.k8s.io", resources: &["leases"], verbs: READ },
        Rule { group: "", resources: &["namespaces"], verbs: &["get"] },
        Rule { group: "", resources: &["events"], verbs: READ },
        Rule { group: "events.k8s.io", resources: &["events"], verbs: READ },
    ]));
    let mut out = vec![
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": meta(DEPLOYER, Some(namespace), "install, uninstall, recover, secrets deploy, migrate-data"),
            "rules": deployer}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": meta(VIEWER, Some(namespace), "status, diff (add patch for the server-side dry-run comparison), doctor"),
            "rules": viewer}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": meta(CLUSTER_READER, None, "optional: the prerequisite checks' cluster-scoped reads"),
            "rules": rules(CLUSTER_READS)}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": meta(CLUSTER_WRITER, None, "optional: experiments that render PersistentVolumes or node-recovery"),
            "rules": rules(CLUSTER_OBJECTS)}),
    ];
    if let Some(account) = account {
        let subject = json!([{"kind": "ServiceAccount", "name": account, "namespace": namespace}]);
        out.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": meta(&format!("{DEPLOYER}-{account}"), Some(namespace), "binds the deployer Role"),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": DEPLOYER},
            "subjects": subject}));
        out.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": meta(&format!("{CLUSTER_READER}-{namespace}-{account}"), None, "optional: binds the cluster reads"),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": CLUSTER_READER},
            "subjects": subject}));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `group/resource` the deployer Role grants `verb` on (for tests and checks).
    fn deployer_grants(verb: &str) -> Vec<String> {
        chart_rules(WRITE)
            .iter()
            .chain(OWN)
            .filter(|r| r.verbs.contains(&verb))
            .flat_map(|r| r.resources.iter().map(move |res| format!("{}/{res}", r.group)))
            .collect()
    }

    #[test]
    fn the_roles_grant_what_the_code_requests_and_the_viewer_reads_only() {
        let objs = objects("panda", Some("ci"));
        assert_eq!(objs.len(), 6);
        let grants = deployer_grants("patch");
        for needed in ["apps/statefulsets", "/secrets", "networking.k8s.io/networkpolicies", "batch/jobs"] {
            assert!(grants.contains(&needed.to_string()), "{needed}: {grants:?}");
        }
        assert!(deployer_grants("update").contains(&"coordination.k8s.io/leases".to_string()));
        assert!(deployer_grants("get").contains(&"apps/daemonsets".to_string()));
        // what the charts' own Roles grant (helm/harvester: health monitor; helm/panda: node recovery)
        assert!(deployer_grants("create").contains(&"/events".to_string()));
        assert!(deployer_grants("delete").contains(&"/pods".to_string()));
        let viewer = &objs[1];
        for rule in viewer["rules"].as_array().unwrap() {
            for verb in rule["verbs"].as_array().unwrap() {
                assert!(["get", "list", "watch"].contains(&verb.as_str().unwrap()), "{rule}");
            }
        }
        assert_eq!(objs[4]["subjects"][0]["namespace"], "panda");
        assert!(objects("panda", None).iter().all(|o| !o["kind"].as_str().unwrap().ends_with("Binding")));
    }
}
