//! `helm template` of a plan's releases, at most [`RENDERS_AT_ONCE`] at a time (the renders are
//! CPU-bound): the manifests the preflight, the doctor and the convergence check all read, so an
//! install renders each release once.

use crate::error::Result;
use crate::helm::Helm;
use crate::plan::{Action, Plan, Step};
use futures::future::try_join_all;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// How many `helm template` runs at once.
pub(crate) const RENDERS_AT_ONCE: usize = 4;

/// Rendered manifests by release name.
pub(crate) type Rendered = BTreeMap<String, String>;

/// Renders the upgrade steps of `plan` that `wanted` selects.
pub(crate) async fn releases(plan: &Plan, helm: &Helm, wanted: impl Fn(&Step) -> bool) -> Result<Rendered> {
    let gate = Arc::new(Semaphore::new(RENDERS_AT_ONCE));
    let steps: Vec<&Step> =
        plan.steps().filter(|s| matches!(s.action, Action::Upgrade(_)) && wanted(s)).collect();
    let rendered = try_join_all(steps.into_iter().map(|step| {
        let gate = gate.clone();
        async move {
            let _permit = gate.acquire().await.expect("the semaphore is never closed");
            let manifest = helm.render(step, &plan.target, plan.helm).await?;
            Ok::<_, crate::error::Error>((step.release.name.clone(), manifest))
        }
    }))
    .await?;
    Ok(rendered.into_iter().collect())
}

/// The component releases only (the secrets release holds Secrets, nothing the cluster must
/// offer), as `(release, manifest)` pairs in plan order.
pub(crate) async fn components(plan: &Plan, helm: &Helm) -> Result<Rendered> {
    releases(plan, helm, |s| s.release.component.is_some()).await
}

/// `(release, manifest)` pairs in plan order, for [`crate::plan::requirements`].
pub(crate) fn in_plan_order(plan: &Plan, rendered: &Rendered) -> Vec<(String, String)> {
    plan.steps()
        .filter_map(|s| rendered.get(&s.release.name).map(|m| (s.release.name.clone(), m.clone())))
        .collect()
}
