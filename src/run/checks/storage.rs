//! Storage: a default StorageClass for claims that name none, every named class, and the CSI
//! driver of the rendered PersistentVolumes (CVMFS).

use super::reads::Reads;
use super::{listed, one_release, Check, CheckId};
use crate::kube::prerequisites::{StorageClassInfo, VolumeInfo};
use crate::plan::requirements::{Claim, ClaimClass};
use serde_json::json;
use std::collections::BTreeMap;

/// Claims a class must provision (those bound to a named PV are static: no class involved).
fn dynamic<'a>(reads: &'a Reads<'_>) -> impl Iterator<Item = &'a Claim> {
    reads.needs.claims.iter().filter(|c| c.volume_name.is_none())
}

fn subjects(claims: &[&Claim]) -> String {
    listed(&claims.iter().map(|c| c.subject.as_str()).collect::<Vec<_>>())
}

/// Available PVs of `class` ("" = without class), which a claim could bind without provisioning.
fn available<'a>(volumes: &'a [VolumeInfo], class: &str) -> Vec<&'a str> {
    volumes.iter().filter(|v| v.class == class && v.phase == "Available").map(|v| v.name.as_str()).collect()
}

pub(super) async fn default_class(reads: &Reads<'_>) -> Vec<Check> {
    let id = CheckId::StorageDefaultClass;
    let defaults: Vec<&Claim> = dynamic(reads).filter(|c| c.class == ClaimClass::Default).collect();
    let classless: Vec<&Claim> = dynamic(reads).filter(|c| c.class == ClaimClass::None).collect();
    if defaults.is_empty() && classless.is_empty() {
        return vec![Check::skip(id, "every claim names its StorageClass or a volume")];
    }
    let mut out = Vec::new();
    if !defaults.is_empty() {
        let release = one_release(defaults.iter().map(|c| c.release.as_str()));
        let check = match reads.storage_classes().await {
            Err(e) => Check::unreadable(id, e),
            Ok(classes) => {
                let volumes =
                    if classes.iter().any(|c| c.default) { None } else { Some(reads.volumes().await) };
                judge_default(classes, volumes.map(|v| v.as_ref().map(Vec::as_slice)), &defaults)
            }
        };
        out.push(check.on(release, "StorageClass (default)"));
    }
    if !classless.is_empty() {
        let release = one_release(classless.iter().map(|c| c.release.as_str()));
        let check = match reads.volumes().await {
            Err(e) => Check::unreadable(id, e),
            Ok(volumes) => {
                let free = available(volumes, "");
                if free.len() >= classless.len() {
                    Check::pass(
                        id,
                        format!(
                            "{} available PV(s) without a class for {}",
                            free.len(),
                            subjects(&classless)
                        ),
                    )
                } else {
                    Check::warn(
                        id,
                        format!(
                            "{} set storageClassName \"\" (no class: only a pre-provisioned PV without a class binds); \
                             {} such PV(s) available",
                            subjects(&classless),
                            free.len()
                        ),
                        "create the PVs, or remove the empty storageClass so the default class provisions them",
                    )
                }
            }
        };
        out.push(check.on(release, "StorageClass \"\" (none)"));
    }
    out
}

pub(super) fn judge_default(
    classes: &[StorageClassInfo],
    volumes: Option<Result<&[VolumeInfo], &String>>,
    claims: &[&Claim],
) -> Check {
    let id = CheckId::StorageDefaultClass;
    let defaults: Vec<&str> = classes.iter().filter(|c| c.default).map(|c| c.name.as_str()).collect();
    let observed = json!({"defaults": defaults});
    let used_by = subjects(claims);
    let check = match (defaults.len(), volumes) {
        (1, _) => Check::pass(id, format!("default class {} provisions {used_by}", defaults[0])),
        (0, Some(Err(e))) => Check::unreadable(id, e),
        (0, Some(Ok(volumes))) if !available(volumes, "").is_empty() => Check::warn(
            id,
            format!(
                "no StorageClass is marked default; {} available PV(s) without a class may bind {used_by}",
                available(volumes, "").len()
            ),
            "mark a StorageClass default (annotation storageclass.kubernetes.io/is-default-class: \"true\") or set \
             storageClass in the values",
        ),
        (0, _) => Check::fail(
            id,
            format!("no StorageClass is marked default: {used_by} would stay Pending"),
            "mark a StorageClass default (kubectl annotate storageclass NAME \
             storageclass.kubernetes.io/is-default-class=true) or set storageClass (global.storageClass) in the values",
        ),
        (_, _) => Check::warn(
            id,
            format!("{} StorageClasses are marked default ({}): Kubernetes uses the newest", defaults.len(), defaults.join(", ")),
            "leave one StorageClass marked default, or set storageClass in the values",
        ),
    };
    check.observed(observed)
}

pub(super) async fn named_classes(reads: &Reads<'_>) -> Vec<Check> {
    let id = CheckId::StorageNamedClasses;
    let mut by_class: BTreeMap<&str, Vec<&Claim>> = BTreeMap::new();
    for c in dynamic(reads) {
        if let ClaimClass::Named(name) = &c.class {
            by_class.entry(name).or_default().push(c);
        }
    }
    if by_class.is_empty() {
        return vec![Check::skip(id, "no claim names a StorageClass")];
    }
    let classes = match reads.storage_classes().await {
        Err(e) => return vec![Check::unreadable(id, e)],
        Ok(c) => c,
    };
    let missing = by_class.keys().any(|name| !classes.iter().any(|c| c.name == *name));
    let volumes = if missing { Some(reads.volumes().await) } else { None };
    by_class
        .iter()
        .map(|(name, claims)| {
            let release = one_release(claims.iter().map(|c| c.release.as_str()));
            judge_named(name, classes, volumes.map(|v| v.as_ref().map(Vec::as_slice)), claims)
                .on(release, format!("StorageClass {name}"))
        })
        .collect()
}

pub(super) fn judge_named(
    name: &str,
    classes: &[StorageClassInfo],
    volumes: Option<Result<&[VolumeInfo], &String>>,
    claims: &[&Claim],
) -> Check {
    let id = CheckId::StorageNamedClasses;
    let used_by = subjects(claims);
    let observed = |exists: bool| json!({"class": name, "exists": exists, "claims": used_by});
    if let Some(c) = classes.iter().find(|c| c.name == name) {
        return Check::pass(id, format!("exists (provisioner {}), used by {used_by}", c.provisioner))
            .observed(observed(true));
    }
    let hint = format!("create StorageClass {name} or change storageClass in the values");
    let check = match volumes {
        Some(Err(e)) => Check::unreadable(id, e),
        Some(Ok(volumes)) if !available(volumes, name).is_empty() => Check::warn(
            id,
            format!(
                "no StorageClass {name}, but {} available PV(s) of that class (static provisioning) for {used_by}",
                available(volumes, name).len()
            ),
            hint,
        ),
        _ => Check::fail(id, format!("does not exist: {used_by} would stay Pending"), hint),
    };
    check.observed(observed(false))
}

/// The CSI driver of every rendered PersistentVolume (CVMFS: `cvmfs.csi.cern.ch`): its CSIDriver
/// object (without which the kubelet waits for an attach that never comes) and the nodes that
/// registered its plugin.
pub(super) async fn csi_drivers(reads: &Reads<'_>) -> Vec<Check> {
    let id = CheckId::CvmfsCsiDriver;
    let drivers = reads.needs.csi_drivers();
    if drivers.is_empty() {
        return vec![Check::skip(id, "no CSI volume is rendered (CVMFS is off)")];
    }
    let mut out = Vec::new();
    for (driver, volumes) in &drivers {
        let release = one_release(
            reads.needs.csi_volumes.iter().filter(|v| &v.driver == driver).map(|v| v.release.as_str()),
        );
        let hint = format!(
            "install the CSI driver {driver} (for CVMFS: the cvmfs-csi chart) or disable cvmfs in the values"
        );
        let check = match reads.cluster.csi_driver(driver).await {
            Err(e) => Check::unreadable(id, &e.to_string()),
            Ok(None) => Check::fail(
                id,
                format!("no CSIDriver {driver}: the {} CVMFS volume(s) would never mount", volumes.len()),
                hint,
            ),
            Ok(Some(info))
                if !info.lifecycle_modes.is_empty()
                    && !info.lifecycle_modes.iter().any(|m| m == "Persistent") =>
            {
                Check::fail(
                    id,
                    format!(
                        "CSIDriver {driver} does not serve persistent volumes (modes: {})",
                        info.lifecycle_modes.join(", ")
                    ),
                    hint,
                )
            }
            Ok(Some(info)) => {
                let modes = json!(info.lifecycle_modes);
                match reads.cluster.csi_nodes_with(driver).await {
                    Err(e) => Check::warn(
                        id,
                        format!("CSIDriver {driver} exists; cannot tell which nodes run its plugin: {e}"),
                        "check that the driver's node plugin DaemonSet runs on the nodes",
                    ),
                    Ok(nodes) if nodes.is_empty() => Check::warn(
                        id,
                        format!("CSIDriver {driver} exists, but no node has registered its plugin (CSINode)"),
                        "check that the driver's node plugin DaemonSet runs on the nodes the pods use",
                    ),
                    Ok(nodes) => Check::pass(
                        id,
                        format!("CSIDriver {driver} exists, its plugin runs on {} node(s)", nodes.len()),
                    ),
                }
                .observed(json!({"driver": driver, "lifecycleModes": modes}))
            }
        };
        out.push(check.on(release, format!("CSIDriver {driver}")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::Status::*;
    use super::*;

    fn sc(name: &str, default: bool) -> StorageClassInfo {
        StorageClassInfo { name: name.into(), default, provisioner: "p".into() }
    }

    fn pv(class: &str, phase: &str) -> VolumeInfo {
        VolumeInfo { name: format!("pv-{class}"), class: class.into(), phase: phase.into() }
    }

    fn claim() -> Claim {
        Claim {
            release: "r".into(),
            subject: "PersistentVolumeClaim x".into(),
            class: ClaimClass::Default,
            volume_name: None,
        }
    }

    #[test]
    fn one_default_class_passes_none_fails_several_warn() {
        let c = claim();
        assert_eq!(judge_default(&[sc("a", true), sc("b", false)], None, &[&c]).status, Pass);
        assert_eq!(judge_default(&[sc("a", true), sc("b", true)], None, &[&c]).status, Warn);
        let none = judge_default(&[sc("a", false)], Some(Ok(&[pv("a", "Bound")])), &[&c]);
        assert_eq!(none.status, Fail);
        assert!(none.message.contains("would stay Pending"), "{}", none.message);
        let static_pv = [pv("", "Available")];
        assert_eq!(judge_default(&[], Some(Ok(&static_pv)), &[&c]).status, Warn);
        let e = "cannot list PersistentVolumes: forbidden".to_string();
        assert_eq!(judge_default(&[], Some(Err(&e)), &[&c]).status, Fail, "unreadable is no pass");
    }

    #[test]
    fn named_classes_exist_or_have_static_volumes() {
        let c = claim();
        assert_eq!(judge_named("nas", &[sc("nas", false)], None, &[&c]).status, Pass);
        assert_eq!(judge_named("nas", &[sc("other", true)], Some(Ok(&[])), &[&c]).status, Fail);
        assert_eq!(judge_named("nas", &[], Some(Ok(&[pv("nas", "Available")])), &[&c]).status, Warn);
        assert_eq!(judge_named("nas", &[], Some(Ok(&[pv("nas", "Bound")])), &[&c]).status, Fail);
    }
}
