//! The upgrade step of an install (issue 20): the deployed versions (helm's records of the
//! instance) against the planned ones (the rendered releases, the deployed ones where a release is
//! not part of the run), the table's verdict, and, before any workload changes, the schema Jobs:
//! a backup of PanDA's database to a kept claim, then the new database image's patches. A failure
//! stops the run there and says how to restore.

use super::render::Renders;
use crate::error::{Error, Result};
use crate::kube::records::Releases;
use crate::kube::Cluster;
use crate::output;
use crate::plan::upgrade::{self, Phase, SchemaJob, Step, Upgrade};
use crate::plan::{Action, Plan};
use crate::settings::component::Component;
use crate::settings::instance::Instance;
use std::time::Duration;

/// Size of the backup claim when it is created.
const BACKUP_SIZE: &str = "20Gi";

/// The upgrade from what is deployed to what `plan` renders.
pub(crate) async fn compute(
    plan: &Plan,
    releases: &Releases,
    renders: &Renders<'_>,
    instance: &Instance,
) -> Result<Upgrade> {
    let mut deployed = Vec::new();
    let mut planned = Vec::new();
    let upgraded: Vec<&str> = plan
        .steps()
        .filter(|s| matches!(s.action, Action::Upgrade(_)) && s.release.component.is_some())
        .map(|s| s.release.name.as_str())
        .collect();
    for c in Component::ALL {
        let name = instance.release(c);
        let record = releases.get(&name);
        let recorded = match record {
            Some(r) => super::manifests::objects(&r.manifest, &format!("the deployed manifest of {name}"))?,
            None => Default::default(),
        };
        deployed.extend(recorded.values().cloned());
        // A release whose render fails is judged by what is deployed: it fails in its own tier,
        // before any of its workloads change, and the executor reports it (with later tiers not
        // attempted), as for a run without schema steps.
        let rendered = match upgraded.contains(&name.as_str()) {
            true => renders.get(&name).await.ok(),
            false => None,
        };
        if let Some(rendered) = rendered {
            planned.extend(
                super::manifests::objects(&rendered, &format!("helm template of {name}"))?.into_values(),
            );
        } else {
            planned.extend(recorded.into_values());
        }
    }
    Ok(upgrade::plan(
        &upgrade::versions_of(&deployed),
        &upgrade::versions_of(&planned),
        &instance.release(Component::Panda),
    ))
}

/// What an install does before its workloads change: refuse what the table says is broken, then
/// run the schema steps (when the run moves PanDA's database across a schema version).
pub(crate) async fn prepare(
    plan: &Plan,
    cleared: &super::preflight::Cleared,
    renders: &Renders<'_>,
    instance: &Instance,
    timeout: Duration,
) -> Result<()> {
    let u = compute(plan, &cleared.releases, renders, instance).await?;
    for n in &u.notes {
        output::note(&format!("upgrade: {n}"));
    }
    refuse_broken(&u)?;
    if u.schema_steps().next().is_none() {
        return Ok(());
    }
    let database = planned_database(renders, instance).await?.ok_or_else(|| {
        Error::Preflight(
            "the plan moves PanDA's database to a new schema but renders no panda-database image".into(),
        )
    })?;
    run_schema_steps(&cleared.cluster, &u, instance, &plan.namespace, &database, timeout).await
}

/// Refuses a planned combination the table says is broken (exit 75, nothing touched).
pub(crate) fn refuse_broken(u: &Upgrade) -> Result<()> {
    if u.broken.is_empty() {
        return Ok(());
    }
    let reasons: Vec<String> = u.broken.iter().map(|b| format!("  - {}", b.reason)).collect();
    Err(Error::Preflight(format!(
        "the planned versions do not work together (compatibility table, docs/moving-in.md 'Upgrades'); nothing was changed:\n{}",
        reasons.join("\n")
    )))
}

/// Runs the backup and schema-patch Jobs, in order, before the workloads. A failed Job stops the
/// run with its log and the way back.
pub(crate) async fn run_schema_steps(
    cluster: &Cluster,
    u: &Upgrade,
    instance: &Instance,
    namespace: &str,
    database: &upgrade::DatabasePod,
    timeout: Duration,
) -> Result<()> {
    let panda = instance.release(Component::Panda);
    for step in u.schema_steps() {
        let (phase, patches, claim) = match step {
            Step::Backup { claim } => (Phase::Backup, vec![], claim.clone()),
            Step::SchemaPatch { patches, .. } => {
                (Phase::Patch, patches.clone(), upgrade::backup_claim(&panda))
            }
            Step::Workloads => continue,
        };
        if phase == Phase::Backup
            && cluster.ensure_claim(&upgrade::claim(namespace, &panda, &claim, BACKUP_SIZE)).await?
        {
            output::note(&format!(
                "created claim {claim} for the database backups (helm.sh/resource-policy: keep)"
            ));
        }
        let req = SchemaJob {
            phase,
            namespace: namespace.to_string(),
            host: format!("{panda}-postgres"),
            image: database.image.clone(),
            pull_secrets: database.pull_secrets.clone(),
            release: panda.clone(),
            secret: format!("{}-panda-envs", instance.secrets_release()),
            claim: claim.clone(),
            patches,
            deadline_seconds: timeout.as_secs().max(60),
        };
        output::note(&format!("upgrade: Job {} ({})", upgrade::job_name(&panda, phase), database.image));
        let outcome = cluster.run_job(&upgrade::job(&req), timeout).await?;
        if !outcome.succeeded {
            return Err(Error::ReleaseFailed(format!(
                "the upgrade's {} Job failed; no workload was changed.\n{}\nTo restore the backup: \
                 panda-install upgrade-plan --restore -n {namespace} (or run Job {} with PHASE=restore, docs/moving-in.md 'Rollback')",
                phase.name(),
                outcome.log.trim_end(),
                upgrade::job_name(&panda, Phase::Patch)
            )));
        }
        output::note(outcome.log.trim_end());
    }
    Ok(())
}

/// The planned panda-database (image and pull Secrets) from the rendered panda release.
pub(crate) async fn planned_database(
    renders: &Renders<'_>,
    instance: &Instance,
) -> Result<Option<upgrade::DatabasePod>> {
    let name = instance.release(Component::Panda);
    let rendered = renders.get(&name).await?;
    let objects = super::manifests::objects(&rendered, &format!("helm template of {name}"))?;
    Ok(upgrade::database_pod(objects.values()))
}
