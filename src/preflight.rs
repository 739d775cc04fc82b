//! Checks before any change, in order: cluster reachable, namespace present (or created), the
//! namespace lock taken, no planned release pending (or `--recover`), and the secrets release
//! deployed, complete (no FIXME left) and made for the same affix.

use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::lock::Lock;
use crate::plan::{Invocation, Plan};
use crate::process::Helm;
use crate::releases::{self, cluster_flags, fixme_paths, Release};
use crate::settings::{load_yaml_mapping, Settings};

/// What a run holds once its preflight passed.
pub struct Cleared {
    pub cluster: Cluster,
    pub lock: Lock,
    /// Releases in status `deployed` before the run (candidates for "unchanged").
    pub deployed: Vec<String>,
}

pub async fn check(settings: &Settings, plan: &Plan, helm: &Helm) -> Result<Cleared> {
    if let Some(file) = &settings.secrets_values {
        refuse_fixme(&serde_json::to_value(load_yaml_mapping(file)?).unwrap_or_default(), &file.display().to_string())?;
    }
    let cluster = Cluster::connect(settings).await?;
    cluster.ensure_namespace(settings.create_namespace).await?;
    let lock = Lock::acquire(&cluster).await?;
    match check_releases(settings, plan, helm).await {
        Ok(deployed) => Ok(Cleared { cluster, lock, deployed }),
        Err(e) => {
            lock.release().await;
            Err(e)
        }
    }
}

/// Returns the releases that are `deployed` now.
async fn check_releases(settings: &Settings, plan: &Plan, helm: &Helm) -> Result<Vec<String>> {
    let deployed = releases::list(helm, plan.helm, settings).await?;
    let healthy: Vec<String> = deployed.iter().filter(|r| r.status == "deployed").map(|r| r.name.clone()).collect();
    let planned: Vec<&str> = plan.steps().map(|s| s.release.as_str()).collect();
    let pending: Vec<&Release> = deployed.iter().filter(|r| r.is_pending() && planned.contains(&r.name.as_str())).collect();
    if !pending.is_empty() {
        if !settings.recover {
            let list: Vec<String> = pending.iter().map(|r| format!("{} ({}, revision {})", r.name, r.status, r.revision)).collect();
            return Err(Error::Preflight(format!(
                "release(s) left pending by an interrupted or concurrent helm run: {}. Their state is unknown; \
                 run again with --recover to roll each back to its last deployed revision (or uninstall one that was never deployed)",
                list.join(", ")
            )));
        }
        for r in pending {
            recover(helm, settings, r).await?;
        }
    }
    if settings.secrets_values.is_some() {
        return Ok(healthy); // this run deploys the secrets release itself, from a file already checked
    }
    let secrets = settings.secrets_release();
    let ns = settings.namespace.as_deref().unwrap_or("the current namespace");
    match deployed.iter().find(|r| r.name == secrets) {
        Some(r) if r.status == "deployed" => {}
        Some(r) => {
            return Err(Error::Preflight(format!("the secrets release {secrets} is {}, not deployed: fix it with `panda-install secrets deploy`", r.status)))
        }
        None => {
            return Err(Error::Preflight(format!(
                "the secrets release {secrets} is not installed in {ns}: deploy it first (`panda-install secrets deploy -f FILE`, or --secrets FILE)"
            )))
        }
    }
    let values = releases::deployed_values(helm, settings, &secrets).await?;
    refuse_fixme(&values, &format!("the secrets release {secrets}"))?;
    let affix = values.get("affix").and_then(|a| a.as_str());
    if affix.is_some_and(|a| a != settings.affix.as_str()) {
        return Err(Error::Preflight(format!(
            "the secrets release {secrets} was deployed with affix {:?} but this run uses {:?}: its hosts would not match these releases",
            affix.unwrap_or_default(),
            settings.affix.as_str()
        )));
    }
    Ok(healthy)
}

fn refuse_fixme(values: &serde_json::Value, what: &str) -> Result<()> {
    let paths = fixme_paths(values);
    if paths.is_empty() {
        return Ok(());
    }
    Err(Error::Preflight(format!("{what} still has FIXME at: {} (fill them in, e.g. with `panda-install secrets init`)", paths.join(", "))))
}

/// Rolls a pending release back to its last deployed revision, or uninstalls one never deployed.
async fn recover(helm: &Helm, settings: &Settings, release: &Release) -> Result<()> {
    let mut args: Vec<String> = vec!["history".into(), release.name.clone(), "--output".into(), "json".into()];
    args.extend(cluster_flags(settings));
    let out = run(helm, args).await?;
    let history: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap_or_default();
    let target = history
        .iter()
        .filter(|h| matches!(h["status"].as_str(), Some("deployed" | "superseded")))
        .filter_map(|h| h["revision"].as_u64())
        .max();
    let mut args: Vec<String> = match target {
        Some(rev) => vec!["rollback".into(), release.name.clone(), rev.to_string()],
        None => vec!["uninstall".into(), release.name.clone()],
    };
    args.extend(cluster_flags(settings));
    run(helm, args).await?;
    match target {
        Some(rev) => eprintln!("recovered {}: rolled back from {} to revision {rev}", release.name, release.status),
        None => eprintln!("recovered {}: never deployed, uninstalled", release.name),
    }
    Ok(())
}

async fn run(helm: &Helm, args: Vec<String>) -> Result<String> {
    let what = args[..2].join(" ");
    let out = helm.run(&Invocation { args }).await.map_err(|e| Error::HelmUnavailable(format!("cannot run helm: {e}")))?;
    if !out.success() {
        return Err(Error::Preflight(format!("helm {what} failed: {}", out.stderr.trim())));
    }
    Ok(out.stdout)
}
