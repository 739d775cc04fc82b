//! Adoption of an upstream deployment: from what the plan would create and what the namespace
//! holds (both read by `run::adopt`), decide per object what happens. Pure.
//!
//! - An object with a planned name owned by another helm release, by Argo CD (tracking
//!   annotation, or `app.kubernetes.io/instance` of an existing Application) or by nobody is
//!   taken over with helm's `--take-ownership` when its kind and immutable fields allow it.
//! - A workload whose selector, StatefulSet `serviceName`/`volumeClaimTemplates` or kind differs
//!   is deleted without its pods (`propagationPolicy=Orphan`) and created again by helm; what it
//!   left runs on until the new tier is Ready, unless it must stop first (below).
//! - Old workloads that would keep running beside ours (upstream's server, JEDI, Harvester, iDDS,
//!   ...) are scaled to zero once the tier of their component is Ready, and kept for a rollback.
//! - Pods stop *before* the new ones start where two would clash: the same StatefulSet pod names,
//!   or a claim the new workload mounts too (two databases on one data directory).
//! - Claims are never deleted: every claim the plan reuses (`existingClaim`) and every claim or
//!   volume of a release being replaced gets `helm.sh/resource-policy: keep`.
//! - Refused even with `--adopt`: an Argo CD Application that still manages an object (it would
//!   sync it back or prune it), a claim whose immutable spec differs, a claim the values reuse
//!   that does not exist or is not Bound, and `--take-ownership` on a helm without it.

use super::selector::Selector;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub(crate) const KEEP: (&str, &str) = ("helm.sh/resource-policy", "keep");
pub(crate) const TRACKING: &str = "argocd.argoproj.io/tracking-id";
const PART_OF: &str = "app.kubernetes.io/part-of";
const WORKLOADS: [&str; 3] = ["Deployment", "StatefulSet", "DaemonSet"];

/// What the plan renders for one release.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    pub(crate) release: String,
    /// `None` for the secrets release.
    pub(crate) component: Option<String>,
    pub(crate) tier: usize,
    pub(crate) objects: Vec<Value>,
}

/// A release of the namespace with a planned name that panda-install's charts did not make.
#[derive(Debug, Clone)]
pub(crate) struct Foreign {
    pub(crate) chart: String,
    pub(crate) objects: Vec<Value>,
}

/// Everything read from the cluster.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seen {
    pub(crate) namespace: String,
    pub(crate) rendered: Vec<Rendered>,
    /// Live objects with a rendered object's name, per `Kind/name` of the rendered object
    /// (for workloads: any workload kind of that name).
    pub(crate) live: BTreeMap<String, Vec<Value>>,
    pub(crate) foreign: BTreeMap<String, Foreign>,
    /// Every Deployment and StatefulSet of the namespace.
    pub(crate) workloads: Vec<Value>,
    /// Claims the rendered objects mount by name, as they are (`None`: missing).
    pub(crate) claims: BTreeMap<String, Option<Value>>,
    /// Argo CD Applications that exist (`None`: Argo CD's API is not served here).
    pub(crate) argo_apps: Option<BTreeSet<String>>,
    /// helm can `--take-ownership` (helm 4, helm 3.17+).
    pub(crate) take_ownership_supported: bool,
}

/// An object to act on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub(crate) struct ObjectRef {
    pub(crate) api_version: String,
    pub(crate) kind: String,
    pub(crate) name: String,
}

impl ObjectRef {
    pub(crate) fn of(obj: &Value) -> ObjectRef {
        ObjectRef {
            api_version: obj["apiVersion"].as_str().unwrap_or("v1").to_string(),
            kind: obj["kind"].as_str().unwrap_or_default().to_string(),
            name: obj["metadata"]["name"].as_str().unwrap_or_default().to_string(),
        }
    }

    fn claim(name: &str) -> ObjectRef {
        ObjectRef { api_version: "v1".into(), kind: "PersistentVolumeClaim".into(), name: name.into() }
    }

    fn volume(name: &str) -> ObjectRef {
        ObjectRef { api_version: "v1".into(), kind: "PersistentVolume".into(), name: name.into() }
    }

    pub(crate) fn id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

/// One step that stops something old.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub(crate) enum Stop {
    /// Delete the controller without its pods (`propagationPolicy=Orphan`).
    Orphan { object: ObjectRef },
    /// Delete what an orphaned controller left (ReplicaSets, pods) matching its selector and not
    /// ours, and wait until its pods are gone.
    Leftovers { what: String, selector: Selector },
    /// Scale a workload to zero and wait until its pods are gone; the object stays.
    ScaleDown { object: ObjectRef, selector: Selector },
}

/// One line of the report: an object, who owns it, what happens to it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Finding {
    pub(crate) object: String,
    pub(crate) owner: String,
    pub(crate) happens: String,
}

/// The decision.
#[derive(Debug, Clone, Default)]
pub(crate) struct Adoption {
    pub(crate) findings: Vec<Finding>,
    /// Why even `--adopt` cannot proceed, each with what to do.
    pub(crate) refusals: Vec<String>,
    pub(crate) keep: BTreeSet<ObjectRef>,
    /// Objects whose Application is gone: their tracking annotation is removed.
    pub(crate) untrack: BTreeSet<ObjectRef>,
    pub(crate) take_ownership: BTreeSet<String>,
    /// Before a release's helm upgrade.
    pub(crate) before: BTreeMap<String, Vec<Stop>>,
    /// After a tier is Ready.
    pub(crate) after: BTreeMap<usize, Vec<Stop>>,
}

impl Adoption {
    /// Nothing to take over: the run goes on as usual.
    pub(crate) fn is_empty(&self) -> bool {
        self.findings.is_empty() && self.refusals.is_empty()
    }

    /// The report printed when a run is refused (and by `--adopt` before it starts).
    pub(crate) fn report(&self, adopting: bool) -> String {
        let mut text = String::from("the namespace holds what the plan would create or run beside:\n");
        for f in &self.findings {
            text.push_str(&format!("  {}: {}\n      --adopt: {}\n", f.object, f.owner, f.happens));
        }
        if !self.refusals.is_empty() {
            text.push_str("refused even with --adopt:\n");
            for r in &self.refusals {
                text.push_str(&format!("  - {r}\n"));
            }
        } else if !adopting {
            text.push_str("nothing was changed. To take over as listed, run the same command with --adopt (docs/moving-in.md)\n");
        }
        text
    }
}

fn labels(obj: &Value) -> BTreeMap<String, String> {
    obj["metadata"]["labels"]
        .as_object()
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect())
        .unwrap_or_default()
}

fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj["metadata"]["annotations"].get(key).and_then(Value::as_str)
}

fn is_ours(obj: &Value) -> bool {
    labels(obj).get(PART_OF).map(String::as_str) == Some("panda")
}

fn id(obj: &Value) -> String {
    ObjectRef::of(obj).id()
}

/// Whether an object panda-install did not make could collide with or run beside the plan: its
/// name is a planned release's or starts with one (`<release>-...`, every object the charts name),
/// a helm release annotation or `app.kubernetes.io/instance` names a planned release, it carries an
/// Argo CD tracking annotation, or it is a workload of a role panda-install replaces (upstream's
/// `app.kubernetes.io/name`). The deployer's own ServiceAccount, OpenShift's injected objects
/// (`openshift-service-ca.crt`, the `builder`/`deployer` accounts) and unrelated workloads are not.
pub(crate) fn could_collide(obj: &Value, releases: &BTreeSet<String>) -> bool {
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let l = labels(obj);
    let planned = |n: &str| releases.contains(n);
    let named = releases.iter().any(|r| name == r || name.starts_with(&format!("{r}-")));
    let released = annotation(obj, "meta.helm.sh/release-name").is_some_and(planned);
    let instance = l.get("app.kubernetes.io/instance").is_some_and(|i| planned(i));
    let tracked = annotation(obj, TRACKING).is_some();
    let role = l.get("app.kubernetes.io/name").map(String::as_str).unwrap_or_default();
    let upstream = WORKLOADS.contains(&obj["kind"].as_str().unwrap_or_default())
        && component_of(role, l.get("app.kubernetes.io/instance").map(String::as_str).unwrap_or_default())
            .is_some();
    named || released || instance || tracked || upstream
}

/// Whether any object read for adoption carries an Argo CD tracking annotation (only then are
/// Argo CD's Applications, a cluster-wide list, read).
pub(crate) fn tracking_seen(seen: &Seen) -> bool {
    let tracked = |o: &Value| annotation(o, TRACKING).is_some();
    seen.live.values().flatten().any(tracked)
        || seen.workloads.iter().any(tracked)
        || seen.claims.values().flatten().any(tracked)
        || seen.foreign.values().flat_map(|f| f.objects.iter()).any(tracked)
}

/// Who owns a live object, and whether it blocks adoption.
enum Owner {
    Planned,
    Foreign(String, String),
    Leftover(String),
    Release(String),
    Argo { app: String, exists: bool },
    Nobody,
}

fn owner(obj: &Value, planned: &str, seen: &Seen) -> Owner {
    if let Some(release) = annotation(obj, "meta.helm.sh/release-name") {
        if let Some(f) = seen.foreign.get(release) {
            return Owner::Foreign(release.to_string(), f.chart.clone());
        }
        if release == planned {
            // an object an earlier, other chart left under this release's name counts as foreign
            return if is_ours(obj) { Owner::Planned } else { Owner::Leftover(release.to_string()) };
        }
        return Owner::Release(release.to_string());
    }
    let apps = seen.argo_apps.as_ref();
    if let Some(tracking) = annotation(obj, TRACKING) {
        let app = tracking.split(':').next().unwrap_or_default().to_string();
        let exists = apps.is_some_and(|a| a.contains(&app));
        return Owner::Argo { app, exists };
    }
    if let Some(instance) = labels(obj).get("app.kubernetes.io/instance") {
        if apps.is_some_and(|a| a.contains(instance)) {
            return Owner::Argo { app: instance.clone(), exists: true };
        }
    }
    Owner::Nobody
}

fn describe(owner: &Owner) -> String {
    match owner {
        Owner::Planned => "this run's own release".into(),
        Owner::Foreign(r, chart) => {
            format!("helm release {r} (chart {chart}, not panda-install's: upgraded in place with ours)")
        }
        Owner::Leftover(r) => format!("release {r}, from a chart that was not panda-install's (left behind)"),
        Owner::Release(r) => format!("another helm release, {r}"),
        Owner::Argo { app, exists: true } => format!("Argo CD Application {app} (still exists)"),
        Owner::Argo { app, exists: false } => {
            format!("Argo CD Application {app} (gone; its tracking annotation is left)")
        }
        Owner::Nobody => "nobody (no helm or Argo CD metadata)".into(),
    }
}

fn argo_refusal(object: &str, app: &str) -> String {
    format!(
        "{object}: Argo CD Application {app} still manages it and would sync it back or prune it. Delete the Application \
         without deleting its resources first (`kubectl -n <argocd namespace> delete application {app}` when it has no \
         resources finalizer, else `argocd app delete {app} --cascade=false`; docs/moving-in.md), then run again"
    )
}

/// Claims a workload's pods mount by name.
fn mounted_claims(obj: &Value) -> BTreeSet<String> {
    obj["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str().map(String::from))
        .collect()
}

/// The immutable part of each claim template: name, size, class (unset: the cluster's default)
/// and access modes.
fn claim_templates(obj: &Value) -> Vec<(String, String, String, Vec<String>)> {
    let mut out: Vec<_> = obj["spec"]["volumeClaimTemplates"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            let spec = &t["spec"];
            let mut modes: Vec<String> =
                spec["accessModes"].as_array().into_iter().flatten().map(text).collect();
            modes.sort();
            (
                text(&t["metadata"]["name"]),
                text(&spec["resources"]["requests"]["storage"]),
                text(&spec["storageClassName"]),
                modes,
            )
        })
        .collect();
    out.sort();
    out
}

/// What makes helm unable to update a live object in place.
fn immutable_change(rendered: &Value, live: &Value) -> Option<String> {
    let (rk, lk) = (rendered["kind"].as_str().unwrap_or_default(), live["kind"].as_str().unwrap_or_default());
    if rk != lk {
        return Some(format!("the kind changes from {lk} to {rk}"));
    }
    if rk == "Service" {
        let headless = |o: &Value| o["spec"]["clusterIP"] == "None";
        return (headless(rendered) != headless(live)).then(|| {
            format!(
                "it turns {} (clusterIP is immutable)",
                if headless(rendered) { "headless" } else { "from headless into a virtual IP" }
            )
        });
    }
    if !WORKLOADS.contains(&rk) {
        return None;
    }
    if Selector::of_workload(rendered) != Selector::of_workload(live) {
        return Some("its selector differs (immutable)".into());
    }
    if rk == "StatefulSet" {
        if rendered["spec"]["serviceName"] != live["spec"]["serviceName"] {
            return Some("its serviceName differs (immutable)".into());
        }
        let policy =
            |o: &Value| o["spec"]["podManagementPolicy"].as_str().unwrap_or("OrderedReady").to_string();
        if policy(rendered) != policy(live) {
            return Some("its podManagementPolicy differs (immutable)".into());
        }
        if claim_templates(rendered) != claim_templates(live) {
            return Some("its volumeClaimTemplates differ (immutable)".into());
        }
    }
    None
}

fn selector_refusal(object: &str, why: &str) -> String {
    format!(
        "{object}: its selector {why}: panda-install cannot tell its pods from others' by it and stops or deletes \
         nothing by such a selector. Scale it to 0 and delete it yourself (kubectl delete --cascade=foreground), then \
         run again"
    )
}

/// Whether a claim's immutable spec would change.
fn claim_change(rendered: &Value, live: &Value) -> Option<String> {
    let modes = |o: &Value| o["spec"]["accessModes"].clone();
    if modes(rendered) != modes(live) {
        return Some("its access modes differ".into());
    }
    let class = rendered["spec"]["storageClassName"].as_str();
    if class.is_some() && class != live["spec"]["storageClassName"].as_str() {
        return Some("its storage class differs".into());
    }
    None
}

/// upstream's generic `app.kubernetes.io/name` of a workload, with its instance, as our component.
fn component_of(role: &str, instance: &str) -> Option<&'static str> {
    Some(match role {
        "server" | "jedi" | "nodeRecovery" => "panda",
        "harvester" => "harvester",
        "rest" | "daemon" => "idds",
        "activemq" => "msgsvc",
        "postgres" if instance.contains("idds") => "idds",
        "postgres" => "panda",
        "mariadb" if instance.contains("iam") => "iam",
        "mariadb" => "harvester",
        "main" if instance.contains("iam") => "iam",
        "main" => "bigmon",
        "backend" | "frontend" => "ui",
        _ => return None,
    })
}

fn mounter(release: &str) -> String {
    if release.starts_with('(') {
        "a release of this run".into()
    } else {
        format!("release {release}")
    }
}

fn replicas(obj: &Value) -> i64 {
    obj["spec"]["replicas"].as_i64().unwrap_or(1).max(obj["status"]["replicas"].as_i64().unwrap_or(0))
}

pub(crate) fn decide(seen: &Seen) -> Adoption {
    let mut a = Adoption::default();
    foreign_releases(seen, &mut a);
    same_named(seen, &mut a);
    reused_claims(seen, &mut a);
    old_workloads(seen, &mut a);
    if !a.take_ownership.is_empty() && !seen.take_ownership_supported {
        a.refusals
            .push("taking objects over needs helm's --take-ownership: use helm 4 (or helm 3.17+)".into());
    }
    a.refusals.sort();
    a.refusals.dedup();
    a
}

/// Pass 1: releases of planned names made from another chart; their claims and volumes are kept.
fn foreign_releases(seen: &Seen, a: &mut Adoption) {
    let rendered_ids: BTreeSet<String> =
        seen.rendered.iter().flat_map(|r| r.objects.iter().map(id)).collect();
    for (release, foreign) in &seen.foreign {
        a.findings.push(Finding {
            object: format!("release {release}"),
            owner: format!("helm release from chart {}, not panda-install's", foreign.chart),
            happens: "upgraded in place with ours; helm deletes its objects ours lacks, except the claims, volumes and \
                      workloads listed here (kept)"
                .into(),
        });
        for obj in &foreign.objects {
            let kind = obj["kind"].as_str().unwrap_or_default();
            if matches!(kind, "PersistentVolumeClaim" | "PersistentVolume")
                && !rendered_ids.contains(&id(obj))
            {
                a.keep.insert(ObjectRef::of(obj));
                a.findings.push(Finding {
                    object: id(obj),
                    owner: format!("helm release {release}"),
                    happens: "marked helm.sh/resource-policy: keep, so the upgrade leaves it and its data"
                        .into(),
                });
            }
        }
    }
}

/// Pass 2: live objects with a planned name: taken over, or deleted (workloads without their
/// pods) and created again where an immutable field differs.
fn same_named(seen: &Seen, a: &mut Adoption) {
    for r in &seen.rendered {
        let ours_claims: BTreeSet<String> = r.objects.iter().flat_map(mounted_claims).collect();
        for obj in &r.objects {
            let key = id(obj);
            for live in seen.live.get(&key).into_iter().flatten() {
                let who = owner(live, &r.release, seen);
                if matches!(who, Owner::Planned) {
                    continue;
                }
                let live_ref = ObjectRef::of(live);
                let object = if live_ref.id() == key {
                    key.clone()
                } else {
                    format!("{} (planned: {key})", live_ref.id())
                };
                if let Owner::Argo { app, exists: true } = &who {
                    a.refusals.push(argo_refusal(&object, app));
                }
                if matches!(who, Owner::Argo { exists: false, .. }) {
                    a.untrack.insert(live_ref.clone());
                }
                if obj["kind"] == "PersistentVolumeClaim" {
                    if let Some(why) = claim_change(obj, live) {
                        a.refusals.push(format!(
                            "{object}: {why}, and a claim cannot be recreated without losing its data: use it through \
                             existingClaim (as `panda-install import` sets) instead of creating one of that name"
                        ));
                        continue;
                    }
                    a.keep.insert(live_ref.clone());
                }
                let happens = match immutable_change(obj, live) {
                    None if matches!(who, Owner::Foreign(..)) => continue,
                    None => {
                        a.take_ownership.insert(r.release.clone());
                        format!("taken over by release {} (helm --take-ownership)", r.release)
                    }
                    Some(why) if !WORKLOADS.contains(&live["kind"].as_str().unwrap_or_default()) => {
                        a.before
                            .entry(r.release.clone())
                            .or_default()
                            .push(Stop::Orphan { object: live_ref });
                        format!("{why}: deleted and created again by helm")
                    }
                    Some(why) => match Selector::of_workload(live) {
                        Err(bad) => {
                            a.refusals.push(selector_refusal(&object, &bad));
                            format!("{why}, but its selector cannot be used: refused")
                        }
                        Ok(selector) => {
                            let when = recreate(a, r, obj, live, selector, &ours_claims);
                            format!(
                                "{why}: deleted without its pods (propagationPolicy=Orphan) and created again by helm; {when}"
                            )
                        }
                    },
                };
                a.findings.push(Finding { object, owner: describe(&who), happens });
            }
        }
    }
}

/// The steps that replace a workload whose immutable fields differ: deleted without its pods,
/// then what it left stopped before the new pods start (same pod names, a shared claim) or once
/// the tier is Ready. Returns when its pods stop.
fn recreate(
    a: &mut Adoption,
    r: &Rendered,
    rendered: &Value,
    live: &Value,
    selector: Selector,
    ours_claims: &BTreeSet<String>,
) -> String {
    let live_ref = ObjectRef::of(live);
    let same_pods = live["kind"] == "StatefulSet" && rendered["kind"] == "StatefulSet";
    let shared: Vec<String> = mounted_claims(live).intersection(ours_claims).cloned().collect();
    a.before.entry(r.release.clone()).or_default().push(Stop::Orphan { object: live_ref.clone() });
    let leftovers = Stop::Leftovers { what: live_ref.id(), selector };
    if same_pods {
        a.before.entry(r.release.clone()).or_default().push(leftovers);
        "its pods stop before the new ones start (the same pod names)".to_string()
    } else if !shared.is_empty() {
        a.before.entry(r.release.clone()).or_default().push(leftovers);
        format!("its pods stop before the new ones start (both mount {})", shared.join(", "))
    } else {
        a.after.entry(r.tier).or_default().push(leftovers);
        format!("its pods run until tier {} is Ready, then stop", r.tier)
    }
}

/// Pass 3: claims the values reuse (`existingClaim`) must exist and be Bound; they are kept.
fn reused_claims(seen: &Seen, a: &mut Adoption) {
    for r in &seen.rendered {
        let ours_claims: BTreeSet<String> = r.objects.iter().flat_map(mounted_claims).collect();
        for claim in ours_claims.iter().filter(|c| {
            !r.objects.iter().any(|o| o["kind"] == "PersistentVolumeClaim" && o["metadata"]["name"] == **c)
        }) {
            match seen.claims.get(claim) {
                Some(Some(live)) if live["status"]["phase"] == "Bound" => {
                    a.keep.insert(ObjectRef::claim(claim));
                    if let Some(volume) = live["spec"]["volumeName"].as_str() {
                        a.keep.insert(ObjectRef::volume(volume));
                    }
                    match owner(live, &r.release, seen) {
                        Owner::Argo { app, exists: true } => a.refusals.push(format!(
                            "{} (mounted by {} through existingClaim)",
                            argo_refusal(&format!("PersistentVolumeClaim/{claim}"), &app),
                            r.release
                        )),
                        Owner::Argo { exists: false, .. } => {
                            a.untrack.insert(ObjectRef::claim(claim));
                        }
                        _ => {}
                    }
                }
                Some(Some(live)) => a.refusals.push(format!(
                    "PersistentVolumeClaim/{claim}: {} mounts it (existingClaim) but it is {}, not Bound",
                    mounter(&r.release),
                    live["status"]["phase"].as_str().unwrap_or("without a phase")
                )),
                _ => a.refusals.push(format!(
                    "PersistentVolumeClaim/{claim}: {} mounts it (existingClaim) but it does not exist in namespace {}: \
                     fix existingClaim in the values, or create the claim",
                    mounter(&r.release),
                    seen.namespace
                )),
            }
        }
    }
}

/// Pass 4: old workloads that would keep running beside ours are scaled to zero (kept).
fn old_workloads(seen: &Seen, a: &mut Adoption) {
    let rendered_names: BTreeSet<String> = seen
        .rendered
        .iter()
        .flat_map(|r| {
            r.objects.iter().map(|o| o["metadata"]["name"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    let release_of: BTreeMap<&str, &Rendered> =
        seen.rendered.iter().filter_map(|r| r.component.as_deref().map(|c| (c, r))).collect();
    for w in &seen.workloads {
        let name = w["metadata"]["name"].as_str().unwrap_or_default();
        if is_ours(w) || rendered_names.contains(name) {
            continue;
        }
        let l = labels(w);
        let in_foreign = seen
            .foreign
            .iter()
            .find(|(_, f)| f.objects.iter().any(|o| id(o) == id(w)))
            .map(|(r, _)| r.clone());
        if replicas(w) == 0 {
            if let Some(release) = in_foreign {
                a.keep.insert(ObjectRef::of(w));
                a.findings.push(Finding {
                    object: id(w),
                    owner: format!("helm release {release}"),
                    happens:
                        "already at 0 replicas: kept for a rollback (marked helm.sh/resource-policy: keep)"
                            .into(),
                });
            }
            continue;
        }
        let role = l.get("app.kubernetes.io/name").cloned().unwrap_or_default();
        let instance = l.get("app.kubernetes.io/instance").cloned().unwrap_or_default();
        let Some(component) = component_of(&role, &instance) else {
            if let Some(release) = in_foreign {
                a.keep.insert(ObjectRef::of(w));
                a.findings.push(Finding {
                    object: id(w),
                    owner: format!("helm release {release}"),
                    happens: "kept as it is (marked helm.sh/resource-policy: keep); not a workload panda-install replaces"
                        .into(),
                });
            }
            continue;
        };
        let who = owner(w, "", seen);
        if let Owner::Argo { app, exists: true } = &who {
            a.refusals.push(argo_refusal(&id(w), app));
        }
        if matches!(who, Owner::Argo { exists: false, .. }) {
            a.untrack.insert(ObjectRef::of(w));
        }
        let Some(target) = release_of.get(component) else {
            a.findings.push(Finding {
                object: id(w),
                owner: describe(&who),
                happens: format!("left running: component {component} is not part of this run"),
            });
            continue;
        };
        let selector = match Selector::of_workload(w) {
            Ok(s) => s,
            Err(bad) => {
                a.refusals.push(selector_refusal(&id(w), &bad));
                a.findings.push(Finding {
                    object: id(w),
                    owner: describe(&who),
                    happens: format!(
                        "runs beside {}, but its selector cannot be used: refused",
                        target.release
                    ),
                });
                continue;
            }
        };
        if in_foreign.is_some() {
            a.keep.insert(ObjectRef::of(w));
        }
        let ours_claims: BTreeSet<String> = target.objects.iter().flat_map(mounted_claims).collect();
        let shared: Vec<String> = mounted_claims(w).intersection(&ours_claims).cloned().collect();
        let stop = Stop::ScaleDown { object: ObjectRef::of(w), selector };
        let when = if shared.is_empty() {
            a.after.entry(target.tier).or_default().push(stop);
            format!("once tier {} ({}) is Ready", target.tier, target.release)
        } else {
            a.before.entry(target.release.clone()).or_default().push(stop);
            format!("before {} starts (both mount {})", target.release, shared.join(", "))
        };
        a.findings.push(Finding {
            object: id(w),
            owner: describe(&who),
            happens: format!(
                "runs beside {} against the same services and databases: scaled to 0 {when}, and kept for a rollback{}",
                target.release,
                if in_foreign.is_some() { " (marked helm.sh/resource-policy: keep so the upgrade leaves it)" } else { "" }
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sts(name: &str, sel: Value, claims: &[&str], extra: Value) -> Value {
        let volumes: Vec<Value> =
            claims.iter().map(|c| json!({"name": c, "persistentVolumeClaim": {"claimName": c}})).collect();
        let mut o = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
            "spec": {"replicas": 1, "serviceName": name, "selector": {"matchLabels": sel}, "template": {"spec": {"volumes": volumes}}}});
        merge(&mut o, &extra);
        o
    }

    fn merge(a: &mut Value, b: &Value) {
        if let (Some(x), Some(y)) = (a.as_object_mut(), b.as_object()) {
            for (k, v) in y {
                merge(x.entry(k.clone()).or_insert(Value::Null), v);
            }
        } else if !b.is_null() {
            *a = b.clone();
        }
    }

    fn seen() -> Seen {
        let ours_sel = json!({"app.kubernetes.io/name": "harvester", "app.kubernetes.io/instance": "test-harvester", "app.kubernetes.io/component": "mariadb"});
        let rendered = Rendered {
            release: "test-harvester".into(),
            component: Some("harvester".into()),
            tier: 3,
            objects: vec![
                sts("test-harvester-mariadb", ours_sel, &[], json!({})),
                sts("test-harvester-harvester", json!({"x": "y"}), &["test-harvester-wdirs"], json!({})),
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "test-harvester-harvester"}}),
            ],
        };
        let old_db = sts(
            "test-harvester-mariadb",
            json!({"app.kubernetes.io/name": "mariadb", "app.kubernetes.io/instance": "test-harvester"}),
            &["test-harvester-mariadb"],
            json!({"metadata": {"annotations": {"meta.helm.sh/release-name": "test-harvester"}}}),
        );
        let old_harvester = sts(
            "test-harvester",
            json!({"app.kubernetes.io/name": "harvester", "app.kubernetes.io/instance": "test-harvester"}),
            &["test-harvester-wdirs"],
            json!({"metadata": {"labels": {"app.kubernetes.io/name": "harvester", "app.kubernetes.io/instance": "test-harvester"}}}),
        );
        let argo_service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "test-harvester-harvester",
            "annotations": {TRACKING: "panda-harvester:/Service:ns/test-harvester-harvester"}}});
        let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "test-harvester-mariadb"}});
        Seen {
            namespace: "ns".into(),
            rendered: vec![rendered],
            live: BTreeMap::from([
                ("StatefulSet/test-harvester-mariadb".into(), vec![old_db.clone()]),
                ("Service/test-harvester-harvester".into(), vec![argo_service]),
            ]),
            foreign: BTreeMap::from([(
                "test-harvester".into(),
                Foreign {
                    chart: "harvester-0.1.0".into(),
                    objects: vec![old_db, old_harvester.clone(), pvc],
                },
            )]),
            workloads: vec![old_harvester],
            claims: BTreeMap::from([(
                "test-harvester-wdirs".into(),
                Some(json!({"kind": "PersistentVolumeClaim", "metadata": {"name": "test-harvester-wdirs",
                    "annotations": {TRACKING: "panda-harvester:/PersistentVolumeClaim:ns/test-harvester-wdirs"}},
                    "spec": {"volumeName": "pv-1"}, "status": {"phase": "Bound"}})),
            )]),
            argo_apps: Some(BTreeSet::new()),
            take_ownership_supported: true,
        }
    }

    #[test]
    fn decides_per_object() {
        let a = decide(&seen());
        assert!(a.refusals.is_empty(), "{:?}", a.refusals);
        let before = &a.before["test-harvester"];
        assert!(before.contains(&Stop::Orphan {
            object: ObjectRef {
                api_version: "apps/v1".into(),
                kind: "StatefulSet".into(),
                name: "test-harvester-mariadb".into()
            }
        }));
        assert!(
            matches!(before.last(), Some(Stop::ScaleDown { object, .. }) if object.name == "test-harvester"),
            "{before:?}"
        );
        assert!(a.take_ownership.contains("test-harvester"), "the Argo-tracked Service is taken over");
        assert!(a.untrack.iter().any(|o| o.id() == "Service/test-harvester-harvester"));
        assert!(
            a.untrack.iter().any(|o| o.id() == "PersistentVolumeClaim/test-harvester-wdirs"),
            "a reused claim loses stale tracking"
        );
        let kept: Vec<String> = a.keep.iter().map(ObjectRef::id).collect();
        for k in [
            "PersistentVolumeClaim/test-harvester-mariadb",
            "PersistentVolumeClaim/test-harvester-wdirs",
            "PersistentVolume/pv-1",
            "StatefulSet/test-harvester",
        ] {
            assert!(kept.contains(&k.to_string()), "{k} not kept: {kept:?}");
        }
        let report = a.report(false);
        assert!(
            report.contains("StatefulSet/test-harvester-mariadb") && report.contains("its selector differs"),
            "{report}"
        );
        assert!(
            report.contains("StatefulSet/test-harvester:")
                && report.contains("both mount test-harvester-wdirs"),
            "{report}"
        );
        assert!(report.contains("run the same command with --adopt"), "{report}");
    }

    #[test]
    fn refuses_live_applications_missing_claims_and_old_helm() {
        let mut s = seen();
        s.argo_apps = Some(BTreeSet::from(["panda-harvester".to_string()]));
        s.claims.insert("test-harvester-wdirs".into(), None);
        s.take_ownership_supported = false;
        let a = decide(&s);
        let all = a.refusals.join("\n");
        assert!(all.contains("Argo CD Application panda-harvester still manages it"), "{all}");
        assert!(all.contains("test-harvester-wdirs") && all.contains("does not exist"), "{all}");
        s.claims.insert("test-harvester-wdirs".into(), seen().claims["test-harvester-wdirs"].clone());
        let tracked = decide(&s).refusals.join("\n");
        assert!(tracked.contains("PersistentVolumeClaim/test-harvester-wdirs: Argo CD Application panda-harvester still manages it"), "{tracked}");
        assert!(all.contains("--take-ownership"), "{all}");
    }

    #[test]
    fn every_immutable_field_is_compared() {
        let ours = sts(
            "db",
            json!({"a": "b"}),
            &[],
            json!({"spec": {"podManagementPolicy": "Parallel",
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"storageClassName": "fast",
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}),
        );
        assert_eq!(immutable_change(&ours, &ours), None);
        let with = |extra: Value| {
            let mut live = ours.clone();
            merge(&mut live, &extra);
            immutable_change(&ours, &live).unwrap_or_default()
        };
        assert!(
            with(json!({"spec": {"podManagementPolicy": "OrderedReady"}})).contains("podManagementPolicy")
        );
        let template = |spec: Value| {
            let mut t = ours["spec"]["volumeClaimTemplates"][0].clone();
            merge(&mut t, &json!({"spec": spec}));
            json!({"spec": {"volumeClaimTemplates": [t]}})
        };
        assert!(with(template(json!({"storageClassName": "slow"}))).contains("volumeClaimTemplates"));
        assert!(with(template(json!({"accessModes": ["ReadWriteMany"]}))).contains("volumeClaimTemplates"));
        let service =
            |ip: &str| json!({"kind": "Service", "metadata": {"name": "s"}, "spec": {"clusterIP": ip}});
        assert!(immutable_change(&service("None"), &service("10.0.0.1")).unwrap().contains("turns headless"));
        assert!(immutable_change(&service("10.0.0.2"), &service("None")).unwrap().contains("from headless"));
        assert_eq!(immutable_change(&service("None"), &service("None")), None);
    }

    #[test]
    fn a_selector_that_cannot_be_represented_is_refused_and_never_acted_on() {
        let mut s = seen();
        s.foreign.clear();
        s.workloads.clear();
        s.claims.clear();
        for sel in
            [json!({}), json!({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]})]
        {
            let mut live = s.live["StatefulSet/test-harvester-mariadb"][0].clone();
            live["spec"]["selector"] = sel;
            live["metadata"]["annotations"] = json!({});
            s.live.insert("StatefulSet/test-harvester-mariadb".into(), vec![live]);
            let a = decide(&s);
            let all = a.refusals.join("\n");
            assert!(all.contains("StatefulSet/test-harvester-mariadb: its selector"), "{all}");
            assert!(a.before.is_empty() && a.after.is_empty(), "{:?} {:?}", a.before, a.after);
        }
        // an old workload scaled down by such a selector: refused as well
        let mut s = seen();
        s.workloads[0]["spec"]["selector"] =
            json!({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]});
        let a = decide(&s);
        assert!(
            a.refusals.iter().any(|r| r.starts_with("StatefulSet/test-harvester: its selector")),
            "{:?}",
            a.refusals
        );
        assert!(!a.before.values().flatten().any(|s| matches!(s, Stop::ScaleDown { .. })));
    }

    #[test]
    fn only_what_could_collide_counts_as_foreign() {
        let releases = BTreeSet::from(["test-msgsvc".to_string(), "test-secrets".to_string()]);
        let obj = |kind: &str, name: &str, meta: Value| {
            let mut o = json!({"kind": kind, "metadata": {"name": name}});
            merge(&mut o, &json!({"metadata": meta}));
            o
        };
        for harmless in [
            obj("ServiceAccount", "ci-deployer", json!({})),
            obj("ServiceAccount", "builder", json!({})),
            obj("ServiceAccount", "deployer", json!({})),
            obj("ConfigMap", "openshift-service-ca.crt", json!({})),
            obj("Deployment", "web", json!({"labels": {"app.kubernetes.io/name": "web"}})),
            obj("Service", "test-msgsvcx", json!({})),
        ] {
            assert!(!could_collide(&harmless, &releases), "{harmless}");
        }
        for colliding in [
            obj("Deployment", "test-msgsvc-activemq", json!({})),
            obj("Secret", "test-secrets", json!({})),
            obj("ConfigMap", "x", json!({"annotations": {TRACKING: "app:/ConfigMap:ns/x"}})),
            obj("Service", "x", json!({"annotations": {"meta.helm.sh/release-name": "test-msgsvc"}})),
            obj("Service", "x", json!({"labels": {"app.kubernetes.io/instance": "test-msgsvc"}})),
            obj("StatefulSet", "old-harvester", json!({"labels": {"app.kubernetes.io/name": "harvester"}})),
        ] {
            assert!(could_collide(&colliding, &releases), "{colliding}");
        }
    }

    #[test]
    fn a_clean_namespace_needs_nothing() {
        let mut s = seen();
        s.live.clear();
        s.foreign.clear();
        s.workloads.clear();
        assert!(decide(&s).is_empty());
    }
}
