//! `status` and `uninstall`: what is deployed, and taking it away in reverse tier order.

use crate::catalog::Catalog;
use crate::cli::OutputFormat;
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::execute::{execute, Interrupt};
use crate::exit_code;
use crate::lock::Lock;
use crate::plan::uninstall_plan;
use crate::process::Helm;
use crate::releases;
use crate::settings::Settings;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams};
use serde_json::json;

fn instance_selector(release: &str) -> ListParams {
    ListParams::default().labels(&format!("app.kubernetes.io/instance={release}"))
}

/// `panda-install status`: one row per selected release (and the secrets release).
pub async fn status(settings: &Settings, helm: &Helm) -> Result<i32> {
    let version = helm.version().await?;
    let cluster = Cluster::connect(settings).await?;
    let deployed = releases::list(helm, version, settings).await?;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let mut names = vec![settings.secrets_release()];
    names.extend(settings.components.iter().map(|c| settings.release(*c)));
    let mut rows = Vec::new();
    for name in names {
        let release = deployed.iter().find(|r| r.name == name);
        let list = pods.list(&instance_selector(&name)).await.map(|l| l.items).unwrap_or_default();
        let counted: Vec<&Pod> = list.iter().filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Succeeded")).collect();
        let ready = counted.iter().filter(|p| crate::inspect::describe_unready(p).is_none()).count();
        rows.push(json!({
            "release": name,
            "installed": release.is_some(),
            "revision": release.and_then(|r| r.revision.parse::<u64>().ok()),
            "chart": release.map(|r| r.chart.clone()),
            "status": release.map(|r| r.status.clone()),
            "readyPods": ready,
            "totalPods": counted.len(),
        }));
    }
    match settings.output {
        OutputFormat::Json => {
            let doc = json!({"schemaVersion": 1, "command": "status", "namespace": cluster.namespace, "releases": rows});
            println!("{}", serde_json::to_string_pretty(&doc).expect("JSON of plain values"));
        }
        OutputFormat::Text => {
            println!("{:<24} {:>8}  {:<20} {:<16} {:>5}", "RELEASE", "REVISION", "CHART", "STATUS", "READY");
            for r in &rows {
                println!(
                    "{:<24} {:>8}  {:<20} {:<16} {:>5}",
                    r["release"].as_str().unwrap_or_default(),
                    r["revision"].as_u64().map_or("-".into(), |v| v.to_string()),
                    r["chart"].as_str().unwrap_or("-"),
                    r["status"].as_str().unwrap_or("not installed"),
                    format!("{}/{}", r["readyPods"], r["totalPods"]),
                );
            }
        }
    }
    Ok(exit_code::SUCCESS)
}

/// Waits until the claims of a release are really gone (the pvc-protection finalizer holds a claim
/// until no pod uses it), at most two minutes.
async fn wait_gone(claims: &Api<PersistentVolumeClaim>, release: &str) -> Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let left = claims.list(&instance_selector(release)).await.map(|l| l.items.len()).unwrap_or(0);
        if left == 0 {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(Error::ReleaseFailed(format!("{left} claim(s) of {release} are still terminating after 120 s")));
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// `panda-install uninstall`: reverse tiers, each gone before the next; claims kept unless asked.
pub async fn uninstall(settings: &Settings, catalog: &Catalog, helm: &Helm, interrupt: &Interrupt, delete_data: bool, with_secrets: bool) -> Result<i32> {
    let version = helm.version().await?;
    let cluster = Cluster::connect(settings).await?;
    cluster.ensure_namespace(false).await?;
    let lock = Lock::acquire(&cluster).await?;
    let result = async {
        let present: Vec<String> = releases::list(helm, version, settings).await?.into_iter().map(|r| r.name).collect();
        let p = uninstall_plan(settings, catalog, version, &present, with_secrets)?;
        for note in &p.notes {
            eprintln!("{note}");
        }
        let report = execute(&p, helm, settings.concurrency, interrupt, &[]).await?;
        // Claims outlive their release: handle those of every selected release that is gone now,
        // whether this run or an earlier one uninstalled it.
        let still: Vec<String> = releases::list(helm, version, settings).await?.into_iter().map(|r| r.name).collect();
        let mut gone: Vec<String> = settings.components.iter().map(|c| settings.release(*c)).collect();
        if with_secrets {
            gone.push(settings.secrets_release());
        }
        gone.retain(|r| !still.contains(r));
        let claims: Api<PersistentVolumeClaim> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
        for release in &gone {
            let kept = claims.list(&instance_selector(release)).await.map(|l| l.items).unwrap_or_default();
            if kept.is_empty() {
                continue;
            }
            if delete_data {
                claims
                    .delete_collection(&DeleteParams::default(), &instance_selector(release))
                    .await
                    .map_err(|e| Error::Internal(anyhow::anyhow!("cannot delete the claims of {release}: {e}")))?;
                wait_gone(&claims, release).await?;
                eprintln!("{release}: deleted {} PersistentVolumeClaim(s)", kept.len());
            } else {
                let names: Vec<String> = kept.iter().filter_map(|c| c.metadata.name.clone()).collect();
                eprintln!("{release}: kept PersistentVolumeClaim(s) {} (--delete-data removes them)", names.join(", "));
            }
        }
        print!("{}", report.summary());
        if report.interrupted {
            return Err(Error::Interrupted);
        }
        if report.failed() {
            return Err(Error::ReleaseFailed("an uninstall failed; earlier tiers were left in place".into()));
        }
        Ok(exit_code::SUCCESS)
    }
    .await;
    lock.release().await;
    result
}
