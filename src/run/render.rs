//! `helm template` of a plan's releases, each rendered at most once per run and at most
//! [`RENDERS_AT_ONCE`] at a time (the renders are CPU-bound): the install's convergence check and
//! its prerequisite checks read the same renders.

use crate::error::{Error, Result};
use crate::helm::Helm;
use crate::plan::{Action, Plan};
use futures::future::try_join_all;
use std::collections::BTreeMap;
use tokio::sync::{OnceCell, Semaphore};

/// How many `helm template` runs at once.
pub(crate) const RENDERS_AT_ONCE: usize = 4;

/// The rendered manifests of a plan's upgrade steps, made on first use.
pub(crate) struct Renders<'a> {
    plan: &'a Plan,
    helm: &'a Helm,
    gate: Semaphore,
    cells: BTreeMap<String, OnceCell<Result<String>>>,
}

impl<'a> Renders<'a> {
    pub(crate) fn new(plan: &'a Plan, helm: &'a Helm) -> Renders<'a> {
        let cells = plan
            .steps()
            .filter(|s| matches!(s.action, Action::Upgrade(_)))
            .map(|s| (s.release.name.clone(), OnceCell::new()))
            .collect();
        Renders { plan, helm, gate: Semaphore::new(RENDERS_AT_ONCE), cells }
    }

    /// The manifest of one release of the plan, rendered on first use.
    pub(crate) async fn get(&self, release: &str) -> Result<String> {
        let (Some(cell), Some(step)) =
            (self.cells.get(release), self.plan.steps().find(|s| s.release.name == release))
        else {
            return Err(Error::Internal(anyhow::anyhow!("{release} is not an upgrade step of the plan")));
        };
        let rendered = cell
            .get_or_init(|| async {
                let _permit = self.gate.acquire().await.expect("the semaphore is never closed");
                self.helm.render(step, &self.plan.target, self.plan.helm).await
            })
            .await;
        match rendered {
            Ok(manifest) => Ok(manifest.clone()),
            Err(e) => Err(e.duplicate()),
        }
    }

    /// `(release, manifest)` of every component release (the secrets release holds Secrets,
    /// nothing the cluster must offer), in plan order.
    pub(crate) async fn components(&self) -> Result<Vec<(String, String)>> {
        let names = self.component_names(|_| true);
        try_join_all(names.into_iter().map(|n| async move { Ok((n.to_string(), self.get(n).await?)) })).await
    }

    /// The same for the component releases `wanted` selects by name, leaving out those whose
    /// render fails: their `helm upgrade` renders the same templates and fails the same way in its
    /// tier, reported like any failed release (the earlier tiers still run, as without the
    /// preflight).
    pub(crate) async fn components_rendering(&self, wanted: impl Fn(&str) -> bool) -> Vec<(String, String)> {
        let names = self.component_names(wanted);
        let results = futures::future::join_all(names.iter().map(|n| self.get(n))).await;
        names
            .into_iter()
            .zip(results)
            .filter_map(|(n, r)| match r {
                Ok(manifest) => Some((n.to_string(), manifest)),
                Err(e) => {
                    tracing::debug!("{n} left out of the prerequisite checks: {e}");
                    None
                }
            })
            .collect()
    }

    fn component_names(&self, wanted: impl Fn(&str) -> bool) -> Vec<&str> {
        self.plan
            .steps()
            .filter(|s| s.release.component.is_some() && self.cells.contains_key(&s.release.name))
            .map(|s| s.release.name.as_str())
            .filter(|n| wanted(n))
            .collect()
    }
}
