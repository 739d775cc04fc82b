//! The only module that talks to the API server: a client built the way helm builds its own
//! (`--kubeconfig` or $KUBECONFIG, the resolved context and namespace; in a pod without a
//! kubeconfig its ServiceAccount), and every read and write
//! panda-install makes: the namespace, the lock Lease, helm's release records, pods, claims,
//! events, and the live-object checks. A read that fails is an error, never an empty answer.

pub(crate) mod adopt;
pub(crate) mod diagnose;
pub(crate) mod drift;
pub(crate) mod expansion;
pub(crate) mod health;
pub(crate) mod jobs;
pub(crate) mod lock;
pub(crate) mod prerequisites;
pub(crate) mod records;
pub(crate) mod restarts;
pub(crate) mod shallow;

use crate::error::{Error, Result};
use crate::settings::target::ClusterTarget;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// A connected client and the namespace of the run.
#[derive(Clone)]
pub(crate) struct Cluster {
    client: Client,
    pub(crate) namespace: String,
    discovery: drift::Discovery,
}

/// A kube error as a preflight error naming what could not be done.
pub(crate) fn failed(what: &str, e: kube::Error) -> Error {
    Error::Preflight(sentence(what, &e))
}

/// The one rendering of an API error: `cannot VERB WHAT: MESSAGE (REASON)`, e.g.
/// `cannot patch Deployment panda/bl-server: ... is forbidden: ... (Forbidden)`. Never kube's
/// `Display` of an API error, which appends a debug dump of the whole `Status`.
pub(crate) fn sentence(what: &str, e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => {
            let reason = if s.reason.is_empty() { format!("HTTP {}", s.code) } else { s.reason.clone() };
            let message = if s.message.is_empty() { "the API server refused it" } else { &s.message };
            format!("cannot {what}: {message} ({reason})")
        }
        other => format!("cannot {what}: Kubernetes cluster unreachable: {other}"),
    }
}

/// Whether a kube error is the API server's 403.
pub(crate) fn forbidden(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 403)
}

/// Whether an error text (of [`failed`]) says the credentials may not make the request (403).
pub(crate) fn is_forbidden(text: &str) -> bool {
    text.ends_with("(Forbidden)")
}

/// Whether this runs in a pod: the kubelet sets `KUBERNETES_SERVICE_HOST` in every container.
fn in_cluster() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some_and(|h| !h.is_empty())
}

impl Cluster {
    /// A client from `--kubeconfig`, else `$KUBECONFIG` or `~/.kube/config`, else (in a pod,
    /// without `--kube-context`) the pod's ServiceAccount, the way `Config::infer` and helm do.
    pub(crate) async fn connect(target: &ClusterTarget) -> Result<Cluster> {
        let options = KubeConfigOptions { context: target.context.clone(), cluster: None, user: None };
        let unreachable = |e: String| Error::Preflight(format!("Kubernetes cluster unreachable: {e}"));
        let config = match &target.kubeconfig {
            Some(path) => {
                let kc = Kubeconfig::read_from(path)
                    .map_err(|e| Error::data(path, format!("cannot read kubeconfig: {e}")))?;
                Config::from_custom_kubeconfig(kc, &options).await.map_err(|e| unreachable(e.to_string()))?
            }
            None => match Config::from_kubeconfig(&options).await {
                Ok(config) => config,
                // No kubeconfig at all, inside a pod (a CI job): its ServiceAccount, as helm does.
                Err(no_kubeconfig) if target.context.is_none() && in_cluster() => Config::incluster()
                    .map_err(|e| {
                        unreachable(format!(
                            "no kubeconfig ({no_kubeconfig}), and the in-cluster ServiceAccount \
                             (KUBERNETES_SERVICE_HOST is set) cannot be used: {e}"
                        ))
                    })?,
                Err(e) => return Err(unreachable(e.to_string())),
            },
        };
        let client = Client::try_from(config).map_err(|e| unreachable(e.to_string()))?;
        // No round-trip here: the first real request proves reachability.
        Ok(Cluster { client, namespace: target.namespace.clone(), discovery: drift::Discovery::default() })
    }

    fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Whether the namespace exists.
    pub(crate) async fn namespace_exists(&self) -> Result<bool> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let found = api
            .get_opt(&self.namespace)
            .await
            .map_err(|e| failed(&format!("read namespace {}", self.namespace), e))?;
        Ok(found.is_some())
    }

    /// Checks that the namespace exists, creating it when `create` is set.
    pub(crate) async fn ensure_namespace(&self, create: bool) -> Result<()> {
        if self.namespace_exists().await? {
            return Ok(());
        }
        if !create {
            return Err(Error::Preflight(format!(
                "namespace {} does not exist: create it or pass --create-namespace",
                self.namespace
            )));
        }
        let api: Api<Namespace> = Api::all(self.client.clone());
        let mut ns = Namespace::default();
        ns.metadata.name = Some(self.namespace.clone());
        match api.create(&PostParams::default(), &ns).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
            Err(e) => Err(failed(&format!("create namespace {}", self.namespace), e)),
        }
    }

    /// Pods carrying `app.kubernetes.io/instance` of one of `releases`.
    pub(crate) async fn pods_of(&self, releases: &[String]) -> Result<Vec<Pod>> {
        let params = instance_selector(releases);
        Ok(self.api::<Pod>().list(&params).await.map_err(|e| failed("list pods", e))?.items)
    }

    /// The PersistentVolumeClaims of one release (labelled with its instance).
    pub(crate) async fn claims_of(&self, release: &str) -> Result<Vec<PersistentVolumeClaim>> {
        let params = instance_selector(&[release.to_string()]);
        let what = format!("list the claims of {release}");
        Ok(self.api::<PersistentVolumeClaim>().list(&params).await.map_err(|e| failed(&what, e))?.items)
    }

    /// Deletes the claims of a release and waits until they are gone (the pvc-protection finalizer
    /// holds a claim until no pod uses it), at most two minutes.
    pub(crate) async fn delete_claims_of(&self, release: &str) -> Result<()> {
        let params = instance_selector(&[release.to_string()]);
        self.api::<PersistentVolumeClaim>()
            .delete_collection(&DeleteParams::default(), &params)
            .await
            .map_err(|e| failed(&format!("delete the claims of {release}"), e))?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            let left = self.claims_of(release).await?.len();
            if left == 0 {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                return Err(Error::ReleaseFailed(format!(
                    "{left} claim(s) of {release} are still terminating after 120 s"
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }
}

pub(crate) fn instance_selector(releases: &[String]) -> ListParams {
    ListParams::default().labels(&format!("app.kubernetes.io/instance in ({})", releases.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    #[test]
    fn api_errors_read_as_sentences_never_debug_dumps() {
        let e = kube::Error::Api(Box::new(
            Status::failure("deployments.apps \"x\" is forbidden: User \"v\" cannot patch it", "Forbidden")
                .with_code(403),
        ));
        let text = sentence("patch Deployment panda/x", &e);
        assert_eq!(
            text,
            "cannot patch Deployment panda/x: deployments.apps \"x\" is forbidden: User \"v\" cannot patch it (Forbidden)"
        );
        assert!(forbidden(&e) && is_forbidden(&text));
        assert!(
            !format!("{e}").is_empty() && format!("{e}").contains("Status {"),
            "kube's own Display dumps"
        );
        let bare = kube::Error::Api(Box::new(Status::failure("", "").with_code(500)));
        assert_eq!(
            sentence("get Service s", &bare),
            "cannot get Service s: the API server refused it (HTTP 500)"
        );
        assert!(!forbidden(&bare));
    }
}
