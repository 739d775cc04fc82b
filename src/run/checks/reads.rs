//! The API reads several checks share, each made at most once per run (a failed read is kept as
//! its message, so every check that needed it fails with the same reason).

use crate::kube::prerequisites::{
    ControllerWorkload, CrdInfo, IngressClassInfo, StorageClassInfo, VolumeInfo,
};
use crate::kube::Cluster;
use crate::plan::requirements::{Requirements, RouteKind, GATEWAY_GROUP};
use serde_json::Value;
use std::collections::BTreeMap;
use tokio::sync::OnceCell;

pub(super) type Read<T> = Result<T, String>;

/// Gateways by (namespace, name): the object, `None` when it does not exist.
pub(super) type Gateways = BTreeMap<(String, String), Read<Option<Value>>>;

/// Group, version, kind and plural of a custom resource.
pub(super) type Resource = (&'static str, &'static str, &'static str, &'static str);

pub(super) const GATEWAY: Resource = (GATEWAY_GROUP, "v1", "Gateway", "gateways");
pub(super) const GATEWAY_CLASS: Resource = (GATEWAY_GROUP, "v1", "GatewayClass", "gatewayclasses");
pub(super) const TLS_ROUTE: Resource = (GATEWAY_GROUP, "v1", "TLSRoute", "tlsroutes");
pub(super) const HTTP_ROUTE: Resource = (GATEWAY_GROUP, "v1", "HTTPRoute", "httproutes");
pub(super) const BACKEND_TLS_POLICY: Resource =
    (GATEWAY_GROUP, "v1", "BackendTLSPolicy", "backendtlspolicies");
pub(super) const CLIENT_TRAFFIC_POLICY: Resource =
    ("gateway.envoyproxy.io", "v1alpha1", "ClientTrafficPolicy", "clienttrafficpolicies");

/// The CRD name of a resource (`tlsroutes.gateway.networking.k8s.io`).
pub(super) fn crd_name(r: Resource) -> String {
    format!("{}.{}", r.3, r.0)
}

pub(super) fn route_resource(kind: RouteKind) -> Resource {
    match kind {
        RouteKind::Tls => TLS_ROUTE,
        RouteKind::Http => HTTP_ROUTE,
    }
}

pub(super) struct Reads<'a> {
    pub(super) cluster: &'a Cluster,
    pub(super) needs: &'a Requirements,
    namespace: OnceCell<Read<Option<BTreeMap<String, String>>>>,
    storage_classes: OnceCell<Read<Vec<StorageClassInfo>>>,
    volumes: OnceCell<Read<Vec<VolumeInfo>>>,
    ingress_classes: OnceCell<Read<Vec<IngressClassInfo>>>,
    controllers: OnceCell<Read<Vec<ControllerWorkload>>>,
    crds: OnceCell<BTreeMap<String, Read<Option<CrdInfo>>>>,
    gateways: OnceCell<Gateways>,
}

impl<'a> Reads<'a> {
    pub(super) fn new(cluster: &'a Cluster, needs: &'a Requirements) -> Reads<'a> {
        Reads {
            cluster,
            needs,
            namespace: OnceCell::new(),
            storage_classes: OnceCell::new(),
            volumes: OnceCell::new(),
            ingress_classes: OnceCell::new(),
            controllers: OnceCell::new(),
            crds: OnceCell::new(),
            gateways: OnceCell::new(),
        }
    }

    /// The labels of the release namespace (`None`: it does not exist yet).
    pub(super) async fn namespace(&self) -> &Read<Option<BTreeMap<String, String>>> {
        self.namespace
            .get_or_init(|| async { self.cluster.namespace_labels().await.map_err(|e| e.to_string()) })
            .await
    }

    pub(super) async fn storage_classes(&self) -> &Read<Vec<StorageClassInfo>> {
        self.storage_classes
            .get_or_init(|| async { self.cluster.storage_classes().await.map_err(|e| e.to_string()) })
            .await
    }

    pub(super) async fn volumes(&self) -> &Read<Vec<VolumeInfo>> {
        self.volumes
            .get_or_init(|| async { self.cluster.persistent_volumes().await.map_err(|e| e.to_string()) })
            .await
    }

    pub(super) async fn ingress_classes(&self) -> &Read<Vec<IngressClassInfo>> {
        self.ingress_classes
            .get_or_init(|| async { self.cluster.ingress_classes().await.map_err(|e| e.to_string()) })
            .await
    }

    pub(super) async fn controllers(&self) -> &Read<Vec<ControllerWorkload>> {
        self.controllers
            .get_or_init(|| async {
                self.cluster.ingress_nginx_controllers().await.map_err(|e| e.to_string())
            })
            .await
    }

    /// The CRDs of every Gateway API (and Envoy Gateway) kind the releases render or need.
    pub(super) async fn crds(&self) -> &BTreeMap<String, Read<Option<CrdInfo>>> {
        self.crds
            .get_or_init(|| async {
                let names: Vec<String> =
                    needed_crds(self.needs).into_iter().map(|(r, _)| crd_name(r)).collect();
                let got = futures::future::join_all(names.iter().map(|n| self.cluster.crd(n))).await;
                names.into_iter().zip(got).map(|(n, r)| (n, r.map_err(|e| e.to_string()))).collect()
            })
            .await
    }

    /// Whether the CRD of `r` is installed and serves its version (else the checks that read
    /// such objects skip and gateway.crds says why).
    pub(super) async fn serves(&self, r: Resource) -> bool {
        matches!(self.crds().await.get(&crd_name(r)), Some(Ok(Some(c))) if c.served.iter().any(|v| v == r.1))
    }

    /// The Gateways the routes attach to (our own excluded), each read once.
    pub(super) async fn gateways(&self) -> &Gateways {
        self.gateways
            .get_or_init(|| async {
                let keys: Vec<(String, String)> = self.needs.parent_gateways().into_iter().collect();
                if !self.serves(GATEWAY).await {
                    return BTreeMap::new();
                }
                let got = futures::future::join_all(
                    keys.iter().map(|(ns, name)| self.cluster.custom_object(GATEWAY, Some(ns), name)),
                )
                .await;
                keys.into_iter().zip(got).map(|(k, r)| (k, r.map_err(|e| e.to_string()))).collect()
            })
            .await
    }
}

/// The custom resources the rendered objects are or need, with the version they must serve and
/// the rendered objects that need them.
pub(super) fn needed_crds(needs: &Requirements) -> Vec<(Resource, Vec<String>)> {
    let mut out: Vec<(Resource, Vec<String>)> = Vec::new();
    let mut add = |r: Resource, who: String| match out.iter_mut().find(|(x, _)| *x == r) {
        Some((_, list)) => list.push(who),
        None => out.push((r, vec![who])),
    };
    for route in &needs.routes {
        add(GATEWAY, format!("{} {}", route.kind.kind(), route.name));
        add(route_resource(route.kind), format!("{} {}", route.kind.kind(), route.name));
    }
    for g in &needs.own_gateways {
        add(GATEWAY, format!("Gateway {}", g.name));
        add(GATEWAY_CLASS, format!("Gateway {}", g.name));
    }
    for p in &needs.backend_tls_policies {
        add(BACKEND_TLS_POLICY, format!("BackendTLSPolicy {}", p.name));
    }
    for p in &needs.client_traffic_policies {
        add(CLIENT_TRAFFIC_POLICY, format!("ClientTrafficPolicy {}", p.name));
    }
    out
}
