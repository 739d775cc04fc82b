//! Ingress (and OpenShift Route) checks: the IngressClass, TLS Secrets, and what ingress-nginx
//! must be started with: `--enable-ssl-passthrough` for passthrough Ingresses, snippets allowed
//! in its ConfigMap for snippet annotations, the client-CA Secret of `auth-tls-secret`, and a
//! published load-balancer address (Argo CD keeps an Ingress Progressing until it has one).

use super::reads::Reads;
use super::{listed, one_release, Check, CheckId, SecretsNeed};
use crate::kube::prerequisites::{ControllerWorkload, IngressClassInfo};
use crate::plan::requirements::IngressNeed;
use serde_json::json;
use std::collections::BTreeMap;

/// ingress-nginx's default `--controller-class` and `--ingress-class`.
const NGINX_CONTROLLER: &str = "k8s.io/ingress-nginx";

/// The value of a Go command-line flag in `args` (`--name=v`, `-name=v`, `--name v`); a bare
/// boolean flag reads `true`.
pub(super) fn flag(args: &[String], name: &str) -> Option<String> {
    let mut it = args.iter().peekable();
    while let Some(arg) = it.next() {
        let Some(bare) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else { continue };
        if let Some(value) = bare.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')) {
            return Some(value.to_string());
        }
        if bare == name {
            return Some(match it.peek() {
                Some(next) if !next.starts_with('-') && *next != "true" && *next != "false" => {
                    it.next().cloned().unwrap_or_default()
                }
                _ => "true".to_string(),
            });
        }
    }
    None
}

fn on(args: &[String], name: &str) -> bool {
    flag(args, name).is_some_and(|v| matches!(v.as_str(), "true" | "1" | "t" | "T" | "TRUE" | "True"))
}

/// The IngressClass an Ingress uses: the named one, or the single default.
pub(super) fn resolve<'a>(
    classes: &'a [IngressClassInfo],
    name: Option<&str>,
) -> Result<&'a IngressClassInfo, String> {
    match name {
        Some(n) => {
            classes.iter().find(|c| c.name == n).ok_or_else(|| format!("IngressClass {n} does not exist"))
        }
        None => {
            let defaults: Vec<&IngressClassInfo> = classes.iter().filter(|c| c.default).collect();
            match defaults.as_slice() {
                [one] => Ok(one),
                [] => Err("no IngressClass is named and none is marked default".into()),
                many => Err(format!(
                    "no IngressClass is named and {} are marked default ({})",
                    many.len(),
                    many.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                )),
            }
        }
    }
}

/// The ingress-nginx workloads that serve an IngressClass: their `--controller-class` (default
/// `k8s.io/ingress-nginx`) is the class's `spec.controller`.
pub(super) fn serving<'a>(
    controllers: &'a [ControllerWorkload],
    class: &IngressClassInfo,
) -> Vec<&'a ControllerWorkload> {
    controllers
        .iter()
        .filter(|w| {
            flag(&w.args, "controller-class").as_deref().unwrap_or(NGINX_CONTROLLER) == class.controller
        })
        .collect()
}

fn class_label(name: Option<&str>) -> String {
    match name {
        Some(n) => format!("IngressClass {n}"),
        None => "IngressClass (default)".into(),
    }
}

fn names(ingresses: &[&IngressNeed]) -> String {
    listed(&ingresses.iter().map(|i| format!("Ingress {}", i.name)).collect::<Vec<_>>())
}

/// Ingresses grouped by the class they name (`None`: the default class).
fn by_class<'a>(
    ingresses: impl Iterator<Item = &'a IngressNeed>,
) -> BTreeMap<Option<&'a str>, Vec<&'a IngressNeed>> {
    let mut out: BTreeMap<Option<&str>, Vec<&IngressNeed>> = BTreeMap::new();
    for i in ingresses {
        out.entry(i.class.as_deref()).or_default().push(i);
    }
    out
}

pub(super) async fn classes(reads: &Reads<'_>) -> Vec<Check> {
    let id = CheckId::IngressClass;
    if reads.needs.ingresses.is_empty() {
        return vec![Check::skip(id, "no Ingress is rendered")];
    }
    let classes = reads.ingress_classes().await;
    by_class(reads.needs.ingresses.iter())
        .into_iter()
        .map(|(name, ingresses)| {
            let release = one_release(ingresses.iter().map(|i| i.release.as_str()));
            let check = match classes {
                Err(e) => Check::unreadable(id, e),
                Ok(classes) => {
                    let available: Vec<&str> = classes.iter().map(|c| c.name.as_str()).collect();
                    let observed = json!({"className": name, "available": available});
                    match resolve(classes, name) {
                        Ok(c) => Check::pass(
                            id,
                            format!("{} (controller {}) serves {}", c.name, c.controller, names(&ingresses)),
                        ),
                        Err(why) => Check::fail(
                            id,
                            format!("{why}: no controller serves {}", names(&ingresses)),
                            "install the ingress controller (it creates its IngressClass) or set ingress.className \
                             in the values to one of the available classes",
                        ),
                    }
                    .observed(observed)
                }
            };
            check.on(release, class_label(name))
        })
        .collect()
}

pub(super) async fn tls_secrets(reads: &Reads<'_>, secrets: Option<&SecretsNeed>) -> Vec<Check> {
    let id = CheckId::IngressTlsSecret;
    let wanted: Vec<(&IngressNeed, &str)> = reads
        .needs
        .ingresses
        .iter()
        .filter(|i| !i.passthrough())
        .flat_map(|i| i.tls_secrets.iter().map(move |s| (i, s.as_str())))
        .collect();
    if wanted.is_empty() {
        return vec![Check::skip(id, "no terminating Ingress names a TLS Secret")];
    }
    let this_run = match secrets {
        Some(SecretsNeed::ThisRun { release, .. }) => Some(format!("{release}-")),
        _ => None,
    };
    let mut by_secret: BTreeMap<&str, Vec<&IngressNeed>> = BTreeMap::new();
    for (ingress, secret) in wanted {
        by_secret.entry(secret).or_default().push(ingress);
    }
    let ns = &reads.needs.namespace;
    let mut out = Vec::new();
    for (secret, ingresses) in by_secret {
        let used_by = names(&ingresses);
        let bundled =
            this_run.as_deref().is_some_and(|p| secret.starts_with(p) && secret.ends_with("-tls-certs"));
        let hint = format!(
            "create Secret {ns}/{secret} (type kubernetes.io/tls), deploy the secrets release that holds it, or \
             clear existingTlsSecret"
        );
        let check = if bundled {
            Check::pass(id, format!("written by the secrets release this run deploys, for {used_by}"))
        } else {
            match reads.cluster.secret_shape(ns, secret).await {
                Err(e) => Check::unreadable(id, &e.to_string()),
                Ok(None) => Check::fail(
                    id,
                    format!(
                        "does not exist: {used_by} would be served with the controller's default certificate"
                    ),
                    hint,
                ),
                Ok(Some(s))
                    if s.keys.iter().any(|k| k == "tls.crt") && s.keys.iter().any(|k| k == "tls.key") =>
                {
                    Check::pass(id, format!("exists ({}) for {used_by}", s.type_))
                }
                Ok(Some(s)) => Check::fail(
                    id,
                    format!("has no tls.crt and tls.key (type {}, keys {})", s.type_, s.keys.join(", ")),
                    hint,
                ),
            }
        };
        let release = one_release(ingresses.iter().map(|i| i.release.as_str()));
        out.push(check.on(release, format!("Secret {secret}")).observed(json!({"secret": secret})));
    }
    out
}

pub(super) async fn ssl_passthrough(reads: &Reads<'_>) -> Vec<Check> {
    let id = CheckId::IngressSslPassthrough;
    let wanted: Vec<&IngressNeed> = reads.needs.ingresses.iter().filter(|i| i.passthrough()).collect();
    if wanted.is_empty() {
        return vec![Check::skip(id, "no Ingress asks for ssl-passthrough")];
    }
    let hint = "start ingress-nginx with --enable-ssl-passthrough (chart: controller.extraArgs.enable-ssl-passthrough: \"\"), \
                or move the component to global.exposure=gateway (TLSRoute)";
    let mut out = Vec::new();
    for (name, ingresses) in by_class(wanted.into_iter()) {
        let release = one_release(ingresses.iter().map(|i| i.release.as_str()));
        let check = match controller_for(reads, name, id).await {
            Ok(Found::Workloads(class, workloads)) => {
                let observed = json!({
                    "controller": class.controller,
                    "workload": workloads.iter().map(|w| &w.workload).collect::<Vec<_>>(),
                    "args": workloads.iter().map(|w| &w.args).collect::<Vec<_>>(),
                });
                match workloads.iter().find(|w| on(&w.args, "enable-ssl-passthrough")) {
                    Some(w) => Check::pass(
                        id,
                        format!("{} runs with --enable-ssl-passthrough for {}", w.workload, names(&ingresses)),
                    ),
                    None => Check::fail(
                        id,
                        format!(
                            "{} runs without --enable-ssl-passthrough: {} would be terminated at the controller and \
                             x509 clients would not authenticate",
                            workloads.iter().map(|w| w.workload.as_str()).collect::<Vec<_>>().join(", "),
                            names(&ingresses)
                        ),
                        hint,
                    ),
                }
                .observed(observed)
            }
            Ok(Found::Other(class)) => Check::warn(
                id,
                format!(
                    "IngressClass {} is served by {}, not ingress-nginx: the ssl-passthrough annotation is \
                     ingress-nginx's, check that this controller passes TLS through",
                    class.name, class.controller
                ),
                hint,
            ),
            Ok(Found::NoWorkload(class)) => Check::warn(
                id,
                format!(
                    "no ingress-nginx Deployment or DaemonSet with --controller-class={} was found (label \
                     app.kubernetes.io/name=ingress-nginx): cannot see its flags",
                    class.controller
                ),
                hint,
            ),
            Err(c) => c,
        };
        out.push(check.on(release, class_label(name)));
    }
    out
}

pub(super) async fn snippets(reads: &Reads<'_>) -> Vec<Check> {
    let id = CheckId::IngressSnippets;
    let wanted: Vec<&IngressNeed> =
        reads.needs.ingresses.iter().filter(|i| !i.snippets().is_empty()).collect();
    if wanted.is_empty() {
        return vec![Check::skip(id, "no Ingress carries a snippet annotation")];
    }
    let hint =
        "set allow-snippet-annotations: \"true\" and annotations-risk-level: Critical in the controller's \
                ConfigMap (its --configmap), or drop the snippet annotations";
    let mut out = Vec::new();
    for (name, ingresses) in by_class(wanted.into_iter()) {
        let release = one_release(ingresses.iter().map(|i| i.release.as_str()));
        let check = match controller_for(reads, name, id).await {
            Ok(Found::Workloads(_, workloads)) => judge_snippets(reads, &workloads, &ingresses, hint).await,
            Ok(Found::Other(class)) => Check::warn(
                id,
                format!("IngressClass {} is served by {}: nginx snippet annotations are ingress-nginx's", class.name, class.controller),
                hint,
            ),
            Ok(Found::NoWorkload(class)) => Check::warn(
                id,
                format!("no ingress-nginx workload with --controller-class={} was found: cannot see its ConfigMap", class.controller),
                hint,
            ),
            Err(c) => c,
        };
        out.push(check.on(release, class_label(name)));
    }
    out
}

async fn judge_snippets(
    reads: &Reads<'_>,
    workloads: &[&ControllerWorkload],
    ingresses: &[&IngressNeed],
    hint: &str,
) -> Check {
    let id = CheckId::IngressSnippets;
    let annotations: Vec<&str> = ingresses.iter().flat_map(|i| i.snippets()).collect();
    // every controller serving the class must accept them (any of them may pick the Ingress up)
    for w in workloads {
        let Some(config) = flag(&w.args, "configmap") else {
            return Check::fail(
                id,
                format!(
                    "{} has no --configmap: snippets are off by default ({})",
                    w.workload,
                    annotations.join(", ")
                ),
                hint,
            );
        };
        let (ns, name) = config.split_once('/').unwrap_or((w.namespace.as_str(), config.as_str()));
        let data = match reads.cluster.config_map(ns, name).await {
            Err(e) => return Check::unreadable(id, &e.to_string()),
            Ok(data) => data.unwrap_or_default(),
        };
        let allow = data.get("allow-snippet-annotations").cloned();
        let risk = data.get("annotations-risk-level").cloned();
        let observed = json!({"configMap": format!("{ns}/{name}"), "allowSnippetAnnotations": allow, "annotationsRiskLevel": risk});
        if allow.as_deref() != Some("true") {
            return Check::fail(
                id,
                format!(
                    "ConfigMap {ns}/{name} does not set allow-snippet-annotations: \"true\": {} are ignored",
                    annotations.join(", ")
                ),
                hint,
            )
            .observed(observed);
        }
        match risk.as_deref() {
            Some("Critical") => {}
            None => {
                return Check::warn(
                    id,
                    format!(
                        "ConfigMap {ns}/{name} allows snippets but sets no annotations-risk-level: ingress-nginx 1.12 and \
                         newer (default High) still refuse snippets (risk Critical)"
                    ),
                    hint,
                )
                .observed(observed)
            }
            Some(level) => {
                return Check::fail(
                    id,
                    format!("ConfigMap {ns}/{name} sets annotations-risk-level: {level}: snippets (risk Critical) are refused"),
                    hint,
                )
                .observed(observed)
            }
        }
    }
    Check::pass(id, format!("the controller accepts {}", annotations.join(", ")))
}

pub(super) async fn auth_tls_secrets(reads: &Reads<'_>) -> Vec<Check> {
    let id = CheckId::IngressAuthTlsSecret;
    let wanted: Vec<(&IngressNeed, &str)> =
        reads.needs.ingresses.iter().filter_map(|i| i.auth_tls_secret().map(|s| (i, s))).collect();
    if wanted.is_empty() {
        return vec![Check::skip(id, "no Ingress sets auth-tls-secret")];
    }
    let mut out = Vec::new();
    for (ingress, named) in wanted {
        let (ns, name) = named.split_once('/').unwrap_or((reads.needs.namespace.as_str(), named));
        let hint = format!("create Secret {ns}/{name} with the client CA bundle under key ca.crt");
        let check = match reads.cluster.secret_shape(ns, name).await {
            Err(e) => Check::unreadable(id, &e.to_string()),
            Ok(None) => Check::fail(
                id,
                format!("does not exist: Ingress {} cannot verify client certificates", ingress.name),
                hint,
            ),
            Ok(Some(s)) if s.keys.iter().any(|k| k == "ca.crt") => Check::pass(id, "exists with ca.crt"),
            Ok(Some(s)) => Check::fail(id, format!("has no key ca.crt (keys: {})", s.keys.join(", ")), hint)
                .observed(json!({"secret": format!("{ns}/{name}"), "keys": s.keys})),
        };
        out.push(check.on(Some(&ingress.release), format!("Secret {ns}/{name}")));
    }
    out
}

/// Whether each Ingress has, or will get, a load-balancer address. Argo CD's Ingress health is
/// Progressing until `status.loadBalancer.ingress` is set, so an app-of-apps wave waits forever
/// on a controller that publishes none; without Argo CD nothing waits for it.
pub(super) async fn load_balancer(reads: &Reads<'_>) -> Vec<Check> {
    let id = CheckId::IngressLoadBalancer;
    if reads.needs.ingresses.is_empty() {
        return vec![Check::skip(id, "no Ingress is rendered")];
    }
    let hint = "make the ingress controller publish an address (ingress-nginx: --publish-service=NS/SVC of a \
                LoadBalancer Service that has one, or --publish-status-address=ADDRESS), or give Argo CD a health \
                override for networking.k8s.io/Ingress (resource.customizations)";
    let mut out = Vec::new();
    let mut undeployed: Vec<&IngressNeed> = Vec::new();
    for ingress in &reads.needs.ingresses {
        let check = match reads.cluster.live_ingress(&ingress.name).await {
            Err(e) => Check::unreadable(id, &e.to_string()),
            Ok(Some(live)) if !live.addresses.is_empty() => {
                Check::pass(id, format!("published address {}", live.addresses.join(", ")))
            }
            Ok(Some(live)) if live.argocd => Check::fail(
                id,
                "deployed by Argo CD and has no load-balancer address: Argo CD reports it Progressing and the \
                 app-of-apps waits",
                hint,
            ),
            Ok(Some(_)) => Check::warn(
                id,
                "deployed, but has no load-balancer address: fine for panda-install, but Argo CD would report it \
                 Progressing forever",
                hint,
            ),
            Ok(None) => {
                undeployed.push(ingress);
                continue;
            }
        };
        out.push(check.on(Some(&ingress.release), format!("Ingress {}", ingress.name)));
    }
    for (class, ingresses) in by_class(undeployed.into_iter()) {
        let release = one_release(ingresses.iter().map(|i| i.release.as_str()));
        let check = predict_address(reads, class, hint).await;
        let message = format!("{} (not deployed yet): {}", names(&ingresses), check.message);
        out.push(Check { message, ..check }.on(release, class_label(class)));
    }
    out
}

/// Before the Ingress exists: whether its controller will publish an address, from its flags
/// (ingress-nginx: `--publish-status-address`, else `--publish-service`'s addresses, else the
/// nodes of its ready pods; `--update-status=false` publishes nothing).
async fn predict_address(reads: &Reads<'_>, class: Option<&str>, hint: &str) -> Check {
    let id = CheckId::IngressLoadBalancer;
    let workloads = match controller_for(reads, class, id).await {
        Err(c) => return c,
        Ok(Found::Workloads(_, w)) => w,
        Ok(Found::Other(c)) => {
            return Check::warn(
                id,
                format!("cannot tell whether {} publishes load-balancer addresses", c.controller),
                hint,
            )
        }
        Ok(Found::NoWorkload(c)) => {
            return Check::warn(
                id,
                format!(
                    "no ingress-nginx workload for {} found to tell whether it publishes addresses",
                    c.controller
                ),
                hint,
            )
        }
    };
    let mut reasons = Vec::new();
    for w in &workloads {
        if flag(&w.args, "update-status").as_deref() == Some("false") {
            reasons.push(format!("{} runs with --update-status=false", w.workload));
        } else if let Some(address) = flag(&w.args, "publish-status-address").filter(|a| !a.is_empty()) {
            return Check::pass(id, format!("{} publishes {address}", w.workload));
        } else if let Some(svc) = flag(&w.args, "publish-service").filter(|s| !s.is_empty()) {
            let (ns, name) = svc.split_once('/').unwrap_or((w.namespace.as_str(), svc.as_str()));
            match reads.cluster.service(ns, name).await {
                Err(e) => return Check::unreadable(id, &e.to_string()),
                Ok(None) => reasons
                    .push(format!("{} publishes Service {ns}/{name}, which does not exist", w.workload)),
                Ok(Some(s)) if s.type_ == "LoadBalancer" && s.addresses.is_empty() => reasons.push(format!(
                    "{} publishes Service {ns}/{name} (LoadBalancer), which has no external address yet",
                    w.workload
                )),
                Ok(Some(s)) => {
                    return Check::pass(
                        id,
                        format!("{} publishes the address of Service {ns}/{name} ({})", w.workload, s.type_),
                    )
                }
            }
        } else if w.ready > 0 {
            return Check::pass(id, format!("{} publishes the addresses of its nodes", w.workload));
        } else {
            reasons.push(format!("{} has no ready pod", w.workload));
        }
    }
    Check::warn(id, format!("they would get no address: {}", reasons.join("; ")), hint)
}

/// What serves an Ingress class: ingress-nginx workloads, another controller, or nothing found.
enum Found<'a> {
    Workloads(&'a IngressClassInfo, Vec<&'a ControllerWorkload>),
    Other(&'a IngressClassInfo),
    NoWorkload(&'a IngressClassInfo),
}

/// The class of `name` and its controller; `Err` carries the check to report when either
/// cannot be known.
async fn controller_for<'a>(
    reads: &'a Reads<'_>,
    name: Option<&str>,
    id: CheckId,
) -> Result<Found<'a>, Check> {
    let classes = reads.ingress_classes().await.as_ref().map_err(|e| Check::unreadable(id, e))?;
    let class =
        resolve(classes, name).map_err(|why| Check::skip(id, format!("{why} (see ingress.class)")))?;
    let controllers = reads.controllers().await.as_ref().map_err(|e| Check::unreadable(id, e))?;
    let workloads = serving(controllers, class);
    if !workloads.is_empty() {
        return Ok(Found::Workloads(class, workloads));
    }
    if class.controller == NGINX_CONTROLLER
        || controllers.iter().any(|w| flag(&w.args, "controller-class").is_some())
    {
        return Ok(Found::NoWorkload(class));
    }
    Ok(Found::Other(class))
}

pub(super) async fn route_api(reads: &Reads<'_>) -> Vec<Check> {
    let id = CheckId::RouteApi;
    if reads.needs.openshift_routes.is_empty() {
        return vec![Check::skip(id, "no OpenShift Route is rendered")];
    }
    let routes = &reads.needs.openshift_routes;
    let release = one_release(routes.iter().map(|r| r.release.as_str()));
    let used_by = routes.iter().map(|r| format!("Route {}", r.name)).collect::<Vec<_>>().join(", ");
    let check = match reads.cluster.serves_group_version("route.openshift.io", "v1").await {
        Err(e) => Check::unreadable(id, &e.to_string()),
        Ok(true) => Check::pass(id, format!("served, for {used_by}")),
        Ok(false) => Check::fail(
            id,
            format!("not served (not OpenShift): {used_by} cannot be created"),
            "use global.exposure=ingress or gateway, or turn route.enabled off",
        ),
    };
    vec![check.on(release, "API route.openshift.io/v1")]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn go_flags_in_every_spelling() {
        let a = args(&[
            "/nginx-ingress-controller",
            "--enable-ssl-passthrough",
            "--configmap=ing/cfg",
            "-publish-service",
            "ing/svc",
        ]);
        assert!(on(&a, "enable-ssl-passthrough"));
        assert_eq!(flag(&a, "configmap").as_deref(), Some("ing/cfg"));
        assert_eq!(flag(&a, "publish-service").as_deref(), Some("ing/svc"));
        assert!(!on(&args(&["--enable-ssl-passthrough=false"]), "enable-ssl-passthrough"));
        assert!(on(&args(&["--enable-ssl-passthrough=true"]), "enable-ssl-passthrough"));
        assert!(!on(&args(&["--enable-ssl-passthrough-x"]), "enable-ssl-passthrough"));
        assert!(flag(&args(&["--controller-class-x=y"]), "controller-class").is_none());
    }

    fn class(name: &str, controller: &str, default: bool) -> IngressClassInfo {
        IngressClassInfo { name: name.into(), controller: controller.into(), default }
    }

    #[test]
    fn classes_resolve_by_name_or_single_default() {
        let classes = [
            class("nginx", NGINX_CONTROLLER, false),
            class("traefik", "traefik.io/ingress-controller", true),
        ];
        assert_eq!(resolve(&classes, Some("nginx")).unwrap().name, "nginx");
        assert_eq!(resolve(&classes, None).unwrap().name, "traefik");
        assert!(resolve(&classes, Some("haproxy")).is_err());
        assert!(resolve(&[class("a", "x", true), class("b", "y", true)], None)
            .unwrap_err()
            .contains("2 are marked default"));
    }

    #[test]
    fn controllers_serve_the_class_of_their_controller_class() {
        let w = |args_: &[&str]| ControllerWorkload {
            workload: "Deployment a/b".into(),
            namespace: "a".into(),
            args: args(args_),
            ready: 1,
        };
        let controllers = [w(&["/c"]), w(&["/c", "--controller-class=example.org/internal"])];
        assert_eq!(serving(&controllers, &class("nginx", NGINX_CONTROLLER, false)).len(), 1);
        assert_eq!(serving(&controllers, &class("internal", "example.org/internal", false)).len(), 1);
        assert!(serving(&controllers, &class("t", "traefik.io/ingress-controller", false)).is_empty());
    }
}
