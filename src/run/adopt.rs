//! Adoption in the install path: before anything changes, what the plan would collide with or
//! run beside (read here, decided by `plan::adopt`); with `--adopt`, the takeover, tier by tier:
//! keep annotations and stale Argo CD tracking removed first, then per tier the old pods that
//! must stop first, the tier's helm upgrades (`--take-ownership` where needed), and once the tier
//! is Ready the old workloads it replaces scaled to zero.

use super::executor::{self, Options};
use super::report::{ReleaseReport, Report, Status};
use crate::error::{Error, Result};
use crate::helm::Helm;
use crate::kube::records::Releases;
use crate::kube::Cluster;
use crate::output;
use crate::plan::adopt::{self, Adoption, Foreign, Rendered, Seen, Stop, KEEP, TRACKING};
use crate::plan::{Action, Plan, Tier};
use crate::run::render::Renders;
use crate::settings::yaml;
use futures::future::try_join_all;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Reads what the namespace holds against the plan and decides. A namespace with nothing but
/// panda-install's objects and releases (and claims kept on purpose) costs a few list calls and no
/// rendering; otherwise every planned release is rendered and each of its objects looked up.
pub(crate) async fn inspect(
    plan: &Plan,
    renders: &Renders<'_>,
    cluster: &Cluster,
    releases: &Releases,
) -> Result<Adoption> {
    let mut seen = Seen {
        namespace: cluster.namespace.clone(),
        take_ownership_supported: plan.helm.takes_ownership(),
        ..Seen::default()
    };
    for step in plan.steps() {
        if let Some(record) = releases.get(&step.release.name).filter(|r| !r.made_by_panda_install()) {
            let objects =
                yaml::parse_stream(&record.manifest, &format!("the deployed manifest of {}", record.name))?;
            let chart = format!("{}-{}", record.chart_name, record.chart_version);
            seen.foreign.insert(record.name.clone(), Foreign { chart, objects });
        }
    }
    let releases: BTreeSet<String> = plan.steps().map(|s| s.release.name.clone()).collect();
    if seen.foreign.is_empty() && !cluster.holds_foreign_objects(&releases).await? {
        // nothing to take over; only check that the claims the values reuse are there
        let named = claims_in_values(plan)?;
        if named.is_empty() {
            return Ok(Adoption::default());
        }
        seen.claims = cluster.claims_named(&named).await?;
        seen.rendered = vec![Rendered {
            release: "(values)".into(),
            component: None,
            tier: 0,
            objects: vec![claim_user(&named)],
        }];
        let mut decided = adopt::decide(&seen);
        decided.keep.clear();
        decided.untrack.clear();
        return Ok(decided);
    }
    let steps: Vec<_> = plan.tiers.iter().flat_map(|t| t.steps.iter().map(move |s| (t.number, s))).collect();
    let rendered =
        try_join_all(steps.into_iter().filter(|(_, s)| matches!(s.action, Action::Upgrade(_))).map(
            |(tier, step)| async move {
                let manifest = renders.get(&step.release.name).await?;
                let objects =
                    yaml::parse_stream(&manifest, &format!("the manifests of {}", step.release.name))?
                        .into_iter()
                        .filter(|o| o.get("kind").is_some())
                        .collect::<Vec<Value>>();
                let rendered = Rendered {
                    release: step.release.name.clone(),
                    component: step.release.component.map(|c| c.name().to_string()),
                    tier,
                    objects,
                };
                Ok::<_, Error>(rendered)
            },
        ))
        .await?;
    for r in &rendered {
        for obj in &r.objects {
            let found = cluster.same_named(obj).await?;
            if !found.is_empty() {
                seen.live.insert(crate::kube::drift::object_id(obj), found);
            }
        }
    }
    seen.rendered = rendered;
    seen.workloads = cluster.workloads().await?;
    let claims: BTreeSet<String> = seen
        .rendered
        .iter()
        .flat_map(|r| r.objects.iter())
        .flat_map(|o| o["spec"]["template"]["spec"]["volumes"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str().map(String::from))
        .collect();
    seen.claims = cluster.claims_named(&claims).await?;
    // a cluster-wide list: only when an object says Argo CD tracked it
    if adopt::tracking_seen(&seen) {
        seen.argo_apps = cluster.argo_applications().await?;
    }
    Ok(adopt::decide(&seen))
}

/// Runs the plan with the takeover woven in; the report covers every release as usual.
pub(crate) async fn execute(
    plan: &Plan,
    adoption: &Adoption,
    helm: &Helm,
    cluster: &Cluster,
    opts: &Options<'_>,
) -> Result<Report> {
    let start = Instant::now();
    let timeout = plan
        .steps()
        .find_map(|s| match &s.action {
            Action::Upgrade(u) => Some(u.wait.duration()),
            _ => None,
        })
        .unwrap_or(Duration::from_secs(600));
    for obj in &adoption.keep {
        cluster.annotate(obj, KEEP.0, Some(KEEP.1)).await?;
        output::note(&format!("adopt: {} marked {}: {}", obj.id(), KEEP.0, KEEP.1));
    }
    for obj in &adoption.untrack {
        if !recreated(adoption, obj) {
            cluster.annotate(obj, TRACKING, None).await?;
            output::note(&format!("adopt: {}: stale Argo CD tracking annotation removed", obj.id()));
        }
    }
    let mut report = Report::default();
    let mut stop = false;
    for tier in &plan.tiers {
        if stop || opts.interrupt.raised() {
            report.releases.extend(tier.steps.iter().map(|s| ReleaseReport {
                release: s.release.name.clone(),
                tier: tier.number,
                status: Status::NotAttempted,
                started: Duration::ZERO,
                elapsed: Duration::ZERO,
            }));
            continue;
        }
        for step in &tier.steps {
            for s in adoption.before.get(&step.release.name).into_iter().flatten() {
                apply(cluster, s, timeout).await?;
            }
        }
        let mut one = Tier { number: tier.number, steps: tier.steps.clone() };
        for step in &mut one.steps {
            if let Action::Upgrade(u) = &mut step.action {
                // helm 4 applies server-side: taken-over fields belong to kubectl or Argo CD's manager
                u.take_ownership = adoption.take_ownership.contains(&step.release.name);
                u.force_conflicts = u.take_ownership;
            }
        }
        let sub = Plan { tiers: vec![one], prepare: Vec::new(), ..plan.clone() };
        let offset = start.elapsed();
        let ran = executor::execute(&sub, helm, opts).await?;
        stop = !ran.failed().is_empty() || ran.interrupted || ran.lock_lost;
        report.interrupted |= ran.interrupted;
        report.lock_lost |= ran.lock_lost;
        report.releases.extend(ran.releases.into_iter().map(|mut r| {
            r.started += offset;
            r
        }));
        if !stop {
            for s in adoption.after.get(&tier.number).into_iter().flatten() {
                apply(cluster, s, timeout).await?;
            }
        }
    }
    report.wall = start.elapsed();
    output::note(&format!("adopt: takeover done in {:.1}s", report.wall.as_secs_f64()));
    Ok(report)
}

/// The claims the plan's values files name with `type: existingClaim`.
fn claims_in_values(plan: &Plan) -> Result<BTreeSet<String>> {
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                if map.get("type").and_then(Value::as_str) == Some("existingClaim") {
                    if let Some(name) =
                        map.get("existingClaim").and_then(Value::as_str).filter(|n| !n.is_empty())
                    {
                        out.insert(name.to_string());
                    }
                }
                map.values().for_each(|x| walk(x, out));
            }
            Value::Array(items) => items.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for step in plan.steps().filter(|s| s.release.component.is_some()) {
        for file in &step.release.values {
            walk(&yaml::load_mapping(&file.path)?, &mut out);
        }
    }
    Ok(out)
}

/// A stand-in workload mounting the named claims, so the claim checks of `decide` apply.
fn claim_user(claims: &BTreeSet<String>) -> Value {
    let volumes: Vec<Value> = claims
        .iter()
        .map(|c| serde_json::json!({"name": c, "persistentVolumeClaim": {"claimName": c}}))
        .collect();
    serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "(values)"},
        "spec": {"template": {"spec": {"volumes": volumes}}}})
}

fn recreated(adoption: &Adoption, obj: &adopt::ObjectRef) -> bool {
    adoption.before.values().flatten().any(|s| matches!(s, Stop::Orphan { object } if object == obj))
}

async fn apply(cluster: &Cluster, stop: &Stop, timeout: Duration) -> Result<()> {
    let began = Instant::now();
    let what = match stop {
        Stop::Orphan { object } => {
            cluster.orphan_delete(object, timeout).await?;
            format!("{} deleted without its pods (propagationPolicy=Orphan)", object.id())
        }
        Stop::Leftovers { what, selector } => {
            cluster.stop_leftovers(selector, what, timeout).await?;
            format!("the pods {what} left are stopped")
        }
        Stop::ScaleDown { object, selector } => {
            cluster.scale_down(object, selector, timeout).await?;
            format!("{} scaled to 0 (kept for a rollback)", object.id())
        }
    };
    output::note(&format!("adopt: {what} ({:.1}s)", began.elapsed().as_secs_f64()));
    Ok(())
}
