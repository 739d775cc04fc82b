//! The API reads of the doctor and the install preflight: what the cluster offers that the
//! rendered releases need (server version, namespace labels, a dry-run of each pod template,
//! StorageClasses, PVs, CSI drivers and their node registrations, nodes, IngressClasses, the
//! ingress-nginx controller workloads and their ConfigMap, Secrets' shape, Services, API groups,
//! CRDs and Gateway API objects). Each returns a typed answer or an error naming what could not
//! be read; never an empty answer in place of an unreadable one. Secret data is never kept.

use super::expansion::{command_line, PodMeta};
use super::{failed, Cluster};
use crate::error::{Error, Result};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, PersistentVolume, Secret, Service};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use k8s_openapi::api::storage::v1::{CSIDriver, CSINode, StorageClass};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use kube::core::ApiResource;
use serde_json::Value;
use std::collections::BTreeMap;

/// `/version` of the API server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerVersion {
    pub(crate) git_version: String,
    /// (major, minor), read from `gitVersion` (`v1.36.3`), else from `major`/`minor` (`27+`).
    pub(crate) minor: Option<(u32, u32)>,
}

/// How the API server judged a dry-run Pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Admission {
    Admitted,
    /// Refused (403/422): the server's message.
    Refused(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StorageClassInfo {
    pub(crate) name: String,
    pub(crate) default: bool,
    pub(crate) provisioner: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VolumeInfo {
    pub(crate) name: String,
    /// `spec.storageClassName` ("" when none).
    pub(crate) class: String,
    /// `status.phase` (`Available`, `Bound`, ...).
    pub(crate) phase: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CsiDriverInfo {
    /// `spec.volumeLifecycleModes` (empty: the default, Persistent).
    pub(crate) lifecycle_modes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeInfo {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) unschedulable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IngressClassInfo {
    pub(crate) name: String,
    pub(crate) controller: String,
    pub(crate) default: bool,
}

/// A Deployment or DaemonSet of an ingress controller, with its controller container's args.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ControllerWorkload {
    /// `Deployment ingress-nginx/ingress-nginx-controller`.
    pub(crate) workload: String,
    pub(crate) namespace: String,
    /// `command` and `args` of every container, in order, `$(VAR)` expanded from its env.
    pub(crate) args: Vec<String>,
    pub(crate) ready: i64,
}

/// The kind and key names of a Secret (never its data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SecretShape {
    pub(crate) type_: String,
    pub(crate) keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceInfo {
    pub(crate) type_: String,
    /// `status.loadBalancer.ingress` IPs and host names, then `spec.externalIPs`.
    pub(crate) addresses: Vec<String>,
}

/// A live Ingress: its published addresses and whether Argo CD tracks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiveIngress {
    pub(crate) addresses: Vec<String>,
    pub(crate) argocd: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CrdInfo {
    pub(crate) name: String,
    /// Versions with `served: true`.
    pub(crate) served: Vec<String>,
    /// `gateway.networking.k8s.io/bundle-version`, `.../channel` annotations.
    pub(crate) bundle_version: Option<String>,
    pub(crate) channel: Option<String>,
    pub(crate) established: bool,
}

/// The Argo CD annotation that says an object belongs to an Application (annotation tracking,
/// Argo CD's default since 3.0).
const ARGOCD_TRACKING: &str = "argocd.argoproj.io/tracking-id";

impl Cluster {
    /// `/version`: also the proof that the cluster answers with these credentials.
    pub(crate) async fn server_version(&self) -> Result<ServerVersion> {
        let info = self.client.apiserver_version().await.map_err(|e| failed("read the server version", e))?;
        let from_git =
            info.git_version.trim_start_matches('v').split(['.', '-', '+']).take(2).collect::<Vec<_>>();
        let num = |s: &str| s.trim_end_matches('+').parse::<u32>().ok();
        let minor = match from_git.as_slice() {
            [a, b] => num(a).zip(num(b)),
            _ => None,
        }
        .or_else(|| num(&info.major).zip(num(&info.minor)));
        Ok(ServerVersion { git_version: info.git_version, minor })
    }

    /// The labels of the run's namespace; `None` when it does not exist.
    pub(crate) async fn namespace_labels(&self) -> Result<Option<BTreeMap<String, String>>> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let ns = api
            .get_opt(&self.namespace)
            .await
            .map_err(|e| failed(&format!("read namespace {}", self.namespace), e))?;
        Ok(ns.map(|n| n.metadata.labels.unwrap_or_default()))
    }

    /// Creates a Pod from a pod template in dry-run mode (`dryRun=All`: admission runs, nothing
    /// is stored) and says whether it was admitted. The ServiceAccount and priority class are left
    /// out: the first may not exist before the install (and would be refused for that), the
    /// second is not what this asks.
    pub(crate) async fn dry_run_pod(&self, metadata: &Value, spec: &Value) -> Result<Admission> {
        let mut spec = spec.clone();
        if let Some(map) = spec.as_object_mut() {
            for key in ["serviceAccountName", "serviceAccount", "priorityClassName", "nodeName"] {
                map.remove(key);
            }
        }
        let pod = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "generateName": "panda-install-doctor-",
                "labels": metadata.get("labels").cloned().unwrap_or(Value::Null),
                "annotations": metadata.get("annotations").cloned().unwrap_or(Value::Null),
            },
            "spec": spec,
        });
        let pod: DynamicObject = serde_json::from_value(pod)
            .map_err(|e| Error::Internal(anyhow::anyhow!("a pod template: {e}")))?;
        let resource = ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&());
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), &self.namespace, &resource);
        let params = PostParams { dry_run: true, field_manager: Some("panda-install-doctor".into()) };
        match api.create(&params, &pod).await {
            Ok(_) => Ok(Admission::Admitted),
            Err(kube::Error::Api(e)) if e.code == 403 || e.code == 422 => Ok(Admission::Refused(e.message)),
            Err(e) => Err(failed(&format!("dry-run a Pod in namespace {}", self.namespace), e)),
        }
    }

    pub(crate) async fn storage_classes(&self) -> Result<Vec<StorageClassInfo>> {
        let api: Api<StorageClass> = Api::all(self.client.clone());
        let list = api.list(&ListParams::default()).await.map_err(|e| failed("list StorageClasses", e))?;
        Ok(list
            .items
            .into_iter()
            .map(|sc| StorageClassInfo {
                default: annotation(&sc.metadata.annotations, "storageclass.kubernetes.io/is-default-class")
                    == Some("true"),
                name: sc.metadata.name.unwrap_or_default(),
                provisioner: sc.provisioner,
            })
            .collect())
    }

    pub(crate) async fn persistent_volumes(&self) -> Result<Vec<VolumeInfo>> {
        let api: Api<PersistentVolume> = Api::all(self.client.clone());
        let list = api.list(&ListParams::default()).await.map_err(|e| failed("list PersistentVolumes", e))?;
        Ok(list
            .items
            .into_iter()
            .map(|pv| VolumeInfo {
                name: pv.metadata.name.unwrap_or_default(),
                class: pv.spec.and_then(|s| s.storage_class_name).unwrap_or_default(),
                phase: pv.status.and_then(|s| s.phase).unwrap_or_default(),
            })
            .collect())
    }

    /// The CSIDriver object of a driver; `None` when there is none.
    pub(crate) async fn csi_driver(&self, name: &str) -> Result<Option<CsiDriverInfo>> {
        let api: Api<CSIDriver> = Api::all(self.client.clone());
        let found = api.get_opt(name).await.map_err(|e| failed(&format!("read CSIDriver {name}"), e))?;
        Ok(found
            .map(|d| CsiDriverInfo { lifecycle_modes: d.spec.volume_lifecycle_modes.unwrap_or_default() }))
    }

    /// The nodes whose CSINode lists `driver` (its node plugin registered with the kubelet).
    pub(crate) async fn csi_nodes_with(&self, driver: &str) -> Result<Vec<String>> {
        let api: Api<CSINode> = Api::all(self.client.clone());
        let list = api.list(&ListParams::default()).await.map_err(|e| failed("list CSINodes", e))?;
        Ok(list
            .items
            .into_iter()
            .filter(|n| n.spec.drivers.iter().any(|d| d.name == driver))
            .filter_map(|n| n.metadata.name)
            .collect())
    }

    pub(crate) async fn nodes(&self) -> Result<Vec<NodeInfo>> {
        let api: Api<Node> = Api::all(self.client.clone());
        let list = api.list(&ListParams::default()).await.map_err(|e| failed("list nodes", e))?;
        Ok(list
            .items
            .into_iter()
            .map(|n| NodeInfo {
                unschedulable: n.spec.and_then(|s| s.unschedulable).unwrap_or(false),
                name: n.metadata.name.unwrap_or_default(),
                labels: n.metadata.labels.unwrap_or_default(),
            })
            .collect())
    }

    pub(crate) async fn ingress_classes(&self) -> Result<Vec<IngressClassInfo>> {
        let api: Api<IngressClass> = Api::all(self.client.clone());
        let list = api.list(&ListParams::default()).await.map_err(|e| failed("list IngressClasses", e))?;
        Ok(list
            .items
            .into_iter()
            .map(|c| IngressClassInfo {
                default: annotation(&c.metadata.annotations, "ingressclass.kubernetes.io/is-default-class")
                    == Some("true"),
                name: c.metadata.name.unwrap_or_default(),
                controller: c.spec.and_then(|s| s.controller).unwrap_or_default(),
            })
            .collect())
    }

    /// ingress-nginx controller Deployments and DaemonSets in every namespace (label
    /// `app.kubernetes.io/name=ingress-nginx`, as its chart and manifests set).
    pub(crate) async fn ingress_nginx_controllers(&self) -> Result<Vec<ControllerWorkload>> {
        let params = ListParams::default().labels("app.kubernetes.io/name=ingress-nginx");
        let deployments: Api<Deployment> = Api::all(self.client.clone());
        let daemonsets: Api<DaemonSet> = Api::all(self.client.clone());
        let (d, s) = futures::join!(deployments.list(&params), daemonsets.list(&params));
        let d = d.map_err(|e| failed("list ingress-nginx Deployments in all namespaces", e))?;
        let s = s.map_err(|e| failed("list ingress-nginx DaemonSets in all namespaces", e))?;
        // `$(POD_NAMESPACE)` in its flags, as ingress-nginx's own manifests write them
        let args = |spec: Option<&k8s_openapi::api::core::v1::PodSpec>, namespace: &str| -> Vec<String> {
            let pod = PodMeta { namespace, name: None };
            spec.into_iter().flat_map(|s| s.containers.iter()).flat_map(|c| command_line(c, &pod)).collect()
        };
        let mut out = Vec::new();
        for x in d.items {
            let ns = x.metadata.namespace.clone().unwrap_or_default();
            out.push(ControllerWorkload {
                workload: format!("Deployment {ns}/{}", x.metadata.name.clone().unwrap_or_default()),
                args: args(x.spec.as_ref().and_then(|s| s.template.spec.as_ref()), &ns),
                ready: x.status.and_then(|s| s.ready_replicas).unwrap_or(0).into(),
                namespace: ns,
            });
        }
        for x in s.items {
            let ns = x.metadata.namespace.clone().unwrap_or_default();
            out.push(ControllerWorkload {
                workload: format!("DaemonSet {ns}/{}", x.metadata.name.clone().unwrap_or_default()),
                args: args(x.spec.as_ref().and_then(|s| s.template.spec.as_ref()), &ns),
                ready: x.status.map(|s| s.number_ready).unwrap_or(0).into(),
                namespace: ns,
            });
        }
        Ok(out)
    }

    /// The data of a ConfigMap; `None` when it does not exist.
    pub(crate) async fn config_map(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        let found =
            api.get_opt(name).await.map_err(|e| failed(&format!("read ConfigMap {namespace}/{name}"), e))?;
        Ok(found.map(|c| c.data.unwrap_or_default()))
    }

    /// The type and key names of a Secret (its values are dropped at once); `None` when missing.
    pub(crate) async fn secret_shape(&self, namespace: &str, name: &str) -> Result<Option<SecretShape>> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let found =
            api.get_opt(name).await.map_err(|e| failed(&format!("read Secret {namespace}/{name}"), e))?;
        Ok(found.map(|s| SecretShape {
            type_: s.type_.unwrap_or_else(|| "Opaque".into()),
            keys: s.data.into_iter().flat_map(|d| d.into_keys()).collect(),
        }))
    }

    pub(crate) async fn service(&self, namespace: &str, name: &str) -> Result<Option<ServiceInfo>> {
        let api: Api<Service> = Api::namespaced(self.client.clone(), namespace);
        let found =
            api.get_opt(name).await.map_err(|e| failed(&format!("read Service {namespace}/{name}"), e))?;
        Ok(found.map(|s| {
            let lb = s.status.and_then(|st| st.load_balancer).and_then(|l| l.ingress).unwrap_or_default();
            let spec = s.spec.unwrap_or_default();
            let mut addresses: Vec<String> = lb.into_iter().filter_map(|i| i.ip.or(i.hostname)).collect();
            addresses.extend(spec.external_ips.unwrap_or_default());
            ServiceInfo { type_: spec.type_.unwrap_or_else(|| "ClusterIP".into()), addresses }
        }))
    }

    /// A live Ingress of the run's namespace; `None` when it does not exist.
    pub(crate) async fn live_ingress(&self, name: &str) -> Result<Option<LiveIngress>> {
        let found = self
            .api::<Ingress>()
            .get_opt(name)
            .await
            .map_err(|e| failed(&format!("read Ingress {}/{name}", self.namespace), e))?;
        Ok(found.map(|i| LiveIngress {
            argocd: annotation(&i.metadata.annotations, ARGOCD_TRACKING).is_some(),
            addresses: i
                .status
                .and_then(|s| s.load_balancer)
                .and_then(|l| l.ingress)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|i| i.ip.or(i.hostname))
                .collect(),
        }))
    }

    /// Whether the API server serves `group/version` (API discovery).
    pub(crate) async fn serves_group_version(&self, group: &str, version: &str) -> Result<bool> {
        let groups = self.client.list_api_groups().await.map_err(|e| failed("list the API groups", e))?;
        Ok(groups.groups.iter().any(|g| g.name == group && g.versions.iter().any(|v| v.version == version)))
    }

    /// A CustomResourceDefinition; `None` when it is not installed.
    pub(crate) async fn crd(&self, name: &str) -> Result<Option<CrdInfo>> {
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let found = api.get_opt(name).await.map_err(|e| failed(&format!("read CRD {name}"), e))?;
        Ok(found.map(|c| CrdInfo {
            name: name.to_string(),
            bundle_version: annotation(&c.metadata.annotations, "gateway.networking.k8s.io/bundle-version")
                .map(String::from),
            channel: annotation(&c.metadata.annotations, "gateway.networking.k8s.io/channel")
                .map(String::from),
            served: c.spec.versions.iter().filter(|v| v.served).map(|v| v.name.clone()).collect(),
            established: c
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True"),
        }))
    }

    /// One custom object as JSON (`namespace` `None` for cluster-scoped kinds); `None` when it
    /// does not exist. The caller checks first that its CRD is installed.
    pub(crate) async fn custom_object(
        &self,
        (group, version, kind, plural): (&str, &str, &str, &str),
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>> {
        let resource = ApiResource {
            group: group.into(),
            version: version.into(),
            api_version: format!("{group}/{version}"),
            kind: kind.into(),
            plural: plural.into(),
        };
        let api: Api<DynamicObject> = match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        };
        let what = match namespace {
            Some(ns) => format!("read {kind} {ns}/{name}"),
            None => format!("read {kind} {name}"),
        };
        let found = api.get_opt(name).await.map_err(|e| failed(&what, e))?;
        found
            .map(|o| serde_json::to_value(o).map_err(|e| Error::Internal(anyhow::anyhow!("{what}: {e}"))))
            .transpose()
    }
}

fn annotation<'a>(annotations: &'a Option<BTreeMap<String, String>>, key: &str) -> Option<&'a str> {
    annotations.as_ref().and_then(|a| a.get(key)).map(String::as_str)
}
