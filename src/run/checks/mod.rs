//! The cluster prerequisites of a deployment, as typed checks: each has an id, says what it
//! verifies, and ends `pass`, `warn`, `fail` or `skip` with a message and, unless it passed, a fix
//! hint. Their subjects come from the rendered releases ([`Requirements`]); their facts from the
//! API server ([`crate::kube::prerequisites`], read once per run through [`Reads`]). A check
//! that cannot read what it needs fails; one whose read the credentials may not make (403) is
//! `unknown`, naming what was not checked (the install preflight warns and goes on). `doctor` runs them all; the install preflight runs the
//! ones that are cheap and certain ([`CheckId::preflight`]). docs/exposure.md §6 lists them.

mod cluster;
mod gateway;
mod ingress;
mod reads;
mod storage;

pub(crate) use cluster::SecretsNeed;

use crate::kube::Cluster;
use crate::plan::requirements::Requirements;
use futures::future::{join_all, LocalBoxFuture};
use reads::Reads;
use serde::Serialize;
use serde_json::Value;

/// Every check, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum CheckId {
    ClusterReachable,
    KubernetesVersion,
    NamespacePodSecurity,
    StorageDefaultClass,
    StorageNamedClasses,
    CvmfsCsiDriver,
    NodesSelectors,
    SecretsRelease,
    IngressClass,
    IngressTlsSecret,
    IngressSslPassthrough,
    IngressSnippets,
    IngressAuthTlsSecret,
    IngressLoadBalancer,
    RouteApi,
    GatewayCrds,
    GatewayClass,
    GatewayExists,
    GatewayListeners,
    GatewayStatus,
    GatewayRoutes,
    GatewayClientTrafficPolicy,
}

impl CheckId {
    pub(crate) const ALL: [CheckId; 22] = [
        CheckId::ClusterReachable,
        CheckId::KubernetesVersion,
        CheckId::NamespacePodSecurity,
        CheckId::StorageDefaultClass,
        CheckId::StorageNamedClasses,
        CheckId::CvmfsCsiDriver,
        CheckId::NodesSelectors,
        CheckId::SecretsRelease,
        CheckId::IngressClass,
        CheckId::IngressTlsSecret,
        CheckId::IngressSslPassthrough,
        CheckId::IngressSnippets,
        CheckId::IngressAuthTlsSecret,
        CheckId::IngressLoadBalancer,
        CheckId::RouteApi,
        CheckId::GatewayCrds,
        CheckId::GatewayClass,
        CheckId::GatewayExists,
        CheckId::GatewayListeners,
        CheckId::GatewayStatus,
        CheckId::GatewayRoutes,
        CheckId::GatewayClientTrafficPolicy,
    ];

    /// The id as printed and in JSON (`storage.defaultClass`).
    pub(crate) fn name(self) -> &'static str {
        self.describe().0
    }

    /// What the check verifies, in one line.
    pub(crate) fn what(self) -> &'static str {
        self.describe().1
    }

    fn describe(self) -> (&'static str, &'static str) {
        match self {
            CheckId::ClusterReachable => {
                ("cluster.reachable", "the API server answers with these credentials")
            }
            CheckId::KubernetesVersion => {
                ("kubernetes.version", "the Kubernetes version is one the charts support")
            }
            CheckId::NamespacePodSecurity => {
                ("namespace.podSecurity", "the namespace admits every pod template (server-side dry run)")
            }
            CheckId::StorageDefaultClass => {
                ("storage.defaultClass", "claims without a storageClassName have a default StorageClass")
            }
            CheckId::StorageNamedClasses => {
                ("storage.namedClasses", "every StorageClass the claims name exists")
            }
            CheckId::CvmfsCsiDriver => {
                ("cvmfs.csiDriver", "the CSI driver of the CVMFS volumes is installed")
            }
            CheckId::NodesSelectors => ("nodes.selectors", "a schedulable node matches every nodeSelector"),
            CheckId::SecretsRelease => {
                ("secrets.release", "the secrets release is deployed, complete and made for this affix")
            }
            CheckId::IngressClass => ("ingress.class", "the IngressClass of every Ingress exists"),
            CheckId::IngressTlsSecret => {
                ("ingress.tlsSecret", "the TLS Secret of every terminating Ingress exists")
            }
            CheckId::IngressSslPassthrough => {
                ("ingress.sslPassthrough", "the ingress-nginx controller runs with --enable-ssl-passthrough")
            }
            CheckId::IngressSnippets => {
                ("ingress.snippets", "the ingress-nginx controller accepts snippet annotations")
            }
            CheckId::IngressAuthTlsSecret => {
                ("ingress.authTlsSecret", "the client-CA Secret of auth-tls-secret exists with ca.crt")
            }
            CheckId::IngressLoadBalancer => (
                "ingress.loadBalancer",
                "Ingresses get a load-balancer address (Argo CD reports them Progressing until they do)",
            ),
            CheckId::RouteApi => {
                ("route.api", "the API server serves OpenShift Routes (route.openshift.io/v1)")
            }
            CheckId::GatewayCrds => {
                ("gateway.crds", "the Gateway API CRDs of the rendered kinds are installed")
            }
            CheckId::GatewayClass => {
                ("gateway.class", "the GatewayClass of our own Gateways exists and is accepted")
            }
            CheckId::GatewayExists => ("gateway.exists", "the Gateway every route attaches to exists"),
            CheckId::GatewayListeners => {
                ("gateway.listeners", "the Gateway has a listener that accepts each route")
            }
            CheckId::GatewayStatus => {
                ("gateway.status", "the Gateway and its listeners are Accepted and Programmed")
            }
            CheckId::GatewayRoutes => ("gateway.routes", "deployed routes are Accepted by their Gateways"),
            CheckId::GatewayClientTrafficPolicy => {
                ("gateway.clientTrafficPolicy", "deployed Envoy ClientTrafficPolicies are Accepted")
            }
        }
    }

    /// Also run by `install` before any release changes: cheap (a few reads) and certain (a
    /// failure means the install itself would fail or wait until its timeout).
    pub(crate) fn preflight(self) -> bool {
        matches!(
            self,
            CheckId::KubernetesVersion
                | CheckId::NamespacePodSecurity
                | CheckId::StorageDefaultClass
                | CheckId::StorageNamedClasses
                | CheckId::CvmfsCsiDriver
                | CheckId::RouteApi
                | CheckId::GatewayCrds
        )
    }
}

impl Serialize for CheckId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Pass,
    Warn,
    Fail,
    Skip,
    /// Not checked: the credentials may not read what the check needs.
    Unknown,
}

impl Status {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
            Status::Unknown => "UNKNOWN",
        }
    }
}

/// One result: a check applied to one subject.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Check {
    pub(crate) id: CheckId,
    pub(crate) what: &'static str,
    pub(crate) status: Status,
    /// The release whose rendered object is the subject, when there is one.
    pub(crate) release: Option<String>,
    /// `<Kind> <name>` of the object checked; `None` for cluster-wide checks.
    pub(crate) subject: Option<String>,
    pub(crate) message: String,
    /// How to fix it (for `fail` and `warn`).
    pub(crate) hint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) observed: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) expected: Option<Value>,
}

impl Check {
    fn new(id: CheckId, status: Status, message: impl Into<String>) -> Check {
        Check {
            id,
            what: id.what(),
            status,
            release: None,
            subject: None,
            message: message.into(),
            hint: None,
            observed: None,
            expected: None,
        }
    }

    pub(crate) fn pass(id: CheckId, message: impl Into<String>) -> Check {
        Check::new(id, Status::Pass, message)
    }

    pub(crate) fn skip(id: CheckId, message: impl Into<String>) -> Check {
        Check::new(id, Status::Skip, message)
    }

    pub(crate) fn warn(id: CheckId, message: impl Into<String>, hint: impl Into<String>) -> Check {
        Check { hint: Some(hint.into()), ..Check::new(id, Status::Warn, message) }
    }

    pub(crate) fn fail(id: CheckId, message: impl Into<String>, hint: impl Into<String>) -> Check {
        Check { hint: Some(hint.into()), ..Check::new(id, Status::Fail, message) }
    }

    /// A read the check needs failed: it fails, naming what could not be read; a read the
    /// credentials are not allowed to make leaves it unknown (not a pass).
    pub(crate) fn unreadable(id: CheckId, error: &str) -> Check {
        if crate::kube::is_forbidden(error) {
            return Check {
                hint: Some(
                    "not checked: these credentials may not make this read (a namespace-only Role); \
                     `panda-install rbac` prints the optional ClusterRole that lets it run"
                        .into(),
                ),
                ..Check::new(id, Status::Unknown, format!("not checked: {error}"))
            };
        }
        Check::fail(
            id,
            error.to_string(),
            "the check needs this read: give the credentials permission to read it (or fix the connection) and run again",
        )
    }

    pub(crate) fn on(mut self, release: Option<&str>, subject: impl Into<String>) -> Check {
        self.release = release.map(String::from);
        self.subject = Some(subject.into());
        self
    }

    pub(crate) fn observed(mut self, v: Value) -> Check {
        self.observed = Some(v);
        self
    }

    pub(crate) fn expected(mut self, v: Value) -> Check {
        self.expected = Some(v);
        self
    }

    /// `PASS  storage.namedClasses  StorageClass nas: exists`, the hint indented below.
    pub(crate) fn line(&self) -> String {
        let subject = self.subject.as_deref().map(|s| format!("{s}: ")).unwrap_or_default();
        let mut out = format!("{}  {}  {subject}{}", self.status.label(), self.id.name(), self.message);
        if let (Some(hint), Status::Fail | Status::Warn | Status::Unknown) = (&self.hint, self.status) {
            out.push_str(&format!("\n      fix: {hint}"));
        }
        out
    }
}

/// Which checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Every check (`doctor`).
    All,
    /// The cheap and certain ones (the install preflight).
    Preflight,
}

impl Scope {
    fn includes(self, id: CheckId) -> bool {
        self == Scope::All || id.preflight()
    }
}

/// A list for a message: the first four items, then how many more.
pub(crate) fn listed<S: AsRef<str>>(items: &[S]) -> String {
    const SHOWN: usize = 4;
    let mut out = items.iter().take(SHOWN).map(AsRef::as_ref).collect::<Vec<_>>().join(", ");
    if items.len() > SHOWN {
        out.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    out
}

/// The release whose objects share one subject, or `None` when several releases do.
pub(crate) fn one_release<'a>(mut releases: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let first = releases.next()?;
    releases.all(|r| r == first).then_some(first)
}

/// Runs the checks of `scope` against the cluster for what `needs` says the releases need.
/// The cluster's reachability is checked first; when it does not answer, every other check is
/// skipped. `secrets` is what the secrets release must be (`None`: not checked).
pub(crate) async fn run(
    cluster: &Cluster,
    needs: &Requirements,
    secrets: Option<&SecretsNeed>,
    scope: Scope,
) -> Vec<Check> {
    let version = match cluster.server_version().await {
        Ok(v) => v,
        Err(e) => return unreachable(&e.to_string(), scope),
    };
    let reads = Reads::new(cluster, needs);
    let mut out = vec![Check::pass(CheckId::ClusterReachable, format!("API server {}", version.git_version))];
    let mut tasks: Vec<(CheckId, LocalBoxFuture<'_, Vec<Check>>)> = vec![
        (CheckId::KubernetesVersion, Box::pin(async { vec![cluster::version(&version, needs)] })),
        (CheckId::NamespacePodSecurity, Box::pin(cluster::pod_security(&reads))),
        (CheckId::StorageDefaultClass, Box::pin(storage::default_class(&reads))),
        (CheckId::StorageNamedClasses, Box::pin(storage::named_classes(&reads))),
        (CheckId::CvmfsCsiDriver, Box::pin(storage::csi_drivers(&reads))),
        (CheckId::NodesSelectors, Box::pin(cluster::node_selectors(&reads))),
        (CheckId::IngressClass, Box::pin(ingress::classes(&reads))),
        (CheckId::IngressTlsSecret, Box::pin(ingress::tls_secrets(&reads, secrets))),
        (CheckId::IngressSslPassthrough, Box::pin(ingress::ssl_passthrough(&reads))),
        (CheckId::IngressSnippets, Box::pin(ingress::snippets(&reads))),
        (CheckId::IngressAuthTlsSecret, Box::pin(ingress::auth_tls_secrets(&reads))),
        (CheckId::IngressLoadBalancer, Box::pin(ingress::load_balancer(&reads))),
        (CheckId::RouteApi, Box::pin(ingress::route_api(&reads))),
        (CheckId::GatewayCrds, Box::pin(gateway::crds(&reads))),
        (CheckId::GatewayClass, Box::pin(gateway::classes(&reads))),
        (CheckId::GatewayExists, Box::pin(gateway::exists(&reads))),
        (CheckId::GatewayListeners, Box::pin(gateway::listeners_check(&reads))),
        (CheckId::GatewayStatus, Box::pin(gateway::status(&reads))),
        (CheckId::GatewayRoutes, Box::pin(gateway::routes(&reads))),
        (CheckId::GatewayClientTrafficPolicy, Box::pin(gateway::client_traffic_policies(&reads))),
    ];
    if let Some(need) = secrets {
        tasks.insert(6, (CheckId::SecretsRelease, Box::pin(async { vec![need.check(cluster).await] })));
    }
    let selected = tasks.into_iter().filter(|(id, _)| scope.includes(*id)).map(|(_, f)| f);
    out.extend(join_all(selected).await.into_iter().flatten());
    out
}

/// The checks when the cluster cannot be reached: `cluster.reachable` fails, the others skip.
pub(crate) fn unreachable(why: &str, scope: Scope) -> Vec<Check> {
    let mut out = vec![Check::fail(
        CheckId::ClusterReachable,
        why.to_string(),
        "check KUBECONFIG / --kubeconfig / --kube-context and that the API server is up",
    )];
    out.extend(
        CheckId::ALL
            .into_iter()
            .filter(|id| *id != CheckId::ClusterReachable && scope.includes(*id))
            .map(|id| Check::skip(id, "the cluster did not answer (see cluster.reachable)")),
    );
    out
}

/// How many checks ended with each status: (pass, warn, fail, skip).
pub(crate) fn tally(checks: &[Check]) -> (usize, usize, usize, usize, usize) {
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    (
        count(Status::Pass),
        count(Status::Warn),
        count(Status::Fail),
        count(Status::Skip),
        count(Status::Unknown),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_dotted_and_in_the_schema() {
        let schema =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/doctor.schema.json")).unwrap();
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/exposure.md")).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for id in CheckId::ALL {
            assert!(seen.insert(id.name()), "{} twice", id.name());
            assert!(id.name().contains('.') && !id.what().is_empty());
            assert!(
                schema.contains(&format!("\"{}\"", id.name())),
                "{} is not in docs/doctor.schema.json",
                id.name()
            );
            assert!(
                doc.contains(&format!("| `{}` |", id.name())),
                "{} is not in docs/exposure.md §6",
                id.name()
            );
        }
    }

    #[test]
    fn lines_show_the_hint_only_when_something_is_wrong() {
        let ok = Check::pass(CheckId::RouteApi, "served").on(None, "API route.openshift.io/v1");
        assert_eq!(ok.line(), "PASS  route.api  API route.openshift.io/v1: served");
        let bad = Check::fail(CheckId::RouteApi, "not served", "use gateway");
        assert_eq!(bad.line(), "FAIL  route.api  not served\n      fix: use gateway");
        assert_eq!(one_release(["a", "a"].into_iter()), Some("a"));
        assert_eq!(one_release(["a", "b"].into_iter()), None);
        assert_eq!(listed(&["a", "b", "c", "d", "e", "f"]), "a, b, c, d and 2 more");
        assert_eq!(listed(&["a"]), "a");
    }
}
