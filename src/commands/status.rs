//! `panda-install status`: the health of the deployed instance. Per release: helm's status, and
//! every object of its deployed manifest checked live (missing, changed, workloads ready/desired).
//! Exits 3 when anything is not healthy.

use super::instance;
use super::Context;
use crate::cli::args::OutputFormat;
use crate::cli::StatusArgs;
use crate::error::Result;
use crate::exit_code;
use crate::kube::drift::{object_id, WITHOUT_PATCH};
use crate::kube::records::Record;
use crate::kube::Cluster;
use crate::output::documents::{ReleaseHealth, StatusDocument, WorkloadState, SCHEMA_VERSION};
use crate::output::{self};
use crate::run::manifests::objects;
use crate::settings::component::Component;
use crate::settings::instance::AffixSource;
use crate::settings::selection::enabled_components;
use crate::settings::target::{ClusterTarget, ProcessEnv};
use futures::future::try_join_all;

pub(crate) async fn run(args: &StatusArgs, ctx: &Context) -> Result<i32> {
    let catalog = ctx.catalog(&args.root)?;
    let asked: Option<Vec<Component>> =
        if args.enable.is_empty() { None } else { Some(enabled_components(&args.enable)?) };
    let target = ClusterTarget::resolve(&args.cluster, &ProcessEnv)?;
    let cluster = Cluster::connect(&target).await?;
    let releases = cluster.releases().await?;
    let instance = instance::find(args.instance.affix.as_deref(), &releases, &catalog, &target.namespace)?;

    // Without -c: every release of the instance that is installed; with -c: exactly those asked.
    let mut rows: Vec<(Option<Component>, String)> = vec![(None, instance.secrets_release())];
    let mut absent = Vec::new();
    for c in asked.clone().unwrap_or_else(|| Component::ALL.to_vec()) {
        let name = instance.release(c);
        if asked.is_some() || releases.get(&name).is_some() {
            rows.push((Some(c), name));
        } else {
            absent.push(name);
        }
    }
    let health =
        try_join_all(rows.iter().map(|(c, name)| release_health(&cluster, *c, name, releases.get(name))))
            .await?;
    let healthy = health.iter().all(|h| h.healthy);
    let doc = StatusDocument {
        schema_version: SCHEMA_VERSION,
        command: "status",
        namespace: target.namespace.clone(),
        affix: instance.affix.as_str().to_string(),
        affix_source: match &instance.source {
            AffixSource::Flag => "flag".into(),
            AffixSource::Deployed(r) => format!("release {r}"),
            other => format!("{other:?}"),
        },
        healthy,
        releases: health,
    };
    match args.output.output {
        OutputFormat::Json => output::json(&doc)?,
        OutputFormat::Text => {
            let mut out = format!("namespace {}, {}\n", doc.namespace, instance.describe());
            out.push_str(&format!(
                "{:<24} {:>8}  {:<22} {:<16} {:>7}  HEALTH\n",
                "RELEASE", "REVISION", "CHART", "STATUS", "READY"
            ));
            for r in &doc.releases {
                let (ready, desired) =
                    r.workloads.iter().fold((0, 0), |(a, b), w| (a + w.ready, b + w.desired));
                out.push_str(&format!(
                    "{:<24} {:>8}  {:<22} {:<16} {:>7}  {}\n",
                    r.release,
                    r.revision.map_or("-".into(), |v| v.to_string()),
                    r.chart
                        .as_deref()
                        .map_or("-".into(), |c| format!("{c}-{}", r.chart_version.as_deref().unwrap_or(""))),
                    r.status.as_deref().unwrap_or("not installed"),
                    format!("{ready}/{desired}"),
                    if r.healthy { "ok" } else { "UNHEALTHY" },
                ));
                for p in &r.problems {
                    out.push_str(&format!("    {p}\n"));
                }
                for w in r.workloads.iter().filter(|w| w.restarts > 0) {
                    let s = if w.restarts == 1 { "" } else { "s" };
                    let last = w.last_restart.as_deref().map_or(String::new(), |l| format!(" (last: {l})"));
                    out.push_str(&format!("    {}: {} restart{s}{last}\n", w.object, w.restarts));
                }
            }
            if !absent.is_empty() {
                out.push_str(&format!(
                    "not installed (not reported; -c names them): {}\n",
                    absent.join(", ")
                ));
            }
            output::print(&out)?;
        }
    }
    if cluster.compared_without_patch() {
        output::note(WITHOUT_PATCH);
    }
    Ok(if healthy { exit_code::SUCCESS } else { exit_code::UNHEALTHY })
}

async fn release_health(
    cluster: &Cluster,
    component: Option<Component>,
    name: &str,
    record: Option<&Record>,
) -> Result<ReleaseHealth> {
    let mut h = ReleaseHealth {
        release: name.to_string(),
        component: component.map_or("secrets", |c| c.name()).to_string(),
        installed: record.is_some(),
        revision: record.map(|r| r.revision),
        chart: record.map(|r| r.chart_name.clone()),
        chart_version: record.map(|r| r.chart_version.clone()),
        status: record.map(|r| r.status.clone()),
        healthy: false,
        workloads: vec![],
        problems: vec![],
    };
    let Some(record) = record else {
        h.problems.push("not installed".into());
        return Ok(h);
    };
    if record.status != "deployed" {
        h.problems.push(format!("helm status {} (revision {})", record.status, record.revision));
    }
    let desired: Vec<serde_json::Value> =
        objects(&record.manifest, &format!("the deployed manifest of {name}"))?.into_values().collect();
    let by_id: std::collections::HashMap<String, &serde_json::Value> =
        desired.iter().map(|o| (object_id(o), o)).collect();
    for state in cluster.check_objects(&desired).await {
        if let Some(w) = &state.workload {
            let restarts = match by_id.get(&state.id) {
                Some(object) => cluster.restarts(object).await?,
                None => Default::default(),
            };
            h.workloads.push(WorkloadState {
                object: state.id.clone(),
                ready: w.ready_replicas,
                desired: w.desired,
                restarts: restarts.count,
                last_restart: restarts.last,
            });
        }
        if !state.healthy() {
            h.problems.push(state.describe());
        }
    }
    h.healthy = h.problems.is_empty();
    Ok(h)
}
