//! Gateway API checks: the CRDs of the rendered kinds, the GatewayClass of our own Gateways, the
//! operator's Gateway each route attaches to (exists, has a listener that accepts the route,
//! Accepted and Programmed), and, once deployed, the routes' and ClientTrafficPolicies' status.

use super::reads::{self, Reads, CLIENT_TRAFFIC_POLICY, GATEWAY, GATEWAY_CLASS};
use super::{one_release, Check, CheckId};
use crate::plan::requirements::{GatewayRoute, ParentRef, RouteKind, GATEWAY_GROUP};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const CRD_HINT: &str = "install the Gateway API Standard CRDs v1.5 or newer (kubectl apply --server-side -f \
                        standard-install.yaml of the release; Envoy Gateway's chart for ClientTrafficPolicy)";

pub(super) async fn crds(reads: &Reads<'_>) -> Vec<Check> {
    let id = CheckId::GatewayCrds;
    let needed = reads::needed_crds(reads.needs);
    if needed.is_empty() {
        return vec![Check::skip(id, "no Gateway API object is rendered")];
    }
    let found = reads.crds().await;
    needed
        .into_iter()
        .map(|(resource, users)| {
            let name = reads::crd_name(resource);
            let used_by = users.join(", ");
            let check = match found.get(&name) {
                None => Check::unreadable(id, &format!("CRD {name} was not read")),
                Some(Err(e)) => Check::unreadable(id, e),
                Some(Ok(None)) => Check::fail(id, format!("not installed: {used_by} cannot be created"), CRD_HINT),
                Some(Ok(Some(crd))) => {
                    let observed = json!({"crd": name, "servedVersions": crd.served, "bundleVersion": crd.bundle_version,
                                          "channel": crd.channel});
                    if !crd.served.iter().any(|v| v == resource.1) {
                        Check::fail(
                            id,
                            format!("serves {} but not {} (needed by {used_by})", crd.served.join(", "), resource.1),
                            CRD_HINT,
                        )
                    } else if !crd.established {
                        Check::fail(id, "installed but not Established yet", "wait for it, or see kubectl describe crd")
                    } else if crd.channel.as_deref() == Some("experimental") {
                        Check::warn(
                            id,
                            format!("serves {} from the experimental channel", resource.1),
                            "prefer the Standard channel CRDs (some clusters refuse experimental ones)",
                        )
                    } else {
                        let bundle = crd.bundle_version.as_deref().map(|b| format!(" (bundle {b})")).unwrap_or_default();
                        Check::pass(id, format!("serves {}{bundle}", resource.1))
                    }
                    .observed(observed)
                }
            };
            check.on(None, format!("CustomResourceDefinition {name}"))
        })
        .collect()
}

pub(super) async fn classes(reads: &Reads<'_>) -> Vec<Check> {
    let id = CheckId::GatewayClass;
    let mut by_class: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for g in &reads.needs.own_gateways {
        by_class.entry(g.class_name.as_str()).or_default().push(g.release.as_str());
    }
    if by_class.is_empty() {
        return vec![Check::skip(id, "no Gateway of our own is rendered")];
    }
    if !reads.serves(GATEWAY_CLASS).await {
        return vec![Check::skip(id, "the GatewayClass CRD is not installed (see gateway.crds)")];
    }
    let hint = "install the Gateway API implementation, or fix global.gateway.className";
    let mut out = Vec::new();
    for (name, releases) in by_class {
        let check = match reads.cluster.custom_object(GATEWAY_CLASS, None, name).await {
            Err(e) => Check::unreadable(id, &e.to_string()),
            Ok(None) => Check::fail(id, "does not exist: our Gateways would never be programmed", hint),
            Ok(Some(class)) => {
                let controller = class["spec"]["controllerName"].as_str().unwrap_or_default().to_string();
                let accepted = condition(&class["status"]["conditions"], "Accepted");
                let observed = json!({"className": name, "controllerName": controller, "accepted": accepted.map(|c| &c["status"])});
                match accepted.and_then(|c| c["status"].as_str()) {
                    Some("True") => Check::pass(id, format!("accepted by {controller}")),
                    Some("False") => {
                        Check::fail(id, format!("not accepted by {controller}: {}", reason(accepted)), hint)
                    }
                    _ => Check::warn(id, format!("{controller} has not accepted it (yet)"), hint),
                }
                .observed(observed)
            }
        };
        out.push(check.on(one_release(releases.into_iter()), format!("GatewayClass {name}")));
    }
    out
}

pub(super) async fn exists(reads: &Reads<'_>) -> Vec<Check> {
    let id = CheckId::GatewayExists;
    let wanted = reads.needs.parent_gateways();
    if wanted.is_empty() {
        return vec![Check::skip(id, "no route attaches to a Gateway of the operator's")];
    }
    if !reads.serves(GATEWAY).await {
        return vec![Check::skip(id, "the Gateway CRD is not installed (see gateway.crds)")];
    }
    let gateways = reads.gateways().await;
    wanted
        .into_iter()
        .map(|(ns, name)| {
            let routes = routes_to(reads, &ns, &name);
            let release = one_release(routes.iter().map(|r| r.release.as_str()));
            let check = match gateways.get(&(ns.clone(), name.clone())) {
                None => Check::unreadable(id, &format!("Gateway {ns}/{name} was not read")),
                Some(Err(e)) => Check::unreadable(id, e),
                Some(Ok(None)) => Check::fail(
                    id,
                    format!("does not exist: {} would attach to nothing", route_names(&routes)),
                    format!(
                        "create Gateway {ns}/{name} or fix global.gateway.name / global.gateway.namespace"
                    ),
                ),
                Some(Ok(Some(g))) => Check::pass(
                    id,
                    format!("exists (class {})", g["spec"]["gatewayClassName"].as_str().unwrap_or("?")),
                ),
            };
            check
                .on(release, format!("Gateway {ns}/{name}"))
                .observed(json!({"gateway": format!("{ns}/{name}")}))
        })
        .collect()
}

fn routes_to<'a>(reads: &'a Reads<'_>, ns: &str, name: &str) -> Vec<&'a GatewayRoute> {
    reads
        .needs
        .routes
        .iter()
        .filter(|r| r.parents.iter().any(|p| p.is_gateway() && p.namespace == ns && p.name == name))
        .collect()
}

fn route_names(routes: &[&GatewayRoute]) -> String {
    routes.iter().map(|r| format!("{} {}", r.kind.kind(), r.name)).collect::<Vec<_>>().join(", ")
}

/// One listener of a Gateway, as the attachment rules read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Listener {
    pub(super) name: String,
    pub(super) protocol: String,
    /// `tls.mode` (the API default is Terminate).
    pub(super) tls_mode: String,
    pub(super) hostname: Option<String>,
    pub(super) port: Option<i64>,
    pub(super) kinds: Vec<(String, String)>,
    /// `allowedRoutes.namespaces.from` (default Same) and its selector.
    pub(super) from: String,
    pub(super) selector: Value,
}

pub(super) fn listeners(gateway: &Value) -> Vec<Listener> {
    gateway["spec"]["listeners"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| Listener {
            name: l["name"].as_str().unwrap_or_default().into(),
            protocol: l["protocol"].as_str().unwrap_or_default().into(),
            tls_mode: l["tls"]["mode"].as_str().unwrap_or("Terminate").into(),
            hostname: l["hostname"].as_str().map(String::from),
            port: l["port"].as_i64(),
            kinds: l["allowedRoutes"]["kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|k| {
                    (
                        k["group"].as_str().unwrap_or(GATEWAY_GROUP).to_string(),
                        k["kind"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
            from: l["allowedRoutes"]["namespaces"]["from"].as_str().unwrap_or("Same").into(),
            selector: l["allowedRoutes"]["namespaces"]["selector"].clone(),
        })
        .collect()
}

/// A listener hostname accepts a route hostname when it is equal, or a `*.` wildcard whose
/// suffix the route hostname ends with (one or more labels in front).
pub(super) fn host_matches(listener: &str, route: &str) -> bool {
    match listener.strip_prefix('*') {
        Some(suffix) => route.ends_with(suffix) && route.len() > suffix.len(),
        None => listener.eq_ignore_ascii_case(route),
    }
}

/// Whether a label selector (`matchLabels`, `matchExpressions`) selects `labels`.
pub(super) fn selects(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    let by_labels = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str());
    let by_expressions = selector["matchExpressions"].as_array().into_iter().flatten().all(|e| {
        let key = e["key"].as_str().unwrap_or_default();
        let values: Vec<&str> =
            e["values"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        match e["operator"].as_str() {
            Some("In") => labels.get(key).is_some_and(|v| values.contains(&v.as_str())),
            Some("NotIn") => labels.get(key).is_none_or(|v| !values.contains(&v.as_str())),
            Some("Exists") => labels.contains_key(key),
            Some("DoesNotExist") => !labels.contains_key(key),
            _ => false,
        }
    });
    by_labels && by_expressions
}

/// Why a listener does not accept the route through `parent` (`None`: it does).
pub(super) fn refuses(
    l: &Listener,
    route: &GatewayRoute,
    parent: &ParentRef,
    gateway_namespace: &str,
    namespace_labels: &BTreeMap<String, String>,
) -> Option<String> {
    if parent.section_name.as_ref().is_some_and(|s| s != &l.name) {
        return Some("not the parentRef's sectionName".into());
    }
    if let (Some(want), Some(have)) = (parent.port, l.port) {
        if want != have {
            return Some(format!("port {have}, the parentRef asks for {want}"));
        }
    }
    let protocol_ok = match route.kind {
        RouteKind::Tls => l.protocol == "TLS" && l.tls_mode == "Passthrough",
        RouteKind::Http => l.protocol == "HTTPS" || l.protocol == "HTTP",
    };
    if !protocol_ok {
        let need = match route.kind {
            RouteKind::Tls => "protocol TLS with tls.mode Passthrough",
            RouteKind::Http => "protocol HTTPS (or HTTP)",
        };
        let mode = if l.protocol == "TLS" || l.protocol == "HTTPS" {
            format!(" ({})", l.tls_mode)
        } else {
            String::new()
        };
        return Some(format!("protocol {}{mode}, a {} needs {need}", l.protocol, route.kind.kind()));
    }
    if !l.kinds.is_empty() && !l.kinds.iter().any(|(g, k)| g == GATEWAY_GROUP && k == route.kind.kind()) {
        return Some(format!("allowedRoutes.kinds does not list {}", route.kind.kind()));
    }
    if let Some(h) = &l.hostname {
        if !route.hostnames.is_empty() && !route.hostnames.iter().any(|r| host_matches(h, r)) {
            return Some(format!("hostname {h} does not match {}", route.hostnames.join(", ")));
        }
    }
    let allowed = match l.from.as_str() {
        "All" => true,
        "Same" => route.namespace == gateway_namespace,
        "Selector" => selects(&l.selector, namespace_labels),
        _ => false,
    };
    if !allowed {
        return Some(format!(
            "allowedRoutes.namespaces.from {} does not admit namespace {}",
            l.from, route.namespace
        ));
    }
    None
}

/// The labels the route namespace has, or will have once created (`kubernetes.io/metadata.name`
/// is set on every namespace).
async fn route_namespace_labels(reads: &Reads<'_>) -> Result<BTreeMap<String, String>, String> {
    let mut labels = reads.namespace().await.clone()?.unwrap_or_default();
    labels.insert("kubernetes.io/metadata.name".into(), reads.needs.namespace.clone());
    Ok(labels)
}

pub(super) async fn listeners_check(reads: &Reads<'_>) -> Vec<Check> {
    let id = CheckId::GatewayListeners;
    let pairs = operator_parents(reads);
    if pairs.is_empty() {
        return vec![Check::skip(id, "no route attaches to a Gateway of the operator's")];
    }
    if !reads.serves(GATEWAY).await {
        return vec![Check::skip(id, "the Gateway CRD is not installed (see gateway.crds)")];
    }
    let labels = route_namespace_labels(reads).await;
    let gateways = reads.gateways().await;
    let mut out = Vec::new();
    for (route, parent) in pairs {
        let subject = format!("{} {}", route.kind.kind(), route.name);
        let gateway = match gateways.get(&(parent.namespace.clone(), parent.name.clone())) {
            Some(Ok(Some(g))) => g,
            _ => {
                out.push(
                    Check::skip(
                        id,
                        format!("Gateway {} cannot be read (see gateway.exists)", parent.gateway()),
                    )
                    .on(Some(&route.release), subject),
                );
                continue;
            }
        };
        let labels = match &labels {
            Ok(l) => l,
            Err(e) => {
                out.push(Check::unreadable(id, e).on(Some(&route.release), subject));
                continue;
            }
        };
        out.push(judge_listeners(route, parent, gateway, labels).on(Some(&route.release), subject));
    }
    out
}

pub(super) fn judge_listeners(
    route: &GatewayRoute,
    parent: &ParentRef,
    gateway: &Value,
    labels: &BTreeMap<String, String>,
) -> Check {
    let id = CheckId::GatewayListeners;
    let all = listeners(gateway);
    let host = route.hostnames.first().cloned().unwrap_or_default();
    let (protocol, mode) = match route.kind {
        RouteKind::Tls => ("TLS", Some("Passthrough")),
        RouteKind::Http => ("HTTPS", None),
    };
    let observed = json!({"listeners": all.iter().map(|l| json!({"name": l.name, "protocol": l.protocol,
        "tlsMode": l.tls_mode, "hostname": l.hostname})).collect::<Vec<_>>()});
    let expected = json!({"protocol": protocol, "tlsMode": mode, "hostname": host, "kind": route.kind.kind(),
                          "namespace": route.namespace, "sectionName": parent.section_name});
    let verdicts: Vec<(&Listener, Option<String>)> =
        all.iter().map(|l| (l, refuses(l, route, parent, &parent.namespace, labels))).collect();
    let accepting: Vec<&str> =
        verdicts.iter().filter(|(_, why)| why.is_none()).map(|(l, _)| l.name.as_str()).collect();
    let check = if !accepting.is_empty() {
        Check::pass(id, format!("Gateway {} listener {} accepts it", parent.gateway(), accepting.join(", ")))
    } else {
        let why: Vec<String> =
            verdicts.iter().filter_map(|(l, w)| w.as_ref().map(|w| format!("{}: {w}", l.name))).collect();
        let missing = match &parent.section_name {
            Some(s) if !all.iter().any(|l| &l.name == s) => format!("it has no listener named {s}"),
            _ if all.is_empty() => "it has no listeners".into(),
            _ => why.join("; "),
        };
        let tls = mode.map(|m| format!(", tls: {{mode: {m}}}")).unwrap_or_default();
        Check::fail(
            id,
            format!("no listener of Gateway {} accepts it: {missing}", parent.gateway()),
            format!(
                "add a listener {{protocol: {protocol}, port: 443{tls}, hostname: {host}}} whose allowedRoutes admit \
                 {} from namespace {} (or fix the route's parentRef / global.gateway.*Listener)",
                route.kind.kind(),
                route.namespace
            ),
        )
    };
    check.observed(observed).expected(expected)
}

/// Every (route, parentRef) pair whose parent is a Gateway of the operator's (ours excluded).
fn operator_parents<'a>(reads: &'a Reads<'_>) -> Vec<(&'a GatewayRoute, &'a ParentRef)> {
    let own = |p: &ParentRef| {
        reads.needs.own_gateways.iter().any(|g| g.namespace == p.namespace && g.name == p.name)
    };
    reads
        .needs
        .routes
        .iter()
        .flat_map(|r| r.parents.iter().map(move |p| (r, p)))
        .filter(|(_, p)| p.is_gateway() && !own(p))
        .collect()
}

/// The condition of `type_` in a `conditions` list.
fn condition<'a>(conditions: &'a Value, type_: &str) -> Option<&'a Value> {
    conditions.as_array()?.iter().find(|c| c["type"] == type_)
}

fn reason(c: Option<&Value>) -> String {
    c.map(|c| format!("{} ({})", c["reason"].as_str().unwrap_or("?"), c["message"].as_str().unwrap_or("")))
        .unwrap_or_default()
}

/// How a set of conditions reads: all True, some False (with reasons), or not reported yet.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    True,
    False(Vec<String>),
    Pending(Vec<String>),
}

/// `types` of `conditions` judged together; `generation` (when given) must be what they observed.
pub(super) fn judge(conditions: &Value, types: &[&str], generation: Option<i64>, what: &str) -> Verdict {
    let (mut false_, mut pending) = (Vec::new(), Vec::new());
    for t in types {
        match condition(conditions, t) {
            Some(c) if c["status"] == "False" => {
                false_.push(format!("{what} {t}=False: {}", reason(Some(c))))
            }
            Some(c) if c["status"] == "True" => {
                if let (Some(g), Some(seen)) = (generation, c["observedGeneration"].as_i64()) {
                    if seen < g {
                        pending.push(format!("{what} {t} was reported for generation {seen}, not {g}"));
                    }
                }
            }
            Some(c) => pending.push(format!(
                "{what} {t}={}: {}",
                c["status"].as_str().unwrap_or("?"),
                reason(Some(c))
            )),
            None => pending.push(format!("{what} has no {t} condition")),
        }
    }
    if !false_.is_empty() {
        Verdict::False(false_)
    } else if !pending.is_empty() {
        Verdict::Pending(pending)
    } else {
        Verdict::True
    }
}

/// The Gateway's own conditions and those of the listeners our routes use.
pub(super) fn judge_gateway_status(gateway: &Value, used: &[String]) -> Check {
    let id = CheckId::GatewayStatus;
    let generation = gateway["metadata"]["generation"].as_i64();
    let status = &gateway["status"];
    let mut verdicts = vec![judge(&status["conditions"], &["Accepted", "Programmed"], generation, "Gateway")];
    for name in used {
        let listener =
            status["listeners"].as_array().into_iter().flatten().find(|l| l["name"] == name.as_str());
        let conditions = listener.map(|l| &l["conditions"]).unwrap_or(&Value::Null);
        verdicts.push(judge(
            conditions,
            &["Accepted", "Programmed", "ResolvedRefs"],
            None,
            &format!("listener {name}"),
        ));
    }
    let observed = json!({"conditions": status["conditions"].as_array().into_iter().flatten()
        .map(|c| json!({"type": c["type"], "status": c["status"], "reason": c["reason"]})).collect::<Vec<_>>()});
    let false_: Vec<String> = verdicts
        .iter()
        .filter_map(|v| if let Verdict::False(r) = v { Some(r.clone()) } else { None })
        .flatten()
        .collect();
    let pending: Vec<String> = verdicts
        .iter()
        .filter_map(|v| if let Verdict::Pending(r) = v { Some(r.clone()) } else { None })
        .flatten()
        .collect();
    let hint =
        "see kubectl describe gateway: the implementation's reason says what to fix (certificate, address, \
                listener conflict)";
    let check = if !false_.is_empty() {
        Check::fail(id, false_.join("; "), hint)
    } else if !pending.is_empty() {
        Check::warn(
            id,
            format!("not reconciled by a controller yet: {}", pending.join("; ")),
            "check that the Gateway API implementation runs and owns the GatewayClass",
        )
    } else if used.is_empty() {
        Check::pass(id, "Accepted and Programmed")
    } else {
        Check::pass(id, format!("Accepted and Programmed, listener(s) {} ready", used.join(", ")))
    };
    check.observed(observed)
}

pub(super) async fn status(reads: &Reads<'_>) -> Vec<Check> {
    let id = CheckId::GatewayStatus;
    let parents = operator_parents(reads);
    if parents.is_empty() && reads.needs.own_gateways.is_empty() {
        return vec![Check::skip(id, "no route attaches to a Gateway")];
    }
    if !reads.serves(GATEWAY).await {
        return vec![Check::skip(id, "the Gateway CRD is not installed (see gateway.crds)")];
    }
    let labels = route_namespace_labels(reads).await.unwrap_or_default();
    let gateways = reads.gateways().await;
    let mut out = Vec::new();
    for ((ns, name), found) in gateways {
        let Ok(Some(gateway)) = found else {
            out.push(
                Check::skip(id, "cannot be read (see gateway.exists)")
                    .on(None, format!("Gateway {ns}/{name}")),
            );
            continue;
        };
        let mut used: Vec<String> = Vec::new();
        let mine: Vec<&(&GatewayRoute, &ParentRef)> =
            parents.iter().filter(|(_, p)| &p.namespace == ns && &p.name == name).collect();
        for (route, parent) in &mine {
            for l in listeners(gateway) {
                if refuses(&l, route, parent, ns, &labels).is_none() && !used.contains(&l.name) {
                    used.push(l.name);
                }
            }
        }
        let release = one_release(mine.iter().map(|(r, _)| r.release.as_str()));
        out.push(judge_gateway_status(gateway, &used).on(release, format!("Gateway {ns}/{name}")));
    }
    for g in &reads.needs.own_gateways {
        let subject = format!("Gateway {}/{}", g.namespace, g.name);
        let check = match reads.cluster.custom_object(GATEWAY, Some(&g.namespace), &g.name).await {
            Err(e) => Check::unreadable(id, &e.to_string()),
            Ok(None) => Check::skip(id, "ours, not deployed yet (the install creates it)"),
            Ok(Some(live)) => {
                let used = listeners(&live).into_iter().map(|l| l.name).collect::<Vec<_>>();
                judge_gateway_status(&live, &used)
            }
        };
        out.push(check.on(Some(&g.release), subject));
    }
    out
}

pub(super) async fn routes(reads: &Reads<'_>) -> Vec<Check> {
    let id = CheckId::GatewayRoutes;
    if reads.needs.routes.is_empty() {
        return vec![Check::skip(id, "no Gateway API route is rendered")];
    }
    let mut out = Vec::new();
    for route in &reads.needs.routes {
        let subject = format!("{} {}", route.kind.kind(), route.name);
        let resource = reads::route_resource(route.kind);
        if !reads.serves(resource).await {
            out.push(
                Check::skip(id, "its CRD is not installed (see gateway.crds)")
                    .on(Some(&route.release), subject),
            );
            continue;
        }
        let check = match reads.cluster.custom_object(resource, Some(&route.namespace), &route.name).await {
            Err(e) => Check::unreadable(id, &e.to_string()),
            Ok(None) => Check::skip(id, "not deployed yet"),
            Ok(Some(live)) => judge_route_status(route, &live),
        };
        out.push(check.on(Some(&route.release), subject));
    }
    out
}

pub(super) fn judge_route_status(route: &GatewayRoute, live: &Value) -> Check {
    let id = CheckId::GatewayRoutes;
    let reported = live["status"]["parents"].as_array().cloned().unwrap_or_default();
    let mut false_ = Vec::new();
    let mut pending = Vec::new();
    for parent in &route.parents {
        let entry = reported.iter().find(|p| {
            let r = &p["parentRef"];
            r["name"] == parent.name.as_str()
                && r["namespace"].as_str().unwrap_or(&route.namespace) == parent.namespace
                && r["sectionName"].as_str() == parent.section_name.as_deref()
        });
        let what = format!("parent {}", parent.gateway());
        match entry.map(|e| judge(&e["conditions"], &["Accepted", "ResolvedRefs"], None, &what)) {
            None => pending.push(format!("no controller reported on {what}")),
            Some(Verdict::True) => {}
            Some(Verdict::False(r)) => false_.extend(r),
            Some(Verdict::Pending(r)) => pending.extend(r),
        }
    }
    let observed = json!({"parents": reported.iter().map(|p| json!({"parentRef": p["parentRef"], "conditions": p["conditions"]})).collect::<Vec<_>>()});
    let check = if !false_.is_empty() {
        Check::fail(
            id,
            false_.join("; "),
            "the condition's reason names the problem (listener, hostname, backend, ReferenceGrant)",
        )
    } else if !pending.is_empty() {
        Check::warn(id, pending.join("; "), "check that the Gateway API implementation runs")
    } else {
        Check::pass(id, "Accepted with its references resolved by every parent")
    };
    check.observed(observed)
}

pub(super) async fn client_traffic_policies(reads: &Reads<'_>) -> Vec<Check> {
    let id = CheckId::GatewayClientTrafficPolicy;
    if reads.needs.client_traffic_policies.is_empty() {
        return vec![Check::skip(id, "no ClientTrafficPolicy is rendered")];
    }
    let serves = reads.serves(CLIENT_TRAFFIC_POLICY).await;
    let mut out = Vec::new();
    for p in &reads.needs.client_traffic_policies {
        let subject = format!("ClientTrafficPolicy {}", p.name);
        let check = if !serves {
            Check::skip(id, "its CRD is not installed (see gateway.crds)")
        } else {
            match reads
                .cluster
                .custom_object(CLIENT_TRAFFIC_POLICY, Some(&reads.needs.namespace), &p.name)
                .await
            {
                Err(e) => Check::unreadable(id, &e.to_string()),
                Ok(None) => Check::skip(id, "not deployed yet"),
                Ok(Some(live)) => judge_policy_status(&live),
            }
        };
        out.push(check.on(Some(&p.release), subject));
    }
    out
}

pub(super) fn judge_policy_status(live: &Value) -> Check {
    let id = CheckId::GatewayClientTrafficPolicy;
    let ancestors = live["status"]["ancestors"].as_array().cloned().unwrap_or_default();
    let conflicted = ancestors
        .iter()
        .filter_map(|a| condition(&a["conditions"], "Conflicted"))
        .find(|c| c["status"] == "True");
    if let Some(c) = conflicted {
        return Check::fail(
            id,
            format!("Conflicted: {}", reason(Some(c))),
            "Envoy Gateway honours one ClientTrafficPolicy per listener: enable it on one component per listener",
        );
    }
    let verdicts: Vec<Verdict> =
        ancestors.iter().map(|a| judge(&a["conditions"], &["Accepted"], None, "ancestor")).collect();
    match verdicts.iter().find(|v| matches!(v, Verdict::False(_))) {
        Some(Verdict::False(r)) => Check::fail(id, r.join("; "), "see kubectl describe clienttrafficpolicy"),
        _ if verdicts.is_empty() || verdicts.iter().any(|v| matches!(v, Verdict::Pending(_))) => Check::warn(
            id,
            "not accepted by Envoy Gateway yet",
            "check that Envoy Gateway runs and owns the Gateway's class",
        ),
        _ => Check::pass(id, "Accepted"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Status::*;
    use super::*;

    fn route(kind: RouteKind, ns: &str, section: Option<&str>) -> (GatewayRoute, ParentRef) {
        let parent = ParentRef {
            group: GATEWAY_GROUP.into(),
            kind: "Gateway".into(),
            namespace: "gateway-system".into(),
            name: "gw".into(),
            section_name: section.map(String::from),
            port: None,
        };
        let r = GatewayRoute {
            release: "test-panda".into(),
            kind,
            name: "test-panda-server".into(),
            namespace: ns.into(),
            hostnames: vec!["pandaserver.example.org".into()],
            parents: vec![parent.clone()],
        };
        (r, parent)
    }

    fn gateway(listeners: Value) -> Value {
        json!({"metadata": {"name": "gw", "namespace": "gateway-system", "generation": 2}, "spec": {"listeners": listeners}})
    }

    #[test]
    fn a_tlsroute_needs_a_passthrough_listener() {
        let (r, p) = route(RouteKind::Tls, "panda", None);
        let https = json!({"name": "https", "protocol": "HTTPS", "port": 443, "allowedRoutes": {"namespaces": {"from": "All"}}});
        let labels = BTreeMap::new();
        let c = judge_listeners(&r, &p, &gateway(json!([https.clone()])), &labels);
        assert_eq!(c.status, Fail);
        assert!(
            c.message.contains(
                "protocol HTTPS (Terminate), a TLSRoute needs protocol TLS with tls.mode Passthrough"
            ),
            "{}",
            c.message
        );
        let tls = json!({"name": "tls", "protocol": "TLS", "port": 443, "tls": {"mode": "Passthrough"},
                         "hostname": "*.example.org", "allowedRoutes": {"namespaces": {"from": "All"}}});
        assert_eq!(judge_listeners(&r, &p, &gateway(json!([https, tls])), &labels).status, Pass);
    }

    #[test]
    fn namespaces_kinds_hostnames_and_section_names() {
        let (r, p) = route(RouteKind::Http, "panda", None);
        let l = |extra: Value| {
            let mut base = json!({"name": "https", "protocol": "HTTPS", "port": 443});
            base.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            listeners(&gateway(json!([base])))[0].clone()
        };
        let labels = BTreeMap::from([("team".to_string(), "panda".to_string())]);
        let same = l(json!({}));
        assert!(
            refuses(&same, &r, &p, "gateway-system", &labels).unwrap().contains("from Same"),
            "default is Same"
        );
        let sel = l(
            json!({"allowedRoutes": {"namespaces": {"from": "Selector", "selector": {"matchLabels": {"team": "panda"}}}}}),
        );
        assert!(refuses(&sel, &r, &p, "gateway-system", &labels).is_none());
        let other = l(json!({"allowedRoutes": {"namespaces": {"from": "Selector", "selector":
            {"matchExpressions": [{"key": "team", "operator": "In", "values": ["atlas"]}]}}}}));
        assert!(refuses(&other, &r, &p, "gateway-system", &labels).is_some());
        let kinds =
            l(json!({"allowedRoutes": {"namespaces": {"from": "All"}, "kinds": [{"kind": "GRPCRoute"}]}}));
        assert!(refuses(&kinds, &r, &p, "gateway-system", &labels).unwrap().contains("kinds"));
        let host = l(json!({"hostname": "*.other.org", "allowedRoutes": {"namespaces": {"from": "All"}}}));
        assert!(refuses(&host, &r, &p, "gateway-system", &labels).unwrap().contains("hostname"));
        let (r2, p2) = route(RouteKind::Http, "panda", Some("web"));
        let all = l(json!({"allowedRoutes": {"namespaces": {"from": "All"}}}));
        assert!(refuses(&all, &r2, &p2, "gateway-system", &labels).unwrap().contains("sectionName"));
        assert!(host_matches("*.example.org", "a.b.example.org"));
        assert!(!host_matches("*.example.org", "example.org"));
    }

    #[test]
    fn gateway_status_true_false_or_not_reconciled() {
        let cond = |t: &str, s: &str| json!({"type": t, "status": s, "reason": "R", "message": "m", "observedGeneration": 2});
        let mut g = gateway(json!([{"name": "tls"}]));
        g["status"] = json!({"conditions": [cond("Accepted", "True"), cond("Programmed", "True")],
            "listeners": [{"name": "tls", "conditions": [cond("Accepted", "True"), cond("Programmed", "True"), cond("ResolvedRefs", "True")]}]});
        assert_eq!(judge_gateway_status(&g, &["tls".into()]).status, Pass);
        g["status"]["listeners"][0]["conditions"][2] = cond("ResolvedRefs", "False");
        let c = judge_gateway_status(&g, &["tls".into()]);
        assert_eq!(c.status, Fail);
        assert!(c.message.contains("listener tls ResolvedRefs=False"), "{}", c.message);
        let pending = gateway(json!([]));
        assert_eq!(judge_gateway_status(&pending, &[]).status, Warn);
        let mut stale = g.clone();
        stale["metadata"]["generation"] = json!(3);
        stale["status"]["listeners"][0]["conditions"][2] = cond("ResolvedRefs", "True");
        assert_eq!(judge_gateway_status(&stale, &["tls".into()]).status, Warn);
    }

    #[test]
    fn routes_and_policies_read_their_status() {
        let (r, _) = route(RouteKind::Tls, "panda", None);
        let ok = json!({"type": "Accepted", "status": "True"});
        let refs = json!({"type": "ResolvedRefs", "status": "True"});
        let live = json!({"status": {"parents": [{"parentRef": {"name": "gw", "namespace": "gateway-system"}, "conditions": [ok, refs]}]}});
        assert_eq!(judge_route_status(&r, &live).status, Pass);
        assert_eq!(judge_route_status(&r, &json!({})).status, Warn);
        let bad = json!({"status": {"parents": [{"parentRef": {"name": "gw", "namespace": "gateway-system"},
            "conditions": [{"type": "Accepted", "status": "False", "reason": "NotAllowedByListeners"}]}]}});
        assert_eq!(judge_route_status(&r, &bad).status, Fail);
        let conflicted = json!({"status": {"ancestors": [{"conditions": [{"type": "Conflicted", "status": "True", "reason": "Conflicted"}]}]}});
        assert_eq!(judge_policy_status(&conflicted).status, Fail);
        let accepted =
            json!({"status": {"ancestors": [{"conditions": [{"type": "Accepted", "status": "True"}]}]}});
        assert_eq!(judge_policy_status(&accepted).status, Pass);
    }
}
