//! What the rendered releases need from the cluster, read from the objects `helm template` gives
//! (never from values): claims and their storage classes, CSI volumes, pod templates and their
//! nodeSelectors, Ingresses (class, annotations, TLS Secrets), OpenShift Routes, Gateway API
//! routes with their parentRefs, our own Gateways and Envoy ClientTrafficPolicies. Pure data; the
//! doctor and the install preflight check it against the live cluster.

use crate::error::Result;
use crate::settings::yaml;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The annotation that makes ingress-nginx pass TLS through to the pod.
pub(crate) const SSL_PASSTHROUGH: &str = "nginx.ingress.kubernetes.io/ssl-passthrough";
/// The annotation naming the CA Secret ingress-nginx verifies client certificates with.
pub(crate) const AUTH_TLS_SECRET: &str = "nginx.ingress.kubernetes.io/auth-tls-secret";
const NGINX_PREFIX: &str = "nginx.ingress.kubernetes.io/";
/// The API group of the Gateway API.
pub(crate) const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";

/// Everything the planned releases need, with the release each need comes from.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Requirements {
    /// The namespace of the releases (objects without `metadata.namespace` land there).
    pub(crate) namespace: String,
    pub(crate) claims: Vec<Claim>,
    pub(crate) csi_volumes: Vec<CsiVolume>,
    pub(crate) pods: Vec<PodTemplate>,
    pub(crate) ingresses: Vec<IngressNeed>,
    /// OpenShift Routes (`route.openshift.io/v1`).
    pub(crate) openshift_routes: Vec<Owned>,
    pub(crate) routes: Vec<GatewayRoute>,
    pub(crate) own_gateways: Vec<OwnGateway>,
    pub(crate) backend_tls_policies: Vec<Owned>,
    pub(crate) client_traffic_policies: Vec<Owned>,
}

/// An object of a release, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owned {
    pub(crate) release: String,
    pub(crate) name: String,
}

/// Which storage class a claim asks for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ClaimClass {
    /// No `storageClassName`: the cluster's default class provisions it.
    Default,
    /// `storageClassName: ""`: no class at all, only a pre-provisioned PV without a class binds.
    None,
    Named(String),
}

/// A PersistentVolumeClaim or a StatefulSet's claim template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim {
    pub(crate) release: String,
    /// `PersistentVolumeClaim x`, or `StatefulSet y (claim template z)`.
    pub(crate) subject: String,
    pub(crate) class: ClaimClass,
    /// `spec.volumeName`: bound to a named PV (static), so no class provisions it.
    pub(crate) volume_name: Option<String>,
}

/// A PersistentVolume served by a CSI driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CsiVolume {
    pub(crate) release: String,
    pub(crate) name: String,
    pub(crate) driver: String,
}

/// The pod template of a workload (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PodTemplate {
    pub(crate) release: String,
    /// `StatefulSet/x`.
    pub(crate) workload: String,
    /// `metadata` and `spec` of the pod; a StatefulSet's pod spec has the volumes of its claim
    /// templates added, as its controller adds them to each pod.
    pub(crate) metadata: Value,
    pub(crate) spec: Value,
    pub(crate) node_selector: BTreeMap<String, String>,
}

/// A rendered Ingress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IngressNeed {
    pub(crate) release: String,
    pub(crate) name: String,
    /// `spec.ingressClassName`; `None`: the default IngressClass.
    pub(crate) class: Option<String>,
    pub(crate) annotations: BTreeMap<String, String>,
    pub(crate) tls_secrets: Vec<String>,
    pub(crate) hosts: Vec<String>,
}

impl IngressNeed {
    /// ingress-nginx is asked to pass TLS through (`ssl-passthrough: "true"`).
    pub(crate) fn passthrough(&self) -> bool {
        self.annotations.get(SSL_PASSTHROUGH).is_some_and(|v| v == "true")
    }

    /// The ingress-nginx snippet annotations it carries (`*-snippet`).
    pub(crate) fn snippets(&self) -> Vec<&str> {
        self.annotations
            .keys()
            .filter(|k| k.starts_with(NGINX_PREFIX) && k.ends_with("-snippet"))
            .map(String::as_str)
            .collect()
    }

    /// `namespace/name` (or `name`) of the client-CA Secret, when it names one.
    pub(crate) fn auth_tls_secret(&self) -> Option<&str> {
        self.annotations.get(AUTH_TLS_SECRET).map(String::as_str).filter(|s| !s.is_empty())
    }
}

/// TLSRoute (the client's TLS session reaches the pod) or HTTPRoute (TLS ends at the Gateway).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RouteKind {
    Tls,
    Http,
}

impl RouteKind {
    pub(crate) fn kind(self) -> &'static str {
        match self {
            RouteKind::Tls => "TLSRoute",
            RouteKind::Http => "HTTPRoute",
        }
    }
}

/// A rendered Gateway API route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GatewayRoute {
    pub(crate) release: String,
    pub(crate) kind: RouteKind,
    pub(crate) name: String,
    pub(crate) namespace: String,
    pub(crate) hostnames: Vec<String>,
    pub(crate) parents: Vec<ParentRef>,
}

/// One `parentRefs` entry, with its defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ParentRef {
    /// `group`/`kind` (default `gateway.networking.k8s.io`/`Gateway`).
    pub(crate) group: String,
    pub(crate) kind: String,
    /// The route's namespace when not given.
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) section_name: Option<String>,
    pub(crate) port: Option<i64>,
}

impl ParentRef {
    pub(crate) fn is_gateway(&self) -> bool {
        self.group == GATEWAY_GROUP && self.kind == "Gateway"
    }

    /// `namespace/name`.
    pub(crate) fn gateway(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// A Gateway the charts render themselves (`global.gateway.create`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnGateway {
    pub(crate) release: String,
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) class_name: String,
}

impl Requirements {
    /// Reads the needs of every release's rendered manifest (`(release, manifest)` pairs).
    pub(crate) fn from_manifests(namespace: &str, manifests: &[(String, String)]) -> Result<Requirements> {
        let mut needs = Requirements { namespace: namespace.to_string(), ..Requirements::default() };
        for (release, manifest) in manifests {
            for obj in yaml::parse_stream(manifest, &format!("helm template of {release}"))? {
                needs.add(release, &obj);
            }
        }
        Ok(needs)
    }

    fn add(&mut self, release: &str, obj: &Value) {
        let hook = obj["metadata"]["annotations"]["helm.sh/hook"].as_str().unwrap_or_default();
        if hook.split(',').any(|h| h.trim().starts_with("test")) {
            return; // `helm test` pods are not installed
        }
        let kind = obj["kind"].as_str().unwrap_or_default();
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let namespace = obj["metadata"]["namespace"].as_str().unwrap_or(&self.namespace).to_string();
        let owned = || Owned { release: release.to_string(), name: name.clone() };
        let group = api_version.split_once('/').map_or("", |(g, _)| g);
        match (group, kind) {
            ("", "PersistentVolumeClaim") => {
                self.claims.push(claim(release, format!("PersistentVolumeClaim {name}"), &obj["spec"]))
            }
            ("", "PersistentVolume") => {
                if let Some(driver) = obj["spec"]["csi"]["driver"].as_str() {
                    self.csi_volumes.push(CsiVolume {
                        release: release.to_string(),
                        name,
                        driver: driver.to_string(),
                    });
                }
            }
            ("" | "apps" | "batch", _) => self.add_workload(release, kind, &name, obj),
            ("networking.k8s.io", "Ingress") => self.ingresses.push(ingress(release, &name, obj)),
            ("route.openshift.io", "Route") => self.openshift_routes.push(owned()),
            (GATEWAY_GROUP, "TLSRoute" | "HTTPRoute") => {
                let kind = if kind == "TLSRoute" { RouteKind::Tls } else { RouteKind::Http };
                let parents = obj["spec"]["parentRefs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| parent_ref(p, &namespace))
                    .collect();
                self.routes.push(GatewayRoute {
                    release: release.to_string(),
                    kind,
                    name,
                    namespace,
                    hostnames: strings(&obj["spec"]["hostnames"]),
                    parents,
                });
            }
            (GATEWAY_GROUP, "Gateway") => self.own_gateways.push(OwnGateway {
                release: release.to_string(),
                namespace,
                class_name: obj["spec"]["gatewayClassName"].as_str().unwrap_or_default().to_string(),
                name,
            }),
            (GATEWAY_GROUP, "BackendTLSPolicy") => self.backend_tls_policies.push(owned()),
            ("gateway.envoyproxy.io", "ClientTrafficPolicy") => self.client_traffic_policies.push(owned()),
            _ => {}
        }
    }

    fn add_workload(&mut self, release: &str, kind: &str, name: &str, obj: &Value) {
        let template = match kind {
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => &obj["spec"]["template"],
            "CronJob" => &obj["spec"]["jobTemplate"]["spec"]["template"],
            "Pod" => obj,
            _ => return,
        };
        let mut spec = template["spec"].clone();
        if kind == "StatefulSet" {
            for t in obj["spec"]["volumeClaimTemplates"].as_array().into_iter().flatten() {
                let claim_name = t["metadata"]["name"].as_str().unwrap_or("?");
                let subject = format!("StatefulSet {name} (claim template {claim_name})");
                self.claims.push(claim(release, subject, &t["spec"]));
                add_claim_volume(&mut spec, claim_name, &format!("{claim_name}-{name}-0"));
            }
        }
        let node_selector = template["spec"]["nodeSelector"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), scalar(v))).collect())
            .unwrap_or_default();
        self.pods.push(PodTemplate {
            release: release.to_string(),
            workload: format!("{kind}/{name}"),
            metadata: template["metadata"].clone(),
            spec,
            node_selector,
        });
    }

    /// The exposure modes of the rendered components: `ingress`, `route`, `gateway`.
    pub(crate) fn exposure(&self) -> Vec<&'static str> {
        let mut modes = Vec::new();
        if !self.ingresses.is_empty() {
            modes.push("ingress");
        }
        if !self.openshift_routes.is_empty() {
            modes.push("route");
        }
        if !self.routes.is_empty() || !self.own_gateways.is_empty() {
            modes.push("gateway");
        }
        modes
    }

    /// The distinct nodeSelectors of the pod templates (empty ones left out), each with the
    /// workloads that use it.
    pub(crate) fn node_selectors(&self) -> BTreeMap<BTreeMap<String, String>, Vec<String>> {
        let mut out: BTreeMap<_, Vec<String>> = BTreeMap::new();
        for pod in self.pods.iter().filter(|p| !p.node_selector.is_empty()) {
            out.entry(pod.node_selector.clone()).or_default().push(pod.workload.clone());
        }
        out
    }

    /// The CSI drivers the rendered PVs use, each with its PVs.
    pub(crate) fn csi_drivers(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for v in &self.csi_volumes {
            out.entry(v.driver.clone()).or_default().push(v.name.clone());
        }
        out
    }

    /// The distinct Gateways the routes attach to (`namespace`, `name`), our own excluded.
    pub(crate) fn parent_gateways(&self) -> BTreeSet<(String, String)> {
        self.routes
            .iter()
            .flat_map(|r| r.parents.iter())
            .filter(|p| p.is_gateway())
            .map(|p| (p.namespace.clone(), p.name.clone()))
            .filter(|(ns, name)| !self.own_gateways.iter().any(|g| &g.namespace == ns && &g.name == name))
            .collect()
    }
}

fn claim(release: &str, subject: String, spec: &Value) -> Claim {
    let class = match &spec["storageClassName"] {
        Value::String(s) if s.is_empty() => ClaimClass::None,
        Value::String(s) => ClaimClass::Named(s.clone()),
        _ => ClaimClass::Default,
    };
    let volume_name = spec["volumeName"].as_str().filter(|v| !v.is_empty()).map(String::from);
    Claim { release: release.to_string(), subject, class, volume_name }
}

/// Adds the volume a StatefulSet controller gives its pods for a claim template, unless the
/// template already has a volume of that name.
fn add_claim_volume(spec: &mut Value, volume: &str, claim: &str) {
    let Some(map) = spec.as_object_mut() else { return };
    let volumes = map.entry("volumes").or_insert_with(|| Value::Array(vec![]));
    if let Some(list) = volumes.as_array_mut() {
        if !list.iter().any(|v| v["name"] == volume) {
            list.push(serde_json::json!({"name": volume, "persistentVolumeClaim": {"claimName": claim}}));
        }
    }
}

fn ingress(release: &str, name: &str, obj: &Value) -> IngressNeed {
    let annotations = obj["metadata"]["annotations"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), scalar(v))).collect())
        .unwrap_or_default();
    let spec = &obj["spec"];
    let tls = spec["tls"].as_array().into_iter().flatten();
    IngressNeed {
        release: release.to_string(),
        name: name.to_string(),
        class: spec["ingressClassName"].as_str().map(String::from),
        annotations,
        tls_secrets: tls.filter_map(|t| t["secretName"].as_str().map(String::from)).collect(),
        hosts: spec["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["host"].as_str())
            .map(String::from)
            .collect(),
    }
}

fn parent_ref(p: &Value, route_namespace: &str) -> ParentRef {
    ParentRef {
        group: p["group"].as_str().unwrap_or(GATEWAY_GROUP).to_string(),
        kind: p["kind"].as_str().unwrap_or("Gateway").to_string(),
        namespace: p["namespace"].as_str().unwrap_or(route_namespace).to_string(),
        name: p["name"].as_str().unwrap_or_default().to_string(),
        section_name: p["sectionName"].as_str().map(String::from),
        port: p["port"].as_i64(),
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().filter_map(Value::as_str).map(String::from).collect()
}

/// A label or annotation value as the API server stores it (a string).
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: logs}
spec: {storageClassName: nas, resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: cvmfs-atlas}
spec: {storageClassName: cvmfs, volumeName: ns-r-cvmfs-atlas}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: ns-r-cvmfs-atlas}
spec: {csi: {driver: cvmfs.csi.cern.ch, volumeHandle: x}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  template:
    metadata: {labels: {a: b}}
    spec: {nodeSelector: {disk: ssd, gpu: true}, containers: [{name: c, image: i}]}
  volumeClaimTemplates:
    - metadata: {name: data}
      spec: {resources: {requests: {storage: 1Gi}}}
    - metadata: {name: scratch}
      spec: {storageClassName: ""}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup}
spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: i}]}}}}}
---
apiVersion: v1
kind: Pod
metadata: {name: t, annotations: {helm.sh/hook: test}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  annotations:
    nginx.ingress.kubernetes.io/ssl-passthrough: "true"
    nginx.ingress.kubernetes.io/configuration-snippet: "x"
    nginx.ingress.kubernetes.io/auth-tls-secret: panda/ca
spec:
  ingressClassName: nginx
  tls: [{hosts: [a.example], secretName: web-tls}]
  rules: [{host: a.example}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: server}
spec:
  parentRefs: [{name: gw, namespace: gateway-system, sectionName: tls}, {name: own}]
  hostnames: [a.example]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: own}
spec: {gatewayClassName: envoy}
"#;

    fn needs() -> Requirements {
        Requirements::from_manifests("panda", &[("r".into(), MANIFEST.into())]).unwrap()
    }

    #[test]
    fn claims_with_their_classes() {
        let n = needs();
        let classes: Vec<(&str, &ClaimClass, bool)> =
            n.claims.iter().map(|c| (c.subject.as_str(), &c.class, c.volume_name.is_some())).collect();
        assert_eq!(
            classes,
            vec![
                ("PersistentVolumeClaim logs", &ClaimClass::Named("nas".into()), false),
                ("PersistentVolumeClaim cvmfs-atlas", &ClaimClass::Named("cvmfs".into()), true),
                ("StatefulSet db (claim template data)", &ClaimClass::Default, false),
                ("StatefulSet db (claim template scratch)", &ClaimClass::None, false),
            ]
        );
        assert_eq!(
            n.csi_drivers(),
            BTreeMap::from([("cvmfs.csi.cern.ch".into(), vec!["ns-r-cvmfs-atlas".into()])])
        );
    }

    #[test]
    fn pod_templates_skip_test_hooks_and_read_selectors() {
        let n = needs();
        let workloads: Vec<&str> = n.pods.iter().map(|p| p.workload.as_str()).collect();
        assert_eq!(workloads, vec!["StatefulSet/db", "CronJob/backup"]);
        let selectors = n.node_selectors();
        let only = selectors.keys().next().unwrap();
        assert_eq!(only.get("gpu").map(String::as_str), Some("true"), "non-string label values as strings");
        assert_eq!(selectors.len(), 1);
        let volumes = &n.pods[0].spec["volumes"];
        assert_eq!(
            volumes[0],
            serde_json::json!({"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}})
        );
        assert_eq!(
            volumes.as_array().unwrap().len(),
            2,
            "one volume per claim template, as the controller adds"
        );
    }

    #[test]
    fn ingresses_and_gateway_routes() {
        let n = needs();
        let ing = &n.ingresses[0];
        assert!(ing.passthrough());
        assert_eq!(ing.snippets(), vec!["nginx.ingress.kubernetes.io/configuration-snippet"]);
        assert_eq!(ing.auth_tls_secret(), Some("panda/ca"));
        assert_eq!(
            (ing.class.as_deref(), ing.tls_secrets.clone()),
            (Some("nginx"), vec!["web-tls".to_string()])
        );
        let route = &n.routes[0];
        assert_eq!(route.kind, RouteKind::Tls);
        assert_eq!(route.parents[0].gateway(), "gateway-system/gw");
        assert_eq!(route.parents[0].section_name.as_deref(), Some("tls"));
        assert_eq!(route.parents[1].gateway(), "panda/own", "a parentRef without namespace is the route's");
        assert_eq!(
            n.parent_gateways().into_iter().collect::<Vec<_>>(),
            vec![("gateway-system".to_string(), "gw".to_string())],
            "our own Gateway is not looked up"
        );
        assert_eq!(n.exposure(), vec!["ingress", "gateway"]);
    }
}
