//! A Kubernetes API client built the way helm builds its own: `--kubeconfig` or KUBECONFIG, then
//! `--kube-context`; and the namespace a run works in.

use crate::error::{Error, Result};
use crate::settings::Settings;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// A connected client and the namespace of the run.
#[derive(Clone)]
pub struct Cluster {
    pub client: Client,
    pub namespace: String,
}

impl Cluster {
    pub async fn connect(settings: &Settings) -> Result<Cluster> {
        let options = KubeConfigOptions { context: settings.kube_context.clone(), cluster: None, user: None };
        let unreachable = |e: String| Error::Preflight(format!("Kubernetes cluster unreachable: {e}"));
        let config = match &settings.kubeconfig {
            Some(path) => {
                let kc = Kubeconfig::read_from(path).map_err(|e| Error::data(path, format!("cannot read kubeconfig: {e}")))?;
                Config::from_custom_kubeconfig(kc, &options).await.map_err(|e| unreachable(e.to_string()))?
            }
            None => Config::from_kubeconfig(&options).await.map_err(|e| unreachable(e.to_string()))?,
        };
        let namespace = settings.namespace.clone().unwrap_or_else(|| config.default_namespace.clone());
        let client = Client::try_from(config).map_err(|e| unreachable(e.to_string()))?;
        // No round-trip here: the first real request (the namespace check) proves reachability.
        Ok(Cluster { client, namespace })
    }

    /// Checks that the namespace exists, creating it when `create` is set.
    pub async fn ensure_namespace(&self, create: bool) -> Result<()> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let found = api.get_opt(&self.namespace).await.map_err(|e| match e {
            kube::Error::Api(_) => Error::Preflight(format!("cannot read namespace {}: {e}", self.namespace)),
            other => Error::Preflight(format!("Kubernetes cluster unreachable: {other}")),
        })?;
        if found.is_some() {
            return Ok(());
        }
        if !create {
            return Err(Error::Preflight(format!("namespace {} does not exist: create it or pass --create-namespace", self.namespace)));
        }
        let ns: Namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": self.namespace}})).expect("a valid Namespace");
        match api.create(&PostParams::default(), &ns).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
            Err(e) => Err(Error::Preflight(format!("cannot create namespace {}: {e}", self.namespace))),
        }
    }
}
